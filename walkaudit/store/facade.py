"""The device's local store: SQLite (sqlite-utils) plus a folder of photos, in one data directory.

The phone (FLET_APP_STORAGE_DATA) and the CLI (--data DIR) use the same layout, so both can open
the same data:

    DIR/walkaudit.db          walks, findings (every revision), photos, events, track, outbox state
    DIR/photos/<sha256>.jpg   the metadata-free upload copy
    DIR/photos/<sha256>.t.jpg its thumbnail

`Store` is what the app and the CLI hold: this module has what a walker does (walks, route,
findings, answers, their photos); the sync's side is in outbox.py and refused.py, the files'
privacy and crash safety in files.py, rows ⇄ models in rows.py.

Crash safety: photo files are written to a temporary name, flushed, fsynced and renamed *before* the
finding's row is committed, so a crash at any instant leaves the whole finding or nothing (at worst
an unreferenced photo file, which start-up removes). Rows are never deleted by sync: a finding stays
until the user deletes one that never left the phone.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Callable, Sequence
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import sqlite_utils

from walkaudit import model
from walkaudit.migrations import migrate
from walkaudit.store import files, rows
from walkaudit.store.errors import FrozenError, NoActiveWalkError, NotFoundError, ReopenClosedError
from walkaudit.store.files import DB_NAME, DEFAULT_ORPHAN_GRACE_S, PHOTO_DIR, PhotoLike
from walkaudit.store.outbox import Outbox
from walkaudit.store.refused import Refusals

# "Avsluta" by mistake: for this long after the end a walk can be taken up again.
REOPEN_WINDOW = timedelta(minutes=15)


class Store(Outbox, Refusals):
    """The local database and photo folder. Thread-safe: the app calls it from worker threads."""

    @classmethod
    def open(cls, data_dir: Path | str, *, orphan_grace_s: float = DEFAULT_ORPHAN_GRACE_S) -> Store:
        """Open (creating and migrating if needed) the store in a data directory."""
        data_dir = Path(data_dir)
        files.make_private(data_dir)
        photo_dir = files.private_dir(data_dir / PHOTO_DIR)
        conn = sqlite3.connect(
            data_dir / DB_NAME, isolation_level=None, check_same_thread=False, timeout=30
        )
        conn.execute("PRAGMA journal_mode=WAL")
        # FULL: a finding the walker saw saved must survive the phone's battery dying next second.
        conn.execute("PRAGMA synchronous=FULL")
        conn.execute("PRAGMA foreign_keys=ON")
        db = sqlite_utils.Database(conn)
        migrate(db)
        store = cls(db, photo_dir)
        store.clean_leftovers(orphan_grace_s)
        return store

    # ---- walks ---------------------------------------------------------------------------

    def start_walk(self, name: str, area: str = "") -> model.Walk:
        """Start a walk (ending any walk still active) and make it the active one."""
        walk = model.Walk(id=model.new_id(), name=name, area=area, started_at=model.utcnow())
        with self.transaction() as db:
            active = self.get_meta("active_walk")
            if active:
                self._end_walk(db, active)
            db.table("walks").insert(rows.walk_row(walk))
            db.execute(
                "INSERT OR REPLACE INTO meta(key, value) VALUES ('active_walk', ?)", [walk.id]
            )
        return walk

    def end_walk(self) -> model.Walk:
        """End the active walk; NoActiveWalkError if none is active."""
        with self.transaction() as db:
            active = self.get_meta("active_walk")
            if not active:
                raise NoActiveWalkError("no walk is active — start one with `walk start NAME`")
            self._end_walk(db, active)
            db.execute("DELETE FROM meta WHERE key = 'active_walk'")
        return self.walk(active)

    def _end_walk(self, db: sqlite_utils.Database, walk_id: str) -> None:
        db.execute(
            "UPDATE walks SET ended_at = ?, state = 'pending' WHERE id = ? AND ended_at IS NULL",
            [model.utcnow().isoformat(), walk_id],
        )

    def can_reopen(self, walk_id: str, now: datetime | None = None) -> bool:
        """True when this walk ended less than REOPEN_WINDOW ago and no walk is active."""
        walk = self.walk(walk_id)
        now = now or model.utcnow()
        return (
            walk.ended_at is not None
            and now - walk.ended_at < REOPEN_WINDOW
            and not self.get_meta("active_walk")
        )

    def reopen_walk(self, walk_id: str, now: datetime | None = None) -> model.Walk:
        """Take up a walk ended by mistake: active again, and its reopening queued for sync."""
        with self.transaction() as db:
            if not self.can_reopen(walk_id, now):
                raise ReopenClosedError(
                    "the walk ended more than 15 minutes ago or another walk has started"
                )
            db.execute(
                "UPDATE walks SET ended_at = NULL, state = 'pending' WHERE id = ?", [walk_id]
            )
            db.execute(
                "INSERT OR REPLACE INTO meta(key, value) VALUES ('active_walk', ?)", [walk_id]
            )
        return self.walk(walk_id)

    def active_walk(self) -> model.Walk | None:
        """The walk in progress, if any."""
        active = self.get_meta("active_walk")
        return self.walk(active) if active else None

    def walk(self, walk_id: str) -> model.Walk:
        """One walk by id."""
        with self._lock:
            row = self._one("SELECT * FROM walks WHERE id = ?", [walk_id])
        if row is None:
            raise NotFoundError(f"no walk {walk_id}")
        return rows.walk_from_row(row)

    def walks(self) -> list[model.Walk]:
        """All walks, newest first."""
        with self._lock:
            found = list(self.db.query("SELECT * FROM walks ORDER BY started_at DESC"))
        return [rows.walk_from_row(r) for r in found]

    def add_track_point(self, point: model.TrackPoint) -> None:
        """Record a point of the route (idempotent by walk and time)."""
        with self.transaction() as db:
            db.execute(
                "INSERT OR IGNORE INTO track_points(walk_id, t, latitude, longitude, accuracy,"
                " state) VALUES (?, ?, ?, ?, ?, 'pending')",
                [
                    point.walk_id,
                    point.t.isoformat(),
                    point.latitude,
                    point.longitude,
                    point.accuracy,
                ],
            )

    def route(self, walk_id: str) -> list[tuple[float, float]]:
        """The walked route's points, in time order."""
        with self._lock:
            points = self.db.execute(
                "SELECT latitude, longitude FROM track_points WHERE walk_id = ? ORDER BY t",
                [walk_id],
            ).fetchall()
        return [(a, b) for a, b in points]

    # ---- findings ------------------------------------------------------------------------

    def save_finding(
        self,
        finding: model.Finding,
        photos: Sequence[PhotoLike] = (),
        *,
        also: Callable[[sqlite_utils.Database], None] | None = None,
    ) -> model.Finding:
        """Save a finding and its photos atomically and queue it for sync.

        The photos' files go to disk first (temp, fsync, rename); then one transaction commits the
        photo rows, the finding and its links. `finding.photos` is filled in from `photos`.
        """
        finding = finding.model_copy(update={"photos": [rows.wire_photo(p) for p in photos]})
        self._write_photo_files(photos)
        with self.transaction() as db:
            rows.insert_photo_rows(db, photos)
            db.table("findings").insert(rows.finding_row(finding))
            for pos, photo in enumerate(photos):
                db.execute(
                    "INSERT INTO finding_photos(finding_id, revision, position, sha256)"
                    " VALUES (?, ?, ?, ?)",
                    [finding.id, finding.revision, pos, photo.sha256],
                )
            if also is not None:  # e.g. the inbox removing the capture this finding completes
                also(db)
        return finding

    def revise_finding(
        self,
        finding_id: str,
        photos: Sequence[PhotoLike] | None = None,
        *,
        also: Callable[[sqlite_utils.Database], None] | None = None,
        **changes: Any,
    ) -> model.Finding:
        """Edit a queued finding: a new revision with the changes (frozen records never change)."""
        current = self.finding(finding_id)
        update: dict[str, Any] = dict(changes, revision=current.revision + 1)
        revised = model.Finding.model_validate(current.model_dump() | update)
        if photos is None:
            photos = [self.stored_photo(p.sha256) for p in current.photos]
        return self.save_finding(revised, photos, also=also)

    def has_finding(self, finding_id: str) -> bool:
        """True when this device holds a finding with that id."""
        with self._lock:
            return self._one("SELECT 1 FROM findings WHERE id = ?", [finding_id]) is not None

    def delete_unsent(self, finding_id: str) -> None:
        """Delete a finding that never reached the server (the walker changed their mind)."""
        with self.transaction() as db:
            revisions = list(db.query("SELECT state FROM findings WHERE id = ?", [finding_id]))
            if not revisions:
                raise NotFoundError(f"no finding {finding_id}")
            if any(r["state"] != "pending" for r in revisions) or self._ever_pushed(finding_id):
                raise FrozenError("the finding has been sent; edit it instead (a new revision)")
            db.execute("DELETE FROM finding_photos WHERE finding_id = ?", [finding_id])
            db.execute("DELETE FROM findings WHERE id = ?", [finding_id])

    def _ever_pushed(self, finding_id: str) -> bool:
        row = self._one(
            "SELECT 1 FROM findings WHERE id = ? AND pushed_at IS NOT NULL", [finding_id]
        )
        return row is not None

    def finding(self, finding_id: str, revision: int | None = None) -> model.Finding:
        """A finding (its latest revision unless one is given)."""
        with self._lock:
            if revision is None:
                row = self._one(
                    "SELECT * FROM findings WHERE id = ? ORDER BY revision DESC LIMIT 1",
                    [finding_id],
                )
            else:
                row = self._one(
                    "SELECT * FROM findings WHERE id = ? AND revision = ?", [finding_id, revision]
                )
            if row is None:
                raise NotFoundError(f"no finding {finding_id}")
            return rows.load_finding(self.db, row)

    def findings(self, walk_id: str | None = None) -> list[dict[str, Any]]:
        """Every finding's latest revision with its local and server state, newest first."""
        sql = (
            "SELECT f.*, s.status AS server_status, s.updated_at AS status_at,"
            " (SELECT count(*) FROM finding_photos fp WHERE fp.finding_id = f.id"
            "   AND fp.revision = f.revision) AS photo_count,"
            " (SELECT count(*) FROM finding_photos fp JOIN photos p ON p.sha256 = fp.sha256"
            "   WHERE fp.finding_id = f.id AND fp.revision = f.revision"
            "   AND p.uploaded_at IS NULL) AS photos_waiting,"
            " (SELECT count(*) FROM finding_photos fp JOIN photos p ON p.sha256 = fp.sha256"
            "   WHERE fp.finding_id = f.id AND fp.revision = f.revision"
            "   AND p.uploaded_at IS NULL AND p.refused_detail IS NOT NULL) AS photos_refused"
            " FROM findings f LEFT JOIN finding_status s ON s.finding_id = f.id"
            " WHERE f.revision = (SELECT max(revision) FROM findings g WHERE g.id = f.id)"
        )
        params: list[Any] = []
        if walk_id:
            sql += " AND f.walk_id = ?"
            params.append(walk_id)
        sql += " ORDER BY f.id DESC"
        with self._lock:
            return list(self.db.query(sql, params))

    def has_source(self, source_sha256: str) -> str | None:
        """The id of a finding already made from this original photo file, if any."""
        with self._lock:
            row = self._one(
                "SELECT fp.finding_id FROM photos p JOIN finding_photos fp ON fp.sha256 = p.sha256"
                " WHERE p.source_sha256 = ? LIMIT 1",
                [source_sha256],
            )
        return row["finding_id"] if row else None

    def mark_source(self, photo_sha256: str, source_sha256: str) -> None:
        """Remember which original file a stored photo came from (import is then idempotent)."""
        with self.transaction() as db:
            db.execute(
                "UPDATE photos SET source_sha256 = ? WHERE sha256 = ?",
                [source_sha256, photo_sha256],
            )

    def add_event(self, event: model.FindingEvent, photos: Sequence[PhotoLike] = ()) -> None:
        """Queue a follow-up event (still there, fixed…) for a finding, with optional photos."""
        event = event.model_copy(update={"photos": [rows.wire_photo(p) for p in photos]})
        self._write_photo_files(photos)
        with self.transaction() as db:
            rows.insert_photo_rows(db, photos)
            db.execute(
                "INSERT OR IGNORE INTO events(id, finding_id, json, state)"
                " VALUES (?, ?, ?, 'pending')",
                [event.id, event.finding_id, event.model_dump_json()],
            )

    # ---- photos on disk ------------------------------------------------------------------

    def photo_path(self, sha256: str) -> Path:
        """Where the upload copy of a photo lives."""
        return files.photo_path(self.photo_dir, sha256)

    def thumbnail_path(self, sha256: str) -> Path:
        """Where a photo's thumbnail lives."""
        return files.thumbnail_path(self.photo_dir, sha256)

    def _write_photo_files(self, photos: Sequence[PhotoLike]) -> None:
        files.write_photo_files(self.photo_dir, photos)

    def stored_photo(self, sha256: str) -> PhotoLike:
        """A photo already in the store, as the store takes it (for a new revision)."""
        with self._lock:
            row = self._one("SELECT * FROM photos WHERE sha256 = ?", [sha256])
        if row is None:
            raise NotFoundError(f"no photo {sha256}")
        thumb = self.thumbnail_path(sha256)
        return files.StoredPhoto(
            jpeg=self.photo_path(sha256).read_bytes(),
            thumbnail=thumb.read_bytes() if thumb.exists() else b"",
            width=row["width"],
            height=row["height"],
            sha256=sha256,
            source_name=row["source_name"] or "",
        )

    def clean_leftovers(self, grace_s: float = DEFAULT_ORPHAN_GRACE_S) -> list[Path]:
        """Remove temp files and photo files no row refers to (a crash before the commit)."""
        with self._lock:
            known = {r["sha256"] for r in self.db.query("SELECT sha256 FROM photos")}
        return files.remove_orphans(self.photo_dir, known, grace_s)

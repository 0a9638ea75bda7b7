"""The device's local store: SQLite (sqlite-utils) plus a folder of photos, in one data directory.

The phone (FLET_APP_STORAGE_DATA) and the CLI (--data DIR) use the same layout, so both can open
the same data:

    DIR/walkaudit.db          walks, findings (every revision), photos, events, track, outbox state
    DIR/photos/<sha256>.jpg   the metadata-free upload copy
    DIR/photos/<sha256>.t.jpg its thumbnail

Privacy: the data directory and its folders are 0700, its files 0600 (photos, notes and the
device token are the walker's): folders through `private_dir`, files through `atomic_write`, the
database created 0600 (SQLite gives its -wal and -shm the same mode). `Store.open` mends what an
older version left readable by others.

Crash safety: photo files are written to a temporary name, flushed, fsynced and renamed *before* the
finding's row is committed, so a crash at any instant leaves the whole finding or nothing (at worst
an unreferenced photo file, which start-up removes). Rows are never deleted by sync: a finding stays
until the user deletes one that never left the phone.

Errors: StoreError
          ├── NotFoundError        no such walk or finding
          ├── NoActiveWalkError    `walk end` without a started walk
          ├── FrozenError          deleting a finding the server may already hold
          └── ReopenClosedError    reopening a walk that ended too long ago
"""

from __future__ import annotations

import contextlib
import json
import os
import sqlite3
import stat
import threading
import time
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, replace
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any, Protocol

import sqlite_utils

from walkaudit import model
from walkaudit.migrations import migrate

DB_NAME = "walkaudit.db"
PHOTO_DIR = "photos"
PRIVATE_DIR_MODE, PRIVATE_FILE_MODE = 0o700, 0o600
# The folders the field side keeps in the data directory (photos here; drafts, inbox and
# remote_photos of drafts.py, inbox.py and remote.py): mended at open, nothing else is walked.
OWN_DIRS = (PHOTO_DIR, "drafts", "inbox", "remote_photos")
TMP_PREFIX = ".tmp-"
# Another process (the app and the CLI on one data directory) may be between its rename and its
# commit; files younger than this are left alone by the start-up clean-up.
DEFAULT_ORPHAN_GRACE_S = 600.0
# "Avsluta" by mistake: for this long after the end a walk can be taken up again.
REOPEN_WINDOW = timedelta(minutes=15)


class StoreError(Exception):
    """Base of the store's errors."""


class NotFoundError(StoreError):
    """No walk or finding with that id."""


class NoActiveWalkError(StoreError):
    """An operation needs a started walk and there is none."""


class FrozenError(StoreError):
    """The finding has been sent (or may have been): it can be revised, not deleted."""


class ReopenClosedError(StoreError):
    """The walk ended too long ago to be reopened, or another walk has started since."""


class PhotoLike(Protocol):
    """What the store needs of a processed photo (walkaudit.media.ProcessedPhoto fits)."""

    @property
    def jpeg(self) -> bytes: ...
    @property
    def thumbnail(self) -> bytes: ...
    @property
    def width(self) -> int: ...
    @property
    def height(self) -> int: ...
    @property
    def sha256(self) -> str: ...
    @property
    def source_name(self) -> str: ...


@dataclass(frozen=True)
class PendingCounts:
    """What still waits for the server: the one definition of "pending".

    The badge, the sync loop, the end-of-walk screen and `walkaudit status` all read this, so they
    never disagree. `total` is the number the walker sees ("3 väntar på synk"); it counts what a
    walker thinks of as a thing to send:

    - a walk counts once while anything of it waits: its start, its end (or reopening), or any of
      its route points — a walker thinks "my walk", not "212 GPS points";
    - a finding counts until it is whole on the server (its record and every photo);
    - each photo counts on its own: photos are what takes time, and they go one by one;
    - each follow-up answer counts;
    - a finding still in the inbox (saved, photos not yet processed) counts, and so do its photos.

    So one walk with one finding and one photo shows "3". `track_points`, `photo_bytes`,
    `conflicts` and `refused` are detail for the status line and the progress bar, not added to
    `total`.

    What the server refused for good (a time outside its window, an event kind a device may not
    send, a photo that does not decode) is set aside: it stays in `total`, because the server
    does not have it and "Allt är synkat" would be untrue, but not in `to_send`, because sending
    it again would be refused again. `refused` says how many of those there are.
    """

    walks: int  # walks with their start, end or route points not yet confirmed
    findings: int  # findings not yet whole on the server (record or a photo missing)
    events: int  # follow-up answers not confirmed
    photos: int  # photos of findings and answers the server has not verified
    photo_bytes: int
    track_points: int  # route points not confirmed (they count through their walk)
    conflicts: int  # records the server refused as conflicting (kept here, still waiting)
    captures: int = 0  # findings saved in the app whose photos are still being processed
    capture_photos: int = 0  # the raw photos of those captures
    # Records, route points, photos and captures a sync can do something about now: what waits
    # minus what is held back as a conflict or refused (those need a person, not another sync).
    to_send: int = 0
    # Walks (a walk with refused route points counts once), findings, answers and photos the
    # server refused for good: kept here with its reason, not sent again (see Store.refused).
    refused: int = 0

    @property
    def total(self) -> int:
        """The number on the badge; 0 means nothing at all waits ("Allt är synkat")."""
        return (
            self.walks
            + self.findings
            + self.events
            + self.photos
            + self.captures
            + self.capture_photos
        )


@dataclass(frozen=True)
class SetAside:
    """Something the server refused for good, kept on this device with the server's reason.

    `finding_id`, `category`, `note` and `at` name the finding it concerns (a finding, an answer
    about one, a photo of one), `name` and `at` the walk (a walk, a walk's route points), so that
    the walker can tell which it is.
    """

    kind: str  # walk | route | finding | event | photo
    id: str  # the record's id; a route's walk id; a photo's sha256
    detail: str  # the server's reason
    revision: int = 1
    count: int = 1  # route points refused
    finding_id: str | None = None
    category: str | None = None
    note: str = ""
    at: str | None = None  # the finding's capture time, or the walk's start
    name: str = ""  # the walk's name


class Store:
    """The local database and photo folder. Thread-safe: the app calls it from worker threads."""

    def __init__(self, db: sqlite_utils.Database, photo_dir: Path) -> None:
        self.db = db
        self.photo_dir = photo_dir
        self._lock = threading.RLock()

    @classmethod
    def open(cls, data_dir: Path | str, *, orphan_grace_s: float = DEFAULT_ORPHAN_GRACE_S) -> Store:
        """Open (creating and migrating if needed) the store in a data directory."""
        data_dir = Path(data_dir)
        _make_private(data_dir)
        photo_dir = private_dir(data_dir / PHOTO_DIR)
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

    def close(self) -> None:
        """Close the database connection."""
        self.db.close()

    @contextmanager
    def transaction(self) -> Iterator[sqlite_utils.Database]:
        """One write transaction, serialised with every other use of this store."""
        with self._lock, self.db.atomic():
            yield self.db

    def query(self, sql: str, params: Sequence[Any] = ()) -> list[dict[str, Any]]:
        """Rows of a read query (for the store's companion modules: inbox, remote)."""
        with self._lock:
            return list(self.db.query(sql, params))

    def _one(self, sql: str, params: Sequence[Any] = ()) -> dict[str, Any] | None:
        rows = list(self.db.query(sql, params))
        return rows[0] if rows else None

    # ---- settings ------------------------------------------------------------------------

    def get_meta(self, key: str, default: str | None = None) -> str | None:
        """A stored setting (server URL, token, cursor…)."""
        with self._lock:
            row = self._one("SELECT value FROM meta WHERE key = ?", [key])
        return row["value"] if row else default

    def set_meta(self, **values: str | None) -> None:
        """Store settings in one transaction; None removes a key."""
        with self.transaction() as db:
            for key, value in values.items():
                if value is None:
                    db.execute("DELETE FROM meta WHERE key = ?", [key])
                else:
                    db.execute(
                        "INSERT OR REPLACE INTO meta(key, value) VALUES (?, ?)", [key, value]
                    )

    # ---- walks ---------------------------------------------------------------------------

    def start_walk(self, name: str, area: str = "") -> model.Walk:
        """Start a walk (ending any walk still active) and make it the active one."""
        walk = model.Walk(id=model.new_id(), name=name, area=area, started_at=model.utcnow())
        with self.transaction() as db:
            active = self.get_meta("active_walk")
            if active:
                self._end_walk(db, active)
            db.table("walks").insert(_walk_row(walk))
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
        return _walk_from_row(row)

    def walks(self) -> list[model.Walk]:
        """All walks, newest first."""
        with self._lock:
            rows = list(self.db.query("SELECT * FROM walks ORDER BY started_at DESC"))
        return [_walk_from_row(r) for r in rows]

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
            rows = self.db.execute(
                "SELECT latitude, longitude FROM track_points WHERE walk_id = ? ORDER BY t",
                [walk_id],
            ).fetchall()
        return [(a, b) for a, b in rows]

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
        finding = finding.model_copy(update={"photos": [_wire_photo(p) for p in photos]})
        self._write_photo_files(photos)
        with self.transaction() as db:
            _insert_photo_rows(db, photos)
            db.table("findings").insert(_finding_row(finding))
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
            rows = list(db.query("SELECT state FROM findings WHERE id = ?", [finding_id]))
            if not rows:
                raise NotFoundError(f"no finding {finding_id}")
            if any(r["state"] != "pending" for r in rows) or self._ever_pushed(finding_id):
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
            return self._finding_from_row(row)

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

    def _finding_from_row(self, row: dict[str, Any]) -> model.Finding:
        photos = self.db.query(
            "SELECT p.* FROM finding_photos fp JOIN photos p ON p.sha256 = fp.sha256"
            " WHERE fp.finding_id = ? AND fp.revision = ? ORDER BY fp.position",
            [row["id"], row["revision"]],
        )
        return _finding_from_row(row, [_photo_from_row(p) for p in photos])

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
        event = event.model_copy(update={"photos": [_wire_photo(p) for p in photos]})
        self._write_photo_files(photos)
        with self.transaction() as db:
            _insert_photo_rows(db, photos)
            db.execute(
                "INSERT OR IGNORE INTO events(id, finding_id, json, state)"
                " VALUES (?, ?, ?, 'pending')",
                [event.id, event.finding_id, event.model_dump_json()],
            )

    # ---- photos on disk ------------------------------------------------------------------

    def photo_path(self, sha256: str) -> Path:
        """Where the upload copy of a photo lives."""
        return self.photo_dir / f"{sha256}.jpg"

    def thumbnail_path(self, sha256: str) -> Path:
        """Where a photo's thumbnail lives."""
        return self.photo_dir / f"{sha256}.t.jpg"

    def _write_photo_files(self, photos: Sequence[PhotoLike]) -> None:
        for photo in photos:
            target = self.photo_path(photo.sha256)
            if not (target.exists() and target.stat().st_size == len(photo.jpeg)):
                atomic_write(target, photo.jpeg)
            thumb = self.thumbnail_path(photo.sha256)
            if photo.thumbnail and not thumb.exists():
                atomic_write(thumb, photo.thumbnail)
        if photos:
            fsync_dir(self.photo_dir)

    def stored_photo(self, sha256: str) -> PhotoLike:
        """A photo already in the store, as the store takes it (for a new revision)."""
        with self._lock:
            row = self._one("SELECT * FROM photos WHERE sha256 = ?", [sha256])
        if row is None:
            raise NotFoundError(f"no photo {sha256}")
        thumb = self.thumbnail_path(sha256)
        return _StoredPhoto(
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
        cutoff = time.time() - grace_s
        removed = []
        for path in self.photo_dir.iterdir():
            name = path.name
            sha = name.split(".", 1)[0]
            orphan = name.startswith(TMP_PREFIX) or sha not in known
            if orphan and path.is_file() and path.stat().st_mtime <= cutoff:
                path.unlink(missing_ok=True)
                removed.append(path)
        return removed

    # ---- the outbox ----------------------------------------------------------------------

    def pending_counts(self) -> PendingCounts:
        """What still waits for the server (see PendingCounts for what each number means)."""
        with self._lock:
            q = self._one
            photos = q(
                "SELECT count(*) AS n, coalesce(sum(size), 0) AS b FROM photos"
                " WHERE uploaded_at IS NULL AND (sha256 IN (SELECT sha256 FROM finding_photos)"
                " OR sha256 IN (SELECT json_extract(j.value, '$.sha256')"
                "  FROM events e, json_each(e.json, '$.photos') j))"
            ) or {"n": 0, "b": 0}
            # A revision set aside (conflict, refused) no longer counts once a later revision of
            # the finding exists: that one is what the walker meant and what goes.
            findings = q(
                "SELECT count(DISTINCT f.id) AS n FROM findings f WHERE (f.state != 'confirmed'"
                "  AND (f.state = 'pending' OR f.revision = (SELECT max(revision) FROM findings g"
                "   WHERE g.id = f.id)))"
                " OR EXISTS (SELECT 1 FROM finding_photos fp JOIN photos p ON p.sha256 = fp.sha256"
                "  WHERE fp.finding_id = f.id AND fp.revision = f.revision"
                "  AND p.uploaded_at IS NULL)"
            )
            # A walk waits while its record (start, end, reopening) or any route point does;
            # a walk in conflict or refused is not confirmed either, so it still counts.
            walks = q(
                "SELECT count(*) AS n FROM (SELECT id FROM walks WHERE state != 'confirmed'"
                " UNION SELECT DISTINCT walk_id FROM track_points WHERE state != 'confirmed')"
            )
            captures = q(
                "SELECT count(*) AS n, coalesce(sum(CASE WHEN raw = '' THEN 0 ELSE"
                " length(raw) - length(replace(raw, char(10), '')) + 1 END), 0) AS p"
                " FROM captures"
            ) or {"n": 0, "p": 0}
            return PendingCounts(
                walks=_n(walks),
                findings=_n(findings),
                events=_n(q("SELECT count(*) AS n FROM events WHERE state != 'confirmed'")),
                photos=photos["n"],
                photo_bytes=photos["b"],
                track_points=_n(
                    q("SELECT count(*) AS n FROM track_points WHERE state = 'pending'")
                ),
                conflicts=_n(q("SELECT count(*) AS n FROM findings WHERE state = 'conflict'"))
                + _n(q("SELECT count(*) AS n FROM events WHERE state = 'conflict'"))
                + _n(q("SELECT count(*) AS n FROM walks WHERE state = 'conflict'")),
                captures=captures["n"],
                capture_photos=captures["p"],
                refused=_n(q(_REFUSED_COUNT_SQL)),
                to_send=_n(
                    q(
                        "SELECT (SELECT count(*) FROM walks WHERE state = 'pending')"
                        " + (SELECT count(*) FROM track_points WHERE state = 'pending')"
                        " + (SELECT count(*) FROM findings WHERE state = 'pending')"
                        " + (SELECT count(*) FROM events WHERE state = 'pending')"
                        " + (SELECT count(*) FROM captures) AS n"
                    )
                )
                + len(self._photos_to_upload_rows()),
            )

    def pending_walks(self) -> list[dict[str, Any]]:
        """Walks that still wait (the `walks` of pending_counts): what of each, oldest first."""
        with self._lock:
            return list(
                self.db.query(
                    "SELECT w.id, w.name, w.started_at, w.ended_at, w.state, w.conflict_detail,"
                    " (SELECT count(*) FROM track_points t WHERE t.walk_id = w.id"
                    "   AND t.state = 'pending') AS route_points_waiting,"
                    " (SELECT count(*) FROM track_points t WHERE t.walk_id = w.id"
                    "   AND t.state = 'refused') AS route_points_refused"
                    " FROM walks w WHERE w.state != 'confirmed' OR EXISTS (SELECT 1 FROM"
                    "  track_points t WHERE t.walk_id = w.id AND t.state != 'confirmed')"
                    " ORDER BY w.started_at"
                )
            )

    def outbox_batch(self, max_findings: int = 100, max_track: int = 2000) -> model.PushRequest:
        """The next batch to push: pending walks, findings (oldest first), events, track.

        Its events are marked as pushed before they leave (events.pushed_at): from then on the
        server may hold them, so they are never replaced, only followed.
        """
        with self.transaction() as db:
            walks = [
                _walk_from_row(r)
                for r in self.db.query(
                    "SELECT * FROM walks WHERE state = 'pending' ORDER BY started_at LIMIT 100"
                )
            ]
            findings = [
                self._finding_from_row(r)
                for r in self.db.query(
                    "SELECT * FROM findings WHERE state = 'pending' ORDER BY id, revision LIMIT ?",
                    [max_findings],
                )
            ]
            events = [
                model.FindingEvent.model_validate_json(r["json"])
                for r in self.db.query(
                    "SELECT json FROM events WHERE state = 'pending' ORDER BY id LIMIT 500"
                )
            ]
            track = [
                _track_from_row(r)
                for r in self.db.query(
                    "SELECT * FROM track_points WHERE state = 'pending'"
                    " ORDER BY walk_id, t LIMIT ?",
                    [max_track],
                )
            ]
            now = model.utcnow().isoformat()
            for event in events:
                db.execute(
                    "UPDATE events SET pushed_at = coalesce(pushed_at, ?) WHERE id = ?",
                    [now, event.id],
                )
        return model.PushRequest(walks=walks, findings=findings, events=events, track=track)

    def apply_receipt(self, batch: model.PushRequest, receipt: model.PushReceipt) -> None:
        """Mark what the server confirmed; keep conflicts with the server's reason."""
        sent_walks = {w.id: model.canonical_hash(w) for w in batch.walks}
        now = model.utcnow().isoformat()
        ok = {model.RecordResult.CREATED, model.RecordResult.UNCHANGED, model.RecordResult.UPDATED}
        with self.transaction() as db:
            for rec in receipt.records:
                state = "confirmed" if rec.result in ok else "conflict"
                detail = rec.detail if state == "conflict" else None
                if rec.kind == "finding":
                    db.execute(
                        "UPDATE findings SET state = ?, conflict_detail = ?, pushed_at = ?"
                        " WHERE id = ? AND revision = ?",
                        [state, detail, now, rec.id, rec.revision],
                    )
                elif rec.kind == "event":
                    db.execute(
                        "UPDATE events SET state = ?, conflict_detail = ? WHERE id = ?",
                        [state, detail, rec.id],
                    )
                elif rec.kind == "walk":
                    row = self._one("SELECT * FROM walks WHERE id = ?", [rec.id])
                    # The walk may have ended while the batch was in flight: confirm only what
                    # was sent, so the end is pushed next time.
                    if row and model.canonical_hash(_walk_from_row(row)) == sent_walks.get(rec.id):
                        db.execute(
                            "UPDATE walks SET state = ?, conflict_detail = ? WHERE id = ?",
                            [state, detail, rec.id],
                        )
            if receipt.track_points >= len(batch.track):
                for p in batch.track:
                    db.execute(
                        "UPDATE track_points SET state = 'confirmed' WHERE walk_id = ? AND t = ?",
                        [p.walk_id, p.t.isoformat()],
                    )
            for photo in receipt.photos:
                if photo.state is model.PhotoState.STORED:
                    db.execute(
                        "UPDATE photos SET uploaded_at = coalesce(uploaded_at, ?) WHERE sha256 = ?",
                        [now, photo.sha256],
                    )

    def photos_to_upload(self) -> list[model.Photo]:
        """Photos of records the server accepted whose bytes it has not confirmed yet."""
        return [_photo_from_row(r) for r in self._photos_to_upload_rows()]

    def _photos_to_upload_rows(self) -> list[dict[str, Any]]:
        with self._lock:
            rows = self.db.query(
                "SELECT * FROM photos p WHERE p.uploaded_at IS NULL"
                " AND p.refused_detail IS NULL AND ("
                " p.sha256 IN (SELECT fp.sha256 FROM finding_photos fp JOIN findings f"
                "   ON f.id = fp.finding_id AND f.revision = fp.revision"
                "   WHERE f.state = 'confirmed')"
                " OR EXISTS (SELECT 1 FROM events e, json_each(e.json, '$.photos') j"
                "   WHERE e.state = 'confirmed' AND json_extract(j.value, '$.sha256') = p.sha256))"
                " ORDER BY created_at"
            )
            return list(rows)

    def mark_uploaded(self, sha256: str) -> None:
        """The server verified this photo's hash: it counts as delivered."""
        with self.transaction() as db:
            db.execute(
                "UPDATE photos SET uploaded_at = coalesce(uploaded_at, ?) WHERE sha256 = ?",
                [model.utcnow().isoformat(), sha256],
            )

    # ---- what the server refused for good ----------------------------------------------------

    def refuse(self, batch: model.PushRequest, detail: str) -> None:
        """Set aside the records of a batch the server refused (422/403): kept here with the
        server's reason, never deleted, and not sent again until `retry_refused`."""
        with self.transaction() as db:
            for walk in batch.walks:
                row = self._one("SELECT * FROM walks WHERE id = ?", [walk.id])
                # As in apply_receipt: a walk that ended while this was in flight is a different
                # record now; it goes again (and is judged) with its end.
                if row and model.canonical_hash(_walk_from_row(row)) == model.canonical_hash(walk):
                    db.execute(
                        "UPDATE walks SET state = 'refused', conflict_detail = ? WHERE id = ?",
                        [detail, walk.id],
                    )
            for f in batch.findings:
                db.execute(
                    "UPDATE findings SET state = 'refused', conflict_detail = ?,"
                    " pushed_at = coalesce(pushed_at, ?)"
                    " WHERE id = ? AND revision = ? AND state = 'pending'",
                    [detail, model.utcnow().isoformat(), f.id, f.revision],
                )
            for e in batch.events:
                db.execute(
                    "UPDATE events SET state = 'refused', conflict_detail = ?"
                    " WHERE id = ? AND state = 'pending'",
                    [detail, e.id],
                )
            for p in batch.track:
                db.execute(
                    "UPDATE track_points SET state = 'refused', refused_detail = ?"
                    " WHERE walk_id = ? AND t = ? AND state = 'pending'",
                    [detail, p.walk_id, p.t.isoformat()],
                )

    def refuse_photo(self, sha256: str, detail: str) -> None:
        """The server refused this photo's bytes for good (they do not decode, or too large):
        the file stays here, and it is not uploaded again until `retry_refused`."""
        with self.transaction() as db:
            db.execute(
                "UPDATE photos SET refused_detail = ? WHERE sha256 = ? AND uploaded_at IS NULL",
                [detail, sha256],
            )

    def retry_refused(self) -> int:
        """Queue everything set aside as refused for the next sync again; how many items."""
        with self.transaction() as db:
            n = 0
            for table in ("walks", "findings", "events"):
                n += db.execute(
                    f"UPDATE {table} SET state = 'pending', conflict_detail = NULL"
                    " WHERE state = 'refused'"
                ).rowcount
            n += db.execute(
                "UPDATE track_points SET state = 'pending', refused_detail = NULL"
                " WHERE state = 'refused'"
            ).rowcount
            n += db.execute(
                "UPDATE photos SET refused_detail = NULL WHERE refused_detail IS NOT NULL"
            ).rowcount
        return n

    def refused(self) -> list[SetAside]:
        """Everything set aside as refused, with what names it for the walker, oldest first."""
        with self._lock:
            items = [*self._refused_walks(), *self._refused_routes()]
            for r in self.db.query(
                "SELECT f.id, f.revision, f.conflict_detail FROM findings f"
                " WHERE f.state = 'refused' AND f.revision = (SELECT max(revision)"
                "  FROM findings g WHERE g.id = f.id) ORDER BY f.id"
            ):
                about = self._about_finding("finding", r["id"], r["conflict_detail"], r["id"])
                items.append(replace(about, revision=r["revision"]))
            for r in self.db.query(
                "SELECT id, finding_id, conflict_detail FROM events WHERE state = 'refused'"
                " ORDER BY id"
            ):
                detail, finding_id = r["conflict_detail"], r["finding_id"]
                items.append(self._about_finding("event", r["id"], detail, finding_id))
            for r in self.db.query(
                "SELECT sha256, refused_detail FROM photos WHERE refused_detail IS NOT NULL"
                " AND uploaded_at IS NULL ORDER BY created_at"
            ):
                owner = self._photo_finding(r["sha256"])
                items.append(self._about_finding("photo", r["sha256"], r["refused_detail"], owner))
        return items

    def _refused_walks(self) -> list[SetAside]:
        return [
            SetAside("walk", r["id"], r["conflict_detail"] or "", at=r["started_at"],
                     name=r["name"])
            for r in self.db.query(
                "SELECT id, name, started_at, conflict_detail FROM walks WHERE state = 'refused'"
                " ORDER BY started_at"
            )
        ]  # fmt: skip

    def _refused_routes(self) -> list[SetAside]:
        return [
            SetAside("route", r["id"], r["detail"] or "", count=r["n"], at=r["started_at"],
                     name=r["name"])
            for r in self.db.query(
                "SELECT w.id, w.name, w.started_at, count(*) AS n, min(t.refused_detail) AS detail"
                " FROM track_points t JOIN walks w ON w.id = t.walk_id WHERE t.state = 'refused'"
                " GROUP BY w.id ORDER BY w.started_at"
            )
        ]  # fmt: skip

    def _photo_finding(self, sha256: str) -> str | None:
        """The finding a photo belongs to (its own, or the one an answer with it is about)."""
        row = self._one(
            "SELECT finding_id FROM finding_photos WHERE sha256 = ? ORDER BY revision DESC LIMIT 1",
            [sha256],
        ) or self._one(
            "SELECT e.finding_id FROM events e, json_each(e.json, '$.photos') j"
            " WHERE json_extract(j.value, '$.sha256') = ? LIMIT 1",
            [sha256],
        )
        return row["finding_id"] if row else None

    def _about_finding(
        self, kind: str, item_id: str, detail: str | None, finding_id: str | None
    ) -> SetAside:
        """A SetAside named by its finding: this device's own, or one pulled from the server."""
        base = SetAside(kind, item_id, detail or "", finding_id=finding_id)
        if finding_id is None:
            return base
        own = self._one(
            "SELECT category, note, captured_at FROM findings WHERE id = ?"
            " ORDER BY revision DESC LIMIT 1",
            [finding_id],
        )
        if own:
            return replace(base, category=own["category"], note=own["note"] or "",
                           at=own["captured_at"])  # fmt: skip
        remote = self._one("SELECT json FROM remote_findings WHERE id = ?", [finding_id])
        if remote:
            f = model.OpenFinding.model_validate_json(remote["json"]).finding
            return replace(base, category=f.category, note=f.note, at=f.captured_at.isoformat())
        return base

    def apply_changes(self, changes: Sequence[model.StatusChange], cursor: int) -> None:
        """Record status changes pulled from the server and the new cursor, in one transaction."""
        with self.transaction() as db:
            for ch in changes:
                db.execute(
                    "INSERT OR IGNORE INTO status_events(seq, finding_id, kind, at, json)"
                    " VALUES (?, ?, ?, ?, ?)",
                    [
                        ch.seq,
                        ch.finding_id,
                        ch.event.kind.value,
                        ch.event.at.isoformat(),
                        ch.event.model_dump_json(),
                    ],
                )
                db.execute(
                    "INSERT INTO finding_status(finding_id, status, updated_at, seq)"
                    " VALUES (?, ?, ?, ?) ON CONFLICT(finding_id) DO UPDATE SET"
                    " status = excluded.status, updated_at = excluded.updated_at,"
                    " seq = excluded.seq WHERE excluded.seq > finding_status.seq",
                    [ch.finding_id, ch.status.value, ch.event.at.isoformat(), ch.seq],
                )
            db.execute(
                "INSERT OR REPLACE INTO meta(key, value) VALUES ('pull_cursor', ?)", [str(cursor)]
            )

    def history(self, finding_id: str) -> list[model.FindingEvent]:
        """The finding's history as pulled from the server, oldest first."""
        with self._lock:
            rows = self.db.query(
                "SELECT json FROM status_events WHERE finding_id = ? ORDER BY seq", [finding_id]
            )
            return [model.FindingEvent.model_validate_json(r["json"]) for r in rows]


# ---- rows <-> models (the one place where the two shapes meet) ------------------------------


@dataclass(frozen=True)
class _StoredPhoto:
    jpeg: bytes
    thumbnail: bytes
    width: int
    height: int
    sha256: str
    source_name: str


# What pending_counts calls `refused`: a walk with refused route points counts once, a finding
# only while its latest revision is the refused one, a photo until the server has it after all.
_REFUSED_COUNT_SQL = (
    "SELECT (SELECT count(*) FROM (SELECT id FROM walks WHERE state = 'refused'"
    "  UNION SELECT walk_id FROM track_points WHERE state = 'refused'))"
    " + (SELECT count(*) FROM findings f WHERE f.state = 'refused'"
    "  AND f.revision = (SELECT max(revision) FROM findings g WHERE g.id = f.id))"
    " + (SELECT count(*) FROM events WHERE state = 'refused')"
    " + (SELECT count(*) FROM photos WHERE refused_detail IS NOT NULL AND uploaded_at IS NULL)"
    " AS n"
)


def _n(row: dict[str, Any] | None) -> int:
    return int(row["n"]) if row else 0


def _insert_photo_rows(db: sqlite_utils.Database, photos: Sequence[PhotoLike]) -> None:
    now = model.utcnow().isoformat()
    for p in photos:
        db.execute(
            "INSERT OR IGNORE INTO photos(sha256, size, width, height, source_name, created_at)"
            " VALUES (?, ?, ?, ?, ?, ?)",
            [p.sha256, len(p.jpeg), p.width, p.height, p.source_name, now],
        )


def _wire_photo(p: PhotoLike) -> model.Photo:
    return model.Photo(sha256=p.sha256, size=len(p.jpeg), width=p.width, height=p.height)


def _photo_from_row(row: dict[str, Any]) -> model.Photo:
    return model.Photo(
        sha256=row["sha256"], size=row["size"], width=row["width"], height=row["height"]
    )


def _walk_row(walk: model.Walk) -> dict[str, Any]:
    return {
        "id": walk.id,
        "name": walk.name,
        "area": walk.area,
        "started_at": walk.started_at.isoformat(),
        "ended_at": walk.ended_at.isoformat() if walk.ended_at else None,
        "state": "pending",
    }


def _walk_from_row(row: dict[str, Any]) -> model.Walk:
    return model.Walk(
        id=row["id"],
        name=row["name"],
        area=row["area"] or "",
        started_at=row["started_at"],
        ended_at=row["ended_at"],
    )


def _track_from_row(row: dict[str, Any]) -> model.TrackPoint:
    return model.TrackPoint(
        walk_id=row["walk_id"],
        t=row["t"],
        latitude=row["latitude"],
        longitude=row["longitude"],
        accuracy=row["accuracy"],
    )


_FINDING_FIELDS = (
    "id",
    "revision",
    "walk_id",
    "category",
    "severity",
    "note",
    "latitude",
    "longitude",
    "accuracy",
    "position_source",
    "duplicate_of",
)


def _finding_row(f: model.Finding) -> dict[str, Any]:
    row: dict[str, Any] = {k: getattr(f, k) for k in _FINDING_FIELDS}
    row.update(
        severity=f.severity.value,
        position_source=f.position_source.value,
        captured_at=f.captured_at.isoformat(),
        created_at=model.utcnow().isoformat(),
        content_hash=f.content_hash(),
        state="pending",
    )
    return row


def _finding_from_row(row: dict[str, Any], photos: list[model.Photo]) -> model.Finding:
    data = {k: row[k] for k in _FINDING_FIELDS}
    data.update(captured_at=row["captured_at"], photos=photos, note=row["note"] or "")
    return model.Finding.model_validate(data)


def private_dir(path: Path) -> Path:
    """`path` as a folder only this user can enter (0700), made with its parents if need be."""
    path.mkdir(mode=PRIVATE_DIR_MODE, parents=True, exist_ok=True)  # (parents: not ours)
    _restrict(path, PRIVATE_DIR_MODE)
    return path


def _restrict(path: Path | str, mode: int) -> None:
    """chmod to `mode` unless it is that already (symbolic links are left alone)."""
    status = os.lstat(path)
    if not stat.S_ISLNK(status.st_mode) and stat.S_IMODE(status.st_mode) != mode:
        os.chmod(path, mode)


def _make_private(data_dir: Path) -> None:
    """The data directory 0700, the database 0600 (created so, before SQLite opens it), and what
    an older version left readable in the store's own folders 0700/0600."""
    private_dir(data_dir)
    database = data_dir / DB_NAME
    os.close(os.open(database, os.O_WRONLY | os.O_CREAT, PRIVATE_FILE_MODE))
    for name in (DB_NAME, f"{DB_NAME}-wal", f"{DB_NAME}-shm"):
        with contextlib.suppress(FileNotFoundError):
            _restrict(data_dir / name, PRIVATE_FILE_MODE)
    for name in OWN_DIRS:
        for root, _, files in os.walk(data_dir / name):
            _restrict(root, PRIVATE_DIR_MODE)
            for file in files:
                with contextlib.suppress(FileNotFoundError):  # a temporary file, just renamed
                    _restrict(os.path.join(root, file), PRIVATE_FILE_MODE)


def atomic_write(target: Path, data: bytes) -> None:
    """Write a file so that it is either complete or absent: temp name, fsync, rename. The file
    is this user's alone (0600)."""
    tmp = target.with_name(f"{TMP_PREFIX}{os.getpid()}-{threading.get_ident()}-{target.name}")
    flags = os.O_WRONLY | os.O_CREAT | os.O_TRUNC
    with open(os.open(tmp, flags, PRIVATE_FILE_MODE), "wb") as fh:
        fh.write(data)
        fh.flush()
        os.fsync(fh.fileno())
    os.replace(tmp, target)


def fsync_dir(path: Path) -> None:
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def to_json(rows: list[dict[str, Any]]) -> str:
    """Rows as pretty JSON (the CLI's --json output)."""
    return json.dumps(rows, indent=2, ensure_ascii=False, default=str)

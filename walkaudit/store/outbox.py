"""The outbox: what waits for the server, the next batch to push, and what the server said.

The sync (walkaudit.sync) asks `pending_counts` what waits, takes `outbox_batch`, and hands the
server's receipt to `apply_receipt`; photos go one by one (`photos_to_upload`, `mark_uploaded`);
what the server says changed (`apply_changes`) comes back the same way. Rows are never deleted
by sync: a record goes from pending to confirmed (or conflict, kept with the server's reason).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from walkaudit import model
from walkaudit.store import rows
from walkaudit.store.connection import Connection


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


class Outbox(Connection):
    """The store's part that the sync talks to (Store has it)."""

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
                rows.walk_from_row(r)
                for r in self.db.query(
                    "SELECT * FROM walks WHERE state = 'pending' ORDER BY started_at LIMIT 100"
                )
            ]
            findings = [
                rows.load_finding(self.db, r)
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
                rows.track_from_row(r)
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
                    if row and model.canonical_hash(rows.walk_from_row(row)) == sent_walks.get(
                        rec.id
                    ):
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
        return [rows.photo_from_row(r) for r in self._photos_to_upload_rows()]

    def _photos_to_upload_rows(self) -> list[dict[str, Any]]:
        with self._lock:
            found = self.db.query(
                "SELECT * FROM photos p WHERE p.uploaded_at IS NULL"
                " AND p.refused_detail IS NULL AND ("
                " p.sha256 IN (SELECT fp.sha256 FROM finding_photos fp JOIN findings f"
                "   ON f.id = fp.finding_id AND f.revision = fp.revision"
                "   WHERE f.state = 'confirmed')"
                " OR EXISTS (SELECT 1 FROM events e, json_each(e.json, '$.photos') j"
                "   WHERE e.state = 'confirmed' AND json_extract(j.value, '$.sha256') = p.sha256))"
                " ORDER BY created_at"
            )
            return list(found)

    def mark_uploaded(self, sha256: str) -> None:
        """The server verified this photo's hash: it counts as delivered."""
        with self.transaction() as db:
            db.execute(
                "UPDATE photos SET uploaded_at = coalesce(uploaded_at, ?) WHERE sha256 = ?",
                [model.utcnow().isoformat(), sha256],
            )

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
            events = self.db.query(
                "SELECT json FROM status_events WHERE finding_id = ? ORDER BY seq", [finding_id]
            )
            return [model.FindingEvent.model_validate_json(r["json"]) for r in events]

"""What the server refused for good: set aside on this device with its reason, never deleted.

A time outside the server's window, an event kind a device may not send, a photo that does not
decode: sending it again would be refused again, so it waits here (and counts as waiting) until
the walker asks for `retry_refused`. `refused` names each item so the walker can tell which it is.
"""

from __future__ import annotations

from dataclasses import dataclass, replace

from walkaudit import model
from walkaudit.store import rows
from walkaudit.store.connection import Connection


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


class Refusals(Connection):
    """The store's part that keeps what the server refused (Store has it)."""

    def refuse(self, batch: model.PushRequest, detail: str) -> None:
        """Set aside the records of a batch the server refused (422/403): kept here with the
        server's reason, never deleted, and not sent again until `retry_refused`."""
        with self.transaction() as db:
            for walk in batch.walks:
                row = self._one("SELECT * FROM walks WHERE id = ?", [walk.id])
                # As in apply_receipt: a walk that ended while this was in flight is a different
                # record now; it goes again (and is judged) with its end.
                if row and model.canonical_hash(rows.walk_from_row(row)) == model.canonical_hash(
                    walk
                ):
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

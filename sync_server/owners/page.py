"""The owner page's core: what one owner's link shows, and the owner's answers as events.

Every query and every action is scoped by the owner id the link resolved to: a finding that is
not assigned to this owner (`assignments.owner_id`) is the same as one that does not exist, so a
link can never tell whether someone else's finding exists. Answers become events in the
finding's append-only history (`history.add_server_event`, actor `owner:{owner_id}`), idempotent
by the event id each form carries, so a double submit records one event.

    OwnerPageError
     ├── NotYours        the finding is not this owner's, or does not exist       → 404
     ├── AlreadyDone     the finding is done (or acknowledged, for "acknowledge")  → 409
     ├── EventIdReused   the form's event id already names a different answer      → 409
     └── InvalidAnswer   a missing or unusable value; `key` and `values` name the
                         message in `sync_server.texts.owners`                      → 422
"""

from __future__ import annotations

import json
import time
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta

import sqlite_utils

from sync_server.core.blobs import BlobBusy, BlobHashMismatch, BlobOffsetMismatch, BlobStore
from sync_server.core.db import Database
from sync_server.core.history import add_server_event
from sync_server.core.time import parse_iso
from sync_server.field.photos import record_stored
from sync_server.owners.routing import reroute_to_triage
from walkaudit.model import OFF_OWNERS_LIST, EventKind, FindingStatus, Photo

DONE = frozenset(OFF_OWNERS_LIST)  # off this owner's list (not_ours: back in triage)
# "We have seen it" makes sense once: after it (or a plan) it would move the status backwards.
ACKNOWLEDGEABLE = frozenset({FindingStatus.RECEIVED, FindingStatus.SENT, FindingStatus.REOPENED})
MAX_TEXT = 2000  # a comment or reason; the event note holds at most 4000 (date + comment)
MAX_PLAN_YEARS = 5
_SEVERITY_RANK = {"urgent": 0, "high": 1, "medium": 2, "low": 3}


class OwnerPageError(Exception):
    """An answer or a look-up the owner page refuses."""


class NotYours(OwnerPageError):
    """Not this owner's finding (or no such finding): answered as 404, never 403."""


class AlreadyDone(OwnerPageError):
    """The finding's status does not allow this answer any more."""

    def __init__(self, key: str, status: FindingStatus) -> None:
        super().__init__(f"{key}: finding is {status.value}")
        self.key = key
        self.status = status


class EventIdReused(OwnerPageError):
    """The form's event id is already recorded for another finding, kind or actor."""


class InvalidAnswer(OwnerPageError):
    """A value the owner must fix; `key` is the message, `values` fill its placeholders."""

    def __init__(self, key: str, **values: object) -> None:
        super().__init__(key)
        self.key = key
        self.values = values


@dataclass(frozen=True)
class Owner:
    id: str
    name: str
    language: str

    @property
    def actor(self) -> str:
        """How this owner is named in the events it makes (stable even if the name changes)."""
        return f"owner:{self.id}"


@dataclass(frozen=True)
class HistoryEntry:
    kind: EventKind
    at: datetime
    actor: str
    note: str
    photos: list[str]  # sha256 of the event's stored photos


@dataclass(frozen=True)
class FindingView:
    """One finding as its owner sees it."""

    id: str
    category: str
    severity: str
    note: str
    latitude: float
    longitude: float
    status: FindingStatus
    captured_at: datetime
    walk_name: str
    deadline: date | None
    photos: list[str]
    history: list[HistoryEntry] = field(default_factory=list)

    @property
    def is_open(self) -> bool:
        """Still waiting for the owner: not fixed, verified, closed or handed back."""
        return self.status not in DONE

    @property
    def can_acknowledge(self) -> bool:
        """Whether "we have seen it" still means something."""
        return self.status in ACKNOWLEDGEABLE


def get_owner(db: Database, owner_id: str) -> Owner:
    """The owner a link opened (links reference owners, so it exists)."""
    row = db.query_one("SELECT id, name, language FROM owners WHERE id = ?", (owner_id,))
    if row is None:
        raise NotYours(f"owner {owner_id} does not exist")
    return Owner(str(row["id"]), str(row["name"]), str(row["language"]))


def owner_findings(db: Database, owner_id: str, finding_id: str | None = None) -> list[FindingView]:
    """The owner's findings (open first, by deadline and severity), each with photos and history."""
    sql = (
        "SELECT f.id, f.category, f.severity, f.note, f.latitude, f.longitude, f.status,"
        " f.captured_at, coalesce(w.name, '') AS walk_name, a.deadline"
        " FROM assignments a JOIN findings f ON f.id = a.finding_id"
        " LEFT JOIN walks w ON w.id = f.walk_id WHERE a.owner_id = ?"
    )
    params: list[object] = [owner_id]
    if finding_id is not None:
        sql += " AND f.id = ?"
        params.append(finding_id)
    conn = db.conn()
    rows = list(conn.query(sql, params))
    if not rows:
        return []
    ids = [str(r["id"]) for r in rows]
    marks = ", ".join("?" * len(ids))
    finding_photos = conn.execute(
        f"SELECT finding_id, sha256 FROM finding_photos WHERE finding_id IN ({marks})"
        " ORDER BY finding_id, position",
        ids,
    ).fetchall()
    events = [
        (fid, kind, at, actor, note, [p["sha256"] for p in json.loads(js).get("photos", [])])
        for fid, kind, at, actor, note, js in conn.execute(
            f"SELECT finding_id, kind, at, actor, note, json FROM events"
            f" WHERE finding_id IN ({marks}) ORDER BY seq",
            ids,
        ).fetchall()
    ]
    # Only photos that arrived can be shown: a walker's photo may still be on its way.
    stored = _stored(conn, {sha for _, sha in finding_photos} | {s for e in events for s in e[5]})
    photos: dict[str, list[str]] = {}
    for fid, sha in finding_photos:
        if sha in stored:
            photos.setdefault(fid, []).append(sha)
    history: dict[str, list[HistoryEntry]] = {}
    for fid, kind, at, actor, note, shas in events:
        history.setdefault(fid, []).append(
            HistoryEntry(EventKind(kind), parse_iso(at), actor, note,
                         [s for s in shas if s in stored])
        )  # fmt: skip
    views = [
        FindingView(
            id=str(r["id"]),
            category=str(r["category"]),
            severity=str(r["severity"]),
            note=str(r["note"]),
            latitude=float(r["latitude"]),
            longitude=float(r["longitude"]),
            status=FindingStatus(r["status"]),
            captured_at=parse_iso(str(r["captured_at"])),
            walk_name=str(r["walk_name"]),
            deadline=_date(r["deadline"]),
            photos=photos.get(str(r["id"]), []),
            history=history.get(str(r["id"]), []),
        )  # fmt: skip
        for r in rows
    ]
    views.sort(key=_order)
    return views


def _stored(conn: sqlite_utils.Database, shas: set[str]) -> set[str]:
    if not shas:
        return set()
    marks = ", ".join("?" * len(shas))
    rows = conn.execute(f"SELECT sha256 FROM photos WHERE sha256 IN ({marks})", list(shas))
    return {sha for (sha,) in rows.fetchall()}


def _order(view: FindingView) -> tuple[bool, date, int, datetime]:
    return (not view.is_open, view.deadline or date.max,
            _SEVERITY_RANK.get(view.severity, 9), view.captured_at)  # fmt: skip


def _date(value: object) -> date | None:
    # assignments.deadline is ISO text: a date, or a timestamp whose date part is the deadline.
    return date.fromisoformat(str(value)[:10]) if value else None


def may_see_photo(db: Database, owner_id: str, sha256: str) -> bool:
    """True if the photo belongs to one of this owner's findings or to an event of one."""
    row = db.query_one(
        "SELECT 1 FROM assignments a JOIN finding_photos fp ON fp.finding_id = a.finding_id"
        " WHERE a.owner_id = ? AND fp.sha256 = ?"
        " UNION ALL"
        " SELECT 1 FROM assignments a JOIN events e ON e.finding_id = a.finding_id,"
        " json_each(e.json, '$.photos') p"
        " WHERE a.owner_id = ? AND json_extract(p.value, '$.sha256') = ? LIMIT 1",
        (owner_id, sha256, owner_id, sha256),
    )
    return row is not None


# ---- answers ---------------------------------------------------------------------------------


def already_answered(db: Database, owner: Owner, event_id: str, finding_id: str,
                     kind: EventKind) -> bool:  # fmt: skip
    """True if this exact answer (same form) is recorded; EventIdReused if the id means another."""
    row = db.query_one("SELECT finding_id, kind, actor FROM events WHERE id = ?", (event_id,))
    if row is None:
        return False
    if (row["finding_id"], row["kind"], row["actor"]) != (finding_id, kind.value, owner.actor):
        raise EventIdReused(f"event {event_id} is already recorded for another answer")
    return True


def planned_date(value: str, today: date) -> date:
    """The date from a planned form: required, a real date, not in the past, not absurdly far."""
    value = value.strip()
    if not value:
        raise InvalidAnswer("owner.error.date_missing")
    try:
        day = date.fromisoformat(value)
    except ValueError:
        raise InvalidAnswer("owner.error.date_invalid", value=value[:40]) from None
    if day < today:
        raise InvalidAnswer("owner.error.date_past", date=day.isoformat())
    if day > today + timedelta(days=365 * MAX_PLAN_YEARS + 1):
        raise InvalidAnswer("owner.error.date_far", date=day.isoformat())
    return day


def checked_text(value: str, *, required_key: str | None = None) -> str:
    """A comment or reason, stripped; InvalidAnswer if required and blank, or too long."""
    value = value.strip().replace("\r\n", "\n")
    if required_key and not value:
        raise InvalidAnswer(required_key)
    if len(value) > MAX_TEXT:
        raise InvalidAnswer("owner.error.text_too_long", n=len(value), max=MAX_TEXT)
    return value


def refusal(status: FindingStatus, kind: EventKind) -> AlreadyDone | None:
    """Why a finding in this status cannot take this answer (None if it can)."""
    if status in DONE:
        return AlreadyDone("owner.error.already_done", status)
    if kind is EventKind.ACKNOWLEDGED and status not in ACKNOWLEDGEABLE:
        return AlreadyDone("owner.error.already_acknowledged", status)
    return None


def answer(
    db: Database,
    owner: Owner,
    finding_id: str,
    event_id: str,
    kind: EventKind,
    note: str = "",
    photos: list[Photo] | None = None,
) -> bool:
    """Record one answer as an event, in one transaction; False if this event was recorded before.

    "Not ours" also hands the finding back to the coordinator's triage in the same transaction.
    """
    with db.write() as tx:
        # Checked again inside the transaction: a second submit racing the first one, or the
        # coordinator re-routing meanwhile, must not slip past the checks made before it.
        if tx.execute("SELECT 1 FROM events WHERE id = ?", [event_id]).fetchone():
            return False
        row = tx.execute(
            "SELECT f.status FROM assignments a JOIN findings f ON f.id = a.finding_id"
            " WHERE a.owner_id = ? AND a.finding_id = ?",
            [owner.id, finding_id],
        ).fetchone()
        if row is None:
            raise NotYours(f"finding {finding_id} is not assigned to owner {owner.id}")
        refused = refusal(FindingStatus(row[0]), kind)
        if refused:
            raise refused
        add_server_event(tx, finding_id, kind, actor=owner.actor, note=note,
                         event_id=event_id, photos=photos)  # fmt: skip
        if kind is EventKind.NOT_OURS:
            reroute_to_triage(tx, finding_id, "not_ours", note)
    return True


def store_photo(db: Database, blobs: BlobStore, jpeg: bytes, sha256: str,
                wait_s: float = 10.0) -> None:  # fmt: skip
    """Put a processed (metadata-free) JPEG in the blob store and record its `photos` row.

    Runs before the event's transaction: if that fails, an unreferenced blob stays behind, which
    is harmless in a content-addressed store (the same bytes would land on the same name).
    BlobBusy if another request keeps writing the same photo for longer than `wait_s`.
    """
    deadline = time.monotonic() + wait_s
    while not blobs.exists(sha256):
        # A partial upload of the same hash can only be a prefix of these very bytes.
        offset = min(blobs.partial_size(sha256), len(jpeg))
        try:
            blobs.append(sha256, offset, [jpeg[offset:]])
            blobs.finalize(sha256)
        except (BlobHashMismatch, BlobOffsetMismatch):
            pass  # a stray partial was discarded (or grew meanwhile): write it once more
        except BlobBusy:
            # A double click: the other request is writing these same bytes. Wait for it.
            if time.monotonic() > deadline:
                raise
            time.sleep(0.05)
    record_stored(db, blobs, sha256)

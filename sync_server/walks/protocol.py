"""A walk, its participants and its protocol: the walk's findings grouped by who must fix them.

The protocol is the method's third step (Boverket/Brå, "uppföljning"): every finding of the walk
under the owner responsible for it (assignments.owner_id -> owners.name; a finding with no owner
yet, or not routed yet, is under "to be assigned", last), each with its photos, priority, deadline
and status, numbered in that order (the maps use the same numbers). Findings merged into another
(finding_tracking.merged_into) are left out, as everywhere in the workspace; findings the walker
marked as the same thing as an earlier one (findings.duplicate_of) are left out and counted.

Priority: finding_tracking.priority if the coordinator set one, else `default_priority` of the
finding's severity. `Protocol.version` is a hash of everything the protocol says, so that sending
it twice sends nothing new and any change sends the new version (walk_protocol_mail).

    WalkError (ServerError)
     ├── UnknownWalk       no walk has this id
     ├── BadParticipant    an empty or malformed email, or a field that is too long
     │                     (`.key` and `.values`: the message in texts_walks, for the page)
     └── NoParticipants    the protocol cannot be sent: nobody to send it to
"""

from __future__ import annotations

import hashlib
import json
import logging
import re
from dataclasses import dataclass, field, replace
from datetime import datetime
from typing import Any

from sync_server.core.db import Database, iso
from sync_server.core.errors import ServerError
from sync_server.core.finding_filters import OPEN
from sync_server.core.time import local_day
from sync_server.workspace.tracking import default_priority
from walkaudit.categories import CATEGORIES
from walkaudit.model import utcnow

log = logging.getLogger(__name__)

MAX_ROUTE_POINTS = 5000  # a night's walk at 1 Hz is ~7000; the map does not need more
MAX_NAME, MAX_ORGANISATION, MAX_EMAIL = 200, 200, 254
# Deliberately plain: one @, no spaces or characters that mean something in a mail header.
_EMAIL = re.compile(
    r"^[A-Za-z0-9.!#$%&'*+/=?^_`{|}~-]+@[^\s@<>()\[\]\\,;:\"]+\.[^\s@<>()\[\]\\,;:\".]+$"
)
_SWEDISH_ORDER = str.maketrans({"å": "{", "ä": "|", "ö": "}", "Å": "{", "Ä": "|", "Ö": "}"})


class WalkError(ServerError):
    """Base of the walks' refusals."""


class UnknownWalk(WalkError):
    """No walk has this id."""


class BadParticipant(WalkError):
    """A participant that cannot be added; `key`/`values` give the message in texts_walks."""

    def __init__(self, message: str, key: str, **values: object) -> None:
        super().__init__(message)
        self.key = key
        self.values = values


class NoParticipants(WalkError):
    """The walk has no participants to send its protocol to."""


# ---- walks ---------------------------------------------------------------------------------


@dataclass(frozen=True)
class WalkSummary:
    """A walk as the list and its page show it."""

    id: str
    name: str
    area: str
    started_at: str
    ended_at: str | None
    device_name: str
    findings: int
    open: int

    @property
    def in_progress(self) -> bool:
        """The phone has not ended the walk (or has not synced its end yet)."""
        return self.ended_at is None


@dataclass(frozen=True)
class WalkPage:
    """One page of the walks list."""

    walks: list[WalkSummary]
    total: int
    page: int
    pages: int
    areas: list[str]  # every area walked, for the filter


_WALKS_SQL = """
SELECT w.id, w.name, w.area, w.started_at, w.ended_at, COALESCE(d.name, '')
FROM walks w LEFT JOIN devices d ON d.id = w.device_id
"""
# Merged-away duplicates are few: one pass over a small index, then a lookup per finding.
_COUNTS_SQL = """
SELECT f.walk_id, COUNT(*), SUM(f.status IN ({open})) FROM findings f
WHERE f.walk_id IN ({ids})
  AND f.id NOT IN (SELECT finding_id FROM finding_tracking WHERE merged_into IS NOT NULL)
GROUP BY f.walk_id
"""


def _summaries(db: Database, rows: list[tuple[Any, ...]]) -> list[WalkSummary]:
    """The walks of these rows with their numbers of findings, counted for these walks only."""
    if not rows:
        return []
    ids = [r[0] for r in rows]
    sql = _COUNTS_SQL.format(open=", ".join("?" * len(OPEN)), ids=", ".join("?" * len(ids)))
    counts = {r[0]: (int(r[1]), int(r[2] or 0)) for r in db.conn().execute(sql, [*OPEN, *ids])}
    summaries = []
    for walk_id, name, area, started_at, ended_at, device in rows:
        n, still_open = counts.get(walk_id, (0, 0))
        summaries.append(WalkSummary(walk_id, name, area, started_at, ended_at, device, n,
                                     still_open))  # fmt: skip
    return summaries


def list_walks(db: Database, *, area: str = "", q: str = "", page: int = 1,
               per_page: int = 25) -> WalkPage:  # fmt: skip
    """Walks newest first, filtered by area (exact, any case) and words in name or area."""
    clauses, params = [], []  # type: tuple[list[str], list[object]]
    if area.strip():
        clauses.append("lower(w.area) = lower(?)")
        params.append(area.strip())
    if q.strip():
        like = "%" + q.strip().replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_") + "%"
        clauses.append("(w.name LIKE ? ESCAPE '\\' OR w.area LIKE ? ESCAPE '\\')")
        params += [like, like]
    where = (" WHERE " + " AND ".join(clauses)) if clauses else ""
    conn = db.conn()
    total = int(conn.execute(f"SELECT COUNT(*) FROM walks w{where}", params).fetchone()[0])
    pages = max(1, -(-total // per_page))
    page = min(max(1, page), pages)
    rows = conn.execute(
        f"{_WALKS_SQL}{where} ORDER BY w.started_at DESC, w.id DESC LIMIT ? OFFSET ?",
        [*params, per_page, (page - 1) * per_page],
    ).fetchall()
    areas = [
        str(r[0])
        for r in conn.execute(
            "SELECT min(area) FROM walks WHERE trim(area) != '' GROUP BY lower(area)"
        )
    ]
    areas.sort(key=swedish_key)
    return WalkPage(_summaries(db, rows), total, page, pages, areas)


def get_walk(db: Database, walk_id: str) -> WalkSummary:
    """One walk with its counts; UnknownWalk if there is none with this id."""
    rows = db.conn().execute(f"{_WALKS_SQL} WHERE w.id = ?", [walk_id]).fetchall()
    if not rows:
        raise UnknownWalk(f"there is no walk {walk_id}")
    return _summaries(db, rows)[0]


def route_points(db: Database, walk_id: str) -> list[tuple[float, float]]:
    """The walk's track as (lat, lon) in time order, thinned evenly to MAX_ROUTE_POINTS."""
    rows = (
        db.conn()
        .execute(
            "SELECT latitude, longitude FROM track_points WHERE walk_id = ? ORDER BY t", [walk_id]
        )
        .fetchall()
    )
    if len(rows) > MAX_ROUTE_POINTS:
        step = len(rows) / MAX_ROUTE_POINTS
        rows = [rows[int(i * step)] for i in range(MAX_ROUTE_POINTS - 1)] + [rows[-1]]
    return [(float(lat), float(lon)) for lat, lon in rows]


def swedish_key(text: str) -> str:
    """A sort key that puts å, ä, ö after z, as a Swedish reader expects."""
    return text.casefold().translate(_SWEDISH_ORDER)


# ---- participants ---------------------------------------------------------------------------


@dataclass(frozen=True)
class Participant:
    id: int
    name: str
    organisation: str
    email: str
    added_at: str

    @property
    def label(self) -> str:
        """'Name (Organisation)', either alone, or the email when neither was given."""
        if self.name and self.organisation:
            return f"{self.name} ({self.organisation})"
        return self.name or self.organisation or self.email


def participants(db: Database, walk_id: str) -> list[Participant]:
    """The walk's participants in the order they were added."""
    rows = db.conn().execute(
        "SELECT id, name, organisation, email, added_at FROM walk_participants"
        " WHERE walk_id = ? ORDER BY id",
        [walk_id],
    )
    return [Participant(*r) for r in rows]


def clean_email(value: str) -> str:
    """The address to store (domain lower-case, IDNA-encoded); BadParticipant if unusable."""
    email = value.strip()
    if not email:
        raise BadParticipant("the email address is empty", "walks.error.email_missing")
    if len(email) > MAX_EMAIL:
        raise BadParticipant("the email address is too long", "walks.error.too_long",
                             field="email", n=MAX_EMAIL, length=len(email))  # fmt: skip
    local, at, domain = email.rpartition("@")
    try:
        domain = domain.encode("idna").decode("ascii").lower() if at else domain
    except UnicodeError:
        domain = ""
    candidate = f"{local}@{domain}"
    if not at or not _EMAIL.match(candidate) or ".." in candidate:
        raise BadParticipant(f"{email!r} is not an email address", "walks.error.email_bad",
                             email=email)  # fmt: skip
    return candidate


def add_participant(db: Database, walk_id: str, *, name: str, organisation: str, email: str,
                    now: datetime | None = None) -> bool:  # fmt: skip
    """Add a participant; False if the walk has one with this email already (nothing changes)."""
    name, organisation = " ".join(name.split()), " ".join(organisation.split())
    for label, value, limit in (("name", name, MAX_NAME), ("organisation", organisation,
                                                            MAX_ORGANISATION)):  # fmt: skip
        if len(value) > limit:
            raise BadParticipant(f"the {label} is too long", "walks.error.too_long",
                                 field=label, n=limit, length=len(value))  # fmt: skip
    address = clean_email(email)
    get_walk(db, walk_id)
    with db.write() as tx:
        cur = tx.execute(
            "INSERT OR IGNORE INTO walk_participants (walk_id, name, organisation, email,"
            " added_at) VALUES (?, ?, ?, ?, ?)",
            [walk_id, name, organisation, address, iso(now or utcnow())],
        )
        return cur.rowcount == 1


def remove_participant(db: Database, walk_id: str, participant_id: int) -> bool:
    """Remove a participant; False if there was none with this id (a second click)."""
    with db.write() as tx:
        cur = tx.execute(
            "DELETE FROM walk_participants WHERE walk_id = ? AND id = ?", [walk_id, participant_id]
        )
        return cur.rowcount == 1


# ---- the protocol ---------------------------------------------------------------------------


@dataclass(frozen=True)
class Entry:
    """One finding in the protocol."""

    number: int
    finding_id: str
    revision: int
    category: str
    severity: str
    note: str
    latitude: float
    longitude: float
    accuracy: float | None
    captured_at: str
    status: str
    priority: int
    priority_set: bool  # False: the default of its severity
    deadline: str  # a Swedish date, YYYY-MM-DD, or ''
    photos: tuple[str, ...]  # sha256 of the stored photos, in order
    photos_pending: int  # photos the finding names that have not been uploaded yet

    @property
    def position(self) -> str:
        """'59.27430, 15.20660 (±4 m)'."""
        accuracy = f" (±{self.accuracy:.0f} m)" if self.accuracy is not None else ""
        return f"{self.latitude:.5f}, {self.longitude:.5f}{accuracy}"


@dataclass(frozen=True)
class OwnerGroup:
    """The findings one owner is responsible for (owner_id None: to be assigned)."""

    owner_id: str | None
    owner_name: str
    entries: tuple[Entry, ...]


@dataclass(frozen=True)
class Protocol:
    walk: WalkSummary
    participants: tuple[Participant, ...]
    groups: tuple[OwnerGroup, ...]
    duplicates: int
    version: str = field(default="")
    # Disorder findings (drug dealing, gatherings) left out of the participants' version: they go
    # to the police/EST, and residents and volunteers walk too (see load_protocol).
    police_only: int = 0

    @property
    def entries(self) -> list[Entry]:
        """Every finding, in the protocol's order (by number)."""
        return [e for g in self.groups for e in g.entries]


_PROTOCOL_SQL = """
SELECT f.id, f.revision, f.category, f.severity, f.note, f.latitude, f.longitude, f.accuracy,
       f.captured_at, f.status, f.duplicate_of, ft.priority, a.deadline, a.owner_id,
       o.name AS owner_name
FROM findings f
LEFT JOIN assignments a ON a.finding_id = f.id
LEFT JOIN owners o ON o.id = a.owner_id
LEFT JOIN finding_tracking ft ON ft.finding_id = f.id
WHERE f.walk_id = ? AND ft.merged_into IS NULL
ORDER BY f.captured_at, f.id
"""


POLICE_ONLY = frozenset(c.code for c in CATEGORIES if c.owner_kind == "police")


def load_protocol(db: Database, walk_id: str, *, for_participants: bool = False) -> Protocol:
    """The walk's protocol as it stands now; UnknownWalk if there is no such walk.

    `for_participants`: the version emailed to everyone who walked. It leaves out the disorder
    findings (ORD), which only the police/EST handle: their notes and photos may point at people,
    and residents and volunteers are among the participants. Staff see them on the page.
    """
    walk = get_walk(db, walk_id)
    conn = db.conn()
    photos: dict[str, tuple[list[str], int]] = {}
    for fid, sha, stored in conn.execute(
        "SELECT fp.finding_id, fp.sha256, p.sha256 IS NOT NULL FROM finding_photos fp"
        " JOIN findings f ON f.id = fp.finding_id LEFT JOIN photos p ON p.sha256 = fp.sha256"
        " WHERE f.walk_id = ? ORDER BY fp.finding_id, fp.position",
        [walk_id],
    ):
        shas, pending = photos.get(fid, ([], 0))
        photos[fid] = (shas + [sha], pending) if stored else (shas, pending + 1)
    by_owner: dict[str | None, tuple[str, list[dict[str, Any]]]] = {}
    duplicates = police_only = 0
    for row in conn.query(_PROTOCOL_SQL, [walk_id]):
        if row["duplicate_of"] is not None:
            duplicates += 1
            continue
        if for_participants and row["category"] in POLICE_ONLY:
            police_only += 1
            continue
        by_owner.setdefault(row["owner_id"], (row["owner_name"] or "", []))[1].append(row)
    # Owners by name (Swedish order), "to be assigned" last; inside a group: priority, then time.
    order = sorted(by_owner, key=lambda o: (o is None, swedish_key(by_owner[o][0]), o or ""))
    groups, number = [], 0
    for owner_id in order:
        name, rows = by_owner[owner_id]
        entries = []
        for row in sorted(rows, key=lambda r: (_priority(r)[0], str(r["captured_at"]), r["id"])):
            try:
                entry = _entry(row, number + 1, photos)
            except Exception:  # one finding's odd data must not cost the walk its protocol
                log.exception("walk protocol of %s: finding %s left out", walk_id, row["id"])
                continue
            number += 1
            entries.append(entry)
        groups.append(OwnerGroup(owner_id, name, tuple(entries)))
    protocol = Protocol(walk, tuple(participants(db, walk_id)), tuple(groups), duplicates,
                        police_only=police_only)  # fmt: skip
    return replace(protocol, version=_version(protocol))


def _entry(row: dict[str, Any], number: int, photos: dict[str, tuple[list[str], int]]) -> Entry:
    shas, pending = photos.get(row["id"], ([], 0))
    priority, chosen = _priority(row)
    return Entry(
        number=number,
        finding_id=row["id"],
        revision=int(row["revision"]),
        category=row["category"],
        severity=row["severity"],
        note=(row["note"] or "").strip(),
        latitude=float(row["latitude"]),
        longitude=float(row["longitude"]),
        accuracy=row["accuracy"],
        captured_at=row["captured_at"],
        status=row["status"],
        priority=priority,
        priority_set=chosen,
        deadline=local_day(row["deadline"]) if row["deadline"] else "",
        photos=tuple(shas),
        photos_pending=pending,
    )


def _priority(row: dict[str, Any]) -> tuple[int, bool]:
    chosen = str(row["priority"] or "")
    if chosen in ("1", "2", "3"):
        return int(chosen), True
    return int(default_priority(row["severity"], row["category"])), False


def _version(protocol: Protocol) -> str:
    """A short hash of what the protocol says (not of who receives it)."""
    walk = protocol.walk
    state = {
        "walk": [walk.name, walk.area, walk.started_at, walk.ended_at],
        "duplicates": protocol.duplicates,
        "police_only": protocol.police_only,
        "groups": [
            [g.owner_id, g.owner_name, [[e.finding_id, e.revision, e.status, e.priority,
              e.deadline, list(e.photos), e.photos_pending] for e in g.entries]]
            for g in protocol.groups
        ],
    }  # fmt: skip
    text = json.dumps(state, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    return hashlib.sha256(text.encode()).hexdigest()[:16]

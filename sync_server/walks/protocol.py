"""A walk's protocol: the walk's findings grouped by who must fix them.

The protocol is the method's third step (Boverket/Brå, "uppföljning"): every finding of the walk
under the owner responsible for it (assignments.owner_id -> owners.name; a finding with no owner
yet, or not routed yet, is under "to be assigned", last), each with its photos, priority, deadline
and status, numbered in that order (the maps use the same numbers). Findings merged into another
(finding_tracking.merged_into) are left out, as everywhere in the workspace; findings the walker
marked as the same thing as an earlier one (findings.duplicate_of) are left out and counted.

Priority: finding_tracking.priority if the coordinator set one, else the policy's
`default_priority` (sync_server.owners.policy) of the finding's severity and category.
`Protocol.version` is a hash of everything the protocol says, so that sending it twice sends
nothing new and any change sends the new version (sync_server.walks.mail).

The walk itself comes from `walks.listing` (UnknownWalk if there is none), its participants from
`walks.participants`.
"""

from __future__ import annotations

import hashlib
import json
import logging
from dataclasses import dataclass, field, replace
from typing import Any

from sync_server.core.db import Database
from sync_server.core.time import local_day
from sync_server.owners.policy import default_priority
from sync_server.walks.listing import WalkSummary, get_walk, swedish_key
from sync_server.walks.participants import Participant, participants
from walkaudit.categories import CATEGORIES

log = logging.getLogger(__name__)


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

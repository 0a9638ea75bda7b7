"""Routing's writes: the routing pass, the coordinator's choice of owner, and the triage list.

`route_pending` asks the `Router` (sync_server.owners.router) where each new finding goes and
stores the answer as its assignment, with the deadline of the policy (sync_server.owners.policy).
`set_owner` is the coordinator's choice, `reroute_to_triage` an owner's "not ours"; `triage`
lists what waits on the coordinator: findings without an owner and what a pass set aside.

Isolation: `route_pending` routes one finding at a time. A finding whose capture time is
impossible (unreadable, before 2000, or more than a day ahead of the server's clock: a phone's
clock, not a walk, made it) is not routed but set aside (sync_server.core.set_aside, reason
'bad_time'): a deadline counted from it would be nonsense, and the coordinator should look at it.
Any other error for one finding sets it aside too (reason 'error', logged once with its
traceback); every other finding is routed in the same pass. `deadline` itself never fails: from
an impossible capture time it counts from today, so the coordinator can still route such a
finding by hand.

Errors (sync_server.owners.errors): RoutingError and its UnknownFinding, NoContact, WrongOwner,
BadCaptureTime; `set_owner` also raises UnknownOwner.
"""

from __future__ import annotations

import logging
import math
import sqlite3
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import sqlite_utils

from sync_server.core import set_aside
from sync_server.core.db import Database
from sync_server.core.history import add_server_event
from sync_server.core.time import iso
from sync_server.owners.errors import (
    BadCaptureTime,
    NoContact,
    RoutingError,
    UnknownFinding,
    UnknownOwner,
    WrongOwner,
)
from sync_server.owners.policy import capture_day, deadline
from sync_server.owners.router import Route, Router, RouterCache
from walkaudit.model import EventKind, utcnow

__all__ = [  # what callers reach as `routing.X`, some of it at home in errors, policy, router
    "BATCH", "PENDING", "BadCaptureTime", "NoContact", "Route", "Router", "RouterCache",
    "RoutingError", "TriageItem", "UnknownFinding", "WrongOwner", "capture_day", "deadline",
    "reroute_to_triage", "route_pending", "set_owner", "triage",
]  # fmt: skip

log = logging.getLogger(__name__)

BATCH = 500  # findings per write transaction in route_pending


@dataclass(frozen=True)
class TriageItem:
    finding_id: str  # '' for a set-aside item that is not a finding (the weekly summary)
    category: str
    severity: str
    latitude: float
    longitude: float
    reason: str  # routing's reason; for a set-aside item set_aside's (bad_time, error)
    detail: str
    deadline: str | None
    routed_at: str  # for a set-aside item: when it was set aside
    set_aside: str | None = None  # the pass that set it aside (routing, report, …), if one did
    item: str = ""  # the set-aside item's key (a finding id, or the summary's week)


# A finding the coordinator planned (a deadline) before the routing pass reached it holds an
# assignment with this reason and no owner: the pass still routes it, and keeps that deadline.
PENDING = "pending"

_INSERT_ROUTE = (
    "INSERT INTO assignments (finding_id, owner_id, email, reason, detail,"
    " deadline, routed_at) VALUES (?, ?, ?, ?, ?, ?, ?) ON CONFLICT (finding_id)"
    " DO UPDATE SET owner_id = excluded.owner_id, email = excluded.email,"
    " reason = excluded.reason, detail = excluded.detail,"
    f" routed_at = excluded.routed_at WHERE assignments.reason = '{PENDING}'"
)


def route_pending(
    db: Database,
    router: Router | None = None,
    now: datetime | None = None,
    held: list[str] | None = None,
) -> int:
    """Assign every finding that has no assignment yet (or only a coordinator's planned
    deadline) and is not set aside; returns how many were assigned now. One that cannot be
    routed is set aside (see the module docstring; described in `held` if given) and the
    others are routed all the same."""
    now = now or utcnow()
    stamp, routed, after = iso(now), 0, ""
    while True:
        rows = (
            db.conn()
            .execute(
                "SELECT id, category, severity, latitude, longitude, captured_at FROM findings f"
                " WHERE id > ? AND NOT EXISTS (SELECT 1 FROM assignments a WHERE finding_id = f.id"
                " AND a.reason != ?) AND NOT EXISTS (SELECT 1 FROM set_aside s"
                " WHERE s.step = 'routing' AND s.item = f.id) ORDER BY id LIMIT ?",
                [after, PENDING, BATCH],
            )
            .fetchall()
        )
        if not rows:
            return routed
        router = router or Router.from_db(db)  # built only when there is something to route
        after = rows[-1][0]
        values, problems = [], []
        for row in rows:
            try:
                values.append(_route_one(router, row, stamp))
            except BadCaptureTime as exc:
                problems.append((row[0], "bad_time", exc.message))
                log.warning("routing: finding %s set aside: %s", row[0], exc.message)
            except Exception as exc:  # one finding's data must not stop the others
                if set_aside.environmental(exc):
                    raise
                problems.append((row[0], "error", f"{type(exc).__name__}: {exc}"))
                log.exception("routing: finding %s set aside", row[0])
        routed += _store_routes(db, values, problems, now)
        if held is not None:
            held += [f"finding {fid}: {detail}" for fid, _, detail in problems]


def _route_one(router: Router, row: Sequence[Any], stamp: str) -> tuple[object, ...]:
    fid, category, severity, lat, lon, captured_at = row
    # Against the server's real clock, not the pass's `now` (which tests may set back).
    capture_day(str(captured_at))  # BadCaptureTime: set aside, not routed
    r = router.route(float(lat), float(lon), str(category))
    return (fid, r.owner_id, r.email, r.reason, r.detail,
            deadline(str(severity), str(captured_at), str(category)), stamp)  # fmt: skip


def _store_routes(db: Database, values: list[tuple[object, ...]],
                  held: list[tuple[str, str, str]], now: datetime) -> int:  # fmt: skip
    """Write a batch of routes and holds in one transaction; if the database refuses one row,
    each on its own, so that only that one is set aside."""
    # A row routed meanwhile (another process) is kept; a coordinator's planned deadline too.
    try:
        with db.write() as tx:
            for fid, reason, detail in held:
                set_aside.hold(tx, "routing", fid, reason, detail, now=now)
            return int(tx.conn.executemany(_INSERT_ROUTE, values).rowcount)
    except sqlite3.IntegrityError:
        pass
    routed = 0
    for fid, reason, detail in held:
        set_aside.hold(db, "routing", fid, reason, detail, now=now)
    for value in values:
        try:
            with db.write() as tx:
                routed += tx.execute(_INSERT_ROUTE, value).rowcount
        except sqlite3.IntegrityError as exc:
            log.error("routing: finding %s set aside: %s", value[0], exc)
            set_aside.hold(db, "routing", str(value[0]), "error", f"database: {exc}", now=now)
    return routed


def reroute_to_triage(
    db: Database | sqlite_utils.Database, finding_id: str, reason: str = "not_ours",
    detail: str = "", now: datetime | None = None,
) -> None:  # fmt: skip
    """Put a finding on the triage list (owner NULL), keeping its deadline.

    Pass a transaction (`with db.write() as tx`) to make it part of the caller's change, e.g.
    with the owner's "not ours" event: this function records no event itself.
    """
    with _transaction(db) as tx:
        row = tx.execute(
            "SELECT f.severity, f.captured_at, o.name, f.category FROM findings f"
            " LEFT JOIN assignments a ON a.finding_id = f.id"
            " LEFT JOIN owners o ON o.id = a.owner_id WHERE f.id = ?",
            [finding_id],
        ).fetchone()
        if row is None:
            raise UnknownFinding(f"there is no finding {finding_id}")
        severity, captured_at, previous, category = row
        detail = f"{detail} (was with {previous})" if previous else detail
        tx.execute(
            "INSERT INTO assignments (finding_id, owner_id, email, reason, detail, deadline,"
            " routed_at) VALUES (?, NULL, NULL, ?, ?, ?, ?) ON CONFLICT (finding_id) DO UPDATE"
            " SET owner_id = NULL, email = NULL, reason = excluded.reason,"
            " detail = excluded.detail, routed_at = excluded.routed_at",
            [
                finding_id,
                reason,
                detail,
                deadline(severity, captured_at, category),
                iso(now or utcnow()),
            ],
        )


def set_owner(db: Database, finding_id: str, owner_id: str, note: str = "",
              now: datetime | None = None) -> Route:  # fmt: skip
    """The coordinator's choice (reason 'manual'); a finding taken from an owner is 'rerouted'."""
    with db.write() as tx:
        finding = tx.execute(
            "SELECT f.category, f.severity, f.captured_at, a.owner_id, a.reason FROM findings f"
            " LEFT JOIN assignments a ON a.finding_id = f.id WHERE f.id = ?",
            [finding_id],
        ).fetchone()
        if finding is None:
            raise UnknownFinding(f"there is no finding {finding_id}")
        category, severity, captured_at, previous, previous_reason = finding
        owner = tx.execute("SELECT name, kind, email FROM owners WHERE id = ?", [owner_id])
        name, kind, email = owner.fetchone() or (None, None, None)
        if name is None:
            raise UnknownOwner(f"there is no owner {owner_id}; see `owners list`")
        if category == "ORD" and kind == "owner":
            raise WrongOwner(f"{name} is a property owner: ORD (disorder) goes to the police/EST")
        contact = tx.execute("SELECT email FROM owner_contacts WHERE owner_id = ? AND category = ?",
                             [owner_id, category]).fetchone()  # fmt: skip
        email = contact[0] if contact else email
        if not email:
            raise NoContact(f"{name} has no email address for {category}; import one first")
        route = Route(
            owner_id, email, "manual", "chosen by the coordinator" + f": {note}" * bool(note)
        )
        tx.execute(
            "INSERT INTO assignments (finding_id, owner_id, email, reason, detail, deadline,"
            " routed_at) VALUES (?, ?, ?, 'manual', ?, ?, ?) ON CONFLICT (finding_id) DO UPDATE"
            " SET owner_id = excluded.owner_id, email = excluded.email, reason = 'manual',"
            " detail = excluded.detail, routed_at = excluded.routed_at",
            [finding_id, owner_id, email, route.detail, deadline(severity, captured_at, category),
             iso(now or utcnow())],
        )  # fmt: skip
        # Chosen by hand: routing has nothing left to try, and a report to this owner may go.
        for step in ("routing", "report"):
            set_aside.release_finding(tx, finding_id, step)
        if (previous or previous_reason == "not_ours") and previous != owner_id:
            # It was with an owner: its status goes back to received, to be sent to the new one.
            add_server_event(tx, finding_id, EventKind.REROUTED, note=f"to {name}")
    return route


def triage(db: Database) -> list[TriageItem]:
    """The coordinator's triage list: what a background pass set aside (first, newest first),
    then every routed finding without an owner that someone must still act on, by deadline."""
    return _set_aside_items(db) + _unassigned(db)


def _unassigned(db: Database) -> list[TriageItem]:
    # Not what is closed, verified or merged into another finding: nobody has to act on those.
    rows = db.conn().execute(
        "SELECT f.id, f.category, f.severity, f.latitude, f.longitude, a.reason, a.detail,"
        " a.deadline, a.routed_at FROM assignments a JOIN findings f ON f.id = a.finding_id"
        " WHERE a.owner_id IS NULL AND a.reason != ? AND f.status NOT IN ('verified', 'closed')"
        " AND f.id NOT IN (SELECT finding_id FROM finding_tracking WHERE merged_into IS NOT NULL)"
        " AND f.id NOT IN (SELECT finding_id FROM set_aside WHERE finding_id IS NOT NULL)"
        " ORDER BY a.deadline, a.routed_at, f.id",
        [PENDING],
    )
    return [TriageItem(*row) for row in rows]


# A finding closed (or merged away) blocks nothing and needs nobody: it leaves the list, and no
# pass takes it up again (routing would route it, but reports skip what is done).
_SET_ASIDE_SQL = """
SELECT s.step, s.item, s.reason, s.detail, s.at, f.id, f.category, f.severity, f.latitude,
       f.longitude, a.deadline
FROM set_aside s
LEFT JOIN findings f ON f.id = s.finding_id
LEFT JOIN assignments a ON a.finding_id = s.finding_id
LEFT JOIN finding_tracking ft ON ft.finding_id = s.finding_id
WHERE s.finding_id IS NULL
   OR (f.status NOT IN ('verified', 'closed') AND ft.merged_into IS NULL)
ORDER BY s.at DESC, s.step, s.item
"""


def _set_aside_items(db: Database) -> list[TriageItem]:
    items = []
    for step, item, reason, detail, at, fid, category, severity, lat, lon, due in (
        db.conn().execute(_SET_ASIDE_SQL).fetchall()
    ):
        items.append(TriageItem(fid or "", category or "", severity or "", _number(lat),
                                _number(lon), reason, detail, due, at, step, item))  # fmt: skip
    return items


def _number(value: object) -> float:
    """A stored coordinate as a float (NaN if the row holds something else: the page shows
    what it can)."""
    try:
        return float(value)  # type: ignore[arg-type]
    except (TypeError, ValueError):
        return math.nan


@contextmanager
def _transaction(db: Database | sqlite_utils.Database) -> Iterator[sqlite_utils.Database]:
    if isinstance(db, Database):
        with db.write() as tx:
            yield tx
    else:
        yield db  # the caller's transaction

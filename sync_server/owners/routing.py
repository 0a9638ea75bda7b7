"""Routing: a finding's position and category -> the owner who can fix it, or the triage list.

`Router.route(lat, lon, category)`, in order:
  1. OVR (to be sorted) -> triage, reason 'triage'; an unknown code -> 'unknown_category'.
  2. ORD (disorder) -> the police: a police area containing the pin, else the police owner for
     all of Sweden (if the pin is in a municipality). Never a property owner.
  3. A property owner's area containing the pin, unless its `categories` exclude the category.
  4. The municipality containing the pin.
  5. Nothing (abroad, the sea, the big lakes and the gaps the simplified boundaries leave) ->
     triage 'no_match', the detail naming the nearest municipality and its distance.
The chosen owner's contact for the category, else its email; neither -> triage 'no_contact'.

Boundaries: a pin within `boundary_m` (15 m) of another owner goes to triage ('boundary', the
detail names the candidates and distances) instead of a guess. Among property areas the other
side may be "no property" (then the municipality): a pin inside an area but 10 m from its edge is
a boundary case. Among municipalities (and police areas) only two owners count: a coast or the
national border is no one's. The bundled municipal boundaries are simplified (~2 %) and off by up
to hundreds of metres, so the 15 m rule rarely fires there and cannot catch those errors; a band
that wide would put whole border neighbourhoods on triage. Property polygons, which are accurate,
win over municipalities anyway, and the coordinator corrects the rest with `set_owner`.

Distances: "within 15 m" is intersection with a 64-gon inscribed in the 15 m circle, drawn in a
local equirectangular frame at the pin (metres per degree from the WGS 84 meridian and
prime-vertical radii at its latitude): exact to millimetres at that size at any Swedish latitude;
the 64-gon reaches 2 cm short. One shapely STRtree indexes every area; `RouterCache` rebuilds
it only when `owners.registry_version` changes.

Isolation: `route_pending` routes one finding at a time. A finding whose capture time is
impossible (unreadable, before 2000, or more than a day ahead of the server's clock: a phone's
clock, not a walk, made it) is not routed but set aside (sync_server.core.set_aside, reason
'bad_time'): a deadline counted from it would be nonsense, and the coordinator should look at it.
Any other error for one finding sets it aside too (reason 'error', logged once with its
traceback); every other finding is routed in the same pass. `deadline` itself never fails: from
an impossible capture time it counts from today, so the coordinator can still route such a
finding by hand.

    RoutingError (ServerError)
     ├── UnknownFinding   no finding with this id
     ├── NoContact        set_owner: the chosen owner has no email for the category
     ├── WrongOwner       set_owner: ORD (disorder) to a property owner
     └── BadCaptureTime   capture_day: a capture time no deadline can be counted from
`set_owner` also raises `owners.UnknownOwner`.
"""

from __future__ import annotations

import json
import logging
import math
import sqlite3
import threading
from collections.abc import Iterable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Any, NamedTuple

import numpy as np
import shapely
import sqlite_utils

from sync_server.core import set_aside
from sync_server.core.db import Database, iso, parse_iso
from sync_server.core.errors import ServerError
from sync_server.core.history import add_server_event
from sync_server.core.time import SWEDEN
from sync_server.owners.registry import UnknownOwner, ensure_municipalities, registry_version
from walkaudit.categories import CODES, FELT_UNSAFE, NOT_A_DEFECT
from walkaudit.model import EventKind, utcnow

log = logging.getLogger(__name__)

BOUNDARY_M = 15.0
BATCH = 500  # findings per write transaction in route_pending
# Days from capture to the fix-by date, per severity (practice: 6-12 months; urgent: weeks).
DEADLINE_DAYS = {"urgent": 14, "high": 90, "medium": 180, "low": 365}
# A capture time outside [EARLIEST_CAPTURE, now + CLOCK_SKEW] is a phone's clock, not a walk.
EARLIEST_CAPTURE = date(2000, 1, 1)
CLOCK_SKEW = timedelta(days=1)
_A, _E2 = 6_378_137.0, 6.694_379_990_14e-3  # WGS 84 semi-major axis, first eccentricity²
_ANGLES = np.linspace(0, 2 * np.pi, 65)
_CIRCLE = np.column_stack([np.cos(_ANGLES), np.sin(_ANGLES)])


class RoutingError(ServerError):
    """Base of routing's refusals."""


class UnknownFinding(RoutingError):
    """No finding has this id."""


class NoContact(RoutingError):
    """The owner has no email address for this finding's category."""


class WrongOwner(RoutingError):
    """This kind of owner may not receive this category."""


class BadCaptureTime(RoutingError):
    """A capture time that is unreadable or outside what a walk can have produced."""


@dataclass(frozen=True)
class Route:
    owner_id: str | None  # None: on the coordinator's triage list
    email: str | None
    reason: str  # property, municipality, police | triage, boundary, no_match, no_contact, …
    detail: str


@dataclass(frozen=True)
class Owner:
    id: str
    name: str
    kind: str
    email: str
    contacts: Mapping[str, str]


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


class _Match(NamedTuple):
    owner: str | None  # set: a clean match
    hits: list[tuple[int, bool]]  # (area, pin inside) of the tier near the pin
    nobody: bool = False  # a boundary between `hits`' one owner and no one


class Router:
    """Point-in-polygon routing over all owner areas, with a spatial index built once."""

    def __init__(
        self, owners: Iterable[Owner], areas: Sequence[tuple[str, str, Sequence[str] | None,
        shapely.Geometry]], *, version: object = None, boundary_m: float = BOUNDARY_M,
    ) -> None:  # fmt: skip
        """`areas`: (owner id, label, categories or None for all, polygon in lon/lat)."""
        self._owners = {o.id: o for o in owners}
        self._geoms = np.array([a[3] for a in areas], dtype=object)
        shapely.prepare(self._geoms)  # contains/intersects per lookup then use GEOS's indexes
        self._owner = [a[0] for a in areas]
        self._label = [a[1] for a in areas]
        self._cats = [frozenset(a[2]) if a[2] else None for a in areas]
        self._kind = [self._owners[o].kind for o in self._owner]
        self._tree = shapely.STRtree(self._geoms)
        self._munis = np.array([i for i, k in enumerate(self._kind) if k == "municipality"], int)
        self._muni_tree = shapely.STRtree(self._geoms[self._munis])
        placed = set(self._owner)
        self._all_sweden = sorted(o.id for o in self._owners.values()
                                  if o.kind == "police" and o.id not in placed)  # fmt: skip
        # GEOS's prepared geometries are not thread-safe (libgeos/geos#825) and shapely releases
        # the GIL in predicates: one Router shared by the request threads and the report loop
        # must not query them concurrently. A lookup holds the lock for ~0.1 ms.
        self._lock = threading.Lock()
        self.version = version
        self.boundary_m = boundary_m

    @classmethod
    def from_db(cls, db: Database) -> Router:
        """A router over the registry as it is now (loading the municipalities on first use)."""
        ensure_municipalities(db)
        version = registry_version(db)  # read first: a change meanwhile only means a rebuild
        conn = db.conn()
        contacts: dict[str, dict[str, str]] = {}
        for owner_id, code, email in conn.execute("SELECT * FROM owner_contacts"):
            contacts.setdefault(owner_id, {})[code] = email
        owners = [Owner(i, n, k, e, contacts.get(i, {})) for i, n, k, e in
                  conn.execute("SELECT id, name, kind, email FROM owners")]  # fmt: skip
        rows = conn.execute(
            "SELECT owner_id, feature, categories, geojson FROM owner_areas ORDER BY id"
        ).fetchall()
        geoms = shapely.from_geojson([r[3] for r in rows]) if rows else []
        areas = [(r[0], r[1], json.loads(r[2]) if r[2] else None, g)
                 for r, g in zip(rows, geoms, strict=True)]  # fmt: skip
        return cls(owners, areas, version=version)

    def route(self, lat: float, lon: float, category: str) -> Route:
        """Where a finding of this category at this point goes."""
        code = category.strip().upper()
        if code not in CODES:
            return Route(None, None, "unknown_category", f"{category!r} is not a category code")
        if code == "OVR":
            return Route(None, None, "triage", "OVR (to be sorted): the coordinator sorts it")
        if not (math.isfinite(lat) and math.isfinite(lon) and abs(lat) <= 90 and abs(lon) <= 180):
            return Route(None, None, "no_match", f"({lat}, {lon}) is not a latitude/longitude")
        with self._lock:
            return self._route(lat, lon, code)

    def _route(self, lat: float, lon: float, code: str) -> Route:
        disk = self._disk(lat, lon)
        tiers: dict[str, list[tuple[int, bool]]] = {"owner": [], "municipality": [], "police": []}
        for i, inside in self._hits(lat, lon, disk):
            if self._cats[i] is None or code in self._cats[i]:  # type: ignore[operator]
                tiers[self._kind[i]].append((i, inside))
        if code == "ORD":
            found = self._outcome(self._match(tiers["police"], disk), "police", code, lat, lon)
            if found:
                return found
            if not any(inside for _, inside in tiers["municipality"]):
                return self._no_match(lat, lon)
            if len(self._all_sweden) != 1:
                names = ", ".join(self._owners[o].name for o in self._all_sweden) or "none"
                return Route(None, None, "no_contact", "no police/EST owner covers this point "
                             f"(police owners for all of Sweden: {names})")  # fmt: skip
            return self._deliver(self._all_sweden[0], code, "police", "police/EST for Sweden")
        found = self._outcome(
            self._match(tiers["owner"], disk, strict=True), "property", code, lat, lon
        ) or self._outcome(self._match(tiers["municipality"], disk), "municipality", code, lat, lon)
        return found or self._no_match(lat, lon)

    def _hits(self, lat: float, lon: float, disk: shapely.Geometry) -> list[tuple[int, bool]]:
        """(area, pin inside) for every area within boundary_m of the pin."""
        index = self._tree.query(disk)
        if not len(index):
            return []
        geoms = self._geoms[index]
        near = shapely.intersects(geoms, disk)
        inside = shapely.contains_xy(geoms, lon, lat)
        return [(int(i), bool(c)) for i, n, c in zip(index, near, inside, strict=True) if n]

    def _match(self, hits: list[tuple[int, bool]], disk: shapely.Geometry,
               strict: bool = False) -> _Match:  # fmt: skip
        """One owner cleanly, a boundary between owners, or nothing (hits == [])."""
        near = {self._owner[i] for i, _ in hits}
        if len(near) > 1:
            return _Match(None, hits)
        if not near:
            return _Match(None, [])
        if not any(inside for _, inside in hits):
            return _Match(None, hits, nobody=True) if strict else _Match(None, [])
        geoms = self._geoms[[i for i, _ in hits]]
        # strict: the 15 m disk must lie in this owner's areas, or "no property" is within 15 m.
        if strict and not (shapely.covers(geoms, disk).any() or
                           shapely.covers(shapely.union_all(geoms), disk)):  # fmt: skip
            return _Match(None, hits, nobody=True)
        return _Match(near.pop(), hits)

    def _outcome(self, match: _Match, reason: str, code: str, lat: float,
                 lon: float) -> Route | None:  # fmt: skip
        if match.owner is not None:
            area = next(self._label[i] for i, inside in match.hits if inside)
            name = self._owners[match.owner].name
            return self._deliver(match.owner, code, reason, f"in {name}'s area {area}")
        if not match.hits:
            return None
        parts = []
        for owner in sorted({self._owner[i] for i, _ in match.hits}):
            mine = [(self._edge_m(i, lat, lon), inside) for i, inside in match.hits
                    if self._owner[i] == owner]  # fmt: skip
            metres, inside = min(mine)
            where = f"inside, {metres:.1f} m from its edge" if inside else f"{metres:.1f} m away"
            parts.append(f"{self._owners[owner].name} ({where})")
        if match.nobody:
            parts.append("no property owner (the municipality)")
        between = " and ".join(parts)
        return Route(None, None, "boundary", f"within {self.boundary_m:g} m of: {between}")

    def _deliver(self, owner_id: str, code: str, reason: str, detail: str) -> Route:
        owner = self._owners[owner_id]
        email = owner.contacts.get(code) or owner.email
        if not email:
            missing = f"{owner.name} ({owner.kind}) has no email address for {code} ({detail})"
            return Route(None, None, "no_contact", f"{missing}; import one with `owners import`")
        via = f"; {code} contact" if owner.contacts.get(code) else ""
        return Route(owner_id, email, reason, detail + via)

    def _no_match(self, lat: float, lon: float) -> Route:
        detail = "no owner's area and no municipality contains this point"
        if len(self._munis):
            i = int(self._munis[self._muni_tree.nearest(shapely.Point(lon, lat))])
            name, metres = self._owners[self._owner[i]].name, self._edge_m(i, lat, lon)
            detail += f"; nearest municipality: {name}, {metres / 1000:.1f} km"
        return Route(None, None, "no_match", detail)

    def _disk(self, lat: float, lon: float) -> shapely.Geometry:
        mx, my = metres_per_degree(lat)
        return shapely.polygons(_CIRCLE * (self.boundary_m / mx, self.boundary_m / my) + (lon, lat))

    def _edge_m(self, area: int, lat: float, lon: float) -> float:
        """Metres from the pin to the area's edge, in the local frame around the pin."""
        mx, my = metres_per_degree(lat)
        local = shapely.transform(self._geoms[area], lambda xy: (xy - (lon, lat)) * (mx, my))
        return float(shapely.distance(local.boundary, shapely.Point(0, 0)))


def metres_per_degree(lat: float) -> tuple[float, float]:
    """Metres per degree of longitude and of latitude at this latitude (WGS 84 ellipsoid)."""
    phi = math.radians(lat)
    w = math.sqrt(1 - _E2 * math.sin(phi) ** 2)
    return math.radians(_A * math.cos(phi) / w), math.radians(_A * (1 - _E2) / w**3)


class RouterCache:
    """The current Router of one database, rebuilt only when the registry changed (one per app)."""

    def __init__(self, db: Database) -> None:
        self._db = db
        self._router: Router | None = None
        self._lock = threading.Lock()

    def get(self) -> Router:
        """The router for the registry as it is now."""
        with self._lock:
            if self._router is None or self._router.version != registry_version(self._db):
                self._router = Router.from_db(self._db)
            return self._router


_STEPS = ("urgent", "high", "medium", "low")


def capture_day(captured_at: str, now: datetime | None = None) -> date:
    """The Swedish date a finding was captured; BadCaptureTime if the time is unreadable,
    before 2000 or more than CLOCK_SKEW ahead of `now` (what a device's clock, not a walk,
    produced: the year 9999 does not fit a date plus a deadline)."""
    now = now or utcnow()
    impossible = BadCaptureTime(
        f"capture time {captured_at} is impossible: before {EARLIEST_CAPTURE.year} or "
        f"later than {CLOCK_SKEW.days} day after the server's clock"
    )
    try:
        moment = parse_iso(str(captured_at))
        if moment.tzinfo is None:
            raise ValueError("it has no time zone")
        day = moment.astimezone(SWEDEN).date()
    except OverflowError:  # the last instant of 9999 in UTC is the year 10000 in Sweden
        raise impossible from None
    except (ValueError, TypeError) as exc:
        raise BadCaptureTime(f"capture time {captured_at!r} cannot be read ({exc})") from None
    if not EARLIEST_CAPTURE <= day <= (now + CLOCK_SKEW).astimezone(SWEDEN).date():
        raise impossible
    return day


def deadline(
    severity: str, captured_at: str, category: str = "", now: datetime | None = None
) -> str:
    """The fix-by date: the Swedish date of capture plus DEADLINE_DAYS[severity], ISO; one step
    sooner for the categories where people feel least safe, never urgent for a positive one.

    From an impossible capture time (see `capture_day`) it counts from today: a coordinator
    who routes such a finding by hand gets a real date, never an error."""
    try:
        day = capture_day(captured_at, now)
    except BadCaptureTime:
        day = (now or utcnow()).astimezone(SWEDEN).date()
    step = _STEPS.index(severity) if severity in _STEPS else _STEPS.index("medium")
    if category in FELT_UNSAFE:
        step = max(0, step - 1)
    elif category in NOT_A_DEFECT:
        step = len(_STEPS) - 1
    return (day + timedelta(days=DEADLINE_DAYS[_STEPS[step]])).isoformat()


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

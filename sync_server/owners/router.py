"""The router: a finding's position and category -> the owner who can fix it, or the triage list.

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

The router only decides; `owners.routing` writes its decisions (the routing pass, the
coordinator's choice, the triage list).
"""

from __future__ import annotations

import json
import math
import threading
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import NamedTuple

import numpy as np
import shapely

from sync_server.core.db import Database
from sync_server.owners.municipalities import ensure_municipalities
from sync_server.owners.registry import registry_version
from walkaudit.categories import CODES

BOUNDARY_M = 15.0
_A, _E2 = 6_378_137.0, 6.694_379_990_14e-3  # WGS 84 semi-major axis, first eccentricity²
_ANGLES = np.linspace(0, 2 * np.pi, 65)
_CIRCLE = np.column_stack([np.cos(_ANGLES), np.sin(_ANGLES)])


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

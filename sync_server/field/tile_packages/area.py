"""A package's area: the box a walk covers, the slippy-map tiles over it, and what they weigh.

Pure arithmetic, no I/O: `check_box` says (as a sentence) why a box cannot be a package, `plan`
lists the tiles at zoom MIN_ZOOM..MAX_ZOOM, and `estimate_bytes` is what a request is refused
for before anything is fetched. The rounding (ROUND) is what makes two requests the same package.
"""

from __future__ import annotations

import math
from collections.abc import Iterator
from dataclasses import dataclass

from sync_server.field.tile_packages.errors import BadArea

MIN_ZOOM, MAX_ZOOM = 12, 18
MAX_LATITUDE = 85.0  # Web Mercator ends at ±85.05°; beyond it there are no tiles
MAX_AREA_KM2 = 25.0  # a walk covers a neighbourhood, not a town
# What one tile weighs for the estimate: a town's raster tiles are 15–40 KB at z16–18 and far
# less at low zooms, where a package has few tiles anyway.
ESTIMATED_TILE_BYTES = 20_000
ROUND = 4  # decimals of the box that make a package's identity (~10 m)
EARTH_RADIUS_KM = 6371.0088

Tile = tuple[int, int, int]  # z, x, y (y from the north, as in the source's URLs)


@dataclass(frozen=True)
class Box:
    """A WGS84 box in degrees."""

    south: float
    west: float
    north: float
    east: float

    def rounded(self) -> Box:
        """The box as a package knows it: each edge to ROUND decimals."""
        return Box(*(round(v, ROUND) for v in (self.south, self.west, self.north, self.east)))

    @property
    def area_km2(self) -> float:
        """The area on the sphere: R² · Δλ · (sin φn − sin φs)."""
        band = math.sin(math.radians(self.north)) - math.sin(math.radians(self.south))
        return EARTH_RADIUS_KM**2 * math.radians(self.east - self.west) * band

    @property
    def bounds(self) -> list[float]:
        """[west, south, east, north], as MBTiles and the API give them."""
        return [self.west, self.south, self.east, self.north]


@dataclass(frozen=True)
class TileRange:
    """The tiles of one zoom level that cover a box: columns x0..x1, rows y0..y1 (inclusive)."""

    z: int
    x0: int
    x1: int
    y0: int
    y1: int

    @property
    def count(self) -> int:
        return (self.x1 - self.x0 + 1) * (self.y1 - self.y0 + 1)

    def tiles(self) -> Iterator[Tile]:
        for x in range(self.x0, self.x1 + 1):
            for y in range(self.y0, self.y1 + 1):
                yield self.z, x, y


def tile_x(lon: float, z: int) -> int:
    """The slippy-map column of a longitude at zoom z."""
    n = 2**z
    return min(n - 1, max(0, math.floor((lon + 180.0) / 360.0 * n)))


def tile_y(lat: float, z: int) -> int:
    """The slippy-map row (from the north) of a latitude at zoom z."""
    n = 2**z
    phi = math.radians(lat)
    y = (1.0 - math.asinh(math.tan(phi)) / math.pi) / 2.0 * n
    return min(n - 1, max(0, math.floor(y)))


def tms_row(z: int, y: int) -> int:
    """MBTiles counts rows from the south (TMS)."""
    return 2**z - 1 - y


def plan(box: Box, min_zoom: int = MIN_ZOOM, max_zoom: int = MAX_ZOOM) -> list[TileRange]:
    """The tiles covering the box at each zoom, edge tiles included."""
    return [
        TileRange(
            z, tile_x(box.west, z), tile_x(box.east, z), tile_y(box.north, z), tile_y(box.south, z)
        )
        for z in range(min_zoom, max_zoom + 1)
    ]


def tile_count(ranges: list[TileRange]) -> int:
    return sum(r.count for r in ranges)


def estimate_bytes(tiles: int) -> int:
    """What a package of this many tiles will weigh, roughly (see ESTIMATED_TILE_BYTES)."""
    return tiles * ESTIMATED_TILE_BYTES


def check_box(box: Box) -> Box:
    """The box, rounded, if it can be a package's area; BadArea (a sentence) otherwise."""
    named = {"south": box.south, "west": box.west, "north": box.north, "east": box.east}
    for name, value in named.items():
        if not math.isfinite(value):
            raise BadArea(f"{name} must be a finite number of degrees")
    for name in ("south", "north"):
        if abs(named[name]) > MAX_LATITUDE:
            raise BadArea(
                f"{name} must be between -{MAX_LATITUDE:g} and {MAX_LATITUDE:g} degrees"
                f" (got {named[name]:g}); map tiles end there"
            )
    for name in ("west", "east"):
        if abs(named[name]) > 180:
            raise BadArea(f"{name} must be between -180 and 180 degrees (got {named[name]:g})")
    rounded = box.rounded()
    if rounded.south >= rounded.north:
        raise BadArea(
            f"south ({box.south:g}) must be less than north ({box.north:g}), by at least"
            f" 0.0001 degrees"
        )
    if rounded.west >= rounded.east:
        raise BadArea(
            f"west ({box.west:g}) must be less than east ({box.east:g}), by at least 0.0001 "
            "degrees; an area across the 180th meridian is not supported"
        )
    if rounded.area_km2 > MAX_AREA_KM2:
        raise BadArea(
            f"the area is {rounded.area_km2:,.1f} km², more than the {MAX_AREA_KM2:g} km²"
            " a map package may cover; choose the area around the walk"
        )
    return rounded

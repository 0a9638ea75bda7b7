"""Where a map package reaches: boxes in degrees, a walk's area, slippy-map tile numbers.

Pure arithmetic, shared by the packages on the phone, the download and the map's view.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

COVER_MARGIN_M = 300.0  # a package covers "here" when it reaches this far around the position
AREA_RADIUS_M = 750.0  # a walk's area: 1.5 km across, well inside the server's 25 km² cap
METRES_PER_DEGREE = 111_320.0


@dataclass(frozen=True)
class Box:
    """An area in WGS84 degrees."""

    south: float
    west: float
    north: float
    east: float

    def contains(self, lat: float, lon: float) -> bool:
        return self.south <= lat <= self.north and self.west <= lon <= self.east

    @property
    def middle(self) -> tuple[float, float]:
        return ((self.south + self.north) / 2, (self.west + self.east) / 2)

    def shrunk(self, metres: float) -> Box:
        """The box with `metres` taken off each side (empty boxes stay empty)."""
        dlat = metres / METRES_PER_DEGREE
        mid = math.radians((self.south + self.north) / 2)
        dlon = metres / (METRES_PER_DEGREE * max(0.01, math.cos(mid)))
        return Box(self.south + dlat, self.west + dlon, self.north - dlat, self.east - dlon)

    def as_json(self) -> dict[str, float]:
        return {"south": self.south, "west": self.west, "north": self.north, "east": self.east}


def area_around(lat: float, lon: float, radius_m: float = AREA_RADIUS_M) -> Box:
    """The square box reaching `radius_m` from the point in each direction."""
    dlat = radius_m / METRES_PER_DEGREE
    dlon = radius_m / (METRES_PER_DEGREE * max(0.01, math.cos(math.radians(lat))))
    return Box(
        round(max(-85.0, lat - dlat), 5),
        round(max(-180.0, lon - dlon), 5),
        round(min(85.0, lat + dlat), 5),
        round(min(180.0, lon + dlon), 5),
    )


def tile_xy(lat: float, lon: float, z: int) -> tuple[int, int]:
    """The slippy-map tile (x, y) holding the point at zoom z."""
    n = 2**z
    x = int((lon + 180.0) / 360.0 * n)
    rad = math.radians(lat)
    y = int((1.0 - math.asinh(math.tan(rad)) / math.pi) / 2.0 * n)
    return min(max(x, 0), n - 1), min(max(y, 0), n - 1)


def tile_box(z: int, x: int, y: int) -> Box:
    """The area of tile z/x/y."""
    n = 2**z

    def lat(row: int) -> float:
        return math.degrees(math.atan(math.sinh(math.pi * (1 - 2 * row / n))))

    return Box(lat(y + 1), x / n * 360.0 - 180.0, lat(y), (x + 1) / n * 360.0 - 180.0)

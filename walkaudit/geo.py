"""Distances on the ground: nearby findings, the length of a walked route (geopy; no flet)."""

from __future__ import annotations

import math
from collections.abc import Callable, Iterable, Sequence
from typing import TypeVar

EARTH_RADIUS_M = 6_371_008.8
NEARBY_M = 25.0  # the radius within which a same-category finding is offered as "the same thing"
ACCURACY_WARNING_M = 25.0  # above this the walker is told the position is uncertain

T = TypeVar("T")


def metres_between(lat1: float, lon1: float, lat2: float, lon2: float) -> float:
    """Great-circle distance in metres (haversine: exact enough at 25 m, and cheap)."""
    p1, p2 = math.radians(lat1), math.radians(lat2)
    dp, dl = p2 - p1, math.radians(lon2 - lon1)
    a = math.sin(dp / 2) ** 2 + math.cos(p1) * math.cos(p2) * math.sin(dl / 2) ** 2
    return 2 * EARTH_RADIUS_M * math.asin(min(1.0, math.sqrt(a)))


def nearby(
    items: Iterable[T],
    lat: float,
    lon: float,
    position: Callable[[T], tuple[float, float]],
    radius_m: float = NEARBY_M,
) -> list[tuple[float, T]]:
    """(distance, item) for items within radius_m of (lat, lon), nearest first."""
    # A cheap box test first: thousands of findings, a handful near.
    dlat = radius_m / 111_320
    dlon = radius_m / (111_320 * max(0.01, math.cos(math.radians(lat))))
    found = []
    for item in items:
        ilat, ilon = position(item)
        if abs(ilat - lat) <= dlat and abs(ilon - lon) <= dlon:
            d = metres_between(lat, lon, ilat, ilon)
            if d <= radius_m:
                found.append((d, item))
    found.sort(key=lambda pair: pair[0])
    return found


def track_length_m(points: Sequence[tuple[float, float]]) -> float:
    """Length of a route in metres (geodesic, WGS-84)."""
    from geopy.distance import geodesic  # here: geopy is not needed for the first screen

    return sum(geodesic(a, b).meters for a, b in zip(points, points[1:], strict=False))

"""The heat map's grid: positions summed into cells, so 100,000 findings travel as a few thousand.

Why its own module: how the map is drawn (cell size, how far to coarsen, the JSON it gets)
changes for the map's sake, not for the numbers'; `stats.index.StatsIndex.heat` hands it the
selection's positions.

Errors: none; no positions give no points and no bounds.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np

METRES_PER_DEGREE = 111_320  # of latitude; of longitude, times cos(latitude)


def grid(
    lat: np.ndarray, lon: np.ndarray, lat0: float, cell_m: float = 50, max_points: int = 6000
) -> dict[str, Any]:
    """Positions summed on a grid: {"points": [[lat, lon, n], …], "total", "cell_m", "bounds"}.

    Cells are ~cell_m square at latitude lat0 (doubled until there are at most max_points); a
    cell's point is the mean position of its findings. "cell_m" is the size used, "bounds"
    [[s, w], [n, e]] of the points, or None.
    """
    step_lat = cell_m / METRES_PER_DEGREE
    step_lon = step_lat / max(0.05, math.cos(math.radians(lat0)))
    i = np.floor((lat + 90) / step_lat).astype(np.int64)
    j = np.floor((lon + 180) / step_lon).astype(np.int64)
    size = cell_m
    while True:
        keys, inverse = np.unique(i * 10_000_000 + j, return_inverse=True)
        if len(keys) <= max_points:
            break
        i, j, size = i // 2, j // 2, size * 2
    counts = np.bincount(inverse, minlength=len(keys))
    mean_lat = np.bincount(inverse, weights=lat, minlength=len(keys)) / np.maximum(counts, 1)
    mean_lon = np.bincount(inverse, weights=lon, minlength=len(keys)) / np.maximum(counts, 1)
    points = [
        [round(float(a), 5), round(float(b), 5), int(n)]
        for a, b, n in zip(mean_lat, mean_lon, counts, strict=True)
    ]
    bounds = None
    if points:
        bounds = [
            [round(float(mean_lat.min()), 5), round(float(mean_lon.min()), 5)],
            [round(float(mean_lat.max()), 5), round(float(mean_lon.max()), 5)],
        ]
    return {
        "points": points,
        "total": int(counts.sum()),
        "cell_m": round(size),
        "bounds": bounds,
    }

"""A package's identity and status, as the API shows it (PackageStatus).

The same area (rounded, see `area`) from the same source at the same zooms is the same package:
`package_id` hashes exactly that. A Package's counters move while it is prepared; they change only
under TilePackages' lock, and `as_dict` is what a phone polls.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from typing import Any, Literal

from sync_server.field.tile_packages.area import MAX_ZOOM, MIN_ZOOM, ROUND, Box

State = Literal["preparing", "ready", "failed"]


def package_id(box: Box, template: str) -> str:
    """The package's id: the rounded box, the zooms and the source, hashed."""
    key = f"{box.south:.{ROUND}f},{box.west:.{ROUND}f},{box.north:.{ROUND}f},{box.east:.{ROUND}f}"
    key += f"|{MIN_ZOOM}-{MAX_ZOOM}|{template}"
    return hashlib.sha256(key.encode()).hexdigest()[:24]


@dataclass
class Package:
    """A package's status; changed only under TilePackages' lock."""

    id: str
    box: Box
    tiles: int
    estimated_bytes: int
    max_bytes: int
    attribution: str
    state: State = "preparing"
    done: int = 0  # tiles handled so far: kept, left out, or failed
    missing: int = 0  # tiles left out: the source has none (or none the cache can hold)
    failed: int = 0  # tiles that failed for a reason that passes (429, 5xx, network)
    fetched_bytes: int = 0  # the kept tiles' bytes
    bytes: int | None = None
    reason: str | None = None
    device: str | None = None  # who asked for this preparation (for MAX_PER_DEVICE)

    def as_dict(self) -> dict[str, Any]:
        """The API's PackageStatus."""
        return {
            "id": self.id,
            "state": self.state,
            "tiles": self.tiles,
            "done": self.done,
            "estimated_bytes": self.estimated_bytes,
            "bytes": self.bytes,
            "max_bytes": self.max_bytes,
            "min_zoom": MIN_ZOOM,
            "max_zoom": MAX_ZOOM,
            "bounds": self.box.bounds,
            "attribution": self.attribution,
            "reason": self.reason,
        }

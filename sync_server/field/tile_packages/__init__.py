"""Offline map packages: the tiles of a walk's area at zoom 12–18 in one MBTiles file for a phone.

Phones must not bulk-download from a public tile server (OpenStreetMap's tile usage policy forbids
it), so the server prepares each package from its one configured source, `tile_url`, and refuses
(NoAllowedSource) when that is OpenStreetMap's or empty. It asks politely: at most
FETCH_CONCURRENCY requests at once for the whole server, a User-Agent naming walkaudit-server and
its address, a few retries with backoff on 5xx and network errors, and when the source answers 429
every request to it waits as long as its Retry-After says (at most MAX_PAUSE_S). Every tile
fetched is kept in an on-disk cache, so an overlapping area, or a package asked for again after a
failure, costs the source only the tiles not yet held.

Preparation runs in the background, on a fixed pool of threads (MAX_PREPARING packages at once,
FETCH_CONCURRENCY requests): `request()` answers at once with the package's status, and a package
that waits its turn is "preparing" with `done` 0 (the contract has no "queued" state; the log says
it waits). At most MAX_PER_DEVICE packages of one device and MAX_AT_ONCE in all may be preparing
or waiting; beyond that a request is refused (TooManyPackages, with a time to wait).

The same area (rounded to 4 decimals, ~10 m) with the same source is the same package: a second
request while one prepares joins it, a ready one is served as it is, a failed one is prepared
again, and a ready one older than PACKAGE_MAX_AGE_S is prepared again while its last file is still
served; the new file replaces it in one rename (so its ETag changes then), and if preparing again
fails the last file stays ready.

What a package holds: every tile covering the area, except those the source does not have (404 or
another 4xx, an answer that is no PNG or JPEG or too large for a tile, or a tile the cache cannot
store): those are left out and counted (`missing_tiles`). A tile that failed for a reason that
passes (429, 5xx, a network error, after ATTEMPTS tries) is not left out quietly: the package
fails as a whole with a sentence saying the source is overloaded or cannot be reached, and asking
again later fetches only what the cache lacks. So a "ready" package never has holes that a later
try would fill. It also fails when the server's disk is full, when the source gives no tile at
all, or when the file would be larger than the cap (its real size on disk is what counts).

The file is written as `.part` and renamed when complete, so a file under its final name is always
a whole package; tiles go from the cache into SQLite one at a time, so memory stays flat whatever
the package's size.

Disk stays bounded by `sweep()` (at start-up and every SWEEP_EVERY_S, see api.field.tiles):
it removes packages not asked for or downloaded for `tile_package_keep_days`, and cached tiles a
package would no longer use (older than CACHE_MAX_AGE_S, plus a day).

Modules, in the order a package goes through them:
    area       the box, the tiles covering it at zoom 12–18, the estimate (pure arithmetic)
    source     whether tile_url may be used, and the tile URLs made from it
    packages   TilePackages: what the API calls, the rules above, the limits on packages at once
    status     a package's id and its status (the API's PackageStatus)
    pool       the fixed preparing and fetch threads
    preparing  one preparation: tiles fetched, counted, the file written and renamed into place
    fetch      polite requests to the source, into the tile cache (retries, 429 pauses)
    mbtiles    the package's file: written from the cache, its metadata read back
    disk       where packages and cached tiles are kept ({data_dir}/tiles/), and the sweep
    errors     what is refused, below

Errors (TilePackageError, a ServerError, in `errors`; api.field.tiles maps them to HTTP):
    BadArea          the box is no usable area (not finite, out of range, empty, too large) → 422
    PackageTooLarge  the estimated package exceeds tile_package_max_mb                     → 413
    TooManyPackages  the device (or the server) has as many packages preparing as it may   → 429
    NoAllowedSource  tile_url is empty, no XYZ template, or a source forbidding bulk use   → 503
    UnknownPackage   no package has this id (any more)                                     → 404
    PackageNotReady  the file of a package still preparing, or failed                     → 409
"""

from __future__ import annotations

from sync_server.field.tile_packages.area import (
    ESTIMATED_TILE_BYTES,
    MAX_AREA_KM2,
    MAX_LATITUDE,
    MAX_ZOOM,
    MIN_ZOOM,
    Box,
    Tile,
    TileRange,
    check_box,
    estimate_bytes,
    plan,
    tile_count,
    tile_x,
    tile_y,
    tms_row,
)
from sync_server.field.tile_packages.disk import (
    CACHE_MAX_AGE_S,
    PACKAGE_MAX_AGE_S,
    STORAGE_FULL,
    SWEEP_EVERY_S,
    Swept,
    source_key,
    sweep,
)
from sync_server.field.tile_packages.errors import (
    BUSY_RETRY_S,
    BadArea,
    NoAllowedSource,
    PackageNotReady,
    PackageTooLarge,
    TilePackageError,
    TooManyPackages,
    UnknownPackage,
)
from sync_server.field.tile_packages.fetch import (
    ATTEMPTS,
    DEFAULT_PAUSE_S,
    FETCH_CONCURRENCY,
    MAX_PAUSE_S,
    MAX_TILE_BYTES,
    retry_after_s,
)
from sync_server.field.tile_packages.packages import (
    MAX_AT_ONCE,
    MAX_PER_DEVICE,
    MAX_PREPARING,
    TilePackages,
)
from sync_server.field.tile_packages.preparing import (
    LOGGED_LEFT_OUT,
)
from sync_server.field.tile_packages.source import (
    check_source,
    image_format,
    tile_url,
)
from sync_server.field.tile_packages.status import (
    Package,
    package_id,
)

__all__ = [
    "ATTEMPTS",
    "BUSY_RETRY_S",
    "BadArea",
    "Box",
    "CACHE_MAX_AGE_S",
    "DEFAULT_PAUSE_S",
    "ESTIMATED_TILE_BYTES",
    "FETCH_CONCURRENCY",
    "LOGGED_LEFT_OUT",
    "MAX_AREA_KM2",
    "MAX_AT_ONCE",
    "MAX_LATITUDE",
    "MAX_PAUSE_S",
    "MAX_PER_DEVICE",
    "MAX_PREPARING",
    "MAX_TILE_BYTES",
    "MAX_ZOOM",
    "MIN_ZOOM",
    "NoAllowedSource",
    "PACKAGE_MAX_AGE_S",
    "Package",
    "PackageNotReady",
    "PackageTooLarge",
    "STORAGE_FULL",
    "SWEEP_EVERY_S",
    "Swept",
    "Tile",
    "TilePackageError",
    "TilePackages",
    "TileRange",
    "TooManyPackages",
    "UnknownPackage",
    "check_box",
    "check_source",
    "estimate_bytes",
    "image_format",
    "package_id",
    "plan",
    "retry_after_s",
    "source_key",
    "sweep",
    "tile_count",
    "tile_url",
    "tile_x",
    "tile_y",
    "tms_row",
]

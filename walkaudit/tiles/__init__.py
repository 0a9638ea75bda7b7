"""Map tiles without network: packages of the walk's area on the phone, served to the map locally.

A package is an MBTiles file (SQLite) the server prepared from its configured tile source
(sync_server/field/tile_packages/; the contract is in the server's PROTOCOL.md) and the phone
downloaded into DATA/maps/. Phones never fetch tiles in bulk from a public tile server: only the
server does, from a source that allows it.

    geometry.py      boxes in degrees, a walk's area, slippy-map tile numbers
    packages.py      the installed packages (read-only MBTiles), tiles looked up from any thread
    local_server.py  LocalTileServer: those tiles over HTTP on 127.0.0.1 for flet_map
    download.py      download_package: ask, wait while prepared, fetch (resumable), install
    protocol.py      what the server answers about a package, the device client, retries
    errors.py        TileError and its kinds

No flet here, and httpx is imported only where a package is downloaded: this package is loaded
when a map is first shown, never for the first screen.
"""

from walkaudit.tiles.download import (
    FREE_RESERVE_BYTES,
    PARTIAL_MAX_AGE_S,
    RETRIES,
    download_package,
)
from walkaudit.tiles.errors import (
    CorruptPackageError,
    DownloadStopped,
    NoRoomError,
    NoTileSourceError,
    PackageFailedError,
    PackageRefusedError,
    PackageTooLargeError,
    ServerBusyError,
    StorageError,
    TileError,
    TileServerUnreachableError,
    UnsupportedPackageError,
)
from walkaudit.tiles.geometry import (
    AREA_RADIUS_M,
    COVER_MARGIN_M,
    METRES_PER_DEGREE,
    Box,
    area_around,
    tile_box,
    tile_xy,
)
from walkaudit.tiles.local_server import LocalTileServer
from walkaudit.tiles.packages import (
    MAPS_DIR,
    PARTIAL_DIR,
    SUFFIX,
    Package,
    TilePackages,
    read_package,
)
from walkaudit.tiles.protocol import (
    RETRY_AFTER_MAX_S,
    PackageStatus,
    Progress,
    ProgressCallback,
    device_client,
)

__all__ = [
    "AREA_RADIUS_M",
    "COVER_MARGIN_M",
    "FREE_RESERVE_BYTES",
    "MAPS_DIR",
    "METRES_PER_DEGREE",
    "PARTIAL_DIR",
    "PARTIAL_MAX_AGE_S",
    "RETRIES",
    "RETRY_AFTER_MAX_S",
    "SUFFIX",
    "Box",
    "CorruptPackageError",
    "DownloadStopped",
    "LocalTileServer",
    "NoRoomError",
    "NoTileSourceError",
    "Package",
    "PackageFailedError",
    "PackageRefusedError",
    "PackageStatus",
    "PackageTooLargeError",
    "Progress",
    "ProgressCallback",
    "ServerBusyError",
    "StorageError",
    "TileError",
    "TilePackages",
    "TileServerUnreachableError",
    "UnsupportedPackageError",
    "area_around",
    "device_client",
    "download_package",
    "read_package",
    "tile_box",
    "tile_xy",
]

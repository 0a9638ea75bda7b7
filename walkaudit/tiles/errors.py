"""The tile packages' errors: each message is a sentence a person can act on.

TileError
  ├── PackageTooLargeError        the area's package is over the server's cap (413)
  ├── NoTileSourceError           the server has no tile source it may bulk-fetch (503)
  ├── TileServerUnreachableError  no network, or the server does not answer
  ├── PackageRefusedError         the server refused the request and said why (4xx)
  ├── PackageFailedError          the server could not prepare the package
  │     └── ServerBusyError       it answers, but has too much to prepare now (429)
  ├── CorruptPackageError         the file is not a readable MBTiles of that area
  │     └── UnsupportedPackageError  readable, but not raster tiles a map can show
  ├── StorageError                the phone could not write the package
  │     └── NoRoomError           the phone's storage has no room for it
  └── DownloadStopped             the caller asked the download to stop
"""

from __future__ import annotations

import re


class TileError(Exception):
    """Base of the tile package errors; the message is a sentence a person can act on."""


class PackageTooLargeError(TileError):
    """The area's package would exceed the server's cap.

    `estimated_mb` and `max_mb` are read from the server's sentence ("about 61.2 MB … the
    50 MB this server allows"), None when it says it otherwise.
    """

    def __init__(self, message: str) -> None:
        super().__init__(message)
        about = re.search(r"about ([\d,.]+) MB", message)
        cap = re.search(r"the ([\d,.]+) MB", message)
        self.estimated_mb = float(about[1].replace(",", "")) if about else None
        self.max_mb = float(cap[1].replace(",", "")) if cap else None


class NoTileSourceError(TileError):
    """The server has no tile source that allows packages."""


class TileServerUnreachableError(TileError):
    """No network, or the server did not answer after retrying."""


class PackageRefusedError(TileError):
    """The server refused the request (a bad area, an unknown device) and said why."""


class PackageFailedError(TileError):
    """The server could not prepare the package (its tile source failed)."""


class ServerBusyError(PackageFailedError):
    """The server answered, but has as many packages to prepare as it may (429, after
    retrying): not a missing network."""


class CorruptPackageError(TileError):
    """The downloaded file is not a readable MBTiles package of the expected kind."""


class UnsupportedPackageError(CorruptPackageError):
    """A readable MBTiles file the map cannot show (vector tiles, an impossible zoom range)."""


class StorageError(TileError):
    """The package could not be written on the phone (the operating system's reason)."""


class NoRoomError(StorageError):
    """The phone's storage has no room for the package.

    `needed_bytes` and `free_bytes` are known when the check before the download refused it;
    None when a write failed on the way (the half file is removed: it takes the room photos need).
    """

    def __init__(
        self, message: str, needed_bytes: int | None = None, free_bytes: int | None = None
    ) -> None:
        super().__init__(message)
        self.needed_bytes = needed_bytes
        self.free_bytes = free_bytes


class DownloadStopped(TileError):
    """The caller asked the download to stop; what arrived is kept for a resume."""

"""What map packages refuse: one ServerError per reason, each mapped to one HTTP status by
sync_server.api.field.tiles (the table is in the package's docstring).

Kept apart because every step of a package (the area, the source, the limits, the file) raises
them, and the API needs them without the machinery that prepares packages.
"""

from __future__ import annotations

from sync_server.core.errors import ServerError

BUSY_RETRY_S = 30  # Retry-After when a request is refused for the limits on packages at once


class TilePackageError(ServerError):
    """Base of what map packages refuse."""


class BadArea(TilePackageError):
    """The box cannot be a package's area."""


class PackageTooLarge(TilePackageError):
    """The estimated package is larger than the server's cap."""


class TooManyPackages(TilePackageError):
    """The device, or the whole server, has as many packages preparing as it may."""

    def __init__(self, message: str, retry_after: int = BUSY_RETRY_S) -> None:
        super().__init__(message)
        self.retry_after = retry_after


class NoAllowedSource(TilePackageError):
    """The server has no tile source that allows preparing packages."""


class UnknownPackage(TilePackageError):
    """No package has this id (or its file has been removed)."""


class PackageNotReady(TilePackageError):
    """The package's file does not exist (yet): it is preparing, or it failed."""

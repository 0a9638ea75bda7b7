"""What backup and restore refuse; ServerErrors, so the CLI prints their message.

BackupError
 ├── BackupTargetNotEmpty   DEST (or the data directory to restore into) holds files
 ├── NotABackup             no readable manifest.json, or one this version cannot read
 ├── BackupDamaged          a file missing or not matching its size or sha256 (named)
 └── BackupTooNew           the backup's schema is newer than this server knows
"""

from __future__ import annotations

from sync_server.core.errors import ServerError


class BackupError(ServerError):
    """Base of what backup and restore refuse."""


class BackupTargetNotEmpty(BackupError):
    """The directory to write into holds files already."""


class NotABackup(BackupError):
    """The directory has no manifest this version can read."""


class BackupDamaged(BackupError):
    """A file of the backup is missing or does not match the manifest."""


class BackupTooNew(BackupError):
    """The backup was made by a server with migrations this one lacks."""

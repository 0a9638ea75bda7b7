"""The sync's errors: what stops a sync, each with a sentence the walker (or the CLI) can act on.

SyncError
  ├── NotEnrolledError        no server address or token in this data directory
  ├── EnrolError              the server refused the enrolment code
  ├── AuthError               401: the token is unknown or the device was revoked
  ├── ServerFullError         507: the server's storage is full
  ├── ServerUnreachableError  no answer after the retries (network down, server down)
  ├── ServerRejectedError     the server refused a request (4xx) and said why
  │   └── PhotoRefusedError   the server refused a photo's bytes for good (415, 413)
  └── SyncStopped             the caller asked the sync to stop (the app's watchdog)
"""

from __future__ import annotations


class SyncError(Exception):
    """Base of the sync errors."""


class NotEnrolledError(SyncError):
    """This data directory has no server or token yet."""


class EnrolError(SyncError):
    """The server refused the enrolment code."""


class AuthError(SyncError):
    """The server does not accept this device's token."""


class ServerFullError(SyncError):
    """The server's storage is full (507): nothing is lost here; retrying at once cannot help."""


class ServerUnreachableError(SyncError):
    """No usable answer from the server after retrying."""


class ServerRejectedError(SyncError):
    """The server refused a request and said why (its `detail`)."""


class PhotoRefusedError(ServerRejectedError):
    """The server refused a photo's bytes for good (they do not decode, or it is too large)."""

    def __init__(self, message: str, reason: str) -> None:
        super().__init__(message)
        self.reason = reason


class SyncStopped(SyncError):
    """The caller asked this sync to stop (`should_stop`); what was confirmed stays confirmed."""

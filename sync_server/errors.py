"""What the server's core can refuse, as exceptions; only `sync_server.api` maps them to HTTP.

    ServerError
     ├── AuthError              no, unknown or revoked device token            → 401
     ├── EnrolmentError         unknown, used or expired enrolment code        → 401
     ├── UnknownDevice          `devices revoke` of an id that does not exist  (CLI)
     ├── PhotoNotReferenced     a photo no finding or event of this device names → 404
     ├── BatchTooLarge          a push body above max_batch_bytes              → 413
     ├── UnsupportedProtocol    a push in a protocol version this server lacks → 422
     ├── NotAJpeg               an uploaded photo that is not a readable JPEG  → 415
     └── DatabaseTooNew         the data dir was written by a newer server     (start-up)

The blob store has its own errors (`sync_server.blobs.BlobError` and subclasses).
Every message is a sentence a person can act on.
"""

from __future__ import annotations


class ServerError(Exception):
    """Base of every refusal the server core raises on purpose."""

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


class AuthError(ServerError):
    """The request carries no valid device token."""


class EnrolmentError(ServerError):
    """The enrolment code cannot be used (unknown, already used or expired)."""


class UnknownDevice(ServerError):
    """No device has this id."""


class PhotoNotReferenced(ServerError):
    """This device has pushed no finding or event that names this photo."""


class BatchTooLarge(ServerError):
    """A push body is larger than the server accepts."""


class UnsupportedProtocol(ServerError):
    """A push announces a protocol version this server does not speak."""


class NotAJpeg(ServerError):
    """An uploaded photo is not a JPEG that Pillow can read."""


class DatabaseTooNew(ServerError):
    """The database has migrations this server does not know."""

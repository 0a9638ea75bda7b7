"""What the server's core can refuse, as exceptions; only `sync_server.api` maps them to HTTP.

    ServerError
     ├── AuthError              no, unknown or revoked device token            → 401
     ├── EnrolmentError         unknown, used or expired enrolment code        → 401
     ├── UnknownDevice          `devices revoke` of an id that does not exist  (CLI)
     ├── PhotoNotReferenced     a photo no finding or event of this device names → 404
     ├── BatchTooLarge          a push body above max_batch_bytes              → 413
     ├── UnsupportedProtocol    a push in a protocol version this server lacks → 422
     ├── ImplausibleRecord      a pushed time outside 2000 … now + 1 day, or a  → 422
     │                          photo larger than the server accepts
     ├── NotForDevices          a pushed event of a kind only coordinators and  → 403
     │                          owners set (closed, sent, …)
     ├── NotAJpeg               an uploaded photo that is not a JPEG that       → 415
     │                          decodes completely (truncated, not an image)
     └── DatabaseTooNew         the data dir was written by a newer server     (start-up)

Modules with errors of their own (subclasses of ServerError unless said):
  routing.RoutingError ─ BadCaptureTime   a capture time routing cannot use (set aside)
  backup.BackupError ─ BackupTargetNotEmpty, NotABackup, BackupDamaged, BackupTooNew  (CLI)
  mailer.MailError ─ BadSmtpUrl, DeliveryError ─ PermanentDeliveryError
  tile_packages.TilePackageError ─ BadArea 422, PackageTooLarge 413, NoAllowedSource 503,
                                   UnknownPackage 404, PackageNotReady 409, TooManyPackages 429
  open311 errors (sync_server.open311.errors), e.g. media.LinkExpired          → 410
The blob store has its own errors (`sync_server.core.blobs.BlobError` and subclasses, not
ServerErrors), among them BlobStorageFull → 507 like any full disk (sync_server.api.errors).
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


class ImplausibleRecord(ServerError):
    """A pushed record holds a value the server refuses to store (a time far in the past or the
    future, a photo above the size limit); the whole batch is refused."""


class NotForDevices(ServerError):
    """A device pushed what only a coordinator or a finding's holder may do; nothing is stored."""


class NotAJpeg(ServerError):
    """An uploaded photo is not a JPEG that Pillow can decode to its last byte."""


class DatabaseTooNew(ServerError):
    """The database has migrations this server does not know."""

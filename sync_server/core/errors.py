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

Packages with errors of their own (subclasses of ServerError; most in the package's `errors`):
  owners: OwnerError ─ InvalidOwnerFile, UnknownOwner; RoutingError ─ UnknownFinding, NoContact,
          WrongOwner, BadCaptureTime (set aside)
  core.backup: BackupError ─ BackupTargetNotEmpty, NotABackup, BackupDamaged, BackupTooNew  (CLI)
  mail: MailError ─ BadSmtpUrl, DeliveryError ─ PermanentDeliveryError
  field.tile_packages: TilePackageError ─ BadArea 422, PackageTooLarge 413, NoAllowedSource 503,
                       UnknownPackage 404, PackageNotReady 409, TooManyPackages 429
  open311: Open311Error and its refusals, e.g. media.LinkExpired                → 410
  reports, walks, stats: ReportError, WalkError, StatsError; workspace: AccountError,
                   TrackingError, FollowupError (in accounts, tracking, followups)
The blob store has its own errors (`sync_server.core.blobs.BlobError` and subclasses, not
ServerErrors), among them BlobStorageFull → 507 like any full disk (sync_server.api.errors).
Every message is a sentence a person can act on; `describe_validation_errors` makes one from
pydantic's errors (a request's body for the API, the WALKAUDIT_* settings for the CLI).
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from typing import Any

from walkaudit.model import SHA256_PATTERN


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


# ---- what a pydantic validation error says, in one sentence -----------------------------------
# Shared by the HTTP layer (a 422's detail) and the CLI (invalid WALKAUDIT_* settings), so it
# lives below both and speaks of no request or response.

MAX_LISTED = 3  # problems named in one sentence; the rest are counted


def describe_validation_errors(errors: Sequence[Any]) -> str:
    """One readable sentence from pydantic errors, e.g. `findings[3].latitude: must be ≤ 90`."""
    parts = [_describe(error) for error in errors[:MAX_LISTED]]
    text = "; ".join(dict.fromkeys(parts))  # unique, in order
    if len(errors) > MAX_LISTED:
        text += f" (and {len(errors) - MAX_LISTED} more problems)"
    return text


def _describe(error: Mapping[str, Any]) -> str:
    kind, ctx = error.get("type", ""), error.get("ctx") or {}
    if kind == "json_invalid":
        reason = ctx.get("error")
        return "the request body is not valid JSON" + (f" ({reason})" if reason else "")
    where = _location(error.get("loc", ()))
    if not where and kind in ("model_type", "model_attributes_type", "dict_type"):
        return "the request body must be a JSON object"
    message = _message(kind, ctx, str(error.get("msg", "is not valid")), error.get("input"))
    return f"{where}: {message}" if where else message


def _location(loc: Sequence[Any]) -> str:
    parts = list(loc)
    if parts and parts[0] in ("body", "query", "path", "header", "cookie"):
        parts = parts[1:]
    text = ""
    for part in parts:
        text += f"[{part}]" if isinstance(part, int) else (f".{part}" if text else str(part))
    return text


def _number(value: Any) -> str:
    return f"{value:g}" if isinstance(value, float) else str(value)


def _message(kind: str, ctx: Mapping[str, Any], msg: str, given: Any) -> str:
    bounds = {"less_than_equal": ("≤", "le"), "greater_than_equal": ("≥", "ge"),
              "less_than": ("<", "lt"), "greater_than": (">", "gt")}  # fmt: skip
    if kind in bounds:
        sign, key = bounds[kind]
        got = f" (got {_number(given)})" if isinstance(given, int | float) else ""
        return f"must be {sign} {_number(ctx.get(key))}{got}"
    if kind == "missing":
        return "is required"
    if kind == "extra_forbidden":
        return "is not a known field; remove it (or update the server if the app is newer)"
    if kind == "string_pattern_mismatch" and ctx.get("pattern") == SHA256_PATTERN:
        return "must be a sha256: 64 lowercase hexadecimal digits"
    if kind in ("enum", "literal_error"):
        return f"must be one of {ctx.get('expected')}"
    if kind == "finite_number":
        return "must be a finite number"
    if kind == "value_error":
        return msg.removeprefix("Value error, ")
    # pydantic's "Input should be …", "String should have …", "List should have …"
    should = re.match(r"\w+ should ", msg)
    if should:
        return "must " + msg[should.end() :]
    return msg[:1].lower() + msg[1:]

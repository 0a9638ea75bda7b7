"""What mail delivery can refuse or fail at, drawn as one tree (see the package docstring).

MailError (ServerError)
 ├── BadSmtpUrl              WALKAUDIT_SMTP_URL cannot be used (also a ValueError)
 └── DeliveryError           this attempt failed; try again later
      └── PermanentDeliveryError   the server refused for good (5xx): do not retry
"""

from __future__ import annotations

from sync_server.core.errors import ServerError


class MailError(ServerError):
    """Base of the mail delivery's errors."""


class BadSmtpUrl(MailError, ValueError):
    """WALKAUDIT_SMTP_URL is malformed."""


class DeliveryError(MailError):
    """One delivery attempt failed (the server is down, refused for now, timed out)."""


class PermanentDeliveryError(DeliveryError):
    """The server refused the recipient or the message for good (a 5xx answer)."""

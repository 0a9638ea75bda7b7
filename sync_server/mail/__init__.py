"""Mail: composing messages, the outbox, and delivering it by SMTP or as .eml files.

Infrastructure below the domains: it does not know what a finding is. A domain composes a
message, queues it (in its own transaction, with its own dedupe key) and, when delivery hands a
message over, hears of it through the `on_sent` callback it passes in (reports record their
findings' 'sent' event there: `sync_server.reports.sent.record_sent`).

    message     compose (text + HTML + inline photos + attachments), `sender`, and
                `blank_owner_links`: what of a delivered message is kept
    outbox      the outbox table: enqueue, is_queued, failed_messages, retry_failed
    transport   SMTP (smtplib) or .eml files; `parse_smtp_url` (the parser is
                `config.smtp_config`, so the settings check the URL without importing mail)
    delivery    one pass over the due rows: claim, send, mark sent + `on_sent`, backoff
    errors      the tree below

    MailError (ServerError)
     ├── BadSmtpUrl              WALKAUDIT_SMTP_URL cannot be used (also a ValueError)
     └── DeliveryError           this attempt failed; try again later
          └── PermanentDeliveryError   the server refused for good (5xx): do not retry
"""

from sync_server.config import SmtpConfig
from sync_server.mail.delivery import (
    BACKOFF,
    Delivery,
    OnSent,
    Sent,
    backoff,
    deliver_due,
    deliver_now,
)
from sync_server.mail.errors import BadSmtpUrl, DeliveryError, MailError, PermanentDeliveryError
from sync_server.mail.message import LINK_REMOVED, blank_owner_links, compose, sender
from sync_server.mail.outbox import (
    FailedMessage,
    enqueue,
    failed_messages,
    is_queued,
    pending_count,
    retry_failed,
)
from sync_server.mail.transport import (
    EmlDirectory,
    SmtpTransport,
    Transport,
    parse_smtp_url,
    transport_for,
)

__all__ = [
    "BACKOFF",
    "LINK_REMOVED",
    "BadSmtpUrl",
    "Delivery",
    "DeliveryError",
    "EmlDirectory",
    "FailedMessage",
    "MailError",
    "OnSent",
    "PermanentDeliveryError",
    "Sent",
    "SmtpConfig",
    "SmtpTransport",
    "Transport",
    "backoff",
    "blank_owner_links",
    "compose",
    "deliver_due",
    "deliver_now",
    "enqueue",
    "failed_messages",
    "is_queued",
    "parse_smtp_url",
    "pending_count",
    "retry_failed",
    "sender",
    "transport_for",
]

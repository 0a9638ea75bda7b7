"""Delivery: one pass over the outbox's due rows, with retries and backoff.

Delivery of one row: (1) *claim* it in a transaction — attempts + 1 and `next_attempt_at` moved
to now + backoff — so that a second process (the CLI beside `serve`) skips it; (2) hand the bytes
to the transport; (3) right after the server accepts, mark it sent — and tell the caller's
`on_sent` callback, in that same transaction, so the domain that queued it can record what it
means (reports write the findings' 'sent' event; delivery knows nothing of findings). The crash
window: if the process dies between the SMTP server's "250 OK" for DATA and that COMMIT
(milliseconds), the row is still pending and goes again after the backoff, so the recipient may
get the *identical* message twice (same Message-ID, which mail clients collapse). No scheme can
close it without the receiving side taking part; at-least-once with identical bytes is the chosen
side of it — a report is never lost. A crash before step 3 merely counts as a failed attempt.
If `on_sent` fails, the row is marked sent without it (a retry would send the message twice).

One bad message stops no other: an unexpected error while handing one over (data the transport
cannot send, a bug only its bytes reach) marks that row failed at once with the error — on the
coordinator's triage page with *Try again* — logged once with its id, and the others go on.

Retries: 5 min, 30 min, 2 h, 6 h, then daily; after `max_attempts` the row is 'failed' (see
`mail.outbox`). A 5xx refusal of the recipient or of the message is permanent and fails the row
at once: retrying cannot fix a missing mailbox.
"""

from __future__ import annotations

import logging
import sqlite3
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from email.utils import parseaddr

import sqlite_utils

from sync_server.config import Settings
from sync_server.core.db import Database
from sync_server.core.time import iso
from sync_server.mail.errors import DeliveryError, PermanentDeliveryError
from sync_server.mail.message import blank_owner_links, sender
from sync_server.mail.transport import Transport, transport_for
from walkaudit.model import utcnow

log = logging.getLogger(__name__)

BACKOFF = (
    timedelta(minutes=5),
    timedelta(minutes=30),
    timedelta(hours=2),
    timedelta(hours=6),
    timedelta(hours=24),
)


@dataclass(frozen=True)
class Sent:
    """A message the mail server accepted, as `on_sent` is told of it."""

    outbox_id: int
    kind: str
    recipient: str
    at: datetime


# Called inside the transaction that marks the message sent: what it writes commits with it.
OnSent = Callable[[sqlite_utils.Database, Sent], None]


def backoff(attempt: int) -> timedelta:
    """How long to wait after the `attempt`-th failed attempt (1-based)."""
    return BACKOFF[min(max(attempt, 1), len(BACKOFF)) - 1]


@dataclass
class Delivery:
    """What one `deliver_due` did."""

    sent: int = 0
    deferred: int = 0
    failed: int = 0
    errors: list[str] = field(default_factory=list)


def deliver_due(
    db: Database,
    transport: Transport,
    *,
    envelope_from: str,
    max_attempts: int,
    now: datetime | None = None,
    limit: int = 200,
    on_sent: OnSent | None,
) -> Delivery:
    """Try every pending message whose time has come, oldest first; `on_sent` hears of each
    one the server accepted (see the module docstring)."""
    now = now or utcnow()
    result = Delivery()
    due = (
        db.conn()
        .execute(
            "SELECT id FROM outbox WHERE state = 'pending' AND next_attempt_at <= ?"
            " ORDER BY id LIMIT ?",
            [iso(now), limit],
        )
        .fetchall()
    )
    envelope = parseaddr(envelope_from)[1] or envelope_from
    for (outbox_id,) in due:
        try:
            _deliver_one(db, transport, outbox_id, envelope, max_attempts, now, result, on_sent)
        except Exception as exc:  # this message's data, or a bug only it reaches: not the others
            if isinstance(exc, sqlite3.OperationalError | OSError):
                raise  # the database or the disk: nothing is this message's fault
            log.exception("delivery of message %s failed unexpectedly; marked failed", outbox_id)
            error = f"unexpected error: {type(exc).__name__}: {exc}"[:1000]
            with db.write() as tx:
                tx.execute(
                    "UPDATE outbox SET state = 'failed', last_error = ? WHERE id = ?",
                    [error, outbox_id],
                )
            result.failed += 1
            result.errors.append(f"message {outbox_id}: {error}")
    return result


def deliver_now(db: Database, settings: Settings, *, on_sent: OnSent | None) -> Delivery:
    """Hand what is due to the mail server now, rather than at the next report pass (after a
    coordinator's "send" button). `on_sent` as in `deliver_due`: every due message goes, not
    only the one just queued, so pass the callback of every domain that queues mail."""
    smtp_url = settings.smtp_url.get_secret_value() if settings.smtp_url else None
    return deliver_due(
        db,
        transport_for(smtp_url, settings.outbox_dir),
        envelope_from=sender(settings),
        max_attempts=settings.mail_max_attempts,
        on_sent=on_sent,
    )


def _deliver_one(
    db: Database,
    transport: Transport,
    outbox_id: int,
    envelope: str,
    max_attempts: int,
    now: datetime,
    result: Delivery,
    on_sent: OnSent | None,
) -> None:
    claimed = _claim(db, outbox_id, now)
    if claimed is None:
        return  # another process has it
    kind, recipient, message, attempts = claimed
    try:
        transport.send(message, envelope, [recipient], f"{outbox_id:06d}-{kind}")
    except DeliveryError as exc:
        final = isinstance(exc, PermanentDeliveryError) or attempts >= max_attempts
        with db.write() as tx:
            tx.execute(
                "UPDATE outbox SET last_error = ?, state = ? WHERE id = ?",
                [exc.message, "failed" if final else "pending", outbox_id],
            )
        result.failed += final
        result.deferred += not final
        result.errors.append(f"message {outbox_id} to {recipient}: {exc.message}")
        log.warning(
            "delivery of message %s failed (attempt %s): %s", outbox_id, attempts, exc.message
        )
        return
    stored = blank_owner_links(message)
    sent = Sent(outbox_id, kind, recipient, now)
    try:
        _mark_sent(db, sent, stored, on_sent)
    except Exception:  # it went out: never "failed" (a retry would send it twice)
        log.exception("message %s was sent, but recording that it was (on_sent) failed", outbox_id)
        _mark_sent(db, sent, stored, None)
    result.sent += 1


def _mark_sent(db: Database, sent: Sent, stored: bytes, on_sent: OnSent | None) -> None:
    with db.write() as tx:  # right after the server accepted: see the crash window above
        tx.execute(
            "UPDATE outbox SET state = 'sent', sent_at = ?, last_error = NULL, message = ?"
            " WHERE id = ?",
            [iso(sent.at), stored, sent.outbox_id],
        )
        if on_sent is not None:
            on_sent(tx, sent)


def _claim(db: Database, outbox_id: int, now: datetime) -> tuple[str, str, bytes, int] | None:
    with db.write() as tx:
        row = tx.execute(
            "SELECT kind, recipient, message, attempts FROM outbox"
            " WHERE id = ? AND state = 'pending' AND next_attempt_at <= ?",
            [outbox_id, iso(now)],
        ).fetchone()
        if row is None:
            return None
        attempts = int(row[3]) + 1
        tx.execute(
            "UPDATE outbox SET attempts = ?, next_attempt_at = ? WHERE id = ?",
            [attempts, iso(now + backoff(attempts)), outbox_id],
        )
    return str(row[0]), str(row[1]), bytes(row[2]), attempts

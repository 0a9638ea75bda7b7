"""The outbox table: messages queued for delivery, and the ones given up on.

A message is composed once, stored as RFC 5322 bytes in its `outbox` row with a unique
`dedupe_key`, and from then on only those bytes are ever sent (`mail.delivery`): a restart
re-sends the same message (same Message-ID), never a second, different one, and enqueueing the
same report again is a no-op.

After `max_attempts` a row is 'failed' with `last_error`: `failed_messages()` lists them for the
coordinator, `retry_failed()` sends the same bytes again once the address or the settings are
fixed. What a message is about (the findings a report carries) is the queueing domain's to
record, in the same transaction, with the id `enqueue` returns.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from email.message import EmailMessage
from email.policy import SMTP

import sqlite_utils

from sync_server.core.db import Database
from sync_server.core.time import iso
from walkaudit.model import utcnow


def enqueue(
    tx: sqlite_utils.Database,
    *,
    kind: str,
    dedupe_key: str,
    recipient: str,
    message: EmailMessage,
    owner_id: str | None = None,
    now: datetime | None = None,
    raw: bytes | None = None,
) -> int | None:
    """Store the message for delivery (inside the caller's transaction); its outbox id, None if
    it is there already.

    `raw` is the message's bytes when the caller has them already (a big report: no need to
    serialise 10 MB twice).
    """
    stamp = iso(now or utcnow())
    cur = tx.execute(
        "INSERT OR IGNORE INTO outbox (kind, dedupe_key, owner_id, recipient, subject, message,"
        " next_attempt_at, created_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
        [
            kind,
            dedupe_key,
            owner_id,
            recipient,
            str(message["Subject"]),
            raw if raw is not None else message.as_bytes(policy=SMTP),
            stamp,
            stamp,
        ],
    )
    if cur.rowcount == 0:
        return None
    return int(cur.lastrowid or 0)


def is_queued(db: Database, dedupe_key: str) -> bool:
    """Whether a message with this key was ever enqueued (whatever its state)."""
    return db.query_one("SELECT 1 FROM outbox WHERE dedupe_key = ?", (dedupe_key,)) is not None


def pending_count(db: Database) -> int:
    """How many messages wait for delivery."""
    row = db.conn().execute("SELECT COUNT(*) FROM outbox WHERE state = 'pending'").fetchone()
    return int(row[0])


@dataclass(frozen=True)
class FailedMessage:
    id: int
    kind: str
    owner_id: str | None
    recipient: str
    subject: str
    attempts: int
    last_error: str
    created_at: str


def failed_messages(db: Database) -> list[FailedMessage]:
    """Messages given up on, newest first (for the coordinator's page and the weekly summary)."""
    rows = db.conn().execute(
        "SELECT id, kind, owner_id, recipient, subject, attempts, last_error, created_at"
        " FROM outbox WHERE state = 'failed' ORDER BY id DESC"
    )
    return [FailedMessage(r[0], r[1], r[2], r[3], r[4], r[5], r[6] or "", r[7]) for r in rows]


def retry_failed(db: Database, outbox_id: int, now: datetime | None = None) -> bool:
    """Give a failed message a fresh start (after the coordinator fixed the address or the
    settings): the same bytes go out on the next pass. False if it is not a failed message."""
    with db.write() as tx:
        cur = tx.execute(
            "UPDATE outbox SET state = 'pending', attempts = 0, next_attempt_at = ?"
            " WHERE id = ? AND state = 'failed'",
            [iso(now or utcnow()), outbox_id],
        )
        return cur.rowcount == 1

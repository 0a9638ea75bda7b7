"""Which findings a report or reminder carries, and their 'sent' event once it was delivered.

Mail delivery knows nothing of findings: reports queue their message together with the
findings it carries (`report_items`, in the same transaction), and pass `record_sent` as
delivery's `on_sent` callback, which writes each carried finding's 'sent' event in the
transaction that marks the message sent.
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from datetime import datetime
from email.message import EmailMessage

import sqlite_utils

from sync_server.config import Settings
from sync_server.core.db import Database
from sync_server.core.history import add_server_event
from sync_server.mail import Delivery, Sent, deliver_now, enqueue
from walkaudit.model import EventKind

_SENT_EVENT_NS = uuid.UUID("5b0f3c1e-8d0a-4f5e-9a51-7d1c0e2f6a10")  # idempotent 'sent' event ids
# Statuses a report may move to 'sent'; later ones (acknowledged, fixed…) must not go backwards.
_SENDABLE = ("received", "reopened", "sent")


def enqueue_carrying(
    tx: sqlite_utils.Database,
    *,
    kind: str,
    dedupe_key: str,
    recipient: str,
    message: EmailMessage,
    owner_id: str,
    finding_ids: Sequence[str],
    now: datetime,
    raw: bytes | None = None,
) -> int | None:
    """Queue the message (mail.enqueue) and record the findings it carries; its outbox id,
    None if it was queued before (then nothing is recorded again)."""
    outbox_id = enqueue(tx, kind=kind, dedupe_key=dedupe_key, recipient=recipient,
                        message=message, owner_id=owner_id, now=now, raw=raw)  # fmt: skip
    if outbox_id is None:
        return None
    tx.conn.executemany(
        "INSERT INTO report_items (outbox_id, finding_id) VALUES (?, ?)",
        [(outbox_id, fid) for fid in finding_ids],
    )
    return outbox_id


def record_sent(tx: sqlite_utils.Database, sent: Sent) -> None:
    """Delivery's `on_sent` for every message: a delivered report moves its findings to 'sent'
    (one event each, with the recipient; the same id if told twice). Other kinds: nothing."""
    if sent.kind != "report":
        return
    rows = tx.execute(
        "SELECT ri.finding_id, f.status FROM report_items ri"
        " JOIN findings f ON f.id = ri.finding_id WHERE ri.outbox_id = ?",
        [sent.outbox_id],
    ).fetchall()
    for finding_id, status in rows:
        if status in _SENDABLE:
            event_id = str(uuid.uuid5(_SENT_EVENT_NS, f"{sent.outbox_id}:{finding_id}"))
            add_server_event(
                tx, finding_id, EventKind.SENT, at=sent.at, note=sent.recipient, event_id=event_id
            )


def deliver_queued(db: Database, settings: Settings) -> Delivery:
    """Hand every due message to the mail server now (a coordinator's "send" button), with
    `record_sent` told of each: every due message goes, reports waiting for the next pass too,
    and their findings must not be left without their 'sent' event."""
    return deliver_now(db, settings, on_sent=record_sent)

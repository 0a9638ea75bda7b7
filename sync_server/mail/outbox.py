"""Delivery: the outbox table, SMTP (stdlib smtplib) or .eml files, retries with backoff.

A message is composed once, stored as RFC 5322 bytes in its `outbox` row with a unique
`dedupe_key`, and from then on only those bytes are ever sent: a restart re-sends the same
message (same Message-ID), never a second, different one, and enqueueing the same report again is
a no-op.

Delivery of one row: (1) *claim* it in a transaction — attempts + 1 and `next_attempt_at` moved
to now + backoff — so that a second process (the CLI beside `serve`) skips it; (2) hand the bytes
to SMTP; (3) right after the server accepts, mark it sent (and record 'sent' in the findings'
history) in one transaction. The crash window: if the process dies between the SMTP server's
"250 OK" for DATA and that COMMIT (milliseconds), the row is still pending and goes again after
the backoff, so the owner may get the *identical* message twice (same Message-ID, which mail
clients collapse). No scheme can close it without the receiving side taking part; at-least-once
with identical bytes is the chosen side of it — a report is never lost. A crash before step 3
merely counts as a failed attempt.

One bad message stops no other: an unexpected error while handing one over (data the transport
cannot send, a bug only its bytes reach) marks that row failed at once with the error — on the
coordinator's triage page with *Try again* — logged once with its id, and the others go on.

Once sent, the stored bytes keep no working owner link: in the same transaction that marks the
row sent, every `/o/<token>` in its text and HTML becomes `/o/[länk borttagen]`, and its
attachments (the report's PDF prints the link in text that cannot be edited in place) are
replaced by a note that says so (`blank_owner_links`); inline photos stay. A leaked database then
holds no key to any owner's page. The .eml files of the demo transport are the delivered mail
(its "mailbox"), so they keep their link, as a mail in the owner's mailbox does.

Retries: 5 min, 30 min, 2 h, 6 h, then daily; after `max_attempts` the row is 'failed' with
`last_error`: `failed_messages()` lists them for the coordinator, `retry_failed()` sends the
same bytes again once the address or the settings are fixed. A 5xx refusal of the recipient or
of the message is permanent and fails the row at once: retrying cannot fix a missing mailbox.

    MailError (ServerError)
     ├── BadSmtpUrl              WALKAUDIT_SMTP_URL cannot be used (also a ValueError)
     └── DeliveryError           this attempt failed; try again later
          └── PermanentDeliveryError   the server refused for good (5xx): do not retry
"""

from __future__ import annotations

import logging
import os
import re
import smtplib
import sqlite3
import ssl
import uuid
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from email.message import EmailMessage
from email.parser import BytesParser
from email.policy import SMTP
from email.utils import formatdate, make_msgid, parseaddr
from pathlib import Path
from typing import Protocol
from urllib.parse import unquote, urlsplit

import sqlite_utils

from sync_server.config import Settings
from sync_server.core.db import Database, iso
from sync_server.core.errors import ServerError
from sync_server.core.history import add_server_event
from walkaudit.model import EventKind, utcnow

log = logging.getLogger(__name__)

BACKOFF = (
    timedelta(minutes=5),
    timedelta(minutes=30),
    timedelta(hours=2),
    timedelta(hours=6),
    timedelta(hours=24),
)
SMTP_TIMEOUT_S = 30
_SCHEMES = {"smtp": 25, "smtp+starttls": 587, "smtps": 465}
_SENT_EVENT_NS = uuid.UUID("5b0f3c1e-8d0a-4f5e-9a51-7d1c0e2f6a10")  # idempotent 'sent' event ids
# Statuses a report may move to 'sent'; later ones (acknowledged, fixed…) must not go backwards.
_SENDABLE = ("received", "reopened", "sent")
# An owner link's path: /o/ and its token (links.create_link: token_urlsafe(32), 43 characters).
_OWNER_LINK = re.compile(r"/o/[A-Za-z0-9_-]{20,}")
LINK_REMOVED = "/o/[länk borttagen]"
_BODY_REMOVED = b"[meddelandet togs bort efter leveransen / removed after delivery]\r\n"
_ATTACHMENT_REMOVED = (
    "Bilagan {name} togs bort ur den lagrade kopian efter leveransen: den innehöll ägarlänken.\n"
    "The attachment {name} was removed from the stored copy after delivery: it held the owner "
    "link.\n"
)


class MailError(ServerError):
    """Base of the mail delivery's errors."""


class BadSmtpUrl(MailError, ValueError):
    """WALKAUDIT_SMTP_URL is malformed."""


class DeliveryError(MailError):
    """One delivery attempt failed (the server is down, refused for now, timed out)."""


class PermanentDeliveryError(DeliveryError):
    """The server refused the recipient or the message for good (a 5xx answer)."""


@dataclass(frozen=True)
class SmtpConfig:
    scheme: str
    host: str
    port: int
    username: str | None = field(default=None)
    password: str | None = field(default=None, repr=False)

    def describe(self) -> str:
        """The URL without the password, for logs."""
        user = f"{self.username}@" if self.username else ""
        return f"{self.scheme}://{user}{self.host}:{self.port}"


def parse_smtp_url(url: str) -> SmtpConfig:
    """smtp://host:port, smtp+starttls://user:pw@host:587, smtps://user:pw@host:465."""
    usage = (
        "WALKAUDIT_SMTP_URL must look like smtp://host:25, smtp+starttls://user:password@host:587"
        " or smtps://user:password@host:465 (user and password percent-encoded)"
    )
    parts = urlsplit(url.strip())
    if parts.scheme not in _SCHEMES:
        raise BadSmtpUrl(f"{usage}; the scheme {parts.scheme or '(none)'!r} is not one of these")
    try:
        port = parts.port or _SCHEMES[parts.scheme]
    except ValueError:
        raise BadSmtpUrl(f"{usage}; the port is not a number from 1 to 65535") from None
    if not parts.hostname:
        raise BadSmtpUrl(f"{usage}; the host is missing")
    if parts.path not in ("", "/") or parts.query or parts.fragment:
        raise BadSmtpUrl(f"{usage}; there is something after the port")
    username = unquote(parts.username) if parts.username else None
    password = unquote(parts.password) if parts.password is not None else None
    if username and password is None:
        raise BadSmtpUrl(f"{usage}; a user needs a password (user:password@host)")
    if username and parts.scheme == "smtp":
        raise BadSmtpUrl(
            "smtp:// would send the password unencrypted; use smtp+starttls:// or smtps://"
        )
    return SmtpConfig(parts.scheme, parts.hostname, port, username, password)


class Transport(Protocol):
    """Hands a message to the world; raises DeliveryError (or PermanentDeliveryError)."""

    def send(self, message: bytes, sender: str, recipients: Sequence[str], ref: str) -> None: ...


class SmtpTransport:
    """One SMTP connection per message (passes are minutes apart; nothing to keep open)."""

    def __init__(self, config: SmtpConfig, timeout_s: float = SMTP_TIMEOUT_S) -> None:
        self.config = config
        self.timeout_s = timeout_s

    def send(self, message: bytes, sender: str, recipients: Sequence[str], ref: str) -> None:
        """Deliver via SMTP; DeliveryError says what went wrong, never the password."""
        c = self.config
        for address in (sender, *recipients):
            # smtplib writes an address into MAIL FROM / RCPT TO as given: a line break in one
            # would be a second SMTP command (found on loopback). Never deliverable: permanent.
            if any(ch in address for ch in "\r\n\0"):
                raise PermanentDeliveryError(f"{ref}: the address {address!r} holds a line break")
        try:
            if c.scheme == "smtps":
                context = ssl.create_default_context()
                smtp: smtplib.SMTP = smtplib.SMTP_SSL(
                    c.host, c.port, timeout=self.timeout_s, context=context
                )
            else:
                smtp = smtplib.SMTP(c.host, c.port, timeout=self.timeout_s)
            with smtp:
                if c.scheme == "smtp+starttls":
                    smtp.starttls(context=ssl.create_default_context())
                if c.username and c.password is not None:
                    smtp.login(c.username, c.password)
                smtp.sendmail(sender, list(recipients), message)
        except smtplib.SMTPRecipientsRefused as exc:
            answers = "; ".join(
                f"{r}: {code} {_text(m)}" for r, (code, m) in exc.recipients.items()
            )
            error = PermanentDeliveryError if _permanent(exc.recipients.values()) else DeliveryError
            raise error(f"{c.describe()} refused the recipient ({answers})") from None
        except smtplib.SMTPDataError as exc:
            error = PermanentDeliveryError if exc.smtp_code >= 500 else DeliveryError
            raise error(
                f"{c.describe()} refused the message: {exc.smtp_code} {_text(exc.smtp_error)}"
            ) from None
        except smtplib.SMTPResponseException as exc:  # auth, sender refused: fix the settings
            raise DeliveryError(
                f"{c.describe()} answered {exc.smtp_code} {_text(exc.smtp_error)}"
            ) from None
        except (smtplib.SMTPException, OSError) as exc:
            raise DeliveryError(
                f"cannot reach {c.describe()}: {exc or type(exc).__name__}"
            ) from None


def _text(value: bytes | str) -> str:
    return value.decode(errors="replace") if isinstance(value, bytes) else value


def _permanent(answers: object) -> bool:
    codes = [code for code, _ in answers]  # type: ignore[attr-defined]
    return bool(codes) and all(code >= 500 for code in codes)


class EmlDirectory:
    """The demo's transport: each message becomes {dir}/{ref}.eml and counts as sent."""

    def __init__(self, directory: Path) -> None:
        self.directory = directory

    def send(self, message: bytes, sender: str, recipients: Sequence[str], ref: str) -> None:
        """Write the message atomically (a reader never sees half a file)."""
        try:
            self.directory.mkdir(parents=True, exist_ok=True)
            final = self.directory / f"{re.sub(r'[^A-Za-z0-9_.-]', '_', ref)}.eml"
            temporary = final.with_name(f".{final.name}.tmp")
            temporary.write_bytes(message)
            os.replace(temporary, final)
        except OSError as exc:
            raise DeliveryError(f"cannot write {self.directory}: {exc}") from None


def transport_for(smtp_url: str | None, outbox_dir: Path) -> Transport:
    """SMTP when a URL is configured, else .eml files in `outbox_dir`."""
    return SmtpTransport(parse_smtp_url(smtp_url)) if smtp_url else EmlDirectory(outbox_dir)


def compose(
    *,
    sender: str,
    recipient: str,
    subject: str,
    text: str,
    html: str,
    reply_to: str | None = None,
    inline: Sequence[tuple[str, bytes]] = (),
    attachments: Sequence[tuple[str, bytes, str]] = (),
    now: datetime | None = None,
) -> EmailMessage:
    """multipart/mixed[alternative[text, related[html, inline JPEGs by cid]], attachments].

    `inline` holds (content-id without <>, JPEG bytes); `attachments` (filename, bytes, mime).
    """
    msg = EmailMessage(policy=SMTP)
    # A header is one line: a walk or owner name typed with a line break must not stop a mail.
    subject = " ".join(subject.split())
    msg["From"], msg["To"], msg["Subject"] = sender, recipient, subject
    if reply_to:
        msg["Reply-To"] = reply_to
    msg["Date"] = formatdate((now or utcnow()).timestamp(), localtime=False)
    domain = parseaddr(sender)[1].rpartition("@")[2] or "walkaudit.invalid"
    msg["Message-ID"] = make_msgid("walkaudit", domain=domain)
    msg.set_content(text)
    msg.add_alternative(html, subtype="html")
    html_part = msg.get_body(preferencelist=("html",))
    assert isinstance(html_part, EmailMessage)  # the part add_alternative just made
    for cid, jpeg in inline:
        html_part.add_related(
            jpeg,
            "image",
            "jpeg",
            cid=f"<{cid}>",
            disposition="inline",
            filename=f"{cid.partition('@')[0]}.jpg",
        )
    for filename, data, mime in attachments:
        maintype, _, subtype = mime.partition("/")
        msg.add_attachment(data, maintype=maintype, subtype=subtype, filename=filename)
    return msg


def enqueue(
    tx: sqlite_utils.Database,
    *,
    kind: str,
    dedupe_key: str,
    recipient: str,
    message: EmailMessage,
    owner_id: str | None = None,
    finding_ids: Sequence[str] = (),
    now: datetime | None = None,
    raw: bytes | None = None,
) -> int | None:
    """Store the message for delivery (inside the caller's transaction); None if already there.

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
    outbox_id = int(cur.lastrowid or 0)
    tx.conn.executemany(
        "INSERT INTO report_items (outbox_id, finding_id) VALUES (?, ?)",
        [(outbox_id, fid) for fid in finding_ids],
    )
    return outbox_id


def is_queued(db: Database, dedupe_key: str) -> bool:
    """Whether a message with this key was ever enqueued (whatever its state)."""
    return db.query_one("SELECT 1 FROM outbox WHERE dedupe_key = ?", (dedupe_key,)) is not None


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
) -> Delivery:
    """Try every pending message whose time has come, oldest first."""
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
    sender = parseaddr(envelope_from)[1] or envelope_from
    for (outbox_id,) in due:
        try:
            _deliver_one(db, transport, outbox_id, sender, max_attempts, now, result)
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


def _deliver_one(
    db: Database,
    transport: Transport,
    outbox_id: int,
    sender: str,
    max_attempts: int,
    now: datetime,
    result: Delivery,
) -> None:
    claimed = _claim(db, outbox_id, now)
    if claimed is None:
        return  # another process has it
    kind, recipient, message, attempts = claimed
    try:
        transport.send(message, sender, [recipient], f"{outbox_id:06d}-{kind}")
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
    try:
        _mark_sent(db, outbox_id, stored, now, recipient if kind == "report" else None)
    except Exception:  # it went out: never "failed" (a retry would send it twice)
        log.exception("message %s was sent, but its findings' history cannot say so", outbox_id)
        _mark_sent(db, outbox_id, stored, now, None)
    result.sent += 1


def _mark_sent(
    db: Database, outbox_id: int, stored: bytes, now: datetime, report_to: str | None
) -> None:
    with db.write() as tx:  # right after the server accepted: see the crash window above
        tx.execute(
            "UPDATE outbox SET state = 'sent', sent_at = ?, last_error = NULL, message = ?"
            " WHERE id = ?",
            [iso(now), stored, outbox_id],
        )
        if report_to is not None:
            _record_sent(tx, outbox_id, report_to, now)


def blank_owner_links(message: bytes) -> bytes:
    """The message as it may be kept after delivery: no owner link that still opens a page
    (see the module docstring); the same bytes if it holds none."""
    try:
        return _blanked(message)
    except Exception:  # a message our own parser cannot take apart: keep its headers only
        log.exception("a delivered message could not be blanked; its body is not kept")
        head = message.split(b"\r\n\r\n", 1)[0].split(b"\n\n", 1)[0]
        return head + b"\r\n\r\n" + _BODY_REMOVED


def _blanked(message: bytes) -> bytes:
    parsed = BytesParser(policy=SMTP).parsebytes(message)
    parts = [p for p in parsed.walk() if not p.is_multipart()]
    texts = [p for p in parts if p.get_content_maintype() == "text"
             and p.get_content_disposition() != "attachment"]  # fmt: skip
    if not any(_OWNER_LINK.search(str(p.get_content())) for p in texts):
        return message
    for part in texts:
        text = str(part.get_content())
        blanked = _OWNER_LINK.sub(LINK_REMOVED, text)
        if blanked != text:
            part.set_content(blanked, subtype=part.get_content_subtype(), cte="quoted-printable")
    for part in parts:
        if part.get_content_disposition() == "attachment":
            name = part.get_filename() or "attachment"
            note = _ATTACHMENT_REMOVED.format(name=name)
            part.set_content(note, disposition="attachment", filename=f"{name}.txt")
    return parsed.as_bytes(policy=SMTP)


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


def _record_sent(tx: sqlite_utils.Database, outbox_id: int, recipient: str, now: datetime) -> None:
    rows = tx.execute(
        "SELECT ri.finding_id, f.status FROM report_items ri"
        " JOIN findings f ON f.id = ri.finding_id WHERE ri.outbox_id = ?",
        [outbox_id],
    ).fetchall()
    for finding_id, status in rows:
        if status in _SENDABLE:
            event_id = str(uuid.uuid5(_SENT_EVENT_NS, f"{outbox_id}:{finding_id}"))
            add_server_event(
                tx, finding_id, EventKind.SENT, at=now, note=recipient, event_id=event_id
            )


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


def sender(settings: Settings) -> str:
    """The From address (a placeholder for the .eml demo, where no SMTP is configured)."""
    return settings.mail_from or "Trygghetsvandring <walkaudit@localhost>"


def deliver_now(db: Database, settings: Settings) -> Delivery:
    """Hand what is due to the mail server now, rather than at the next report pass (after a
    coordinator's "send" button)."""
    smtp_url = settings.smtp_url.get_secret_value() if settings.smtp_url else None
    return deliver_due(
        db,
        transport_for(smtp_url, settings.outbox_dir),
        envelope_from=sender(settings),
        max_attempts=settings.mail_max_attempts,
    )

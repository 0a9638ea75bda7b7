"""Transports: what hands a message's bytes to the world — SMTP (stdlib smtplib) or .eml files.

A transport knows nothing of the outbox table or of retries (`mail.delivery` does): it takes the
stored bytes and either succeeds or raises DeliveryError, PermanentDeliveryError when retrying
cannot help (a 5xx refusal of the recipient or of the message).
"""

from __future__ import annotations

import os
import re
import smtplib
import ssl
from collections.abc import Sequence
from pathlib import Path
from typing import Protocol

from sync_server.config import SmtpConfig, smtp_config
from sync_server.mail.errors import BadSmtpUrl, DeliveryError, PermanentDeliveryError

SMTP_TIMEOUT_S = 30


def parse_smtp_url(url: str) -> SmtpConfig:
    """smtp://host:port, smtp+starttls://user:pw@host:587, smtps://user:pw@host:465.

    The settings' parser (`config.smtp_config`, which also checks WALKAUDIT_SMTP_URL at start-up)
    with its error as the mail delivery's BadSmtpUrl."""
    try:
        return smtp_config(url)
    except ValueError as exc:
        raise BadSmtpUrl(str(exc)) from None


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

"""Secrets kept out of the server's logs, for the whole app: owner links, Open311 keys, photo
signatures.

An owner link's token is a bearer credential in the URL path; Open311 puts its api_key in the
query string (the standard's GETs) and a signed photo link carries a `sig`. None of them may
reach a log file. Access and error logs see `/o/[link 1a2b3c4d]` instead (the first hex digits of
the sha256 that `owner_links` stores, so an operator can still find the link) and
`api_key=[redacted]`. The filter sits on uvicorn's loggers and the server's own.
"""

from __future__ import annotations

import hashlib
import logging
import re

LOGGERS = ("uvicorn.access", "uvicorn.error", "walkaudit.server")

_TOKEN_IN_PATH = re.compile(r"/o/([A-Za-z0-9_\-%]+)")
_SECRET_IN_QUERY = re.compile(r"([?&](?:api_key|sig)=)[^&\s\"]*")


def redact(text: str) -> str:
    """`/o/<token>…` → `/o/[link <first 8 hex of sha256(token)>]…`; api_key=/sig= blanked."""
    text = _TOKEN_IN_PATH.sub(
        lambda m: f"/o/[link {hashlib.sha256(m[1].encode()).hexdigest()[:8]}]", text
    )
    return _SECRET_IN_QUERY.sub(r"\1[redacted]", text)


class RedactOwnerTokens(logging.Filter):
    """Rewrites owner tokens (and api keys, signatures) in a record's message and arguments:
    uvicorn's access log passes the path as an argument and formats it later, so the arguments
    must be redacted one by one."""

    def filter(self, record: logging.LogRecord) -> bool:
        if isinstance(record.msg, str):
            record.msg = redact(record.msg)
        if isinstance(record.args, tuple):
            record.args = tuple(redact(a) if isinstance(a, str) else a for a in record.args)
        return True


def install_log_redaction() -> None:
    """Put the filter on every logger that sees request paths (once, however many apps)."""
    for name in LOGGERS:
        logger = logging.getLogger(name)
        if not any(isinstance(f, RedactOwnerTokens) for f in logger.filters):
            logger.addFilter(RedactOwnerTokens())

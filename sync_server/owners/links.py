"""Owner links: personal, unguessable, expiring URLs to an owner's page — no account needed.

The token (32 random bytes, urlsafe) appears only in the email; the database keeps its sha256.
A link opens exactly one owner's findings; it can expire or be revoked.

Errors: LinkError
          ├── UnknownLink   no such token (mistyped, or made up)
          ├── ExpiredLink   past its expiry date: ask the coordinator for a new one
          └── RevokedLink   withdrawn by the coordinator
"""

from __future__ import annotations

import hashlib
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta

from sync_server.core.db import Database
from sync_server.core.time import iso, parse_iso
from walkaudit.model import utcnow

DEFAULT_TTL_DAYS = 120  # a report's deadline is months away: the link must outlive a holiday


class LinkError(Exception):
    """An owner link that cannot be used."""


class UnknownLink(LinkError):
    """No link with this token."""


class ExpiredLink(LinkError):
    """The link is past its expiry."""


class RevokedLink(LinkError):
    """The coordinator withdrew the link."""


@dataclass(frozen=True)
class OwnerLink:
    owner_id: str
    expires_at: datetime


def _hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def create_link(db: Database, owner_id: str, ttl_days: float = DEFAULT_TTL_DAYS) -> str:
    """A new token for an owner (shown once, in the email's link)."""
    token = secrets.token_urlsafe(32)
    now = utcnow()
    with db.write() as tx:
        tx.execute(
            "INSERT INTO owner_links (token_hash, owner_id, created_at, expires_at)"
            " VALUES (?, ?, ?, ?)",
            [_hash(token), owner_id, iso(now), iso(now + timedelta(days=ttl_days))],
        )
    return token


def resolve_link(db: Database, token: str, now: datetime | None = None) -> OwnerLink:
    """The owner a token opens; UnknownLink, ExpiredLink or RevokedLink otherwise."""
    row = db.query_one(
        "SELECT owner_id, expires_at, revoked_at FROM owner_links WHERE token_hash = ?",
        (_hash(token),),
    )
    if row is None:
        raise UnknownLink("this link is not valid; use the link from the latest email")
    if row["revoked_at"]:
        raise RevokedLink("this link has been withdrawn; ask the coordinator for a new one")
    expires = parse_iso(str(row["expires_at"]))
    if expires <= (now or utcnow()):
        raise ExpiredLink(
            f"this link expired on {expires:%Y-%m-%d}; ask the coordinator for a new one"
        )
    return OwnerLink(str(row["owner_id"]), expires)


def revoke_links(db: Database, owner_id: str) -> int:
    """Withdraw every link of an owner (e.g. a contact person left); returns how many."""
    with db.write() as tx:
        cur = tx.execute(
            "UPDATE owner_links SET revoked_at = ? WHERE owner_id = ? AND revoked_at IS NULL",
            [iso(utcnow()), owner_id],
        )
        return int(cur.rowcount)

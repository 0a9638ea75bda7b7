"""Open311 api keys and the view each reader gets.

A key names the system that uses it (unique among the keys not revoked) and may be bound to an
owner: without owner (the municipality's system) it reads and updates every finding, bound to an
owner only that owner's findings (see `queries`). Only the key's sha256 is stored; the key itself
is shown once, when it is made. The stored hash also signs the key's media links (see `media`),
so revoking a key ends its links too. A reader without a key gets the public view, and only when
Settings.open311_public_read is on.

Raises InvalidValue, InvalidApiKey, ApiKeyRequired and UnknownApiKey (see `errors`), and
`owners.UnknownOwner` from `create_api_key`.
"""

from __future__ import annotations

import hashlib
import secrets
from dataclasses import dataclass
from datetime import timedelta

from sync_server.core.db import Database
from sync_server.core.time import iso, parse_iso
from sync_server.open311.errors import ApiKeyRequired, InvalidApiKey, InvalidValue, UnknownApiKey
from sync_server.owners.errors import UnknownOwner
from walkaudit.model import new_id, utcnow

KEY_PREFIX = "o311_"
LAST_USED_EVERY = timedelta(minutes=10)  # last_used_at is a write: not on every request
MAX_NAME = 100


@dataclass(frozen=True)
class ApiKey:
    """An Open311 client: its name, the owner it is bound to (None: every finding)."""

    id: str
    name: str
    owner_id: str | None
    owner_name: str | None
    created_at: str
    last_used_at: str | None
    revoked_at: str | None

    @property
    def actor(self) -> str:
        """How this key is named in the events it records."""
        return f"open311:{self.name}"


@dataclass(frozen=True)
class View:
    """Who is reading: a key (the full view, scoped to its owner) or nobody (the public view)."""

    key: ApiKey | None = None
    signing_key: bytes = b""  # the key's stored hash: signs its media links
    link_days: float = 7.0  # how long its media links work (Settings.open311_media_link_days)

    @property
    def full(self) -> bool:
        """True when the reader has a key (notes, photos, owner names)."""
        return self.key is not None


# The ApiKey's seven fields, then the stored hash (the signing key of its media links).
KEY_COLUMNS = (
    "SELECT k.id, k.name, k.owner_id, o.name, k.created_at, k.last_used_at, k.revoked_at,"
    " k.key_hash FROM api_keys k LEFT JOIN owners o ON o.id = k.owner_id"
)


def _hash(key: str) -> str:
    return hashlib.sha256(key.encode()).hexdigest()


def create_api_key(db: Database, name: str, owner_id: str | None = None) -> tuple[str, str]:
    """A new key: (its id, the key itself — shown this once; only its sha256 is stored)."""
    name = " ".join(name.split())
    if not name:
        raise InvalidValue("give the api key a name that says who uses it")
    if len(name) > MAX_NAME:
        raise InvalidValue(f"the api key's name is {len(name)} characters; {MAX_NAME} at most")
    key_id, key = new_id(), KEY_PREFIX + secrets.token_urlsafe(32)
    with db.write() as tx:
        if owner_id and not tx.execute("SELECT 1 FROM owners WHERE id = ?", [owner_id]).fetchone():
            raise UnknownOwner(f"there is no owner {owner_id}; see `owners list`")
        taken = tx.execute(
            "SELECT 1 FROM api_keys WHERE lower(name) = lower(?) AND revoked_at IS NULL", [name]
        ).fetchone()
        if taken:
            raise InvalidValue(f"an api key named {name!r} exists; choose another name")
        tx.execute(
            "INSERT INTO api_keys (id, key_hash, name, owner_id, created_at)"
            " VALUES (?, ?, ?, ?, ?)",
            [key_id, _hash(key), name, owner_id or None, iso(utcnow())],
        )
    return key_id, key


def list_api_keys(db: Database) -> list[ApiKey]:
    """Every api key, revoked ones too, oldest first."""
    rows = db.conn().execute(KEY_COLUMNS + " ORDER BY k.created_at, k.id").fetchall()
    return [ApiKey(*row[:7]) for row in rows]


def revoke_api_key(db: Database, key_id: str) -> bool:
    """Revoke a key; False if it was revoked already. UnknownApiKey if there is no such id."""
    with db.write() as tx:
        row = tx.execute("SELECT revoked_at FROM api_keys WHERE id = ?", [key_id]).fetchone()
        if row is None:
            raise UnknownApiKey(f"there is no api key {key_id}; see the list of keys")
        if row[0] is not None:
            return False
        tx.execute("UPDATE api_keys SET revoked_at = ? WHERE id = ?", [iso(utcnow()), key_id])
    return True


def authenticate(db: Database, key: str) -> View:
    """The full view of a valid key; InvalidApiKey if it is unknown or revoked."""
    row = db.conn().execute(KEY_COLUMNS + " WHERE k.key_hash = ?", [_hash(key.strip())]).fetchone()
    if row is None:
        raise InvalidApiKey("this api_key is not known here; check it, or ask for a new one")
    api_key = ApiKey(*row[:7])
    if api_key.revoked_at:
        raise InvalidApiKey(f"this api_key was revoked on {api_key.revoked_at[:10]}")
    now = utcnow()
    if not api_key.last_used_at or parse_iso(api_key.last_used_at) < now - LAST_USED_EVERY:
        with db.write() as tx:
            tx.execute("UPDATE api_keys SET last_used_at = ? WHERE id = ?", [iso(now), api_key.id])
    return View(api_key, bytes.fromhex(row[7]))


def read_view(db: Database, api_key: str | None, public_read: bool) -> View:
    """The view a GET gets: its key's, the public one, or ApiKeyRequired."""
    if api_key and api_key.strip():
        return authenticate(db, api_key)
    if public_read:
        return View()
    raise ApiKeyRequired("this server needs an api_key to read (ask the coordinator for one)")

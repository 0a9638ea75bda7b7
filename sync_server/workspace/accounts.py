"""Accounts of the coordinator web: users and roles, argon2 passwords, sessions, a login throttle.

Roles, each including the one below it:
    admin        users and Open311 keys, and everything a coordinator does
    coordinator  devices, walks, findings' actions, follow-ups, sending protocols
    viewer       reads everything (police viewing the lägesbild); changes nothing

Sessions are random tokens in an HttpOnly cookie; the database keeps only their sha256 and a
per-session CSRF token that every form must carry. A session ends after IDLE of no use or
LIFETIME in all, whichever comes first.

The throttle counts failed sign-ins in the database (so a restart does not reset it) over
THROTTLE_WINDOW and refuses further tries, before any password is checked, when
  - one name failed MAX_FAILURES_PER_NAME times from one address (someone guessing, or typing),
  - one name failed MAX_FAILURES_PER_NAME_ANYWHERE times from all addresses together (guessing
    from many addresses; locking a name out takes several addresses, not one),
  - an address failed MAX_FAILURES_PER_ADDRESS times, but only for names that failed lately.
A name without failures is always checked, so one person behind a shared address (an office or
mobile NAT) cannot lock every coordinator out; what trying names one by one gains is one guess
per real user name and window. A right password clears its name's failures from that address.

Passwords are hashed by the argon2 hasher the caller passes (`hasher=`): the app keeps one on its
services and the CLI makes `full_cost_hasher()`; tests pass argon2's cheapest profile, so their
setup is not spent hashing. Nothing here hashes with a hasher of its own choosing.

    AccountError (ServerError)
     ├── InvalidAccount   a name, role or password that cannot be used (the message says why)
     ├── UnknownUser      no user has this name
     ├── BadCredentials   wrong name or password (never says which)
     ├── Throttled        too many failures lately; `retry_after` seconds
     └── NoSession        no, unknown, expired session, or a disabled user
"""

from __future__ import annotations

import hashlib
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta

import argon2
import sqlite_utils

from sync_server.core.db import Database
from sync_server.core.errors import ServerError
from sync_server.core.time import iso, parse_iso
from walkaudit.model import new_id, utcnow

ROLES = ("admin", "coordinator", "viewer")
_RANK = {"viewer": 0, "coordinator": 1, "admin": 2}
MIN_PASSWORD = 10
MAX_PASSWORD = 1024  # argon2 hashes anything, but a megabyte "password" is an attack, not a typo
IDLE = timedelta(hours=8)
LIFETIME = timedelta(days=7)
SEEN_RESOLUTION = timedelta(minutes=1)  # last_seen_at is written at most this often
THROTTLE_WINDOW = timedelta(minutes=15)
MAX_FAILURES_PER_NAME = 5  # one name from one address
MAX_FAILURES_PER_NAME_ANYWHERE = 25  # one name from all addresses
MAX_FAILURES_PER_ADDRESS = 30  # one address, for names that have failed


def full_cost_hasher() -> argon2.PasswordHasher:
    """argon2id at argon2-cffi's default cost (RFC 9106's low-memory profile): what the server
    and the CLI hash with."""
    return argon2.PasswordHasher()


# One per hasher's parameters, made once per process. Two threads may both make the first one;
# either hash does, so there is no lock.
_dummy_hashes: dict[tuple[object, ...], str] = {}


def dummy_hash(hasher: argon2.PasswordHasher) -> str:
    """A hash of a random password, made with `hasher`'s parameters. Verifying against it when
    the name is unknown takes as long as a real check, so the answer time does not tell which
    names exist. `create_app` asks for it early, so no sign-in pays for making it."""
    key = (hasher.type, hasher.time_cost, hasher.memory_cost, hasher.parallelism,
           hasher.hash_len, hasher.salt_len)  # fmt: skip
    if key not in _dummy_hashes:
        _dummy_hashes[key] = hasher.hash(secrets.token_urlsafe(16))
    return _dummy_hashes[key]


class AccountError(ServerError):
    """Base of what the accounts module refuses."""


class InvalidAccount(AccountError):
    """A name, role or password that cannot be used."""


class UnknownUser(AccountError):
    """No user has this name."""


class BadCredentials(AccountError):
    """The name or the password is wrong."""


class Throttled(AccountError):
    """Too many failed logins lately: `retry_after` seconds; `limit` names which (for the log,
    which says it once per window and limit)."""

    def __init__(self, message: str, retry_after: int, limit: str = "") -> None:
        super().__init__(message)
        self.retry_after = retry_after
        self.limit = limit


class NoSession(AccountError):
    """The request has no usable session."""


@dataclass(frozen=True)
class User:
    id: str
    name: str
    role: str
    email: str
    created_at: str
    disabled_at: str | None = None

    def can(self, role: str) -> bool:
        """True if this user has `role` or a role above it."""
        return self.disabled_at is None and _RANK[self.role] >= _RANK[role]

    @property
    def actor(self) -> str:
        """How this user is named in the events they make."""
        return f"user:{self.name}"


@dataclass(frozen=True)
class Session:
    user: User
    csrf_token: str
    token_hash: str


def _hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def _user(row: dict[str, object]) -> User:
    return User(
        id=str(row["id"]),
        name=str(row["name"]),
        role=str(row["role"]),
        email=str(row["email"]),
        created_at=str(row["created_at"]),
        disabled_at=row["disabled_at"] if isinstance(row["disabled_at"], str) else None,
    )


def check_password(password: str) -> str:
    """The password if usable; InvalidAccount says why not."""
    if len(password) < MIN_PASSWORD:
        raise InvalidAccount(f"the password must have at least {MIN_PASSWORD} characters")
    if len(password) > MAX_PASSWORD:
        raise InvalidAccount(f"the password must have at most {MAX_PASSWORD} characters")
    if not password.strip():
        raise InvalidAccount("the password must not be only spaces")
    return password


def add_user(
    db: Database,
    name: str,
    role: str,
    password: str,
    email: str = "",
    now: datetime | None = None,
    *,
    hasher: argon2.PasswordHasher,
) -> User:
    """Create a user; InvalidAccount for a blank or taken name, an unknown role, a weak password."""
    name = name.strip()
    if not name or len(name) > 100 or any(ch.isspace() for ch in name):
        raise InvalidAccount("the user name must be 1–100 characters without spaces")
    if role not in ROLES:
        raise InvalidAccount(f"unknown role {role!r}; use one of {', '.join(ROLES)}")
    password_hash = hasher.hash(check_password(password))
    user = User(new_id(), name, role, email.strip(), iso(now or utcnow()))
    with db.write() as tx:
        if tx.execute("SELECT 1 FROM users WHERE lower(name) = lower(?)", [name]).fetchone():
            raise InvalidAccount(f"there is already a user called {name}")
        tx.execute(
            "INSERT INTO users (id, name, role, password_hash, email, created_at)"
            " VALUES (?, ?, ?, ?, ?, ?)",
            [user.id, user.name, user.role, password_hash, user.email, user.created_at],
        )
    return user


def get_user(db: Database, name: str) -> User:
    """The user called `name` (case-insensitive)."""
    row = db.query_one("SELECT * FROM users WHERE lower(name) = lower(?)", (name.strip(),))
    if row is None:
        raise UnknownUser(f"there is no user called {name}; see `users list`")
    return _user(row)


def list_users(db: Database) -> list[User]:
    """Every user, by name."""
    return [_user(r) for r in db.conn().query("SELECT * FROM users ORDER BY lower(name)")]


def set_password(db: Database, name: str, password: str, *, hasher: argon2.PasswordHasher) -> None:
    """A new password; every session of the user ends."""
    user = get_user(db, name)
    password_hash = hasher.hash(check_password(password))
    with db.write() as tx:
        tx.execute("UPDATE users SET password_hash = ? WHERE id = ?", [password_hash, user.id])
        tx.execute("DELETE FROM sessions WHERE user_id = ?", [user.id])


def set_disabled(db: Database, name: str, disabled: bool, now: datetime | None = None) -> User:
    """Disable (every session ends at once) or enable a user."""
    user = get_user(db, name)
    with db.write() as tx:
        tx.execute(
            "UPDATE users SET disabled_at = ? WHERE id = ?",
            [iso(now or utcnow()) if disabled else None, user.id],
        )
        if disabled:
            tx.execute("DELETE FROM sessions WHERE user_id = ?", [user.id])
    return get_user(db, name)


def login(
    db: Database,
    name: str,
    password: str,
    address: str,
    now: datetime | None = None,
    *,
    hasher: argon2.PasswordHasher,
) -> tuple[User, str]:
    """Check the password and open a session: (user, session token for the cookie).

    Throttled before any check when the name or the address failed too often lately.
    """
    now = now or utcnow()
    name = name.strip()[:100]
    # The attempt counts as a failure from the start, checked and written in one transaction:
    # a burst of parallel tries cannot all pass the check while argon2 works on the first ones.
    with db.write() as tx:
        _check_throttle(tx, name, address, now)
        tx.execute(
            "INSERT INTO login_failures (name, address, at) VALUES (lower(?), ?, ?)",
            [name, address, iso(now)],
        )
    row = db.query_one("SELECT * FROM users WHERE lower(name) = lower(?)", (name,))
    stored = str(row["password_hash"]) if row else dummy_hash(hasher)
    try:
        ok = hasher.verify(stored, password[:MAX_PASSWORD]) and row is not None
    except argon2.exceptions.VerificationError:
        ok = False
    if not ok or row is None or row["disabled_at"] is not None:
        raise BadCredentials("wrong user name or password")
    user = _user(row)
    token = secrets.token_urlsafe(32)
    with db.write() as tx:
        # This attempt and the earlier typos from here; failures from elsewhere (a guesser's)
        # still count against the name there. What is older than the window goes too.
        tx.execute(
            "DELETE FROM login_failures WHERE (name = lower(?) AND address = ?) OR at <= ?",
            [name, address, iso(now - THROTTLE_WINDOW)],
        )
        tx.execute("DELETE FROM sessions WHERE expires_at < ?", [iso(now)])
        tx.execute(
            "INSERT INTO sessions (token_hash, user_id, csrf_token, created_at, expires_at,"
            " last_seen_at) VALUES (?, ?, ?, ?, ?, ?)",
            [
                _hash(token),
                user.id,
                secrets.token_urlsafe(24),
                iso(now),
                iso(now + LIFETIME),
                iso(now),
            ],
        )
        if hasher.check_needs_rehash(stored):
            tx.execute(
                "UPDATE users SET password_hash = ? WHERE id = ?", [hasher.hash(password), user.id]
            )
    return user, token


def _check_throttle(conn: sqlite_utils.Database, name: str, address: str, now: datetime) -> None:
    since = iso(now - THROTTLE_WINDOW)
    from_here = _failures(conn, "name = lower(?) AND address = ?", [name, address], since,
                          MAX_FAILURES_PER_NAME)  # fmt: skip
    anywhere = _failures(conn, "name = lower(?)", [name], since, MAX_FAILURES_PER_NAME_ANYWHERE)
    checks = [
        (from_here, MAX_FAILURES_PER_NAME, f"for {name!r} from {address}"),
        (anywhere, MAX_FAILURES_PER_NAME_ANYWHERE, f"for {name!r} from all addresses"),
    ]
    if anywhere[0]:  # the per-address limit never blocks a name that has not failed
        by_address = _failures(conn, "address = ?", [address], since, MAX_FAILURES_PER_ADDRESS)
        checks.append((by_address, MAX_FAILURES_PER_ADDRESS, f"from {address}"))
    for (count, oldest), limit, which in checks:
        if count >= limit and oldest is not None:
            wait = parse_iso(oldest) + THROTTLE_WINDOW - now
            seconds = max(1, int(wait.total_seconds()) + 1)
            until = (now + timedelta(seconds=seconds)).strftime("%H:%M UTC")
            window = int(THROTTLE_WINDOW.total_seconds() // 60)
            raise Throttled(
                f"{count} failed sign-ins {which} in the last {window} min; refusing until {until}",
                seconds,
                which,
            )


def _failures(conn: sqlite_utils.Database, where: str, values: list[str], since: str,
              limit: int) -> tuple[int, str | None]:  # fmt: skip
    """(failures matching `where` in the window, at most `limit`; the oldest of those)."""
    count, oldest = conn.execute(
        f"SELECT count(*), min(at) FROM (SELECT at FROM login_failures WHERE {where}"
        " AND at > ? ORDER BY at DESC LIMIT ?)",
        [*values, since, limit],
    ).fetchone()
    return int(count), oldest


def session(db: Database, token: str | None, now: datetime | None = None) -> Session:
    """The session a cookie names, still valid; NoSession otherwise."""
    if not token:
        raise NoSession("not signed in")
    now = now or utcnow()
    row = db.query_one(
        "SELECT s.token_hash, s.csrf_token, s.expires_at, s.last_seen_at, u.* FROM sessions s"
        " JOIN users u ON u.id = s.user_id WHERE s.token_hash = ?",
        (_hash(token[:200]),),
    )
    if row is None:
        raise NoSession("the session is unknown or has ended")
    seen = parse_iso(str(row["last_seen_at"]))
    if parse_iso(str(row["expires_at"])) <= now or seen + IDLE <= now:
        end_session(db, token)
        raise NoSession("the session has expired")
    user = _user(row)
    if user.disabled_at is not None:
        raise NoSession("this user is disabled")
    if now - seen >= SEEN_RESOLUTION:
        with db.write() as tx:
            tx.execute(
                "UPDATE sessions SET last_seen_at = ? WHERE token_hash = ?",
                [iso(now), row["token_hash"]],
            )
    return Session(user, str(row["csrf_token"]), str(row["token_hash"]))


def end_session(db: Database, token: str) -> None:
    """Sign out: the session's token stops working."""
    with db.write() as tx:
        tx.execute("DELETE FROM sessions WHERE token_hash = ?", [_hash(token[:200])])

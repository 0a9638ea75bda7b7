"""Devices: one-time enrolment codes, per-device tokens (stored only as sha256), revocation.

A code can be made for the police/EST (`police=True`): the device enrolled with it sees other
devices' disorder findings (categories whose holder is the police, e.g. ORD); no other device
does (sync_server.field.visibility.visible_findings).
"""

from __future__ import annotations

import hashlib
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta

from sync_server.core.db import Database
from sync_server.core.errors import AuthError, EnrolmentError, UnknownDevice
from sync_server.core.time import iso, parse_iso
from walkaudit.model import new_id, utcnow

# Human-typable: no 0/O, 1/I/L. 8 characters of 31 ≈ 40 bits; a code lives a day and works once.
CODE_ALPHABET = "23456789ABCDEFGHJKMNPQRSTUVWXYZ"
CODE_LENGTH = 8
TOKEN_PREFIX = "wa_"
# last_seen_at is written at most this often per device, so authenticating stays a read.
LAST_SEEN_RESOLUTION = timedelta(seconds=60)


@dataclass(frozen=True)
class Device:
    """An enrolled phone or CLI."""

    id: str
    name: str
    created_at: str
    last_seen_at: str | None = None
    revoked_at: str | None = None
    police: bool = False  # enrolled for the police/EST: sees disorder findings

    @property
    def actor(self) -> str:
        """How this device is named in the events it pushes."""
        return f"device:{self.id}"


def sha256_hex(text: str) -> str:
    """sha256 of a string, as hex: how codes and tokens are stored."""
    return hashlib.sha256(text.encode()).hexdigest()


def normalize_code(code: str) -> str:
    """The code as stored: upper case, without dashes or spaces (so `k7qm 2xpd` works)."""
    return "".join(ch for ch in code.upper() if ch.isalnum())


def _device(row: dict[str, object]) -> Device:
    return Device(
        id=str(row["id"]),
        name=str(row["name"]),
        created_at=str(row["created_at"]),
        last_seen_at=row["last_seen_at"] if isinstance(row["last_seen_at"], str) else None,
        revoked_at=row["revoked_at"] if isinstance(row["revoked_at"], str) else None,
        police=bool(row.get("police")),
    )


def create_enrol_code(
    db: Database,
    name: str = "",
    ttl_hours: float = 24,
    now: datetime | None = None,
    *,
    police: bool = False,
) -> str:
    """A new one-time enrolment code like `K7QM-2XPD`; only its hash is stored.

    `police`: the device enrolled with it is the police's/EST's and sees disorder findings.
    """
    now = now or utcnow()
    raw = "".join(secrets.choice(CODE_ALPHABET) for _ in range(CODE_LENGTH))
    with db.write() as tx:
        tx.execute(
            "INSERT INTO enrol_codes (code_hash, name, created_at, expires_at, police)"
            " VALUES (?, ?, ?, ?, ?)",
            (sha256_hex(raw), name.strip(), iso(now), iso(now + timedelta(hours=ttl_hours)),
             int(police)),
        )  # fmt: skip
    return f"{raw[:4]}-{raw[4:]}"


def enrol(
    db: Database, code: str, device_name: str = "", now: datetime | None = None
) -> tuple[Device, str]:
    """Use a code once: creates a device and returns it with its token (shown only now)."""
    now = now or utcnow()
    code_hash = sha256_hex(normalize_code(code))
    token = TOKEN_PREFIX + secrets.token_urlsafe(32)
    with db.write() as tx:
        rows = tx.query("SELECT * FROM enrol_codes WHERE code_hash = ?", [code_hash])
        row = next(iter(rows), None)
        if row is None:
            raise EnrolmentError(
                "this enrolment code is unknown; check it for typos or ask the coordinator for a "
                "new one (walkaudit-server enrol-code)"
            )
        if row["used_at"] is not None:
            raise EnrolmentError(
                f"this enrolment code was already used ({row['used_at'][:16]} UTC); each code "
                "enrols one device, so ask the coordinator for a new one"
            )
        if parse_iso(row["expires_at"]) <= now:
            raise EnrolmentError(
                f"this enrolment code expired at {row['expires_at'][:16]} UTC; ask the "
                "coordinator for a new one"
            )
        name = (device_name.strip() or row["name"] or "device")[:200]
        device = Device(id=new_id(), name=name, created_at=iso(now), last_seen_at=iso(now),
                        police=bool(row["police"]))  # fmt: skip
        tx.execute(
            "INSERT INTO devices (id, name, token_hash, created_at, last_seen_at, police) "
            "VALUES (?, ?, ?, ?, ?, ?)",
            (device.id, device.name, sha256_hex(token), device.created_at, device.last_seen_at,
             int(device.police)),
        )  # fmt: skip
        tx.execute(
            "UPDATE enrol_codes SET used_at = ?, device_id = ? WHERE code_hash = ?",
            (iso(now), device.id, code_hash),
        )
    return device, token


def authenticate(db: Database, token: str, now: datetime | None = None) -> Device:
    """The device a bearer token belongs to; AuthError if it is unknown or revoked."""
    row = db.query_one("SELECT * FROM devices WHERE token_hash = ?", (sha256_hex(token),))
    if row is None:
        raise AuthError(
            "this device token is not known to this server; enrol the device again with a new code"
        )
    device = _device(row)
    if device.revoked_at is not None:
        raise AuthError(
            f"this device was revoked ({device.revoked_at[:16]} UTC); ask the coordinator for "
            "a new enrolment code"
        )
    now = now or utcnow()
    if device.last_seen_at is None or parse_iso(device.last_seen_at) + LAST_SEEN_RESOLUTION < now:
        with db.write() as tx:
            tx.execute("UPDATE devices SET last_seen_at = ? WHERE id = ?", (iso(now), device.id))
    return device


def get_device(db: Database, device_id: str) -> Device:
    """The device with this id; UnknownDevice if there is none."""
    row = db.query_one("SELECT * FROM devices WHERE id = ?", (device_id,))
    if row is None:
        raise UnknownDevice(
            f"no device has the id {device_id!r}; `walkaudit-server devices list` shows them"
        )
    return _device(row)


def list_devices(db: Database) -> list[Device]:
    """Every device ever enrolled, oldest first."""
    rows = db.conn().query("SELECT * FROM devices ORDER BY created_at, id")
    return [_device(row) for row in rows]


def revoke(db: Database, device_id: str, now: datetime | None = None) -> Device:
    """Revoke a device's token (idempotent: revoking twice keeps the first time)."""
    device = get_device(db, device_id)
    if device.revoked_at is None:
        with db.write() as tx:
            tx.execute(
                "UPDATE devices SET revoked_at = ? WHERE id = ? AND revoked_at IS NULL",
                (iso(now or utcnow()), device_id),
            )
        device = get_device(db, device_id)
    return device


def register_device(
    db: Database, device_id: str, name: str, now: datetime | None = None, *, police: bool = False
) -> Device:
    """Create a device with a random token nobody learns (for seeding); idempotent by id."""
    now = now or utcnow()
    with db.write() as tx:
        tx.execute(
            "INSERT OR IGNORE INTO devices (id, name, token_hash, created_at, police)"
            " VALUES (?, ?, ?, ?, ?)",
            (device_id, name, sha256_hex(secrets.token_urlsafe(32)), iso(now), int(police)),
        )
    return get_device(db, device_id)

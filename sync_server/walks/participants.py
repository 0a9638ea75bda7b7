"""A walk's participants: who walked, and so who gets the protocol by email.

Names and organisations are stored with their spaces tidied; an email address is checked
deliberately plainly (one @, nothing that means something in a mail header) and its domain
stored lower-case and IDNA-encoded. The same address twice on a walk is one participant.
Refusals are BadParticipant (sync_server.walks.errors), with the page's message key.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime

from sync_server.core.db import Database
from sync_server.core.time import iso
from sync_server.walks.errors import BadParticipant
from sync_server.walks.listing import get_walk
from walkaudit.model import utcnow

MAX_NAME, MAX_ORGANISATION, MAX_EMAIL = 200, 200, 254
# Deliberately plain: one @, no spaces or characters that mean something in a mail header.
_EMAIL = re.compile(
    r"^[A-Za-z0-9.!#$%&'*+/=?^_`{|}~-]+@[^\s@<>()\[\]\\,;:\"]+\.[^\s@<>()\[\]\\,;:\".]+$"
)


@dataclass(frozen=True)
class Participant:
    id: int
    name: str
    organisation: str
    email: str
    added_at: str

    @property
    def label(self) -> str:
        """'Name (Organisation)', either alone, or the email when neither was given."""
        if self.name and self.organisation:
            return f"{self.name} ({self.organisation})"
        return self.name or self.organisation or self.email


def participants(db: Database, walk_id: str) -> list[Participant]:
    """The walk's participants in the order they were added."""
    rows = db.conn().execute(
        "SELECT id, name, organisation, email, added_at FROM walk_participants"
        " WHERE walk_id = ? ORDER BY id",
        [walk_id],
    )
    return [Participant(*r) for r in rows]


def clean_email(value: str) -> str:
    """The address to store (domain lower-case, IDNA-encoded); BadParticipant if unusable."""
    email = value.strip()
    if not email:
        raise BadParticipant("the email address is empty", "walks.error.email_missing")
    if len(email) > MAX_EMAIL:
        raise BadParticipant("the email address is too long", "walks.error.too_long",
                             field="email", n=MAX_EMAIL, length=len(email))  # fmt: skip
    local, at, domain = email.rpartition("@")
    try:
        domain = domain.encode("idna").decode("ascii").lower() if at else domain
    except UnicodeError:
        domain = ""
    candidate = f"{local}@{domain}"
    if not at or not _EMAIL.match(candidate) or ".." in candidate:
        raise BadParticipant(f"{email!r} is not an email address", "walks.error.email_bad",
                             email=email)  # fmt: skip
    return candidate


def add_participant(db: Database, walk_id: str, *, name: str, organisation: str, email: str,
                    now: datetime | None = None) -> bool:  # fmt: skip
    """Add a participant; False if the walk has one with this email already (nothing changes)."""
    name, organisation = " ".join(name.split()), " ".join(organisation.split())
    for label, value, limit in (("name", name, MAX_NAME), ("organisation", organisation,
                                                            MAX_ORGANISATION)):  # fmt: skip
        if len(value) > limit:
            raise BadParticipant(f"the {label} is too long", "walks.error.too_long",
                                 field=label, n=limit, length=len(value))  # fmt: skip
    address = clean_email(email)
    get_walk(db, walk_id)
    with db.write() as tx:
        cur = tx.execute(
            "INSERT OR IGNORE INTO walk_participants (walk_id, name, organisation, email,"
            " added_at) VALUES (?, ?, ?, ?, ?)",
            [walk_id, name, organisation, address, iso(now or utcnow())],
        )
        return cur.rowcount == 1


def remove_participant(db: Database, walk_id: str, participant_id: int) -> bool:
    """Remove a participant; False if there was none with this id (a second click)."""
    with db.write() as tx:
        cur = tx.execute(
            "DELETE FROM walk_participants WHERE walk_id = ? AND id = ?", [walk_id, participant_id]
        )
        return cur.rowcount == 1

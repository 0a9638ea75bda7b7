"""What the holder of a finding answered, as the walker sees it: who holds it (the owner, or the
police/EST for disorder), the comment, the planned date and a small copy of the fix photo.

The answers themselves arrive with pull (`status_events`, the whole FindingEvent). Their photos
are fetched by `fetch_answer_photos` after each sync, as small copies (walkaudit.remote); a photo
that cannot be fetched is tried again after the next sync and never fails the sync.
No flet here: the views ask this module, and so can the CLI.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date
from typing import TYPE_CHECKING

from walkaudit import categories, model
from walkaudit.remote import RemotePhotos

if TYPE_CHECKING:
    from walkaudit.store import Store
    from walkaudit.sync import SyncClient

_CHECKED_KEY = "answers.photos_checked_seq"  # pulled events up to here have had their photos
# "2027-01-15 – comment" (the owner page writes the date first; the dash may be any dash).
_PLANNED = re.compile(r"^\s*(\d{4}-\d{2}-\d{2})(?:\s*[-–—]\s*(.*))?\s*$", re.DOTALL)


def fetch_answer_photos(store: Store, client: SyncClient) -> int:
    """Fetch small copies of answer photos not yet on the device; returns how many arrived.

    Cheap when nothing is new: one look at the pulled events after the last one checked, and
    the short list of photos that failed before.
    """
    photos = RemotePhotos(store)
    since = int(store.get_meta(_CHECKED_KEY) or 0)
    [top] = store.query("SELECT coalesce(max(seq), 0) AS seq FROM status_events")
    rows = store.query(
        "SELECT json FROM status_events WHERE seq > ? AND seq <= ?"
        " AND json_array_length(json, '$.photos') > 0 ORDER BY seq",
        [since, top["seq"]],
    )
    wanted = photos.wanted()
    shas = [
        p.sha256 for r in rows for p in model.FindingEvent.model_validate_json(r["json"]).photos
    ]
    arrived = 0
    if shas or wanted:
        # Failures land in the wanted list, so the pulled events need not be looked at again.
        arrived, _ = photos.fetch_missing(client, [*wanted, *shas])
    if top["seq"] > since:
        store.set_meta(**{_CHECKED_KEY: str(top["seq"])})
    return arrived


# ---- who holds a finding ----------------------------------------------------------------------


def holder(category: str | None) -> str:
    """Who a finding goes to: 'police' for disorder (police/EST), else 'owner'."""
    if category and category in categories.BY_CODE:
        return "police" if categories.BY_CODE[category].owner_kind == "police" else "owner"
    return "owner"


# Statuses whose words name the holder ("Sent to the owner", "Not the owner's").
_HOLDER_WORDS = frozenset({"sent", "not_ours"})


def status_key(status: str, category: str | None = None) -> str:
    """The i18n key of a server status, naming the right holder (police for disorder)."""
    if status in _HOLDER_WORDS and holder(category) == "police":
        return f"answers.status.{status}.police"
    return f"status.{status}"


def event_key(kind: str, category: str | None = None) -> str:
    """The i18n key of an event in a finding's history."""
    if kind in model.FindingStatus._value2member_map_:
        return status_key(kind, category)
    return f"answers.kind.{kind}"


def actor_key(actor: str, category: str | None = None) -> tuple[str, dict[str, str]] | None:
    """How to name who made an event: (i18n key, values), or None when it says nothing."""
    if actor.startswith("owner:"):
        return f"answers.by.{holder(category)}", {}
    if actor.startswith("user:"):
        return "answers.by.user", {"name": actor.removeprefix("user:")}
    if actor.startswith("device:"):
        return "answers.by.walker", {}
    if not actor or actor == "server":
        return None
    return "answers.by.user", {"name": actor}  # a name the server's side wrote (e.g. the demo)


# ---- what an answer says ------------------------------------------------------------------------


@dataclass(frozen=True)
class Answer:
    """One answer, ready to show: its event, the planned date, the comment, its photos."""

    event: model.FindingEvent
    planned: date | None
    comment: str

    @property
    def photos(self) -> list[str]:
        return [p.sha256 for p in self.event.photos]


def read_answer(event: model.FindingEvent) -> Answer:
    """Split an answer's note: a planned answer starts with its ISO date."""
    note = event.note.strip()
    if event.kind is model.EventKind.PLANNED:
        m = _PLANNED.match(note)
        if m:
            try:
                return Answer(event, date.fromisoformat(m[1]), (m[2] or "").strip())
            except ValueError:
                pass  # not a real date: show the note as it is
    return Answer(event, None, note)


def answers_of(store: Store, finding_id: str) -> list[Answer]:
    """The holder's answers to one of this device's findings, newest first."""
    history = reversed(store.history(finding_id))
    return [read_answer(e) for e in history if e.kind in model.ANSWER_KINDS]


def long_date(day: date, months: str) -> str:
    """'15 januari 2027': `months` is the language's twelve month names, space-separated."""
    names = months.split()
    return f"{day.day} {names[day.month - 1]} {day.year}"

"""Time as the server stores it and as people read it: one home for Sweden's zone and its dates.

Everything is stored in UTC (`iso`, sortable text with a Z); every time a person reads — a page,
a mail, a PDF, a deadline, "today" — is Swedish local time (Europe/Stockholm, summer time
included), wherever the server runs. A stored time that has no Swedish equivalent (the last hours
of the year 9999 in UTC, from a phone's clock gone wrong) is shown as stored, never a crash.
"""

from __future__ import annotations

from datetime import UTC, date, datetime, time
from zoneinfo import ZoneInfo

from walkaudit.model import utcnow

SWEDEN = ZoneInfo("Europe/Stockholm")


def iso(value: datetime) -> str:
    """A timestamp as stored: UTC, ISO 8601 with microseconds and a Z (sorts as text)."""
    return value.astimezone(UTC).isoformat(timespec="microseconds").replace("+00:00", "Z")


def parse_iso(value: str) -> datetime:
    """The inverse of `iso` (any ISO 8601 with an offset or a Z)."""
    return datetime.fromisoformat(value.replace("Z", "+00:00"))


def in_sweden(value: datetime) -> datetime:
    """The same instant on a Swedish clock."""
    return value.astimezone(SWEDEN)


def swedish_date(value: datetime) -> date:
    """The Swedish calendar date at that instant; past the calendar's end, the UTC date."""
    try:
        return value.astimezone(SWEDEN).date()
    except OverflowError:  # the last hours of year 9999 (UTC) have no Swedish date
        return value.date()


def today_in_sweden(now: datetime | None = None) -> date:
    """Today's date in Sweden (deadlines, planned dates and weeks are Swedish dates)."""
    return swedish_date(now or utcnow())


def start_of_day(day: date) -> datetime:
    """Midnight that Swedish day began, as an aware datetime."""
    return datetime.combine(day, time(), SWEDEN)


def local_time(value: str | datetime | None) -> str:
    """A stored time as Swedish local time, `2026-11-25 18:03`; '' for None.

    A value this server cannot convert (unreadable, or the year 9999 in UTC) is shown as stored:
    a page or a mail with one odd finding still renders.
    """
    if not value:
        return ""
    try:
        moment = parse_iso(value) if isinstance(value, str) else value
        return moment.astimezone(SWEDEN).strftime("%Y-%m-%d %H:%M")
    except (ValueError, OverflowError, TypeError, AttributeError):
        return str(value)


def local_day(value: str | datetime | None) -> str:
    """A stored time as its Swedish calendar date; a bare date passes through."""
    if not value:
        return ""
    if isinstance(value, str) and len(value) == 10:
        return value
    return local_time(value)[:10]


def local_iso(value: str | datetime) -> str:
    """A stored time in ISO 8601 with the Swedish offset, to the second (exports, Open311)."""
    moment = parse_iso(value) if isinstance(value, str) else value
    return moment.astimezone(SWEDEN).isoformat(timespec="seconds")

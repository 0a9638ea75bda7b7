"""Times as the walker reads them: Swedish local time (Europe/Stockholm), on every screen.

Timestamps are stored and sent in UTC; only what a person reads is local. The web workspace and
the owner's mail show Swedish time, so the app does too — not the zone of whatever process runs
the Python side (in web mode that is the server, often UTC).
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone, tzinfo
from functools import lru_cache

ZONE_NAME = "Europe/Stockholm"


@lru_cache(maxsize=1)
def _zone() -> tzinfo | None:
    try:
        from zoneinfo import ZoneInfo

        return ZoneInfo(ZONE_NAME)
    except Exception:  # no tz database at all: the EU rule below still gives Swedish time
        return None


def _eu_offset(utc: datetime) -> timezone:
    """CET/CEST by the EU rule (last Sunday of March/October, 01:00 UTC)."""

    def last_sunday(month: int) -> datetime:
        last = datetime(utc.year, month, 31, 1, tzinfo=UTC)
        return last - timedelta(days=(last.weekday() + 1) % 7)

    summer = last_sunday(3) <= utc < last_sunday(10)
    return timezone(timedelta(hours=2 if summer else 1))


def local(value: datetime) -> datetime:
    """A UTC (or any aware) timestamp in Swedish local time; a naive one is taken as UTC."""
    if value.tzinfo is None:
        value = value.replace(tzinfo=UTC)
    zone = _zone()
    if zone is not None:
        return value.astimezone(zone)
    utc = value.astimezone(UTC)
    return utc.astimezone(_eu_offset(utc))


def parse(value: str | datetime) -> datetime:
    """A stored ISO timestamp (or a datetime) as an aware datetime."""
    if isinstance(value, datetime):
        return value
    return datetime.fromisoformat(value)


def _shown(value: str | datetime, pattern: str) -> str:
    """The time in Swedish local time. One that has none — from 23:00 UTC on 9999-12-31, the
    end of the calendar, from a phone's clock gone wrong — is shown as its UTC time, marked so,
    rather than crashing the screen that lists it."""
    at = parse(value)
    try:
        return local(at).strftime(pattern)
    except OverflowError:
        pass
    if at.tzinfo is None:
        at = at.replace(tzinfo=UTC)
    try:
        return f"{at.astimezone(UTC).strftime(pattern)} UTC"
    except OverflowError:  # not even UTC fits (e.g. 23:59 at UTC-05:00): as written, with its zone
        return f"{at.strftime(pattern)} {at.tzname()}"


def hm(value: str | datetime) -> str:
    """'18:03' in Swedish time."""
    return _shown(value, "%H:%M")


def day_hm(value: str | datetime) -> str:
    """'2026-11-25 18:03' in Swedish time."""
    return _shown(value, "%Y-%m-%d %H:%M")

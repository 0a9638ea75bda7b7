"""The query strings of GET requests and GET servicerequestupdates, and dates in and out.

Dates go out in W3C form with the Europe/Stockholm offset; dates coming in need a zone (or are a
bare date, meaning that Swedish day).

Paging: newest first, at most MAX_PAGE_SIZE (1000) per answer; `page_size` (or FixMyStreet's
`max_requests`) and `page` (from 1) go further, and a full page carries a Link rel="next". There
is no 90-day default window: deadlines run 6-12 months and an open finding must stay reachable.
As the standard says, service_request_id ignores every other filter.

Raises InvalidValue (see `errors`), naming the parameter that cannot be used.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta

from sync_server.core.time import SWEDEN, iso, parse_iso
from sync_server.open311.errors import InvalidValue
from walkaudit.categories import CATEGORIES, CODES

MAX_PAGE_SIZE = 1000


@dataclass(frozen=True)
class Window:
    """A time range and a page of results, newest first."""

    start: str | None = None  # stored-form timestamp, inclusive
    end: str | None = None
    end_inclusive: bool = True
    page: int = 1
    size: int = MAX_PAGE_SIZE


@dataclass(frozen=True)
class RequestQuery:
    """GET requests: ids (which override the rest), service codes, open/closed, a window."""

    ids: tuple[str, ...] = ()
    codes: tuple[str, ...] = ()
    statuses: frozenset[str] = frozenset()
    window: Window = Window()


def w3c_in(value: str, name: str, *, end: bool = False) -> tuple[str, bool]:
    """A W3C date or time from a client in stored form, and whether it is inclusive (a bare
    date's end is the next Swedish midnight, exclusive); InvalidValue names the parameter."""
    # A '+' typed into a URL arrives as a space: "…T18:03:00 01:00" meant "+01:00".
    value = re.sub(r" (\d\d:?\d\d)$", r"+\1", value.strip())
    try:
        if len(value) == 10:  # a bare date: that day in Sweden (end: to its end)
            day = date.fromisoformat(value)
            _plausible(day.year, name)
            day += timedelta(days=1 if end else 0)
            return iso(datetime.combine(day, time(), SWEDEN)), not end
        moment = datetime.fromisoformat(value)
    except ValueError:
        raise InvalidValue(f"{name}: use W3C form, e.g. 2026-11-25T18:03:00+01:00") from None
    if moment.tzinfo is None:
        raise InvalidValue(f"{name}: give the time zone, e.g. 2026-11-25T18:03:00+01:00 or …Z")
    _plausible(moment.year, name)
    return iso(moment), True


def _plausible(year: int, name: str) -> None:
    # Year 1 or 9999 is a typo, and converting it to UTC would overflow.
    if not 2000 <= year <= 2100:
        raise InvalidValue(f"{name}: a date between 2000 and 2100")


def w3c(stored: str) -> str:
    """A stored UTC timestamp in W3C form with the Swedish offset, to the second (a time past
    the calendar's end in Swedish time, year 9999 UTC, in UTC: one odd finding, not no feed)."""
    moment = parse_iso(stored)
    try:
        return moment.astimezone(SWEDEN).isoformat(timespec="seconds")
    except OverflowError:
        return moment.isoformat(timespec="seconds")


def _int(params: Mapping[str, str], names: tuple[str, ...], default: int, top: int) -> int:
    name = next((n for n in names if (params.get(n) or "").strip()), None)
    if name is None:
        return default
    try:
        value = int(params[name].strip())
    except ValueError:
        raise InvalidValue(f"{name}: a whole number from 1 to {top}") from None
    if not 1 <= value <= top:
        raise InvalidValue(f"{name}: a whole number from 1 to {top} (got {value})")
    return value


def parse_window(params: Mapping[str, str]) -> Window:
    """start_date, end_date, page_size (or max_requests) and page from a query string."""
    start = end = None
    inclusive = True
    if (params.get("start_date") or "").strip():
        start, _ = w3c_in(params["start_date"], "start_date")
    if (params.get("end_date") or "").strip():
        end, inclusive = w3c_in(params["end_date"], "end_date", end=True)
    if start and end and start > end:
        raise InvalidValue("start_date is after end_date")
    size = _int(params, ("page_size", "max_requests"), MAX_PAGE_SIZE, MAX_PAGE_SIZE)
    return Window(start, end, inclusive, _int(params, ("page",), 1, 1_000_000), size)


def _csv(value: str | None) -> list[str]:
    return [part.strip() for part in (value or "").split(",") if part.strip()]


def parse_request_query(params: Mapping[str, str]) -> RequestQuery:
    """A GET requests query string; InvalidValue names what cannot be used."""
    ids = tuple(dict.fromkeys(i.lower() for i in _csv(params.get("service_request_id"))))
    if len(ids) > MAX_PAGE_SIZE:
        raise InvalidValue(f"service_request_id: {MAX_PAGE_SIZE} ids at most per request")
    if ids:  # the standard: "if this parameter is present, other parameters are ignored"
        return RequestQuery(ids=ids)
    codes = tuple(c.upper() for c in _csv(params.get("service_code")))
    unknown = [c for c in codes if c not in CODES]
    if unknown:
        valid = ", ".join(c.code for c in CATEGORIES)
        raise InvalidValue(f"service_code: {unknown[0]} is not a service; use one of {valid}")
    statuses = frozenset(s.lower() for s in _csv(params.get("status")))
    if statuses - {"open", "closed"}:
        raise InvalidValue("status: open or closed (or both, comma-separated)")
    return RequestQuery((), codes, statuses, parse_window(params))

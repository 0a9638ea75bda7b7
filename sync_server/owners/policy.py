"""The policy for a finding's urgency: its fix-by date (deadline) and its default priority.

Both read the same facts (severity, and the categories where people feel least safe or that are
no defect at all), so they live together: changing how fast lighting must be fixed is one edit
here, not one in routing and another on the coordinator's desk. Routing stamps `deadline` on
every assignment; the coordinator's list, export and the walk protocol show `default_priority`
until someone sets one.

A capture time is what a phone's clock said: `capture_day` refuses one no walk can have produced
(BadCaptureTime), and `noted_day` falls back to today for it, so a deadline is always a real date.
"""

from __future__ import annotations

from datetime import date, datetime, timedelta

from sync_server.core.time import SWEDEN, parse_iso
from sync_server.owners.errors import BadCaptureTime
from walkaudit.categories import FELT_UNSAFE, NOT_A_DEFECT
from walkaudit.model import utcnow

# Days from capture to the fix-by date, per severity (practice: 6-12 months; urgent: weeks).
DEADLINE_DAYS = {"urgent": 14, "high": 90, "medium": 180, "low": 365}
# A capture time outside [EARLIEST_CAPTURE, now + CLOCK_SKEW] is a phone's clock, not a walk.
EARLIEST_CAPTURE = date(2000, 1, 1)
CLOCK_SKEW = timedelta(days=1)
_STEPS = ("urgent", "high", "medium", "low")


def capture_day(captured_at: str, now: datetime | None = None) -> date:
    """The Swedish date a finding was captured; BadCaptureTime if the time is unreadable,
    before 2000 or more than CLOCK_SKEW ahead of `now` (what a device's clock, not a walk,
    produced: the year 9999 does not fit a date plus a deadline)."""
    now = now or utcnow()
    impossible = BadCaptureTime(
        f"capture time {captured_at} is impossible: before {EARLIEST_CAPTURE.year} or "
        f"later than {CLOCK_SKEW.days} day after the server's clock"
    )
    try:
        moment = parse_iso(str(captured_at))
        if moment.tzinfo is None:
            raise ValueError("it has no time zone")
        day = moment.astimezone(SWEDEN).date()
    except OverflowError:  # the last instant of 9999 in UTC is the year 10000 in Sweden
        raise impossible from None
    except (ValueError, TypeError) as exc:
        raise BadCaptureTime(f"capture time {captured_at!r} cannot be read ({exc})") from None
    if not EARLIEST_CAPTURE <= day <= (now + CLOCK_SKEW).astimezone(SWEDEN).date():
        raise impossible
    return day


def noted_day(captured_at: str, now: datetime | None = None) -> date:
    """The day a deadline counts from: the capture day, or today if the capture time is
    impossible (a device's clock; such a finding can still be routed and planned)."""
    try:
        return capture_day(captured_at, now)
    except BadCaptureTime:
        return (now or utcnow()).astimezone(SWEDEN).date()


def deadline(
    severity: str, captured_at: str, category: str = "", now: datetime | None = None
) -> str:
    """The fix-by date: the Swedish date of capture plus DEADLINE_DAYS[severity], ISO; one step
    sooner for the categories where people feel least safe, never urgent for a positive one.

    From an impossible capture time (see `capture_day`) it counts from today: a coordinator
    who routes such a finding by hand gets a real date, never an error."""
    day = noted_day(captured_at, now)
    step = _STEPS.index(severity) if severity in _STEPS else _STEPS.index("medium")
    if category in FELT_UNSAFE:
        step = max(0, step - 1)
    elif category in NOT_A_DEFECT:
        step = len(_STEPS) - 1
    return (day + timedelta(days=DEADLINE_DAYS[_STEPS[step]])).isoformat()


def default_priority(severity: str, category: str = "") -> str:
    """Priority 1 (act first) to 3: urgent/high 1, medium 2, low 3, one step up for lighting,
    hiding places, entrances and disorder; positive findings 3."""
    if category in NOT_A_DEFECT:
        return "3"
    level = {"urgent": 1, "high": 1, "medium": 2}.get(severity, 3)
    if category in FELT_UNSAFE:
        level = max(1, level - 1)
    return str(level)

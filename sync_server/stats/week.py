"""The weekly lägesbild: what an ISO week brought and what is waiting, for the action plan.

`weekly_summary(db, week, today)` gives, for a week (Monday-Sunday, Swedish time): the new
findings per category and area (from `numbers.overview`, so the same numbers as the statistics
page for that week), how many were sent, acknowledged and fixed during it (finding_tracking's
first sent/acknowledged and latest fixed times), the findings fixed, and — as of `today` — what
is open, overdue per owner, without owner, the oldest open findings and the places with the most
new findings. Merged-away duplicates are never counted.

One finding with odd data (a capture time in the year 9999, an unreadable one) never costs the
week its summary: it is counted where it can be, left out of the lists where it cannot, and
logged with its id.

`send_summary` emails it (HTML + text + the PDF) through the outbox, one message per recipient
with the dedupe key `lagesbild:{week}:{address}`: a second click sends nothing more.

    StatsError (ServerError)
     └── BadWeek        a week that is not like 2026-W05 (also a ValueError)
"""

from __future__ import annotations

import logging
import re
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from typing import Any

from sync_server import (
    mail,
    texts,  # noqa: F401 - every catalogue, registered once
)
from sync_server.config import Settings
from sync_server.core.db import Database
from sync_server.core.errors import ServerError
from sync_server.core.finding_filters import NOT_MERGED
from sync_server.core.time import SWEDEN, parse_iso
from sync_server.mail import sender
from sync_server.stats import numbers
from sync_server.texts import mail as texts_mail
from walkaudit import i18n
from walkaudit.model import OPEN_STATUSES, utcnow

log = logging.getLogger(__name__)

KIND = "lagesbild"
OLDEST = 10  # open findings listed
FIXED_LISTED = 20
PLACES = 5
MAX_RECIPIENTS = 20
_OPEN = f"f.status IN ({', '.join(repr(s) for s in OPEN_STATUSES)})"
_WEEK = re.compile(r"\s*(\d{4})-?W(\d{1,2})\s*", re.IGNORECASE)
_ADDRESS = re.compile(r"[^@\s,;<>\"']+@[^@\s,;<>\"']+\.[^@\s,;<>\"'.]{2,}")


class StatsError(ServerError):
    """Base of what the statistics refuse."""


class BadWeek(StatsError, ValueError):
    """A week that is not like 2026-W05, or does not exist."""


@dataclass(frozen=True, order=True)
class Week:
    """An ISO week."""

    year: int
    number: int

    @classmethod
    def parse(cls, text: str) -> Week:
        """'2026-W05' (also '2026W5'); BadWeek otherwise."""
        found = _WEEK.fullmatch(text or "")
        if not found:
            raise BadWeek(f"week {text!r}: write it like 2026-W05")
        year, number = int(found[1]), int(found[2])
        try:
            date.fromisocalendar(year, number, 1)
        except ValueError:
            raise BadWeek(f"{year} has no week {number}") from None
        if not 2000 <= year <= 2100:
            raise BadWeek(f"week {text!r}: the year is out of range")
        return cls(year, number)

    @classmethod
    def containing(cls, day: date) -> Week:
        """The ISO week a day belongs to."""
        year, number, _ = day.isocalendar()
        return cls(year, number)

    @classmethod
    def last_full(cls, today: date) -> Week:
        """The week before the current one: the last that is over."""
        return cls.containing(today - timedelta(days=7))

    @property
    def monday(self) -> date:
        return date.fromisocalendar(self.year, self.number, 1)

    @property
    def sunday(self) -> date:
        return self.monday + timedelta(days=6)

    @property
    def label(self) -> str:
        """'2026-W05', as an <input type=week> sends it."""
        return f"{self.year}-W{self.number:02d}"

    def shifted(self, weeks: int) -> Week:
        """The week `weeks` later (earlier if negative)."""
        return Week.containing(self.monday + timedelta(weeks=weeks))

    def selection(self) -> numbers.Selection:
        """The statistics selection for this week."""
        return numbers.Selection(self.monday, self.sunday, "week")


@dataclass(frozen=True)
class Item:
    """A finding in a list of the summary."""

    finding_id: str
    category: str
    area: str
    owner: str
    noted: date
    deadline: str | None = None
    days: float | None = None  # to fix (fixed list) or since noted (open list)
    overdue: bool = False


@dataclass(frozen=True)
class OwnerLate:
    owner_id: str | None
    name: str
    overdue: int
    open: int
    oldest_deadline: str


@dataclass(frozen=True)
class Place:
    name: str
    new: int
    open_now: int


@dataclass
class Summary:
    """One week's lägesbild (see the module docstring)."""

    week: Week
    today: date
    new: int = 0
    new_previous: int = 0
    new_by_category: list[tuple[str, int]] = field(default_factory=list)
    new_by_area: list[tuple[str, int]] = field(default_factory=list)  # '' = "–"
    sent: int = 0
    acknowledged: int = 0
    fixed: int = 0
    fixed_by_category: list[tuple[str, int]] = field(default_factory=list)
    fixed_items: list[Item] = field(default_factory=list)
    open_now: int = 0
    overdue_now: int = 0
    triage_now: int = 0
    overdue_by_owner: list[OwnerLate] = field(default_factory=list)
    oldest_open: list[Item] = field(default_factory=list)
    places: list[Place] = field(default_factory=list)


def weekly_summary(db: Database, week: Week, today: date) -> Summary:
    """The lägesbild for a week, with open and overdue as of `today`."""
    conn = db.conn()
    summary = Summary(week, today)
    # A week's findings: a small, indexed range, so SQL is quick here.
    seen = numbers.overview(db, week.selection(), today)
    summary.new = seen.total
    summary.new_by_category = sorted(
        ((code, sum(v)) for code, v in seen.by_category.items()), key=lambda kv: (-kv[1], kv[0])
    )
    summary.new_by_area = [(a.name, a.total) for a in seen.areas]
    previous = week.shifted(-1).selection()
    sql_where, params = numbers.where(previous)
    summary.new_previous = conn.execute(
        f"SELECT count(*) FROM findings f{sql_where}", params
    ).fetchone()[0]

    start, end = numbers.start_of_day(week.monday), numbers.start_of_day(week.sunday + timedelta(1))
    row = conn.execute(
        "SELECT coalesce(sum(sent_at >= ? AND sent_at < ?), 0),"
        " coalesce(sum(acknowledged_at >= ? AND acknowledged_at < ?), 0),"
        " coalesce(sum(fixed_at >= ? AND fixed_at < ?), 0)"
        " FROM finding_tracking WHERE merged_into IS NULL",
        [start, end] * 3,
    ).fetchone()
    summary.sent, summary.acknowledged, summary.fixed = (int(v) for v in row)

    fixed: dict[str, int] = {}
    for fid, code, area, owner, captured, fixed_at in conn.execute(
        f"SELECT f.id, f.category, w.area, o.name, f.captured_at, ft.fixed_at{_FROM}"
        " WHERE ft.fixed_at >= ? AND ft.fixed_at < ? AND ft.merged_into IS NULL"
        " ORDER BY ft.fixed_at, f.id",
        [start, end],
    ):
        fixed[code] = fixed.get(code, 0) + 1
        if len(summary.fixed_items) < FIXED_LISTED:
            try:
                days = (parse_iso(fixed_at) - parse_iso(captured)).total_seconds() / 86400
                noted = _day(captured)
            except (ValueError, OverflowError, TypeError) as exc:
                log.warning("weekly summary: finding %s not listed as fixed: %s", fid, exc)
                continue
            summary.fixed_items.append(
                Item(fid, code, area or "", owner or "", noted, days=round(max(days, 0), 1))
            )
    summary.fixed_by_category = sorted(fixed.items(), key=lambda kv: (-kv[1], kv[0]))

    owners = []
    for owner_id, name, open_n, late, oldest in conn.execute(
        f"SELECT a.owner_id, o.name, count(*), coalesce(sum(a.deadline < ?), 0),"
        f" min(CASE WHEN a.deadline < ? THEN a.deadline END){_FROM} WHERE {_OPEN}"
        f" AND {NOT_MERGED} GROUP BY a.owner_id",
        [today.isoformat()] * 2,
    ):
        summary.open_now += open_n
        summary.overdue_now += late
        if owner_id is None:
            summary.triage_now += open_n
        if late:
            owners.append(OwnerLate(owner_id, name or "", late, open_n, oldest or ""))
    summary.overdue_by_owner = sorted(owners, key=lambda o: (-o.overdue, o.oldest_deadline))

    for fid, code, area, owner, captured, deadline in conn.execute(
        f"SELECT f.id, f.category, w.area, o.name, f.captured_at, a.deadline{_FROM}"
        f" WHERE {_OPEN} AND {NOT_MERGED} ORDER BY f.captured_at, f.id LIMIT ?",
        [OLDEST],
    ):
        try:
            noted = _day(captured)
        except (ValueError, OverflowError, TypeError) as exc:
            log.warning("weekly summary: finding %s not listed as open: %s", fid, exc)
            continue
        summary.oldest_open.append(
            Item(
                fid,
                code,
                area or "",
                owner or "",
                noted,
                deadline,
                days=(today - noted).days,
                overdue=bool(deadline) and str(deadline) < today.isoformat(),
            )
        )

    for area in [a for a in seen.areas if a.key][:PLACES]:  # "–" is not a place
        open_now = conn.execute(
            f"SELECT count(*) FROM findings f WHERE {_OPEN} AND {NOT_MERGED} AND f.walk_id"
            " IN (SELECT id FROM walks WHERE lower(area) = lower(?))",
            [area.name],
        ).fetchone()[0]
        summary.places.append(Place(area.name, area.total, open_now))
    return summary


_FROM = (
    " FROM findings f LEFT JOIN assignments a ON a.finding_id = f.id"
    " LEFT JOIN owners o ON o.id = a.owner_id LEFT JOIN walks w ON w.id = f.walk_id"
    " LEFT JOIN finding_tracking ft ON ft.finding_id = f.id"
)


def _day(stamp: str) -> date:
    """The Swedish date of a stored time; the stored date itself where the time cannot be
    converted (the year 9999 in UTC is past the last date); ValueError if there is none."""
    try:
        return parse_iso(stamp).astimezone(SWEDEN).date()
    except OverflowError:
        return date.fromisoformat(str(stamp)[:10])


# ---- by email ----------------------------------------------------------------------------------


def parse_recipients(text: str) -> tuple[list[str], list[str]]:
    """(addresses, what is not an address) from a comma, semicolon or line separated list."""
    good: list[str] = []
    bad: list[str] = []
    for part in re.split(r"[,;\s]+", text or ""):
        if not part:
            continue
        if _ADDRESS.fullmatch(part) and len(part) <= 254:
            if part.lower() not in (g.lower() for g in good):
                good.append(part)
        else:
            bad.append(part[:80])
    return good, bad


def dedupe_key(week: Week, address: str) -> str:
    """lagesbild:{week}:{address}: each address gets a week's report once."""
    return f"{KIND}:{week.label}:{address.lower()}"


@dataclass(frozen=True)
class Dispatch:
    recipient: str
    state: str  # pending, sent, failed
    created_at: str
    sent_at: str | None
    last_error: str


def dispatches(db: Database, week: Week) -> list[Dispatch]:
    """The messages of this week's report, oldest first (from the outbox)."""
    prefix = f"{KIND}:{week.label}:"
    return [
        Dispatch(r[0], r[1], r[2], r[3], r[4] or "")
        for r in db.conn().execute(
            "SELECT recipient, state, created_at, sent_at, last_error FROM outbox"
            " WHERE kind = ? AND substr(dedupe_key, 1, ?) = ? ORDER BY id",
            [KIND, len(prefix), prefix],
        )
    ]


@dataclass
class SendResult:
    queued: list[str] = field(default_factory=list)
    already: list[str] = field(default_factory=list)


def send_summary(
    db: Database,
    settings: Settings,
    summary: Summary,
    recipients: list[str],
    *,
    pdf: bytes,
    lang: str,
    page_url: str,
    sent_by: str,
    now: datetime | None = None,
    failed: list[Any] | None = None,
) -> SendResult:
    """Enqueue the report for every recipient who has not had this week's yet.

    `failed`: the messages that could not be delivered, listed at the end (the automatic
    weekly mail to the coordinator carries them)."""
    now = now or utcnow()
    result = SendResult()
    todo = [r for r in recipients if not mail.is_queued(db, dedupe_key(summary.week, r))]
    result.already = [r for r in recipients if r not in todo]
    week = summary.week
    subject = i18n.t("stats.summary.mail.subject", lang, week=week.number, year=week.year)
    context = dict(
        lang=lang,
        subject=subject,
        s=summary,
        url=page_url,
        user=sent_by,
        category=lambda code: i18n.category_label(code, lang),
        failed=failed or [],
    )
    text, html = (
        texts_mail.render("lagesbild.txt", context),
        texts_mail.render("lagesbild.html", context),
    )
    filename = i18n.t("stats.summary.pdf.filename", lang, year=week.year, week=f"{week.number:02d}")
    with db.write() as tx:
        for address in todo:
            message = mail.compose(
                sender=sender(settings),
                recipient=address,
                subject=subject,
                text=text,
                html=html,
                reply_to=settings.coordinator_email,
                now=now,
                attachments=[(filename, pdf, "application/pdf")],
            )
            if mail.enqueue(
                tx,
                kind=KIND,
                dedupe_key=dedupe_key(week, address),
                recipient=address,
                message=message,
                now=now,
            ):
                result.queued.append(address)
            else:  # another click got there first
                result.already.append(address)
    return result

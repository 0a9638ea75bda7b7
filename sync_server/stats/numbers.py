"""The lägesbild's numbers: what is selected, how time is cut, and the overview computed in SQL.

The statistics page reads its numbers from `stats.index.StatsIndex` (the same numbers from an
in-memory snapshot, fast for any selection); `overview()` here computes them straight from SQL and
is the reference the index is tested against, and the benchmark's baseline. The weekly summary
(`stats.week`) uses it for one week, a small indexed range.

Selection: a date range of capture (Swedish calendar days, inclusive), an area (the walks'
area, case-insensitive) and a category — the same meaning as `finding_filters`, so a number
here and the findings list with the same filters count the same rows (a test checks that).
Merged-away duplicates are never counted. Findings without a walk, or from a walk without an
area, count under "–".

Time: findings fall into Swedish calendar days (Europe/Stockholm, summer time included), then
into ISO weeks (Monday–Sunday) or calendar months. Per owner: open = a status in
`walkaudit.model.OPEN_STATUSES`, overdue = open with `assignments.deadline` before today in
Sweden; the medians are days from capture (findings.captured_at) to the first acknowledgement
(finding_tracking.acknowledged_at) and to the latest fix (fixed_at), a duration below zero (a
phone's clock behind) counting as zero.

Areas are compared as SQLite's lower() does (ASCII letters only: "Östra" and "östra" are two
areas), because that is how `finding_filters` selects them for the findings list.

Speed: the time series are grouped over the findings table alone (area via walk_id, merged via a
small NOT IN set: no per-row join); the per-owner numbers take one joined pass whose durations
come back as one `group_concat` string per owner. Still ~0.3-0.8 s at 100,000 findings, over the
lägesbild's goal of 300 ms: see bench/bench_workspace_stats.py and stats.index.

Errors: `finding_filters.FilterError` for a filter value that cannot be used.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from datetime import date, datetime, time, timedelta
from typing import Any
from urllib.parse import urlencode

import numpy as np

from sync_server.core import finding_filters
from sync_server.core.db import Database
from sync_server.core.finding_filters import FilterError, Filters
from sync_server.core.time import SWEDEN, iso, parse_iso, swedish_date
from walkaudit.model import OPEN_STATUSES

PERIODS = ("month", "week")
MAX_WEEKS = 157  # three years of weekly bars; longer ranges are shown per month
DEFAULT_MONTHS = 12
NO_AREA = ""  # the key of "–": no walk, or a walk without an area
_ASCII_LOWER = str.maketrans("ABCDEFGHIJKLMNOPQRSTUVWXYZ", "abcdefghijklmnopqrstuvwxyz")
_OPEN_SQL = f"f.status IN ({', '.join(repr(s) for s in OPEN_STATUSES)})"
# The capture time as a key that names its Swedish day: 22:00-23:59 UTC may be the next day in
# Sweden (always at 23, in summer at 22), so those hours keep their hour; the rest their date.
DAY_KEY = (
    "CASE WHEN substr(f.captured_at, 12, 2) >= '22' THEN substr(f.captured_at, 1, 13)"
    " ELSE substr(f.captured_at, 1, 10) END"
)


@dataclass(frozen=True)
class Selection:
    """Which findings the statistics count, and how time is cut."""

    first: date
    last: date
    period: str = "month"
    area: str = ""
    category: str = ""

    @property
    def area_key(self) -> str:
        """The area as areas are compared (see `area_key`)."""
        return area_key(self.area)

    @property
    def filters(self) -> Filters:
        """The same selection as findings-list filters (for links to the list)."""
        return Filters(
            date_from=self.first.isoformat(),
            date_to=self.last.isoformat(),
            area=self.area,
            category=self.category,
        )

    def query_string(self, **changes: Any) -> str:
        """This selection (with changes) as the statistics page's query string."""
        s = replace(self, **changes)
        pairs = [
            ("period", s.period),
            ("date_from", s.first.isoformat()),
            ("date_to", s.last.isoformat()),
            ("area", s.area),
            ("category", s.category),
        ]
        return urlencode([(k, v) for k, v in pairs if v])

    def findings_url(self, **filters: Any) -> str:
        """The findings list showing these findings (with extra filters such as owner)."""
        return "/c/findings?" + self.filters.query_string(**filters)


def default_selection(today: date) -> Selection:
    """The page as first opened: the last twelve months including this one, per month."""
    first = add_months(today.replace(day=1), -(DEFAULT_MONTHS - 1))
    return Selection(first, today)


MAX_SPAN_DAYS = 10 * 365


def parse_selection(params: Mapping[str, str], today: date, earliest: date | None) -> Selection:
    """The selection a query string asks for; FilterError names a value that cannot be used.

    Without `period` (the page as first opened) the default applies; once the form was sent, an
    empty "from" means since the first finding (`earliest`) and an empty "to" means today.
    """
    if not params.get("period"):
        base = default_selection(today)
        params = {
            **params,
            "period": base.period,
            "date_from": params.get("date_from") or base.first.isoformat(),
            "date_to": params.get("date_to") or today.isoformat(),
        }
    period = (params.get("period") or "").strip().lower()
    if period not in PERIODS:
        raise FilterError(f"period: use one of {', '.join(PERIODS)}")
    parsed = finding_filters.parse(params)
    first = date.fromisoformat(parsed.date_from) if parsed.date_from else (earliest or today)
    last = date.fromisoformat(parsed.date_to) if parsed.date_to else today
    if (last - first).days > MAX_SPAN_DAYS:  # a page of 5,000 weeks helps nobody
        raise FilterError(f"date_from/date_to: at most {MAX_SPAN_DAYS // 365} years at a time")
    return Selection(first, max(first, last), period, parsed.area, parsed.category)


def area_key(area: str | None) -> str:
    """An area as SQLite's lower() compares it (ASCII letters folded, others kept)."""
    return (area or "").translate(_ASCII_LOWER)


def add_months(day: date, months: int) -> date:
    """The first of the month `months` away from day's month."""
    index = day.year * 12 + day.month - 1 + months
    return date(index // 12, index % 12 + 1, 1)


def period_start(day: date, period: str) -> date:
    """The Monday of day's ISO week, or the first of its month."""
    return day - timedelta(days=day.weekday()) if period == "week" else day.replace(day=1)


def periods(selection: Selection) -> list[date]:
    """The start of every period from the first day to the last, gaps included."""
    start, end = period_start(selection.first, selection.period), selection.last
    out = []
    while start <= end:
        out.append(start)
        start = start + timedelta(days=7) if selection.period == "week" else add_months(start, 1)
    return out


def week_count(selection: Selection) -> int:
    """How many weekly bars the selection would need."""
    return len(periods(replace(selection, period="week")))


def start_of_day(day: date) -> str:
    """Midnight in Sweden at the start of `day`, as stored (UTC text)."""
    return iso(datetime.combine(day, time(), SWEDEN))


def day_of_key(key: str) -> date:
    """The Swedish date of a `DAY_KEY` value ('2026-03-01' or '2026-03-01T23', UTC)."""
    if len(key) == 10:
        return date.fromisoformat(key)
    try:
        return datetime.fromisoformat(f"{key}:00:00+00:00").astimezone(SWEDEN).date()
    except OverflowError:  # the last hours of year 9999 (UTC) have no Swedish date: its UTC one
        return date.fromisoformat(key[:10])


def where(selection: Selection) -> tuple[str, list[object]]:
    """(" WHERE …", params) over `findings f` alone, for this selection: the findings list's own
    filters (finding_filters), so the statistics count exactly the rows the list shows."""
    return finding_filters.where(
        finding_filters.Filters(
            category=selection.category,
            area=selection.area,
            date_from=selection.first.isoformat(),
            date_to=selection.last.isoformat(),
        )  # fmt: skip
    )


# ---- the overview ------------------------------------------------------------------------------


@dataclass
class AreaRow:
    """One area: counts per period, in all, and open now."""

    key: str  # lower-case area, NO_AREA for "–"
    name: str
    counts: list[int]
    total: int = 0
    open: int = 0


@dataclass
class OwnerRow:
    """One owner's findings in the selection (owner_id None: no owner yet)."""

    owner_id: str | None
    name: str
    kind: str
    total: int
    open: int
    overdue: int
    ack_median: float | None
    ack_n: int
    fix_median: float | None
    fix_n: int


@dataclass
class Overview:
    """Everything the statistics page shows except the heat map."""

    selection: Selection
    today: date
    periods: list[date]
    by_category: dict[str, list[int]]  # category code -> count per period (only codes seen)
    areas: list[AreaRow]
    owners: list[OwnerRow]
    total: int = 0
    open: int = 0
    overdue: int = 0
    ack_median: float | None = None
    ack_n: int = 0
    fix_median: float | None = None
    fix_n: int = 0
    area_names: list[tuple[str, str]] = field(default_factory=list)  # (key, name) for the filter

    @property
    def done(self) -> int:
        """Findings in the selection that are no longer open."""
        return self.total - self.open


def overview(db: Database, selection: Selection, today: date) -> Overview:
    """The statistics page's numbers for a selection, straight from SQL (the reference)."""
    conn = db.conn()
    starts = periods(selection)
    index = {start: k for k, start in enumerate(starts)}
    days: dict[str, int] = {}  # DAY_KEY value -> period index (many rows share a key)

    def slot(key: str) -> int:
        found = days.get(key)
        if found is None:
            found = days[key] = index[period_start(day_of_key(key), selection.period)]
        return found

    sql_where, params = where(selection)
    by_category: dict[str, list[int]] = {}
    for key, category, n in conn.execute(
        f"SELECT {DAY_KEY}, f.category, count(*) FROM findings f{sql_where} GROUP BY 1, 2", params
    ):
        by_category.setdefault(category, [0] * len(starts))[slot(key)] += n

    walk_area, area_names = walk_areas(db)
    areas: dict[str, AreaRow] = {}
    for key, walk_id, n, open_n in conn.execute(
        f"SELECT {DAY_KEY}, f.walk_id, count(*), sum({_OPEN_SQL}) FROM findings f{sql_where}"
        " GROUP BY 1, 2",
        params,
    ):
        area = walk_area.get(walk_id, NO_AREA)
        row = areas.get(area)
        if row is None:
            row = areas[area] = AreaRow(area, area_names.get(area, ""), [0] * len(starts))
        row.counts[slot(key)] += n
        row.total += n
        row.open += open_n

    owners, ack, fix = _owners(db, sql_where, params, today)
    return finish(
        Overview(
            selection,
            today,
            starts,
            by_category,
            list(areas.values()),
            owners,
            area_names=sorted(area_names.items(), key=lambda kv: kv[1].lower()),
        ),
        np.concatenate(ack) if ack else None,
        np.concatenate(fix) if fix else None,
    )


def finish(result: Overview, ack: np.ndarray | None, fix: np.ndarray | None) -> Overview:
    """Totals, overall medians and the display order (most findings, most overdue first)."""
    result.areas.sort(key=lambda r: (-r.total, r.name.lower()))
    # Most overdue first: who to chase; the findings without owner last.
    result.owners.sort(key=lambda r: (r.owner_id is None, -r.overdue, -r.open, r.name.lower()))
    result.total = sum(sum(v) for v in result.by_category.values())
    result.open = sum(o.open for o in result.owners)
    result.overdue = sum(o.overdue for o in result.owners)
    result.ack_median, result.ack_n = median(ack)
    result.fix_median, result.fix_n = median(fix)
    return result


def walk_areas(db: Database) -> tuple[dict[str, str], dict[str, str]]:
    """(walk id -> area key, area key -> its most used spelling); a few thousand walks at most."""
    walk_area: dict[str, str] = {}
    spellings: dict[str, dict[str, int]] = {}
    for walk_id, area in db.conn().execute("SELECT id, area FROM walks"):
        key = area_key(area)
        walk_area[walk_id] = key
        if key:
            counts = spellings.setdefault(key, {})
            counts[area] = counts.get(area, 0) + 1
    names = {key: max(c.items(), key=lambda kv: (kv[1], kv[0]))[0] for key, c in spellings.items()}
    return walk_area, names


def _owners(
    db: Database, sql_where: str, params: list[object], today: date
) -> tuple[list[OwnerRow], list[np.ndarray], list[np.ndarray]]:
    """The owner rows, and every owner's durations (for the overall medians)."""
    conn = db.conn()
    all_ack: list[np.ndarray] = []
    all_fix: list[np.ndarray] = []
    names = {r[0]: (r[1], r[2]) for r in conn.execute("SELECT id, name, kind FROM owners")}
    rows = []
    for owner_id, total, open_n, overdue, ack, fix in conn.execute(
        f"SELECT a.owner_id, count(*), sum({_OPEN_SQL}),"
        f" coalesce(sum({_OPEN_SQL} AND a.deadline < ?), 0),"
        " group_concat(round(julianday(ft.acknowledged_at) - julianday(f.captured_at), 4)),"
        " group_concat(round(julianday(ft.fixed_at) - julianday(f.captured_at), 4))"
        " FROM findings f LEFT JOIN assignments a ON a.finding_id = f.id"
        f" LEFT JOIN finding_tracking ft ON ft.finding_id = f.id{sql_where} GROUP BY 1",
        [today.isoformat(), *params],
    ):
        name, kind = names.get(owner_id, ("", "")) if owner_id else ("", "")
        ack_days, fix_days = _durations(ack), _durations(fix)
        ack_median, ack_n = median(ack_days)
        fix_median, fix_n = median(fix_days)
        rows.append(
            OwnerRow(
                owner_id, name, kind, total, open_n, overdue, ack_median, ack_n, fix_median, fix_n
            )
        )
        all_ack += [] if ack_days is None else [ack_days]
        all_fix += [] if fix_days is None else [fix_days]
    return rows, all_ack, all_fix


def _durations(joined: str | None) -> np.ndarray | None:
    if not joined:
        return None
    return np.maximum(np.array(joined.split(","), dtype=float), 0.0)


def median(values: np.ndarray | None) -> tuple[float | None, int]:
    """(median rounded to a tenth of a day, how many values) — (None, 0) for none."""
    if values is None or not len(values):
        return None, 0
    return round(float(np.median(values)), 1), int(len(values))


def earliest_day(db: Database) -> date | None:
    """The Swedish date of the first finding captured (via the captured_at index)."""
    row = db.conn().execute("SELECT min(captured_at) FROM findings").fetchone()
    if not row or not row[0]:
        return None
    return swedish_date(parse_iso(row[0]))

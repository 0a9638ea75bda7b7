"""The walks as the coordinator finds them: the list (filtered, paged), one walk, its route.

A walk's numbers count its findings without those merged into another (as everywhere in the
workspace), and how many of them are still open. `swedish_key` sorts names as a Swedish reader
expects (å, ä, ö after z); the protocol orders its owners by it too.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from sync_server.core.db import Database
from sync_server.core.finding_filters import OPEN
from sync_server.walks.errors import UnknownWalk

MAX_ROUTE_POINTS = 5000  # a night's walk at 1 Hz is ~7000; the map does not need more
_SWEDISH_ORDER = str.maketrans({"å": "{", "ä": "|", "ö": "}", "Å": "{", "Ä": "|", "Ö": "}"})


@dataclass(frozen=True)
class WalkSummary:
    """A walk as the list and its page show it."""

    id: str
    name: str
    area: str
    started_at: str
    ended_at: str | None
    device_name: str
    findings: int
    open: int

    @property
    def in_progress(self) -> bool:
        """The phone has not ended the walk (or has not synced its end yet)."""
        return self.ended_at is None


@dataclass(frozen=True)
class WalkPage:
    """One page of the walks list."""

    walks: list[WalkSummary]
    total: int
    page: int
    pages: int
    areas: list[str]  # every area walked, for the filter


_WALKS_SQL = """
SELECT w.id, w.name, w.area, w.started_at, w.ended_at, COALESCE(d.name, '')
FROM walks w LEFT JOIN devices d ON d.id = w.device_id
"""
# Merged-away duplicates are few: one pass over a small index, then a lookup per finding.
_COUNTS_SQL = """
SELECT f.walk_id, COUNT(*), SUM(f.status IN ({open})) FROM findings f
WHERE f.walk_id IN ({ids})
  AND f.id NOT IN (SELECT finding_id FROM finding_tracking WHERE merged_into IS NOT NULL)
GROUP BY f.walk_id
"""


def _summaries(db: Database, rows: list[tuple[Any, ...]]) -> list[WalkSummary]:
    """The walks of these rows with their numbers of findings, counted for these walks only."""
    if not rows:
        return []
    ids = [r[0] for r in rows]
    sql = _COUNTS_SQL.format(open=", ".join("?" * len(OPEN)), ids=", ".join("?" * len(ids)))
    counts = {r[0]: (int(r[1]), int(r[2] or 0)) for r in db.conn().execute(sql, [*OPEN, *ids])}
    summaries = []
    for walk_id, name, area, started_at, ended_at, device in rows:
        n, still_open = counts.get(walk_id, (0, 0))
        summaries.append(WalkSummary(walk_id, name, area, started_at, ended_at, device, n,
                                     still_open))  # fmt: skip
    return summaries


def list_walks(db: Database, *, area: str = "", q: str = "", page: int = 1,
               per_page: int = 25) -> WalkPage:  # fmt: skip
    """Walks newest first, filtered by area (exact, any case) and words in name or area."""
    clauses, params = [], []  # type: tuple[list[str], list[object]]
    if area.strip():
        clauses.append("lower(w.area) = lower(?)")
        params.append(area.strip())
    if q.strip():
        like = "%" + q.strip().replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_") + "%"
        clauses.append("(w.name LIKE ? ESCAPE '\\' OR w.area LIKE ? ESCAPE '\\')")
        params += [like, like]
    where = (" WHERE " + " AND ".join(clauses)) if clauses else ""
    conn = db.conn()
    total = int(conn.execute(f"SELECT COUNT(*) FROM walks w{where}", params).fetchone()[0])
    pages = max(1, -(-total // per_page))
    page = min(max(1, page), pages)
    rows = conn.execute(
        f"{_WALKS_SQL}{where} ORDER BY w.started_at DESC, w.id DESC LIMIT ? OFFSET ?",
        [*params, per_page, (page - 1) * per_page],
    ).fetchall()
    areas = [
        str(r[0])
        for r in conn.execute(
            "SELECT min(area) FROM walks WHERE trim(area) != '' GROUP BY lower(area)"
        )
    ]
    areas.sort(key=swedish_key)
    return WalkPage(_summaries(db, rows), total, page, pages, areas)


def get_walk(db: Database, walk_id: str) -> WalkSummary:
    """One walk with its counts; UnknownWalk if there is none with this id."""
    rows = db.conn().execute(f"{_WALKS_SQL} WHERE w.id = ?", [walk_id]).fetchall()
    if not rows:
        raise UnknownWalk(f"there is no walk {walk_id}")
    return _summaries(db, rows)[0]


def route_points(db: Database, walk_id: str) -> list[tuple[float, float]]:
    """The walk's track as (lat, lon) in time order, thinned evenly to MAX_ROUTE_POINTS."""
    rows = (
        db.conn()
        .execute(
            "SELECT latitude, longitude FROM track_points WHERE walk_id = ? ORDER BY t", [walk_id]
        )
        .fetchall()
    )
    if len(rows) > MAX_ROUTE_POINTS:
        step = len(rows) / MAX_ROUTE_POINTS
        rows = [rows[int(i * step)] for i in range(MAX_ROUTE_POINTS - 1)] + [rows[-1]]
    return [(float(lat), float(lon)) for lat, lon in rows]


def swedish_key(text: str) -> str:
    """A sort key that puts å, ä, ö after z, as a Swedish reader expects."""
    return text.casefold().translate(_SWEDISH_ORDER)

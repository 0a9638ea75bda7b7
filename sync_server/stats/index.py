"""The statistics' in-memory snapshot: one row per finding in numpy columns, kept up to date.

Why: any selection on the statistics page (a date range, an area, a category) must answer in well
under 300 ms at 100,000 findings. SQL needs a joined pass over the findings for the per-owner
numbers (0.3-0.8 s, `stats.overview`); numpy over 100,000 rows in memory takes ~10 ms.

What it holds, indexed by findings.rowid (findings are never deleted): the Swedish day of capture,
category, walk, owner, deadline, open and merged flags, days to acknowledge and to fix, position —
~60 bytes a finding (6 MB at 100,000). Walks map to areas through a small table read again on
every refresh, so a walk whose area changes moves its findings at once.

Staying exact — every use starts with `_refresh()`:
  1. `PRAGMA data_version` on a read-only connection of its own: unchanged means nobody
     committed anything since the last look, so there is nothing to do (microseconds).
  2. Otherwise, in one read transaction, the findings that may have changed are read again:
     * those with events after the last seen seq — every status change, acknowledgement, fix,
       reopen, merge, deadline and owner change by a person or a device is an event, and seq is
       handed out under the write lock, so it follows commit order;
     * those whose findings.updated_at is after the last seen minus SLACK (new findings and
       revisions; the slack covers a transaction that took its timestamp before it waited for the
       write lock);
     * those whose assignment is new (rowid) or re-routed (routed_at after the last seen minus
       SLACK): routing, re-routing to triage, the coordinator's choice of owner.
  3. A full reload after FULL_RELOAD, as a net for a write path none of these sees (a hand edit).
tests/server/test_stats.py checks after each kind of write that this and `stats.overview` agree.

Errors: none of its own (sqlite3 errors pass through).
"""

from __future__ import annotations

import json
import math
import sqlite3
import threading
import time
import weakref
from collections.abc import Iterable
from datetime import date, timedelta
from typing import Any

import numpy as np

from sync_server.core.db import Database, iso, parse_iso
from sync_server.core.finding_filters import OPEN
from sync_server.stats import numbers as stats
from walkaudit.categories import CATEGORIES

SLACK = timedelta(minutes=15)
FULL_RELOAD = 3600.0  # seconds
NO_DEADLINE = np.iinfo(np.int32).max
CODES = tuple(c.code for c in CATEGORIES)
_CODE_INDEX = {code: k for k, code in enumerate(CODES)}
_OPEN = frozenset(OPEN)
_ROWS = (
    f"SELECT f.rowid, {stats._DAY_KEY}, f.category, f.walk_id, f.status, a.owner_id, a.deadline,"
    " ft.merged_into IS NOT NULL,"
    " round(julianday(ft.acknowledged_at) - julianday(f.captured_at), 4),"
    " round(julianday(ft.fixed_at) - julianday(f.captured_at), 4), f.latitude, f.longitude"
    " FROM findings f LEFT JOIN assignments a ON a.finding_id = f.id"
    " LEFT JOIN finding_tracking ft ON ft.finding_id = f.id"
)
_COLUMNS = {  # name: (dtype, value of a rowid without a finding)
    "day": (np.int32, 0), "cat": (np.int8, -1), "walk": (np.int32, 0), "open": (np.bool_, False),
    "owner": (np.int32, 0), "deadline": (np.int32, NO_DEADLINE), "merged": (np.bool_, False),
    "ack": (np.float64, np.nan), "fix": (np.float64, np.nan), "lat": (np.float64, 0.0),
    "lon": (np.float64, 0.0),
}  # fmt: skip


class StatsIndex:
    """The findings' statistics columns for one database; thread-safe, refreshed on use."""

    def __init__(self, db: Database, clock: Any = time.monotonic, slack: timedelta = SLACK) -> None:
        self._db = db
        self._slack = slack  # tests use 0 to see each change signal on its own
        self._clock = clock
        self._lock = threading.Lock()
        self._conn: sqlite3.Connection | None = None
        self._version: int | None = None
        self._loaded_at = -math.inf
        self._cols: dict[str, np.ndarray] = {}
        self._walks: dict[str, int] = {}  # walk id -> index (0 = no walk)
        self._walk_area = np.zeros(1, np.int32)  # walk index -> area index (0 = "–")
        self._areas: list[str] = [stats.NO_AREA]  # area index -> key
        self._area_names: dict[str, str] = {}
        self._owners: dict[str, int] = {}  # owner id -> index (0 = no owner)
        self._owner_ids: list[str | None] = [None]
        self._days: dict[str, int] = {}
        self._deadlines: dict[str, int] = {}
        self._seq, self._updated, self._assigned, self._routed = 0, "", 0, ""
        self.full_loads = self.refreshes = 0

    # ---- keeping up to date ------------------------------------------------------------------

    def _connection(self) -> sqlite3.Connection:
        if self._conn is None:
            conn = sqlite3.connect(
                f"file:{self._db.path}?mode=ro",
                uri=True,
                check_same_thread=False,
                isolation_level=None,
            )
            conn.execute("PRAGMA busy_timeout = 10000")
            weakref.finalize(self, conn.close)
            self._conn = conn
        return self._conn

    def warm(self) -> None:
        """Load (or catch up) now, so the first page view does not pay for it."""
        with self._lock:
            self._refresh()

    def close(self) -> None:
        """Close the index's own connection (it reopens on the next use)."""
        with self._lock:
            if self._conn is not None:
                self._conn.close()
                self._conn, self._version = None, None

    def _refresh(self) -> None:
        conn = self._connection()
        version = conn.execute("PRAGMA data_version").fetchone()[0]
        stale = self._clock() - self._loaded_at > FULL_RELOAD
        if version == self._version and not stale:
            return
        conn.execute("BEGIN")  # one consistent view for the marks and the rows
        try:
            if stale or not self._cols:
                self._full_load(conn)
            else:
                self._catch_up(conn)
            self._read_walks(conn)
        finally:
            conn.execute("COMMIT")
        self._version = version

    def _full_load(self, conn: sqlite3.Connection) -> None:
        self._seq = conn.execute("SELECT coalesce(max(seq), 0) FROM events").fetchone()[0]
        self._updated = conn.execute(
            "SELECT coalesce(max(updated_at), '') FROM findings"
        ).fetchone()[0]
        self._assigned, self._routed = conn.execute(
            "SELECT coalesce(max(rowid), 0), coalesce(max(routed_at), '') FROM assignments"
        ).fetchone()
        size = conn.execute("SELECT coalesce(max(rowid), 0) FROM findings").fetchone()[0] + 1
        self._cols = {
            name: np.full(size, empty, dtype) for name, (dtype, empty) in _COLUMNS.items()
        }
        self._store(conn.execute(_ROWS))
        self._loaded_at = self._clock()
        self.full_loads += 1

    def _catch_up(self, conn: sqlite3.Connection) -> None:
        changed: set[str] = set()
        seq = conn.execute("SELECT coalesce(max(seq), 0) FROM events").fetchone()[0]
        if seq != self._seq:
            changed.update(
                r[0]
                for r in conn.execute(
                    "SELECT DISTINCT finding_id FROM events WHERE seq > ?", [self._seq]
                )
            )
            self._seq = seq
        for fid, updated in conn.execute(
            "SELECT id, updated_at FROM findings WHERE updated_at > ?", [self._less(self._updated)]
        ):
            changed.add(fid)
            self._updated = max(self._updated, updated)
        for fid, rowid, routed in conn.execute(
            "SELECT finding_id, rowid, routed_at FROM assignments WHERE rowid > ? OR routed_at > ?",
            [self._assigned, self._less(self._routed)],
        ):
            changed.add(fid)
            self._assigned, self._routed = max(self._assigned, rowid), max(self._routed, routed)
        if changed:
            self._store(
                conn.execute(
                    f"{_ROWS} WHERE f.id IN (SELECT value FROM json_each(?))", [_json_list(changed)]
                )
            )
        self.refreshes += 1

    def _less(self, mark: str) -> str:
        """A stored timestamp the slack earlier ('' stays '': everything is newer)."""
        return iso(parse_iso(mark) - self._slack) if mark else ""

    def _store(self, cursor: sqlite3.Cursor) -> None:
        """Write rows of _ROWS into the columns (growing them for new rowids)."""
        while chunk := cursor.fetchmany(20_000):
            rowid, key, cat, walk, status, owner, deadline, merged, ack, fix, lat, lon = zip(
                *chunk, strict=True
            )
            at = np.array(rowid, np.int64)
            self._grow(int(at.max()) + 1)
            c = self._cols
            c["day"][at] = [self._day(k) for k in key]
            c["cat"][at] = [_CODE_INDEX.get(code, -1) for code in cat]
            c["walk"][at] = [self._walk(w) for w in walk]
            c["open"][at] = [s in _OPEN for s in status]
            c["owner"][at] = [self._owner(o) for o in owner]
            c["deadline"][at] = [self._deadline(d) for d in deadline]
            c["merged"][at] = np.array(merged, dtype=bool)
            c["ack"][at] = np.array(ack, dtype=float)  # None -> nan
            c["fix"][at] = np.array(fix, dtype=float)
            c["lat"][at], c["lon"][at] = lat, lon

    def _grow(self, size: int) -> None:
        current = len(self._cols["day"])
        if size > current:
            extra = max(size - current, current // 4)
            for name, (dtype, empty) in _COLUMNS.items():
                self._cols[name] = np.concatenate([self._cols[name], np.full(extra, empty, dtype)])

    def _read_walks(self, conn: sqlite3.Connection) -> None:
        areas: dict[str, int] = {stats.NO_AREA: 0}
        spellings: dict[str, dict[str, int]] = {}
        pairs = []
        for walk_id, area in conn.execute("SELECT id, area FROM walks"):
            key = stats.area_key(area)
            pairs.append((self._walk(walk_id), areas.setdefault(key, len(areas))))
            if key:
                counts = spellings.setdefault(key, {})
                counts[area] = counts.get(area, 0) + 1
        walk_area = np.zeros(len(self._walks) + 1, np.int32)
        for walk, area in pairs:
            walk_area[walk] = area
        self._walk_area, self._areas = walk_area, list(areas)
        self._area_names = {
            k: max(c.items(), key=lambda kv: (kv[1], kv[0]))[0] for k, c in spellings.items()
        }

    def _day(self, key: str) -> int:
        found = self._days.get(key)
        if found is None:
            found = self._days[key] = stats.day_of_key(key).toordinal()
        return found

    def _walk(self, walk_id: str | None) -> int:
        if not walk_id:
            return 0
        return self._walks.setdefault(walk_id, len(self._walks) + 1)

    def _owner(self, owner_id: str | None) -> int:
        if not owner_id:
            return 0
        found = self._owners.get(owner_id)
        if found is None:
            found = self._owners[owner_id] = len(self._owner_ids)
            self._owner_ids.append(owner_id)
        return found

    def _deadline(self, text: str | None) -> int:
        # SQL compares the text with today's ISO date: that is the first ten characters' date.
        if not text:
            return int(NO_DEADLINE)
        found = self._deadlines.get(text)
        if found is None:
            try:
                found = date.fromisoformat(text[:10]).toordinal()
            except ValueError:
                found = int(NO_DEADLINE)
            self._deadlines[text] = found
        return found

    # ---- answering ---------------------------------------------------------------------------

    def _mask(self, selection: stats.Selection) -> np.ndarray:
        c = self._cols
        mask = (c["day"] >= selection.first.toordinal()) & (c["day"] <= selection.last.toordinal())
        mask &= ~c["merged"]
        if selection.category:
            mask &= c["cat"] == _CODE_INDEX.get(selection.category, -2)
        if selection.area:
            key = stats.area_key(selection.area)
            wanted = [k for k, area in enumerate(self._areas) if area == key and area]
            walk_area = self._walk_area_for(len(self._walks) + 1)
            mask &= np.isin(walk_area[c["walk"]], wanted)
        return mask

    def _walk_area_for(self, size: int) -> np.ndarray:
        # Walks a finding names but the walks table does not have (yet) count as "–".
        if len(self._walk_area) < size:
            grown = np.zeros(size, np.int32)
            grown[: len(self._walk_area)] = self._walk_area
            self._walk_area = grown
        return self._walk_area

    def overview(self, selection: stats.Selection, today: date) -> stats.Overview:
        """The same numbers as `stats.overview`, from memory."""
        with self._lock:
            self._refresh()
            c = self._cols
            mask = self._mask(selection)
            starts = stats.periods(selection)
            day = c["day"][mask]
            slot = np.searchsorted(np.array([s.toordinal() for s in starts]), day, "right") - 1
            n_periods, n_cats = len(starts), len(CODES)
            grid = np.bincount(
                slot * n_cats + c["cat"][mask], minlength=n_periods * n_cats
            ).reshape(n_periods, n_cats)
            by_category = {CODES[k]: grid[:, k].tolist() for k in range(n_cats) if grid[:, k].any()}

            walk_area = self._walk_area_for(len(self._walks) + 1)
            area = walk_area[c["walk"][mask]]
            n_areas = len(self._areas)
            per = np.bincount(slot * n_areas + area, minlength=n_periods * n_areas).reshape(
                n_periods, n_areas
            )
            open_ = c["open"][mask]
            area_open = np.bincount(area, weights=open_, minlength=n_areas)
            areas = [
                stats.AreaRow(
                    key,
                    self._area_names.get(key, ""),
                    per[:, k].tolist(),
                    int(per[:, k].sum()),
                    int(area_open[k]),
                )
                for k, key in enumerate(self._areas)
                if per[:, k].any()
            ]

            owners, ack, fix = self._owner_rows(mask, today)
            names = self._area_names
        return stats.finish(
            stats.Overview(
                selection,
                today,
                starts,
                by_category,
                areas,
                owners,
                area_names=sorted(names.items(), key=lambda kv: kv[1].lower()),
            ),
            ack,
            fix,
        )

    def _owner_rows(
        self, mask: np.ndarray, today: date
    ) -> tuple[list[stats.OwnerRow], np.ndarray, np.ndarray]:
        c = self._cols
        owner, open_ = c["owner"][mask], c["open"][mask]
        n = len(self._owner_ids)
        total = np.bincount(owner, minlength=n)
        opened = np.bincount(owner, weights=open_, minlength=n)
        late = np.bincount(
            owner, weights=open_ & (c["deadline"][mask] < today.toordinal()), minlength=n
        )
        medians = {}
        all_values = {}
        for name in ("ack", "fix"):
            values = c[name][mask]
            has = ~np.isnan(values)
            medians[name] = _group_medians(owner[has], np.maximum(values[has], 0.0), n)
            all_values[name] = np.maximum(values[has], 0.0)
        found = {
            r[0]: (r[1], r[2]) for r in self._db.conn().execute("SELECT id, name, kind FROM owners")
        }
        rows = []
        for k in np.flatnonzero(total):
            owner_id = self._owner_ids[k]
            name, kind = found.get(owner_id, ("", "")) if owner_id else ("", "")
            (ack_m, ack_n), (fix_m, fix_n) = medians["ack"][k], medians["fix"][k]
            rows.append(
                stats.OwnerRow(
                    owner_id,
                    name,
                    kind,
                    int(total[k]),
                    int(opened[k]),
                    int(late[k]),
                    ack_m,
                    ack_n,
                    fix_m,
                    fix_n,
                )
            )
        return rows, all_values["ack"], all_values["fix"]

    def heat(
        self, selection: stats.Selection, cell_m: float = 50, max_points: int = 6000
    ) -> dict[str, Any]:
        """The selection's findings summed on a grid: {"points": [[lat, lon, n], …], …}.

        Cells are ~cell_m square (doubled until there are at most max_points, so 100,000
        findings stay a few thousand points); a cell's point is the mean position of its
        findings. Also "total", "cell_m" (the size used) and "bounds" ([[s, w], [n, e]] or None).
        """
        with self._lock:
            self._refresh()
            mask = self._mask(selection)
            lat, lon = self._cols["lat"][mask], self._cols["lon"][mask]
            present = np.flatnonzero(self._cols["day"])
            lat0 = float(self._cols["lat"][present[-1]]) if len(present) else 59.3
        step_lat = cell_m / 111_320
        step_lon = step_lat / max(0.05, math.cos(math.radians(lat0)))
        i = np.floor((lat + 90) / step_lat).astype(np.int64)
        j = np.floor((lon + 180) / step_lon).astype(np.int64)
        size = cell_m
        while True:
            keys, inverse = np.unique(i * 10_000_000 + j, return_inverse=True)
            if len(keys) <= max_points:
                break
            i, j, size = i // 2, j // 2, size * 2
        counts = np.bincount(inverse, minlength=len(keys))
        mean_lat = np.bincount(inverse, weights=lat, minlength=len(keys)) / np.maximum(counts, 1)
        mean_lon = np.bincount(inverse, weights=lon, minlength=len(keys)) / np.maximum(counts, 1)
        points = [
            [round(float(a), 5), round(float(b), 5), int(n)]
            for a, b, n in zip(mean_lat, mean_lon, counts, strict=True)
        ]
        bounds = None
        if points:
            bounds = [
                [round(float(mean_lat.min()), 5), round(float(mean_lon.min()), 5)],
                [round(float(mean_lat.max()), 5), round(float(mean_lon.max()), 5)],
            ]
        return {
            "points": points,
            "total": int(counts.sum()),
            "cell_m": round(size),
            "bounds": bounds,
        }


def _group_medians(
    groups: np.ndarray, values: np.ndarray, n: int
) -> list[tuple[float | None, int]]:
    """Per group 0..n-1: (median rounded to a tenth, count), as `stats.median` gives it."""
    out: list[tuple[float | None, int]] = [(None, 0)] * n
    if not len(values):
        return out
    order = np.lexsort((values, groups))
    groups, values = groups[order], values[order]
    firsts = np.flatnonzero(np.r_[True, groups[1:] != groups[:-1]])
    counts = np.diff(np.r_[firsts, len(groups)])
    lower = values[firsts + (counts - 1) // 2]
    upper = values[firsts + counts // 2]
    for g, c, lo, hi in zip(groups[firsts], counts, lower, upper, strict=True):
        out[int(g)] = (round(float((lo + hi) / 2), 1), int(c))
    return out


def _json_list(values: Iterable[str]) -> str:
    return json.dumps(sorted(values))

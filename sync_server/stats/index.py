"""The statistics' in-memory snapshot: one row per finding in numpy columns, kept up to date.

Why: any selection on the statistics page (a date range, an area, a category) must answer in well
under 300 ms at 100,000 findings. SQL needs a joined pass over the findings for the per-owner
numbers (0.3-0.8 s, `numbers.overview`); numpy over 100,000 rows in memory takes ~10 ms.

What it holds, indexed by findings.rowid (findings are never deleted): the Swedish day of capture,
category, walk, owner, deadline, open and merged flags, days to acknowledge and to fix, position —
~60 bytes a finding (6 MB at 100,000). Walks map to areas through a small table read again on
every refresh, so a walk whose area changes moves its findings at once.

Staying exact — every use starts with `_refresh()`, and nothing in it is a guess:
  1. `PRAGMA data_version` on a read-only connection of its own: unchanged means nobody
     committed anything since the last look, so there is nothing to do (microseconds).
  2. Otherwise, in one read transaction, the findings in `finding_changes` after the last seq seen
     are read again. Triggers on findings, assignments and finding_tracking write that log in
     the writer's own transaction, whatever the write path (ingest, routing, history, the CLI, a
     hand edit in sqlite3), and its seq follows commit order (migration 6, core.migrations).
     Walks (their areas) and owners (their names) are small and read again every time.
tests/server/stats/test_stats.py checks after each kind of write, a hand edit included, that this
and `numbers.overview` agree.

Errors: none of its own (sqlite3 errors pass through).
"""

from __future__ import annotations

import json
import sqlite3
import threading
import weakref
from collections.abc import Iterable
from datetime import date
from typing import Any

import numpy as np

from sync_server.core.db import Database
from sync_server.stats import numbers
from sync_server.stats.heat import grid
from walkaudit.categories import CATEGORIES
from walkaudit.model import OPEN_STATUSES

NO_DEADLINE = np.iinfo(np.int32).max
CODES = tuple(c.code for c in CATEGORIES)
_CODE_INDEX = {code: k for k, code in enumerate(CODES)}
_OPEN = frozenset(OPEN_STATUSES)
_ROWS = (
    f"SELECT f.rowid, {numbers.DAY_KEY}, f.category, f.walk_id, f.status, a.owner_id, a.deadline,"
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

    def __init__(self, db: Database) -> None:
        self._db = db
        self._lock = threading.Lock()
        self._conn: sqlite3.Connection | None = None
        self._version: int | None = None
        self._cols: dict[str, np.ndarray] = {}
        self._walks: dict[str, int] = {}  # walk id -> index (0 = no walk)
        self._walk_area = np.zeros(1, np.int32)  # walk index -> area index (0 = "–")
        self._areas: list[str] = [numbers.NO_AREA]  # area index -> key
        self._area_names: dict[str, str] = {}
        self._owners: dict[str, int] = {}  # owner id -> index (0 = no owner)
        self._owner_ids: list[str | None] = [None]
        self._days: dict[str, int] = {}
        self._deadlines: dict[str, int] = {}
        self._seq = 0  # the last finding_changes.seq read
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
        if version == self._version:
            return
        conn.execute("BEGIN")  # one consistent view for the log and the rows
        try:
            if not self._cols or not self._catch_up(conn):
                self._full_load(conn)
            self._read_walks(conn)
        except BaseException:
            # Half-stored rows with the log already read past them would be lost for good:
            # start again from a full load on the next use.
            self._cols, self._seq = {}, 0
            raise
        finally:
            conn.execute("COMMIT")
        self._version = version

    def _full_load(self, conn: sqlite3.Connection) -> None:
        self._seq = conn.execute("SELECT coalesce(max(seq), 0) FROM finding_changes").fetchone()[0]
        size = conn.execute("SELECT coalesce(max(rowid), 0) FROM findings").fetchone()[0] + 1
        self._cols = {
            name: np.full(size, empty, dtype) for name, (dtype, empty) in _COLUMNS.items()
        }
        self._store(conn.execute(_ROWS))
        self.full_loads += 1

    def _catch_up(self, conn: sqlite3.Connection) -> bool:
        """Re-read the findings logged since the last read; False when one of them is gone (a
        deletion by hand: its slot cannot be found by id, so the caller loads everything)."""
        changed: set[str] = set()
        seq = self._seq
        for at, fid in conn.execute(
            "SELECT seq, finding_id FROM finding_changes WHERE seq > ?", [self._seq]
        ):
            changed.add(fid)
            seq = max(seq, at)
        if changed:
            ids = _json_list(changed)
            (present,) = conn.execute(
                "SELECT count(*) FROM findings WHERE id IN (SELECT value FROM json_each(?))", [ids]
            ).fetchone()
            if present < len(changed):
                return False
            self._store(
                conn.execute(f"{_ROWS} WHERE f.id IN (SELECT value FROM json_each(?))", [ids])
            )
        self._seq = seq  # only once every change is stored
        self.refreshes += 1
        return True

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
        areas: dict[str, int] = {numbers.NO_AREA: 0}
        spellings: dict[str, dict[str, int]] = {}
        pairs = []
        for walk_id, area in conn.execute("SELECT id, area FROM walks"):
            key = numbers.area_key(area)
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
            found = self._days[key] = numbers.day_of_key(key).toordinal()
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

    def _mask(self, selection: numbers.Selection) -> np.ndarray:
        c = self._cols
        mask = (c["day"] >= selection.first.toordinal()) & (c["day"] <= selection.last.toordinal())
        mask &= ~c["merged"]
        if selection.category:
            mask &= c["cat"] == _CODE_INDEX.get(selection.category, -2)
        if selection.area:
            key = numbers.area_key(selection.area)
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

    def overview(self, selection: numbers.Selection, today: date) -> numbers.Overview:
        """The same numbers as `numbers.overview`, from memory."""
        with self._lock:
            self._refresh()
            c = self._cols
            mask = self._mask(selection)
            starts = numbers.periods(selection)
            day = c["day"][mask]
            slot = np.searchsorted(np.array([s.toordinal() for s in starts]), day, "right") - 1
            n_periods, n_cats = len(starts), len(CODES)
            per_cat = np.bincount(
                slot * n_cats + c["cat"][mask], minlength=n_periods * n_cats
            ).reshape(n_periods, n_cats)
            by_category = {
                CODES[k]: per_cat[:, k].tolist() for k in range(n_cats) if per_cat[:, k].any()
            }

            walk_area = self._walk_area_for(len(self._walks) + 1)
            area = walk_area[c["walk"][mask]]
            n_areas = len(self._areas)
            per = np.bincount(slot * n_areas + area, minlength=n_periods * n_areas).reshape(
                n_periods, n_areas
            )
            open_ = c["open"][mask]
            area_open = np.bincount(area, weights=open_, minlength=n_areas)
            areas = [
                numbers.AreaRow(
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
        return numbers.finish(
            numbers.Overview(
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
    ) -> tuple[list[numbers.OwnerRow], np.ndarray, np.ndarray]:
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
                numbers.OwnerRow(
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
        self, selection: numbers.Selection, cell_m: float = 50, max_points: int = 6000
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
            # The cells' width in longitude follows the latitude of the newest finding.
            lat0 = float(self._cols["lat"][present[-1]]) if len(present) else 59.3
        return grid(lat, lon, lat0, cell_m, max_points)


def _group_medians(
    groups: np.ndarray, values: np.ndarray, n: int
) -> list[tuple[float | None, int]]:
    """Per group 0..n-1: (median rounded to a tenth, count), as `numbers.median` gives it."""
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

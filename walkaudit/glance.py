"""What the start screen shows, read with the standard library alone.

The app's first screen must appear before the heavy imports (pydantic's models, sqlite-utils,
Pillow, httpx, geopy): on a phone each of them costs tens of milliseconds of a cold start. So the
start screen reads its few facts (language, theme, enrolment, the walks with their number of
findings) straight from the store's SQLite file, read-only, and `walkaudit.store` is imported
after the screen shows. Reading the same file the Store writes keeps one source of truth; a test
compares every fact here with what the Store says.

Read-only and forgiving: a store that does not exist yet (first start) or that this code cannot
read (a schema it does not know) gives None, and the app takes the long way (opens the Store).
"""

from __future__ import annotations

import sqlite3
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

DB_NAME = "walkaudit.db"  # the Store's file (walkaudit.store.DB_NAME; a test holds them equal)
# The meta keys the Store's users write (the settings, enrolment, the walk in progress).
META_LANG, META_THEME = "ui.lang", "ui.theme"
META_TOKEN, META_SERVER, META_ENROL_SKIPPED = "token", "server_url", "ui.enrol_skipped"
META_ACTIVE_WALK = "active_walk"
MAX_WALKS = 30  # the start screen lists the newest 30


@dataclass(frozen=True)
class WalkLine:
    """A walk as the start screen lists it."""

    id: str
    name: str
    area: str
    started_at: datetime
    ended_at: datetime | None
    findings: int


@dataclass(frozen=True)
class Glance:
    """The start screen's facts at one moment."""

    meta: dict[str, str]
    walks: list[WalkLine]

    @property
    def lang(self) -> str | None:
        return self.meta.get(META_LANG)

    @property
    def theme(self) -> str | None:
        return self.meta.get(META_THEME)

    @property
    def enrolled(self) -> bool:
        return bool(self.meta.get(META_TOKEN))

    @property
    def enrol_skipped(self) -> bool:
        return bool(self.meta.get(META_ENROL_SKIPPED))

    @property
    def server_url(self) -> str | None:
        return self.meta.get(META_SERVER)

    @property
    def active_walk(self) -> WalkLine | None:
        active = self.meta.get(META_ACTIVE_WALK)
        return next((w for w in self.walks if w.id == active), None) if active else None


_WALKS = (
    "SELECT w.id, w.name, w.area, w.started_at, w.ended_at,"
    " (SELECT count(DISTINCT f.id) FROM findings f WHERE f.walk_id = w.id) FROM walks w"
)


def read(data_dir: Path) -> Glance | None:
    """The start screen's facts, or None when there is no store here that this can read."""
    path = Path(data_dir) / DB_NAME
    if not path.is_file():
        return None
    try:
        # mode=ro: never create or migrate anything from here (the Store does that).
        conn = sqlite3.connect(f"{path.resolve().as_uri()}?mode=ro", uri=True, timeout=5)
    except sqlite3.Error:
        return None
    try:
        meta = dict(conn.execute("SELECT key, value FROM meta").fetchall())
        rows = conn.execute(f"{_WALKS} ORDER BY w.started_at DESC LIMIT ?", [MAX_WALKS]).fetchall()
        active = meta.get(META_ACTIVE_WALK)
        if active and not any(r[0] == active for r in rows):  # older than the newest 30
            rows += conn.execute(f"{_WALKS} WHERE w.id = ?", [active]).fetchall()
        walks = [
            WalkLine(
                id=r[0],
                name=r[1],
                area=r[2] or "",
                started_at=datetime.fromisoformat(r[3]),
                ended_at=datetime.fromisoformat(r[4]) if r[4] else None,
                findings=int(r[5]),
            )
            for r in rows
        ]
    except (sqlite3.Error, ValueError, TypeError):
        return None  # a schema or a value this does not know: the Store will say what it is
    finally:
        conn.close()
    return Glance(meta=meta, walks=walks)

"""Who sees what over Open311.

A key without owner (the municipality's system) reads and updates every finding; a key bound to
an owner only the findings assigned to that owner — anything else is NotFound, as if it did not
exist. Without a key, and only with Settings.open311_public_read, the public view has no personal
data: description = category and severity (never the walker's note), no event notes (status
labels only, no comments), no photos (a photo may show a person or a number plate),
agency_responsible only for municipalities and the police (a property owner may be a person),
coordinates to 5 decimals (about a metre), and no disorder (ORD) findings at all, nor its service.

`scope` is the SQL half of this, shared by requests, updates and photos; the fields are left out
where the answers are made (`queries`, `updates`, `media`).
"""

from __future__ import annotations

import sqlite_utils

from sync_server.open311.keys import View

PUBLIC_HIDDEN = ("ORD",)  # disorder: police matters, never in the public view
PUBLIC_DECIMALS = 5


def scope(conn: sqlite_utils.Database, view: View, page_end: int) -> tuple[list[str], list[object]]:
    """What a view may see of FROM_FINDINGS (aliases f, a, o, w, ft): WHERE clauses, params."""
    if view.key is None:
        return [f"f.category NOT IN ({', '.join('?' * len(PUBLIC_HIDDEN))})"], [*PUBLIC_HIDDEN]
    if view.key.owner_id:
        return [_owner_clause(conn, view.key.owner_id, page_end)], [view.key.owner_id]
    return [], []


def _owner_clause(conn: sqlite_utils.Database, owner_id: str, page_end: int) -> str:
    # Two plans: the owner's assignments, all of them sorted by time (cheap for a small owner),
    # or the findings in time order, keeping the owner's until the page is full (cheap for a big
    # one: at 100,000 findings and an owner of 37,000, 2 ms instead of 80). The first costs the
    # owner's n, the second about page_end * total / n rows; '+' keeps SQLite off the index.
    owned = conn.execute("SELECT count(*) FROM assignments WHERE owner_id = ?", [owner_id])
    total = conn.execute("SELECT max(rowid) FROM findings").fetchone()[0] or 0
    n = owned.fetchone()[0]
    return "+a.owner_id = ?" if n * n > page_end * total else "a.owner_id = ?"

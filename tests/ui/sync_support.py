"""For the sync tests of the app: an enrolled phone, and what the real server holds.

The server is the real `walkaudit-server` process (tests.support.ServerProcess); what it holds is
read from its own database file and blob folder, as a coordinator's tools would see it.
"""

from __future__ import annotations

import hashlib
import sqlite3
from pathlib import Path
from typing import Any

from tests.support import ServerProcess, run
from walkaudit.store import Store

ALL_SYNCED = "Allt är synkat"
NOTHING_LOST = "inget är förlorat"


def enrolled_phone(tmp_path: Path, server: ServerProcess, name: str = "phone") -> Path:
    """A data directory enrolled with the server, past the first-run explanations."""
    data = tmp_path / name
    r = run("walkaudit", "--data", data, "enrol", server.url, server.enrol_code())
    assert r.code == 0, r.err
    store = Store.open(data)
    store.set_meta(**{"ui.location_explained": "1"})
    store.close()
    return data


class ServerView:
    """What the server holds: walks, route points, findings, verified photos (read-only)."""

    def __init__(self, server: ServerProcess) -> None:
        self.server = server
        self.db_path = server.data / "walkaudit.db"

    def rows(self, sql: str, params: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
        if not self.db_path.exists():
            return []
        conn = sqlite3.connect(self.db_path, timeout=5)
        try:
            return list(conn.execute(sql, params))
        finally:
            conn.close()

    def walk_ended(self, walk_id: str) -> bool | None:
        """None: the server has no such walk; else whether it has the walk's end."""
        rows = self.rows("SELECT ended_at FROM walks WHERE id = ?", (walk_id,))
        return None if not rows else rows[0][0] is not None

    def route_points(self, walk_id: str) -> int:
        return int(
            self.rows("SELECT count(*) FROM track_points WHERE walk_id = ?", (walk_id,))[0][0]
        )

    def stored_photos(self) -> set[str]:
        return {r[0] for r in self.rows("SELECT sha256 FROM photos")}

    def blob_sha256(self, sha256: str) -> str | None:
        """The sha256 of the bytes the server keeps under that name (None: not there)."""
        found = [p for p in self.server.data.rglob(sha256) if "partial" not in p.parts]
        return hashlib.sha256(found[0].read_bytes()).hexdigest() if found else None

    def missing(self, store: Store) -> list[str]:
        """What of the phone's walks, routes, findings and photos the server lacks (empty: all)."""
        lacks: list[str] = []
        for walk in store.walks():
            ended = self.walk_ended(walk.id)
            if ended is None or (walk.ended_at is not None and not ended):
                lacks.append(f"walk {walk.name}: {'absent' if ended is None else 'not ended'}")
            mine = store.query(
                "SELECT count(*) AS n FROM track_points WHERE walk_id = ?", [walk.id]
            )
            theirs = self.route_points(walk.id)
            if theirs != mine[0]["n"]:
                lacks.append(f"route of {walk.name}: {theirs}/{mine[0]['n']} points")
        held = dict(self.rows("SELECT id, revision FROM findings"))
        photos = self.stored_photos()
        for row in store.findings():
            if held.get(row["id"]) != row["revision"]:
                lacks.append(f"finding {row['id']} revision {row['revision']}")
            for p in store.finding(row["id"]).photos:
                if p.sha256 not in photos:
                    lacks.append(f"photo {p.sha256[:12]}")
        captures = store.query("SELECT count(*) AS n FROM captures")[0]["n"]
        if captures:  # saved on the phone, not even a finding yet
            lacks.append(f"{captures} captures still in the inbox")
        return lacks

"""Read side of the coordinator's findings: the filtered list, map points, one finding in full.

All three select through `finding_filters` (same filters, same rows). The list is paged (the
newest or the most urgent deadline first) and counts its rows; the map gets compact points only.
"""

from __future__ import annotations

import json
import math
from dataclasses import dataclass
from typing import Any

from sync_server.core import set_aside
from sync_server.core.db import Database
from sync_server.core.finding_filters import FROM_FINDINGS, Filters, where
from sync_server.owners.policy import default_priority

PAGE_SIZE = 50
MAX_MAP_POINTS = 200_000
SORTS = ("newest", "oldest", "deadline")
_ORDER = {"newest": "f.captured_at DESC, f.id DESC", "oldest": "f.captured_at, f.id"}
_NEARBY_M = 50


@dataclass(frozen=True)
class Page:
    rows: list[dict[str, Any]]
    total: int
    page: int
    pages: int


def list_page(db: Database, filters: Filters, page: int = 1, sort: str = "newest") -> Page:
    """One page of the filtered findings, with the total count."""
    clause, params = where(filters)
    conn = db.conn()
    total = conn.execute(f"SELECT count(*) FROM findings f{clause}", params).fetchone()[0]
    pages = max(1, math.ceil(total / PAGE_SIZE))
    page = min(max(1, page), pages)
    offset = (page - 1) * PAGE_SIZE
    if sort == "deadline":
        rows = _by_deadline(db, clause, params, offset, total)
    else:
        rows = list(
            conn.query(
                f"{_ROW}{FROM_FINDINGS}{clause} ORDER BY {_ORDER[sort]} LIMIT ? OFFSET ?",
                [*params, PAGE_SIZE, offset],
            )
        )
    for row in rows:
        row["priority"] = row["priority"] or default_priority(row["severity"], row["category"])
    return Page(rows, total, page, pages)


_ROW = (
    "SELECT f.id, f.category, f.severity, f.note, f.status, f.captured_at, f.walk_id,"
    " w.name AS walk_name, w.area, a.owner_id, o.name AS owner_name, a.reason, a.deadline,"
    " ft.priority, ft.flagged_at,"
    " (SELECT sha256 FROM finding_photos fp WHERE fp.finding_id = f.id"
    "  ORDER BY position LIMIT 1) AS photo"
)


def _by_deadline(
    db: Database, clause: str, params: list[object], offset: int, total: int
) -> list[dict[str, Any]]:
    # Walk the deadline index and stop after a page (a sort of every match would not). Findings
    # not routed yet have no deadline: they come after all the others.
    conn = db.conn()
    routed_from = FROM_FINDINGS.replace("LEFT JOIN assignments a", "JOIN assignments a")
    rows = list(
        conn.query(
            f"{_ROW}{routed_from}{clause} ORDER BY a.deadline, a.finding_id LIMIT ? OFFSET ?",
            [*params, PAGE_SIZE, offset],
        )
    )
    if len(rows) == PAGE_SIZE:
        return rows
    unrouted = f"{clause} AND a.finding_id IS NULL"
    waiting = conn.execute(
        f"SELECT count(*) FROM findings f LEFT JOIN assignments a ON a.finding_id = f.id{unrouted}",
        params,
    ).fetchone()[0]
    start = max(0, offset - (total - waiting))
    return rows + list(
        conn.query(
            f"{_ROW}{FROM_FINDINGS}{unrouted} ORDER BY f.captured_at LIMIT ? OFFSET ?",
            [*params, PAGE_SIZE - len(rows), start],
        )
    )


def map_points(db: Database, filters: Filters) -> str:
    """The filtered findings as compact JSON for the map: [[lat, lon, id, category, status]]."""
    clause, params = where(filters)
    rows = db.conn().execute(
        f"SELECT f.latitude, f.longitude, f.id, f.category, f.status FROM findings f{clause}"
        " LIMIT ?",
        [*params, MAX_MAP_POINTS + 1],
    )
    points = rows.fetchall()
    body = {"points": points[:MAX_MAP_POINTS], "more": len(points) > MAX_MAP_POINTS}
    return json.dumps(body, separators=(",", ":"))


def detail(db: Database, finding_id: str) -> dict[str, Any] | None:
    """Everything the finding's page shows, or None."""
    conn = db.conn()
    rows = list(
        conn.query(
            "SELECT f.*, w.name AS walk_name, w.area, d.name AS device_name, a.owner_id,"
            " o.name AS owner_name, o.kind AS owner_kind, a.email AS owner_email, a.reason,"
            " a.detail AS route_detail, a.deadline, ft.priority, ft.flagged_at, ft.flag_note,"
            " ft.merged_into, ft.sent_at, ft.acknowledged_at, ft.fixed_at, ft.closed_at"
            f" {FROM_FINDINGS} LEFT JOIN devices d ON d.id = f.device_id WHERE f.id = ?",
            [finding_id],
        )
    )
    if not rows:
        return None
    finding = rows[0]
    finding["default_priority"] = default_priority(finding["severity"], finding["category"])
    finding["priority"] = finding["priority"] or finding["default_priority"]
    finding["photos"] = [
        r[0]
        for r in conn.execute(
            "SELECT sha256 FROM finding_photos WHERE finding_id = ? ORDER BY position", [finding_id]
        )
    ]
    events = []
    for row in conn.query(
        "SELECT seq, kind, at, actor, note, status_after, json FROM events"
        " WHERE finding_id = ? ORDER BY seq",
        [finding_id],
    ):
        row["photos"] = [p["sha256"] for p in json.loads(row.pop("json")).get("photos", [])]
        events.append(row)
    finding["events"] = events
    finding["duplicates"] = list(
        conn.query(
            "SELECT f.id, f.category, f.note, f.captured_at FROM finding_tracking ft"
            " JOIN findings f ON f.id = ft.finding_id WHERE ft.merged_into = ?"
            " ORDER BY f.captured_at",
            [finding_id],
        )
    )
    finding["nearby"] = nearby(db, finding)
    finding["set_aside"] = set_aside.for_finding(db, finding_id)
    return finding


def nearby(db: Database, finding: dict[str, Any], radius_m: float = _NEARBY_M) -> list[dict]:
    """Other findings of the same category within radius_m: likely duplicates to merge."""
    lat, lon = finding["latitude"], finding["longitude"]
    if not isinstance(lat, int | float) or not isinstance(lon, int | float):
        return []  # odd stored data: the page shows the finding without neighbours
    dlat = radius_m / 111_320
    dlon = radius_m / (111_320 * max(0.01, math.cos(math.radians(lat))))
    rows = db.conn().query(
        "SELECT f.id, f.note, f.status, f.captured_at, f.latitude, f.longitude FROM findings f"
        " LEFT JOIN finding_tracking ft ON ft.finding_id = f.id WHERE f.category = ?"
        " AND f.id != ? AND ft.merged_into IS NULL AND f.latitude BETWEEN ? AND ?"
        " AND f.longitude BETWEEN ? AND ? ORDER BY f.captured_at LIMIT 20",
        [finding["category"], finding["id"], lat - dlat, lat + dlat, lon - dlon, lon + dlon],
    )
    found = []
    for row in rows:
        metres = math.hypot(
            (row["latitude"] - lat) * 111_320,
            (row["longitude"] - lon) * 111_320 * math.cos(math.radians(lat)),
        )
        if metres <= radius_m:
            found.append(row | {"metres": round(metres)})
    return sorted(found, key=lambda r: r["metres"])


def photo_is_known(db: Database, sha256: str) -> bool:
    """True if a finding or an event names this photo (only those are served to staff)."""
    conn = db.conn()
    if conn.execute("SELECT 1 FROM finding_photos WHERE sha256 = ? LIMIT 1", [sha256]).fetchone():
        return True
    return conn.execute("SELECT 1 FROM photos WHERE sha256 = ?", [sha256]).fetchone() is not None


def attention(db: Database) -> dict[str, int]:
    """What needs the coordinator: findings on the triage list (with what a pass set aside)
    and flagged ones (all small, each a partial index)."""
    conn = db.conn()
    return {
        "triage": conn.execute(
            "SELECT count(*) FROM assignments a JOIN findings f ON f.id = a.finding_id"
            " WHERE a.owner_id IS NULL AND f.status NOT IN ('verified', 'closed')"
            " AND f.id NOT IN (SELECT finding_id FROM set_aside WHERE finding_id IS NOT NULL)"
        ).fetchone()[0]
        + conn.execute(  # what a background pass set aside waits there too
            "SELECT count(*) FROM set_aside s LEFT JOIN findings f ON f.id = s.finding_id"
            " WHERE s.finding_id IS NULL OR f.status NOT IN ('verified', 'closed')"
        ).fetchone()[0],
        "flagged": conn.execute(
            "SELECT count(*) FROM finding_tracking WHERE flagged_at IS NOT NULL"
            " AND merged_into IS NULL"
        ).fetchone()[0],
    }


def choices(db: Database) -> dict[str, Any]:
    """What the filter form offers: owners with findings, walk areas, recent walks."""
    conn = db.conn()
    return {
        "owners": list(
            conn.query(
                "SELECT o.id, o.name, o.kind FROM owners o WHERE o.id IN"
                " (SELECT DISTINCT owner_id FROM assignments WHERE owner_id IS NOT NULL)"
                " ORDER BY o.kind != 'owner', lower(o.name)"
            )
        ),
        "areas": [
            r[0]
            for r in conn.execute(
                "SELECT min(area) FROM walks WHERE area != '' GROUP BY lower(area) ORDER BY 1"
            )
        ],
        "walks": list(
            conn.query(
                "SELECT id, name, area, started_at FROM walks ORDER BY started_at DESC LIMIT 200"
            )
        ),
    }

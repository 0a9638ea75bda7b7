"""Read side: status changes for pull, and the listing behind `walkaudit-server findings`."""

from __future__ import annotations

from typing import Any

from sync_server.db import Database
from sync_server.devices import Device
from walkaudit.model import FindingEvent, FindingStatus, PullResponse, StatusChange

MAX_PULL_LIMIT = 1000


def pull(db: Database, device: Device, since: int, limit: int = 500) -> PullResponse:
    """Events of this device's findings with seq > since, oldest first, at most `limit`.

    Each change carries the finding's status right after that event (so a comment or
    still_there, which change nothing, repeat the status the finding had). Applying the changes
    in order leaves the client with the current status.
    """
    rows = (
        db.conn()
        .execute(
            "SELECT seq, finding_id, status_after, json FROM events"
            " WHERE finding_device_id = ? AND seq > ? ORDER BY seq LIMIT ?",
            (device.id, since, limit + 1),
        )
        .fetchall()
    )
    more = len(rows) > limit
    rows = rows[:limit]
    changes = [
        StatusChange(
            seq=seq,
            finding_id=finding_id,
            status=FindingStatus(status),
            event=FindingEvent.model_validate_json(event_json),
        )
        for seq, finding_id, status, event_json in rows
    ]
    cursor = rows[-1][0] if rows else since
    return PullResponse(cursor=cursor, changes=changes, more=more)


_FINDING_COLUMNS = (
    "id, revision, category, severity, note, latitude, longitude, accuracy, walk_id, device_id,"
    " status, captured_at, received_at"
)


def list_findings(db: Database) -> list[dict[str, Any]]:
    """Every finding (current revision) with its photos and whether each is stored."""
    conn = db.conn()
    findings = list(conn.query(f"SELECT {_FINDING_COLUMNS} FROM findings ORDER BY received_at, id"))
    photos: dict[str, list[dict[str, Any]]] = {}
    for row in conn.query(
        "SELECT fp.finding_id, fp.sha256, fp.size, fp.width, fp.height, p.sha256 AS stored,"
        " p.size AS stored_size, p.width AS stored_width, p.height AS stored_height"
        " FROM finding_photos fp LEFT JOIN photos p ON p.sha256 = fp.sha256"
        " ORDER BY fp.finding_id, fp.position"
    ):
        stored = row["stored"] is not None
        photos.setdefault(row["finding_id"], []).append(
            {
                "sha256": row["sha256"],
                "size": row["stored_size"] if stored else row["size"],
                "width": row["stored_width"] if stored else row["width"],
                "height": row["stored_height"] if stored else row["height"],
                "stored": stored,
            }
        )
    for finding in findings:
        finding["photos"] = photos.get(finding["id"], [])
    return findings

"""The read side of what phones sent: status changes for pull, open findings for follow-up walks
and the "same thing?" prompt, and the listing behind `walkaudit-server findings`.

What a device reads of *other* devices' findings leaves out the disorder findings (ORD: the
categories whose holder is the police) unless the device was enrolled for the police/EST: that
rule lives in `visibility`. Pull needs no such filter: it only ever shows the device's own
findings.
"""

from __future__ import annotations

import math
from typing import Any

from sync_server.core.db import Database
from sync_server.field.devices import Device
from sync_server.field.visibility import visible_findings
from walkaudit.model import (
    ANSWER_KINDS,
    CONFIRMED_STATUSES,
    EventKind,
    Finding,
    FindingEvent,
    FindingStatus,
    OpenFinding,
    OpenFindingsResponse,
    PullResponse,
    StatusChange,
)

MAX_PULL_LIMIT = 1000
# Open for a follow-up: everything not yet verified on a walk or closed by the coordinator.
_DONE = CONFIRMED_STATUSES
# The holder's answers, and what makes an earlier answer stale (the finding went elsewhere, or
# came back after "fixed").
_ANSWER_OR_RESET = sorted(k.value for k in (*ANSWER_KINDS, EventKind.REROUTED, EventKind.REOPENED))
_LATEST_ANSWER = (
    "(SELECT e.json FROM events e WHERE e.finding_id = f.id AND e.kind IN ("
    + ", ".join(f"'{k}'" for k in _ANSWER_OR_RESET)
    + ") ORDER BY e.seq DESC LIMIT 1)"
)


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


def open_findings(
    db: Database,
    *,
    viewer: Device,
    followup_id: str | None = None,
    area: str | None = None,
    near: tuple[float, float, float] | None = None,
    limit: int = 500,
    answers: bool = False,
) -> OpenFindingsResponse:
    """Findings for a follow-up walk or the "same thing?" prompt, oldest first.

    `followup_id`: that follow-up's findings, all of them with their current status (one
    verified since stays listed, so the walker sees, and can correct, what was answered), each
    with `area` = the follow-up's name — or, with `area` given too (an older app typed the
    follow-up's name), only its open ones, under the name as typed. `area` alone: the open
    findings of a walk area. `near` (lat, lon, radius_m): the open findings around a point.
    With `answers`, each carries the holder's latest answer, unless the finding was rerouted or
    reopened after it. Only findings `viewer` may read (`visible_findings`) are listed.
    """
    answer_sql = _LATEST_ANSWER if answers else "NULL"
    label = "coalesce(w.area, '')"
    joins = " LEFT JOIN walks w ON w.id = f.walk_id"
    visible, visible_params = visible_findings(viewer)
    where: list[str] = [visible]
    params: list[object] = list(visible_params)
    if followup_id is not None:
        label = "fu.name"
        joins = (
            " JOIN followup_items i ON i.finding_id = f.id"
            " JOIN followups fu ON fu.id = i.followup_id"
        )
        where.append("i.followup_id = ?")
        params.append(followup_id)
        if area is not None:
            label = "?"
            params.insert(0, area.strip())
    if followup_id is None or area is not None:
        where.append("f.status NOT IN (?, ?)")
        params += list(_DONE)
    if followup_id is None:
        if area is not None:
            where.append("lower(w.area) = lower(?)")
            params.append(area.strip())
        elif near is not None:
            lat, lon, radius_m = near
            dlat = radius_m / 111_320
            dlon = radius_m / (111_320 * max(0.01, math.cos(math.radians(lat))))
            where.append("f.latitude BETWEEN ? AND ? AND f.longitude BETWEEN ? AND ?")
            params += [lat - dlat, lat + dlat, lon - dlon, lon + dlon]
        else:
            raise ValueError("give a follow-up, an area or a point")
    sql = (
        f"SELECT f.json, f.status, {label} AS area, {answer_sql} AS answer FROM findings f{joins}"
        f" WHERE {' AND '.join(where)} ORDER BY f.captured_at, f.id LIMIT ?"
    )
    params.append(limit + 1)
    rows = db.conn().execute(sql, params).fetchall()
    items = [
        OpenFinding(
            finding=Finding.model_validate_json(j),
            status=FindingStatus(s),
            area=a,
            answer=_answer(answer),
        )
        for j, s, a, answer in rows[:limit]
    ]
    return OpenFindingsResponse(findings=items, more=len(rows) > limit)


def _answer(event_json: str | None) -> FindingEvent | None:
    if not event_json:
        return None
    event = FindingEvent.model_validate_json(event_json)
    return event if event.kind in ANSWER_KINDS else None


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

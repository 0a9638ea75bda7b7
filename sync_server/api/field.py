"""What a field device reads besides its own sync: open findings of an area, and their photos.

Follow-up walks check what was reported earlier (by any device), and the "same thing?" prompt
offers nearby findings from the server. Photos served here are the metadata-free upload copies.
"""

from __future__ import annotations

import math
from typing import Annotated

from fastapi import APIRouter, HTTPException, Query, Response
from fastapi.responses import FileResponse

from sync_server import followups
from sync_server.api.deps import DeviceDep, ServicesDep, error_responses
from sync_server.api.photos import Sha256Path
from walkaudit.model import Finding, FindingStatus, OpenFinding, OpenFindingsResponse

router = APIRouter(prefix="/v1", tags=["field"])

# Open for a follow-up: everything not yet verified on a walk or closed by the coordinator.
_DONE = (FindingStatus.VERIFIED.value, FindingStatus.CLOSED.value)


@router.get("/findings/open", response_model=OpenFindingsResponse,
            responses=error_responses(401, 422))  # fmt: skip
def open_findings(
    device: DeviceDep,
    services: ServicesDep,
    area: Annotated[str | None, Query(max_length=200, description="The walks' area")] = None,
    lat: Annotated[float | None, Query(ge=-90, le=90)] = None,
    lon: Annotated[float | None, Query(ge=-180, le=180)] = None,
    radius_m: Annotated[float, Query(gt=0, le=50_000)] = 500,
    limit: Annotated[int, Query(ge=1, le=2000)] = 500,
) -> Response:
    """Open findings of a planned follow-up or a walk area (by name), or within radius_m."""
    sql = (
        "SELECT f.json, f.status, coalesce(w.area, '') AS area FROM findings f"
        " LEFT JOIN walks w ON w.id = f.walk_id WHERE f.status NOT IN (?, ?)"
    )
    params: list[object] = list(_DONE)
    planned = followups.open_by_name(services.db, area) if area else None
    if area and planned:
        # A follow-up the coordinator planned: its findings, under the name the walker typed.
        sql = sql.replace("coalesce(w.area, '') AS area", "? AS area")
        params.insert(0, area.strip())
        sql += " AND f.id IN (SELECT finding_id FROM followup_items WHERE followup_id = ?)"
        params.append(planned)
    elif area:
        sql += " AND lower(w.area) = lower(?)"
        params.append(area.strip())
    elif lat is not None and lon is not None:
        dlat = radius_m / 111_320
        dlon = radius_m / (111_320 * max(0.01, math.cos(math.radians(lat))))
        sql += " AND f.latitude BETWEEN ? AND ? AND f.longitude BETWEEN ? AND ?"
        params += [lat - dlat, lat + dlat, lon - dlon, lon + dlon]
    else:
        raise HTTPException(422, "give an area, or lat and lon (with radius_m)")
    sql += " ORDER BY f.captured_at LIMIT ?"
    params.append(limit + 1)
    rows = services.db.conn().execute(sql, params).fetchall()
    items = [
        OpenFinding(finding=Finding.model_validate_json(j), status=FindingStatus(s), area=a)
        for j, s, a in rows[:limit]
    ]
    body = OpenFindingsResponse(findings=items, more=len(rows) > limit)
    return Response(body.model_dump_json(), media_type="application/json")


@router.get("/photos/{sha256}", responses=error_responses(401, 404))
def get_photo(sha256: Sha256Path, device: DeviceDep, services: ServicesDep) -> FileResponse:
    """A stored photo (metadata-free JPEG), for follow-up walks."""
    if not services.blobs.exists(sha256):
        raise HTTPException(404, f"photo {sha256} is not on this server")
    return FileResponse(services.blobs.path(sha256), media_type="image/jpeg")

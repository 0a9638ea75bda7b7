"""What a field device reads besides its own sync: the follow-ups planned on this server, open
findings (of a follow-up, an area or around a point), and their photos.

Follow-up walks check what was reported earlier (by any device), and the "same thing?" prompt
offers nearby findings from the server. Photos served here are the metadata-free upload copies.
Another device's disorder findings (ORD), their counts and their photos reach only a device
enrolled for the police/EST (sync_server.field.visibility.visible_findings).
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Annotated

from fastapi import APIRouter, HTTPException, Query, Response
from fastapi.responses import FileResponse

from sync_server.api.deps import DeviceDep, ServicesDep, error_responses
from sync_server.api.field.photos import Sha256Path
from sync_server.core.time import parse_iso
from sync_server.field import reads
from sync_server.field.visibility import photo_visible
from sync_server.workspace import followups
from walkaudit.model import FollowupsResponse, FollowupSummary, OpenFindingsResponse

router = APIRouter(prefix="/v1", tags=["field"])

_UUID = r"^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$"


@router.get("/followups", response_model=FollowupsResponse,
            responses=error_responses(401, 422))  # fmt: skip
def open_followups(
    device: DeviceDep,
    services: ServicesDep,
    limit: Annotated[int, Query(ge=1, le=followups.MAX_LISTED)] = 100,
) -> Response:
    """The open follow-ups the coordinators planned, newest first, for the walker to choose from."""
    found, more = followups.open_followups(services.db, device, limit)
    body = FollowupsResponse(
        followups=[
            FollowupSummary(
                id=f.id,
                name=f.name,
                area=f.area,
                created_at=_aware(f.created_at),
                findings=f.items,
                open=f.items - f.done,
            )
            for f in found
        ],
        more=more,
    )
    return Response(body.model_dump_json(), media_type="application/json")


def _aware(stamp: str) -> datetime:
    # Rows written by hand (a migration, a test) may lack the zone the app always writes: UTC.
    value = parse_iso(stamp)
    return value if value.tzinfo else value.replace(tzinfo=UTC)


@router.get("/findings/open", response_model=OpenFindingsResponse,
            responses=error_responses(401, 404, 422))  # fmt: skip
def open_findings(
    device: DeviceDep,
    services: ServicesDep,
    followup: Annotated[
        str | None, Query(pattern=_UUID, description="A planned follow-up's id (GET /v1/followups)")
    ] = None,
    area: Annotated[str | None, Query(max_length=200, description="The walks' area")] = None,
    lat: Annotated[float | None, Query(ge=-90, le=90)] = None,
    lon: Annotated[float | None, Query(ge=-180, le=180)] = None,
    radius_m: Annotated[float, Query(gt=0, le=50_000)] = 500,
    limit: Annotated[int, Query(ge=1, le=2000)] = 500,
    answers: Annotated[
        bool, Query(description="Add each finding's latest answer from its holder")
    ] = False,
) -> Response:
    """A follow-up's findings (by id, or by the name a walker typed), a walk area's open
    findings, or the open findings within radius_m of a point."""
    db = services.db
    if followup:
        try:
            chosen = followups.open_by_id(db, followup.lower())
        except followups.NoSuchFollowup as exc:
            raise HTTPException(404, f"{exc}; fetch the list of follow-ups again") from None
        body = reads.open_findings(
            db, viewer=device, followup_id=chosen.id, limit=limit, answers=answers
        )
    elif area:
        planned = followups.open_by_name(db, area)
        # A follow-up the coordinator planned: its open findings, under the name the walker typed.
        body = reads.open_findings(
            db, viewer=device, followup_id=planned, area=area, limit=limit, answers=answers
        )
    elif lat is not None and lon is not None:
        body = reads.open_findings(
            db, viewer=device, near=(lat, lon, radius_m), limit=limit, answers=answers
        )
    else:
        raise HTTPException(422, "give a follow-up, an area, or lat and lon (with radius_m)")
    # Without ?answers the field is left out, not null: an older app refuses unknown fields.
    leave_out = None if answers else {"findings": {"__all__": {"answer"}}}
    return Response(body.model_dump_json(exclude=leave_out), media_type="application/json")


@router.get("/photos/{sha256}", responses=error_responses(401, 404))
def get_photo(sha256: Sha256Path, device: DeviceDep, services: ServicesDep) -> FileResponse:
    """A stored photo (metadata-free JPEG), for follow-up walks and the owner's answers."""
    db = services.db
    # Stored means decoded completely (a `photos` row), not just a blob on disk; a disorder
    # finding's photo is "not on this server" for a device that may not see the finding.
    stored = db.query_one("SELECT 1 FROM photos WHERE sha256 = ?", (sha256,)) is not None
    if not (stored and services.blobs.exists(sha256) and photo_visible(db, device, sha256)):
        raise HTTPException(404, f"photo {sha256} is not on this server")
    return FileResponse(services.blobs.path(sha256), media_type="image/jpeg")

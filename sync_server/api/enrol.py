"""POST /v1/enrol: a one-time code becomes a device token."""

from __future__ import annotations

from fastapi import APIRouter

from sync_server import devices
from sync_server.api.deps import ServicesDep, error_responses
from walkaudit.model import EnrolRequest, EnrolResponse

router = APIRouter(tags=["devices"])


@router.post(
    "/v1/enrol",
    status_code=201,
    response_model=EnrolResponse,
    responses=error_responses(401, 422),
)
def enrol(body: EnrolRequest, services: ServicesDep) -> EnrolResponse:
    """Exchange a one-time enrolment code for this device's token (shown only once)."""
    device, token = devices.enrol(services.db, body.code, body.device_name)
    return EnrolResponse(device_id=device.id, token=token)

"""Dependencies shared by the routers: the app's services and the authenticated device."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Annotated

from fastapi import Depends, Request
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer

from sync_server.blobs import BlobStore
from sync_server.config import Settings
from sync_server.db import Database
from sync_server.devices import Device, authenticate
from sync_server.errors import AuthError
from walkaudit.model import ErrorBody


@dataclass(frozen=True)
class Services:
    """What `create_app` builds once and every request uses (kept on `app.state.services`)."""

    settings: Settings
    db: Database
    blobs: BlobStore


def get_services(request: Request) -> Services:
    """The app's services."""
    services: Services = request.app.state.services
    return services


_bearer = HTTPBearer(
    auto_error=False,
    description="The device token from POST /v1/enrol: `Authorization: Bearer wa_…`.",
)


def current_device(
    request: Request,
    services: Annotated[Services, Depends(get_services)],
    credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(_bearer)],
) -> Device:
    """The device whose bearer token the request carries; AuthError (401) otherwise."""
    if credentials is None:
        raise AuthError(
            "this request carries no device token; send `Authorization: Bearer <token>` with "
            "the token from enrolment (walkaudit enrol URL CODE)"
        )
    device = authenticate(services.db, credentials.credentials)
    request.state.device_id = device.id  # for the error log
    return device


ServicesDep = Annotated[Services, Depends(get_services)]
DeviceDep = Annotated[Device, Depends(current_device)]


_ERROR_MEANINGS = {
    400: "The request is malformed (the detail says how).",
    401: "No, unknown or revoked device token, or an unusable enrolment code.",
    404: "Not found, or not yours.",
    409: "Conflicts with what the server holds (see Upload-Offset).",
    413: "Larger than the server accepts.",
    415: "Not a JPEG.",
    422: "Invalid request: the detail names the field.",
}


def error_responses(*codes: int) -> dict[int | str, dict[str, object]]:
    """OpenAPI entries for the error answers an endpoint can give (all `ErrorBody`)."""
    return {code: {"model": ErrorBody, "description": _ERROR_MEANINGS[code]} for code in codes}

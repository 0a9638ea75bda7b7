"""Dependencies shared by the routers: the app's services and the authenticated device."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Annotated

import argon2
from fastapi import Depends, HTTPException, Request
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer

from sync_server.api.client import client_address
from sync_server.config import Settings
from sync_server.core.blobs import BlobStore
from sync_server.core.db import Database
from sync_server.core.errors import AuthError
from sync_server.core.throttle import Throttles, address_key, wait_text
from sync_server.field.devices import Device, authenticate
from walkaudit.model import ErrorBody


@dataclass(frozen=True)
class Services:
    """What `create_app` builds once and every request uses (kept on `app.state.services`)."""

    settings: Settings
    db: Database
    blobs: BlobStore
    # Passwords of the coordinator web: argon2 at full cost in production, cheap in tests.
    hasher: argon2.PasswordHasher
    throttles: Throttles = field(default_factory=Throttles)  # in memory, per process


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
    try:
        device = authenticate(services.db, credentials.credentials)
    except AuthError:
        # A wrong token is still checked when its address is throttled (a lookup by hash costs
        # little), so a phone behind the same NAT as a guesser keeps syncing; only the wrong
        # ones get 429 instead of 401, to tell the guesser to stop.
        wait = services.throttles.device_tokens.failed(address_key(client_address(request)))
        if wait:
            raise too_many(
                "too many unknown device tokens came from your address lately; try again in "
                f"{wait_text(wait)}, and if this device was revoked, enrol it again",
                wait,
            ) from None
        raise
    request.state.device_id = device.id  # for the error log
    return device


def too_many(detail: str, retry_after: int) -> HTTPException:
    """A 429 answer (`{"detail": …}` with Retry-After) for a throttled address."""
    return HTTPException(429, detail, headers={"Retry-After": str(retry_after)})


ServicesDep = Annotated[Services, Depends(get_services)]
DeviceDep = Annotated[Device, Depends(current_device)]


_ERROR_MEANINGS = {
    400: "The request is malformed (the detail says how).",
    401: "No, unknown or revoked device token, or an unusable enrolment code.",
    403: "A device may not do this (an event kind only coordinators and owners set).",
    404: "Not found, or not yours.",
    409: "Conflicts with what the server holds (see Upload-Offset).",
    413: "Larger than the server accepts.",
    415: "Not a JPEG.",
    422: "Invalid request: the detail names the field.",
    429: "Too many failed attempts from this address; wait as long as Retry-After says.",
}


def error_responses(*codes: int) -> dict[int | str, dict[str, object]]:
    """OpenAPI entries for the error answers an endpoint can give (all `ErrorBody`)."""
    return {code: {"model": ErrorBody, "description": _ERROR_MEANINGS[code]} for code in codes}

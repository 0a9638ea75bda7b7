"""POST /v1/enrol: a one-time code becomes a device token (wrong codes throttled).

A code has about 40 bits and a hit gives a device token, so wrong codes are limited (see
`sync_server.core.throttle`): 10 per address in 15 minutes, then 429 with Retry-After. A throttled
address is refused before its code is even looked at, the right code too: were a right code let
through, the guesser's codes would be checked all the same and the limit would bound nothing.

And 100 wrong codes from all addresses together in 15 minutes, against guessing from many
addresses. That limit must not lock everyone out while it lasts (the police officer enrolling at
a walk's start): an address without a wrong code in the window is still let through, so a phone
whose code is right the first time enrols. A guesser gets one try per fresh address per window
that way (an IPv6 /64 counts as one address), and has to pay for the addresses.

Every try counts as a failure from the start and is taken back when the code was right, so a
burst of parallel tries gets no more checks than tries one by one.
"""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse

from sync_server.api.client import client_address
from sync_server.api.deps import ServicesDep, error_responses
from sync_server.core.errors import EnrolmentError
from sync_server.core.throttle import ALL, Throttles, address_key, wait_text
from sync_server.field import devices
from walkaudit.model import EnrolRequest, EnrolResponse

router = APIRouter(tags=["devices"])


@router.post(
    "/v1/enrol",
    status_code=201,
    response_model=EnrolResponse,
    responses=error_responses(401, 422, 429),
)
def enrol(
    body: EnrolRequest, request: Request, services: ServicesDep
) -> EnrolResponse | JSONResponse:
    """Exchange a one-time enrolment code for this device's token (shown only once)."""
    throttles, address = services.throttles, address_key(client_address(request))
    refused, counted_overall = _admit(throttles, address)
    if refused is not None:
        # Answered here, not raised: the throttle logs a refused address once per window,
        # the error handler would log every one of thousands of tries.
        return refused
    try:
        device, token = devices.enrol(services.db, body.code, body.device_name)
    except EnrolmentError:
        if not counted_overall:
            throttles.enrol_overall.record(ALL)
        raise
    except Exception:  # not a wrong code (a locked database, say): the try is given back
        throttles.enrol_address.forgive(address)
        if counted_overall:
            throttles.enrol_overall.forgive(ALL)
        raise
    throttles.enrol_address.forgive(address)
    if counted_overall:
        throttles.enrol_overall.forgive(ALL)
    return EnrolResponse(device_id=device.id, token=token)


def _admit(throttles: Throttles, address: str) -> tuple[JSONResponse | None, bool]:
    """(a 429 answer, or None to go ahead; whether the try was counted in the overall limit)."""
    mine, overall = throttles.enrol_address, throttles.enrol_overall
    wait = mine.attempt(address)
    if wait:
        limit = mine.limit
        return _too_many(
            f"too many wrong enrolment codes came from your address ({limit.most} in "
            f"{limit.minutes} minutes); try again in {wait_text(wait)}. Check the code for "
            "typos, or ask the coordinator for a new one",
            wait,
        ), False
    if mine.count(address) == 1:  # no wrong code from here lately: never locked out by others
        return None, overall.reserve(ALL)
    wait = overall.attempt(ALL)
    if wait:
        mine.forgive(address)  # not checked, so not a failure of this address
        return _too_many(
            "too many wrong enrolment codes were tried on this server in the last "
            f"{overall.limit.minutes} minutes; try again in {wait_text(wait)}",
            wait,
        ), False
    return None, True


def _too_many(detail: str, retry_after: int) -> JSONResponse:
    return JSONResponse(
        {"detail": detail}, status_code=429, headers={"Retry-After": str(retry_after)}
    )

"""POST /v1/sync/push and GET /v1/sync/pull."""

from __future__ import annotations

import logging
from typing import Annotated

from fastapi import APIRouter, Query, Request, Response
from fastapi.concurrency import run_in_threadpool
from starlette.requests import ClientDisconnect

from sync_server.api.body import BodyTooLarge, read_bounded
from sync_server.api.deps import DeviceDep, ServicesDep, error_responses
from sync_server.core.errors import BatchTooLarge
from sync_server.field import ingest, reads
from walkaudit.model import PullResponse, PushReceipt

router = APIRouter(prefix="/v1/sync", tags=["sync"])
log = logging.getLogger("walkaudit.server")
# Event seqs are SQLite integers: a cursor beyond the 64-bit range is a 422, not an overflow.
MAX_CURSOR = 2**63 - 1
_PUSH_BODY = {
    "requestBody": {
        "required": True,
        "content": {"application/json": {"schema": {"$ref": "#/components/schemas/PushRequest"}}},
    }
}


@router.post(
    "/push",
    response_model=PushReceipt,
    responses=error_responses(400, 401, 403, 413, 422),
    openapi_extra=_PUSH_BODY,
)
async def push(request: Request, device: DeviceDep, services: ServicesDep) -> Response:
    """Store a batch (idempotent by id) and answer per record and per photo."""
    try:
        body = await _read_batch(request, services.settings.max_batch_bytes)
    except ClientDisconnect:
        log.info("push from device %s: the client went away mid-body", device.id)
        return Response(status_code=400)
    # Parsing and the database transaction run in a worker thread, off the event loop.
    receipt = await run_in_threadpool(
        ingest.push_json,
        services.db,
        services.blobs,
        device,
        body,
        services.settings.max_photo_bytes,
    )
    return Response(receipt.model_dump_json(), media_type="application/json")


async def _read_batch(request: Request, limit: int) -> bytes:
    advice = "send fewer records per batch"
    try:
        return await read_bounded(request, limit)
    except BodyTooLarge as exc:
        if exc.declared is not None:
            raise BatchTooLarge(
                f"the batch is {exc.declared:,} bytes but this server accepts at most {limit:,} "
                f"bytes per push; {advice}"
            ) from None
        raise BatchTooLarge(
            f"the batch is larger than the {limit:,} bytes this server accepts per push; {advice}"
        ) from None


@router.get("/pull", response_model=PullResponse, responses=error_responses(401, 422))
def pull(
    device: DeviceDep,
    services: ServicesDep,
    since: Annotated[
        int, Query(ge=0, le=MAX_CURSOR, description="The cursor from the last pull (0: all).")
    ] = 0,
    limit: Annotated[int, Query(ge=1, le=reads.MAX_PULL_LIMIT)] = 500,
) -> Response:
    """Status changes of this device's findings after `since`, oldest first; repeat while `more`."""
    answer = reads.pull(services.db, device, since, limit)
    return Response(answer.model_dump_json(), media_type="application/json")

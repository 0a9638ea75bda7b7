"""HEAD/PUT /v1/photos/{sha256}: resumable photo upload, streamed to the blob store in chunks."""

from __future__ import annotations

import logging
import re
from collections.abc import AsyncGenerator
from contextlib import aclosing
from typing import Annotated

import anyio
from fastapi import APIRouter, HTTPException, Path, Request, Response
from fastapi.concurrency import run_in_threadpool
from starlette.requests import ClientDisconnect

from sync_server.api.body import declared_length
from sync_server.api.deps import DeviceDep, Services, ServicesDep, error_responses
from sync_server.core.blobs import BlobBusy, BlobHashMismatch, BlobOffsetMismatch, BlobWriter
from sync_server.core.errors import NotAJpeg
from sync_server.field.devices import Device
from sync_server.field.photos import (
    JPEG_SIGNATURE,
    UploadState,
    photo_label,
    record_stored,
    refusal,
    upload_state,
)
from walkaudit.model import SHA256_PATTERN, PhotoReceipt

router = APIRouter(prefix="/v1/photos", tags=["photos"])
log = logging.getLogger("walkaudit.server")

Sha256Path = Annotated[str, Path(pattern=SHA256_PATTERN, description="The photo's sha256 (hex).")]
_CONTENT_RANGE = re.compile(r"bytes (\d{1,15})-(\d{1,15})/(\d{1,15})")
_CHUNK_BODY = {
    "requestBody": {
        "required": True,
        "content": {"application/octet-stream": {"schema": {"type": "string", "format": "binary"}}},
    },
    "parameters": [
        {
            "name": "Content-Range",
            "in": "header",
            "required": True,
            "description": "`bytes START-END/SIZE` (END inclusive; START = Upload-Offset).",
            "schema": {"type": "string"},
        }
    ],
}


def _headers(state: UploadState, offset: int | None = None) -> dict[str, str]:
    return {
        "Upload-Offset": str(state.offset if offset is None else offset),
        "Upload-Length": str(state.size),
        "Photo-State": "stored" if state.stored else "needed",
    }


def _receipt(status: int, state: UploadState) -> Response:
    body = state.receipt().model_dump_json()
    headers = _headers(state)
    return Response(body, status_code=status, media_type="application/json", headers=headers)


@router.head("/{sha256}", responses=error_responses(401, 404, 422))
def head_photo(sha256: Sha256Path, device: DeviceDep, services: ServicesDep) -> Response:
    """Upload-Offset (bytes held), Upload-Length (declared size) and Photo-State headers."""
    state = upload_state(services.db, services.blobs, device, sha256)
    return Response(status_code=200, headers=_headers(state))


@router.put(
    "/{sha256}",
    responses={
        200: {"model": PhotoReceipt, "description": "Already stored; the body was not read."},
        201: {"model": PhotoReceipt, "description": "Last chunk: verified and stored."},
        202: {"model": PhotoReceipt, "description": "Chunk kept; send the next from `offset`."},
        **error_responses(400, 401, 404, 409, 413, 415, 422),
    },
    openapi_extra=_CHUNK_BODY,
)
async def put_photo(
    sha256: Sha256Path, request: Request, device: DeviceDep, services: ServicesDep
) -> Response:
    """Append one chunk (`Content-Range: bytes START-END/SIZE`) of a photo this device named."""
    state = await run_in_threadpool(upload_state, services.db, services.blobs, device, sha256)
    if state.stored:
        return _receipt(200, state)  # without reading the body
    start, end, total = _check_range(request, state, services.settings.max_photo_bytes)
    if start != state.offset:
        raise HTTPException(
            409,
            f"this chunk starts at byte {start:,} but the server holds {state.offset:,} bytes of "
            "the photo; continue from Upload-Offset",
            headers=_headers(state),
        )
    expected = end - start + 1
    try:
        offset, received = await _stream_to_store(request, services, state, start, expected)
    except NotAJpeg as exc:  # the first bytes are no JPEG: nothing was written
        label = await run_in_threadpool(photo_label, services.db, device.id, sha256)
        raise _refused(refusal(label, exc.message)) from None
    if received is None:  # the client went away: nobody reads this answer
        return Response(status_code=400)
    if received < expected:
        raise HTTPException(
            400,
            f"the chunk had {received:,} bytes but Content-Range announced {expected:,}; the "
            f"bytes that arrived were kept, continue from Upload-Offset {offset:,}",
            headers=_headers(state, offset),
        )
    if offset < total:
        return _receipt(202, UploadState(sha256, state.size, False, offset))
    try:
        await run_in_threadpool(_finalize, services, device, sha256)
    except NotAJpeg as exc:  # complete and hashed, but it does not decode: discarded
        raise _refused(exc.message) from None
    return _receipt(201, UploadState(sha256, state.size, True, total))


def _refused(message: str) -> HTTPException:
    # 415 with the resume point: nothing of the photo is kept, so it starts again at 0.
    return HTTPException(415, message, headers={"Upload-Offset": "0", "Photo-State": "needed"})


def _check_range(request: Request, state: UploadState, limit: int) -> tuple[int, int, int]:
    value = request.headers.get("content-range")
    if value is None:
        raise HTTPException(
            400, "a photo chunk needs a Content-Range header: bytes START-END/SIZE (END inclusive)"
        )
    match = _CONTENT_RANGE.fullmatch(value.strip())
    if match is None:
        raise HTTPException(
            400, f"the Content-Range header {value[:80]!r} is not of the form bytes START-END/SIZE"
        )
    start, end, total = (int(group) for group in match.groups())
    length = declared_length(request)
    if total > limit or (length is not None and length > limit):
        raise HTTPException(
            413, f"this server accepts photos of at most {limit:,} bytes; shrink the photo first"
        )
    if total != state.size:
        raise HTTPException(
            409,
            f"Content-Range says the photo has {total:,} bytes but its finding declared "
            f"{state.size:,}; the size must match the one pushed with the finding",
            headers=_headers(state),
        )
    if not start <= end < total:
        raise HTTPException(
            400, f"the Content-Range {value!r} is not within the photo: need START ≤ END < SIZE"
        )
    if length is not None and length != end - start + 1:
        raise HTTPException(
            400,
            f"the body has {length:,} bytes (Content-Length) but Content-Range announces "
            f"{end - start + 1:,}",
        )
    return start, end, total


async def _stream_to_store(
    request: Request, services: Services, state: UploadState, start: int, expected: int
) -> tuple[int, int | None]:
    """Write the body to the partial upload; (new offset, bytes received or None if cut)."""
    writer: BlobWriter | None = None
    received = 0
    try:
        async with aclosing(_checked_chunks(request, start, expected)) as chunks:
            async for chunk in _idle_limited(chunks, services.settings.upload_idle_timeout_s):
                if writer is None:
                    writer = await run_in_threadpool(_open_writer, services, state, start)
                await anyio.to_thread.run_sync(writer.write, chunk)
                received += len(chunk)
    except (ClientDisconnect, TimeoutError):
        # A phone that lost signal mid-PUT may never close its connection: after the idle
        # timeout the bytes that arrived are kept and the photo is free for the next attempt.
        log.info("upload of photo %s by device %s was cut", state.sha256, _device_of(request))
        return await _close(writer, start), None
    except BaseException:
        await _close(writer, start)
        raise
    return await _close(writer, start), received


async def _close(writer: BlobWriter | None, start: int) -> int:
    if writer is None:
        return start
    offset = start
    with anyio.CancelScope(shield=True):  # keep (and fsync) what arrived, even when cancelled
        offset = await anyio.to_thread.run_sync(writer.close)
    return offset


def _device_of(request: Request) -> str:
    """The authenticated device id, for logs."""
    return str(getattr(request.state, "device_id", "-"))


def _open_writer(services: Services, state: UploadState, start: int) -> BlobWriter:
    try:
        return services.blobs.writer(state.sha256, start)
    except BlobOffsetMismatch as exc:
        raise HTTPException(409, str(exc), headers=_headers(state, exc.current)) from None
    except BlobBusy as exc:
        # 503 + Retry-After, not 409 with an offset: the client must wait, not resend at once.
        raise HTTPException(503, str(exc), headers={"Retry-After": "5"}) from None


async def _idle_limited(
    chunks: AsyncGenerator[bytes, None], seconds: float
) -> AsyncGenerator[bytes, None]:
    """The chunks, but TimeoutError when none arrives for `seconds`."""
    while True:
        with anyio.fail_after(seconds):
            try:
                chunk = await chunks.__anext__()
            except StopAsyncIteration:
                return
        yield chunk


async def _checked_chunks(
    request: Request, start: int, expected: int
) -> AsyncGenerator[bytes, None]:
    """The body's chunks; refuses more than `expected` bytes and a first chunk that is no JPEG."""
    head = b""
    checking = start == 0
    received = 0
    async for chunk in request.stream():
        received += len(chunk)
        if received > expected:
            raise HTTPException(
                400, f"the body is longer than the {expected:,} bytes Content-Range announces"
            )
        if checking:
            head += chunk
            if len(head) < len(JPEG_SIGNATURE) and received < expected:
                continue
            if head[: len(JPEG_SIGNATURE)] != JPEG_SIGNATURE[: len(head)]:
                raise NotAJpeg("it does not start like a JPEG (FF D8 FF)")
            checking, chunk, head = False, head, b""
        if chunk:
            yield chunk


def _finalize(services: Services, device: Device, sha256: str) -> None:
    try:
        services.blobs.finalize(sha256)
    except BlobHashMismatch as exc:
        raise HTTPException(
            422,
            f"the uploaded bytes hash to {exc.actual}, not {sha256}; the partial upload was "
            "discarded — upload the photo again from offset 0",
            headers={"Upload-Offset": "0"},
        ) from None
    # Stored only once it decodes to its end; else 415 naming the photo and its finding.
    record_stored(services.db, services.blobs, sha256, photo_label(services.db, device.id, sha256))

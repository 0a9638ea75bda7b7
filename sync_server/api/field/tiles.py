"""POST /v1/tiles/packages, GET /v1/tiles/packages/{id} and …/{id}/file: offline map packages.

A device asks for the package of a walk's area; the server prepares it in the background from its
tile source (field.tile_packages) and answers at once: 202 with the package's status while
it prepares, 200 when it is ready. The phone shows `done` of `tiles` as progress, then downloads
the MBTiles file; a cut download resumes with a Range request (and If-Range: the ETag it was
given, which changes only when the package's file is replaced by a newer one).

The file is served from an open file handle, so an answer is always one whole version of the
file even if a new version replaces it meanwhile. Range: one range is served (206); of several,
the first that the file can satisfy (no multipart answers: a phone resuming asks for one).
If-Range with the current (strong) ETag honours the Range; with anything else, an older ETag or a
date, the whole file is sent (200). The sweep that keeps the disk bounded
(sync_server.field.tile_packages.sweep) runs in a thread at start-up and every SWEEP_EVERY_S.
"""

from __future__ import annotations

import asyncio
import logging
import os
import re
import threading
from collections.abc import AsyncIterator, Iterator
from contextlib import asynccontextmanager, suppress
from email.utils import formatdate
from typing import Annotated, Any, BinaryIO, Literal

import anyio
from fastapi import APIRouter, Depends, FastAPI, HTTPException, Path, Request
from fastapi.responses import JSONResponse, StreamingResponse
from pydantic import BaseModel, Field

from sync_server.api.deps import DeviceDep, Services, error_responses
from sync_server.config import Settings
from sync_server.field import tile_packages
from sync_server.field.tile_packages import (
    MAX_LATITUDE,
    MAX_ZOOM,
    MIN_ZOOM,
    BadArea,
    Box,
    NoAllowedSource,
    PackageNotReady,
    PackageTooLarge,
    TilePackageError,
    TilePackages,
    TooManyPackages,
    UnknownPackage,
)
from walkaudit.model import ErrorBody

log = logging.getLogger("walkaudit.server")
MEDIA_TYPE = "application/vnd.sqlite3"
CHUNK = 256 * 1024  # bytes read from the file at a time while sending it
_STATUS: dict[type[TilePackageError], int] = {
    BadArea: 422,
    PackageTooLarge: 413,
    TooManyPackages: 429,
    NoAllowedSource: 503,
    UnknownPackage: 404,
    PackageNotReady: 409,
}
_RANGE_SPEC = re.compile(r"^\s*(\d*)\s*-\s*(\d*)\s*$")
_creating = threading.Lock()


@asynccontextmanager
async def _lifespan(app: FastAPI) -> AsyncIterator[None]:
    # The sweep keeps the disk bounded (old packages, old cached tiles); at shutdown, stop
    # preparing (the threads never hold the process up, but a clean stop removes the unfinished
    # .part files and sends the source no more requests).
    stop = asyncio.Event()
    services: Services = app.state.services
    sweeper = asyncio.create_task(_sweep_now_and_then(services.settings, stop))
    yield
    stop.set()
    await sweeper
    packages: TilePackages | None = getattr(app.state, "tile_packages", None)
    if packages is not None:
        await anyio.to_thread.run_sync(packages.close)


async def _sweep_now_and_then(settings: Settings, stop: asyncio.Event) -> None:
    while not stop.is_set():
        try:
            await anyio.to_thread.run_sync(tile_packages.sweep, settings)
        except Exception:  # a sweep that fails is tried again next time
            log.exception("map packages: the sweep failed")
        with suppress(TimeoutError):  # not stopped: time for the next sweep
            await asyncio.wait_for(stop.wait(), tile_packages.SWEEP_EVERY_S)


router = APIRouter(prefix="/v1/tiles", tags=["tiles"], lifespan=_lifespan)


def get_packages(request: Request) -> TilePackages:
    """The app's map packages, made on first use (most servers never prepare one)."""
    state = request.app.state
    with _creating:
        packages: TilePackages | None = getattr(state, "tile_packages", None)
        if packages is None:
            services: Services = state.services
            packages = state.tile_packages = TilePackages(services.settings)
    return packages


PackagesDep = Annotated[TilePackages, Depends(get_packages)]
Latitude = Annotated[float, Field(ge=-MAX_LATITUDE, le=MAX_LATITUDE, allow_inf_nan=False)]
Longitude = Annotated[float, Field(ge=-180, le=180, allow_inf_nan=False)]
PackageId = Annotated[
    str, Path(pattern=r"^[0-9a-f]{24}$", description="The id from POST /v1/tiles/packages.")
]


class TileArea(BaseModel):
    """The walk's area, WGS84 degrees; at most 25 km²."""

    south: Latitude
    west: Longitude
    north: Latitude
    east: Longitude


class PackageStatus(BaseModel):
    """A map package and how far its preparation is."""

    id: str
    state: Literal["preparing", "ready", "failed"]
    tiles: int = Field(description=f"Tiles covering the area at zoom {MIN_ZOOM}–{MAX_ZOOM}.")
    done: int = Field(
        description="Tiles handled so far (kept, or left out: none at the source). 0 while the "
        "package waits for others to be prepared first."
    )
    estimated_bytes: int
    bytes: int | None = Field(description="The file's size, once ready.")
    max_bytes: int
    min_zoom: int
    max_zoom: int
    bounds: list[float] = Field(description="[west, south, east, north]")
    attribution: str
    reason: str | None = Field(description="Why it failed (a sentence), when it did.")


def _refusal(exc: TilePackageError) -> HTTPException:
    status = next(s for t, s in _STATUS.items() if isinstance(exc, t))
    if isinstance(exc, TooManyPackages):
        return HTTPException(status, exc.message, headers={"Retry-After": str(exc.retry_after)})
    return HTTPException(status, exc.message)


def _errors(*codes: int) -> dict[int | str, dict[str, Any]]:
    mine = {
        404: "No package has this id, or its file was removed (the detail says which).",
        409: "The package is still being prepared, or it failed (the detail says which).",
        413: "The estimated package is larger than the server allows (tile_package_max_mb).",
        416: "The Range asks for bytes the file does not have.",
        429: "This device (or the server) has as many packages being prepared as it may at "
        "once, or too many failed attempts came from this address; wait as long as "
        "Retry-After says.",
        503: "The server has no tile source that allows map packages (WALKAUDIT_TILE_URL).",
    }
    known = error_responses(*(c for c in codes if c not in mine))
    return known | {c: {"model": ErrorBody, "description": mine[c]} for c in codes if c in mine}


@router.post(
    "/packages",
    status_code=202,
    response_model=PackageStatus,
    responses={
        200: {"model": PackageStatus, "description": "Ready: download its file."},
        202: {"model": PackageStatus, "description": "Being prepared: ask for its status."},
        **_errors(401, 413, 422, 429, 503),
    },
)
def request_package(area: TileArea, device: DeviceDep, packages: PackagesDep) -> JSONResponse:
    """The map package of this area (zoom 12–18): prepared in the background if it is not ready;
    the same area (to 4 decimals) is the same package, and a failed one is tried again."""
    try:
        status = packages.request(Box(area.south, area.west, area.north, area.east), device.id)
    except TilePackageError as exc:
        raise _refusal(exc) from None
    return JSONResponse(status, status_code=200 if status["state"] == "ready" else 202)


@router.get(
    "/packages/{package_id}",
    response_model=PackageStatus,
    responses=_errors(401, 404, 422),
)
def package_status(package_id: PackageId, device: DeviceDep, packages: PackagesDep) -> JSONResponse:
    """How far the package's preparation is."""
    try:
        return JSONResponse(packages.status(package_id))
    except TilePackageError as exc:
        raise _refusal(exc) from None


@router.get(
    "/packages/{package_id}/file",
    response_class=StreamingResponse,
    responses={
        200: {
            "content": {MEDIA_TYPE: {"schema": {"type": "string", "format": "binary"}}},
            "description": "The MBTiles 1.3 file (SQLite).",
        },
        206: {
            "content": {MEDIA_TYPE: {"schema": {"type": "string", "format": "binary"}}},
            "description": "The part of the file a Range asked for (the first satisfiable one).",
        },
        **_errors(401, 404, 409, 416, 422),
    },
)
def package_file(
    package_id: PackageId, request: Request, device: DeviceDep, packages: PackagesDep
) -> StreamingResponse:
    """The package's MBTiles file (while it is prepared again, the last ready one);
    `Range: bytes=N-` with `If-Range: <ETag>` resumes a cut download."""
    try:
        file, stat = packages.open_file(package_id)
    except TilePackageError as exc:
        raise _refusal(exc) from None
    size, etag = stat.st_size, _etag(stat)
    headers = {
        "ETag": etag,
        "Last-Modified": formatdate(stat.st_mtime, usegmt=True),
        "Accept-Ranges": "bytes",
        "Content-Disposition": f'attachment; filename="walkaudit-map-{package_id}.mbtiles"',
    }
    asked = request.headers.get("range")
    if_range = request.headers.get("if-range")
    if if_range is not None and if_range.strip() != etag:
        asked = None  # another version of the file (or a date): the whole file, as RFC 9110 says
    part = _pick_range(asked, size) if asked is not None else "whole"
    if part == "unsatisfiable":
        file.close()
        raise HTTPException(
            416,
            f"the range {asked!r} lies beyond the package's {size:,} bytes; download it again "
            "from the start",
            headers={"Content-Range": f"bytes */{size}"},
        )
    start, end = (0, size - 1) if part == "whole" else part
    headers["Content-Length"] = str(end - start + 1)
    if part != "whole":
        headers["Content-Range"] = f"bytes {start}-{end}/{size}"
    return StreamingResponse(
        _read(file, start, end + 1),
        status_code=200 if part == "whole" else 206,
        media_type=MEDIA_TYPE,
        headers=headers,
    )


def _etag(stat: os.stat_result) -> str:
    """A strong ETag for one version of a package's file: a new version is a new file (a
    rename), with another inode and modification time."""
    return f'"{stat.st_ino:x}-{stat.st_mtime_ns:x}-{stat.st_size:x}"'


def _read(file: BinaryIO, start: int, stop: int) -> Iterator[bytes]:
    """Bytes start..stop-1 of the open file, a chunk at a time; closes it."""
    with file:
        file.seek(start)
        left = stop - start
        while left > 0:
            chunk = file.read(min(CHUNK, left))
            if not chunk:
                return
            left -= len(chunk)
            yield chunk


def _pick_range(header: str, size: int) -> tuple[int, int] | Literal["whole", "unsatisfiable"]:
    """The bytes a Range header asks for (first, last), of several the first the file can
    satisfy; "whole" for one that cannot be parsed (RFC 9110: ignore it), "unsatisfiable"
    (416) when no range lies in the file."""
    unit, _, specs = header.partition("=")
    if unit.strip().lower() != "bytes" or not specs.strip():
        return "whole"
    ranges: list[tuple[str, str]] = []
    for spec in specs.split(","):
        parsed = _RANGE_SPEC.match(spec)
        if parsed is None or not (parsed[1] or parsed[2]):
            return "whole"
        if parsed[1] and parsed[2] and int(parsed[1]) > int(parsed[2]):
            return "whole"
        ranges.append((parsed[1], parsed[2]))
    for first, last in ranges:
        if first and int(first) < size:
            return int(first), min(int(last), size - 1) if last else size - 1
        if not first and int(last) > 0 and size > 0:  # the last N bytes
            return max(0, size - int(last)), size - 1
    return "unsatisfiable"

"""POST /v1/tiles/packages, GET /v1/tiles/packages/{id} and …/{id}/file: offline map packages.

A device asks for the package of a walk's area; the server prepares it in the background from its
tile source (sync_server.tile_packages) and answers at once: 202 with the package's status while
it prepares, 200 when it is ready. The phone shows `done` of `tiles` as progress, then downloads
the MBTiles file; a cut download resumes with a Range request.
"""

from __future__ import annotations

import re
import threading
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Annotated, Any, Literal

import anyio
from fastapi import APIRouter, Depends, FastAPI, HTTPException, Path, Request
from fastapi.responses import FileResponse, JSONResponse
from pydantic import BaseModel, Field
from starlette.types import Receive, Scope, Send

from sync_server.api.deps import DeviceDep, Services, error_responses
from sync_server.tile_packages import (
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
    UnknownPackage,
)
from walkaudit.model import ErrorBody

MEDIA_TYPE = "application/vnd.sqlite3"
_STATUS: dict[type[TilePackageError], int] = {
    BadArea: 422,
    PackageTooLarge: 413,
    NoAllowedSource: 503,
    UnknownPackage: 404,
    PackageNotReady: 409,
}
_RANGE_SPEC = re.compile(r"^\s*(\d*)\s*-\s*(\d*)\s*$")
_creating = threading.Lock()


@asynccontextmanager
async def _lifespan(app: FastAPI) -> AsyncIterator[None]:
    # At shutdown, stop preparing (the threads never hold the process up, but a clean stop
    # removes the unfinished .part files and sends the source no more requests).
    yield
    packages: TilePackages | None = getattr(app.state, "tile_packages", None)
    if packages is not None:
        await anyio.to_thread.run_sync(packages.close)


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
    done: int = Field(description="Tiles handled so far (kept, or left out: none at the source).")
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
    return HTTPException(status, exc.message)


def _errors(*codes: int) -> dict[int | str, dict[str, Any]]:
    mine = {
        409: "The package is still being prepared, or it failed (the detail says which).",
        413: "The estimated package is larger than the server allows (tile_package_max_mb).",
        416: "The Range asks for bytes the file does not have.",
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
        **_errors(401, 413, 422, 503),
    },
)
def request_package(area: TileArea, device: DeviceDep, packages: PackagesDep) -> JSONResponse:
    """The map package of this area (zoom 12–18): prepared in the background if it is not ready;
    the same area (to 4 decimals) is the same package, and a failed one is tried again."""
    try:
        status = packages.request(Box(area.south, area.west, area.north, area.east))
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
    response_class=FileResponse,
    responses={
        200: {
            "content": {MEDIA_TYPE: {"schema": {"type": "string", "format": "binary"}}},
            "description": "The MBTiles 1.3 file (SQLite).",
        },
        206: {
            "content": {MEDIA_TYPE: {"schema": {"type": "string", "format": "binary"}}},
            "description": "The part of the file a Range asked for.",
        },
        **_errors(401, 404, 409, 416, 422),
    },
)
def package_file(
    package_id: PackageId, request: Request, device: DeviceDep, packages: PackagesDep
) -> FileResponse:
    """The ready package's MBTiles file; `Range: bytes=N-` resumes a cut download."""
    try:
        path = packages.file(package_id)
    except TilePackageError as exc:
        raise _refusal(exc) from None
    name = f"walkaudit-map-{package_id}.mbtiles"
    asked = request.headers.get("range")
    size = path.stat().st_size
    verdict = _range_verdict(asked, size) if asked is not None else "whole"
    if verdict == "unsatisfiable" and "if-range" not in request.headers:
        raise HTTPException(
            416,
            f"the range {asked!r} lies beyond the package's {size:,} bytes; download it again "
            "from the start",
            headers={"Content-Range": f"bytes */{size}"},
        )
    kind = FileResponse if verdict == "use" else _WholeFile
    return kind(path, media_type=MEDIA_TYPE, filename=name)


def _range_verdict(header: str, size: int) -> Literal["use", "whole", "unsatisfiable"]:
    """What to do with a Range header: serve it, ignore it (one that cannot be parsed, as RFC
    9110 allows: the whole file), or refuse it (416)."""
    unit, _, specs = header.partition("=")
    if unit.strip().lower() != "bytes" or not specs.strip():
        return "whole"
    for spec in specs.split(","):
        parsed = _RANGE_SPEC.match(spec)
        if parsed is None or not (parsed[1] or parsed[2]):
            return "whole"
        first, last = parsed[1], parsed[2]
        if first and last and int(first) > int(last):
            return "whole"
        if (first and int(first) >= size) or (not first and (int(last) == 0 or size == 0)):
            return "unsatisfiable"
    return "use"


class _WholeFile(FileResponse):
    """The whole file, whatever Range says (Starlette would answer a Range it cannot parse with
    a plain-text 400; every error here is a JSON sentence, and ignoring it is allowed)."""

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        headers = [(k, v) for k, v in scope["headers"] if k.lower() != b"range"]
        await super().__call__({**scope, "headers": headers}, receive, send)

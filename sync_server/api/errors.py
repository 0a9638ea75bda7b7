"""Turn every failure into `{"detail": "<sentence>"}` with the right status, and log why.

A full disk (or quota) is 507 with `STORAGE_FULL`, wherever in a request it shows: an OSError
with ENOSPC or EDQUOT, SQLite's SQLITE_FULL, the blob store's BlobStorageFull, also when wrapped
(an exception group, a cause). The coordinator web (/c/) gets it as a page, Swedish first.
"""

from __future__ import annotations

import logging
import sqlite3
from collections.abc import Mapping
from http import HTTPStatus

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse, Response
from pydantic import ValidationError
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.routing import Match

from sync_server.core.blobs import FULL_ERRNOS, BlobError, BlobNotFound, BlobStorageFull
from sync_server.core.errors import (
    AuthError,
    BatchTooLarge,
    DatabaseTooNew,
    EnrolmentError,
    ImplausibleRecord,
    NotAJpeg,
    NotForDevices,
    PhotoNotReferenced,
    ServerError,
    UnknownDevice,
    UnsupportedProtocol,
    describe_validation_errors,
)
from walkaudit import i18n

log = logging.getLogger("walkaudit.server")

STORAGE_FULL = "the server's storage is full — nothing is lost on the phone; try later"
_SQLITE_FULL = 13  # sqlite3.Error.sqlite_errorcode (primary code) of "database or disk is full"
# The coordinator web's page for a full disk. (Here rather than in texts_coord: it belongs to
# this one handler.)
i18n.register(
    {
        "coord.storage_full.title": ("Lagringen är full", "Storage is full"),
        "coord.storage_full": (
            "Serverns lagringsutrymme är fullt, så det du skickade kunde inte sparas. Inget som "
            "redan var sparat har gått förlorat. Be den som sköter servern att frigöra utrymme "
            "och försök sedan igen.",
            "The server's storage is full, so what you sent could not be saved. Nothing that was "
            "already stored is lost. Ask whoever runs the server to free some space, then try "
            "again.",
        ),
    }
)

_STATUS: dict[type[Exception], int] = {
    AuthError: 401,
    EnrolmentError: 401,
    NotForDevices: 403,
    PhotoNotReferenced: 404,
    UnknownDevice: 404,
    BatchTooLarge: 413,
    NotAJpeg: 415,
    UnsupportedProtocol: 422,
    ImplausibleRecord: 422,
    DatabaseTooNew: 503,
    BlobNotFound: 404,
}


def error_response(
    request: Request, status: int, detail: str, headers: Mapping[str, str] | None = None
) -> JSONResponse:
    """The one error shape; logs the reason with the device and path."""
    device = getattr(request.state, "device_id", None) or "-"
    if (
        status != 429
    ):  # a throttle logs a refused address once per window (sync_server.core.throttle)
        log.warning(
            "%s %s -> %d (device %s): %s", request.method, request.url.path, status, device, detail
        )
    return JSONResponse({"detail": detail}, status_code=status, headers=dict(headers or {}))


def storage_full(exc: BaseException | None, seen: set[int] | None = None) -> bool:
    """True when `exc`, or an exception in its group or its chain of causes, is a full disk."""
    seen = set() if seen is None else seen  # shared with the group's members: chains loop back
    while exc is not None and id(exc) not in seen:
        seen.add(id(exc))
        if isinstance(exc, BlobStorageFull):
            return True
        if isinstance(exc, OSError) and exc.errno in FULL_ERRNOS:
            return True
        if isinstance(exc, sqlite3.Error) and (
            (getattr(exc, "sqlite_errorcode", 0) or 0) & 0xFF == _SQLITE_FULL
            or "database or disk is full" in str(exc)
        ):
            return True
        if isinstance(exc, BaseExceptionGroup) and any(
            storage_full(member, seen) for member in exc.exceptions
        ):
            return True
        exc = exc.__cause__ or exc.__context__
    return False


def _storage_full_response(request: Request, exc: BaseException) -> Response:
    log.error("%s %s: storage full: %s", request.method, request.url.path, exc)
    if request.url.path.startswith("/c/") and hasattr(request.app.state, "workspace_templates"):
        from sync_server.api.workspace.pages import render  # the page machinery, only when needed

        title, key = "coord.storage_full.title", "coord.storage_full"
        return render(request, None, "coord/message.html", status=507, status_title=title, key=key)
    return error_response(request, 507, STORAGE_FULL)


def install_error_handlers(app: FastAPI) -> None:
    """Register the handlers that give every error answer the same shape."""

    @app.exception_handler(ServerError)
    async def _server_error(request: Request, exc: ServerError) -> JSONResponse:
        status = next((s for t, s in _STATUS.items() if isinstance(exc, t)), 400)
        headers = {"WWW-Authenticate": "Bearer"} if isinstance(exc, AuthError) else None
        return error_response(request, status, exc.message, headers)

    @app.exception_handler(BlobError)
    async def _blob_error(request: Request, exc: BlobError) -> Response:
        if isinstance(exc, BlobStorageFull):
            return _storage_full_response(request, exc)
        status = next((s for t, s in _STATUS.items() if isinstance(exc, t)), 409)
        return error_response(request, status, str(exc))

    # OSError and sqlite3.Error get handlers of their own (not only the catch-all below, which
    # Starlette re-raises into the server's log as a crash): a full disk is an answer, not a bug.
    @app.exception_handler(OSError)
    @app.exception_handler(sqlite3.Error)
    async def _storage(request: Request, exc: Exception) -> Response:
        if storage_full(exc):
            return _storage_full_response(request, exc)
        return _failed(request, exc)

    @app.exception_handler(RequestValidationError)
    async def _request_invalid(request: Request, exc: RequestValidationError) -> JSONResponse:
        return error_response(request, 422, describe_validation_errors(exc.errors()))

    @app.exception_handler(ValidationError)
    async def _invalid(request: Request, exc: ValidationError) -> JSONResponse:
        return error_response(request, 422, describe_validation_errors(exc.errors()))

    @app.exception_handler(StarletteHTTPException)
    async def _http(request: Request, exc: StarletteHTTPException) -> JSONResponse:
        detail = str(exc.detail)
        if detail == HTTPStatus(exc.status_code).phrase:  # Starlette's default: make it a sentence
            detail = _default_detail(request, exc.status_code)
        headers = dict(exc.headers or {})
        if exc.status_code == 405:
            headers["Allow"] = _allowed_methods(request) or headers.get("Allow", "")
        return error_response(request, exc.status_code, detail, headers)

    @app.exception_handler(Exception)
    async def _unexpected(request: Request, exc: Exception) -> Response:
        if storage_full(exc):
            return _storage_full_response(request, exc)
        return _failed(request, exc)


def _failed(request: Request, exc: Exception) -> JSONResponse:
    """500, with the exception's traceback in the log."""
    log.error("%s %s failed unexpectedly", request.method, request.url.path, exc_info=exc)
    return error_response(
        request, 500, "the server failed unexpectedly; the reason is in its log, retry later"
    )


_METHODS = ("GET", "HEAD", "POST", "PUT", "PATCH", "DELETE")


def _allowed_methods(request: Request) -> str:
    """Every method some route serves at this path. Starlette names only the first route that
    matched the path, and one path here is served by several routes (a photo's HEAD, PUT, GET)."""
    methods = []
    for method in _METHODS:  # asked of each route as it matches (included routers nest)
        scope = {**request.scope, "method": method}
        if any(route.matches(scope)[0] is Match.FULL for route in request.app.router.routes):
            methods.append(method)
    return ", ".join(methods)


def _default_detail(request: Request, status: int) -> str:
    where = f"{request.method} {request.url.path}"
    if status == 404:
        return f"there is nothing at {where}; the API is described at /docs"
    if status == 405:
        return f"{where} is not supported; the API is described at /docs"
    return f"{where} failed: {HTTPStatus(status).phrase.lower()}"

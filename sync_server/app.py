"""create_app(settings) -> FastAPI: the sync server, with no module-level state."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

from fastapi import FastAPI
from fastapi.openapi.utils import get_openapi
from pydantic.json_schema import models_json_schema

from sync_server.api import health, open311
from sync_server.api import owners as owner
from sync_server.api import stats as coord_stats
from sync_server.api import walks as coord_walks
from sync_server.api.deps import Services
from sync_server.api.errors import install_error_handlers
from sync_server.api.field import enrol, photos, sync, tiles
from sync_server.api.field import reads as field
from sync_server.api.workspace import devices as coord_devices
from sync_server.api.workspace import export as coord_export
from sync_server.api.workspace import finding_actions as coord_finding_actions
from sync_server.api.workspace import findings as coord_findings
from sync_server.api.workspace import followups as coord_followups
from sync_server.api.workspace import pages as workspace
from sync_server.api.workspace import session as coord_session
from sync_server.api.workspace import users as coord_users
from sync_server.config import Settings
from sync_server.core.blobs import DiskBlobStore
from sync_server.core.db import Database
from sync_server.reports.run import report_loop
from sync_server.stats.index import StatsIndex
from walkaudit.model import PROTOCOL_VERSION, PushRequest

# The coordinator web's pages, one module per area (each has `router`).
WORKSPACE_ROUTERS = (
    coord_session,
    coord_findings,
    coord_finding_actions,
    coord_followups,
    coord_walks,
    coord_stats,
    coord_devices,
    coord_users,
    coord_export,
    open311,
)

DESCRIPTION = f"""The walkaudit sync server (protocol v{PROTOCOL_VERSION}): phones enrol with a
one-time code, push walks, findings and events idempotently, upload photos resumably by sha256,
and pull the status changes of their findings. See sync_server/PROTOCOL.md. Every error answer is
`{{"detail": "<sentence>"}}`."""


def create_app(settings: Settings | None = None) -> FastAPI:
    """The server for one data directory; opens (and migrates) the database right away."""
    settings = settings or Settings()
    settings.data_dir.mkdir(parents=True, exist_ok=True)
    db = Database(settings.database_path)
    db.migrate()
    services = Services(settings=settings, db=db, blobs=DiskBlobStore(settings.photos_dir))
    stats = StatsIndex(db)  # the lägesbild's numbers, in memory (see sync_server.stats.index)

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        # Reports to owners: a pass every report_interval_s (0: off; `send-reports` by hand).
        stop = asyncio.Event()
        loop = None
        if settings.report_interval_s > 0:
            loop = asyncio.create_task(report_loop(db, services.blobs, settings, stop))
        # Load the statistics in the background: the first /c/stats should not wait ~1 s.
        warming = asyncio.get_running_loop().run_in_executor(None, stats.warm)
        yield
        await warming
        stats.close()
        stop.set()
        if loop is not None:
            await loop  # lets a pass in progress finish its delivery before the db closes
        db.close()

    app = FastAPI(
        title="walkaudit sync server",
        version=str(PROTOCOL_VERSION),
        description=DESCRIPTION,
        lifespan=lifespan,
    )
    app.state.services = services
    app.state.stats_index = stats
    install_error_handlers(app)
    for module in (health, enrol, sync, photos, field, tiles):
        app.include_router(module.router)
    workspace.install(app)  # the coordinator web: templates, sign-in redirects, refusals
    for module in WORKSPACE_ROUTERS:
        app.include_router(module.router)
    owner.install(app)  # the owner page /o/{token}: its routes, /static, tokens kept out of logs
    app.openapi = lambda: _openapi(app)  # type: ignore[method-assign]
    return app


def _openapi(app: FastAPI) -> dict[str, Any]:
    # The push body is read as a stream (to enforce the size limit before parsing), so FastAPI
    # cannot see its model; add PushRequest's schemas to the components the route refers to.
    if app.openapi_schema is None:
        schema = get_openapi(
            title=app.title, version=app.version, description=app.description, routes=app.routes
        )
        _, definitions = models_json_schema(
            [(PushRequest, "validation")], ref_template="#/components/schemas/{model}"
        )
        components = schema.setdefault("components", {}).setdefault("schemas", {})
        for name, definition in definitions.get("$defs", {}).items():
            components.setdefault(name, definition)
        _document_errors(schema)
        app.openapi_schema = schema
    return app.openapi_schema


# Answers every device route can give besides its own, whatever the route says of itself: the
# throttles (sync_server.core.throttle) answer 429 and a full disk 507, on any route.
_EVERY_DEVICE_ROUTE = {
    "429": "Too many failed attempts from this address; wait as long as Retry-After says.",
    "507": "The server's storage is full; nothing is lost on the phone, try later.",
}
_WITH_BODY = {"400": "The body cannot be parsed (not JSON, or not what the Content-Type says)."}
_HEALTH = {"503": "Not healthy: the database cannot be written, or free space is low."}


def _document_errors(schema: dict[str, Any]) -> None:
    """Make the document say what the server really answers (checked by tests/server/test_fuzz).

    FastAPI describes a 422 as its own list-of-errors body, but every error here is ErrorBody
    (sync_server.api.errors); and a few answers come from layers no route declares.
    """
    error = {
        "content": {"application/json": {"schema": {"$ref": "#/components/schemas/ErrorBody"}}}
    }
    for path, operations in schema.get("paths", {}).items():
        for operation in operations.values():
            responses = operation.setdefault("responses", {})
            extra = dict(_HEALTH) if path == "/healthz" else dict(_EVERY_DEVICE_ROUTE)
            if "requestBody" in operation:
                extra.update(_WITH_BODY)
            for code in ("422", *extra):
                if code in responses or code in extra:
                    description = responses.get(code, {}).get("description") or extra[code]
                    responses[code] = {"description": description, **error}
    components = schema.get("components", {}).get("schemas", {})
    for unused in ("HTTPValidationError", "ValidationError"):
        components.pop(unused, None)

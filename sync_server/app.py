"""create_app(settings) -> FastAPI: the sync server, with no module-level state.

The composition root: it opens the database and the photo store, starts the report loop and
mounts every part — the phones' API, the coordinator web, Open311, the owner page, the static
files — and the app-wide plumbing: error answers, logs without secrets, the OpenAPI document.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

import argon2
from fastapi import FastAPI
from fastapi.staticfiles import StaticFiles

from sync_server.api import health, open311, owners, stats, walks
from sync_server.api.deps import Services
from sync_server.api.errors import install_error_handlers
from sync_server.api.field import enrol, photos, reads, sync, tiles
from sync_server.api.openapi import DESCRIPTION, install_openapi
from sync_server.api.redaction import install_log_redaction
from sync_server.api.workspace import (
    devices,
    export,
    finding_actions,
    findings,
    followups,
    pages,
    session,
    users,
)
from sync_server.config import Settings
from sync_server.core.blobs import DiskBlobStore
from sync_server.core.db import Database
from sync_server.core.files import STATIC
from sync_server.reports.run import report_loop
from sync_server.stats.index import StatsIndex
from sync_server.workspace import accounts
from walkaudit.model import PROTOCOL_VERSION

# What phones talk to (and /healthz).
FIELD_ROUTERS = (health.router, enrol.router, sync.router, photos.router, reads.router,
                 tiles.router)  # fmt: skip
# The coordinator web's pages, one module per area.
WORKSPACE_ROUTERS = (session.router, findings.router, finding_actions.router, followups.router,
                     walks.router, stats.router, devices.router, users.router,
                     export.router)  # fmt: skip


def create_app(
    settings: Settings | None = None, hasher: argon2.PasswordHasher | None = None
) -> FastAPI:
    """The server for one data directory; opens (and migrates) the database right away.

    `hasher` hashes the coordinator web's passwords: argon2 at full cost unless a test passes
    a cheaper one.
    """
    settings = settings or Settings()
    hasher = hasher or accounts.full_cost_hasher()
    accounts.dummy_hash(hasher)  # made now, so the first sign-in of an unknown name is not slower
    settings.data_dir.mkdir(parents=True, exist_ok=True)
    db = Database(settings.database_path)
    db.migrate()
    services = Services(
        settings=settings, db=db, blobs=DiskBlobStore(settings.photos_dir), hasher=hasher
    )
    stats_index = StatsIndex(db)  # the lägesbild's numbers in memory (sync_server.stats.index)

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        # Reports to owners: a pass every report_interval_s (0: off; `send-reports` by hand).
        stop = asyncio.Event()
        loop = None
        if settings.report_interval_s > 0:
            loop = asyncio.create_task(report_loop(db, services.blobs, settings, stop))
        # Load the statistics in the background: the first /c/stats should not wait ~1 s.
        warming = asyncio.get_running_loop().run_in_executor(None, stats_index.warm)
        yield
        await warming
        stats_index.close()
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
    app.state.stats_index = stats_index
    install_error_handlers(app)
    for router in FIELD_ROUTERS:
        app.include_router(router)
    pages.install(app)  # the coordinator web: templates, sign-in redirects, refusals
    for router in WORKSPACE_ROUTERS:
        app.include_router(router)
    app.include_router(open311.router)  # GeoReport v2 for owners' systems
    owners.install(app)  # the owner page /o/{token}
    app.mount("/static", StaticFiles(directory=STATIC), name="static")  # for every page
    install_log_redaction()  # owner tokens and Open311 keys kept out of every log
    install_openapi(app)
    return app

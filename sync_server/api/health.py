"""GET /healthz: can the server do its work — is there room on its disk, can it write there and
to its database. 200 when it can, 503 with the reason when it cannot.

Three cheap checks (about a millisecond and two fsyncs), because no one of them sees everything:
  * free space in the data directory against `min_free_mb`: warns before the disk is full (a full
    one answers 507 to photos and findings);
  * a 4 KiB probe file written, fsynced and removed: sees a quota (invisible to statvfs) and a
    file system that became read-only;
  * one write transaction that commits (user_version rewritten with its own value): sees a
    database that is read-only, locked by another process or broken. On its own it would not see
    a full disk: SQLite's WAL reuses the space of its file, so small commits go on succeeding.
The two writes run at most once every CHECK_EVERY_S (their answer is kept meanwhile): /healthz
needs no credentials, and a client calling it in a loop must not make the server fsync in a loop
and hold the write lock phones need. The free-space check costs nothing and runs every time.
"""

from __future__ import annotations

import contextlib
import os
import threading
import time
from pathlib import Path

from fastapi import APIRouter, HTTPException, Request

from sync_server.api.deps import Services, ServicesDep
from sync_server.config import PRIVATE_FILE_MODE, Settings
from sync_server.core.db import Database
from walkaudit.model import PROTOCOL_VERSION

router = APIRouter(tags=["health"])

MB = 1_000_000
PROBE_BYTES = 4096
CHECK_EVERY_S = 5.0


@router.get("/healthz")
def healthz(request: Request, services: ServicesDep) -> dict[str, object]:
    """200 with the protocol version when the server can store what it receives, else 503."""
    problem = _low_space(services.settings) or _cannot_write(request, services)
    if problem:
        raise HTTPException(503, f"not healthy: {problem}")
    return {"status": "ok", "protocol": PROTOCOL_VERSION}


def _cannot_write(request: Request, services: Services) -> str | None:
    """The write probes' answer, at most CHECK_EVERY_S old (two callers at the same moment may
    both probe: harmless, and no lock to hold)."""
    checked_at, problem = getattr(request.app.state, "write_probe", (-CHECK_EVERY_S, None))
    if time.monotonic() - checked_at >= CHECK_EVERY_S:
        problem = _cannot_write_file(services.settings.data_dir) or _cannot_write_database(
            services.db
        )
        request.app.state.write_probe = (time.monotonic(), problem)
    return problem


def _low_space(settings: Settings) -> str | None:
    stats = os.statvfs(settings.data_dir)
    free = stats.f_bavail * stats.f_frsize
    if free >= settings.min_free_mb * MB:
        return None
    return (
        f"the data directory has {free / MB:.1f} MB free, less than the {settings.min_free_mb} MB "
        "asked for (WALKAUDIT_MIN_FREE_MB); free some space before photos and findings are "
        "refused"
    )


def _cannot_write_file(data_dir: Path) -> str | None:
    probe = data_dir / f".healthz-{os.getpid()}-{threading.get_ident()}"
    try:
        fd = os.open(probe, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, PRIVATE_FILE_MODE)
        try:
            os.write(fd, b"\0" * PROBE_BYTES)
            os.fsync(fd)
        finally:
            os.close(fd)
    except OSError as exc:
        return f"cannot write to the data directory ({exc.strerror})"
    finally:
        with contextlib.suppress(OSError):
            probe.unlink(missing_ok=True)
    return None


def _cannot_write_database(db: Database) -> str | None:
    try:
        with db.write() as tx:
            version = int(tx.execute("PRAGMA user_version").fetchone()[0])
            tx.execute(f"PRAGMA user_version = {version}")  # a real page write, same value
    except Exception as exc:  # whatever sqlite3 raises, the answer is the same: say what
        return f"cannot write to the database ({exc})"
    return None

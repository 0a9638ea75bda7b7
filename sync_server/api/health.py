"""GET /healthz: is the server up and its database readable."""

from __future__ import annotations

from fastapi import APIRouter

from sync_server.api.deps import ServicesDep
from walkaudit.model import PROTOCOL_VERSION

router = APIRouter(tags=["health"])


@router.get("/healthz")
def healthz(services: ServicesDep) -> dict[str, object]:
    """200 with the protocol version when the server can read its database."""
    services.db.conn().execute("SELECT 1").fetchone()
    return {"status": "ok", "protocol": PROTOCOL_VERSION}

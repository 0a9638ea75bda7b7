"""The OpenAPI document at /openapi.json, made to say what the server really answers.

Two things FastAPI cannot see by itself: the push body, read as a stream (to bound its size
before parsing), and the answers that come from layers no route declares — the throttles' 429,
a full disk's 507, and every error's one body, `ErrorBody` (`sync_server.api.errors`).
Checked by tests/server/api/test_openapi.py and the fuzz test.
"""

from __future__ import annotations

from typing import Any

from fastapi import FastAPI
from fastapi.openapi.utils import get_openapi
from pydantic.json_schema import models_json_schema

from walkaudit.model import PROTOCOL_VERSION, PushRequest

DESCRIPTION = f"""The walkaudit sync server (protocol v{PROTOCOL_VERSION}): phones enrol with a
one-time code, push walks, findings and events idempotently, upload photos resumably by sha256,
and pull the status changes of their findings. See sync_server/PROTOCOL.md. Every error answer is
`{{"detail": "<sentence>"}}`."""


def install_openapi(app: FastAPI) -> None:
    """Make `app` serve the completed document (built once, on first request)."""
    app.openapi = lambda: _openapi(app)  # type: ignore[method-assign]


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

"""The OpenAPI document describes every endpoint, and every $ref in it resolves."""

from __future__ import annotations

from typing import Any

from tests.server.conftest import Server


def _refs(node: Any) -> list[str]:
    if isinstance(node, dict):
        found = [node["$ref"]] if isinstance(node.get("$ref"), str) else []
        return found + [r for value in node.values() for r in _refs(value)]
    if isinstance(node, list):
        return [r for value in node for r in _refs(value)]
    return []


def test_openapi_is_complete_and_consistent(server: Server) -> None:
    doc = server.client.get("/openapi.json").json()
    assert set(doc["paths"]) == {"/healthz", "/v1/enrol", "/v1/sync/push", "/v1/sync/pull",
                                 "/v1/photos/{sha256}", "/v1/findings/open",
                                 "/v1/followups", "/v1/tiles/packages",
                                 "/v1/tiles/packages/{package_id}",
                                 "/v1/tiles/packages/{package_id}/file"}  # fmt: skip
    assert set(doc["paths"]["/v1/photos/{sha256}"]) == {"head", "put", "get"}
    push = doc["paths"]["/v1/sync/push"]["post"]
    body_ref = push["requestBody"]["content"]["application/json"]["schema"]["$ref"]
    assert body_ref == "#/components/schemas/PushRequest"
    schemas = doc["components"]["schemas"]
    for ref in _refs(doc):
        assert ref.startswith("#/components/schemas/") and ref.split("/")[-1] in schemas, ref
    assert {"Finding", "FindingEvent", "PushReceipt", "PullResponse", "ErrorBody"} <= set(schemas)


def test_healthz(server: Server) -> None:
    assert server.client.get("/healthz").json() == {"status": "ok", "protocol": 1}

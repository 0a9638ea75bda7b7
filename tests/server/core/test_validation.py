"""Invalid batches are refused whole with a 422 that names the field; every error is {detail}."""

from __future__ import annotations

import json
from typing import Any

import pytest

from sync_server.app import create_app
from sync_server.config import Settings
from tests.server.conftest import CHEAP_HASHER, Server, asgi_request, finding_json


def push_raw(server: Server, device: Any, body: bytes) -> Any:
    headers = device.headers | {"Content-Type": "application/json"}
    return server.client.post("/v1/sync/push", content=body, headers=headers)


@pytest.mark.parametrize(
    ("change", "expected"),
    [
        ({"latitude": 91}, "findings[1].latitude: must be ≤ 90"),
        ({"longitude": -180.5}, "findings[1].longitude: must be ≥ -180"),
        ({"category": "XYZ"}, "findings[1].category: unknown category 'XYZ'; use one of BEL"),
        ({"captured_at": "2026-11-25T18:03:00"}, "findings[1].captured_at: timestamp must carry"),
        ({"colour": "red"}, "findings[1].colour: is not a known field"),
        ({"severity": "dire"}, "findings[1].severity: must be one of"),
        ({"id": "not-a-uuid"}, "findings[1].id: not a UUID"),
        (
            {"photos": [{"sha256": "abc", "size": 1, "width": 1, "height": 1}]},
            "findings[1].photos[0].sha256: must be a sha256",
        ),
    ],
)
def test_invalid_record_names_the_field(
    server: Server, device: Any, change: dict[str, Any], expected: str
) -> None:
    batch = {"findings": [finding_json(), finding_json() | change]}
    response = push_raw(server, device, json.dumps(batch).encode())
    assert response.status_code == 422
    assert expected in response.json()["detail"]
    assert server.rows("SELECT count(*) FROM findings") == [(0,)]  # all or nothing


def test_missing_field_and_many_problems(server: Server, device: Any) -> None:
    bad = {k: v for k, v in finding_json().items() if k != "latitude"}
    response = push_raw(server, device, json.dumps({"findings": [bad] * 5}).encode())
    detail = response.json()["detail"]
    assert detail.startswith("findings[0].latitude: is required")
    assert "(and 2 more problems)" in detail


@pytest.mark.parametrize(
    ("body", "expected"),
    [
        (b"{not json", "the request body is not valid JSON"),
        (b"", "the request body is not valid JSON"),
        (b"[]", "the request body must be a JSON object"),
    ],
)
def test_malformed_body(server: Server, device: Any, body: bytes, expected: str) -> None:
    response = push_raw(server, device, body)
    assert response.status_code == 422
    assert response.json()["detail"].startswith(expected)


def test_enrol_validation_is_flattened_too(server: Server) -> None:
    response = server.client.post("/v1/enrol", json={"code": "ab"})
    assert response.status_code == 422
    assert response.json() == {"detail": "code: must have at least 4 characters"}
    response = server.client.post(
        "/v1/enrol", content=b"{", headers={"Content-Type": "application/json"}
    )
    assert response.status_code == 422
    assert response.json()["detail"].startswith("the request body is not valid JSON")


def test_every_error_answer_is_a_detail_sentence(server: Server, device: Any) -> None:
    sha = "0" * 64
    answers = [
        server.client.get("/nowhere"),
        server.client.delete("/v1/sync/push"),
        server.client.get("/v1/sync/pull"),
        server.client.get("/v1/sync/pull?since=-1", headers=device.headers),
        server.client.get("/v1/sync/pull?limit=100000", headers=device.headers),
        server.client.put(f"/v1/photos/{sha}", content=b"x", headers=device.headers),
        server.client.put("/v1/photos/NOTAHASH", content=b"x", headers=device.headers),
        server.client.post("/v1/enrol", json={"code": "ZZZZ-ZZZZ"}),
        push_raw(server, device, b"{"),
    ]
    for response in answers:
        assert response.status_code >= 400
        body = response.json()
        assert list(body) == ["detail"] and isinstance(body["detail"], str), body
        assert len(body["detail"]) > 10 and body["detail"] not in ("Not Found", "Unauthorized")


def test_error_is_logged_with_device_and_path(
    server: Server, device: Any, caplog: pytest.LogCaptureFixture
) -> None:
    push_raw(server, device, b"{")
    record = next(r for r in caplog.records if r.name == "walkaudit.server")
    assert record.levelname == "WARNING"
    assert device.id in record.getMessage() and "/v1/sync/push" in record.getMessage()


def test_oversized_batch_is_refused_before_reading(tmp_path: Any) -> None:
    app = create_app(Settings(data_dir=tmp_path, max_batch_bytes=1000), hasher=CHEAP_HASHER)
    token = _enrol_token(app)
    headers = {"authorization": f"Bearer {token}", "content-length": "5000",
               "content-type": "application/json"}  # fmt: skip
    response = asgi_request(app, "POST", "/v1/sync/push", headers, [b"x" * 5000])
    assert response.status == 413
    assert response.receive_calls == 0
    assert "5,000 bytes" in json.loads(response.body)["detail"]


def test_oversized_batch_without_content_length_is_cut_off(tmp_path: Any) -> None:
    app = create_app(Settings(data_dir=tmp_path, max_batch_bytes=1000), hasher=CHEAP_HASHER)
    token = _enrol_token(app)
    headers = {"authorization": f"Bearer {token}", "content-type": "application/json"}
    response = asgi_request(app, "POST", "/v1/sync/push", headers, [b" " * 600] * 10)
    assert response.status == 413
    assert response.receive_calls <= 3  # stopped reading once over the limit


def _enrol_token(app: Any) -> str:
    from sync_server.field import devices

    db = app.state.services.db
    _, token = devices.enrol(db, devices.create_enrol_code(db))
    return token

"""Resumable photo upload: chunks, resume after a cut, offsets, hash check, JPEG only, access."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from sync_server.app import create_app
from sync_server.config import Settings
from tests.server.conftest import (
    CHEAP_HASHER,
    Server,
    asgi_request,
    finding_json,
    make_jpeg,
    photo_json,
    sha,
)

JPEG = make_jpeg(640, 480, seed=7)
SHA = sha(JPEG)


def put(server: Server, device: Any, data: bytes, start: int, total: int = len(JPEG),
        digest: str = SHA) -> Any:  # fmt: skip
    end = start + len(data) - 1
    headers = device.headers | {"Content-Range": f"bytes {start}-{end}/{total}",
                                "Content-Type": "application/octet-stream"}  # fmt: skip
    return server.client.put(f"/v1/photos/{digest}", content=data, headers=headers)


def head(server: Server, device: Any, digest: str = SHA) -> Any:
    return server.client.head(f"/v1/photos/{digest}", headers=device.headers)


@pytest.fixture
def referenced(server: Server, device: Any) -> Any:
    """The device has pushed a finding that names JPEG."""
    server.push(device, findings=[finding_json(photos=[photo_json(JPEG, 640, 480)])])
    return device


def test_upload_in_several_chunks(server: Server, referenced: Any) -> None:
    response = head(server, referenced)
    assert response.status_code == 200
    assert (response.headers["upload-offset"], response.headers["upload-length"],
            response.headers["photo-state"]) == ("0", str(len(JPEG)), "needed")  # fmt: skip
    step = len(JPEG) // 3 + 1
    answers = [put(server, referenced, JPEG[i : i + step], i) for i in range(0, len(JPEG), step)]
    assert [a.status_code for a in answers] == [202, 202, 201]
    assert answers[0].json() == {"sha256": SHA, "state": "needed", "offset": step}
    assert answers[-1].json() == {"sha256": SHA, "state": "stored", "offset": len(JPEG)}
    assert head(server, referenced).headers["photo-state"] == "stored"
    assert server.rows("SELECT size, width, height FROM photos") == [(len(JPEG), 640, 480)]
    blob = server.services.blobs.path(SHA)
    assert blob.read_bytes() == JPEG and blob.parent.name == SHA[2:4]


def test_resume_after_a_cut_connection(server: Server, referenced: Any) -> None:
    headers = referenced.headers | {"content-range": f"bytes 0-{len(JPEG) - 1}/{len(JPEG)}"}
    sent = [JPEG[:10_000], JPEG[10_000:25_000]]
    cut = asgi_request(server.app, "PUT", f"/v1/photos/{SHA}", headers, sent, disconnect=True)
    assert cut.status >= 400  # nobody reads it; what matters is what was kept
    assert head(server, referenced).headers["upload-offset"] == "25000"
    response = put(server, referenced, JPEG[25_000:], 25_000)
    assert response.status_code == 201
    assert server.services.blobs.path(SHA).read_bytes() == JPEG


def test_wrong_offset_is_409_with_the_current_offset(server: Server, referenced: Any) -> None:
    assert put(server, referenced, JPEG[:1000], 0).status_code == 202
    for start in (0, 500, 2000):
        response = put(server, referenced, JPEG[start : start + 100], start)
        assert response.status_code == 409
        assert response.headers["upload-offset"] == "1000"
        assert "1,000" in response.json()["detail"]


def test_declared_size_must_match(server: Server, referenced: Any) -> None:
    response = put(server, referenced, JPEG[:100], 0, total=len(JPEG) + 1)
    assert response.status_code == 409
    assert "declared" in response.json()["detail"]


def test_hash_mismatch_is_422_and_the_partial_is_discarded(server: Server, device: Any) -> None:
    wrong = JPEG[:-1] + bytes([JPEG[-1] ^ 0xFF])
    claimed = sha(JPEG)
    server.push(device, findings=[finding_json(photos=[photo_json(JPEG, 640, 480)])])
    assert put(server, device, wrong[:5000], 0, digest=claimed).status_code == 202
    response = put(server, device, wrong[5000:], 5000, digest=claimed)
    assert response.status_code == 422
    assert "discarded" in response.json()["detail"]
    assert head(server, device).headers["upload-offset"] == "0"
    assert not any((server.services.blobs.root / "partial").iterdir())
    assert not server.services.blobs.exists(claimed)


def test_not_a_jpeg_is_415_and_nothing_is_kept(server: Server, device: Any) -> None:
    png = b"\x89PNG\r\n\x1a\n" + b"\x00" * 100
    server.push(device, findings=[finding_json(photos=[photo_json(png)])])
    response = put(server, device, png, 0, total=len(png), digest=sha(png))
    assert response.status_code == 415
    assert head(server, device, sha(png)).headers["upload-offset"] == "0"


def test_jpeg_signature_but_unreadable_is_415_and_discarded(server: Server, device: Any) -> None:
    broken = b"\xff\xd8\xff\xe0" + b"\x00" * 200
    server.push(device, findings=[finding_json(photos=[photo_json(broken)])])
    response = put(server, device, broken, 0, total=len(broken), digest=sha(broken))
    assert response.status_code == 415
    assert not server.services.blobs.exists(sha(broken))
    assert head(server, device, sha(broken)).headers["photo-state"] == "needed"


def test_unreferenced_photo_is_404(server: Server, device: Any) -> None:
    assert head(server, device).status_code == 404
    response = put(server, device, JPEG, 0)
    assert response.status_code == 404
    assert "push the finding first" in response.json()["detail"]


def test_another_devices_photo_is_404(server: Server, referenced: Any) -> None:
    other = server.enrol("other")
    assert head(server, other).status_code == 404
    assert put(server, other, JPEG, 0).status_code == 404


def test_stored_photo_put_again_is_200_without_reading(server: Server, referenced: Any) -> None:
    assert put(server, referenced, JPEG, 0).status_code == 201
    headers = referenced.headers | {"content-range": f"bytes 0-{len(JPEG) - 1}/{len(JPEG)}"}
    again = asgi_request(server.app, "PUT", f"/v1/photos/{SHA}", headers, [JPEG])
    assert again.status == 200 and again.receive_calls == 0
    assert json.loads(again.body) == {"sha256": SHA, "state": "stored", "offset": len(JPEG)}


@pytest.mark.parametrize(
    "content_range",
    [None, "bytes=0-10/20", "0-10/20", "bytes 10-5/9999", "bytes a-b/c", "bytes 0-1/2/3"],
)
def test_bad_content_range_is_400(server: Server, referenced: Any, content_range: Any) -> None:
    headers = dict(referenced.headers)
    if content_range is not None:
        headers["Content-Range"] = content_range.replace("9999", str(len(JPEG)))
    response = server.client.put(f"/v1/photos/{SHA}", content=JPEG[:10], headers=headers)
    assert response.status_code == 400
    assert "Content-Range" in response.json()["detail"]


def test_body_length_must_match_content_range(server: Server, referenced: Any) -> None:
    headers = referenced.headers | {"Content-Range": f"bytes 0-99/{len(JPEG)}"}
    response = server.client.put(f"/v1/photos/{SHA}", content=JPEG[:150], headers=headers)
    assert response.status_code == 400


def test_oversized_photo_is_413_before_reading(tmp_path: Path) -> None:
    # The photo was named while the limit was higher; then the operator lowered it.
    from fastapi.testclient import TestClient

    from sync_server.field import devices

    big = make_jpeg(200, 200, seed=3)
    before = create_app(Settings(data_dir=tmp_path), hasher=CHEAP_HASHER)
    db = before.state.services.db
    _, token = devices.enrol(db, devices.create_enrol_code(db))
    auth = {"Authorization": f"Bearer {token}"}
    with TestClient(before) as client:
        batch = {"findings": [finding_json(photos=[photo_json(big, 200, 200)])]}
        assert client.post("/v1/sync/push", json=batch, headers=auth).status_code == 200
    app = create_app(Settings(data_dir=tmp_path, max_photo_bytes=1000), hasher=CHEAP_HASHER)
    headers = {"authorization": f"Bearer {token}",
               "content-range": f"bytes 0-{len(big) - 1}/{len(big)}"}  # fmt: skip
    response = asgi_request(app, "PUT", f"/v1/photos/{sha(big)}", headers, [big])
    assert response.status == 413 and response.receive_calls == 0
    assert "1,000 bytes" in json.loads(response.body)["detail"]


def test_invalid_sha_in_path_is_422(server: Server, device: Any) -> None:
    response = server.client.head(f"/v1/photos/{'A' * 64}", headers=device.headers)
    assert response.status_code == 422


def test_every_byte_held_but_never_verified_is_finished_on_the_next_head(
    server: Server, referenced: Any
) -> None:
    # The server was killed after writing the last byte and before verifying it: on restart the
    # partial upload is complete. Telling the client "needed at offset SIZE" would leave it with
    # nothing to send, so the server verifies and stores it instead.
    server.services.blobs.append(SHA, 0, [JPEG])
    response = head(server, referenced)
    assert response.headers["photo-state"] == "stored"
    assert server.services.blobs.path(SHA).read_bytes() == JPEG
    assert server.rows("SELECT size, width, height FROM photos") == [(len(JPEG), 640, 480)]


def test_complete_partial_with_wrong_bytes_is_discarded_and_restarts_at_zero(
    server: Server, referenced: Any
) -> None:
    server.services.blobs.append(SHA, 0, [JPEG[:-1] + b"\x00"])
    response = head(server, referenced)
    assert (response.headers["photo-state"], response.headers["upload-offset"]) == ("needed", "0")
    assert put(server, referenced, JPEG, 0).status_code == 201

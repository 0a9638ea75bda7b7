"""Enrolment codes are one-time and expire; tokens work, can be revoked, are stored hashed."""

from __future__ import annotations

import re
from datetime import timedelta

from sync_server.field import devices
from tests.server.conftest import Server
from walkaudit.model import utcnow


def test_code_enrols_once_and_the_token_works(server: Server) -> None:
    code = devices.create_enrol_code(server.db, "Anna")
    assert re.fullmatch(r"[2-9A-HJKMNP-Z]{4}-[2-9A-HJKMNP-Z]{4}", code)
    first = server.client.post("/v1/enrol", json={"code": code, "device_name": "Annas telefon"})
    assert first.status_code == 201
    body = first.json()
    assert body["token"].startswith("wa_") and len(body["device_id"]) == 36
    headers = {"Authorization": f"Bearer {body['token']}"}
    assert server.client.get("/v1/sync/pull", headers=headers).status_code == 200

    again = server.client.post("/v1/enrol", json={"code": code})
    assert again.status_code == 401
    assert "already used" in again.json()["detail"]
    assert server.rows("SELECT name FROM devices") == [("Annas telefon",)]


def test_code_is_case_space_and_dash_insensitive(server: Server) -> None:
    code = devices.create_enrol_code(server.db)
    typed = code.lower().replace("-", " ")
    assert server.client.post("/v1/enrol", json={"code": typed}).status_code == 201


def test_device_name_defaults_to_the_codes_name(server: Server) -> None:
    code = devices.create_enrol_code(server.db, "BID-volontär Anna")
    assert server.client.post("/v1/enrol", json={"code": code}).status_code == 201
    assert server.rows("SELECT name FROM devices") == [("BID-volontär Anna",)]


def test_expired_code_is_refused(server: Server) -> None:
    code = devices.create_enrol_code(server.db, ttl_hours=24, now=utcnow() - timedelta(hours=25))
    response = server.client.post("/v1/enrol", json={"code": code})
    assert response.status_code == 401
    assert "expired" in response.json()["detail"]


def test_unknown_code_is_refused(server: Server) -> None:
    response = server.client.post("/v1/enrol", json={"code": "AAAA-BBBB"})
    assert response.status_code == 401
    assert "unknown" in response.json()["detail"]


def test_missing_or_unknown_token_is_401_with_challenge(server: Server) -> None:
    for headers in ({}, {"Authorization": "Bearer wa_nope"}, {"Authorization": "Basic eDp5"}):
        response = server.client.get("/v1/sync/pull", headers=headers)
        assert response.status_code == 401
        assert response.headers["www-authenticate"] == "Bearer"
        assert isinstance(response.json()["detail"], str)


def test_revoked_device_is_refused(server: Server) -> None:
    device = server.enrol()
    devices.revoke(server.db, device.id)
    response = server.client.get("/v1/sync/pull", headers=device.headers)
    assert response.status_code == 401
    assert response.headers["www-authenticate"] == "Bearer"
    assert "revoked" in response.json()["detail"]
    other = server.enrol("another phone")
    assert server.client.get("/v1/sync/pull", headers=other.headers).status_code == 200


def test_token_and_code_are_stored_only_as_hashes(server: Server) -> None:
    code = devices.create_enrol_code(server.db)
    token = server.client.post("/v1/enrol", json={"code": code}).json()["token"]
    (stored,) = server.rows("SELECT token_hash FROM devices")
    assert stored == (devices.sha256_hex(token),)
    data_dir = server.services.settings.data_dir
    for path in data_dir.rglob("*"):  # the database, its WAL and everything else
        if path.is_file():
            content = path.read_bytes()
            assert token.encode() not in content, path
            assert devices.normalize_code(code).encode() not in content, path


def test_last_seen_is_updated_at_most_once_a_minute(server: Server) -> None:
    device = server.enrol()
    server.db.conn().execute("UPDATE devices SET last_seen_at = NULL")
    server.client.get("/v1/sync/pull", headers=device.headers)
    (seen,) = server.rows("SELECT last_seen_at FROM devices")[0]
    assert seen is not None
    server.client.get("/v1/sync/pull", headers=device.headers)
    assert server.rows("SELECT last_seen_at FROM devices")[0] == (seen,)

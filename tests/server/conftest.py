"""Fixtures for the sync server's tests: a real app on a temporary data directory, in-process.

Shared here, once: `settings` and `server` (the app, hashing with argon2's cheapest profile),
`device`, `db` (a migrated database without an app), `smtp_server` (a real SMTP server on
loopback) and `mail_settings` (a server that mails through it). The signed-in `staff` are in
workspace_support (a plugin, see tests/conftest.py).
"""

from __future__ import annotations

import hashlib
import io
import random
import warnings
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import anyio
import argon2
import pytest
from argon2.profiles import CHEAPEST
from PIL import Image

from sync_server.app import create_app
from sync_server.config import Settings
from sync_server.core.db import Database
from sync_server.field import devices
from tests.server.mail_support import MailServer
from walkaudit.model import new_id, utcnow

with warnings.catch_warnings():
    # Starlette prefers the httpx2 package for its TestClient; httpx works the same here.
    warnings.filterwarnings("ignore", message=r"Using `httpx` with `starlette.testclient`")
    from fastapi.testclient import TestClient

# Every app and user the tests make hashes with argon2's cheapest profile: at full cost a hash
# takes ~0.15 s, and setup (users, sign-ins) was most of these tests' time. That production
# hashes at full cost is tested on its own (tests/server/workspace/test_accounts.py).
CHEAP_HASHER = argon2.PasswordHasher.from_parameters(CHEAPEST)

# The sender, coordinator and public address of `mail_settings` (tests read them back in mail).
MAIL_FROM = "Trygghetsvandring Örebro <trygghet@example.se>"
COORDINATOR_EMAIL = "samordnare@example.se"
PUBLIC_URL = "https://trygg.example.se"


def make_jpeg(width: int = 320, height: int = 240, seed: int = 0, quality: int = 85) -> bytes:
    """A real JPEG of noise (so it does not compress to nothing)."""
    rng = random.Random(seed)
    image = Image.frombytes("RGB", (width, height), rng.randbytes(width * height * 3))
    buffer = io.BytesIO()
    image.save(buffer, "JPEG", quality=quality)
    return buffer.getvalue()


def sha(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def photo_json(data: bytes, width: int = 320, height: int = 240) -> dict[str, Any]:
    return {"sha256": sha(data), "size": len(data), "width": width, "height": height}


def finding_json(**overrides: Any) -> dict[str, Any]:
    """A valid finding as the client would send it."""
    return {
        "id": new_id(),
        "category": "BEL",
        "severity": "high",
        "note": "Trasig lampa",
        "latitude": 59.2743,
        "longitude": 15.2066,
        "accuracy": 5.0,
        "captured_at": utcnow().isoformat(),
        **overrides,
    }


def event_json(finding_id: str, kind: str = "comment", **overrides: Any) -> dict[str, Any]:
    return {"id": new_id(), "finding_id": finding_id, "kind": kind, "at": utcnow().isoformat(),
            **overrides}  # fmt: skip


@dataclass
class Device:
    """An enrolled device: its id, token and an Authorization header."""

    id: str
    token: str
    headers: dict[str, str] = field(default_factory=dict)


class Server:
    """The app under test, its TestClient and helpers to enrol devices."""

    def __init__(self, app: Any, client: TestClient) -> None:
        self.app = app
        self.client = client
        self.services = app.state.services

    @property
    def db(self) -> Any:
        return self.services.db

    def enrol(self, name: str = "phone") -> Device:
        code = devices.create_enrol_code(self.db, name)
        response = self.client.post("/v1/enrol", json={"code": code, "device_name": name})
        assert response.status_code == 201, response.text
        body = response.json()
        auth = {"Authorization": f"Bearer {body['token']}"}
        return Device(body["device_id"], body["token"], auth)

    def push(self, device: Device, **batch: Any) -> dict[str, Any]:
        response = self.client.post("/v1/sync/push", json=batch, headers=device.headers)
        assert response.status_code == 200, response.text
        result: dict[str, Any] = response.json()
        return result

    def upload(self, device: Device, data: bytes) -> int:
        """PUT a whole photo in one chunk; returns the status code."""
        headers = device.headers | {"Content-Range": f"bytes 0-{len(data) - 1}/{len(data)}"}
        return self.client.put(f"/v1/photos/{sha(data)}", content=data, headers=headers).status_code

    def rows(self, sql: str, *params: Any) -> list[tuple[Any, ...]]:
        return list(self.db.conn().execute(sql, params).fetchall())


@pytest.fixture
def settings(tmp_path: Path) -> Settings:
    return Settings(data_dir=tmp_path / "server")


@pytest.fixture
def server(settings: Settings) -> Iterator[Server]:
    app = create_app(settings, hasher=CHEAP_HASHER)
    with TestClient(app) as client:
        yield Server(app, client)


@pytest.fixture
def device(server: Server) -> Device:
    return server.enrol("phone A")


@pytest.fixture
def db(tmp_path: Path) -> Iterator[Database]:
    """A migrated database on its own, for what is tested below HTTP."""
    database = Database(tmp_path / "walkaudit.db")
    database.migrate()
    yield database
    database.close()


@pytest.fixture
def smtp_server() -> Iterator[MailServer]:
    """A running SMTP server on loopback, stopped after the test."""
    with MailServer() as server:
        yield server


@pytest.fixture
def mail_settings(tmp_path: Path, smtp_server: MailServer) -> Settings:
    """A server that mails through `smtp_server`. Passes run when a test says (no report loop);
    no map tiles, so nothing is fetched from the network. A file whose server sends mail
    overrides `settings` with this."""
    return Settings(
        data_dir=tmp_path / "server",
        smtp_url=smtp_server.url,
        mail_from=MAIL_FROM,
        coordinator_email=COORDINATOR_EMAIL,
        public_url=PUBLIC_URL,
        report_interval_s=0,
        tile_url="",
    )


@dataclass
class RawResponse:
    status: int
    headers: dict[str, str]
    body: bytes
    receive_calls: int


def asgi_request(
    app: Any,
    method: str,
    path: str,
    headers: dict[str, str],
    chunks: list[bytes],
    *,
    disconnect: bool = False,
) -> RawResponse:
    """Call the ASGI app directly, feeding the body chunk by chunk; optionally cut it off.

    Counts calls to receive(), so a test can tell whether the body was read at all.
    """
    messages: list[dict[str, Any]] = [
        {"type": "http.request", "body": chunk, "more_body": True} for chunk in chunks
    ]
    messages.append(
        {"type": "http.disconnect"}
        if disconnect
        else {"type": "http.request", "body": b"", "more_body": False}
    )
    sent: list[dict[str, Any]] = []
    calls = 0

    async def receive() -> dict[str, Any]:
        nonlocal calls
        calls += 1
        return messages.pop(0) if messages else {"type": "http.disconnect"}

    async def send(message: dict[str, Any]) -> None:
        sent.append(message)

    scope = {
        "type": "http",
        "asgi": {"version": "3.0"},
        "http_version": "1.1",
        "method": method,
        "scheme": "http",
        "path": path,
        "raw_path": path.encode(),
        "query_string": b"",
        "root_path": "",
        "headers": [(k.lower().encode(), v.encode()) for k, v in headers.items()],
        "client": ("127.0.0.1", 50000),
        "server": ("testserver", 80),
        "state": {},
    }
    anyio.run(app, scope, receive, send)
    start = next(m for m in sent if m["type"] == "http.response.start")
    body = b"".join(m.get("body", b"") for m in sent if m["type"] == "http.response.body")
    response_headers = {k.decode().lower(): v.decode() for k, v in start["headers"]}
    return RawResponse(start["status"], response_headers, body, calls)

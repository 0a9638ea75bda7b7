"""Signed-in browsers for the coordinator web, in-process: one TestClient (own cookies) per role.

def test_x(staff: Staff) -> None:
    page = staff.coordinator.get("/c/findings")
    staff.post("coordinator", "/c/findings/ID/status", {"status": "closed"})  # adds csrf
"""

from __future__ import annotations

import re
import warnings
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

import pytest

from sync_server.api.workspace.pages import SESSION_COOKIE
from sync_server.workspace import accounts
from tests.server.conftest import CHEAP_HASHER, Server

with warnings.catch_warnings():
    warnings.filterwarnings("ignore", message=r"Using `httpx` with `starlette.testclient`")
    from fastapi.testclient import TestClient

PASSWORD = "rätt-hästbatteri-häftklammer"  # noqa: S105 - the tests' own users
ROLES = ("admin", "coordinator", "viewer")
_CSRF = re.compile(r'name="csrf" value="([^"]+)"')


def login(client: TestClient, name: str, password: str = PASSWORD, **fields: str) -> Any:
    """POST the sign-in form as a browser does: with the token the form's page set (a cookie
    and the same value in the form). Redirects are not followed."""
    page = client.get("/c/login")
    found = _CSRF.search(page.text)
    assert found, "the sign-in form carries no csrf field"
    form = {"name": name, "password": password, "csrf": found.group(1), **fields}
    return client.post("/c/login", data=form, follow_redirects=False)


def sign_in(client: TestClient, name: str, password: str = PASSWORD) -> str:
    """Sign in through the login form; returns the session's CSRF token (read off a page)."""
    response = login(client, name, password, next="/c/findings")
    assert response.status_code == 303, response.text
    page = client.get("/c/findings")
    found = _CSRF.search(page.text)
    assert found, "the signed-in page carries no csrf field"
    return found.group(1)


@dataclass
class Staff:
    """The server and one signed-in client per role (plus `anonymous`)."""

    server: Server
    clients: dict[str, TestClient] = field(default_factory=dict)
    csrf: dict[str, str] = field(default_factory=dict)

    @property
    def admin(self) -> TestClient:
        return self.clients["admin"]

    @property
    def coordinator(self) -> TestClient:
        return self.clients["coordinator"]

    @property
    def viewer(self) -> TestClient:
        return self.clients["viewer"]

    @property
    def anonymous(self) -> TestClient:
        return self.clients["anonymous"]

    def post(self, role: str, url: str, data: dict[str, Any] | None = None, **kwargs: Any) -> Any:
        """POST a form as `role`, with that session's CSRF token; redirects are not followed."""
        form = {"csrf": self.csrf.get(role, ""), **(data or {})}
        kwargs.setdefault("follow_redirects", False)
        return self.clients[role].post(url, data=form, **kwargs)


@pytest.fixture
def staff(server: Server) -> Iterator[Staff]:
    """admin1, coordinator1 and viewer1, each signed in. The sessions are opened the way the
    sign-in form opens them (accounts.login, with the app's cheap hasher) but without the form's
    three page loads each; the form itself is tested in tests/server/workspace/test_accounts.py."""
    crew = Staff(server)
    for role in ROLES:
        name = f"{role}1"
        accounts.add_user(server.db, name, role, PASSWORD, f"{name}@kommun.example",
                          hasher=CHEAP_HASHER)  # fmt: skip
        _, token = accounts.login(server.db, name, PASSWORD, "testclient", hasher=CHEAP_HASHER)
        # Not entered as a context manager: the server fixture already runs the app's lifespan.
        client = TestClient(server.app)
        client.cookies.set(SESSION_COOKIE, token)
        crew.clients[role] = client
        crew.csrf[role] = accounts.session(server.db, token).csrf_token
    crew.clients["anonymous"] = TestClient(server.app)
    yield crew

"""The authorisation matrix: every route of the app × every kind of caller → allowed or refused.

Callers: anonymous, a walker's device (bearer token), an owner's emailed link (its token, also
tried as a session cookie), an Open311 api key, and signed-in viewer, coordinator and admin.
Each route has one rule in MATRIX; a route without a rule fails the test, so a new page cannot
be added without deciding who may use it. "Refused" means what that caller sees: the sign-in
page (303 to /c/login) for the coordinator web, 403 for a signed-in user without the role, 401
for the device API, 404 for an owner link that does not match, 403 for Open311 without a key.
"""

from __future__ import annotations

from typing import Any

import pytest

from sync_server import open311
from sync_server.app import create_app
from sync_server.config import Settings
from sync_server.owners import links, routing
from sync_server.workspace import accounts
from tests.server.conftest import CHEAP_HASHER, Server, finding_json, make_jpeg, photo_json
from tests.server.workspace_support import TestClient, sign_in
from walkaudit.model import new_id, utcnow

CALLERS = ("anonymous", "device", "owner", "api_key", "viewer", "coordinator", "admin")
STAFF = ("viewer", "coordinator", "admin")
PASSWORD = "matris-lösenord-123"

# rule -> the callers allowed
RULES: dict[str, frozenset[str]] = {
    "public": frozenset(CALLERS),
    "viewer": frozenset(STAFF),
    "coordinator": frozenset({"coordinator", "admin"}),
    "admin": frozenset({"admin"}),
    "device": frozenset({"device"}),
    "owner_link": frozenset({"owner"}),
    "open311": frozenset({"api_key"}),
    "nobody": frozenset(),
}

MATRIX: dict[tuple[str, str], str] = {
    ("GET", "/openapi.json"): "public",
    ("GET", "/docs"): "public",
    ("GET", "/docs/oauth2-redirect"): "public",
    ("GET", "/redoc"): "public",
    ("GET", "/healthz"): "public",
    ("POST", "/v1/enrol"): "public",  # the one-time code is the credential
    ("POST", "/v1/sync/push"): "device",
    ("GET", "/v1/sync/pull"): "device",
    ("HEAD", "/v1/photos/{sha256}"): "device",
    ("PUT", "/v1/photos/{sha256}"): "device",
    ("GET", "/v1/findings/open"): "device",
    ("GET", "/v1/followups"): "device",
    ("GET", "/v1/photos/{sha256}"): "device",
    ("POST", "/v1/tiles/packages"): "device",
    ("GET", "/v1/tiles/packages/{package_id}"): "device",
    ("GET", "/v1/tiles/packages/{package_id}/file"): "device",
    ("GET", "/"): "public",  # a redirect to the workspace
    ("GET", "/c/"): "viewer",
    ("GET", "/c/login"): "public",
    ("POST", "/c/login"): "public",
    ("POST", "/c/logout"): "viewer",
    ("GET", "/c/findings"): "viewer",
    ("GET", "/c/map"): "viewer",
    ("GET", "/c/map.json"): "viewer",
    ("GET", "/c/findings/{finding_id}"): "viewer",
    ("GET", "/c/photos/{sha256}.jpg"): "viewer",
    ("POST", "/c/findings/{finding_id}/owner"): "coordinator",
    ("POST", "/c/findings/{finding_id}/plan"): "coordinator",
    ("POST", "/c/findings/{finding_id}/status"): "coordinator",
    ("POST", "/c/findings/{finding_id}/reopen"): "coordinator",
    ("POST", "/c/findings/{finding_id}/merge"): "coordinator",
    ("POST", "/c/findings/{finding_id}/flag"): "coordinator",
    ("POST", "/c/findings/{finding_id}/unmerge"): "coordinator",
    ("POST", "/c/findings/{finding_id}/comment"): "coordinator",
    ("GET", "/c/triage"): "viewer",
    ("POST", "/c/outbox/{outbox_id}/retry"): "coordinator",
    ("POST", "/c/set-aside/retry"): "coordinator",
    ("GET", "/c/followups"): "viewer",
    ("POST", "/c/followups"): "coordinator",
    ("GET", "/c/followups/{followup_id}"): "viewer",
    ("POST", "/c/followups/{followup_id}/close"): "coordinator",
    ("GET", "/c/walks"): "viewer",
    ("GET", "/c/walks/{walk_id}"): "viewer",
    ("GET", "/c/walks/{walk_id}/map.json"): "viewer",
    ("POST", "/c/walks/{walk_id}/participants"): "coordinator",
    ("POST", "/c/walks/{walk_id}/participants/{participant_id}/remove"): "coordinator",
    ("GET", "/c/walks/{walk_id}/protocol"): "viewer",
    ("GET", "/c/walks/{walk_id}/protocol.pdf"): "viewer",
    ("POST", "/c/walks/{walk_id}/protocol/send"): "coordinator",
    ("GET", "/c/devices"): "coordinator",
    ("POST", "/c/devices/codes"): "coordinator",
    ("GET", "/c/devices/codes"): "coordinator",
    ("POST", "/c/devices/{device_id}/revoke"): "coordinator",
    ("GET", "/enrol"): "public",  # shows only the code in its own URL
    ("GET", "/c/users"): "admin",
    ("POST", "/c/users"): "admin",
    ("POST", "/c/users/{user_id}/{action}"): "admin",
    ("POST", "/c/users/api-keys"): "admin",
    ("GET", "/c/users/api-keys"): "admin",
    ("POST", "/c/users/api-keys/{key_id}/revoke"): "admin",
    ("GET", "/c/export.csv"): "viewer",
    ("GET", "/c/export.geojson"): "viewer",
    ("GET", "/c/stats"): "viewer",
    ("GET", "/c/stats/heat.json"): "viewer",
    ("GET", "/c/summary"): "viewer",
    ("GET", "/c/summary.pdf"): "viewer",
    ("POST", "/c/summary/send"): "coordinator",
    ("GET", "/open311/v2/services.{fmt}"): "open311",
    ("GET", "/open311/v2/requests.{fmt}"): "open311",
    ("GET", "/open311/v2/requests/{request_id}.{fmt}"): "open311",
    ("POST", "/open311/v2/requests.{fmt}"): "nobody",  # findings come from walks only: 405
    ("GET", "/open311/v2/servicerequestupdates.{fmt}"): "open311",
    ("POST", "/open311/v2/servicerequestupdates.{fmt}"): "open311",
    ("GET", "/open311/v2/media/{finding_id}/{name}"): "open311",
    ("GET", "/open311/v2/{rest:path}"): "public",  # a clear 404 in Open311's format
    ("POST", "/open311/v2/{rest:path}"): "public",
    ("GET", "/o/{token}"): "owner_link",
    ("GET", "/o/{token}/photos/{sha256}"): "owner_link",
    ("GET", "/o/{token}/findings/{finding_id}/{action}"): "owner_link",
    ("POST", "/o/{token}/findings/{finding_id}/{action}"): "owner_link",
    ("MOUNT", "/static"): "public",
}


def app_routes(app: Any) -> list[tuple[str, str]]:
    """Every (method, path) the app answers, HEAD only where it is a route of its own."""
    found: list[tuple[str, str]] = []

    def walk(routes: Any) -> None:
        for route in routes:
            if hasattr(route, "original_router"):
                walk(route.original_router.routes)
                continue
            methods = getattr(route, "methods", None) or {"MOUNT"}
            for method in sorted(methods - {"HEAD"} or methods):
                found.append((method, route.path))

    walk(app.routes)
    return found


class World:
    """A server with one of everything, and a client per caller."""

    def __init__(self, server: Server) -> None:
        s = self.server = server
        self.device = s.enrol("walker")
        self.target_device = s.enrol("to be revoked")
        jpeg = make_jpeg(seed=9)
        self.sha = photo_json(jpeg)["sha256"]
        walk = {"id": new_id(), "name": "Vandring", "area": "Vivalla",
                "started_at": utcnow().isoformat()}  # fmt: skip
        finding = finding_json(walk_id=walk["id"], photos=[photo_json(jpeg)])
        other = finding_json(walk_id=walk["id"], latitude=59.27432)
        s.push(self.device, walks=[walk], findings=[finding, other])
        s.upload(self.device, jpeg)
        routing.route_pending(s.db)
        self.finding, self.other, self.walk = finding["id"], other["id"], walk["id"]
        owner_id = s.rows("SELECT owner_id FROM assignments WHERE finding_id = ?",
                          self.finding)[0][0]  # fmt: skip
        if owner_id is None:  # the municipality has no address in a fresh registry
            owner_id = s.rows("SELECT id FROM owners WHERE name LIKE 'Örebro%'")[0][0]
            with s.db.write() as tx:
                tx.execute("UPDATE owners SET email = 'k@orebro.example' WHERE id = ?", [owner_id])
            routing.set_owner(s.db, self.finding, owner_id)
        self.owner_token = links.create_link(s.db, owner_id)
        self.key_id, self.api_key = open311.create_api_key(s.db, "matrix")
        self.target_key, _ = open311.create_api_key(s.db, "to be revoked")
        target = accounts.add_user(s.db, "target", "viewer", PASSWORD, hasher=CHEAP_HASHER)
        self.target_user = target.id
        self.followup = new_id()
        with s.db.write() as tx:
            tx.execute("INSERT INTO followups (id, name, created_by, created_at)"
                       " VALUES (?, 'f', 'x', '2026-01-01')", [self.followup])  # fmt: skip
        self.clients: dict[str, TestClient] = {}
        self.csrf: dict[str, str] = {}
        for role in STAFF:
            accounts.add_user(s.db, role, role, PASSWORD, hasher=CHEAP_HASHER)
            client = TestClient(s.app)
            self.csrf[role] = sign_in(client, role, PASSWORD)
            self.clients[role] = client
        for caller in ("anonymous", "device", "owner", "api_key"):
            self.clients[caller] = TestClient(s.app)
        # An owner's link token tried as a session cookie must not open the workspace.
        self.clients["owner"].cookies.set("wa_session", self.owner_token)

    def url(self, path: str, caller: str) -> str:
        values = {
            "{finding_id}": self.finding, "{sha256}": self.sha, "{followup_id}": self.followup,
            "{walk_id}": self.walk, "{participant_id}": "999999", "{outbox_id}": "999999",
            "{device_id}": self.target_device.id, "{user_id}": self.target_user,
            "{key_id}": self.target_key, "{request_id}": self.finding, "{fmt}": "json",
            "{name}": f"{self.sha}.jpg", "{rest:path}": "nothing", "{action}": "acknowledge",
            "{package_id}": "0" * 24,
            # An owner link is valid only for its owner: other callers try a made-up one.
            "{token}": self.owner_token if caller == "owner" else "x" * 43,
        }  # fmt: skip
        if "/c/users/" in path:
            values["{action}"] = "disable"
        for key, value in values.items():
            path = path.replace(key, value)
        return path

    def request(self, method: str, path: str, caller: str) -> Any:
        url = self.url(path, caller)
        headers: dict[str, str] = {}
        if caller == "device":
            headers = self.device.headers
        params = {"api_key": self.api_key} if caller == "api_key" else {}
        if url.startswith("/v1/findings/open"):
            params["area"] = "Vivalla"
        if method == "MOUNT":
            method, url = "GET", "/static/coord.css"
        data = {"csrf": self.csrf.get(caller, "")} if method == "POST" else None
        if method == "PUT":
            headers = headers | {"Content-Range": "bytes 0-0/1"}
        return self.clients[caller].request(method, url, params=params, data=data,
                                            headers=headers, follow_redirects=False)  # fmt: skip


def refused(caller: str, rule: str, response: Any) -> bool:
    """Whether the caller was turned away (rather than answered, well or with a 4xx on input)."""
    code, location = response.status_code, response.headers.get("location", "")
    if rule in ("viewer", "coordinator", "admin"):
        signed_out = location == "/c/login?signed_out=1"  # what logging out answers
        return (code == 303 and location.startswith("/c/login") and not signed_out) or code == 403
    if rule == "device":
        return code == 401
    if rule == "owner_link":
        return code in (404, 410)
    if rule == "open311":  # media: 404, as for a photo that is not visible through Open311
        return code in (401, 403) or (code == 404 and "/media/" in response.url.path)
    if rule == "nobody":
        return code in (403, 405)
    return False


@pytest.fixture
def world(tmp_path: Any) -> World:
    settings = Settings(data_dir=tmp_path / "server", report_interval_s=0)
    app = create_app(settings, hasher=CHEAP_HASHER)
    with TestClient(app) as client:
        yield World(Server(app, client))


def test_every_route_has_a_rule(world: World) -> None:
    routes = app_routes(world.server.app)
    missing = [r for r in routes if r not in MATRIX]
    assert not missing, f"routes without an authorisation rule: {missing}"
    stale = [r for r in MATRIX if r not in routes]
    assert not stale, f"rules for routes that no longer exist: {stale}"


def test_every_route_by_every_caller(world: World) -> None:
    # Logging out would end the session the following requests use: it goes last.
    routes = sorted(app_routes(world.server.app), key=lambda r: r == ("POST", "/c/logout"))
    problems = []
    for method, path in routes:
        rule = MATRIX.get((method, path))
        if rule is None:
            continue
        for caller in CALLERS:
            response = world.request(method, path, caller)
            allowed = caller in RULES[rule]
            if response.status_code >= 500:
                problems.append(f"{method} {path} as {caller}: {response.status_code}")
            elif allowed and refused(caller, rule, response):
                problems.append(f"{method} {path} as {caller}: refused "
                                f"({response.status_code}) but should be allowed")  # fmt: skip
            elif not allowed and not refused(caller, rule, response):
                problems.append(f"{method} {path} as {caller}: answered "
                                f"({response.status_code}) but should be refused")  # fmt: skip
    assert not problems, "\n".join(problems)


def test_a_viewer_is_told_why_and_nothing_changes(world: World) -> None:
    before = world.server.rows("SELECT count(*) FROM events")
    answer = world.request("POST", "/c/findings/{finding_id}/status", "viewer")
    assert answer.status_code == 403 and "Din roll får inte göra detta" in answer.text
    assert world.server.rows("SELECT count(*) FROM events") == before

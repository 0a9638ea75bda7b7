"""Issue 10's door cases against a real `walkaudit-server serve` on loopback.

A 9999 finding is refused (422) and never stored; a truncated photo is refused (415) and never
counted as stored; a device's `closed` event is refused (403) and the finding keeps its status;
`since=2**63` is a 422 without a traceback; a disorder finding is readable by a police/EST device
(enrolled with a code the coordinator made on the devices page) and by nobody else.
"""

from __future__ import annotations

import hashlib
import re
import sqlite3
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.support import ServerProcess, run
from walkaudit.model import new_id, utcnow

pytestmark = pytest.mark.slow
PHOTOS = Path(__file__).resolve().parents[2] / "data" / "photos" / "gps"
PHOTO = (PHOTOS / "DSCN0010.jpg").read_bytes()
DISORDER_PHOTO = (PHOTOS / "DSCN0042.jpg").read_bytes()
PASSWORD = "samordnare-lösen-1"  # noqa: S105 - the test's own user
_CSRF = re.compile(r'name="csrf" value="([^"]+)"')
_CODE = re.compile(r'id="code">([2-9A-HJKMNP-Z]{4}-[2-9A-HJKMNP-Z]{4})<')


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ServerProcess]:
    s = ServerProcess(tmp_path_factory.mktemp("door") / "server").start()
    yield s
    s.stop()
    # Every refusal was an answer, none a crash.
    assert "Traceback" not in s.log.read_text()


@pytest.fixture(scope="module")
def coordinator(server: ServerProcess) -> Iterator[httpx.Client]:
    """A coordinator signed in to the server's web (who makes the enrolment codes)."""
    made = run("walkaudit-server", "--data", server.data, "users", "add", "anna", "--role",
               "coordinator", "--password-stdin", input=PASSWORD + "\n")  # fmt: skip
    assert made.code == 0, made.err
    with httpx.Client(base_url=server.url) as web:
        login = _CSRF.search(web.get("/c/login").text)
        assert login
        web.post("/c/login", data={"name": "anna", "password": PASSWORD, "csrf": login[1]})
        yield web


def make_code(web: httpx.Client, name: str, police: bool = False) -> str:
    """A code made the coordinator's way, on /c/devices (with the police box ticked or not)."""
    csrf = _CSRF.search(web.get("/c/devices").text)
    assert csrf, "not signed in"
    form = {"csrf": csrf[1], "name": name} | ({"police": "1"} if police else {})
    page = web.post("/c/devices/codes", data=form)
    assert page.status_code == 200 and ('id="police"' in page.text) == police
    code = _CODE.search(page.text)
    assert code
    return code[1]


def stored(server: ServerProcess, sql: str, *params: object) -> list[tuple[Any, ...]]:
    """Read the server's own SQLite file (read-only) while it runs."""
    db = sqlite3.connect(f"file:{server.data / 'walkaudit.db'}?mode=ro", uri=True)
    try:
        return db.execute(sql, params).fetchall()
    finally:
        db.close()


def sha(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def enrol(server: ServerProcess, web: httpx.Client, police: bool = False) -> httpx.Client:
    """A device's HTTP client with its bearer token."""
    code = make_code(web, "Polis Örebro" if police else "Volontär", police)
    answer = httpx.post(f"{server.url}/v1/enrol", json={"code": code})
    assert answer.status_code == 201, answer.text
    token = answer.json()["token"]
    return httpx.Client(base_url=server.url, headers={"Authorization": f"Bearer {token}"})


def finding(**overrides: Any) -> dict[str, Any]:
    return {"id": new_id(), "category": "BEL", "severity": "high", "note": "Trasig lampa",
            "latitude": 59.2743, "longitude": 15.2066, "captured_at": utcnow().isoformat(),
            **overrides}  # fmt: skip


def photo(data: bytes) -> dict[str, Any]:
    return {"sha256": sha(data), "size": len(data), "width": 640, "height": 480}


def put_whole(device: httpx.Client, data: bytes) -> httpx.Response:
    headers = {"Content-Range": f"bytes 0-{len(data) - 1}/{len(data)}"}
    return device.put(f"/v1/photos/{sha(data)}", content=data, headers=headers)


def test_a_finding_from_the_year_9999_is_422_and_not_stored(
    server: ServerProcess, coordinator: httpx.Client
) -> None:
    with enrol(server, coordinator) as phone:
        good, poisoned = finding(), finding(captured_at="9999-12-31T23:59:59+14:00")
        answer = phone.post("/v1/sync/push", json={"findings": [good, poisoned]})
        assert answer.status_code == 422
        tomorrow = (datetime.now(UTC) + timedelta(days=1)).date().isoformat()
        assert answer.json()["detail"].startswith(
            f"finding {poisoned['id']} captured_at: 9999-12-31T09:59:59Z is not a plausible "
            f"time (must be between 2000-01-01 and {tomorrow}"
        )
        none = "SELECT count(*) FROM findings WHERE id IN (?, ?)"
        assert stored(server, none, good["id"], poisoned["id"]) == [(0,)]
        assert phone.post("/v1/sync/push", json={"findings": [good]}).status_code == 200
        assert stored(server, none, good["id"], poisoned["id"]) == [(1,)]


def test_a_truncated_photo_is_415_and_not_counted_as_stored(
    server: ServerProcess, coordinator: httpx.Client
) -> None:
    half = PHOTO[: len(PHOTO) // 2]
    with enrol(server, coordinator) as phone:
        lamp = finding(photos=[photo(half)])  # the sha256 of the half file, as the reporter did
        assert phone.post("/v1/sync/push", json={"findings": [lamp]}).status_code == 200
        answer = put_whole(phone, half)
        assert answer.status_code == 415
        detail = answer.json()["detail"]
        assert detail.startswith(f"photo {sha(half)[:12]}… of finding {lamp['id']} was refused")
        assert "image file is truncated" in detail
        state = phone.head(f"/v1/photos/{sha(half)}")
        assert (state.headers["photo-state"], state.headers["upload-offset"]) == ("needed", "0")
        assert stored(server, "SELECT count(*) FROM photos WHERE sha256 = ?", sha(half)) == [(0,)]
        # The whole photo still goes through.
        whole = finding(photos=[photo(PHOTO)])
        assert phone.post("/v1/sync/push", json={"findings": [whole]}).status_code == 200
        assert put_whole(phone, PHOTO).status_code == 201
        assert stored(server, "SELECT width FROM photos WHERE sha256 = ?", sha(PHOTO)) == [(640,)]


def test_a_devices_closed_event_is_403_and_the_status_stays(
    server: ServerProcess, coordinator: httpx.Client
) -> None:
    with enrol(server, coordinator) as reporter, enrol(server, coordinator) as other:
        lamp = finding()
        assert reporter.post("/v1/sync/push", json={"findings": [lamp]}).status_code == 200
        closed = {"id": new_id(), "finding_id": lamp["id"], "kind": "closed",
                  "at": utcnow().isoformat()}  # fmt: skip
        answer = other.post("/v1/sync/push", json={"events": [closed]})
        assert answer.status_code == 403
        assert answer.json()["detail"].startswith(
            f"event {closed['id']} on finding {lamp['id']} is of kind 'closed', which only a "
            "coordinator or the finding's owner can set"
        )
        status = "SELECT status FROM findings WHERE id = ?"
        assert stored(server, status, lamp["id"]) == [("received",)]
        history = reporter.get("/v1/sync/pull").json()["changes"]
        assert [c["event"]["kind"] for c in history if c["finding_id"] == lamp["id"]] == [
            "received"
        ]


def test_a_cursor_of_2_to_the_63_is_422(server: ServerProcess, coordinator: httpx.Client) -> None:
    with enrol(server, coordinator) as phone:
        answer = phone.get("/v1/sync/pull", params={"since": 2**63})
        assert answer.status_code == 422
        assert answer.json()["detail"] == "since: must be ≤ 9223372036854775807"
        revision = phone.post("/v1/sync/push", json={"findings": [finding(revision=2**63)]})
        assert revision.status_code == 422
        assert revision.json()["detail"].startswith("findings[0].revision: must be ≤")


def test_disorder_is_readable_by_a_police_device_only(
    server: ServerProcess, coordinator: httpx.Client
) -> None:
    picture = DISORDER_PHOTO
    ord_ = finding(category="ORD", note="Langning vid kiosken", latitude=59.30, longitude=15.30,
                   photos=[photo(picture)])  # fmt: skip
    lamp = finding(latitude=59.30, longitude=15.30)
    walker, ordinary = enrol(server, coordinator), enrol(server, coordinator)
    police = enrol(server, coordinator, police=True)
    with walker, ordinary, police:
        assert walker.post("/v1/sync/push", json={"findings": [ord_, lamp]}).status_code == 200
        assert put_whole(walker, picture).status_code == 201
        near = {"lat": 59.30, "lon": 15.30, "radius_m": 50}

        def seen(device: httpx.Client) -> tuple[set[str], int]:
            listed = device.get("/v1/findings/open", params=near)
            assert listed.status_code == 200
            ids = {f["finding"]["id"] for f in listed.json()["findings"]}
            return ids, device.get(f"/v1/photos/{sha(picture)}").status_code

        assert seen(ordinary) == ({lamp["id"]}, 404)
        assert "Langning" not in ordinary.get("/v1/findings/open", params=near).text
        assert seen(police) == ({ord_["id"], lamp["id"]}, 200)
        assert seen(walker) == ({ord_["id"], lamp["id"]}, 200)

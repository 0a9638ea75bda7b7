"""Follow-up walks, headless app against a real server: what the walker marks reaches the
server, and the reporter's phone and the coordinator's workspace hear of it."""

from __future__ import annotations

import asyncio
import json
import re
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from tests.support import ServerProcess, run
from walkaudit.model import new_id
from walkaudit.store import Store

from .harness import Harness

pytestmark = [pytest.mark.slow, pytest.mark.timeout(180)]


def cli(data: Path, *args: str) -> str:
    r = run("walkaudit", "--data", data, *args)
    assert r.code == 0, r.err
    return r.out.strip()


@pytest.fixture
def server(tmp_path: Path) -> Iterator[ServerProcess]:
    served = ServerProcess(tmp_path / "server").start()
    try:
        yield served
    finally:
        served.stop()


@pytest.fixture
def reporter(tmp_path: Path, server: ServerProcess) -> Path:
    """The walker who reported the findings, on a walk in Vivalla."""
    data = tmp_path / "reporter"
    cli(data, "enrol", server.url, server.enrol_code())
    cli(data, "walk", "start", "Vår", "--area", "Vivalla")
    return data


@pytest.fixture
def phone(tmp_path: Path, server: ServerProcess) -> Path:
    """Another walker's phone, enrolled, for the follow-up walk."""
    data = tmp_path / "phone"
    cli(data, "enrol", server.url, server.enrol_code())
    store = Store.open(data)
    store.set_meta(**{"ui.location_explained": "1"})
    store.close()
    return data


def add(reporter: Path, category: str, lat: str, lon: str, note: str) -> str:
    return cli(reporter, "add", "--category", category, "--lat", lat, "--lon", lon, "--note", note)


async def follow_up(phone: Path, name: str, tap: str, absent: tuple[str, ...] = ()) -> None:
    """Open the follow-up by name, tap one answer, and sync."""
    h = await Harness.start(phone)
    await h.click("open-followup")
    await h.type("followup-area", name)
    await h.click("followup-load")
    await h.until(lambda: h.has(tap))
    assert not any(h.has(identifier) for identifier in absent)
    await h.click(tap)
    assert h.app.state.store.pending_counts().events == 1
    await h.click("sync-now")
    await h.until(lambda: not h.app.syncer.running and h.app.syncer.last_ok is not None)
    assert h.app.syncer.last_ok, h.texts()
    await h.close()


def test_followup_marks_fixed_with_a_photo_and_the_reporter_sees_it(
    reporter: Path, phone: Path
) -> None:
    finding_id = add(reporter, "BEL", "59.2743", "15.2066", "Lampan är trasig")
    cli(reporter, "sync")
    # "fixed" takes a proof photo with the camera before it is marked
    asyncio.run(follow_up(phone, "vivalla", f"fixed-{finding_id}"))
    cli(reporter, "sync")
    status = json.loads(cli(reporter, "status", "--json"))
    assert status["findings"][0]["server_status"] == "verified"


def test_a_followup_the_coordinator_planned_reaches_the_app_by_its_name(
    server: ServerProcess, reporter: Path, phone: Path
) -> None:
    """The coordinator picks one of an area's findings for a follow-up called "Uppföljning
    december"; the walker types that name, gets exactly that finding, and finds it still there:
    the finding the coordinator had marked fixed is reopened on the server."""
    chosen = add(reporter, "BEL", "59.2743", "15.2066", "Lampan är trasig")
    left_out = add(reporter, "KLO", "59.2750", "15.2080", "Klotter")
    cli(reporter, "sync")
    password = "samordnare-lösen-1"
    made = run(
        "walkaudit-server",
        "--data",
        server.data,
        "users",
        "add",
        "anna",
        "--role",
        "coordinator",
        "--password-stdin",
        input=password + "\n",
    )
    assert made.code == 0, made.err
    with httpx.Client(base_url=server.url) as web:
        token = re.search(r'name="csrf" value="([^"]+)"', web.get("/c/login").text)[
            1
        ]  # the form's own
        web.post("/c/login", data={"name": "anna", "password": password, "csrf": token})
        csrf = re.search(r'name="csrf" value="([^"]+)"', web.get("/c/followups").text)
        assert csrf, "not signed in"
        form = {"csrf": csrf.group(1), "event_id": new_id()}
        fixed = web.post(f"/c/findings/{chosen}/status", data=form | {"status": "fixed"})
        assert fixed.status_code == 303
        planned = web.post(
            "/c/followups",
            data=form
            | {
                "name": "Uppföljning december",
                "area": "Vivalla",
                "finding": [chosen],
                "followup_id": new_id(),
            },
        )
        assert planned.status_code == 303
    asyncio.run(
        follow_up(
            phone,
            "Uppföljning december",
            f"still-there-{chosen}",
            absent=(f"still-there-{left_out}",),
        )
    )
    [row] = [r for r in server.findings() if r["id"] == chosen]
    assert row["status"] == "reopened"

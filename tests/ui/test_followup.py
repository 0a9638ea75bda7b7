"""Follow-up walk, headless app against a real server: mark a finding fixed, and the walker who
reported it sees "verified fixed" after their next sync."""

from __future__ import annotations

import asyncio
import json
import re
from pathlib import Path

import httpx
import pytest

from tests.support import ServerProcess, run
from walkaudit.model import new_id
from walkaudit.store import Store

from .harness import Harness

pytestmark = [pytest.mark.slow, pytest.mark.timeout(180)]


def test_followup_marks_fixed_with_a_photo_and_the_reporter_sees_it(tmp_path: Path) -> None:
    server = ServerProcess(tmp_path / "server").start()
    try:
        reporter = tmp_path / "reporter"
        assert (
            run("walkaudit", "--data", reporter, "enrol", server.url, server.enrol_code()).code == 0
        )
        assert (
            run("walkaudit", "--data", reporter, "walk", "start", "Vår", "--area", "Vivalla").code
            == 0
        )
        added = run(
            "walkaudit",
            "--data",
            reporter,
            "add",
            "--category",
            "BEL",
            "--lat",
            "59.2743",
            "--lon",
            "15.2066",
            "--note",
            "Lampan är trasig",
        )
        finding_id = added.out.strip()
        assert run("walkaudit", "--data", reporter, "sync").code == 0

        phone = tmp_path / "phone"
        assert run("walkaudit", "--data", phone, "enrol", server.url, server.enrol_code()).code == 0
        s = Store.open(phone)
        s.set_meta(**{"ui.location_explained": "1"})
        s.close()

        async def scenario() -> None:
            h = await Harness.start(phone)
            await h.click("open-followup")
            await h.type("followup-area", "vivalla")
            await h.click("followup-load")
            await h.until(lambda: h.has(f"fixed-{finding_id}"))
            assert "Lampan är trasig" in h.texts()
            await h.click(f"fixed-{finding_id}")  # the camera takes the proof photo
            assert h.app.state.store.pending_counts().events == 1
            await h.click("sync-now")
            await h.until(lambda: not h.app.syncer.running and h.app.syncer.last_ok is not None)
            assert h.app.syncer.last_ok, h.texts()
            await h.close()

        asyncio.run(scenario())
        assert run("walkaudit", "--data", reporter, "sync").code == 0
        status = json.loads(run("walkaudit", "--data", reporter, "status", "--json").out)
        assert status["findings"][0]["server_status"] == "verified"
    finally:
        server.stop()


def test_a_followup_the_coordinator_planned_reaches_the_app_by_its_name(tmp_path: Path) -> None:
    """The coordinator picks one of an area's findings for a follow-up called "Uppföljning
    december"; the walker types that name, gets exactly that finding, and finds it still there:
    the finding the coordinator had marked fixed is reopened and flagged on the server."""
    server = ServerProcess(tmp_path / "server").start()
    try:
        reporter = tmp_path / "reporter"
        assert (
            run("walkaudit", "--data", reporter, "enrol", server.url, server.enrol_code()).code == 0
        )
        assert (
            run("walkaudit", "--data", reporter, "walk", "start", "Vår", "--area", "Vivalla").code
            == 0
        )
        chosen = run(
            "walkaudit",
            "--data",
            reporter,
            "add",
            "--category",
            "BEL",
            "--lat",
            "59.2743",
            "--lon",
            "15.2066",
            "--note",
            "Lampan är trasig",
        ).out.strip()
        left_out = run(
            "walkaudit",
            "--data",
            reporter,
            "add",
            "--category",
            "KLO",
            "--lat",
            "59.2750",
            "--lon",
            "15.2080",
            "--note",
            "Klotter",
        ).out.strip()
        assert run("walkaudit", "--data", reporter, "sync").code == 0
        password = "samordnare-lösen-1"
        assert (
            run(
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
            ).code
            == 0
        )

        with httpx.Client(base_url=server.url) as web:
            web.post("/c/login", data={"name": "anna", "password": password})
            csrf = re.search(r'name="csrf" value="([^"]+)"', web.get("/c/followups").text)
            assert csrf, "not signed in"
            token = csrf.group(1)
            fixed = web.post(
                f"/c/findings/{chosen}/status",
                data={"csrf": token, "status": "fixed", "event_id": new_id(), "note": "bytt"},
            )
            assert fixed.status_code == 303
            made = web.post(
                "/c/followups",
                data={
                    "csrf": token,
                    "name": "Uppföljning december",
                    "area": "Vivalla",
                    "finding": [chosen],
                    "followup_id": new_id(),
                },
            )
            assert made.status_code == 303

        phone = tmp_path / "phone"
        assert run("walkaudit", "--data", phone, "enrol", server.url, server.enrol_code()).code == 0
        s = Store.open(phone)
        s.set_meta(**{"ui.location_explained": "1"})
        s.close()

        async def scenario() -> None:
            h = await Harness.start(phone)
            await h.click("open-followup")
            await h.type("followup-area", "Uppföljning december")
            await h.click("followup-load")
            await h.until(lambda: h.has(f"still-there-{chosen}"))
            assert not h.has(f"still-there-{left_out}")
            await h.click(f"still-there-{chosen}")
            await h.click("sync-now")
            await h.until(lambda: not h.app.syncer.running and h.app.syncer.last_ok is not None)
            assert h.app.syncer.last_ok, h.texts()
            await h.close()

        asyncio.run(scenario())
        rows = [r for r in server.findings() if r["id"] == chosen]
        assert rows[0]["status"] == "reopened"
    finally:
        server.stop()

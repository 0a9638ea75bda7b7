"""Follow-up walk, headless app against a real server: mark a finding fixed, and the walker who
reported it sees "verified fixed" after their next sync."""

from __future__ import annotations

import asyncio
import json
from pathlib import Path

import pytest

from tests.support import ServerProcess, run
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
        added = run("walkaudit", "--data", reporter, "add", "--category", "BEL", "--lat", "59.2743",
                    "--lon", "15.2066", "--note", "Lampan är trasig")  # fmt: skip
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

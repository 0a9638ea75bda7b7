"""What the walker sees when the server refuses something, in the real Flet web client.

A phone whose clock jumped to the year 9999 saved one finding, and a memory card cut another
finding's photo in half. In chromium (412×915): one tap on *Synka nu* sends the good findings;
the bar names the refused finding with its time and the server's reason; the badge says some are
not accepted, with a button to try again; the findings list marks the refused one *Godtogs inte –
sparat här*. Screens are saved under tests/_artifacts/screens (refusals-*) for a person to look at.
"""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from tests.conftest import make_finding, make_photo
from tests.support import ServerProcess, run
from tests.test_sync_refusals import broken_photo
from walkaudit.store import Store

from .browser import AppProcess, FletPage, TileServer, phone_context

pytestmark = [pytest.mark.slow, pytest.mark.timeout(400)]


def test_the_walker_sees_which_finding_the_server_refused(
    tmp_path: Path, flet_browser: Any, tiles: TileServer
) -> None:
    server = ServerProcess(tmp_path / "server").start()
    phone = tmp_path / "phone"
    try:
        store = Store.open(phone)
        store.set_meta(**{"ui.tile_url": tiles.template, "ui.location_explained": "1"})
        store.close()
        r = run("walkaudit", "--data", phone, "enrol", server.url, server.enrol_code())
        assert r.code == 0, r.err
        r = run("walkaudit", "--data", phone, "walk", "start", "Kvällsvandring")
        assert r.code == 0, r.err
        store = Store.open(phone)
        walk = store.active_walk()
        assert walk is not None
        clock = store.save_finding(make_finding(
            walk_id=walk.id, category="BEL", note="Trasig lampa",
            captured_at=datetime(9999, 6, 1, 12, tzinfo=UTC),
        ))  # fmt: skip
        cut = store.save_finding(
            make_finding(walk_id=walk.id, category="KLO", note="Klotter"), [broken_photo(5)]
        )
        good = store.save_finding(
            make_finding(walk_id=walk.id, category="VEG", note="Buske"), [make_photo(6)]
        )
        store.close()

        app = AppProcess(phone).start()
        try:
            ui = FletPage(phone_context(flet_browser).new_page(), "refusals").open(app.url)
            ui.click("sync-now")
            ui.wait_text("godtogs inte av servern", 60)
            text = ui.text()
            assert "Fyndet ”Belysning – Trasig lampa” (9999-06-01 14:00)" in text, text[:1500]
            assert "telefonens klocka visade fel tid när fyndet sparades" in text
            assert "spara fyndet igen" in text
            assert "Servern tog inte emot 1 till" in text  # the cut photo, counted
            assert "varav 2 som servern inte tog emot" in text  # the badge: not "waiting" only
            # The one way to send them again from the app, on its own line under the sentence.
            ui.wait("sync-retry-refused")
            ui.wait_text("Försök igen med det som inte togs emot")
            ui.screenshot("sync-bar")
            ui.click("walk-continue")
            ui.click("open-findings")
            ui.wait(f"finding-{clock.id}")
            ui.wait_text("Godtogs inte – sparat här")
            ui.screenshot("findings-list")
        finally:
            app.stop()
        # The good finding and the finding with the cut photo are on the server; the 9999 one is
        # not, and stays on the phone.
        assert {f["id"] for f in server.findings()} == {good.id, cut.id}
        store = Store.open(phone)
        assert store.finding(clock.id).note == "Trasig lampa"
        store.close()
    finally:
        server.stop()

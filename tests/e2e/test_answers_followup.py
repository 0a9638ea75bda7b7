"""The owner's answer and a follow-up walk in the real Flet web client (chromium, 412×915).

The reporter's phone shows the owner's planned date, comment and fix photo after a sync, and a
disorder finding "sent to the police". Another walker chooses the coordinator's follow-up from the
list (no typing), sees each card's original photo and the owner's answer, marks one fixed with a
photo from chromium's fake camera, and the card shows the answer marked. Screens are saved under
tests/_artifacts/screens (answers-*) for a person to look at.
"""

from __future__ import annotations

import json
import sqlite3
import time
from datetime import date, timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest

from sync_server.core.db import Database
from sync_server.core.history import add_server_event
from sync_server.core.time import iso
from sync_server.owners import links, routing
from sync_server.workspace import followups
from tests.conftest import make_photo
from tests.support import ServerProcess, run
from walkaudit.model import EventKind, new_id, utcnow
from walkaudit.store import Store

from .browser import AppProcess, FletPage, TileServer, phone_context

pytestmark = [pytest.mark.slow, pytest.mark.timeout(600)]


def cli(data: Path, *args: str | Path) -> str:
    r = run("walkaudit", "--data", data, *args, timeout=180)
    assert r.code == 0, r.err
    return r.out.strip()


def device(path: Path, server: ServerProcess, tiles: TileServer, police: bool = False) -> Path:
    s = Store.open(path)
    s.set_meta(**{"ui.tile_url": tiles.template, "ui.location_explained": "1"})
    s.close()
    if police:  # only a police/EST device sees another device's disorder finding (ORD)
        made = server.cli("enrol-code", "--name", "Polisen", "--police")
        assert made.code == 0, made.err
        code = made.out.strip()
    else:
        code = server.enrol_code()
    cli(path, "enrol", server.url, code)
    return path


def add(data: Path, category: str, north_m: float, note: str, seed: int) -> str:
    photo = data.parent / f"report-{seed}.jpg"
    photo.write_bytes(make_photo(seed, size=(1600, 1200)).jpeg)
    lat = f"{59.2743 + north_m / 111_320:.6f}"
    return cli(data, "add", "--category", category, "--lat", lat, "--lon", "15.2066",
               "--note", note, "--photo", photo)  # fmt: skip


def test_the_owners_answer_and_a_followup_walk_in_the_browser(
    tmp_path: Path, flet_browser: Any
) -> None:
    tiles = TileServer()
    server = ServerProcess(tmp_path / "server").start()
    reporter = device(tmp_path / "reporter", server, tiles)
    cli(reporter, "walk", "start", "Kvällsvandring", "--area", "Vivalla")
    lamp = add(reporter, "BEL", 0, "Lampan vid port A är trasig", 1)
    disorder = add(reporter, "ORD", 40, "Bråk vid busshållplatsen varje kväll", 2)
    cli(reporter, "sync")

    db = Database(server.data / "walkaudit.db")
    owner_id, now = new_id(), iso(utcnow())
    with db.write() as tx:
        tx.execute(
            "INSERT INTO owners (id, name, kind, email, language, created_at, updated_at)"
            " VALUES (?, 'Bostads AB Mimer', 'owner', 'mimer@example.se', 'sv', ?, ?)",
            [owner_id, now, now],
        )
        add_server_event(tx, disorder, EventKind.SENT, note="polisen@example.se")
    routing.set_owner(db, lamp, owner_id)
    token = links.create_link(db, owner_id)
    day = date.today() + timedelta(days=45)
    with httpx.Client(base_url=server.url) as web:
        for action, data, files in [
            ("planned", {"date": day.isoformat(), "comment": "Elektrikern kommer vecka 3"}, None),
            ("fixed", {"comment": "Armaturen är utbytt"},
             {"photo": ("fix.jpg", make_photo(77, size=(2000, 1500)).jpeg, "image/jpeg")}),
        ]:  # fmt: skip
            form = {"event_id": new_id(), **data}
            r = web.post(f"/o/{token}/findings/{lamp}/{action}", data=form, files=files,
                         follow_redirects=False)  # fmt: skip
            assert r.status_code == 303, r.text[:300]
    followup_id = followups.create(db, "Uppföljning december", "Vivalla", [lamp, disorder],
                                   "user:anna")  # fmt: skip
    db.close()

    try:
        # The reporter: the owner's answer on the finding's page after a sync.
        app = AppProcess(reporter).start()
        try:
            ui = FletPage(phone_context(flet_browser).new_page(), "answers").open(app.url)
            ui.click("sync-now")
            ui.wait_text("Allt är synkat", 60)
            ui.click("walk-continue")
            ui.click("open-findings")
            ui.wait_text("Skickat till polisen")
            ui.screenshot("findings-list")
            ui.click(f"finding-{lamp}")
            ui.wait_text("Armaturen är utbytt")
            ui.wait_text("Ägaren · Åtgärdat")
            ui.screenshot("finding-detail")
            ui.wait(f"answer-photo-{fix_sha(server, lamp)}")
        finally:
            app.stop()

        # Another walker (the police, who may see the disorder finding): the follow-up chosen
        # from the list, cards, an answer with a photo.
        phone = device(tmp_path / "phone", server, tiles, police=True)
        app = AppProcess(phone).start()
        try:
            ui = FletPage(phone_context(flet_browser).new_page(), "answers").open(app.url)
            ui.click("open-followup")
            ui.wait(f"followup-{followup_id}")
            ui.screenshot("followup-list")
            ui.click(f"followup-{followup_id}")
            ui.wait(f"followup-card-{lamp}")
            ui.wait_text("Ägaren svarade")
            ui.page.wait_for_timeout(2000)  # the small copies of the photos arrive
            ui.screenshot("followup-cards")
            ui.page.mouse.move(206, 700)
            ui.page.mouse.wheel(0, 420)  # down to the disorder finding's card
            ui.page.wait_for_timeout(800)
            ui.click(f"fixed-{disorder}")
            ui.wait("answer-take-photo")
            ui.page.wait_for_timeout(3000)  # the camera starts in the dialog
            ui.screenshot("followup-photo-dialog")
            ui.click("answer-take-photo")
            # The answer syncs in the background (there is signal), with the camera's photo.
            deadline = time.monotonic() + 60
            while time.monotonic() < deadline and not verified_photos(server, disorder):
                ui.page.wait_for_timeout(500)
            assert verified_photos(server, disorder) == [1]
            ui.wait_text("Ditt svar: Åtgärdat (1 foto)", 30)
            ui.screenshot("followup-marked")
        finally:
            app.stop()
    finally:
        server.stop()
        tiles.close()


def verified_photos(server: ServerProcess, finding_id: str) -> list[int]:
    """How many photos each `verified` answer on the server carries."""
    conn = sqlite3.connect(f"file:{server.data / 'walkaudit.db'}?mode=ro", uri=True)
    try:
        rows = conn.execute(
            "SELECT json FROM events WHERE finding_id = ? AND kind = 'verified'", [finding_id]
        ).fetchall()
    finally:
        conn.close()
    return [len(json.loads(j)["photos"]) for (j,) in rows]


def fix_sha(server: ServerProcess, finding_id: str) -> str:
    conn = sqlite3.connect(f"file:{server.data / 'walkaudit.db'}?mode=ro", uri=True)
    try:
        [(event,)] = conn.execute(
            "SELECT json FROM events WHERE finding_id = ? AND kind = 'fixed'", [finding_id]
        ).fetchall()
    finally:
        conn.close()
    return str(json.loads(event)["photos"][0]["sha256"])

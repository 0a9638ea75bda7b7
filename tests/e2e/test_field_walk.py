"""An evening walk as a walker lives it, in the real Flet web client at phone size.

Six findings in one app session, every photo taken with chromium's fake camera (one finding with
two photos, one photo added to a nearby finding through the "same thing?" prompt), the browser's
position moving between them so the route grows. The walk is ended with *Avsluta* (which asks
first) and then nobody taps *Synka nu*: within 60 s the real server must hold the ended walk with
its route and every finding with every photo (sha256 equal to the phone's copy), and the owner's
report leaves on the next report pass over real SMTP.
"""

from __future__ import annotations

import hashlib
import json
import sqlite3
import time
from pathlib import Path
from typing import Any

import pytest

from tests.server.mail_support import MailServer
from tests.support import ServerProcess, run
from walkaudit import i18n
from walkaudit.store import Store

from .browser import OREBRO, AppProcess, FletPage, TileServer, phone_context

pytestmark = [pytest.mark.slow, pytest.mark.timeout(900)]

# (category, metres north, metres east, photos); "same" adds one photo to the finding before.
WALK = [
    ("BEL", 0, 0, 1),
    ("VEG", 45, 30, 2),
    ("KLO", -35, 60, 1),
    ("KLO", -33, 63, "same"),  # ~4 m from the graffiti: the app offers "the same thing?"
    ("SKR", 70, -40, 1),
    ("TRA", -60, -55, 1),
    ("GAN", 20, -80, 1),
]
OWNER_AREA = [[15.2040, 59.2730], [15.2095, 59.2730], [15.2095, 59.2756], [15.2040, 59.2756]]


def at(north_m: float, east_m: float) -> dict[str, float]:
    """A position this many metres from the start (Örebro), as the browser's geolocation."""
    return {
        "latitude": OREBRO["latitude"] + north_m / 111_320,
        "longitude": OREBRO["longitude"] + east_m / 56_800,  # metres per degree at 59.27° N
        "accuracy": 5,
    }


def walk_to(context: Any, ui: FletPage, north_m: float, east_m: float) -> None:
    """Move the phone in a few steps, so the position stream records a route on the way."""
    start = context._walk_pos if hasattr(context, "_walk_pos") else (0.0, 0.0)
    for step in range(1, 4):
        f = step / 3
        pos = (start[0] + (north_m - start[0]) * f, start[1] + (east_m - start[1]) * f)
        context.set_geolocation(at(*pos))
        ui.page.wait_for_timeout(700)
    context._walk_pos = (north_m, east_m)


def server_db(server: ServerProcess) -> sqlite3.Connection:
    return sqlite3.connect(f"file:{server.data / 'walkaudit.db'}?mode=ro", uri=True)


def test_an_evening_walk_arrives_whole_without_a_sync_tap(
    tmp_path: Path, tiles: TileServer, flet_browser: Any
) -> None:
    server = ServerProcess(tmp_path / "server").start()
    phone = tmp_path / "phone"
    s = Store.open(phone)
    s.set_meta(**{"ui.tile_url": tiles.template, "ui.location_explained": "1"})
    s.close()
    code = server.enrol_code("Kommunpolis Örebro")
    assert run("walkaudit", "--data", phone, "enrol", server.url, code).code == 0
    app = AppProcess(phone).start()
    try:
        context = phone_context(flet_browser)
        ui = FletPage(context.new_page(), "walk").open(app.url)
        ui.fill("walk-name", "Kvällsvandring Vivalla")
        ui.fill("walk-area", "Vivalla")
        ui.click("walk-start")
        ui.wait("new-finding")
        for n, (category, north, east, photos) in enumerate(WALK, 1):
            walk_to(context, ui, north, east)
            ui.click("new-finding")
            ui.wait("take-photo")
            # The walker sees where the finding goes before saving it; on a loaded machine the
            # browser's position can take longer than the walk's steps (then a save asks for a pin).
            ui.wait_text("Position ±", 60)
            ui.page.wait_for_timeout(2500)  # the camera starts (again, for every finding)
            for i in range(1 if photos == "same" else int(photos)):
                ui.click("take-photo")
                ui.wait(f"photo-remove-{i}", 20_000)  # its thumbnail is on the strip
            ui.page.wait_for_timeout(800)  # the strip has moved the tiles: let them settle
            ui.click(f"category-{category}")
            if photos == "same":
                same = ui.page.locator("[flt-semantics-identifier^=same-thing-]").first
                same.wait_for(state="attached", timeout=20_000)
                ui.screenshot(f"finding-{n}-same-thing")
                same.click()
                ui.page.wait_for_timeout(400)
            elif n == 2:
                ui.screenshot("finding-2-two-photos")
            ui.click("save-finding")
            ui.wait("new-finding")
            ui.page.wait_for_timeout(1500)  # the photo pipeline runs in the background
        ui.screenshot("walk-before-end")
        ui.click("walk-end")
        ui.wait("walk-end-confirm")
        ui.screenshot("walk-end-confirm")
        ui.click("walk-end-confirm")
        ui.wait("end-home")
        ended_at = time.monotonic()
        # No tap on "Synka nu" from here: the app syncs what waits by itself.
        ui.wait_text("Allt är synkat", 60)
        waited = time.monotonic() - ended_at
        # The words are true the moment they show: the server already holds the walk's end.
        with server_db(server) as db:
            [(end_on_server,)] = db.execute("SELECT ended_at FROM walks").fetchall()
        assert end_on_server is not None, "'Allt är synkat' while the walk's end still waited"
        ui.screenshot("walk-end-synced")
    finally:
        app.stop()

    device = Store.open(phone)
    try:
        [walk] = device.walks()
        mine = {r["id"]: device.finding(r["id"]) for r in device.findings(walk.id)}
    finally:
        device.close()
    assert len(mine) == 6, "six findings; the seventh photo joined the graffiti finding"
    on_server = {f["id"]: f for f in server.findings()}
    assert set(on_server) == set(mine)
    assert sorted(f.category for f in mine.values()) == sorted(
        c for c, *_, photos in WALK if photos != "same"
    )
    assert sorted(f["category"] for f in on_server.values()) == sorted(
        f.category for f in mine.values()
    )
    photo_counts = sorted(len(f.photos) for f in mine.values())
    assert photo_counts == [1, 1, 1, 1, 2, 2]
    for fid, finding in mine.items():
        theirs = on_server[fid]
        assert [p["sha256"] for p in theirs["photos"]] == [p.sha256 for p in finding.photos]
        assert all(p["stored"] for p in theirs["photos"]), f"{fid}: a photo did not arrive"
        for p in finding.photos:  # the server's copy is the phone's, byte for byte
            blob = next((b for b in server.data.rglob(p.sha256) if "blobs" in b.parts), None)
            assert blob is not None, f"photo {p.sha256[:12]} is not in the server's blob store"
            assert hashlib.sha256(blob.read_bytes()).hexdigest() == p.sha256
    with server_db(server) as db:
        row = db.execute("SELECT ended_at, name FROM walks WHERE id = ?", [walk.id]).fetchone()
        route = db.execute("SELECT count(*) FROM track_points WHERE walk_id = ?", [walk.id])
        points = route.fetchone()[0]
    ended, name = row
    assert name == "Kvällsvandring Vivalla" and ended is not None
    assert points >= 6, f"the route on the server has {points} points"
    print(f"everything on the server {waited:.0f} s after the walk ended, with no tap")

    # The owner of the area gets the report on the next pass.
    area = {
        "type": "FeatureCollection",
        "features": [
            {
                "type": "Feature",
                "properties": {
                    "owner": "Bostads AB Mimer",
                    "email": "fastighet@example.se",
                    "kind": "owner",
                },  # fmt: skip
                "geometry": {"type": "Polygon", "coordinates": [[*OWNER_AREA, OWNER_AREA[0]]]},
            }
        ],
    }
    geo = tmp_path / "owners.geojson"
    geo.write_text(json.dumps(area))
    assert server.cli("owners", "import", str(geo)).code == 0
    with MailServer() as smtp:
        r = run("walkaudit-server", "--data", server.data, "send-reports",
                env={"WALKAUDIT_SMTP_URL": smtp.url, "WALKAUDIT_MAIL_FROM": "walkaudit@example.se",
                     "WALKAUDIT_PUBLIC_URL": server.url})  # fmt: skip
        assert r.code == 0, r.err
        [mail] = smtp.to("fastighet@example.se")
    text = mail.get_body(preferencelist=("plain",)).get_content()
    for category in ("BEL", "VEG", "KLO", "SKR", "TRA", "GAN"):
        assert i18n.category_label(category) in text
    server.stop()


def test_a_finding_half_written_when_the_app_is_killed_is_offered_back(
    tmp_path: Path, tiles: TileServer, flet_browser: Any
) -> None:
    """The phone dies in the pocket mid-finding (SIGKILL: no shutdown of any kind); reopened,
    the app offers the draft back with its photo, category and note."""
    phone = tmp_path / "phone"
    s = Store.open(phone)
    s.set_meta(
        **{"ui.tile_url": tiles.template, "ui.location_explained": "1", "ui.enrol_skipped": "1"}
    )
    s.close()
    app = AppProcess(phone).start()
    try:
        context = phone_context(flet_browser)
        ui = FletPage(context.new_page(), "draft").open(app.url)
        ui.fill("walk-name", "Kvällsvandring Brickebacken")
        ui.click("walk-start")
        ui.click("new-finding")
        ui.wait("take-photo")
        ui.page.wait_for_timeout(2500)
        ui.click("take-photo")
        ui.wait("photo-remove-0", 20_000)
        ui.page.wait_for_timeout(800)  # the thumbnail strip has moved the tiles: let them settle
        ui.click("category-OVB")
        # Scroll to the note as a thumb would: a tap on a field below the fold lands on whatever
        # Flutter draws at that spot (seen here: the *Orientering* tile).
        ui.page.mouse.move(206, 500)
        ui.page.mouse.wheel(0, 900)
        ui.page.wait_for_timeout(1000)
        ui.fill("finding-note", "Buskage skymmer entrén")
        ui.page.wait_for_timeout(2000)  # the note is kept a moment after the last keystroke
        ui.screenshot("before-kill")
        app.kill()
        app.start()
        ui = FletPage(context.new_page(), "draft").open(app.url)
        ui.wait("draft-resume", 60_000)
        ui.wait_text("Buskage skymmer entrén")
        ui.wait_text("Överblick och gömställen")
        ui.screenshot("offered-back")
        ui.click("draft-resume")
        ui.wait("photo-remove-0", 30_000)
        ui.page.wait_for_timeout(1500)
        ui.screenshot("resumed")  # photo, category and note back (the saved finding proves it)
        ui.click("save-finding")
        ui.wait("new-finding")
        ui.page.wait_for_timeout(3000)  # the photo pipeline finishes in the background
    finally:
        app.stop()
    device = Store.open(phone)
    try:
        [row] = device.findings()
        assert device.query("SELECT count(*) AS n FROM captures")[0]["n"] == 0
    finally:
        device.close()
    assert row["category"] == "OVB" and row["note"] == "Buskage skymmer entrén"
    assert row["photo_count"] == 1

"""End to end in a real browser: a coordinator follows findings in the workspace.

A real `walkaudit-server serve` process with findings sent by the real `walkaudit` CLI (one with a
real phone photo), a routing pass, users made with `walkaudit-server users add`, and Debian's
chromium. The coordinator signs in at laptop size, filters, opens a finding, changes its status,
merges a duplicate and exports the list; a police viewer looks at it on a phone and gets no
buttons. Screenshots go to tests/_artifacts/workspace/ for a person to look at.
"""

from __future__ import annotations

import csv
import io
import re
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx
import pytest
from playwright.sync_api import expect

from tests.e2e import conftest
from tests.e2e.browser import TileServer
from tests.e2e.conftest import PHONE, field
from tests.support import ServerProcess, run
from walkaudit.model import new_id

pytestmark = [pytest.mark.slow, pytest.mark.timeout(600)]

PHOTOS = Path(__file__).resolve().parent.parent / "data" / "photos"
LAPTOP = {"width": 1366, "height": 900}
PASSWORD = "ett-långt-lösenord-för-test"


def shot(page: Any, name: str, full_page: bool = False) -> Path:
    return conftest.shot(page, "workspace", name, full_page)


def add_user(server: ServerProcess, name: str, role: str) -> None:
    r = run(
        "walkaudit-server",
        "--data",
        server.data,
        "users",
        "add",
        name,
        "--role",
        role,
        "--password-stdin",
        input=f"{PASSWORD}\n",
    )
    assert r.code == 0, r.err


def sign_in(page: Any, server: ServerProcess, name: str) -> None:
    page.goto(f"{server.url}/c/findings")
    expect(page).to_have_url(f"{server.url}/c/login?next=/c/findings")
    page.get_by_label("Användarnamn").fill(name)
    page.get_by_label("Lösenord").fill(PASSWORD)
    page.get_by_role("button", name="Logga in").click()
    expect(page.get_by_role("heading", name="Fynd", exact=True)).to_be_visible()


@pytest.fixture
def server(tmp_path: Path) -> Iterator[ServerProcess]:
    """A real server whose maps draw tiles from a local tile server (no internet here)."""
    tiles = TileServer()
    env = {"WALKAUDIT_TILE_URL": tiles.template, "WALKAUDIT_REPORT_INTERVAL_S": "0"}
    served = ServerProcess(tmp_path / "server", env=env).start()
    try:
        yield served
    finally:
        served.stop()
        tiles.close()


@pytest.fixture
def phone(tmp_path: Path, server: ServerProcess) -> Path:
    """A walker's field client, enrolled, on a walk in Vivalla."""
    data = tmp_path / "phone"
    field(data, "enrol", server.url, server.enrol_code(), "--name", "Polis Örebro")
    field(data, "walk", "start", "Kvällsvandring Vivalla", "--area", "Vivalla")
    return data


def test_a_coordinator_filters_acts_merges_and_exports(
    server: ServerProcess, phone: Path, browser: Any
) -> None:
    lamp = field(
        phone,
        "add",
        "--category",
        "BEL",
        "--severity",
        "high",
        "--lat",
        "59.2743",
        "--lon",
        "15.2066",
        "--note",
        "Gatlampan vid gångtunneln är trasig",
        "--photo",
        PHOTOS / "phone" / "HMD_Nokia_8.3_5G.jpg",
    )
    same = field(
        phone,
        "add",
        "--category",
        "BEL",
        "--severity",
        "medium",
        "--lat",
        "59.27433",
        "--lon",
        "15.20662",
        "--note",
        "Mörkt vid tunneln",
    )
    field(
        phone,
        "add",
        "--category",
        "KLO",
        "--lat",
        "59.2750",
        "--lon",
        "15.2080",
        "--note",
        "Klotter på elskåpet",
    )
    field(phone, "walk", "end")
    field(phone, "sync")
    assert server.cli("send-reports").code == 0  # routes them (no SMTP: .eml files)
    add_user(server, "samordnare", "coordinator")
    add_user(server, "polis", "viewer")

    page = browser.new_context(viewport=LAPTOP, locale="sv-SE").new_page()
    sign_in(page, server, "samordnare")
    expect(page.locator("#count")).to_have_text("3 fynd")
    shot(page, "1-laptop-findings", full_page=True)

    # Filter: lighting only.
    page.get_by_label("Kategori").select_option("BEL")
    page.get_by_role("button", name="Filtrera").click()
    expect(page.locator("#count")).to_have_text("2 fynd")
    expect(page.locator("#findings")).not_to_contain_text("Klotter på elskåpet")
    shot(page, "2-laptop-filtered")

    # Open the finding with the photo; its photo is decoded, not a broken icon.
    page.locator(f'tr[data-id="{lamp}"] a').first.click()
    expect(page.get_by_role("heading", name="Belysning")).to_be_visible()
    photo = page.locator(".photos img").first
    expect(photo).to_be_visible()
    assert photo.evaluate("img => img.complete && img.naturalWidth") > 0
    expect(page.locator(".point-map")).to_have_attribute("data-loaded", "1")
    shot(page, "3-laptop-finding", full_page=True)

    # Change its status, with a comment that lands in the history.
    page.get_by_text("Ändra läge").click()
    page.locator("#status-form select").select_option("planned")
    page.locator("#status-form textarea").fill("Elbolaget byter lampan vecka 50")
    page.locator("#status-form button").click()
    expect(page.locator("#status")).to_have_text("Planerat")
    expect(page.locator(".notice")).to_contain_text("Läget ändrat")
    expect(page.locator("#history li").last).to_contain_text("Elbolaget byter lampan vecka 50")
    expect(page.locator("#history li").last).to_contain_text("samordnare")
    # A reload of the answer page does not post the form again.
    page.reload()
    assert page.locator("#history li[data-kind=planned]").count() == 1

    # Merge the duplicate into it, from the duplicate's page ("similar findings nearby").
    page.goto(f"{server.url}/c/findings/{same}")
    page.locator("summary", has_text="Slå ihop dubblett").click()
    page.locator("button.merge-nearby").first.click()
    expect(page).to_have_url(f"{server.url}/c/findings/{lamp}?notice=findings.done.merge")
    expect(page.locator("#duplicates")).to_contain_text(same[:8])
    shot(page, "4-laptop-after-merge", full_page=True)
    page.goto(f"{server.url}/c/findings")
    expect(page.locator("#count")).to_have_text("2 fynd")  # the duplicate is folded in

    # Export what the list shows.
    with page.expect_download() as download:
        page.get_by_text("Exportera CSV").click()
    text = Path(download.value.path()).read_text(encoding="utf-8-sig")
    rows = list(csv.DictReader(io.StringIO(text)))
    assert {r["id"] for r in rows} == {lamp, rows[1]["id"]} and len(rows) == 2
    by_id = {r["id"]: r for r in rows}
    assert by_id[lamp]["status"] == "planned"
    assert by_id[lamp]["category"] in ("BEL", "Belysning")

    # The map of all findings (clustered) draws its points.
    page.goto(f"{server.url}/c/map")
    expect(page.locator("#map")).to_have_attribute("data-loaded", "2")
    shot(page, "5-laptop-map")

    # Police on a phone: reads everything, gets no buttons, cannot post.
    police = browser.new_context(viewport=PHONE, locale="sv-SE").new_page()
    sign_in(police, server, "polis")
    shot(police, "6-phone-findings", full_page=True)
    police.goto(f"{server.url}/c/findings/{lamp}")
    expect(police.locator("#history")).to_contain_text("Elbolaget byter lampan")
    expect(police.locator("#actions")).to_have_count(0)
    shot(police, "7-phone-finding", full_page=True)
    police.get_by_text("Meny").click()
    shot(police, "8-phone-menu")
    police.goto(f"{server.url}/c/map")
    expect(police.locator("#map")).to_have_attribute("data-loaded", "2")
    shot(police, "9-phone-map")


def test_the_lagesbild_walks_devices_and_users_pages_in_a_browser(
    server: ServerProcess, phone: Path, browser: Any
) -> None:
    """Every other page drawn by chromium at laptop and phone size, its map or chart there."""
    for n, (category, lat) in enumerate(
        (("BEL", "59.2743"), ("KLO", "59.2750"), ("VEG", "59.2738"), ("SKA", "59.2746"))
    ):
        field(
            phone,
            "add",
            "--category",
            category,
            "--lat",
            lat,
            "--lon",
            f"15.20{66 + n * 3}",
            "--note",
            f"Fynd nummer {n + 1} på vandringen",
        )
    field(phone, "walk", "end")
    field(phone, "sync")
    assert server.cli("send-reports").code == 0
    add_user(server, "admin", "admin")
    walk_id = server.findings()[0]["walk_id"]
    for size, viewport in (("laptop", LAPTOP), ("phone", PHONE)):
        page = browser.new_context(viewport=viewport, locale="sv-SE").new_page()
        sign_in(page, server, "admin")
        page.goto(f"{server.url}/c/stats")
        expect(page.locator("#kpi-total b")).to_have_text("4")
        expect(page.locator("#heat")).to_have_attribute("data-loaded", re.compile(r"[1-9]"))
        shot(page, f"10-{size}-stats", full_page=True)
        page.goto(f"{server.url}/c/summary")
        expect(page.locator("#summary-numbers")).to_be_visible()
        shot(page, f"11-{size}-summary", full_page=True)
        page.goto(f"{server.url}/c/walks")
        expect(page.get_by_text("Kvällsvandring Vivalla").first).to_be_visible()
        shot(page, f"12-{size}-walks", full_page=True)
        page.goto(f"{server.url}/c/walks/{walk_id}")
        # the route and the four numbered pins are drawn
        expect(page.locator("#walk-map .leaflet-marker-icon")).to_have_count(4)
        shot(page, f"13-{size}-walk", full_page=True)
        page.goto(f"{server.url}/c/walks/{walk_id}/protocol")
        expect(page.get_by_text("Fynd nummer 1 på vandringen")).to_be_visible()
        shot(page, f"14-{size}-protocol", full_page=True)
        page.goto(f"{server.url}/c/devices")
        form = page.locator('form[action="/c/devices/codes"]')
        form.locator("input[name=name]").fill("Anna Lind, kommunpolis")
        form.get_by_role("button", name="Skapa kod").click()
        expect(page.locator(".qr svg")).to_be_visible()
        shot(page, f"15-{size}-enrolment-code", full_page=True)
        page.goto(f"{server.url}/c/users")
        shot(page, f"16-{size}-users", full_page=True)
        page.goto(f"{server.url}/c/triage")
        shot(page, f"17-{size}-triage", full_page=True)
        page.goto(f"{server.url}/c/followups?area=Vivalla")
        shot(page, f"18-{size}-followups", full_page=True)
        page.context.close()


def test_the_map_clusters_hundreds_of_points_without_tiles(tmp_path: Path, browser: Any) -> None:
    """WALKAUDIT_TILE_URL="" (no background map) and enough points that they are added in
    chunks: every point still ends up on the map."""
    env = {"WALKAUDIT_TILE_URL": "", "WALKAUDIT_REPORT_INTERVAL_S": "0"}
    served = ServerProcess(tmp_path / "server", env=env).start()
    try:
        enrolled = httpx.post(f"{served.url}/v1/enrol", json={"code": served.enrol_code()})
        token = enrolled.json()["token"]
        now = datetime.now(UTC).isoformat()
        findings = [
            {
                "id": new_id(),
                "category": "BEL",
                "latitude": 59.27 + (i % 30) * 0.001,
                "longitude": 15.20 + (i // 30) * 0.001,
                "captured_at": now,
            }
            for i in range(900)
        ]
        for start in range(0, len(findings), 300):
            pushed = httpx.post(
                f"{served.url}/v1/sync/push",
                json={"findings": findings[start : start + 300]},
                headers={"Authorization": f"Bearer {token}"},
                timeout=60,
            )
            assert pushed.status_code == 200, pushed.text
        add_user(served, "polis", "viewer")
        page = browser.new_context(viewport=LAPTOP, locale="sv-SE").new_page()
        sign_in(page, served, "polis")
        page.goto(f"{served.url}/c/map")
        expect(page.locator("#map")).to_have_attribute("data-loaded", "900", timeout=30_000)
        expect(page.locator("#map-status")).to_have_text("900 fynd")
        assert page.locator("#map .marker-cluster").count() > 0  # clustered, not 900 dots
        shot(page, "19-laptop-map-clusters-no-tiles")
    finally:
        served.stop()

"""End to end in a real browser: a caretaker answers on the owner page, the walker's phone hears it.

A real `walkaudit-server serve` process, a finding with a photo sent by the real `walkaudit` CLI
(enrol, add --photo, walk end, sync), the owner registered with `owners import`, a report pass
over real SMTP (aiosmtpd) whose email carries the link, and Debian's chromium at phone size.
Screenshots go to tests/_artifacts/owner/ for a person to look at.
"""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import pytest
from playwright.sync_api import expect

from tests.e2e import conftest
from tests.e2e.conftest import field
from tests.server.mail_support import MailServer
from tests.support import ServerProcess, owner_square, run

pytestmark = [pytest.mark.slow, pytest.mark.timeout(600)]

PHOTOS = Path(__file__).resolve().parent.parent / "data" / "photos"
PHONE = {"width": 412, "height": 915}
DESKTOP = {"width": 1280, "height": 800}
NOTE = "Gatlampan vid gångtunneln är trasig – helt mörkt efter 16."


def link_from_email(server: ServerProcess, tmp_path: Path, owner: str) -> tuple[str, str]:
    """Register the owner of the walk's area, run a report pass, and take the link from the mail.

    The real way a caretaker gets here: routing puts the finding with the property owner, the
    report goes out over SMTP (aiosmtpd on loopback), and the email carries the personal link.
    Returns (link, deadline shown in the mail).
    """
    area = owner_square(owner, "fastighet@example.se", kind="owner")
    geo = tmp_path / "owners.geojson"
    geo.write_text(json.dumps(area))
    assert server.cli("owners", "import", str(geo)).code == 0
    with MailServer() as smtp:
        r = run(
            "walkaudit-server",
            "--data",
            server.data,
            "send-reports",
            env={
                "WALKAUDIT_SMTP_URL": smtp.url,
                "WALKAUDIT_MAIL_FROM": "walkaudit@kommun.example",
                "WALKAUDIT_PUBLIC_URL": server.url,
            },
        )
        assert r.code == 0, r.err
        [mail] = smtp.to("fastighet@example.se")
    text = mail.get_body(preferencelist=("plain",)).get_content()
    [link] = re.findall(re.escape(server.url) + r"/o/[A-Za-z0-9_\-]+", text)
    [deadline] = re.findall(r"20\d\d-\d\d-\d\d", text.split(NOTE[:20])[-1])[:1]
    return link, deadline


def shot(page: Any, name: str, full_page: bool = True) -> Path:
    return conftest.shot(page, "owner", name, full_page)


def test_a_caretaker_marks_a_finding_fixed_with_a_photo_and_the_walker_sees_it(
    tmp_path: Path, browser: Any
) -> None:
    server = ServerProcess(tmp_path / "server").start()
    try:
        phone = tmp_path / "phone"
        field(phone, "enrol", server.url, server.enrol_code(), "--name", "Polis Örebro")
        field(phone, "walk", "start", "Kvällsvandring Vivalla")
        walker_photo = PHOTOS / "phone" / "HMD_Nokia_8.3_5G.jpg"
        finding_id = field(
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
            NOTE,
            "--photo",
            walker_photo,
        ).strip()
        field(phone, "walk", "end")
        field(phone, "sync")
        url, deadline = link_from_email(server, tmp_path, "Bostads AB Mimer")

        page = browser.new_context(viewport=PHONE, locale="sv-SE").new_page()
        page.goto(url)
        card = page.locator(f"#f-{finding_id}")
        expect(card.get_by_role("heading", name="Belysning")).to_be_visible()
        expect(card).to_contain_text(NOTE)
        expect(card).to_contain_text(deadline)
        # The walker's photo arrived through the sync and is shown (decoded, not a broken icon).
        photo = card.locator(".photos img").first
        expect(photo).to_be_visible()
        assert photo.evaluate("img => img.complete && img.naturalWidth") > 0
        shot(page, "1-phone-page", full_page=False)
        shot(page, "1-phone-page-full")
        desktop = browser.new_context(viewport=DESKTOP, locale="sv-SE").new_page()
        desktop.goto(url)
        desktop.get_by_text("Planerat – ange datum").click()
        shot(desktop, "1-desktop-page")

        # A wrong file first: a clear message at the form, nothing recorded.
        card.get_by_text("Åtgärdat", exact=True).click()
        not_a_photo = tmp_path / "protokoll.txt"
        not_a_photo.write_text("Åtgärdat enligt avtal.\n")
        card.locator('input[type="file"]').set_input_files(not_a_photo)
        card.locator("textarea[name=comment]").last.fill("Lampan är bytt.")
        card.get_by_role("button", name="Markera som åtgärdat").click()
        error = page.locator(f"#f-{finding_id} .error")
        expect(error).to_contain_text("«protokoll.txt» är inte ett foto")
        error.scroll_into_view_if_needed()
        shot(page, "2-phone-photo-error", full_page=False)

        # Now the real photo of the fix (a phone photo stored sideways, EXIF orientation 6).
        card = page.locator(f"#f-{finding_id}")
        expect(card.locator("textarea[name=comment]").last).to_have_value("Lampan är bytt.")
        card.locator('input[type="file"]').set_input_files(
            PHOTOS / "orientation" / "portrait_6.jpg"
        )
        card.get_by_role("button", name="Markera som åtgärdat").click()
        page.wait_for_url(f"{url}?lang=sv&done=fixed*")
        expect(page.locator(f"#f-{finding_id} .thanks")).to_contain_text("Tack!")
        done = page.locator(f"#f-{finding_id}")
        history = done.locator(".history li").last
        expect(history).to_contain_text("Åtgärdat")
        expect(history).to_contain_text("Bostads AB Mimer")
        expect(history).to_contain_text("Lampan är bytt.")
        fix_photo = history.locator("img")
        expect(fix_photo).to_be_visible()
        size = fix_photo.evaluate("img => [img.naturalWidth, img.naturalHeight]")
        assert size[1] > size[0] > 0, f"the photo of the fix is not upright: {size}"
        shot(page, "3-phone-after-fixed", full_page=False)
        shot(page, "3-phone-after-fixed-full")

        desktop.goto(url)
        desktop.get_by_text("Klart (1)").click()  # the done section opens with a tap
        expect(desktop.locator(f"#f-{finding_id}")).to_be_visible()
        shot(desktop, "4-desktop-after-fixed")
        desktop.goto(f"{server.url}/o/{'x' * 43}")
        shot(desktop, "5-desktop-unknown-link", full_page=False)
        page.goto(f"{server.url}/o/{'x' * 43}")
        expect(page.get_by_role("heading", name="Länken fungerar inte")).to_be_visible()
        shot(page, "5-phone-unknown-link", full_page=False)

        # The walker's phone hears of it with its next sync.
        field(phone, "sync")
        status = json.loads(field(phone, "status", "--json"))
        (mine,) = [f for f in status["findings"] if f["id"] == finding_id]
        assert mine["server_status"] == "fixed"
    finally:
        server.stop()
    # uvicorn's access log saw every request, but never the token.
    log = server.log.read_text()
    assert '"GET /o/[link ' in log and '"POST /o/[link ' in log
    assert url.rsplit("/", 1)[1] not in log

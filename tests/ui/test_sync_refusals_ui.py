"""The sync bar names what the server refused: which finding, its time, and the server's reason.

Headless app (tests/ui/harness.py) against the real server process on loopback. The server
refuses a photo whose bytes do not decode (415) and a finding from the year 9999 (422); the walker
reads which finding it was, in the language of the app, and the app does not send it again by
itself — only when the walker taps *Försök igen med det som inte togs emot* and says yes.
"""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime
from pathlib import Path

import pytest

from tests.conftest import make_finding, make_photo
from tests.support import ServerProcess
from tests.test_sync_refusals import broken_photo
from walkaudit import localtime
from walkaudit.store import Store

from .harness import Harness
from .sync_support import ALL_SYNCED, enrolled_phone
from .test_followup import click_in_dialog, has_in_dialog

pytestmark = [pytest.mark.slow, pytest.mark.timeout(240)]


RETRY = "sync-retry-refused"


def retry_shown(h: Harness) -> bool:
    return h.has(RETRY) and h.visible(RETRY)


async def tap_sync(h: Harness) -> None:
    await h.click("sync-now")
    await h.until(lambda: not h.app.syncer.running and h.app.syncer.last_message, timeout=60)


def test_the_sync_bar_names_the_finding_whose_photo_was_refused(
    tmp_path: Path, server: ServerProcess
) -> None:
    phone = enrolled_phone(tmp_path, server)
    store = Store.open(phone)
    cut = broken_photo(11)
    finding = store.save_finding(make_finding(category="BEL", note="Trasig lampa"), [cut])
    other = store.save_finding(make_finding(category="VEG", note="Buske"), [make_photo(12)])
    store.close()
    at = localtime.hm(finding.captured_at)

    async def scenario() -> None:
        h = await Harness.start(phone)
        await tap_sync(h)
        said = f"Fotot till fyndet ”Belysning – Trasig lampa” ({at}) godtogs inte av servern: "
        [line] = [t for t in h.texts() if t.startswith(said)]
        assert "godtogs inte av servern: fotot är skadat och går inte att visa." in line, line
        assert line.endswith("Fyndet finns på servern utan fotot; fotot sparas här.")
        # Nothing for the loop to send again; the other finding's photo went.
        waiting = h.app.state.pending()
        assert waiting.to_send == 0 and waiting.refused == 1
        assert h.app.state.store.photos_to_upload() == []
        sent = {r["id"]: r for r in h.app.state.store.findings()}
        assert sent[other.id]["photos_waiting"] == 0
        # Shown in the language of the moment: the category's label too.
        await h.click("open-settings")
        await h.click("lang-en")
        await h.click("back")
        english = f"The photo of the finding “Lighting – Trasig lampa” ({at}) was not accepted"
        assert any(t.startswith(english) for t in h.texts()), h.texts()
        await h.close()

    asyncio.run(scenario())


def test_the_sync_bar_names_a_refused_finding_and_the_next_sync_sends_nothing(
    tmp_path: Path, server: ServerProcess
) -> None:
    phone = enrolled_phone(tmp_path, server)
    store = Store.open(phone)
    store.save_finding(
        make_finding(note="Trasig lampa", captured_at=datetime(9999, 6, 1, 12, tzinfo=UTC))
    )
    good = store.save_finding(make_finding(category="VEG", note="Buske"))
    store.close()

    async def scenario() -> None:
        h = await Harness.start(phone)
        await tap_sync(h)
        said = "Fyndet ”Belysning – Trasig lampa” (9999-06-01 14:00) godtogs inte av servern: "
        [line] = [t for t in h.texts() if t.startswith(said)]
        # The server's reason in the walker's words: what to do about it.
        # Setting the clock right does not mend a finding already saved: saving it again does.
        assert (
            "servern: telefonens klocka visade fel tid när fyndet sparades – ställ in rätt datum "
            "och tid och spara fyndet igen." in line
        ), line
        assert line.endswith("Det sparas här och skickas inte igen av sig självt.")
        assert "nothing of this batch was stored" not in line  # the good one was
        assert {good.id} == {f["id"] for f in server.findings()}
        # The server does not have it, so the badge never says all is synced.
        assert h.text_of("pending-count") != ALL_SYNCED
        assert h.app.state.pending().to_send == 0

        # A second tap sends nothing and says why it is not all on the server.
        await tap_sync(h)
        assert h.app.syncer.last_message == ("sync.held", {"n": 1})
        assert any(
            t == "Skickat. 1 som servern inte har tagit emot sparas här och skickas inte av sig "
            "själva."
            for t in h.texts()
        ), h.texts()
        assert {good.id} == {f["id"] for f in server.findings()}
        await h.close()

    asyncio.run(scenario())


def test_the_walker_can_send_a_refused_finding_again_and_it_is_kept_when_refused_again(
    tmp_path: Path, server: ServerProcess
) -> None:
    phone = enrolled_phone(tmp_path, server)
    store = Store.open(phone)
    clock = store.save_finding(
        make_finding(note="Trasig lampa", captured_at=datetime(9999, 6, 1, 12, tzinfo=UTC))
    )
    store.close()

    async def scenario() -> None:
        h = await Harness.start(phone)
        assert not retry_shown(h)  # waiting is not refused: the loop sends it
        await tap_sync(h)
        assert h.app.syncer.last_message is not None
        assert h.app.syncer.last_message[0] == "sync.refused_finding"
        assert retry_shown(h)
        assert getattr(h.find(RETRY), "content", None) == "Försök igen med det som inte togs emot"
        await tap_sync(h)  # Synka nu leaves it aside
        assert h.app.syncer.last_message == ("sync.held", {"n": 1})

        # Asked first; Avbryt changes nothing.
        await h.click(RETRY)
        await h.until(lambda: has_in_dialog(h, "sync-retry-refused-confirm"))
        assert any(t.startswith("Skicka igen det som servern inte tog emot?") for t in h.texts())
        await click_in_dialog(h, "sync-retry-refused-cancel")
        assert not has_in_dialog(h, "sync-retry-refused-confirm")
        assert h.app.state.pending().refused == 1
        assert h.app.syncer.last_message == ("sync.held", {"n": 1})

        # Yes: it goes to the server again, which refuses it again (the clock still says 9999).
        await h.click(RETRY)
        await h.until(lambda: has_in_dialog(h, "sync-retry-refused-confirm"))
        await click_in_dialog(h, "sync-retry-refused-confirm")
        await h.until(lambda: not h.app.syncer.running and h.app.syncer.last_message, timeout=60)
        assert not has_in_dialog(h, "sync-retry-refused-confirm")
        said = "Fyndet ”Belysning – Trasig lampa” (9999-06-01 14:00) godtogs inte av servern: "
        assert any(t.startswith(said) for t in h.texts()), h.texts()  # sent, not "held"
        assert server.findings() == []
        # Still on the phone, still set aside, and the walker can try again later.
        waiting = h.app.state.pending()
        assert waiting.refused == 1 and waiting.to_send == 0
        assert h.app.state.store.finding(clock.id).note == "Trasig lampa"
        assert retry_shown(h)
        assert "varav 1 som servern inte tog emot" in h.text_of("pending-count")
        await h.close()

    asyncio.run(scenario())


def test_a_phone_with_nothing_refused_has_no_retry_button(
    tmp_path: Path, server: ServerProcess
) -> None:
    phone = enrolled_phone(tmp_path, server)
    store = Store.open(phone)
    store.save_finding(make_finding(category="VEG", note="Buske"), [make_photo(13)])
    store.close()

    async def scenario() -> None:
        h = await Harness.start(phone)
        assert h.has("sync-now")  # the sync bar is on screen
        assert not retry_shown(h)
        await tap_sync(h)
        assert h.app.syncer.last_ok, h.texts()
        assert h.text_of("pending-count") == ALL_SYNCED
        assert not retry_shown(h)
        await h.close()

    asyncio.run(scenario())

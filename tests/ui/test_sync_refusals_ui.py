"""The sync bar names what the server refused: which finding, its time, and the server's reason.

Headless app (tests/ui/harness.py) against the real server process on loopback. The server
refuses a photo whose bytes do not decode (415) and a finding from the year 9999 (422); the walker
reads which finding it was, in the language of the app, and the app does not send it again.
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

pytestmark = [pytest.mark.slow, pytest.mark.timeout(240)]


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
        assert "servern: telefonens klocka visade en omöjlig tid – kontrollera datum" in line
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

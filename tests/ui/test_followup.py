"""Follow-up walks, headless app against a real server: what the walker marks reaches the
server, and the reporter's phone and the coordinator's workspace hear of it."""

from __future__ import annotations

import asyncio
import json
import re
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.support import ServerProcess, field, run
from walkaudit.model import new_id
from walkaudit.remote import RemoteFindings
from walkaudit.store import Store

from .harness import Harness

pytestmark = [pytest.mark.slow, pytest.mark.timeout(180)]


@pytest.fixture
def reporter(tmp_path: Path, server: ServerProcess) -> Path:
    """The walker who reported the findings, on a walk in Vivalla."""
    data = tmp_path / "reporter"
    field(data, "enrol", server.url, server.enrol_code())
    field(data, "walk", "start", "Vår", "--area", "Vivalla")
    return data


@pytest.fixture
def phone(tmp_path: Path, server: ServerProcess) -> Path:
    """Another walker's phone, enrolled, for the follow-up walk."""
    data = tmp_path / "phone"
    field(data, "enrol", server.url, server.enrol_code())
    store = Store.open(data)
    store.set_meta(**{"ui.location_explained": "1"})
    store.close()
    return data


def add(reporter: Path, category: str, lat: str, lon: str, note: str) -> str:
    return field(
        reporter, "add", "--category", category, "--lat", lat, "--lon", lon, "--note", note
    )


async def follow_up(phone: Path, name: str, tap: str, absent: tuple[str, ...] = ()) -> None:
    """Open the follow-up by name, tap one answer, and sync."""
    h = await Harness.start(phone)
    await h.click("open-followup")
    await h.type("followup-area", name)
    await h.click("followup-load")
    await h.until(lambda: h.has(tap))
    assert not any(h.has(identifier) for identifier in absent)
    await h.click(tap)
    # The answer offers a photo: the walker takes one with the camera.
    await h.until(lambda: h.has("answer-take-photo"))
    await h.until(lambda: h.app.photos.ready, timeout=5)
    await h.click("answer-take-photo")
    await h.until(lambda: h.app.state.store.pending_counts().events == 1)
    await h.click("sync-now")
    await h.until(lambda: not h.app.syncer.running and h.app.syncer.last_ok is not None)
    assert h.app.syncer.last_ok, h.texts()
    await h.close()


def test_followup_marks_fixed_with_a_photo_and_the_reporter_sees_it(
    reporter: Path, phone: Path
) -> None:
    finding_id = add(reporter, "BEL", "59.2743", "15.2066", "Lampan är trasig")
    field(reporter, "sync")
    # "fixed" takes a proof photo with the camera before it is marked
    asyncio.run(follow_up(phone, "vivalla", f"fixed-{finding_id}"))
    field(reporter, "sync")
    status = json.loads(field(reporter, "status", "--json"))
    assert status["findings"][0]["server_status"] == "verified"


def test_a_followup_the_coordinator_planned_reaches_the_app_by_its_name(
    server: ServerProcess, reporter: Path, phone: Path
) -> None:
    """The coordinator picks one of an area's findings for a follow-up called "Uppföljning
    december"; the walker types that name, gets exactly that finding, and finds it still there:
    the finding the coordinator had marked fixed is reopened on the server."""
    chosen = add(reporter, "BEL", "59.2743", "15.2066", "Lampan är trasig")
    left_out = add(reporter, "KLO", "59.2750", "15.2080", "Klotter")
    field(reporter, "sync")
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


# ---- choosing from the planned follow-ups, cards with photos and answers ------------------------


def add_with_photo(reporter: Path, category: str, lat: str, note: str, seed: int) -> str:
    from tests.conftest import make_photo

    photo = reporter.parent / f"report-{seed}.jpg"
    photo.write_bytes(make_photo(seed, size=(1600, 1200)).jpeg)
    return field(reporter, "add", "--category", category, "--lat", lat, "--lon", "15.2066",
               "--note", note, "--photo", str(photo))  # fmt: skip


def plan(server: ServerProcess, name: str, finding_ids: list[str]) -> str:
    """What the coordinator does on /c/followups (its core function, on the server's database)."""
    from sync_server.core.db import Database
    from sync_server.workspace import followups

    db = Database(server.data / "walkaudit.db")
    try:
        return followups.create(db, name, "Vivalla", finding_ids, "user:anna")
    finally:
        db.close()


def owner_planned(server: ServerProcess, finding_id: str, note: str) -> None:
    """The owner's answer as the owner page records it (actor owner:…, date first)."""
    from sync_server.core.db import Database
    from sync_server.core.history import add_server_event
    from walkaudit.model import EventKind

    db = Database(server.data / "walkaudit.db")
    try:
        with db.write() as tx:
            add_server_event(tx, finding_id, EventKind.PLANNED, actor="owner:x", note=note)
    finally:
        db.close()


def device_events(server: ServerProcess, finding_id: str) -> list[str]:
    """The kinds of the events walkers' devices pushed for a finding, in order."""
    import sqlite3

    conn = sqlite3.connect(server.data / "walkaudit.db")
    try:
        rows = conn.execute(
            "SELECT kind FROM events WHERE finding_id = ? AND device_id IS NOT NULL"
            " AND kind != 'received' ORDER BY seq",
            [finding_id],
        ).fetchall()
    finally:
        conn.close()
    return [kind for (kind,) in rows]


def test_the_walker_chooses_a_planned_followup_and_its_cards_show_photo_and_answer(
    server: ServerProcess, reporter: Path, phone: Path
) -> None:
    import flet as ft

    lamp = add_with_photo(reporter, "BEL", "59.2743", "Lampan är trasig", 11)
    bench = add_with_photo(reporter, "TRA", "59.2746", "Bänken är sönder", 12)
    field(reporter, "sync")
    followup_id = plan(server, "Uppföljning december", [lamp, bench])
    owner_planned(server, lamp, "2027-01-15 – Elektrikern kommer")

    async def scenario() -> None:
        h = await Harness.start(phone)
        await h.click("open-followup")
        # The planned follow-up is listed: nothing to type.
        await h.until(lambda: h.has(f"followup-{followup_id}"))
        assert "Uppföljning december" in h.texts()
        assert any("2 av 2 kvar" in text for text in h.texts())
        await h.click(f"followup-{followup_id}")
        await h.until(lambda: h.has(f"followup-card-{lamp}") and h.has(f"followup-card-{bench}"))
        # Each card: the original photo (a small copy, fetched for offline use) and the answer.
        shas = photo_shas(h, [lamp, bench])
        await h.until(lambda: not any(h.has(f"original-photo-missing-{p}") for p in shas))
        for sha in shas:
            assert h.has(f"original-photo-{sha}")
        assert "Ägaren svarade: Planerat till 15 januari 2027\nElektrikern kommer" in h.texts()

        # On the walk, out of signal: fixed, with a photo of the fix taken with the camera.
        server.stop()
        await h.click(f"fixed-{lamp}")
        await h.until(lambda: has_in_dialog(h, "answer-take-photo"))
        await h.until(lambda: h.app.photos.ready, timeout=5)
        await click_in_dialog(h, "answer-take-photo")
        await h.until(lambda: isinstance(h.find(f"fixed-{lamp}"), ft.FilledButton))
        assert h.find(f"fixed-{lamp}").icon == ft.Icons.CHECK
        assert isinstance(h.find(f"still-there-{lamp}"), ft.OutlinedButton)
        assert "Ditt svar: Åtgärdat (1 foto) – väntar på synk, kan ändras" in h.texts()
        store = h.app.state.store
        assert store.pending_counts().events == 1 and store.pending_counts().photos == 1

        # Changed before it was synced: still there, without a photo. It replaces the answer.
        await h.click(f"still-there-{lamp}")
        await h.until(lambda: has_in_dialog(h, "answer-no-photo"))
        await click_in_dialog(h, "answer-no-photo")
        await h.until(lambda: isinstance(h.find(f"still-there-{lamp}"), ft.FilledButton))
        assert isinstance(h.find(f"fixed-{lamp}"), ft.OutlinedButton)
        assert "Ditt svar: Finns kvar – väntar på synk, kan ändras" in h.texts()
        assert store.pending_counts().events == 1
        assert store.pending_counts().photos == 0  # the replaced answer's photo is not sent

        server.start()  # signal again
        await sync_until_done(h)
        assert device_events(server, lamp) == ["still_there"]  # one answer arrived, the last one
        await h.until(lambda: "Ditt svar: Finns kvar – skickat (ändras med ett nytt svar)"
                      in h.texts())  # fmt: skip

        # Changed after the sync: a new answer; the first one stays in the history.
        await h.click(f"fixed-{lamp}")
        await h.until(lambda: has_in_dialog(h, "answer-no-photo"))
        await click_in_dialog(h, "answer-no-photo")
        await h.until(lambda: isinstance(h.find(f"fixed-{lamp}"), ft.FilledButton))
        await sync_until_done(h)
        assert device_events(server, lamp) == ["still_there", "verified"]
        await h.close()

    asyncio.run(scenario())

    # Later on the walk, without signal: the app opens the same follow-up with its photos.
    server.stop()

    async def offline() -> None:
        h = await Harness.start(phone)
        await h.click("open-followup")
        await h.until(lambda: h.has(f"followup-card-{bench}"))
        for sha in photo_shas(h, [lamp, bench]):
            assert h.has(f"original-photo-{sha}")
        assert isinstance(h.find(f"fixed-{lamp}"), ft.FilledButton)
        await h.click("followup-change")  # the list, as last fetched
        await h.until(lambda: h.has(f"followup-{followup_id}"))
        await h.close()

    asyncio.run(offline())


def in_open_dialog(h: Harness, key: str) -> Any:
    """The control with this key in the dialog on screen (closed ones stay mounted headless:
    Flutter would report their dismissal and Flet would then remove them)."""
    import flet as ft

    for c in h.controls():
        if getattr(c, "key", None) != key:
            continue
        parent = getattr(c, "parent", None)
        while parent is not None:
            if isinstance(parent, ft.AlertDialog):
                if parent.open:
                    return c
                break
            parent = getattr(parent, "parent", None)
    return None


def has_in_dialog(h: Harness, key: str) -> bool:
    return in_open_dialog(h, key) is not None


async def click_in_dialog(h: Harness, key: str) -> None:
    control = in_open_dialog(h, key)
    assert control is not None, f"{key} is not in an open dialog"
    await h.session.dispatch_event(control._i, "click", None)
    h.raise_crash()


async def sync_until_done(h: Harness) -> None:
    """Tap *Synka nu* (again, if a background attempt from the offline time was under way)."""
    for _ in range(5):
        await h.until(lambda: not h.app.syncer.running, 60)
        await h.click("sync-now")
        await h.until(lambda: not h.app.syncer.running, 60)
        if h.app.syncer.last_ok:
            return
    raise AssertionError(f"the sync did not complete: {h.texts()}")


def photo_shas(h: Harness, finding_ids: list[str]) -> list[str]:
    items = h.app.state.remote.by_ids(finding_ids)
    return [i.finding.photos[0].sha256 for i in items]


def test_a_camera_that_does_not_start_leaves_the_gallery_and_no_photo(
    server: ServerProcess, reporter: Path, phone: Path
) -> None:
    from tests.conftest import make_photo

    lamp = add(reporter, "BEL", "59.2743", "15.2066", "Lampan är trasig")
    field(reporter, "sync")
    followup_id = plan(server, "Kvällsrundan", [lamp])
    picked = make_photo(5, size=(1200, 900)).jpeg

    def no_camera(args: object) -> list[object]:
        raise RuntimeError("no camera on this phone")

    async def scenario() -> None:
        chosen = {"id": 0, "name": "fix.jpg", "path": None, "size": len(picked), "bytes": picked}
        h = await Harness.start(
            phone,
            {
                ("Camera", "get_available_cameras"): no_camera,
                ("FilePicker", "pick_files"): [chosen],
            },
        )
        await h.click("open-followup")
        await h.until(lambda: h.has(f"followup-{followup_id}"))
        await h.click(f"followup-{followup_id}")
        await h.until(lambda: h.has(f"fixed-{lamp}"))
        await h.click(f"fixed-{lamp}")
        await h.until(lambda: has_in_dialog(h, "answer-take-photo") and h.app.photos.failed)
        await click_in_dialog(h, "answer-take-photo")
        assert any("Kameran är inte tillgänglig" in t for t in h.texts())
        assert h.app.state.store.pending_counts().events == 0  # nothing recorded yet
        await click_in_dialog(h, "answer-pick-photo")
        await h.until(lambda: h.app.state.store.pending_counts().events == 1)
        assert h.app.state.store.pending_counts().photos == 1
        assert "Ditt svar: Åtgärdat (1 foto) – väntar på synk, kan ändras" in h.texts()
        await h.close()

    asyncio.run(scenario())


def test_a_follow_up_of_many_findings_shows_its_cards_a_page_at_a_time(tmp_path: Path) -> None:
    """A coordinator may plan 2,000 findings into one follow-up: the screen stays light."""
    from tests.conftest import make_finding
    from walkaudit import model
    from walkaudit.ui.views.followup import CARDS_PAGE

    from .harness import explained, play

    data = explained(tmp_path / "phone")
    s = Store.open(data)
    fid = model.new_id()
    items = [
        model.OpenFinding(finding=make_finding(note=f"Fynd {i}"), status="sent", area="Vivalla")
        for i in range(CARDS_PAGE * 2 + 5)
    ]
    RemoteFindings(s).save_followup(fid, items)
    s.close()

    async def scenario() -> None:
        h = await Harness.start(data)
        h.app.go("followup", followup_id=fid)

        def cards() -> int:
            return sum(
                str(getattr(c, "key", "")).startswith("followup-card-") for c in h.controls()
            )

        assert cards() == CARDS_PAGE and h.has("followup-more")
        more: Any = h.find("followup-more")
        assert more.content == f"Visa fler ({CARDS_PAGE + 5} till)"
        await h.click("followup-more")
        await h.click("followup-more")
        assert cards() == len(items) and not h.has("followup-more")
        await h.close()

    play(scenario)

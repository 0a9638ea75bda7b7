"""The holder's answer reaches the walker: headless app against a real server process.

A walker reports findings and syncs; the owner answers on the server's real owner page (planned
with a date and a comment, then fixed with a comment and a photo, or "not ours" with a reason);
a disorder finding goes to the police. After a sync the walker's app shows who answered, the
comment, the planned date and a small copy of the fix photo, and says who holds each finding.
"""

from __future__ import annotations

import asyncio
import io
import json
from collections.abc import Iterator
from datetime import date, timedelta
from pathlib import Path

import httpx
import pytest
from PIL import Image

from sync_server.core.db import Database
from sync_server.core.history import add_server_event
from sync_server.core.time import iso
from sync_server.owners import links, routing
from tests.conftest import make_photo
from tests.support import ServerProcess, field
from walkaudit import answers
from walkaudit.model import EventKind, new_id, utcnow
from walkaudit.remote import RemotePhotos
from walkaudit.store import Store

from .harness import Harness

pytestmark = [pytest.mark.slow, pytest.mark.timeout(180)]

MONTHS = "januari februari mars april maj juni juli augusti september oktober november december"


@pytest.fixture
def phone(tmp_path: Path, server: ServerProcess) -> Path:
    """The walker's phone: enrolled, on a walk in Vivalla."""
    data = tmp_path / "phone"
    field(data, "enrol", server.url, server.enrol_code())
    field(data, "walk", "start", "Kvällsvandring", "--area", "Vivalla")
    store = Store.open(data)
    store.set_meta(**{"ui.location_explained": "1"})
    store.close()
    return data


@pytest.fixture
def db(server: ServerProcess) -> Iterator[Database]:
    """The running server's own database, for what a coordinator or the mail pass would do."""
    database = Database(server.data / "walkaudit.db")
    try:
        yield database
    finally:
        database.close()


def add(phone: Path, tmp_path: Path, category: str, note: str, seed: int) -> str:
    photo = tmp_path / f"photo-{seed}.jpg"
    photo.write_bytes(make_photo(seed, size=(1600, 1200)).jpeg)
    return field(phone, "add", "--category", category, "--lat", "59.2743", "--lon", "15.2066",
               "--note", note, "--photo", photo)  # fmt: skip


def owner_link(db: Database, finding_id: str, name: str = "Bostads AB Mimer") -> str:
    """The finding assigned to a property owner, and the owner's emailed link (its token)."""
    owner_id, now = new_id(), iso(utcnow())
    with db.write() as tx:
        tx.execute(
            "INSERT INTO owners (id, name, kind, email, language, created_at, updated_at)"
            " VALUES (?, ?, 'owner', 'mimer@example.se', 'sv', ?, ?)",
            [owner_id, name, now, now],
        )
    routing.set_owner(db, finding_id, owner_id)
    return links.create_link(db, owner_id)


def owner_posts(server: ServerProcess, token: str, finding_id: str, action: str,
                files: dict[str, tuple[str, bytes, str]] | None = None,
                **fields: str) -> None:  # fmt: skip
    """One answer on the owner page, as the owner's browser sends it."""
    data = {"event_id": new_id(), **fields}
    with httpx.Client(base_url=server.url) as web:
        r = web.post(f"/o/{token}/findings/{finding_id}/{action}", data=data, files=files,
                     follow_redirects=False)  # fmt: skip
    assert r.status_code == 303, r.text[:500]


async def sync_now(h: Harness) -> None:
    await h.click("sync-now")
    await h.until(lambda: not h.app.syncer.running and h.app.syncer.last_ok is not None, 60)
    assert h.app.syncer.last_ok, h.texts()


def test_the_owners_comment_planned_date_and_fix_photo_reach_the_finding(
    tmp_path: Path, server: ServerProcess, phone: Path, db: Database
) -> None:
    lamp = add(phone, tmp_path, "BEL", "Lampan vid port A är trasig", 1)
    field(phone, "sync")
    token = owner_link(db, lamp)
    day = date.today() + timedelta(days=60)
    owner_posts(server, token, lamp, "planned", date=day.isoformat(),
                comment="Elektrikern kommer vecka 3")  # fmt: skip
    fix = make_photo(77, size=(2000, 1500)).jpeg
    owner_posts(server, token, lamp, "fixed", comment="Armaturen är utbytt",
                files={"photo": ("fix.jpg", fix, "image/jpeg")})  # fmt: skip
    [fixed] = (
        db.conn()
        .execute("SELECT json FROM events WHERE finding_id = ? AND kind = 'fixed'", [lamp])
        .fetchall()
    )
    [fix_sha] = [p["sha256"] for p in json.loads(fixed[0])["photos"]]

    async def scenario() -> None:
        h = await Harness.start(phone)
        walk = h.app.state.store.active_walk()
        assert walk is not None
        walk_id = walk.id
        await sync_now(h)
        # The small copy of the fix photo arrives after the sync, in its own folder.
        photos = RemotePhotos(h.app.state.store)
        await h.until(lambda: photos.has(fix_sha), 30)
        h.app.go("findings", walk_id=walk_id)
        assert "Åtgärdat" in h.texts()  # the list's status word
        await h.click(f"finding-{lamp}")
        texts = h.texts()
        assert "Ägaren · Åtgärdat" in texts and "Ägaren · Planerat" in texts
        assert "Armaturen är utbytt" in texts
        assert "Elektrikern kommer vecka 3" in texts
        long_day = f"{day.day} {MONTHS.split()[day.month - 1]} {day.year}"
        assert f"Planerat till {long_day}" in texts
        shown = h.find(f"answer-photo-{fix_sha}")
        with Image.open(io.BytesIO(shown.src)) as im:  # what the screen shows: a small copy
            assert 360 <= max(im.size) <= 480
        # The fix photo is kept apart from the walker's own photos (those are cleaned at start).
        assert photos.path(fix_sha).parent.name == "remote_photos"
        assert not h.app.state.store.photo_path(fix_sha).exists()
        await h.close()

    asyncio.run(scenario())


def test_disorder_is_with_the_police_and_not_ours_shows_its_reason(
    tmp_path: Path, server: ServerProcess, phone: Path, db: Database
) -> None:
    disorder = add(phone, tmp_path, "ORD", "Bråk vid busshållplatsen varje kväll", 2)
    graffiti = add(phone, tmp_path, "KLO", "Klotter på elskåpet", 3)
    field(phone, "sync")
    # The report pass sends the disorder finding to the police/EST.
    with db.write() as tx:
        add_server_event(tx, disorder, EventKind.SENT, note="polisen@example.se")
    token = owner_link(db, graffiti)
    owner_posts(server, token, graffiti, "not-ours", reason="Elskåpet är kommunens")

    async def scenario() -> None:
        h = await Harness.start(phone)
        walk = h.app.state.store.active_walk()
        assert walk is not None
        walk_id = walk.id
        await sync_now(h)
        h.app.go("findings", walk_id=walk_id)
        texts = h.texts()
        assert "Skickat till polisen" in texts
        assert "Skickat till ägaren" not in texts
        assert "Inte ägarens" in texts  # the graffiti's owner handed it back
        await h.click(f"finding-{disorder}")
        assert "Skickat till polisen" in h.texts()
        assert any(t.endswith("· Skickat till polisen") for t in h.texts())  # its history
        h.app.go("finding", finding_id=graffiti, walk_id=walk_id)
        texts = h.texts()
        assert "Ägaren · Inte ägarens" in texts
        assert "Skäl: Elskåpet är kommunens" in texts
        await h.close()

    asyncio.run(scenario())


def test_words_name_the_holder_and_a_planned_note_gives_its_date() -> None:
    assert answers.status_key("sent", "ORD") == "answers.status.sent.police"
    assert answers.status_key("not_ours", "ORD") == "answers.status.not_ours.police"
    assert answers.status_key("sent", "BEL") == "status.sent"
    assert answers.status_key("planned", "ORD") == "status.planned"
    from walkaudit.model import FindingEvent

    def planned(note: str) -> answers.Answer:
        event = FindingEvent(id=new_id(), finding_id=new_id(), kind=EventKind.PLANNED,
                             at=utcnow(), note=note)  # fmt: skip
        return answers.read_answer(event)

    assert (planned("2027-01-15 – Vi byter").planned, planned("2027-01-15 – Vi byter").comment) == (
        date(2027, 1, 15),
        "Vi byter",
    )
    assert planned("2027-01-15").planned == date(2027, 1, 15)
    assert planned("2027-02-30 – fel").planned is None  # not a date: the note as it is
    assert planned("snart").comment == "snart"
    assert answers.long_date(date(2027, 1, 15), MONTHS) == "15 januari 2027"

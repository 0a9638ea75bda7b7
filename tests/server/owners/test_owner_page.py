"""The owner page /o/{token}, in-process: who may see and change what, and every input path.

Real SQLite, real blob store, real JPEGs pushed and uploaded by an enrolled device; owners and
assignments are rows as the router will write them (routing.py is another engineer's module).
"""

from __future__ import annotations

import io
import json
import logging
import re
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from datetime import date, timedelta
from pathlib import Path
from typing import Any

import pytest
from PIL import Image

from sync_server.api.redaction import RedactOwnerTokens, redact
from sync_server.core.time import iso, today_in_sweden
from sync_server.owners import links
from tests.server.conftest import Device, Server, finding_json, make_jpeg, photo_json, sha
from walkaudit.media import process_photo
from walkaudit.model import new_id, utcnow

PHOTOS = Path(__file__).resolve().parents[2] / "data" / "photos"
PORTRAIT_6 = PHOTOS / "orientation" / "portrait_6.jpg"  # stored sideways, EXIF orientation 6
PORTRAIT_1 = PHOTOS / "orientation" / "portrait_1.jpg"  # the same picture, stored upright
ACTIONS = ["acknowledge", "planned", "fixed", "not-ours"]


@dataclass
class Seeded:
    owner_id: str
    token: str
    finding_id: str
    photo_sha: str
    note: str


def add_owner(server: Server, name: str, language: str = "sv") -> str:
    owner_id = new_id()
    now = iso(utcnow())
    with server.db.write() as tx:
        tx.execute(
            "INSERT INTO owners (id, name, kind, email, language, created_at, updated_at)"
            " VALUES (?, ?, 'owner', ?, ?, ?, ?)",
            [owner_id, name, f"{owner_id}@example.se", language, now, now],
        )
    return owner_id


def add_finding(server: Server, device: Device, owner_id: str, note: str, seed: int = 0,
                deadline: str | None = "2027-05-31") -> tuple[str, str]:  # fmt: skip
    """A finding with one uploaded photo, pushed by the device and assigned to the owner."""
    jpeg = make_jpeg(seed=seed)
    finding = finding_json(note=note, photos=[photo_json(jpeg)])
    server.push(device, findings=[finding])
    assert server.upload(device, jpeg) in (200, 201)
    with server.db.write() as tx:
        tx.execute(
            "INSERT INTO assignments (finding_id, owner_id, email, reason, deadline, routed_at)"
            " VALUES (?, ?, 'x@example.se', 'area', ?, ?)",
            [finding["id"], owner_id, deadline, iso(utcnow())],
        )
    return finding["id"], sha(jpeg)


def seed(server: Server, device: Device, name: str, note: str, seed_no: int,
         language: str = "sv") -> Seeded:  # fmt: skip
    owner_id = add_owner(server, name, language)
    finding_id, photo_sha = add_finding(server, device, owner_id, note, seed_no)
    return Seeded(owner_id, links.create_link(server.db, owner_id), finding_id, photo_sha, note)


@pytest.fixture
def a(server: Server, device: Device) -> Seeded:
    return seed(server, device, "Bostads AB Mimer", "Trasig lampa vid port A", 1)


@pytest.fixture
def b(server: Server, device: Device) -> Seeded:
    return seed(server, device, "Örebro kommun, gatuenheten", "Klotter på elskåpet B", 2)


def events(server: Server, finding_id: str | None = None) -> list[tuple[Any, ...]]:
    sql = "SELECT id, finding_id, kind, actor, note, status_after, finding_device_id, json"
    sql += " FROM events WHERE kind NOT IN ('received')"
    if finding_id:
        return server.rows(sql + " AND finding_id = ? ORDER BY seq", finding_id)
    return server.rows(sql + " ORDER BY seq")


def status_of(server: Server, finding_id: str) -> str:
    return str(server.rows("SELECT status FROM findings WHERE id = ?", finding_id)[0][0])


def in_a_week() -> str:
    return (today_in_sweden() + timedelta(days=7)).isoformat()


def valid_form(action: str) -> dict[str, Any]:
    """A form each action accepts (multipart for fixed, like the browser sends it)."""
    form: dict[str, Any] = {"data": {"event_id": new_id()}}
    if action == "planned":
        form["data"]["date"] = in_a_week()
    if action == "fixed":
        form["data"]["comment"] = "Lampan är bytt"
        form["files"] = {"photo": ("fix.jpg", make_jpeg(seed=99), "image/jpeg")}
    if action == "not-ours":
        form["data"]["reason"] = "Platsen tillhör kommunen"
    return form


def post(server: Server, token: str, finding_id: str, action: str, **form: Any) -> Any:
    return server.client.post(
        f"/o/{token}/findings/{finding_id}/{action}", follow_redirects=False, **form
    )


def text_of(html: str) -> str:
    """The page's text, tags removed, whitespace collapsed (what a person reads)."""
    return " ".join(re.sub(r"<[^>]+>", " ", html).split())


# ---- who sees what -----------------------------------------------------------------------------


def test_the_page_shows_the_owners_open_findings_and_nothing_else(
    server: Server, a: Seeded, b: Seeded
) -> None:
    r = server.client.get(f"/o/{a.token}")
    assert r.status_code == 200
    assert r.headers["content-type"].startswith("text/html")
    assert r.headers["referrer-policy"] == "no-referrer"  # the token must not leave via Referer
    assert r.headers["cache-control"] == "no-store"
    page = text_of(r.text)
    assert "Fynd för Bostads AB Mimer" in page
    assert a.note in page and "Belysning" in page and "Hög" in page and "2027-05-31" in page
    assert f"/o/{a.token}/photos/{a.photo_sha}" in r.text
    assert b.note not in page and b.photo_sha not in r.text and b.finding_id not in r.text
    assert "https://www.openstreetmap.org/?mlat=59.274300&amp;mlon=15.206600" in r.text
    assert 'rel="noopener noreferrer"' in r.text
    assert '<link rel="stylesheet" href="/static/owner.css">' in r.text
    assert "<script" not in r.text  # works without JavaScript
    css = server.client.get("/static/owner.css")
    assert css.status_code == 200 and "min-height: 52px" in css.text


def test_each_form_carries_a_fresh_event_id(server: Server, a: Seeded) -> None:
    first = re.findall(r'name="event_id" value="([^"]+)"', server.client.get(f"/o/{a.token}").text)
    again = re.findall(r'name="event_id" value="([^"]+)"', server.client.get(f"/o/{a.token}").text)
    assert len(first) == 4 and len(set(first)) == 4  # one per action
    assert not set(first) & set(again)


def test_text_from_the_field_is_escaped(server: Server, device: Device) -> None:
    s = seed(server, device, "<b>Ägare</b>", "<script>alert(1)</script>", 5)
    html = server.client.get(f"/o/{s.token}").text
    assert "<script>" not in html and "&lt;script&gt;" in html and "&lt;b&gt;Ägare" in html


@pytest.mark.parametrize("action", ACTIONS)
def test_a_link_cannot_change_another_owners_finding(
    server: Server, a: Seeded, b: Seeded, action: str
) -> None:
    before = events(server)
    foreign = post(server, a.token, b.finding_id, action, **valid_form(action))
    missing = post(server, a.token, new_id(), action, **valid_form(action))
    assert foreign.status_code == missing.status_code == 404  # 404, not 403: existence is secret
    assert text_of(foreign.text) == text_of(missing.text)
    assert "Finns inte här" in foreign.text
    assert events(server) == before
    assert status_of(server, b.finding_id) == "received"
    assert server.rows("SELECT owner_id FROM assignments WHERE finding_id = ?", b.finding_id) == [
        (b.owner_id,)
    ]


def test_a_link_cannot_see_another_owners_photos(server: Server, a: Seeded, b: Seeded) -> None:
    own = server.client.get(f"/o/{a.token}/photos/{a.photo_sha}")
    assert own.status_code == 200 and own.headers["content-type"] == "image/jpeg"
    assert own.headers["referrer-policy"] == "no-referrer"
    foreign = server.client.get(f"/o/{a.token}/photos/{b.photo_sha}")
    unknown = server.client.get(f"/o/{a.token}/photos/{'0' * 64}")
    garbage = server.client.get(f"/o/{a.token}/photos/..%2F..%2Fwalkaudit.db")
    assert foreign.status_code == unknown.status_code == garbage.status_code == 404
    assert text_of(foreign.text) == text_of(unknown.text)
    assert server.client.get(f"/o/{b.token}/photos/{b.photo_sha}").status_code == 200


def dead_links(server: Server, owner_id: str) -> Iterator[tuple[str, str, int]]:
    yield "expired", links.create_link(server.db, owner_id, ttl_days=-1), 410
    revoked = links.create_link(server.db, owner_id)
    links.revoke_links(server.db, owner_id)
    yield "revoked", revoked, 410
    yield "unknown", "x" * 43, 404


def test_expired_revoked_and_unknown_links_get_nothing_on_any_route(
    server: Server, a: Seeded
) -> None:
    before = events(server)
    for which, token, code in dead_links(server, a.owner_id):  # lazily: revoking ends all
        answers = [
            server.client.get(f"/o/{token}"),
            server.client.get(f"/o/{token}?lang=en"),
            server.client.get(f"/o/{token}/photos/{a.photo_sha}"),
            server.client.get(f"/o/{token}/findings/{a.finding_id}/fixed", follow_redirects=False),
            *(post(server, token, a.finding_id, act, **valid_form(act)) for act in ACTIONS),
        ]
        for r in answers:
            assert r.status_code == code, (which, r.request.url)
            assert r.headers["content-type"].startswith("text/html")
            page = text_of(r.text)
            assert a.note not in page and a.photo_sha not in r.text
            # Said in Swedish and English, with what to do.
            assert "samordnaren" in page and "coordinator" in page, page
        title = {"expired": "Länken har gått ut", "revoked": "Länken är återkallad",
                 "unknown": "Länken fungerar inte"}[which]  # fmt: skip
        assert title in answers[0].text
    assert events(server) == before
    assert status_of(server, a.finding_id) == "received"


# ---- answers: one event each, even when sent twice ----------------------------------------------


@pytest.mark.parametrize(
    ("action", "kind", "status"),
    [("acknowledge", "acknowledged", "acknowledged"), ("planned", "planned", "planned"),
     ("fixed", "fixed", "fixed"), ("not-ours", "not_ours", "not_ours")],
)  # fmt: skip
def test_each_answer_is_one_event_even_when_posted_twice(
    server: Server, device: Device, a: Seeded, action: str, kind: str, status: str
) -> None:
    form = valid_form(action)
    first = post(server, a.token, a.finding_id, action, **form)
    second = post(server, a.token, a.finding_id, action, **form)  # the same form, sent again
    assert first.status_code == second.status_code == 303
    assert first.headers["location"] == second.headers["location"]
    assert first.headers["location"].startswith(f"/o/{a.token}?lang=sv&done={kind}")
    recorded = events(server, a.finding_id)
    assert [(e[0], e[2], e[3], e[5]) for e in recorded] == [
        (form["data"]["event_id"], kind, f"owner:{a.owner_id}", status)
    ]
    assert recorded[0][6] == device.id  # the reporting device's pull carries it
    assert status_of(server, a.finding_id) == status
    pulled = server.client.get("/v1/sync/pull", headers=device.headers).json()["changes"]
    mine = [c for c in pulled if c["event"]["id"] == form["data"]["event_id"]]
    assert len(mine) == 1 and mine[0]["status"] == status
    page = server.client.get(first.headers["location"])
    assert "Tack!" in page.text


def test_a_double_click_racing_itself_records_one_event(server: Server, a: Seeded) -> None:
    form = valid_form("fixed")
    with ThreadPoolExecutor(4) as pool:
        answers = list(pool.map(lambda _: post(server, a.token, a.finding_id, "fixed", **form),
                                range(4)))  # fmt: skip
    assert [r.status_code for r in answers] == [303] * 4
    assert [e[2] for e in events(server, a.finding_id)] == ["fixed"]


def test_planned_keeps_the_date_in_the_note(server: Server, a: Seeded) -> None:
    form = {"data": {"event_id": new_id(), "date": in_a_week(), "comment": "Elektriker bokad"}}
    assert post(server, a.token, a.finding_id, "planned", **form).status_code == 303
    assert events(server, a.finding_id)[0][4] == f"{in_a_week()} – Elektriker bokad"
    page = text_of(server.client.get(f"/o/{a.token}").text)
    assert "Planerat" in page and f"{in_a_week()} – Elektriker bokad" in page
    assert "Bostads AB Mimer" in page  # the actor, by name


@pytest.mark.parametrize(
    ("value", "message"),
    [("", "Välj datumet"), ("   ", "Välj datumet"), ("31/12/2026", "går inte att läsa"),
     ("2026-02-30", "går inte att läsa"), ("yesterday", "går inte att läsa"),
     ((today_in_sweden() - timedelta(days=1)).isoformat(), "har redan varit"),
     ((today_in_sweden() + timedelta(days=365 * 6)).isoformat(), "kontrollera årtalet")],
)  # fmt: skip
def test_planned_needs_a_real_date_today_or_later(
    server: Server, a: Seeded, value: str, message: str
) -> None:
    event_id = new_id()
    r = post(server, a.token, a.finding_id, "planned",
             data={"event_id": event_id, "date": value, "comment": "snart"})  # fmt: skip
    assert r.status_code == 422
    assert message in r.text and "Inget har sparats" not in r.text  # a date: nothing to redo
    assert events(server) == []
    # The form comes back open, with what was typed and the same event id (a retry is still one).
    assert f'value="{event_id}"' in r.text and ">snart</textarea>" in r.text
    assert re.search(r'<details class="action" open>\s*<summary class="btn">Planerat', r.text)


def test_planned_today_is_accepted(server: Server, a: Seeded) -> None:
    form = {"data": {"event_id": new_id(), "date": today_in_sweden().isoformat()}}
    assert post(server, a.token, a.finding_id, "planned", **form).status_code == 303


def test_not_ours_needs_a_reason(server: Server, a: Seeded) -> None:
    r = post(server, a.token, a.finding_id, "not-ours", data={"event_id": new_id(), "reason": " "})
    assert r.status_code == 422 and "Skriv varför fyndet inte är ert" in r.text
    assert events(server) == []
    too_long = {"event_id": new_id(), "reason": "x" * 2001}
    r = post(server, a.token, a.finding_id, "not-ours", data=too_long)
    assert r.status_code == 422 and "Texten är för lång (2001 tecken, högst 2000)" in r.text
    assert events(server) == []


def test_not_ours_hands_the_finding_back_to_triage(server: Server, a: Seeded) -> None:
    form = {"data": {"event_id": new_id(), "reason": "Marken är Trafikverkets"}}
    r = post(server, a.token, a.finding_id, "not-ours", **form)
    assert r.status_code == 303 and "#" not in r.headers["location"]
    assert server.rows(
        "SELECT owner_id, reason, detail FROM assignments WHERE finding_id = ?", a.finding_id
    ) == [(None, "not_ours", "Marken är Trafikverkets (was with Bostads AB Mimer)")]
    page = server.client.get(r.headers["location"])
    assert "Tack! Fyndet går tillbaka till samordnaren" in page.text
    assert a.note not in page.text and "Inga öppna fynd just nu" in page.text
    # Gone from this link altogether: its photo and any further answer are 404.
    assert server.client.get(f"/o/{a.token}/photos/{a.photo_sha}").status_code == 404
    assert post(server, a.token, a.finding_id, "fixed", **valid_form("fixed")).status_code == 404


def test_acknowledge_only_once_and_nothing_after_fixed(server: Server, a: Seeded) -> None:
    first = post(server, a.token, a.finding_id, "acknowledge", **valid_form("acknowledge"))
    assert first.status_code == 303
    again = post(server, a.token, a.finding_id, "acknowledge", **valid_form("acknowledge"))
    assert again.status_code == 409 and "redan bekräftat" in again.text
    assert post(server, a.token, a.finding_id, "fixed", **valid_form("fixed")).status_code == 303
    stored = photos_stored(server)
    for action in ACTIONS:  # e.g. a second tab still showing the old page
        form = valid_form(action)
        if action == "fixed":
            form["files"] = {"photo": ("ny.jpg", make_jpeg(seed=123), "image/jpeg")}
        r = post(server, a.token, a.finding_id, action, **form)
        assert r.status_code == 409 and "Fyndet är redan klart (åtgärdat)" in r.text
    assert photos_stored(server) == stored  # refused before the photo was stored
    assert [e[2] for e in events(server, a.finding_id)] == ["acknowledged", "fixed"]
    page = server.client.get(f"/o/{a.token}").text
    assert "Klart (1)" in page and "Inga öppna fynd just nu" in page


def test_a_form_without_a_usable_event_id_records_nothing(server: Server, a: Seeded) -> None:
    assert post(server, a.token, a.finding_id, "acknowledge", data={}).status_code == 400
    bad = post(server, a.token, a.finding_id, "acknowledge", data={"event_id": "1' OR 1=1"})
    assert bad.status_code == 400 and "Ladda om sidan" in bad.text
    ack = valid_form("acknowledge")
    assert post(server, a.token, a.finding_id, "acknowledge", **ack).status_code == 303
    reused = valid_form("planned")
    reused["data"]["event_id"] = ack["data"]["event_id"]  # the id of a different answer
    assert post(server, a.token, a.finding_id, "planned", **reused).status_code == 409
    assert [e[2] for e in events(server)] == ["acknowledged"]


def test_an_unknown_action_is_404(server: Server, a: Seeded) -> None:
    r = post(server, a.token, a.finding_id, "delete", data={"event_id": new_id()})
    assert r.status_code == 404 and events(server) == []


def test_reloading_an_action_address_goes_back_to_the_page(server: Server, a: Seeded) -> None:
    r = server.client.get(f"/o/{a.token}/findings/{a.finding_id}/fixed", follow_redirects=False)
    assert r.status_code == 303 and r.headers["location"] == f"/o/{a.token}?lang=sv"


# ---- fixed, with a photo ------------------------------------------------------------------------


def fixed_with(server: Server, a: Seeded, name: str, data: bytes, mime: str) -> Any:
    form = {"event_id": new_id(), "comment": "Klart"}
    return post(server, a.token, a.finding_id, "fixed", data=form,
                files={"photo": (name, data, mime)})  # fmt: skip


def photos_stored(server: Server) -> int:
    return int(server.rows("SELECT count(*) FROM photos")[0][0])


@pytest.mark.parametrize(
    ("name", "data", "code", "message"),
    [
        ("IMG_2041.jpg", PORTRAIT_6.read_bytes()[: PORTRAIT_6.stat().st_size // 2], 422,
         "Fotot «IMG_2041.jpg» är skadat"),
        ("protokoll.txt", "Åtgärdat enligt avtal.\n".encode() * 50, 415,
         "«protokoll.txt» är inte ett foto"),
        ("tom.jpg", b"", 415, "«tom.jpg» är inte ett foto"),
    ],
)  # fmt: skip
def test_fixed_refuses_a_broken_or_non_photo(
    server: Server, a: Seeded, name: str, data: bytes, code: int, message: str
) -> None:
    before = photos_stored(server)
    r = fixed_with(server, a, name, data, "image/jpeg")
    assert r.status_code == code
    assert message in text_of(r.text) and "Inget har sparats." in r.text
    assert ">Klart</textarea>" in r.text  # the comment is kept for the next try
    assert events(server) == [] and photos_stored(server) == before


def test_fixed_refuses_a_huge_file_with_a_clear_message(server: Server, a: Seeded) -> None:
    huge = b"\xff\xd8\xff" + bytes(21 * 1024 * 1024)
    r = fixed_with(server, a, "DSC_0001.jpg", huge, "image/jpeg")
    assert r.status_code == 413
    assert "är för stort (21 MB, högst 20 MB)" in text_of(r.text) and "Inget har sparats." in r.text
    # Just under the body limit but the file itself is over 20 MB: refused by the file's size.
    almost = b"\xff\xd8\xff" + bytes(20 * 1024 * 1024)
    r = fixed_with(server, a, "DSC_0002.jpg", almost, "image/jpeg")
    assert r.status_code == 413 and "«DSC_0002.jpg» är för stort" in text_of(r.text)
    assert events(server) == []


def test_fixed_with_a_phone_photo_stores_it_upright_without_metadata(
    server: Server, a: Seeded
) -> None:
    r = fixed_with(server, a, "IMG_2041.jpg", PORTRAIT_6.read_bytes(), "image/jpeg")
    assert r.status_code == 303
    (event,) = events(server, a.finding_id)
    assert event[2] == "fixed" and event[4] == "Klart"
    (photo,) = json.loads(event[7])["photos"]
    stored = server.services.blobs.path(photo["sha256"]).read_bytes()
    assert sha(stored) == photo["sha256"] and len(stored) == photo["size"]
    row = server.rows("SELECT size, width, height FROM photos WHERE sha256 = ?", photo["sha256"])
    assert row == [(photo["size"], photo["width"], photo["height"])]
    with Image.open(io.BytesIO(stored)) as image:
        assert image.format == "JPEG"
        assert not image.getexif() and "exif" not in image.info and "icc_profile" not in image.info
        assert image.height > image.width  # a portrait, standing up
        upright = Image.open(io.BytesIO(process_photo(PORTRAIT_1).jpeg)).convert("L")
        assert image.size == upright.size
        pixels = zip(image.convert("L").tobytes(), upright.tobytes(), strict=True)
        diff = sum(abs(p - q) for p, q in pixels) / (image.width * image.height)
        assert diff < 8, f"the photo is not the upright picture (mean difference {diff:.1f})"
    assert b"Exif" not in stored[:4096]
    # Shown in the finding's history and served to this owner (only).
    page = server.client.get(r.headers["location"]).text
    assert f"/o/{a.token}/photos/{photo['sha256']}" in page and "Foto från Bostads AB Mimer" in page
    assert server.client.get(f"/o/{a.token}/photos/{photo['sha256']}").content == stored


def test_fixed_without_a_photo(server: Server, a: Seeded) -> None:
    form = {"event_id": new_id(), "comment": ""}
    # What a browser sends for an empty file input: a part with an empty file name.
    r = post(server, a.token, a.finding_id, "fixed", data=form,
             files={"photo": ("", b"", "application/octet-stream")})  # fmt: skip
    assert r.status_code == 303
    (event,) = events(server, a.finding_id)
    assert event[2] == "fixed" and '"photos":[]' in event[7]


# ---- language --------------------------------------------------------------------------------


def test_swedish_by_default_english_for_an_english_owner_and_on_request(
    server: Server, device: Device, a: Seeded
) -> None:
    sv = server.client.get(f"/o/{a.token}").text
    assert '<html lang="sv">' in sv and "Att åtgärda (1)" in sv and "Vi har sett det" in sv
    assert f'href="/o/{a.token}?lang=en"' in sv and "In English" in sv
    en = server.client.get(f"/o/{a.token}?lang=en").text
    assert '<html lang="en">' in en and "To do (1)" in en and "Lighting" in en
    assert "We have seen it" in en and "High" in en
    english_owner = seed(server, device, "Vasakronan", "Broken fence", 7, language="en")
    page = server.client.get(f"/o/{english_owner.token}").text
    assert '<html lang="en">' in page and "Findings for Vasakronan" in page
    assert "Att åtgärda" in server.client.get(f"/o/{english_owner.token}?lang=sv").text
    assert "To do" in server.client.get(f"/o/{english_owner.token}?lang=xx").text
    r = post(server, english_owner.token, english_owner.finding_id, "planned",
             data={"event_id": new_id(), "date": ""})  # fmt: skip
    assert "Choose the date by which it will be fixed." in r.text


def test_the_language_survives_the_redirect(server: Server, a: Seeded) -> None:
    r = server.client.post(f"/o/{a.token}/findings/{a.finding_id}/acknowledge?lang=en",
                           data={"event_id": new_id()}, follow_redirects=False)  # fmt: skip
    assert r.headers["location"].startswith(f"/o/{a.token}?lang=en&done=acknowledged")
    assert "Thank you!" in server.client.get(r.headers["location"]).text


# ---- tokens stay out of the logs ----------------------------------------------------------------


def test_tokens_are_redacted_from_log_records(caplog: pytest.LogCaptureFixture, server: Server,
                                              a: Seeded) -> None:  # fmt: skip
    # uvicorn's access log: the path is an argument, formatted later.
    record = logging.LogRecord("uvicorn.access", logging.INFO, __file__, 1,
                               '%s - "%s %s HTTP/%s" %d',
                               ("127.0.0.1:5", "GET", f"/o/{a.token}/photos/ab", "1.1", 200),
                               None)  # fmt: skip
    assert RedactOwnerTokens().filter(record)
    assert a.token not in record.getMessage() and "/o/[link " in record.getMessage()
    assert redact(f"/o/{a.token}?lang=en") == redact(f"/o/{a.token}?lang=en")
    # The server's own error log (a wrong method on the page goes through it).
    with caplog.at_level(logging.INFO):
        assert server.client.put(f"/o/{a.token}").status_code == 405
    # (httpx logs the URL it requested: that is the test's client, not the server.)
    logged = "\n".join(r.getMessage() for r in caplog.records if r.name != "httpx")
    assert "/o/[link " in logged and a.token not in logged


def test_dates_from_the_database_may_be_timestamps(server: Server, device: Device) -> None:
    owner_id = add_owner(server, "Kommunen")
    add_finding(server, device, owner_id, "x", 3, deadline="2020-01-02T10:00:00Z")
    html = server.client.get(f"/o/{links.create_link(server.db, owner_id)}").text
    assert "2020-01-02" in html and "försenat" in html
    assert date(2020, 1, 2) < today_in_sweden()

"""One bad record stops nothing: every background pass handles its items one at a time.

The bad data is put in directly (an UPDATE of the server's SQLite, a truncated JPEG in the blob
store), as data that slipped in before the door refused it or by some other way would be: the
tests do not depend on what the push and upload routes accept today. What is checked is what
people see: the owners' mail over real SMTP, the coordinator's triage page, the stored outbox.
"""

from __future__ import annotations

import hashlib
import http.server
import json
import re
import shutil
import subprocess
import threading
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from email import policy
from email.message import EmailMessage
from email.parser import BytesParser
from pathlib import Path
from typing import Any

import httpx
import pytest

from sync_server.config import Settings
from sync_server.core import set_aside
from sync_server.core.blobs import DiskBlobStore
from sync_server.core.db import Database
from sync_server.core.time import SWEDEN, iso
from sync_server.open311 import keys as open311_keys
from sync_server.owners import routing
from sync_server.owners.policy import deadline
from sync_server.owners.routing import route_pending
from sync_server.reports.run import run_pass
from sync_server.workspace.accounts import add_user
from tests.server.conftest import CHEAP_HASHER, Device, Server, finding_json, make_jpeg, sha
from tests.server.mail_support import MailServer, add_owner, assign, box
from tests.server.workspace_support import PASSWORD, Staff, sign_in
from tests.support import Result, ServerProcess, run
from walkaudit.model import new_id, utcnow

DATA = Path(__file__).resolve().parents[2] / "data"
PHOTO = (DATA / "photos" / "phone" / "45-gps_ifd.jpg").read_bytes()  # a real phone photo
BIG = (DATA / "photos" / "phone" / "HMD_Nokia_8.3_5G.jpg").read_bytes()
TRUNCATED = BIG[: len(BIG) // 2]  # half a JPEG: its header reads, its pixels do not
POISON = "9999-12-31T09:59:59.000000Z"  # '9999-12-31T23:59:59+14:00' as the server stores it
LAST_INSTANT = "9999-12-31T23:59:59.000000Z"  # past the last date once in Swedish time
BO, EKEN = "felanmalan@orebrobostader.example", "drift@eken.example"
COORDINATOR = "samordnare@example.se"


def parts(message: EmailMessage) -> dict[str, Any]:
    """Text, HTML, inline images and attachments, as the recipient's client shows them."""
    inline, attachments = [], {}
    for part in message.walk():
        if part.get_content_maintype() == "multipart":
            continue
        if part.get_content_disposition() == "attachment":
            attachments[part.get_filename()] = part.get_content()
        elif part.get_content_type() == "image/jpeg":
            inline.append(part.get_content())
    text, html = message.get_body(("plain",)), message.get_body(("html",))
    assert text is not None and html is not None
    return {"text": text.get_content(), "html": html.get_content(), "inline": inline,
            "attachments": attachments}  # fmt: skip


def pdf_text(data: bytes, tmp_path: Path) -> str:
    assert shutil.which("pdftotext"), "pdftotext (Debian: poppler-utils) is not installed"
    path = tmp_path / f"{hashlib.sha256(data).hexdigest()[:8]}.pdf"
    path.write_bytes(data)
    out = subprocess.run(["pdftotext", "-layout", str(path), "-"], capture_output=True, check=True)
    return out.stdout.decode()


def owner_token(text: str) -> str:
    found = re.findall(r"/o/([A-Za-z0-9_-]{43})", text)
    assert found, text
    return str(found[0])


# ---- against a real server on loopback ---------------------------------------------------------


class Field:
    """A walker's phone talking HTTP to the server process."""

    def __init__(self, server: ServerProcess) -> None:
        self.http = httpx.Client(base_url=server.url, timeout=30)
        answer = self.http.post(
            "/v1/enrol", json={"code": server.enrol_code(), "device_name": "telefon"}
        )
        assert answer.status_code == 201, answer.text
        self.http.headers["Authorization"] = f"Bearer {answer.json()['token']}"

    def push(self, **batch: Any) -> dict[str, Any]:
        answer = self.http.post("/v1/sync/push", json=batch)
        assert answer.status_code == 200, answer.text
        return dict(answer.json())

    def upload(self, data: bytes) -> int:
        headers = {"Content-Range": f"bytes 0-{len(data) - 1}/{len(data)}"}
        return self.http.put(f"/v1/photos/{sha(data)}", content=data, headers=headers).status_code


def store_as_uploaded(settings: Settings, data: bytes, width: int, height: int) -> None:
    """Put bytes into the blob store and record them as a stored photo, as an upload the door
    let through would have (a truncated JPEG whose header reads)."""
    store = DiskBlobStore(settings.photos_dir)
    target = store.path(sha(data))
    target.parent.mkdir(parents=True, exist_ok=True)
    target.write_bytes(data)
    with Database(settings.database_path).write() as tx:
        tx.execute(
            "INSERT OR IGNORE INTO photos (sha256, size, width, height, stored_at)"
            " VALUES (?, ?, ?, ?, ?)",
            [sha(data), len(data), width, height, iso(utcnow())],
        )


def send_reports(server: ServerProcess) -> Result:
    """`walkaudit-server send-reports` beside the running server, as cron would run it."""
    return run("walkaudit-server", "--data", server.data, "send-reports", env=server.env)


def coordinator(server: ServerProcess) -> tuple[httpx.Client, str]:
    """A signed-in coordinator's browser and its CSRF token."""
    db = Database(server.data / "walkaudit.db")
    add_user(db, "samordnare", "coordinator", PASSWORD, COORDINATOR, hasher=CHEAP_HASHER)
    db.close()
    browser = httpx.Client(base_url=server.url, timeout=30)
    return browser, sign_in(browser, "samordnare")  # type: ignore[arg-type]


@pytest.fixture
def live(tmp_path: Path, smtp_server: MailServer) -> Iterator[ServerProcess]:
    env = {
        "WALKAUDIT_SMTP_URL": smtp_server.url,
        "WALKAUDIT_MAIL_FROM": "Trygghetsvandring <trygghet@example.se>",
        "WALKAUDIT_COORDINATOR_EMAIL": COORDINATOR,
        "WALKAUDIT_REPORT_INTERVAL_S": "0",  # the passes are the CLI's, one at a time
    }
    server = ServerProcess(tmp_path / "server", env=env)
    server.env["WALKAUDIT_PUBLIC_URL"] = server.url
    server.start()
    owners = server.cli("owners", "import", str(DATA / "geo" / "orebro_owners.geojson"))
    assert owners.code == 0, owners.err
    yield server
    server.stop()


def test_a_poisoned_finding_and_a_truncated_photo_stop_nobody_elses_mail(
    live: ServerProcess, smtp_server: MailServer, tmp_path: Path
) -> None:
    settings = Settings(data_dir=live.data)
    phone = Field(live)
    walk = {"id": new_id(), "name": "Kvällsvandring Vivalla", "area": "Vivalla",
            "started_at": (utcnow() - timedelta(hours=2)).isoformat(),
            "ended_at": (utcnow() - timedelta(hours=1)).isoformat()}  # fmt: skip
    notes = {
        "lamp": ("BEL", 59.2741, 15.2036, PHOTO, "Trasig lampa vid gångtunneln"),
        "door": ("SKA", 59.2745, 15.2040, make_jpeg(seed=2), "Porten går inte att låsa"),
        "bush": ("VEG", 59.2737, 15.2042, TRUNCATED, "Buskage skymmer sikten"),
        "poison": ("BEL", 59.2743, 15.2046, make_jpeg(seed=3), "Lampa med trasig klocka"),
        "sign": ("ORI", 59.2741, 15.2086, make_jpeg(seed=4), "Sign to the school is missing"),
    }
    ids = {}
    for key, (category, lat, lon, photo, note) in notes.items():
        body = finding_json(walk_id=walk["id"], category=category, latitude=lat, longitude=lon,
                            note=note, photos=[{"sha256": sha(photo), "size": len(photo),
                                                "width": 1600, "height": 900}])  # fmt: skip
        phone.push(walks=[walk], findings=[body])
        ids[key] = body["id"]
        if phone.upload(photo) != 201:  # the door refuses half a JPEG now: it slipped in earlier
            assert photo is TRUNCATED
            store_as_uploaded(settings, photo, 1600, 900)
    # A phone with its clock in the year 9999 (the push is refused now; this one got in before).
    with Database(settings.database_path).write() as tx:
        tx.execute("UPDATE findings SET captured_at = ? WHERE id = ?", [POISON, ids["poison"]])

    first = send_reports(live)
    assert first.code == 0, first.err
    assert re.search(rf"set aside.*\n.*finding {ids['poison']}: capture time", first.err)
    assert "reports enqueued: 2" in first.err and "delivered: 3 sent" in first.err, first.err
    # Every good finding reached its owner, over SMTP.
    [bo] = smtp_server.to(BO)
    [eken] = smtp_server.to(EKEN)
    assert len(smtp_server.to(COORDINATOR)) == 1  # the weekly summary
    mail = parts(bo)
    for key in ("lamp", "door", "bush"):
        assert notes[key][4] in mail["text"] and notes[key][4] in mail["html"], key
    assert notes["poison"][4] not in mail["text"]
    assert "Sign to the school is missing" in parts(eken)["text"]
    # The truncated photo is left out, and the mail and its PDF say so.
    assert mail["text"].count("1 foto kunde inte läsas och saknas här.") == 1
    assert "1 foto kunde inte läsas och saknas här." in mail["html"]
    assert len(mail["inline"]) == 2  # the lamp's and the door's
    [pdf] = mail["attachments"].values()
    assert "Fotot kunde inte läsas" in pdf_text(pdf, tmp_path)
    # The owner's link works; the stored copy of the sent mail holds no working link.
    token = owner_token(mail["text"])
    assert httpx.get(f"{live.url}/o/{token}").status_code == 200
    stored = (
        Database(settings.database_path)
        .conn()
        .execute("SELECT message FROM outbox WHERE kind = 'report' AND state = 'sent'")
        .fetchall()
    )
    assert len(stored) == 2
    for (raw,) in stored:
        kept = BytesParser(policy=policy.default).parsebytes(raw)
        text = parts(kept)["text"]
        assert not re.search(r"/o/[A-Za-z0-9_-]{20,}", text) and "/o/[länk borttagen]" in text
        assert token.encode() not in raw
        [note] = parts(kept)["attachments"].values()
        assert "innehöll ägarlänken" in note

    # The poisoned finding waits on triage with its reason; its page renders.
    browser, csrf = coordinator(live)
    triage = browser.get("/c/triage")
    assert triage.status_code == 200
    held = re.search(rf'<tr data-id="{ids["poison"]}" data-step="routing">.*?</tr>', triage.text,
                     re.S)  # fmt: skip
    assert held, triage.text
    assert "Omöjlig tidpunkt" in held.group(0) and "Försök igen" in held.group(0)
    page = browser.get(f"/c/findings/{ids['poison']}")
    assert page.status_code == 200 and "9999-12-31" in page.text and "Omöjlig tidpunkt" in page.text

    # Try again: the next pass takes it up again (and, its clock still wrong, sets it aside).
    again = browser.post("/c/set-aside/retry", data={"csrf": csrf, "step": "routing",
                                                      "item": ids["poison"]})  # fmt: skip
    assert again.status_code == 303
    assert ids["poison"] not in browser.get("/c/triage").text
    second = send_reports(live)
    assert second.code == 0 and f"finding {ids['poison']}: capture time" in second.err
    assert ids["poison"] in browser.get("/c/triage").text
    assert len(smtp_server.received) == 3  # nothing sent twice

    # Closing it in /c/ takes it off the list, and nothing is blocked by it.
    closed = browser.post(f"/c/findings/{ids['poison']}/status", data={
        "csrf": csrf, "status": "closed", "event_id": new_id(), "note": "klockfel"})  # fmt: skip
    assert closed.status_code == 303
    assert ids["poison"] not in browser.get("/c/triage").text
    third = send_reports(live)
    assert third.code == 0 and "set aside" not in third.err and "error" not in third.err


# ---- routing, in-process -----------------------------------------------------------------------


def test_deadline_of_an_impossible_capture_time_counts_from_today() -> None:
    today = datetime.now(UTC).astimezone(SWEDEN).date()
    for stamp in (POISON, LAST_INSTANT, "not a time", "1970-01-01T00:00:00Z"):
        assert deadline("high", stamp) == (today + timedelta(days=90)).isoformat(), stamp
        with pytest.raises(routing.BadCaptureTime):
            routing.capture_day(stamp)
    assert deadline("high", "2026-06-30T22:30:00.000Z") == "2026-09-29"


def test_routing_sets_aside_the_far_future_finding_and_routes_the_others(
    server: Server, device: Device, staff: Staff
) -> None:
    good = [finding_json(longitude=15.2066 + i * 0.001) for i in range(3)]
    bad = finding_json()
    server.push(device, findings=[*good[:1], bad, *good[1:]])
    with server.db.write() as tx:
        tx.execute("UPDATE findings SET captured_at = ? WHERE id = ?", [LAST_INSTANT, bad["id"]])
    held: list[str] = []
    assert route_pending(server.db, held=held) == 3
    assert held == [f"finding {bad['id']}: capture time {LAST_INSTANT} is impossible: before 2000 "
                    "or later than 1 day after the server's clock"]  # fmt: skip
    assert route_pending(server.db) == 0  # skipped from now on: no new log line each pass
    [item] = [i for i in routing.triage(server.db) if i.set_aside]
    assert (item.finding_id, item.set_aside, item.reason) == (bad["id"], "routing", "bad_time")
    # Its page renders; the coordinator can plan it and route it by hand (deadline from today).
    coordinator = staff.coordinator
    page = coordinator.get(f"/c/findings/{bad['id']}")
    assert page.status_code == 200 and LAST_INSTANT in page.text
    owner = add_owner(server.db, "Bo AB", "bo@example.se", area=box(15.2066, 59.2743))
    answer = staff.post("coordinator", f"/c/findings/{bad['id']}/owner",
                                {"owner_id": owner})  # fmt: skip
    assert answer.status_code == 303
    [(due,)] = server.rows("SELECT deadline FROM assignments WHERE finding_id = ?", bad["id"])
    assert due == deadline("high", utcnow().isoformat(), "BEL")  # as if captured today
    assert not any(i.set_aside for i in routing.triage(server.db))


def test_try_again_is_for_coordinators_and_says_what_happened(
    server: Server, device: Device, staff: Staff
) -> None:
    bad = finding_json()
    server.push(device, findings=[bad])
    with server.db.write() as tx:
        tx.execute("UPDATE findings SET captured_at = ? WHERE id = ?", [POISON, bad["id"]])
    route_pending(server.db)
    form = {"step": "routing", "item": bad["id"]}
    viewer = staff.viewer.get("/c/triage")
    assert "Omöjlig tidpunkt" in viewer.text and "/c/set-aside/retry" not in viewer.text
    assert staff.post("viewer", "/c/set-aside/retry", form).status_code == 403
    assert set_aside.is_held(server.db, "routing", bad["id"])
    answer = staff.post("coordinator", "/c/set-aside/retry", form)
    assert answer.headers["location"] == "/c/triage?notice=triage.set_aside.retried#set-aside"
    assert "Nästa körning tar med det igen." in staff.coordinator.get(
        answer.headers["location"]).text  # fmt: skip
    twice = staff.post("coordinator", "/c/set-aside/retry", form)
    assert twice.headers["location"].endswith("notice=triage.set_aside.retried_already#set-aside")


# ---- reports, reminders, the weekly summary and delivery, in-process --------------------------


@pytest.fixture
def settings(mail_settings: Settings) -> Settings:
    """This server sends mail, through `smtp_server` (both in conftest)."""
    return mail_settings


class Owners:
    def __init__(self, server: Server, device: Device) -> None:
        self.server, self.device = server, device
        self.bo = add_owner(server.db, "Örebrobostäder AB", BO, area=box(15.2066, 59.2743))
        self.eken = add_owner(server.db, "Eken AB", EKEN, area=box(15.2166, 59.2743))
        self.walk = new_id()
        server.push(device, walks=[{"id": self.walk, "name": "Vandring", "area": "Vivalla",
                                    "started_at": utcnow().isoformat(),
                                    "ended_at": utcnow().isoformat()}])  # fmt: skip

    def finding(self, owner: str, note: str, photo: bytes | None = None, **fields: Any) -> str:
        photo = photo or make_jpeg(seed=int(hashlib.sha256(note.encode()).hexdigest()[:8], 16))
        body = finding_json(
            walk_id=self.walk,
            note=note,
            photos=[{"sha256": sha(photo), "size": len(photo), "width": 320, "height": 240}],
            **fields,
        )
        self.server.push(self.device, findings=[body])
        assert self.server.upload(self.device, photo) == 201
        assign(self.server.db, body["id"], owner)
        return str(body["id"])

    def spoil(self, finding_id: str, column: str, value: object) -> None:
        with self.server.db.write() as tx:
            tx.execute(f"UPDATE findings SET {column} = ? WHERE id = ?", [value, finding_id])


@pytest.fixture
def owners(server: Server, device: Device) -> Owners:
    return Owners(server, device)


def test_a_finding_no_report_can_show_is_set_aside_and_the_report_goes(
    server: Server, owners: Owners, settings: Settings, smtp_server: MailServer
) -> None:
    good = owners.finding(owners.bo, "Trasig lampa")
    bad = owners.finding(owners.bo, "Konstig position")
    other = owners.finding(owners.eken, "Skylt saknas")
    owners.spoil(bad, "latitude", "norr om bron")  # text where a number belongs
    result = run_pass(server.db, server.services.blobs, settings)
    assert result.errors == [] and len(result.reports) == 2, result.lines()
    assert [line.split(": finding ")[1][:36] for line in result.set_aside] == [bad]
    assert "Trasig lampa" in parts(smtp_server.to(BO)[0])["text"]
    assert "Konstig position" not in parts(smtp_server.to(BO)[0])["text"]
    assert "Skylt saknas" in parts(smtp_server.to(EKEN)[0])["text"]
    statuses = dict(server.rows("SELECT id, status FROM findings"))
    assert (statuses[good], statuses[bad], statuses[other]) == ("sent", "received", "sent")
    assert run_pass(server.db, server.services.blobs, settings).set_aside == []  # once
    owners.spoil(bad, "latitude", 59.2743)  # the data is fixed; the coordinator tries again
    assert set_aside.release(server.db, "report", bad)
    tomorrow = utcnow() + timedelta(hours=settings.report_batch_hours, minutes=1)
    again = run_pass(server.db, server.services.blobs, settings, now=tomorrow)
    assert again.reports == [f"Örebrobostäder AB <{BO}>: 1 findings"]
    assert "Konstig position" in parts(smtp_server.to(BO)[-1])["text"]


def test_a_reminder_goes_without_the_finding_it_cannot_show(
    server: Server, owners: Owners, settings: Settings, smtp_server: MailServer
) -> None:
    lamp = owners.finding(owners.bo, "Trasig lampa")
    odd = owners.finding(owners.bo, "Udda fynd")
    sign = owners.finding(owners.eken, "Skylt saknas")
    run_pass(server.db, server.services.blobs, settings)  # the reports go
    for fid in (lamp, odd, sign):
        assign(server.db, fid, owners.bo if fid != sign else owners.eken, deadline="2026-01-15")
    owners.spoil(odd, "longitude", "öster om bron")
    later = datetime(2026, 2, 1, 9, tzinfo=UTC)
    result = run_pass(server.db, server.services.blobs, settings, now=later)
    assert sorted(result.reminders) == [f"Eken AB <{EKEN}>: 1 overdue",
                                        f"Örebrobostäder AB <{BO}>: 1 overdue"]  # fmt: skip
    assert len(result.set_aside) == 1 and odd in result.set_aside[0]
    reminder = parts(smtp_server.to(BO)[-1])["text"]
    assert "Trasig lampa" in reminder and "Udda fynd" not in reminder
    [item] = [i for i in routing.triage(server.db) if i.set_aside]
    assert (item.finding_id, item.set_aside) == (odd, "reminder")


def test_the_weekly_summary_goes_with_a_finding_from_the_year_9999(
    server: Server, owners: Owners, settings: Settings, smtp_server: MailServer, tmp_path: Path
) -> None:
    owners.finding(owners.bo, "Trasig lampa")
    odd = owners.finding(owners.bo, "Fynd med trasig klocka")
    owners.spoil(odd, "captured_at", LAST_INSTANT)  # past the last date in Swedish time
    monday = datetime(2026, 11, 30, 8, tzinfo=UTC)
    result = run_pass(server.db, server.services.blobs, settings, now=monday)
    assert result.summary == f"week 48 to {COORDINATOR}" and result.errors == [], result.lines()
    [summary] = smtp_server.to(COORDINATOR)
    assert summary["Subject"] == "Lägesbild trygghetsvandringar vecka 48 2026"
    [pdf] = parts(summary)["attachments"].values()
    oldest = pdf_text(pdf, tmp_path)
    assert "9999-12-31" in oldest and "Örebrobostäder AB" in oldest  # with the date it says


def test_one_message_that_cannot_be_handed_over_does_not_stop_the_others(
    server: Server, owners: Owners, settings: Settings, smtp_server: MailServer,
    staff: Staff,
) -> None:  # fmt: skip
    owners.finding(owners.bo, "Trasig lampa")
    with server.db.write() as tx:  # a message stored as text, not bytes (another tool wrote it)
        tx.execute(
            "INSERT INTO outbox (kind, dedupe_key, recipient, subject, message, next_attempt_at,"
            " created_at) VALUES ('report', 'bad', 'a@example.se', 'Trasig', ?, ?, ?)",
            ["Subject: Trasig\r\n\r\nHej\r\n", iso(utcnow()), iso(utcnow())],
        )
    result = run_pass(server.db, server.services.blobs, settings)
    assert result.delivery.sent == 2 and result.delivery.failed == 1, result.lines()
    assert len(smtp_server.to(BO)) == 1 and len(smtp_server.received) == 2
    [(state, error)] = server.rows("SELECT state, last_error FROM outbox WHERE dedupe_key = 'bad'")
    assert state == "failed" and error.startswith("unexpected error: TypeError")
    triage = staff.coordinator.get("/c/triage")
    assert "Mejl som inte gick fram (1)" in triage.text and "unexpected error" in triage.text


def test_without_smtp_the_eml_file_is_the_mail_and_the_outbox_forgets_the_link(
    tmp_path: Path,
) -> None:
    from sync_server.app import create_app
    from tests.server.conftest import TestClient

    settings = Settings(data_dir=tmp_path / "demo", public_url="https://trygg.example.se",
                        report_interval_s=0)  # fmt: skip
    with TestClient(create_app(settings, hasher=CHEAP_HASHER)) as client:
        server = Server(client.app, client)
        owners = Owners(server, server.enrol("phone"))
        owners.finding(owners.bo, "Trasig lampa")
        assert run_pass(server.db, server.services.blobs, settings).delivery.sent == 1
        [eml] = (settings.data_dir / "outbox").glob("*.eml")
        delivered = parts(BytesParser(policy=policy.default).parsebytes(eml.read_bytes()))
        token = owner_token(delivered["text"])
        assert client.get(f"/o/{token}").status_code == 200
        [(raw,)] = server.rows("SELECT message FROM outbox")
        assert token.encode() not in raw and "/o/[länk borttagen]" in parts(
            BytesParser(policy=policy.default).parsebytes(raw))["text"]  # fmt: skip


# ---- geocoding, with a Nominatim on loopback ---------------------------------------------------


class Nominatim(http.server.ThreadingHTTPServer):
    """Answers /reverse like Nominatim: 'Gata {lat}' for any position."""

    def __init__(self) -> None:
        self.asked: list[str] = []
        super().__init__(("127.0.0.1", 0), _NominatimHandler)
        threading.Thread(target=self.serve_forever, daemon=True).start()

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.server_address[1]}"


class _NominatimHandler(http.server.BaseHTTPRequestHandler):
    server: Nominatim

    def do_GET(self) -> None:  # noqa: N802 - http.server's name
        query = dict(p.split("=", 1) for p in self.path.partition("?")[2].split("&"))
        self.server.asked.append(query["lat"])
        body = json.dumps({"display_name": "x", "address": {
            "road": f"Gata {query['lat'][:7]}", "city": "Örebro"}}).encode()  # fmt: skip
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args: Any) -> None:
        pass


def test_a_position_that_is_not_one_costs_no_other_finding_its_address(
    server: Server, owners: Owners, settings: Settings, smtp_server: MailServer
) -> None:
    nominatim = Nominatim()
    try:
        early = (utcnow() - timedelta(minutes=5)).isoformat()
        odd = owners.finding(owners.bo, "Fel i positionen", captured_at=early)
        owners.finding(owners.bo, "Trasig lampa", latitude=59.27431)
        owners.finding(owners.bo, "Buskage", latitude=59.27435)
        owners.spoil(odd, "latitude", 95.0)  # north of the pole: geopy refuses to ask
        settings = settings.model_copy(update={"geocoder_url": nominatim.url})
        result = run_pass(server.db, server.services.blobs, settings)
        assert result.errors == [] and len(result.reports) == 1, result.lines()
    finally:
        nominatim.shutdown()
    text = parts(smtp_server.to(BO)[0])["text"]
    assert "Gata 59.2743, Örebro" in text and text.count("Närmaste adress") == 2
    assert "Fel i positionen" in text
    assert len(nominatim.asked) == 2


# ---- walk protocols ----------------------------------------------------------------------------


def test_a_walk_protocol_with_odd_findings_renders_and_goes(
    server: Server, owners: Owners, settings: Settings, smtp_server: MailServer,
    staff: Staff, tmp_path: Path,
) -> None:  # fmt: skip
    owners.finding(owners.bo, "Trasig lampa", photo=PHOTO)
    odd = owners.finding(owners.bo, "Fynd med trasig klocka")
    owners.spoil(odd, "captured_at", LAST_INSTANT)
    half = owners.finding(owners.bo, "Halvt foto")
    [(photo_sha,)] = server.rows("SELECT sha256 FROM finding_photos WHERE finding_id = ?", half)
    server.services.blobs.path(photo_sha).write_bytes(TRUNCATED)  # a truncated file on disk
    browser = staff.coordinator
    page = browser.get(f"/c/walks/{owners.walk}/protocol")
    assert page.status_code == 200 and "Fynd med trasig klocka" in page.text
    pdf = browser.get(f"/c/walks/{owners.walk}/protocol.pdf")
    assert pdf.status_code == 200
    text = pdf_text(pdf.content, tmp_path)
    assert "Fotot kunde inte läsas" in text and "9999-12-31" in text and "Trasig lampa" in text
    add = staff.post(
        "coordinator",
        f"/c/walks/{owners.walk}/participants",
        {"name": "Ann", "organisation": "", "email": "ann@example.se"},
    )
    assert add.status_code == 303
    sent = staff.post("coordinator", f"/c/walks/{owners.walk}/protocol/send")
    assert sent.status_code == 303
    run_pass(server.db, server.services.blobs, settings)
    [protocol] = smtp_server.to("ann@example.se")
    assert "Fynd med trasig klocka" in parts(protocol)["text"]


def test_every_page_shows_a_finding_from_the_last_instant_of_the_calendar(
    server: Server, owners: Owners, settings: Settings, smtp_server: MailServer, staff: Staff
) -> None:
    # 9999-12-31T23:59:59Z has no Swedish local time (it would be year 10000): every page that
    # shows it must still answer, with the time as stored.
    odd = owners.finding(owners.bo, "Fynd med trasig klocka")
    owners.spoil(odd, "captured_at", LAST_INSTANT)
    run_pass(server.db, server.services.blobs, settings)
    token = owner_token(parts(smtp_server.to(BO)[-1])["text"])
    owner_page = staff.clients["anonymous"].get(f"/o/{token}")
    assert owner_page.status_code == 200 and "Fynd med trasig klocka" in owner_page.text
    coordinator = staff.coordinator
    for path in (f"/c/findings/{odd}", "/c/findings", "/c/stats", "/c/export.csv",
                 "/c/export.geojson"):  # fmt: skip
        page = coordinator.get(path)
        assert page.status_code == 200, (path, page.text[-2000:])
    assert "9999-12-31" in coordinator.get("/c/export.csv").text
    _, api_key = open311_keys.create_api_key(server.db, "Driftsystemet")  # Open311 too
    for path in ("/open311/v2/requests.json", f"/open311/v2/requests/{odd}.json"):
        feed = staff.clients["anonymous"].get(f"{path}?api_key={api_key}")
        assert feed.status_code == 200 and "9999-12-31" in feed.text, (path, feed.text[-500:])

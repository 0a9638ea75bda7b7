"""Delivery: the outbox, SMTP through a real aiosmtpd server, retries, restarts, the .eml fallback.

Also the nearest-address lookup (sync_server.core.geocode) against a tiny local Nominatim.
"""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Iterator
from datetime import datetime, timedelta
from email import policy
from email.parser import BytesParser
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

import pytest
from pydantic import ValidationError

from sync_server import mail
from sync_server.app import create_app
from sync_server.config import Settings
from sync_server.core.db import Database
from sync_server.core.geocode import NominatimAddresses, format_address
from sync_server.core.time import iso, parse_iso
from sync_server.reports import enqueue_reports, record_sent, run_pass
from tests.server.conftest import CHEAP_HASHER, Server, TestClient
from tests.server.mail_support import MailServer, add_owner, assign, free_port
from tests.server.reports.support import LAT, LON, PUBLIC, World, parts, walk_json
from walkaudit.model import new_id, utcnow

# ---- the SMTP URL -----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("url", "expected"),
    [
        ("smtp://127.0.0.1:2525", ("smtp", "127.0.0.1", 2525, None, None)),
        ("smtp://mail.example.se", ("smtp", "mail.example.se", 25, None, None)),
        (
            "smtp+starttls://walk%40example.se:p%C3%A5ss%3Aw%2Fd@mail.example.se:587",
            ("smtp+starttls", "mail.example.se", 587, "walk@example.se", "påss:w/d"),
        ),
        ("smtps://u:hemligt@mail.example.se", ("smtps", "mail.example.se", 465, "u", "hemligt")),
    ],
)
def test_smtp_urls(url: str, expected: tuple[Any, ...]) -> None:
    c = mail.parse_smtp_url(url)
    assert (c.scheme, c.host, c.port, c.username, c.password) == expected
    assert "p%C3" not in c.describe() and (c.password is None or c.password not in c.describe())


@pytest.mark.parametrize(
    ("url", "says"),
    [
        ("http://mail.example.se", "scheme 'http'"),
        ("mail.example.se:25", "scheme"),
        ("smtp://:25", "host is missing"),
        ("smtp://mail.example.se:99999", "port"),
        ("smtp://mail.example.se:25/x", "after the port"),
        ("smtps://user@mail.example.se", "needs a password"),
        ("smtp://user:hemligt@mail.example.se", "unencrypted"),
    ],
)
def test_bad_smtp_urls_say_what_is_wrong_and_never_the_password(url: str, says: str) -> None:
    with pytest.raises(mail.BadSmtpUrl) as caught:
        mail.parse_smtp_url(url)
    assert says in str(caught.value) and "hemligt" not in str(caught.value)
    with pytest.raises(ValidationError) as invalid:
        Settings(smtp_url=url, mail_from="a@example.se")
    assert says in str(invalid.value) and "hemligt" not in str(invalid.value)


def test_smtp_needs_a_sender() -> None:
    with pytest.raises(ValidationError, match="WALKAUDIT_MAIL_FROM"):
        Settings(smtp_url="smtp://127.0.0.1:25")


# ---- delivery ---------------------------------------------------------------------------------


@pytest.fixture
def settings(mail_settings: Settings) -> Settings:
    """This server sends mail, through `smtp_server` (both in conftest). No coordinator: no
    weekly summary joins the reports these tests count."""
    return mail_settings.model_copy(update={"coordinator_email": None})


@pytest.fixture
def world(server: Server, settings: Settings) -> World:
    device = server.enrol("phone")
    w = World(server, device, settings, new_id())
    server.push(device, walks=[walk_json(w.walk_id, ended=True)])
    w.owners["bo"] = add_owner(server.db, "Örebrobostäder AB", "felanmalan@obo.example.se")
    fid = w.push("lamp", note="Trasig lampa vid gångtunneln")
    assign(server.db, fid, w.owners["bo"])
    return w


def outbox(db: Database) -> list[dict[str, Any]]:
    return list(db.conn().query("SELECT * FROM outbox ORDER BY id"))


def test_smtp_down_keeps_the_message_then_delivers_it_once(
    world: World, smtp_server: MailServer
) -> None:
    smtp_server.stop()
    now = utcnow()
    result = world.pass_(now=now)
    assert result.delivery.deferred == 1 and result.delivery.sent == 0
    [row] = outbox(world.db)
    assert row["state"] == "pending" and row["attempts"] == 1
    assert parse_iso(row["next_attempt_at"]) == now + timedelta(minutes=5)
    assert "cannot reach smtp://127.0.0.1" in row["last_error"]
    assert "cannot reach" in result.lines()[-1]
    smtp_server.start()
    assert world.pass_(now=now + timedelta(minutes=4)).delivery.sent == 0  # not due yet
    assert world.pass_(now=now + timedelta(minutes=5)).delivery.sent == 1
    assert world.pass_(now=now + timedelta(hours=3)).delivery.sent == 0
    assert len(smtp_server.received) == 1
    [row] = outbox(world.db)
    assert row["state"] == "sent" and row["last_error"] is None and row["attempts"] == 2
    stored = BytesParser(policy=policy.default).parsebytes(row["message"])
    assert stored["Message-ID"] == smtp_server.parsed()[0]["Message-ID"]


def test_a_restart_between_enqueue_and_delivery_sends_one_copy(
    world: World, settings: Settings, smtp_server: MailServer
) -> None:
    assert (
        len(enqueue_reports(world.db, world.server.services.blobs, settings, now=utcnow())[0]) == 1
    )
    world.server.client.__exit__(None, None, None)  # the app shuts down (closes the database)
    # A new app and Database on the same data directory.
    again = create_app(settings, hasher=CHEAP_HASHER)
    with TestClient(again):
        services = again.state.services
        first = run_pass(services.db, services.blobs, settings)
        second = run_pass(services.db, services.blobs, settings)
    assert (first.reports, first.delivery.sent) == ([], 1)  # re-enqueued nothing, sent the one
    assert (second.reports, second.delivery.sent) == ([], 0)
    assert len(smtp_server.received) == 1
    assert "Trasig lampa vid gångtunneln" in parts(smtp_server.parsed()[0])["text"]


class CrashAfterAccept:
    """SMTP accepts the message, then the process dies before it can record that."""

    def __init__(self, inner: mail.Transport) -> None:
        self.inner = inner

    def send(self, message: bytes, sender: str, recipients: Any, ref: str) -> None:
        self.inner.send(message, sender, recipients, ref)
        raise SystemExit("killed")


def test_the_crash_window_resends_the_identical_message(
    world: World, settings: Settings, smtp_server: MailServer
) -> None:
    """The documented window: at least once, and then byte for byte the same message."""
    now = utcnow()
    transport = CrashAfterAccept(mail.SmtpTransport(mail.parse_smtp_url(smtp_server.url)))
    with pytest.raises(SystemExit):
        world.pass_(now=now, transport=transport)
    [row] = outbox(world.db)
    assert row["state"] == "pending" and row["attempts"] == 1  # claimed, not marked sent
    assert world.pass_(now=now + timedelta(minutes=1)).delivery.sent == 0  # backoff holds it
    assert world.pass_(now=now + timedelta(minutes=5)).delivery.sent == 1
    first, second = smtp_server.received
    assert first.content == second.content


def test_two_processes_delivering_at_once_send_one_copy(
    world: World, settings: Settings, smtp_server: MailServer
) -> None:
    enqueue_reports(world.db, world.server.services.blobs, settings, now=utcnow())
    other = Database(settings.database_path)  # another process's connection to the same file
    results: list[mail.Delivery] = []

    def deliver(db: Database) -> None:
        transport = mail.SmtpTransport(mail.parse_smtp_url(smtp_server.url))
        results.append(
            mail.deliver_due(
                db, transport, envelope_from="t@example.se", max_attempts=6, on_sent=record_sent
            )  # fmt: skip
        )

    threads = [threading.Thread(target=deliver, args=(db,)) for db in (world.db, other)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    other.close()
    assert sorted(r.sent for r in results) == [0, 1]
    assert len(smtp_server.received) == 1


def test_after_max_attempts_the_message_is_failed_and_listed(
    world: World, smtp_server: MailServer
) -> None:
    world.settings = world.settings.model_copy(update={"mail_max_attempts": 3})
    smtp_server.stop()
    now = utcnow()
    waits = []
    for _ in range(3):
        world.pass_(now=now)
        [row] = outbox(world.db)
        waits.append(parse_iso(row["next_attempt_at"]) - now)
        now = parse_iso(row["next_attempt_at"])
    assert waits[:2] == [timedelta(minutes=5), timedelta(minutes=30)]
    [row] = outbox(world.db)
    assert row["state"] == "failed" and row["attempts"] == 3
    [failed] = mail.failed_messages(world.db)
    assert failed.recipient == "felanmalan@obo.example.se" and failed.attempts == 3
    assert "cannot reach" in failed.last_error
    assert "Trygghetsvandring: 1 fynd att åtgärda" in failed.subject
    # The finding stays unsent in its history: the coordinator sees it and can act.
    status = world.server.rows("SELECT status FROM findings WHERE id = ?", world.findings["lamp"])
    assert status == [("received",)]
    smtp_server.start()
    assert world.pass_(now=now + timedelta(days=2)).delivery.sent == 0  # failed is final
    assert mail.retry_failed(world.db, failed.id, now=now + timedelta(days=2))  # by hand
    assert not mail.retry_failed(world.db, failed.id)  # pending now, not failed
    assert world.pass_(now=now + timedelta(days=2)).delivery.sent == 1
    assert mail.failed_messages(world.db) == [] and len(smtp_server.received) == 1


def test_a_mailbox_that_does_not_exist_fails_at_once(world: World, smtp_server: MailServer) -> None:
    smtp_server.refuse.add("felanmalan@obo.example.se")
    result = world.pass_()
    assert result.delivery.failed == 1
    [failed] = mail.failed_messages(world.db)
    assert failed.attempts == 1 and "550" in failed.last_error


def test_an_address_with_a_line_break_never_reaches_the_smtp_server(
    smtp_server: MailServer,
) -> None:
    # smtplib would send "a@b.se\r\nRCPT TO:<x@evil>" as two commands: refused before it.
    transport = mail.SmtpTransport(mail.parse_smtp_url(smtp_server.url))
    sneaky = "felanmalan@obo.example.se\r\nRCPT TO:<spion@example.net>"
    with pytest.raises(mail.PermanentDeliveryError, match="line break"):
        transport.send(b"Subject: x\r\n\r\nhej\r\n", "trygghet@example.se", [sneaky], "msg 1")
    assert smtp_server.received == []


def test_without_smtp_messages_become_eml_files(tmp_path: Path) -> None:
    settings = Settings(data_dir=tmp_path / "demo", public_url=PUBLIC, report_interval_s=0)
    app = create_app(settings, hasher=CHEAP_HASHER)
    with TestClient(app) as client:
        server = Server(app, client)
        world = World(server, server.enrol("phone"), settings, new_id())
        server.push(world.device, walks=[walk_json(world.walk_id, ended=True)])
        owner = add_owner(server.db, "Örebrobostäder AB", "felanmalan@obo.example.se")
        assign(server.db, world.push("lamp", note="Trasig lampa"), owner)
        result = world.pass_()
        assert result.delivery.sent == 1
        [eml] = sorted((settings.data_dir / "outbox").glob("*.eml"))
        message = BytesParser(policy=policy.default).parsebytes(eml.read_bytes())
        assert message["To"] == "felanmalan@obo.example.se"
        assert "Trasig lampa" in parts(message)["text"]
        assert outbox(server.db)[0]["state"] == "sent"
        kinds = server.rows("SELECT kind FROM events WHERE finding_id = ?", world.findings["lamp"])
        assert ("sent",) in kinds


# ---- the nearest address: a local Nominatim ---------------------------------------------------


class Nominatim:
    """Answers /reverse like Nominatim; records when each request came; can be made to fail."""

    def __init__(self) -> None:
        self.requests: list[tuple[float, dict[str, list[str]]]] = []
        self.mode = "ok"  # ok | empty | error | slow
        outer = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:  # noqa: N802
                query = parse_qs(urlsplit(self.path).query)
                outer.requests.append((time.monotonic(), query))
                if outer.mode == "slow":
                    time.sleep(2)
                if outer.mode == "error":
                    self.send_response(503)
                    self.end_headers()
                    return
                body = (
                    {"error": "Unable to geocode"}
                    if outer.mode == "empty"
                    else {
                        "display_name": "12, Storgatan, Centrum, Örebro, Örebro kommun, Sverige",
                        "lat": query["lat"][0],
                        "lon": query["lon"][0],
                        "address": {
                            "house_number": "12",
                            "road": "Storgatan",
                            "suburb": "Centrum",
                            "city": "Örebro",
                            "country": "Sverige",
                        },
                    }
                )
                data = json.dumps(body).encode()
                self.send_response(200)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            def log_message(self, *args: Any) -> None:
                pass

        self.httpd = ThreadingHTTPServer(("127.0.0.1", free_port()), Handler)
        self.url = f"http://127.0.0.1:{self.httpd.server_address[1]}/nominatim"
        threading.Thread(target=self.httpd.serve_forever, daemon=True).start()

    def close(self) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()


@pytest.fixture
def nominatim() -> Iterator[Nominatim]:
    server = Nominatim()
    yield server
    server.close()


def test_addresses_are_fetched_cached_and_rate_limited(
    tmp_path: Path, nominatim: Nominatim
) -> None:
    db = Database(tmp_path / "g.db")
    db.migrate()
    lookup = NominatimAddresses(db, nominatim.url, timeout_s=1, min_interval_s=1.0)
    assert lookup.address(LAT, LON) == "Storgatan 12, Örebro"
    assert lookup.address(LAT + 0.000001, LON) == "Storgatan 12, Örebro"  # same ~1 m cell
    assert lookup.address(LAT + 0.001, LON) == "Storgatan 12, Örebro"
    assert len(nominatim.requests) == 2  # the second was answered from the cache
    (t1, q1), (t2, _) = nominatim.requests
    assert t2 - t1 >= 0.95  # at most one request a second
    assert q1["lat"] == [f"{LAT}"] and q1["format"] == ["json"]
    # A new lookup object (a restart) still has the cache: no request.
    again = NominatimAddresses(db, nominatim.url, timeout_s=1)
    assert again.address(LAT, LON) == "Storgatan 12, Örebro" and len(nominatim.requests) == 2
    nominatim.mode = "empty"  # nothing there is an answer, cached too
    assert again.address(LAT + 0.002, LON) is None
    assert again.address(LAT + 0.002, LON) is None and len(nominatim.requests) == 3
    db.close()


@pytest.mark.parametrize("mode", ["error", "slow", "down"])
def test_a_failing_geocoder_means_no_address_and_the_report_goes_out(
    world: World, smtp_server: MailServer, nominatim: Nominatim, mode: str
) -> None:
    nominatim.mode = mode
    url = nominatim.url if mode != "down" else f"http://127.0.0.1:{free_port()}"
    lookup = NominatimAddresses(world.db, url, timeout_s=0.5, min_interval_s=0)
    for i in range(3):  # more findings: after the first failure the geocoder is left alone
        assign(world.db, world.push(f"more{i}", note=f"Fynd {i}"), world.owners["bo"])
    started = time.monotonic()
    result = world.pass_(addresses=lookup)
    assert time.monotonic() - started < 10
    assert result.delivery.sent == 1 and not result.errors
    assert len(nominatim.requests) <= 1 and lookup.requests == 1
    text = parts(smtp_server.parsed()[0])["text"]
    assert "Närmaste adress" not in text and "Trasig lampa" in text
    assert world.server.rows("SELECT COUNT(*) FROM geocode_cache") == [(0,)]  # not cached


def test_the_address_appears_in_the_mail(
    world: World, smtp_server: MailServer, nominatim: Nominatim
) -> None:
    world.settings = world.settings.model_copy(update={"geocoder_url": nominatim.url})
    world.pass_()
    text = parts(smtp_server.parsed()[0])["text"]
    assert "Närmaste adress: Storgatan 12, Örebro" in text


def test_address_formatting() -> None:
    assert format_address({"address": {"road": "Vivallagatan", "city": "Örebro"}}) == (
        "Vivallagatan, Örebro"
    )
    assert format_address({"display_name": "A, B, C, D"}) == "A, B, C"
    assert format_address({}) is None


def test_the_backoff_schedule() -> None:
    assert [mail.backoff(n) for n in (1, 2, 3, 4, 5, 9)] == [
        timedelta(minutes=5),
        timedelta(minutes=30),
        timedelta(hours=2),
        timedelta(hours=6),
        timedelta(hours=24),
        timedelta(hours=24),
    ]


def test_time_stamps_are_stored_as_utc(world: World) -> None:
    stamp = datetime.fromisoformat("2026-12-01T09:00:00+01:00")
    world.pass_(now=stamp)
    assert outbox(world.db)[0]["created_at"] == iso(stamp)


def test_a_name_typed_with_a_line_break_makes_a_one_line_subject() -> None:
    """A walk called "Kvällsvandring\\nVivalla" (the app accepts it) must not stop its mail."""
    message = mail.compose(
        sender="walkaudit@example.se", recipient="asa@obo.example.se",
        subject="Protokoll från Kvällsvandring\nVivalla\r\n2026-11-27", text="t", html="<p>h</p>",
    )  # fmt: skip
    assert message["Subject"] == "Protokoll från Kvällsvandring Vivalla 2026-11-27"
    assert b"\nVivalla" not in bytes(message)

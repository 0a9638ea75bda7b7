"""Reports to owners, end to end: real app, real SQLite, real JPEGs, a real SMTP server.

Each test reads the mail as the recipient's client would (email.parser, policy.default) and checks
what a caretaker would check: are these my findings, can I see the photos, does the link work,
does the PDF say åäö.
"""

from __future__ import annotations

import io
import re
import shutil
import subprocess
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from email.message import EmailMessage
from pathlib import Path
from typing import Any

import pytest
from PIL import Image

from sync_server.config import Settings
from sync_server.core.history import add_server_event
from sync_server.owners import links
from sync_server.reports import run as reports
from sync_server.reports.run import run_pass
from tests.server import mail_support
from tests.server.conftest import Device, Server, finding_json, sha
from tests.server.mail_support import MailServer, add_owner, assign, box
from walkaudit.model import EventKind, new_id, utcnow

smtp_server = mail_support.smtp_server  # the fixture
ARTIFACTS = Path(__file__).resolve().parents[2] / "_artifacts" / "mail"
PUBLIC = "https://trygg.example.se"
LON, LAT = 15.2066, 59.2743  # Örebro


def photo(seed: int, size: tuple[int, int] = (1600, 1200)) -> bytes:
    """A real JPEG that carries EXIF (camera, GPS) and XMP, as a careless upload might."""
    image = Image.new("RGB", size, (40 + seed * 30 % 200, 90, 140))
    # Grain, as in a real photo at night: it is what makes JPEGs big.
    image = Image.blend(image, Image.effect_noise(size, 60).convert("RGB"), 0.3)
    for i in range(12):
        x, y = (seed * 97 + i * 131) % size[0], (seed * 53 + i * 71) % size[1]
        image.paste((200, (i * 40) % 255, 60), (x, y, x + size[0] // 6, y + size[1] // 8))
    exif = Image.Exif()
    exif[0x010F] = "TestCam"  # Make
    exif[0x8825] = {1: "N", 2: (59.0, 16.0, 27.0)}  # GPS IFD
    out = io.BytesIO()
    xmp = b'<x:xmpmeta xmlns:x="adobe:ns:meta/"><rdf:RDF/></x:xmpmeta>'
    image.save(out, "JPEG", quality=85, exif=exif, xmp=xmp)
    return out.getvalue()


@dataclass
class World:
    """Two owners with findings each, a triage finding, and the walk they came from."""

    server: Server
    device: Device
    settings: Settings
    walk_id: str
    owners: dict[str, str] = field(default_factory=dict)
    findings: dict[str, str] = field(default_factory=dict)
    notes: dict[str, str] = field(default_factory=dict)
    photos: dict[str, list[bytes]] = field(default_factory=dict)

    @property
    def db(self) -> Any:
        return self.server.db

    def push(
        self,
        key: str,
        *,
        photos: int = 1,
        upload: bool = True,
        walk: str | None = None,
        **fields: Any,
    ) -> str:
        datas = [photo(len(self.findings) * 3 + i) for i in range(photos)]
        body = finding_json(walk_id=walk or self.walk_id, **fields)
        body["photos"] = [
            {"sha256": sha(d), "size": len(d), "width": 1600, "height": 1200} for d in datas
        ]
        self.server.push(self.device, findings=[body])
        if upload:
            for data in datas:
                assert self.server.upload(self.device, data) == 201
        self.findings[key], self.notes[key], self.photos[key] = body["id"], body["note"], datas
        return str(body["id"])

    def pass_(self, now: datetime | None = None, **kw: Any) -> reports.PassResult:
        return run_pass(self.db, self.server.services.blobs, self.settings, now=now, **kw)

    def end_walk(self, walk_id: str | None = None) -> None:
        walk = walk_json(walk_id or self.walk_id, ended=True)
        receipt = self.server.push(self.device, walks=[walk])
        assert receipt["records"][0]["result"] != "conflict", receipt


WALK_START = utcnow() - timedelta(hours=2)


def walk_json(walk_id: str, ended: bool = False) -> dict[str, Any]:
    start = WALK_START
    body: dict[str, Any] = {
        "id": walk_id,
        "name": "Kvällsvandring Vivalla",
        "area": "Vivalla",
        "started_at": start.isoformat(),
    }
    if ended:
        body["ended_at"] = (start + timedelta(hours=1)).isoformat()
    return body


@pytest.fixture
def settings(tmp_path: Path, smtp_server: MailServer) -> Settings:
    return Settings(
        data_dir=tmp_path / "server",
        smtp_url=smtp_server.url,
        mail_from="Trygghetsvandring Örebro <trygghet@example.se>",
        coordinator_email="samordnare@example.se",
        public_url=PUBLIC,
        report_interval_s=0,
    )


@pytest.fixture
def world(server: Server, device: Device, settings: Settings) -> World:
    w = World(server, device, settings, new_id())
    server.push(device, walks=[walk_json(w.walk_id, ended=False)])
    w.owners["bo"] = add_owner(
        server.db, "Örebrobostäder AB", "felanmalan@obo.example.se", area=box(LON, LAT)
    )
    w.owners["kommun"] = add_owner(
        server.db,
        "Örebro kommun, Tekniska förvaltningen",
        "gata@orebro.example.se",
        language="en",
        area=box(LON + 0.004, LAT),
    )
    for key, owner, note, category, extra in [
        ("lamp", "bo", "Trasig lampa vid gångtunneln – helt mörkt", "BEL", {"severity": "urgent"}),
        ("bush", "bo", "Buskage skymmer sikten vid lekplatsen", "VEG", {"severity": "medium"}),
        ("door", "bo", "Porten till källaren går inte att låsa", "SKA", {}),
        ("sign", "kommun", "Skylt mot Vivallaskolan saknas", "ORI", {"severity": "low"}),
        ("path", "kommun", "Gångvägen har stora hål – risk för fall", "GAN", {}),
        ("triage", None, "Oklart vem som äger muren här", "KLO", {}),
    ]:
        lon = LON + (0.004 if owner == "kommun" else 0) + len(w.findings) * 0.0003
        fid = w.push(key, note=note, category=category, longitude=lon, **extra)
        assign(server.db, fid, w.owners[owner] if owner else None)
    w.push("two-photos", photos=2, note="Klotter på båda sidor om bron", category="KLO")
    assign(server.db, w.findings["two-photos"], w.owners["bo"])
    return w


def parts(message: EmailMessage) -> dict[str, Any]:
    """What the recipient's client shows: text, HTML, inline images by cid, attachments."""
    inline, attachments = {}, {}
    for part in message.walk():
        if part.get_content_maintype() == "multipart":
            continue
        if part.get_content_disposition() == "attachment":
            attachments[part.get_filename()] = part
        elif part.get_content_type() == "image/jpeg":
            inline[str(part["Content-ID"]).strip("<>")] = part.get_content()
    text = message.get_body(("plain",))
    html = message.get_body(("html",))
    assert text is not None and html is not None
    return {
        "text": text.get_content(),
        "html": html.get_content(),
        "inline": inline,
        "attachments": attachments,
    }


def owner_link(text: str) -> str:
    found = re.findall(re.escape(PUBLIC) + r"/o/([A-Za-z0-9_-]+)", text)
    assert found, text
    return str(found[0])


def pdf_text(data: bytes, tmp_path: Path) -> str:
    # `make test` installs poppler-utils; without it the PDF would go unchecked, so fail.
    assert shutil.which("pdftotext"), "pdftotext (Debian: poppler-utils) is not installed"
    path = tmp_path / "protocol.pdf"
    path.write_bytes(data)
    out = subprocess.run(["pdftotext", "-layout", str(path), "-"], capture_output=True, check=True)
    return out.stdout.decode()


# ---- who gets what --------------------------------------------------------------------------


def test_each_owner_gets_exactly_their_findings_and_triage_goes_to_nobody(
    world: World, smtp_server: MailServer
) -> None:
    world.end_walk()
    result = world.pass_()
    assert result.delivery.sent == 3 and not result.errors, result.lines()
    assert sorted(tuple(r.rcpt_tos) for r in smtp_server.received) == [
        ("felanmalan@obo.example.se",),
        ("gata@orebro.example.se",),
        ("samordnare@example.se",),
    ]  # two reports and the coordinator's weekly summary
    [bo] = smtp_server.to("felanmalan@obo.example.se")
    [kommun] = smtp_server.to("gata@orebro.example.se")
    mine = {"bo": ["lamp", "bush", "door", "two-photos"], "kommun": ["sign", "path"]}
    for message, owner in ((bo, "bo"), (kommun, "kommun")):
        body = parts(message)
        for key, note in world.notes.items():
            expected = key in mine[owner]
            assert (note in body["text"]) is expected, (owner, key)
            assert (note in body["html"]) is expected, (owner, key)
    assert "Oklart vem som äger muren" not in str(smtp_server.received)
    assert bo["Subject"] == "Trygghetsvandring: 4 fynd att åtgärda – Örebrobostäder AB"
    assert kommun["Subject"].startswith("Safety walk: 2 findings to act on – Örebro kommun")
    assert bo["From"].addresses[0].addr_spec == "trygghet@example.se"
    assert bo["Reply-To"].addresses[0].addr_spec == "samordnare@example.se"


def test_the_swedish_mail_has_labels_position_deadline_and_map_link(
    world: World, smtp_server: MailServer
) -> None:
    world.end_walk()
    world.pass_()
    [bo] = smtp_server.to("felanmalan@obo.example.se")
    body = parts(bo)
    for text in (body["text"], body["html"]):
        for label in (
            "Belysning",
            "Vegetation och sikt",
            "Entréer och skalskydd",
            "Allvar",
            "Akut",
            "Åtgärda senast",
            "2027-05-31",
            "Position",
            "Visa på karta",
            "Fynd 1 av 4",
            "Öppna era fynd och svara",
        ):
            assert label in text, label
    lon = LON
    assert f"https://www.openstreetmap.org/?mlat={LAT:.6f}&mlon={lon:.6f}#map=18/" in body["text"]
    assert "mlat=59.274300&amp;mlon=15.206600" in body["html"]
    english = parts(smtp_server.to("gata@orebro.example.se")[0])
    assert "Wayfinding and signage" in english["text"] and "Act by: 2027-05-31" in english["text"]


def test_photos_are_inline_small_and_without_metadata(
    world: World, smtp_server: MailServer
) -> None:
    assert b"Exif" in world.photos["lamp"][0] and b"ns.adobe.com/xap" in world.photos["lamp"][0]
    world.end_walk()
    world.pass_()
    body = parts(smtp_server.to("felanmalan@obo.example.se")[0])
    cids = re.findall(r'src="cid:([^"]+)"', body["html"])
    assert len(cids) == 5  # one photo each, two for the graffiti
    assert sorted(cids) == sorted(body["inline"])
    for cid, jpeg in body["inline"].items():
        with Image.open(io.BytesIO(jpeg)) as im:
            assert im.format == "JPEG" and max(im.size) == 800, (cid, im.size)
            assert not im.getexif(), cid
            assert "exif" not in im.info and "xmp" not in im.info and "icc_profile" not in im.info
        assert b"Exif" not in jpeg and b"ns.adobe.com/xap" not in jpeg and b"TestCam" not in jpeg
        assert len(jpeg) < 200_000


def test_the_owner_link_opens_that_owners_page(world: World, smtp_server: MailServer) -> None:
    world.end_walk()
    world.pass_()
    for address, owner in (
        ("felanmalan@obo.example.se", "bo"),
        ("gata@orebro.example.se", "kommun"),
    ):
        body = parts(smtp_server.to(address)[0])
        token = owner_link(body["text"])
        assert f'href="{PUBLIC}/o/{token}"' in body["html"]
        assert links.resolve_link(world.db, token).owner_id == world.owners[owner]


def test_the_pdf_protocol_is_attached_and_says_aao(
    world: World, smtp_server: MailServer, tmp_path: Path
) -> None:
    world.end_walk()
    world.pass_()
    body = parts(smtp_server.to("felanmalan@obo.example.se")[0])
    [(name, part)] = body["attachments"].items()
    assert re.fullmatch(r"protokoll-trygghetsvandring-\d{4}-\d{2}-\d{2}\.pdf", name)
    assert part.get_content_type() == "application/pdf"
    data = part.get_content()
    assert data.startswith(b"%PDF-")
    text = pdf_text(data, tmp_path)
    for expected in (
        "Protokoll – trygghetsvandring",
        "Till: Örebrobostäder AB",
        "Trasig lampa vid gångtunneln – helt mörkt",
        "Åtgärda senast: 2027-05-31",
        "Karta över fynden",
        "Entréer och skalskydd – Hög",
        "Vegetation och sikt – Medel",
        "Sida 1 av",
    ):
        assert expected in text, expected
    assert "Oklart vem" not in text and "Skylt mot" not in text


def test_a_second_pass_sends_nothing_new_and_sent_is_in_the_history(
    world: World, smtp_server: MailServer
) -> None:
    world.end_walk()
    world.pass_()
    again = world.pass_()
    assert again.reports == [] and again.delivery.sent == 0
    assert len(smtp_server.received) == 3  # two reports, one weekly summary
    for key, fid in world.findings.items():
        events = world.server.rows(
            "SELECT kind, note FROM events WHERE finding_id = ? AND kind = 'sent'", fid
        )
        status = world.server.rows("SELECT status FROM findings WHERE id = ?", fid)[0][0]
        if key == "triage":
            assert events == [] and status == "received"
        else:
            assert len(events) == 1 and status == "sent", key
    [(note,)] = world.server.rows(
        "SELECT note FROM events WHERE finding_id = ? AND kind = 'sent'", world.findings["lamp"]
    )
    assert note == "felanmalan@obo.example.se"


# ---- when a report goes -----------------------------------------------------------------------


def test_nothing_goes_before_the_walk_ends_unless_it_was_left_open(
    world: World, smtp_server: MailServer
) -> None:
    assert world.pass_().reports == []
    later = utcnow() + timedelta(hours=world.settings.report_settle_hours, minutes=1)
    assert len(world.pass_(now=later).reports) == 2  # a walk never ended holds nothing for ever


def test_a_finding_waits_for_its_photos(world: World, smtp_server: MailServer) -> None:
    world.end_walk()
    world.pass_()
    walk_id = new_id()
    world.end_walk(walk_id)  # another walk, ended
    fid = world.push("late", upload=False, note="Sent synkat fynd", walk=walk_id)
    assign(world.db, fid, world.owners["bo"])
    assert world.pass_().reports == []  # its photo is not on the server yet
    assert world.server.upload(world.device, world.photos["late"][0]) == 201
    assert len(world.pass_().reports) == 1


def test_a_photo_that_never_arrives_holds_its_finding_only_until_the_settle_time(
    world: World, smtp_server: MailServer
) -> None:
    # The server refused the photo (it did not decode) or the phone was lost before uploading:
    # the owner still gets the finding, a day later, and the mail says a photo is missing.
    world.end_walk()
    world.pass_()
    walk_id = new_id()
    world.end_walk(walk_id)
    fid = world.push("late", upload=False, note="Foto kom aldrig fram", walk=walk_id)
    assign(world.db, fid, world.owners["bo"])
    assert world.pass_().reports == []  # waits for its photo at first
    later = utcnow() + timedelta(hours=world.settings.report_settle_hours, minutes=1)
    result = world.pass_(now=later)
    assert len(result.reports) == 1 and result.errors == [], result.lines()
    body = parts(smtp_server.to("felanmalan@obo.example.se")[-1])
    assert "Foto kom aldrig fram" in body["text"]
    assert "1 foto kunde inte läsas och saknas här." in body["text"]
    assert world.server.rows("SELECT status FROM findings WHERE id = ?", fid) == [("sent",)]


def test_late_findings_of_a_reported_walk_are_batched_daily(
    world: World, smtp_server: MailServer
) -> None:
    world.end_walk()
    world.pass_()
    fid = world.push("straggler", note="Synkades dagen efter")
    assign(world.db, fid, world.owners["bo"])
    assert world.pass_().reports == []
    tomorrow = utcnow() + timedelta(hours=world.settings.report_batch_hours, minutes=1)
    result = world.pass_(now=tomorrow)
    assert result.reports == ["Örebrobostäder AB <felanmalan@obo.example.se>: 1 findings"]
    latest = smtp_server.to("felanmalan@obo.example.se")[-1]
    assert "Synkades dagen efter" in parts(latest)["text"]
    assert "Trasig lampa" not in parts(latest)["text"]  # already reported


def test_a_category_contact_gets_its_own_mail(world: World, smtp_server: MailServer) -> None:
    assign(
        world.db, world.findings["two-photos"], world.owners["bo"], email="klotter@obo.example.se"
    )
    world.end_walk()
    world.pass_()
    [graffiti] = smtp_server.to("klotter@obo.example.se")
    assert "Klotter på båda sidor" in parts(graffiti)["text"]
    assert "Klotter på båda" not in parts(smtp_server.to("felanmalan@obo.example.se")[0])["text"]


def test_photos_go_by_link_when_the_mail_would_be_too_big(
    world: World, smtp_server: MailServer, tmp_path: Path
) -> None:
    world.settings = world.settings.model_copy(update={"mail_max_bytes": 450_000})
    world.end_walk()
    world.pass_()
    message = smtp_server.to("felanmalan@obo.example.se")[0]
    body = parts(message)
    assert body["inline"] == {} and "cid:" not in body["html"]
    assert "Fotona är för många för att få plats i e-posten" in body["text"]
    token = owner_link(body["text"])
    photo_sha = sha(world.photos["lamp"][0])
    assert f"{PUBLIC}/o/{token}/photos/{photo_sha}" in body["text"]
    assert f'href="{PUBLIC}/o/{token}/photos/{photo_sha}"' in body["html"]
    assert len(message.as_bytes()) <= 450_000
    assert "PDF-protokollet har inga foton" not in body["text"]  # the PDF still has them
    pdf = next(iter(body["attachments"].values())).get_content()
    assert pdf.count(b"/Subtype /Image") == 4  # the first photo of each of the four findings


def test_at_the_limit_the_pdf_goes_without_photos_and_says_so(
    world: World, smtp_server: MailServer
) -> None:
    world.settings = world.settings.model_copy(update={"mail_max_bytes": 120_000})
    world.end_walk()
    world.pass_()
    message = smtp_server.to("felanmalan@obo.example.se")[0]
    body = parts(message)
    assert body["inline"] == {} and "PDF-protokollet har inga foton" in body["text"]
    pdf = next(iter(body["attachments"].values())).get_content()
    assert b"/Subtype /Image" not in pdf and len(message.as_bytes()) <= 120_000


# ---- reminders and the weekly summary -------------------------------------------------------


def test_overdue_findings_get_one_reminder_per_interval(
    world: World, smtp_server: MailServer
) -> None:
    world.end_walk()
    world.pass_()
    assign(world.db, world.findings["lamp"], world.owners["bo"], deadline="2026-01-15")
    assign(world.db, world.findings["door"], world.owners["bo"], deadline="2026-01-20")
    start = datetime.fromisoformat("2026-02-01T09:00:00+01:00")
    first = world.pass_(now=start)
    assert first.reminders == ["Örebrobostäder AB <felanmalan@obo.example.se>: 2 overdue"]
    reminder = smtp_server.to("felanmalan@obo.example.se")[-1]
    assert reminder["Subject"] == "Påminnelse: 2 fynd har passerat sitt datum – Örebrobostäder AB"
    text = parts(reminder)["text"]
    assert "17 dagar efter sista dag (2026-01-15)" in text and "Porten till källaren" in text
    assert "Buskage" not in text  # not overdue
    token = owner_link(text)
    assert links.resolve_link(world.db, token, now=start).owner_id == world.owners["bo"]
    for days in (1, 7, 13):
        assert world.pass_(now=start + timedelta(days=days)).reminders == []
    with world.db.write() as tx:
        add_server_event(tx, world.findings["lamp"], EventKind.FIXED, actor="owner")
    second = world.pass_(now=start + timedelta(days=14, hours=1))
    assert second.reminders == ["Örebrobostäder AB <felanmalan@obo.example.se>: 1 overdue"]
    assert "Trasig lampa" not in parts(smtp_server.to("felanmalan@obo.example.se")[-1])["text"]
    kinds = world.server.rows(
        "SELECT kind FROM outbox WHERE owner_id = ? ORDER BY id", world.owners["bo"]
    )
    assert [k for (k,) in kinds] == ["report", "reminder", "reminder"]


def test_the_coordinator_gets_one_summary_a_week(world: World, smtp_server: MailServer) -> None:
    world.end_walk()
    monday = datetime.fromisoformat("2026-11-30T08:00:00+01:00")
    # On Monday of week 49 the lägesbild of week 48 (the last full week) goes out, once.
    assert world.pass_(now=monday).summary == "week 48 to samordnare@example.se"
    for later in (timedelta(hours=1), timedelta(days=3), timedelta(days=6, hours=15)):
        assert world.pass_(now=monday + later).summary is None
    assert world.pass_(now=monday + timedelta(days=7)).summary == "week 49 to samordnare@example.se"
    summaries = smtp_server.to("samordnare@example.se")
    assert [m["Subject"] for m in summaries] == [
        "Lägesbild trygghetsvandringar vecka 48 2026",
        "Lägesbild trygghetsvandringar vecka 49 2026",
    ]
    text = parts(summaries[0])["text"]
    assert "Utan ansvarig nu: 1" in text and "/c/summary?week=2026-W48" in text
    assert "Mejl som inte gick fram" not in text  # nothing failed
    [pdf] = [
        p for p in summaries[0].iter_attachments() if p.get_content_type() == "application/pdf"
    ]
    assert pdf.get_filename() == "lagesbild-2026-v48.pdf"
    # The same week sent by hand from /c/summary would not go out a second time.
    assert world.server.rows("SELECT count(*) FROM outbox WHERE dedupe_key LIKE 'lagesbild:%'") == [
        (2,)
    ]


# ---- the command and the server's periodic pass ---------------------------------------------


def test_send_reports_command(
    world: World, smtp_server: MailServer, monkeypatch: pytest.MonkeyPatch, capsys: Any
) -> None:
    from sync_server.cli.commands import main

    world.end_walk()
    for name, value in (
        ("SMTP_URL", smtp_server.url),
        ("MAIL_FROM", "trygghet@example.se"),
        ("PUBLIC_URL", PUBLIC),
    ):
        monkeypatch.setenv(f"WALKAUDIT_{name}", value)
    assert main(["--data", str(world.settings.data_dir), "send-reports"]) == 0
    err = capsys.readouterr().err
    assert "reports enqueued: 2" in err and "delivered: 2 sent, 0 to retry, 0 failed" in err
    assert len(smtp_server.received) == 2
    monkeypatch.setenv("WALKAUDIT_SMTP_URL", "smtp://user:hemligt@mail.example.se:25")
    assert main(["--data", str(world.settings.data_dir), "send-reports"]) == 2
    err = capsys.readouterr().err
    assert "unencrypted" in err and "hemligt" not in err


def test_serve_runs_the_pass_periodically(world: World, smtp_server: MailServer) -> None:
    from sync_server.app import create_app
    from tests.server.conftest import TestClient

    world.end_walk()
    app = create_app(world.settings.model_copy(update={"report_interval_s": 0.2}))
    with TestClient(app):
        received = smtp_server.wait_for(3, timeout=20)  # two reports and the weekly summary
    assert len(received) == 3


# ---- pictures for a person to look at ---------------------------------------------------------


@pytest.fixture
def artifacts() -> Iterator[Path]:
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    yield ARTIFACTS


def test_render_the_mail_and_the_pdf_to_png(
    world: World, smtp_server: MailServer, artifacts: Path, tmp_path: Path
) -> None:
    world.end_walk()
    world.pass_()
    message = smtp_server.to("felanmalan@obo.example.se")[0]
    body = parts(message)
    html = body["html"]
    for cid, jpeg in body["inline"].items():  # a browser cannot resolve cid: — use files
        (artifacts / f"{cid.partition('@')[0]}.jpg").write_bytes(jpeg)
        html = html.replace(f"cid:{cid}", f"{cid.partition('@')[0]}.jpg")
    (artifacts / "report.html").write_text(html, encoding="utf-8")
    (artifacts / "report.txt").write_text(body["text"], encoding="utf-8")
    pdf = next(iter(body["attachments"].values())).get_content()
    (artifacts / "protocol.pdf").write_bytes(pdf)
    if shutil.which("pdftoppm"):
        subprocess.run(
            [
                "pdftoppm",
                "-png",
                "-r",
                "70",
                str(artifacts / "protocol.pdf"),
                str(artifacts / "protocol"),
            ],
            check=True,
        )
        assert (artifacts / "protocol-1.png").exists()
    chromium = shutil.which("chromium")
    if chromium:
        subprocess.run(
            [
                chromium,
                "--headless",
                "--no-sandbox",
                "--disable-gpu",
                f"--screenshot={artifacts / 'report.png'}",
                "--window-size=412,3000",
                (artifacts / "report.html").as_uri(),
            ],
            check=True,
            capture_output=True,
            timeout=120,
        )
        assert (artifacts / "report.png").stat().st_size > 10_000


def test_a_lost_photo_file_leaves_the_report_without_it_and_says_so(
    world: World, smtp_server: MailServer, tmp_path: Path
) -> None:
    blob = world.server.services.blobs.path(sha(world.photos["lamp"][0]))
    blob.unlink()  # the row says stored, the file is gone (a restore from an old backup, say)
    world.end_walk()
    result = world.pass_()
    assert result.errors == [] and result.set_aside == [], result.lines()
    [bo] = smtp_server.to("felanmalan@obo.example.se")
    body = parts(bo)
    assert "Trasig lampa" in body["text"] and "Buskage skymmer" in body["text"]
    assert body["text"].count("1 foto kunde inte läsas och saknas här.") == 1
    assert "1 foto kunde inte läsas och saknas här." in body["html"]
    assert len(body["inline"]) == 4  # five photos, one of them lost
    pdf = next(iter(body["attachments"].values())).get_content()
    assert "Fotot kunde inte läsas" in pdf_text(pdf, tmp_path)
    status = world.server.rows("SELECT status FROM findings WHERE id = ?", world.findings["lamp"])
    assert status == [("sent",)]


def test_an_owner_who_said_not_ours_gets_it_again_when_the_coordinator_sends_it_back(
    world: World, smtp_server: MailServer
) -> None:
    from sync_server.owners import routing

    world.end_walk()
    world.pass_()
    lamp = world.findings["lamp"]
    before = len(smtp_server.to("felanmalan@obo.example.se"))
    with world.db.write() as tx:  # the caretaker answers "not ours" on the owner page
        add_server_event(tx, lamp, EventKind.NOT_OURS, actor=f"owner:{world.owners['bo']}")
        routing.reroute_to_triage(tx, lamp, "not_ours", "inte vår mark")
    # The coordinator checks the map: it is theirs after all.
    routing.set_owner(world.db, lamp, world.owners["bo"], note="er mark enligt kartan")
    world.pass_(now=utcnow() + timedelta(days=2))
    after = smtp_server.to("felanmalan@obo.example.se")
    assert len(after) == before + 1 and world.notes["lamp"] in parts(after[-1])["text"]
    assert world.server.rows("SELECT status FROM findings WHERE id = ?", lamp) == [("sent",)]
    world.pass_(now=utcnow() + timedelta(days=3))  # and only once
    assert len(smtp_server.to("felanmalan@obo.example.se")) == before + 1

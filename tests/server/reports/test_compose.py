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
from pathlib import Path

import pytest
from PIL import Image

from sync_server.owners import links
from tests.server.conftest import sha
from tests.server.mail_support import MailServer
from tests.server.reports.support import LAT, LON, PUBLIC, World, owner_link, parts, pdf_text

ARTIFACTS = Path(__file__).resolve().parents[2] / "_artifacts" / "mail"


@pytest.fixture
def artifacts() -> Iterator[Path]:
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    yield ARTIFACTS


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

"""What the reports' tests share: a world of two owners and their findings, and how a
recipient's client reads a mail (`parts`), its owner link and its PDF.

The `settings` and `world` fixtures are in this folder's conftest.py; the mail tests build their
own world from the same `World`.
"""

from __future__ import annotations

import io
import re
import shutil
import subprocess
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from email.message import EmailMessage
from pathlib import Path
from typing import Any

from PIL import Image

from sync_server.config import Settings
from sync_server.reports import PassResult, run_pass
from tests.server.conftest import Device, Server, finding_json, sha
from walkaudit.model import utcnow

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

    def pass_(self, now: datetime | None = None, **kw: Any) -> PassResult:
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

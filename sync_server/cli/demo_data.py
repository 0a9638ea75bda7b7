"""Demo data: one evening safety walk in Örebro with findings, photos, a track and follow-ups.

Seeded through the server's own ingest functions and blob store, with fixed ids, so seeding twice
changes nothing.
"""

from __future__ import annotations

import hashlib
import io
import uuid
from dataclasses import dataclass
from datetime import datetime, timedelta

from PIL import Image, ImageDraw

from sync_server.core import history
from sync_server.core.blobs import BlobStore
from sync_server.core.db import Database
from sync_server.core.files import DEMO_PHOTOS
from sync_server.field import ingest
from sync_server.field.devices import register_device
from sync_server.field.photos import record_stored
from walkaudit.model import EventKind, Finding, Photo, PushRequest, TrackPoint, Walk

START = datetime.fromisoformat("2026-11-24T18:00:00+01:00")
CENTRE = (59.2743, 15.2066)


def demo_id(n: int) -> str:
    """A fixed UUIDv7 for demo record n (same on every run, so seeding is idempotent)."""
    ms = int(START.timestamp() * 1000) + n
    value = (ms << 80) | (0x7 << 76) | (0b10 << 62) | (0xDE30 << 32) | n
    return str(uuid.UUID(int=value))


DEVICE_ID = demo_id(0)
WALK_ID = demo_id(1)

# (category, severity, metres north, metres east, minutes into the walk, note, photo index)
FINDINGS: list[tuple[str, str, float, float, int, str, int | None]] = [
    ("BEL", "high", 120, -80, 6, "Gatlampan vid gångtunneln är trasig – helt mörkt efter 16.", 0),
    ("VEG", "medium", 180, 20, 11, "Buskarna längs gångvägen skymmer sikten mot parkeringen.", 1),
    ("KLO", "low", 230, 140, 15, "Klotter på elskåpet vid busshållplatsen.", 2),
    ("SKR", "medium", 160, 260, 21, "Överfulla papperskorgar och glas vid lekplatsen.", 3),
    ("TRA", "high", 40, 320, 27, "Trasigt staket mot ån, en öppning på cirka två meter.", 4),
    ("SKA", "urgent", -60, 220, 34, "Porten till trapphus B går inte i lås.", 5),
    ("ORI", "low", -120, 60, 40, "Skylten mot stationen saknas i korsningen.", None),
    ("POS", "low", -40, -120, 47, "Nya belysningen i parken upplevs som trygg – värna den.", None),
]
# (finding index, event kind, actor, note, minutes after the walk started)
FOLLOW_UPS: list[tuple[int, EventKind, str, str, int]] = [
    (0, EventKind.SENT, "Samordnare (demo)", "Skickat till Örebro kommun, gatuenheten.", 90),
    (0, EventKind.ACKNOWLEDGED, "Örebro kommun (demo)", "Felanmälan mottagen.", 1500),
    (2, EventKind.SENT, "Samordnare (demo)", "Skickat till fastighetsägaren.", 95),
    (2, EventKind.FIXED, "Fastighetsägare (demo)", "Klottret är sanerat.", 2900),
    (4, EventKind.PLANNED, "Samordnare (demo)", "Lagas vecka 49.", 1600),
]


@dataclass(frozen=True)
class DemoSummary:
    """What the demo data directory holds after seeding."""

    device_id: str
    walk_id: str
    findings: int
    photos: int


def _position(north_m: float, east_m: float) -> tuple[float, float]:
    lat0, lon0 = CENTRE
    return lat0 + north_m / 111_320, lon0 + east_m / 56_900  # metres per degree at 59.27° N


def demo_photos() -> list[bytes]:
    """The demo JPEGs from assets/demo, or generated ones when the assets are not installed."""
    files = sorted(DEMO_PHOTOS.glob("demo-*.jpg"))
    if files:
        return [path.read_bytes() for path in files]
    photos = []
    for i, colour in enumerate(["#2b4162", "#385f71", "#d7b377", "#8f754f", "#6b9080", "#a4c3b2"]):
        image = Image.new("RGB", (640, 480), colour)
        ImageDraw.Draw(image).text((24, 24), f"walkaudit demo photo {i + 1}", fill="white")
        buffer = io.BytesIO()
        image.save(buffer, "JPEG", quality=80)
        photos.append(buffer.getvalue())
    return photos


def _photo(data: bytes) -> Photo:
    with Image.open(io.BytesIO(data)) as image:
        width, height = image.size
    return Photo(
        sha256=hashlib.sha256(data).hexdigest(), size=len(data), width=width, height=height
    )


def demo_batch(photos: list[bytes]) -> PushRequest:
    """The walk, its findings and its track, as the demo phone would push them."""
    walk = Walk(
        id=WALK_ID,
        name="Kvällsvandring centrala Örebro (demo)",
        area="Centrum",
        started_at=START,
        ended_at=START + timedelta(minutes=55),
    )
    findings = []
    for n, (category, severity, north, east, minute, note, photo) in enumerate(FINDINGS):
        lat, lon = _position(north, east)
        findings.append(
            Finding.model_validate(
                {
                    "id": demo_id(10 + n),
                    "walk_id": WALK_ID,
                    "category": category,
                    "severity": severity,
                    "note": note,
                    "latitude": round(lat, 6),
                    "longitude": round(lon, 6),
                    "accuracy": 6.0,
                    "captured_at": START + timedelta(minutes=minute),
                    "photos": [_photo(photos[photo % len(photos)])] if photo is not None else [],
                }
            )
        )
    route = [(0.0, -160.0), *((f[2], f[3]) for f in FINDINGS), (0.0, -160.0)]
    track = []
    for i, ((n0, e0), (n1, e1)) in enumerate(zip(route, route[1:], strict=False)):
        for step in range(4):
            lat, lon = _position(n0 + (n1 - n0) * step / 4, e0 + (e1 - e0) * step / 4)
            t = START + timedelta(minutes=i * 6, seconds=step * 90)
            track.append(TrackPoint(walk_id=WALK_ID, t=t, latitude=lat, longitude=lon, accuracy=8))
    return PushRequest(walks=[walk], findings=findings, track=track)


def seed_demo(db: Database, blobs: BlobStore) -> DemoSummary:
    """Put the demo walk into this data directory (idempotent: a second run adds nothing)."""
    device = register_device(db, DEVICE_ID, "Demo: trygghetsvandring Örebro", now=START)
    photos = demo_photos()
    batch = demo_batch(photos)
    receipt = ingest.push(db, blobs, device, batch, now=START + timedelta(minutes=60))
    for data in photos:
        sha256 = hashlib.sha256(data).hexdigest()
        if not blobs.exists(sha256):
            offset = blobs.partial_size(sha256)
            blobs.append(sha256, offset, [data[offset:]])
            blobs.finalize(sha256)
        record_stored(db, blobs, sha256)
    with db.write() as tx:
        for n, (index, kind, actor, note, minutes) in enumerate(FOLLOW_UPS):
            history.add_server_event(
                tx,
                demo_id(10 + index),
                kind,
                at=START + timedelta(minutes=minutes),
                actor=actor,
                note=note,
                event_id=demo_id(100 + n),
            )
    return DemoSummary(DEVICE_ID, WALK_ID, len(batch.findings), len(receipt.photos))

"""Shared fixtures: real SQLite stores in temp directories and real JPEG photos."""

from __future__ import annotations

import hashlib
import io
import random
from dataclasses import dataclass
from pathlib import Path

import pytest
from PIL import Image

from walkaudit import model
from walkaudit.store import Store

TEST_DATA = Path(__file__).parent / "data"

# The coordinator web's signed-in clients (`staff`); pytest takes plugins from this file only.
pytest_plugins = ["tests.server.workspace_support"]


@dataclass(frozen=True)
class MadePhoto:
    """A real JPEG with the attributes the store needs (what media.ProcessedPhoto offers)."""

    jpeg: bytes
    thumbnail: bytes
    width: int
    height: int
    sha256: str
    source_name: str


def make_photo(seed: int = 0, size: tuple[int, int] = (640, 480), noise: bool = False) -> MadePhoto:
    """A real JPEG (different for each seed); with noise=True it barely compresses (big files)."""
    rng = random.Random(seed)
    if noise:
        img = Image.frombytes("RGB", size, rng.randbytes(size[0] * size[1] * 3))
    else:
        img = Image.new("RGB", size, (rng.randrange(256), rng.randrange(256), rng.randrange(256)))
        for _ in range(20):
            x, y = rng.randrange(size[0]), rng.randrange(size[1])
            img.paste((rng.randrange(256), 0, rng.randrange(256)), (x, y, x + 40, y + 40))
    buf = io.BytesIO()
    img.save(buf, "JPEG", quality=85)
    thumb = io.BytesIO()
    img.resize((160, 120)).save(thumb, "JPEG")
    data = buf.getvalue()
    return MadePhoto(
        data,
        thumb.getvalue(),
        size[0],
        size[1],
        hashlib.sha256(data).hexdigest(),
        f"photo-{seed}.jpg",
    )


def make_finding(**over: object) -> model.Finding:
    """A valid finding in Örebro; override any field."""
    fields: dict[str, object] = dict(
        id=model.new_id(),
        category="BEL",
        severity="high",
        note="Trasig lampa vid gångtunneln",
        latitude=59.2743,
        longitude=15.2066,
        accuracy=4.0,
        captured_at=model.utcnow(),
    )
    fields.update(over)
    return model.Finding.model_validate(fields)


@pytest.fixture
def store(tmp_path: Path) -> Store:
    s = Store.open(tmp_path / "device", orphan_grace_s=0)
    yield s
    s.close()

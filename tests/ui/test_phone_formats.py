"""A HEIC or WebP photo chosen from the gallery on a phone: said at once, the others kept.

A phone's Pillow has no WebP and there is no pillow-heif on a phone (../shared/notes/phone.md).
Here pillow-heif is made unimportable for the test, as it is in the phone bundle; the WebP case
is shown in tests/test_media.py with Pillow's WebP module taken away in a child process.
"""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

from tests.conftest import make_photo
from walkaudit.media import opening

from .harness import Harness, explained, play
from .test_new_finding import Camera, new_finding, start_walk, strip_keys

HEIC = Path(__file__).resolve().parents[1] / "data" / "photos" / "phone" / "iphone_13_pro_max.HEIC"


def test_a_heic_from_the_gallery_is_refused_with_a_reason_and_the_jpeg_beside_it_is_kept(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setitem(sys.modules, "pillow_heif", None)  # as on a phone: not installed
    monkeypatch.setattr(opening, "_heif_ready", False)
    explained(tmp_path)
    heic, jpeg = HEIC.read_bytes(), make_photo(3).jpeg
    picked = [
        {"id": 1, "name": "IMG_0412.HEIC", "size": len(heic), "bytes": heic},
        {"id": 2, "name": "IMG_0413.jpg", "size": len(jpeg), "bytes": jpeg},
    ]
    results = Camera().results() | {("FilePicker", "pick_files"): picked}

    async def scenario() -> None:
        h = await Harness.start(tmp_path, results)
        await start_walk(h)
        await new_finding(h)
        await h.click("pick-photo")
        await h.until(lambda: strip_keys(h) == ["photo-remove-0"])
        said = [
            d.content.value
            for d in h.page._dialogs.controls
            if type(d).__name__ == "SnackBar" and d.open
        ]
        assert said == [
            "IMG_0412.HEIC är en HEIC-bild, som telefonen inte kan läsa. Ta fotot med kameran"
            " eller välj en JPEG-bild."
        ]
        await h.close()

    play(scenario)

"""The photo pipeline, on real camera/phone photos (tests/data/photos, see ATTRIBUTION.md) and on
generated files: upright, metadata-free, right size, right position and time, clear errors."""

from __future__ import annotations

import hashlib
import io
import random
import struct
import subprocess
import sys
import zlib
from collections.abc import Callable
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import pillow_heif
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from PIL import Image, ImageChops, ImageCms, ImageDraw, ImageStat, JpegImagePlugin

from walkaudit import media
from walkaudit.media import GpsFix, ProcessedPhoto, opening, process_photo, read_exif_fix

PHOTOS = Path(__file__).parent / "data" / "photos"
NOKIA = PHOTOS / "phone" / "HMD_Nokia_8.3_5G.jpg"  # 4608 x 1976, GPS, OffsetTimeOriginal
HEIC = PHOTOS / "phone" / "iphone_13_pro_max.HEIC"  # 3024 x 4032 after the container's rotation
STOCKHOLM = ZoneInfo("Europe/Stockholm")


def dms(degrees: float, minutes: float, seconds: float) -> float:
    return degrees + minutes / 60 + seconds / 3600


def picture(data: bytes) -> Image.Image:
    im = Image.open(io.BytesIO(data))
    im.load()
    return im


def mad(a: Image.Image, b: Image.Image) -> float:
    """Mean absolute difference of two pictures, as 32 x 32 greyscale (0..255)."""
    small_a, small_b = (im.convert("L").resize((32, 32), Image.Resampling.BOX) for im in (a, b))
    return ImageStat.Stat(ImageChops.difference(small_a, small_b)).mean[0]


@pytest.fixture(scope="module")
def nokia() -> ProcessedPhoto:
    return process_photo(NOKIA)


@pytest.fixture(scope="module")
def heic() -> ProcessedPhoto:
    return process_photo(HEIC)


# ---- upright ---------------------------------------------------------------------------------


@pytest.mark.parametrize("kind", ["landscape", "portrait"])
@pytest.mark.parametrize("orientation", range(1, 9))
def test_every_exif_orientation_comes_out_upright(kind: str, orientation: int) -> None:
    # Each set is one picture saved with each orientation value: upright, all must look like _1.
    reference = picture(process_photo(PHOTOS / "orientation" / f"{kind}_1.jpg").jpeg)
    path = PHOTOS / "orientation" / f"{kind}_{orientation}.jpg"
    out = picture(process_photo(path).jpeg)
    assert out.size == reference.size
    assert mad(out, reference) < 6
    if orientation > 1:  # the test can fail: without the rotation the picture is far off
        assert mad(Image.open(path), reference) > 20


def test_heic_from_an_iphone_is_upright_portrait(heic: ProcessedPhoto) -> None:
    # Held upright, stored sideways (the container rotates it): the upload must be portrait.
    assert (heic.width, heic.height) == (1536, 2048)
    assert picture(heic.jpeg).size == (1536, 2048)
    assert heic.gps is None  # this photo has no position
    assert heic.captured_at == datetime(
        2022, 2, 16, 12, 55, 41, 762000, timezone(timedelta(hours=1))
    )


# ---- no metadata -----------------------------------------------------------------------------


def jpeg_segments(data: bytes) -> list[int]:
    """The marker of every segment before the picture data (SOS)."""
    markers, at = [], 2
    while data[at + 1] != 0xDA:
        markers.append(data[at + 1])
        at += 2 + struct.unpack(">H", data[at + 2 : at + 4])[0]
    return markers


def assert_no_metadata(data: bytes) -> None:
    im = picture(data)
    assert im.format == "JPEG" and im.mode == "RGB"
    assert not im.getexif()
    assert not {"exif", "xmp", "icc_profile", "comment", "photoshop"} & im.info.keys()
    for needle in (b"Exif", b"http://ns.adobe.com/xap", b"ICC_PROFILE", b"Photoshop"):
        assert needle not in data
    # Only JFIF (APP0) and what the picture needs; no APP1..APP15 and no comment (COM).
    assert not [m for m in jpeg_segments(data) if 0xE1 <= m <= 0xEF or m == 0xFE]


@pytest.mark.parametrize(
    "path",
    [
        "orientation/landscape_6.jpg",  # EXIF + ICC profile
        "orientation/landscape_1.jpg",  # EXIF + XMP + Photoshop
        "gps/DSCN0010.jpg",  # EXIF with GPS + XMP
        "invalid/image01137.jpg",  # odd XMP
        "phone/45-gps_ifd.jpg",  # MPO (second image) + odd GPS pointer
    ],
)
def test_upload_copy_and_thumbnail_carry_no_metadata(path: str) -> None:
    result = process_photo(PHOTOS / path)
    assert_no_metadata(result.jpeg)
    assert_no_metadata(result.thumbnail)


def test_phone_photos_lose_gps_and_colour_profile(
    nokia: ProcessedPhoto, heic: ProcessedPhoto
) -> None:
    for result in (nokia, heic):
        assert_no_metadata(result.jpeg)
        assert_no_metadata(result.thumbnail)


def test_comment_and_xmp_written_by_an_app_are_dropped() -> None:
    source = io.BytesIO()
    xmp = b'<x:xmpmeta xmlns:x="adobe:ns:meta/"><rdf:RDF xmlns:xmp="http://ns.adobe.com/xap/1.0/"/>'
    gradient(200, 100).save(
        source, "JPEG", comment=b"Kalle, Storgatan 3", xmp=xmp + b"</x:xmpmeta>"
    )
    assert b"Storgatan" in source.getvalue()
    result = process_photo(source.getvalue(), name="edited.jpg")
    assert_no_metadata(result.jpeg)
    assert b"Storgatan" not in result.jpeg


# ---- position and time -----------------------------------------------------------------------

# Hand-computed from the EXIF rationals (degrees, minutes, seconds); the places are known:
# the Nikon photos are in Tuscany, the Nokia photo in Helsinki (and its offset, +03:00, is EEST).
KNOWN = {
    "gps/DSCN0010.jpg": (
        dms(43, 28, 2.814),
        dms(11, 53, 6.456),
        datetime(2008, 10, 22, 16, 28, 39, tzinfo=STOCKHOLM),
    ),
    "gps/DSCN0042.jpg": (
        dms(43, 27, 52.038),
        dms(11, 52, 53.322),
        datetime(2008, 10, 22, 17, 0, 7, tzinfo=STOCKHOLM),
    ),
    "phone/HMD_Nokia_8.3_5G.jpg": (
        dms(60, 8, 48.14),
        dms(24, 54, 24.38),
        datetime(2022, 8, 14, 14, 12, 31, tzinfo=timezone(timedelta(hours=3))),
    ),
}


@pytest.mark.parametrize("path", sorted(KNOWN))
def test_position_and_capture_time_from_real_photos(path: str) -> None:
    lat, lon, when = KNOWN[path]
    for gps, captured_at in (read_exif_fix(PHOTOS / path), _fix(process_photo(PHOTOS / path))):
        assert gps is not None
        assert gps.latitude == pytest.approx(lat, abs=1e-6)
        assert gps.longitude == pytest.approx(lon, abs=1e-6)
        assert gps.accuracy is None  # these cameras do not write GPSHPositioningError
        assert captured_at == when and captured_at.utcoffset() is not None


def _fix(result: ProcessedPhoto) -> tuple[GpsFix | None, datetime | None]:
    return result.gps, result.captured_at


def test_places_are_where_the_photos_were_taken() -> None:
    tuscany, helsinki = read_exif_fix(PHOTOS / "gps/DSCN0010.jpg")[0], read_exif_fix(NOKIA)[0]
    assert tuscany and 43 < tuscany.latitude < 44 and 11 < tuscany.longitude < 12.5
    assert (
        helsinki and abs(helsinki.latitude - 60.17) < 0.05 and abs(helsinki.longitude - 24.94) < 0.1
    )


def test_gps_ifd_pointer_with_count_zero_means_no_position() -> None:
    # 45-gps_ifd.jpg: the GPSInfo tag has count 0 and points at the Exif IFD. Reading that as GPS
    # would give nonsense; there is no position, and the capture time (no offset) is Swedish time.
    gps, captured_at = read_exif_fix(PHOTOS / "phone/45-gps_ifd.jpg")
    assert gps is None
    assert captured_at == datetime(2012, 6, 23, 6, 55, 49, tzinfo=STOCKHOLM)
    assert captured_at.utcoffset() == timedelta(hours=2)  # summer time


def test_read_exif_fix_does_not_decode_the_picture() -> None:
    # Half of the file is missing: decoding would fail, but the header (EXIF) is all it reads.
    half = NOKIA.read_bytes()[: NOKIA.stat().st_size // 2]
    gps, captured_at = read_exif_fix(half, name="half.jpg")
    assert gps is not None and captured_at is not None
    with pytest.raises(media.BrokenPhotoError):
        process_photo(half, name="half.jpg")


# Hand-built EXIF (little-endian TIFF) for the oddities real files have.
ASCII, SHORT, LONG, RATIONAL = 2, 3, 4, 5


def entry(tag: int, kind: int, value: Any) -> tuple[int, int, bytes, int]:
    if kind == ASCII:
        raw = str(value).encode() + b"\0"
        return tag, kind, raw, len(raw)
    if kind == RATIONAL:
        pairs = list(value)
        return tag, kind, b"".join(struct.pack("<II", n, d) for n, d in pairs), len(pairs)
    return tag, kind, struct.pack("<H" if kind == SHORT else "<I", value), 1


def ifd(entries: list[tuple[int, int, bytes, int]], at: int) -> bytes:
    data_at = at + 2 + 12 * len(entries) + 4
    head, data = [struct.pack("<H", len(entries))], b""
    for tag, kind, raw, count in sorted(entries):
        if len(raw) <= 4:
            head.append(struct.pack("<HHI", tag, kind, count) + raw.ljust(4, b"\0"))
        else:
            head.append(struct.pack("<HHII", tag, kind, count, data_at + len(data)))
            data += raw
    return b"".join(head) + b"\0\0\0\0" + data


def exif(
    gps: list | None = None,
    dates: list | None = None,
    gps_at: int | None = None,
    orientation: int = 1,
) -> bytes:
    def ifd0(exif_at: int, gps_ptr: int) -> bytes:
        entries = [entry(0x0112, SHORT, orientation), entry(0x8769, LONG, exif_at)]
        return ifd([*entries, entry(0x8825, LONG, gps_ptr)] if gps is not None else entries, 8)

    exif_at = 8 + len(ifd0(0, 0))
    exif_ifd = ifd(dates or [], exif_at)
    gps_ifd = ifd(gps, exif_at + len(exif_ifd)) if gps is not None else b""
    pointer = exif_at + len(exif_ifd) if gps_at is None else gps_at
    return b"Exif\0\0II*\0" + struct.pack("<I", 8) + ifd0(exif_at, pointer) + exif_ifd + gps_ifd


def gradient(w: int, h: int) -> Image.Image:
    """An asymmetric picture (any wrong rotation or flip shows)."""
    im = Image.linear_gradient("L").resize((w, h)).convert("RGB")
    ImageDraw.Draw(im).rectangle((0, 0, w // 3, h // 4), fill=(250, 30, 30))
    return im


def with_exif(raw: bytes, size: tuple[int, int] = (120, 90)) -> bytes:
    out = io.BytesIO()
    gradient(*size).save(out, "JPEG", exif=raw)
    return out.getvalue()


OREBRO = [  # 59°16'27.5"N 15°12'23.8"E, ±5 m
    entry(1, ASCII, "N"),
    entry(2, RATIONAL, [(59, 1), (16, 1), (275, 10)]),
    entry(3, ASCII, "E"),
    entry(4, RATIONAL, [(15, 1), (12, 1), (238, 10)]),
    entry(31, RATIONAL, [(5, 1)]),
]


def replaced(tag: int, kind: int, value: object) -> list:
    return [e for e in OREBRO if e[0] != tag] + [entry(tag, kind, value)]


def test_gps_with_accuracy_and_southern_western_refs() -> None:
    gps, _ = read_exif_fix(with_exif(exif(OREBRO)))
    assert gps and gps.accuracy == 5.0
    assert (gps.latitude, gps.longitude) == pytest.approx((dms(59, 16, 27.5), dms(15, 12, 23.8)))
    south_west = [e for e in OREBRO if e[0] not in (1, 3)] + [
        entry(1, ASCII, "S"),
        entry(3, ASCII, "W"),
    ]
    gps, _ = read_exif_fix(with_exif(exif(south_west)))
    assert gps and gps.latitude == pytest.approx(-dms(59, 16, 27.5))
    assert gps.longitude == pytest.approx(-dms(15, 12, 23.8))


@pytest.mark.parametrize(
    "gps, gps_at",
    [
        (replaced(2, RATIONAL, [(59, 1), (16, 1), (275, 0)]), None),  # zero denominator
        ([e for e in OREBRO if e[0] != 1], None),  # no N/S: the hemisphere is unknown
        (OREBRO + [entry(9, ASCII, "V")], None),  # the receiver says the measurement is void
        (replaced(2, RATIONAL, [(59, 1), (75, 1), (0, 1)]), None),  # 75 minutes
        (replaced(2, RATIONAL, [(95, 1)]), None),  # latitude 95°
        (replaced(2, ASCII, "59.27"), None),  # text where numbers belong
        (OREBRO, 10_000),  # the GPS IFD pointer points past the end of the data
        (OREBRO, 8),  # … or at IFD0
    ],
)
@pytest.mark.filterwarnings("ignore:Corrupt EXIF data")  # Pillow's, for the wild pointer
def test_bad_gps_tags_mean_no_position_not_an_error(gps: list, gps_at: int | None) -> None:
    data = with_exif(exif(gps, gps_at=gps_at))
    result = process_photo(data, name="odd.jpg")
    assert result.gps is None
    assert read_exif_fix(data)[0] == result.gps
    assert_no_metadata(result.jpeg)


def test_zero_zero_position_is_no_position() -> None:
    zero = replaced(2, RATIONAL, [(0, 1)])
    zero = [e for e in zero if e[0] != 4] + [entry(4, RATIONAL, [(0, 1)])]
    assert read_exif_fix(with_exif(exif(zero)))[0] is None


def test_broken_accuracy_keeps_the_position() -> None:
    gps, _ = read_exif_fix(with_exif(exif(replaced(31, RATIONAL, [(5, 0)]))))
    assert gps and gps.accuracy is None and gps.latitude == pytest.approx(dms(59, 16, 27.5))


@pytest.mark.parametrize(
    "tags, expected",
    [
        ({0x9003: "2026:01:15 18:03:00"}, datetime(2026, 1, 15, 18, 3, tzinfo=STOCKHOLM)),
        ({0x9003: "2026:07:15 18:03:00"}, datetime(2026, 7, 15, 18, 3, tzinfo=STOCKHOLM)),
        (
            {0x9003: "2026:07:15 18:03:00", 0x9011: "-05:00"},
            datetime(2026, 7, 15, 18, 3, tzinfo=timezone(timedelta(hours=-5))),
        ),
        (
            {0x9003: "2026:07:15 18:03:00", 0x9011: "+25:00"},  # nonsense offset: Swedish time
            datetime(2026, 7, 15, 18, 3, tzinfo=STOCKHOLM),
        ),
        (
            {0x9003: "2026:07:15 18:03:00", 0x9291: "25"},
            datetime(2026, 7, 15, 18, 3, 0, 250000, tzinfo=STOCKHOLM),
        ),
        ({0x9003: "0000:00:00 00:00:00"}, None),
        ({0x9003: "    :  :     :  :  "}, None),
        ({0x9004: "2026:01:15 18:03:00"}, datetime(2026, 1, 15, 18, 3, tzinfo=STOCKHOLM)),
    ],
)
def test_capture_time(tags: dict[int, str], expected: datetime | None) -> None:
    _, captured_at = read_exif_fix(
        with_exif(exif(dates=[entry(t, ASCII, v) for t, v in tags.items()]))
    )
    assert captured_at == expected
    if captured_at is not None:
        assert expected and captured_at.utcoffset() == expected.utcoffset()


def test_stockholm_time_without_a_tz_database(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(sys.modules, "zoneinfo", None)  # as on a phone without tzdata
    # Around the 2026 switches (29 March 02:00 -> 03:00, 25 October 03:00 -> 02:00): the fallback
    # must agree with the tz database.
    for text in ["01-15 12:00", "03-29 01:59", "03-29 03:00", "10-25 01:59", "10-25 03:00"]:
        dates = [entry(0x9003, ASCII, f"2026:{text.replace('-', ':')}:00")]
        _, when = read_exif_fix(with_exif(exif(dates=dates)))
        naive = datetime.strptime(f"2026-{text}", "%Y-%m-%d %H:%M")
        assert when and when.utcoffset() == naive.replace(tzinfo=STOCKHOLM).utcoffset(), text


# ---- size ------------------------------------------------------------------------------------


def test_big_phone_photo_is_shrunk_to_max_edge(nokia: ProcessedPhoto) -> None:
    assert (nokia.width, nokia.height) == (2048, 878)
    assert picture(nokia.jpeg).size == (2048, 878)
    assert max(picture(nokia.thumbnail).size) == 320
    assert nokia.source_name == "HMD_Nokia_8.3_5G.jpg"
    photo = nokia.to_photo()
    assert (photo.size, photo.width, photo.height) == (len(nokia.jpeg), 2048, 878)
    assert photo.sha256 == nokia.sha256 == hashlib.sha256(nokia.jpeg).hexdigest()


def test_max_edge_and_thumb_edge_are_configurable() -> None:
    result = process_photo(NOKIA.read_bytes(), name="IMG_1.jpg", max_edge=1000, thumb_edge=100)
    assert (result.width, result.height) == (1000, 429) == picture(result.jpeg).size
    assert picture(result.thumbnail).size == (100, 43)
    assert result.source_name == "IMG_1.jpg"


def test_small_photo_is_not_upscaled() -> None:
    result = process_photo(PHOTOS / "gps/DSCN0010.jpg")
    assert (result.width, result.height) == (640, 480)
    assert picture(result.thumbnail).size == (320, 240)
    tiny = process_photo(PHOTOS / "invalid/image01551.jpg")  # 61 x 58
    assert picture(tiny.jpeg).size == picture(tiny.thumbnail).size == (61, 58)


@pytest.mark.parametrize(
    "size, decoded, out",
    [
        ((4094, 64), 2047, 2047),  # 1/2 lands at 2047, within [1600, 2048]: no resize
        ((4096, 64), 2048, 2048),  # 1/2
        ((8191, 64), 4096, 2048),  # Pillow rounds conservatively to 1/2 here; resized
        ((16400, 40), 2050, 2048),  # 1/8 gives 2050: resized down
        ((64, 4100), 2050, 2048),  # portrait, 1/2, resized
        ((2049, 2000), 2049, 2048),  # no reduction lands in range: full decode, resize
        ((4032, 3024), 2016, 2016),  # the 12 MP phone photo: half scale, no resampling
    ],
)
def test_reduced_decoding_lands_between_1600_and_2048_and_never_below(
    size: tuple[int, int], decoded: int, out: int, monkeypatch: pytest.MonkeyPatch
) -> None:
    seen: list[tuple[int, int]] = []
    original = JpegImagePlugin.JpegImageFile.draft

    def spy(self: JpegImagePlugin.JpegImageFile, mode: str | None, want: Any) -> Any:
        result = original(self, mode, want)
        seen.append(self.size)
        return result

    monkeypatch.setattr(JpegImagePlugin.JpegImageFile, "draft", spy)
    buf = io.BytesIO()
    gradient(*size).save(buf, "JPEG", quality=70)
    result = process_photo(buf.getvalue())
    assert max(result.width, result.height) == out
    assert [max(s) for s in seen] == [decoded]  # decoded at a reduced scale, never below 1600
    out_picture = picture(result.jpeg)
    assert mad(out_picture, gradient(*size).resize(out_picture.size, Image.Resampling.BOX)) < 6


def test_colour_profile_is_converted_to_srgb() -> None:
    # An iPhone-like photo in Display P3: the upload has no profile, so its pixels must be sRGB.
    p3 = pillow_heif.open_heif(HEIC).info["icc_profile"]  # without registering it in Pillow
    to_p3 = ImageCms.buildTransform(
        ImageCms.createProfile("sRGB"), ImageCms.ImageCmsProfile(io.BytesIO(p3)), "RGB", "RGB"
    )
    srgb = (200, 30, 40)
    stored = ImageCms.applyTransform(Image.new("RGB", (64, 64), srgb), to_p3)
    assert stored is not None
    p3_pixel = stored.getpixel((32, 32))
    assert isinstance(p3_pixel, tuple)
    assert sum(abs(a - b) for a, b in zip(p3_pixel, srgb, strict=True)) > 30  # it can fail
    out = io.BytesIO()
    stored.save(out, "JPEG", quality=95, icc_profile=p3)
    pixel = picture(process_photo(out.getvalue()).jpeg).getpixel((32, 32))
    assert isinstance(pixel, tuple)
    assert all(abs(a - b) <= 6 for a, b in zip(pixel, srgb, strict=True)), pixel


def test_unusable_colour_profile_is_dropped() -> None:
    out = io.BytesIO()
    gradient(100, 80).save(out, "JPEG", icc_profile=b"not really a profile" * 10)
    assert_no_metadata(process_photo(out.getvalue(), name="odd-icc.jpg").jpeg)


# ---- errors ----------------------------------------------------------------------------------


def png(width: int, height: int, bit_depth: int, colour: int, row: bytes) -> bytes:
    """A PNG made by hand, streaming the rows: a bomb stays small and quick to make (Pillow would
    need 900 MB of memory to create a 30000 x 30000 picture)."""

    def chunk(kind: bytes, data: bytes) -> bytes:
        return (
            struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))
        )

    packer = zlib.compressobj(9)
    idat = b"".join(packer.compress(b"\0" + row) for _ in range(height)) + packer.flush()
    ihdr = struct.pack(">IIBBBBB", width, height, bit_depth, colour, 0, 0, 0)
    return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", ihdr) + chunk(b"IDAT", idat) + chunk(b"IEND", b"")


def premature_end(data: bytes) -> bytes:
    # Like exif-samples' invalid/corrupted.jpg: an end-of-image marker mid-picture; Pillow
    # "decodes" that without an error, the rest flat grey.
    return data[: len(data) * 6 // 10] + b"\xff\xd9"


CASES: dict[str, tuple[Callable[[], bytes], type[media.PhotoError], str]] = {
    "empty.jpg": (lambda: b"", media.NotAnImageError, "empty"),
    "notes.jpg": (
        lambda: "Trasig lampa vid gångtunneln\n".encode(),
        media.NotAnImageError,
        "not a photo",
    ),
    "IMG_cut.jpg": (
        lambda: NOKIA.read_bytes()[: NOKIA.stat().st_size // 2],
        media.BrokenPhotoError,
        "cut off",
    ),
    "IMG_grey.jpg": (lambda: premature_end(NOKIA.read_bytes()), media.BrokenPhotoError, "missing"),
    "IMG_cut.HEIC": (
        lambda: HEIC.read_bytes()[: HEIC.stat().st_size // 2],
        media.BrokenPhotoError,
        "damaged",
    ),
    "header.png": (lambda: png(10, 10, 8, 0, b"\0" * 10)[:40], media.BrokenPhotoError, "damaged"),
    "bomb.png": (lambda: png(30000, 30000, 1, 0, bytes(3750)), media.PhotoTooLargeError, "pixels"),
    "warning.png": (
        lambda: png(10000, 9500, 1, 0, bytes(1250)),
        media.PhotoTooLargeError,
        "pixels",
    ),
}


@pytest.mark.timeout(20)
@pytest.mark.parametrize("name", sorted(CASES))
def test_bad_files_give_a_clear_error(name: str, tmp_path: Path) -> None:
    make, error, words = CASES[name]
    path = tmp_path / name
    path.write_bytes(make())
    for source, given_name in ((path, None), (path.read_bytes(), name)):
        with pytest.raises(error) as caught:
            process_photo(source, name=given_name)
        assert name in str(caught.value) and words in str(caught.value)
        assert " — " in str(caught.value)  # … followed by what to do


def test_real_world_grey_tail_is_reported_with_how_much_is_missing() -> None:
    with pytest.raises(
        media.BrokenPhotoError, match=r"IMG_grey.jpg: .*bottom \d+ % of the picture"
    ):
        process_photo(premature_end(NOKIA.read_bytes()), name="IMG_grey.jpg")


@pytest.mark.timeout(20)
def test_oversize_file(tmp_path: Path) -> None:
    path = tmp_path / "IMG_big.jpg"
    path.write_bytes(NOKIA.read_bytes())
    with pytest.raises(media.PhotoTooLargeError, match=r"IMG_big.jpg: the file is too large"):
        process_photo(path, max_input_bytes=1_000_000)
    assert process_photo(path).width == 2048  # 2.2 MB is fine under the default 60 MB


def test_own_pixel_limit_applies_even_if_pillow_is_told_otherwise(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(Image, "MAX_IMAGE_PIXELS", None)
    monkeypatch.setattr(opening, "MAX_PIXELS", 1_000_000)
    with pytest.raises(media.PhotoTooLargeError, match=r"IMG_1.jpg: .*4608 × 1976 pixels"):
        process_photo(NOKIA.read_bytes(), name="IMG_1.jpg")


def test_missing_file(tmp_path: Path) -> None:
    with pytest.raises(media.PhotoError, match="gone.jpg: cannot read the file"):
        process_photo(tmp_path / "gone.jpg")


def test_heic_without_pillow_heif(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(opening, "_heif_ready", False)
    monkeypatch.setitem(sys.modules, "pillow_heif", None)  # import fails, as on a bare phone
    with pytest.raises(media.HeifUnsupportedError, match=r"IMG_7.HEIC: .*export the photo as JPEG"):
        process_photo(HEIC.read_bytes(), name="IMG_7.HEIC")


def test_on_a_phones_pillow_webp_and_heic_get_a_reason_and_jpeg_still_works(
    tmp_path: Path,
) -> None:
    # The WebP is made here, where Pillow has WebP; the child is a Pillow without it.
    webp = io.BytesIO()
    Image.new("RGB", (64, 48), (200, 30, 30)).save(webp, "WEBP")
    (tmp_path / "IMG_9.webp").write_bytes(webp.getvalue())
    (tmp_path / "IMG_7.HEIC").write_bytes(HEIC.read_bytes())
    (tmp_path / "IMG_8.jpg").write_bytes(picture_bytes())
    child = (
        "import sys\n"
        "sys.modules['PIL._webp'] = None\n"  # Pillow built without libwebp, as on a phone
        "sys.modules['pillow_heif'] = None\n"  # and no pillow-heif
        "from pathlib import Path\n"
        "from walkaudit import media\n"
        "d = Path(sys.argv[1])\n"
        "for name in ('IMG_9.webp', 'IMG_7.HEIC', 'IMG_8.jpg'):\n"
        "    data = (d / name).read_bytes()\n"
        "    print(name, media.unsupported_format(data[:64]))\n"
        "    try:\n"
        "        print(name, media.process_photo(data, name=name).width)\n"
        "    except media.FormatUnsupportedError as exc:\n"
        "        print(name, type(exc).__name__, exc)\n"
    )
    done = subprocess.run(
        [sys.executable, "-c", child, str(tmp_path)], capture_output=True, text=True, timeout=120
    )
    assert done.returncode == 0, done.stderr[-2000:]
    assert done.stdout.splitlines() == [
        "IMG_9.webp WebP",
        "IMG_9.webp FormatUnsupportedError IMG_9.webp: WebP photos cannot be read on this"
        " device; take the photo with the camera or choose a JPEG",
        "IMG_7.HEIC HEIC",
        "IMG_7.HEIC HeifUnsupportedError IMG_7.HEIC: HEIC photos need pillow-heif, which is not"
        " available on this device; export the photo as JPEG",
        "IMG_8.jpg None",
        "IMG_8.jpg 640",
    ]
    # Here (the desktop CLI and the server, with WebP and pillow-heif) both are readable.
    assert media.unsupported_format(webp.getvalue()[:64]) is None
    assert media.unsupported_format(HEIC.read_bytes()[:64]) is None


def picture_bytes() -> bytes:
    buf = io.BytesIO()
    Image.new("RGB", (640, 480), (20, 120, 200)).save(buf, "JPEG", quality=90)
    return buf.getvalue()


@pytest.mark.parametrize(
    "path", ["invalid/image01137.jpg", "invalid/image01551.jpg", "invalid/image02206.jpg"]
)
def test_files_with_broken_metadata_still_work(path: str) -> None:
    # exif-samples keeps these as "invalid" for their EXIF/XMP; the pictures themselves are fine.
    result = process_photo(PHOTOS / path)
    assert result.gps is None and result.captured_at is None
    assert picture(result.jpeg).size == (result.width, result.height)


# ---- any small picture -----------------------------------------------------------------------

_T = Image.Transpose
# How a camera stores an upright picture for each EXIF orientation (the inverse of the display
# transform in the EXIF spec; 6 = stored turned 90° counter-clockwise).
STORED = {2: _T.FLIP_LEFT_RIGHT, 3: _T.ROTATE_180, 4: _T.FLIP_TOP_BOTTOM, 5: _T.TRANSPOSE}
STORED |= {6: _T.ROTATE_90, 7: _T.TRANSVERSE, 8: _T.ROTATE_270}
FORMATS = {
    "PNG": ["RGBA", "P", "L", "I;16", "RGB", "LA", "1"],
    "WEBP": ["RGBA", "RGB", "L", "P"],
    "JPEG": ["RGB", "L", "CMYK"],
}


def in_mode(grey: Image.Image, mode: str) -> Image.Image:
    """The same grey picture in another mode (so the expected result is known)."""
    if mode == "I;16":
        return Image.frombytes("I;16", grey.size, bytes(b for v in grey.tobytes() for b in (0, v)))
    if mode == "CMYK":
        black = grey.point(lambda v: 255 - v)
        zero = Image.new("L", grey.size)
        return Image.merge("CMYK", (zero, zero, zero, black))
    if mode == "RGBA":
        return Image.merge("RGBA", (grey, grey, grey, Image.new("L", grey.size, 255)))
    return grey.convert(mode)


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    kind=st.sampled_from([(fmt, mode) for fmt, modes in FORMATS.items() for mode in modes]),
    width=st.integers(1, 300),
    height=st.integers(1, 300),
    max_edge=st.integers(16, 256),
    orientation=st.integers(1, 8),
    seed=st.integers(0, 2**16),
)
def test_any_small_picture_gives_an_upright_rgb_jpeg(
    kind: tuple[str, str], width: int, height: int, max_edge: int, orientation: int, seed: int
) -> None:
    fmt, mode = kind
    rng = random.Random(seed)
    upright = Image.linear_gradient("L").resize((width, height)).point(lambda v: 30 + v * 0.7)
    box = (rng.randrange(width), rng.randrange(height))
    ImageDraw.Draw(upright).rectangle((0, 0, *box), fill=rng.choice([0, 250]))
    stored = upright.transpose(STORED[orientation]) if orientation > 1 else upright
    out = io.BytesIO()
    options = {"lossless": True} if fmt == "WEBP" else {}
    in_mode(stored, mode).save(out, fmt, exif=exif(orientation=orientation), **options)

    result = process_photo(out.getvalue(), name=f"random.{fmt.lower()}", max_edge=max_edge)

    im = picture(result.jpeg)
    assert im.format == "JPEG" and im.mode == "RGB" and im.size == (result.width, result.height)
    scale = min(1.0, max_edge / max(width, height))
    exact = (max(1, round(width * scale)), max(1, round(height * scale)))
    if fmt == "JPEG" and scale < 1:
        # A reduced-scale decode may land anywhere in [25/32 of max_edge, max_edge], same shape.
        assert max_edge * 25 // 32 <= max(im.size) <= max_edge
        s = max(im.size) / max(width, height)
        assert abs(im.width - width * s) <= 1 and abs(im.height - height * s) <= 1
    else:
        assert im.size == exact
    assert_no_metadata(result.jpeg)
    if mode != "1" and min(im.size) >= 16:  # "1" is dithered; in tiny ones JPEG blocks dominate
        assert mad(im, upright.resize(im.size, Image.Resampling.BOX)) < 12

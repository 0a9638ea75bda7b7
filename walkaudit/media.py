"""Photo pipeline: any phone photo in, a small, upright, metadata-free JPEG out (Pillow; no flet).

`process_photo()` reads the position and capture time from EXIF *first*, then decodes (JPEG at a
reduced DCT scale when that still covers `max_edge`), shrinks, rotates upright, converts to sRGB and
re-encodes without any metadata. `read_exif_fix()` reads only the position and time, without
decoding any pixels (for listing many photos quickly).

Every failure is a `PhotoError` whose message names the file and says what to do:

    ValueError
    └── PhotoError                 cannot read the file at all (e.g. it has disappeared)
        ├── NotAnImageError        empty, or not a JPEG/PNG/WebP/HEIC picture (a text file, …)
        ├── BrokenPhotoError       a picture, but damaged: truncated, corrupt picture data
        ├── PhotoTooLargeError     over max_input_bytes, or too many pixels (decompression bomb)
        └── FormatUnsupportedError a WebP photo where Pillow has no WebP (a phone's Pillow)
            └── HeifUnsupportedError   a HEIC/HEIF photo, but pillow-heif is not available here
"""

from __future__ import annotations

import hashlib
import io
import math
import re
import threading
import warnings
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone, tzinfo
from functools import lru_cache
from numbers import Real
from pathlib import Path
from typing import IO, Any

from PIL import Image, JpegImagePlugin

from walkaudit.model import Photo

# Our own pixel limit. Pillow's guard (Image.MAX_IMAGE_PIXELS, ~89 MP by default: a warning above
# it, an error above twice it) also applies; both end up as PhotoTooLargeError.
MAX_PIXELS = 100_000_000
# Downscaling filter. After the reduced-scale decode the remaining factor is below 2 (or the photo
# is decoded in full, e.g. 12 MP), where resizing costs more than decoding. HAMMING costs what
# BILINEAR does (~40 % less than BICUBIC, ~60 % less than LANCZOS) and differs from LANCZOS by
# 51 dB PSNR on a real 8 MP photo, far below the error of the JPEG q80 encoding itself (40 dB).
RESAMPLE = Image.Resampling.HAMMING

_HEIF_BRANDS = {b"heic", b"heix", b"heim", b"heis", b"hevc", b"hevx", b"hevm", b"hevs", b"mif1"}
_T = Image.Transpose  # EXIF orientation -> the transpose that makes the picture upright
_UPRIGHT = {2: _T.FLIP_LEFT_RIGHT, 3: _T.ROTATE_180, 4: _T.FLIP_TOP_BOTTOM, 5: _T.TRANSPOSE}
_UPRIGHT |= {6: _T.ROTATE_270, 7: _T.TRANSVERSE, 8: _T.ROTATE_90}


class PhotoError(ValueError):
    """A photo cannot be used; the message names the file and says what to do."""


class NotAnImageError(PhotoError):
    """Empty, or not a JPEG, PNG, WebP or HEIC picture."""


class BrokenPhotoError(PhotoError):
    """A picture, but damaged (truncated or corrupt data)."""


class PhotoTooLargeError(PhotoError):
    """Too many bytes, or too many pixels (a decompression bomb)."""


class FormatUnsupportedError(PhotoError):
    """A picture in a format this device's Pillow cannot read (WebP, HEIC on a phone)."""


class HeifUnsupportedError(FormatUnsupportedError):
    """A HEIC/HEIF photo on a device where pillow-heif is not available."""


@dataclass(frozen=True, slots=True)
class GpsFix:
    latitude: float
    longitude: float
    accuracy: float | None = None  # metres (EXIF GPSHPositioningError), if the camera wrote it


@dataclass(frozen=True, slots=True)
class ProcessedPhoto:
    jpeg: bytes = field(repr=False)  # the upload copy: upright sRGB JPEG, no metadata at all
    width: int
    height: int
    sha256: str  # hex digest of `jpeg`
    thumbnail: bytes = field(repr=False)  # JPEG, long edge thumb_edge (never upscaled)
    gps: GpsFix | None
    captured_at: datetime | None  # always time-zone aware
    source_name: str

    def to_photo(self) -> Photo:
        """The wire record for the upload copy."""
        return Photo(sha256=self.sha256, size=len(self.jpeg), width=self.width, height=self.height)


def process_photo(
    source: Path | bytes,
    *,
    name: str | None = None,
    max_edge: int = 2048,
    min_edge: int | None = None,
    quality: int = 80,
    thumb_edge: int = 320,
    max_input_bytes: int = 60 * 2**20,
) -> ProcessedPhoto:
    """Decode, shrink to long edge <= max_edge, rotate upright, strip all metadata, re-encode.

    A big JPEG may come out anywhere between min_edge (default 25/32 of max_edge: 1600 for 2048)
    and max_edge when a reduced-scale decode lands there: a 4032 px photo decoded at 1/2 scale is
    2016 px with no resampling at all, about a fifth of the work of a full decode and resize.
    """
    min_edge = max_edge * 25 // 32 if min_edge is None else min(min_edge, max_edge)
    if min(max_edge, thumb_edge) < 1 or not 1 <= quality <= 100:
        raise ValueError(
            f"bad settings: {max_edge=}, {thumb_edge=}, {quality=}"
        )  # not a PhotoError
    name = _name(source, name)
    with _opened(source, name) as (fp, size), _pillow_errors(name):
        if size > max_input_bytes:
            raise PhotoTooLargeError(
                f"{name}: the file is too large ({size / 2**20:.1f} MB; the limit is"
                f" {max_input_bytes / 2**20:.0f} MB) — take it again at a lower resolution"
            )
        with _image(fp, name) as im:
            gps, captured_at, orientation = _metadata(im)
            icc = im.info.get("icc_profile")
            w, h = im.size
            scale = min(1.0, max_edge / max(w, h))
            target = (max(1, round(w * scale)), max(1, round(h * scale)))
            is_jpeg = isinstance(im, JpegImagePlugin.JpegImageFile)
            landing = _dct_landing(w, h, min_edge, max_edge) if is_jpeg else None
            if is_jpeg and scale < 1:
                # Decode at 1/2, 1/4 or 1/8 DCT scale: Pillow picks the largest reduction that
                # leaves *each* side >= the size asked for, so this never undershoots. (Asking
                # for (max_edge, max_edge) would never reduce a photo whose short side is smaller.)
                im.draft("RGB", landing or target)
            im.load()  # the full decode, inside _pillow_errors: a truncated file fails here
            if landing and max(im.size) <= max_edge:
                target = im.size  # the decode landed within [min_edge, max_edge]: no resize
            if is_jpeg:
                _check_grey_tail(im, name)
            img = _normalise(im)
            if img.size != target:
                img = img.resize(target, RESAMPLE, reducing_gap=3.0)
            if orientation in _UPRIGHT:  # after shrinking: far fewer pixels to move
                img = img.transpose(_UPRIGHT[orientation])
            img = _to_srgb(img, icc if isinstance(icc, bytes) else None)
            jpeg = _encode(img, quality)
            t = min(1.0, thumb_edge / max(img.size))
            thumb_size = (max(1, round(img.width * t)), max(1, round(img.height * t)))
            thumbnail = _encode(img.resize(thumb_size, RESAMPLE, reducing_gap=2.0), quality)
    return ProcessedPhoto(
        jpeg=jpeg,
        width=img.width,
        height=img.height,
        sha256=hashlib.sha256(jpeg).hexdigest(),
        thumbnail=thumbnail,
        gps=gps,
        captured_at=captured_at,
        source_name=name,
    )


def _dct_landing(w: int, h: int, min_edge: int, max_edge: int) -> tuple[int, int] | None:
    """The size a 1/2, 1/4 or 1/8 scale decode gives, if its long edge is within the bounds."""
    for denominator in (8, 4, 2):
        size = (-(-w // denominator), -(-h // denominator))  # libjpeg rounds up
        if min_edge <= max(size) <= max_edge:
            return size
    return None


def read_exif_fix(
    source: Path | bytes, *, name: str | None = None
) -> tuple[GpsFix | None, datetime | None]:
    """Position and capture time from EXIF, reading only the file's header (no pixel decoding)."""
    name = _name(source, name)
    with _opened(source, name) as (fp, _), _pillow_errors(name), _image(fp, name) as im:
        gps, captured_at, _orientation = _metadata(im)
    return gps, captured_at


# ---- opening ---------------------------------------------------------------------------------


def _name(source: Path | bytes, name: str | None) -> str:
    if name:
        return name
    return "photo" if isinstance(source, bytes | bytearray | memoryview) else Path(source).name


@contextmanager
def _opened(source: Path | bytes, name: str) -> Iterator[tuple[IO[bytes], int]]:
    if isinstance(source, bytes | bytearray | memoryview):
        yield io.BytesIO(source), len(source)
        return
    try:
        fp = open(source, "rb")  # noqa: SIM115 - closed by the with below
        size = Path(source).stat().st_size
    except OSError as exc:
        raise PhotoError(
            f"{name}: cannot read the file ({exc.strerror or exc}) — check that it still exists"
        ) from exc
    with fp:
        yield fp, size


@contextmanager
def _pillow_errors(name: str) -> Iterator[None]:
    """Turn every Pillow / pillow-heif failure (and the decompression-bomb *warning*) into a
    PhotoError naming the file."""
    try:
        with warnings.catch_warnings():  # not thread-safe before Python 3.14; only ever stricter
            warnings.simplefilter("error", Image.DecompressionBombWarning)
            yield
    except PhotoError:
        raise
    except (Image.DecompressionBombWarning, Image.DecompressionBombError) as exc:
        found = re.search(r"\((\d+) pixels\)", str(exc))
        pixels = f" ({int(found[1]) / 1e6:.0f} megapixels)" if found else ""
        raise PhotoTooLargeError(
            f"{name}: the picture has too many pixels{pixels} to open safely"
            " — take it again at a lower resolution"
        ) from exc
    except MemoryError as exc:
        raise PhotoTooLargeError(
            f"{name}: not enough memory to open this photo — take it again at a lower resolution"
        ) from exc
    except Exception as exc:  # Pillow raises many types: OSError, SyntaxError, struct.error, …
        if "truncated" in str(exc):
            why = "the file is cut off before the end of the picture"
        else:
            why = f"the picture data is corrupt: {exc}"
        raise BrokenPhotoError(
            f"{name}: the photo is damaged ({why})"
            " — take it again, or copy it again from the camera"
        ) from exc


@contextmanager
def _image(fp: IO[bytes], name: str) -> Iterator[Image.Image]:
    """Identify the format from the first bytes, then let Pillow read the header (lazily)."""
    head = fp.read(64)
    fp.seek(0)
    fmt = _sniff(head)
    if fmt is None:
        what = "the file is empty (0 bytes)" if not head else "this is not a photo"
        raise NotAnImageError(
            f"{name}: {what} — choose a JPEG, PNG, WebP or HEIC photo, or take it again"
        )
    if fmt == "WEBP" and not _webp_readable():
        raise FormatUnsupportedError(
            f"{name}: WebP photos cannot be read on this device; take the photo with the camera"
            " or choose a JPEG"
        )
    if fmt == "HEIF":
        _enable_heif(name)
        if not _boxes_complete(fp):  # libheif fills missing tiles in green, without an error
            raise BrokenPhotoError(
                f"{name}: the photo is damaged (the file is cut off before the end of the picture)"
                " — take it again, or copy it again from the camera"
            )
    with Image.open(fp, formats=[fmt]) as im:
        if im.width * im.height > MAX_PIXELS:
            raise PhotoTooLargeError(
                f"{name}: the picture is too large ({im.width} × {im.height} pixels; the limit"
                f" is {MAX_PIXELS // 1_000_000} megapixels) — take it again at a lower resolution"
            )
        yield im


def _sniff(head: bytes) -> str | None:
    if head.startswith(b"\xff\xd8\xff"):
        return "JPEG"
    if head.startswith(b"\x89PNG\r\n\x1a\n"):
        return "PNG"
    if head[:4] == b"RIFF" and head[8:12] == b"WEBP":
        return "WEBP"
    if head[4:8] == b"ftyp":  # ISO BMFF: major brand, minor version, compatible brands
        end = min(int.from_bytes(head[:4], "big"), len(head))
        if ({head[8:12]} | {head[i : i + 4] for i in range(16, end - 3, 4)}) & _HEIF_BRANDS:
            return "HEIF"
    return None


def _boxes_complete(fp: IO[bytes]) -> bool:
    """False if a top-level ISO BMFF box (ftyp, meta, mdat, …) runs past the end of the file."""
    end, at = fp.seek(0, 2), 0
    while at + 8 <= end:
        fp.seek(at)
        head = fp.read(16)
        size = int.from_bytes(head[:4], "big")
        if size == 1:  # 64-bit size follows the type
            size = int.from_bytes(head[8:16], "big")
        at = end if size == 0 else at + max(size, 8)  # 0: the box runs to the end of the file
    fp.seek(0)
    return at <= end


def unsupported_format(head: bytes) -> str | None:
    """ "HEIC" or "WebP" when a picture starting with these bytes is in a format this device
    cannot read (a phone: Pillow without WebP, no pillow-heif); else None.

    For the gallery: the walker hears it when choosing the photo, not later from the inbox.
    """
    fmt = _sniff(head[:64])
    if fmt == "WEBP" and not _webp_readable():
        return "WebP"
    if fmt == "HEIF":
        try:
            _enable_heif("")
        except HeifUnsupportedError:
            return "HEIC"
    return None


def _webp_readable() -> bool:
    from PIL import features

    return bool(features.check("webp"))


_heif_lock = threading.Lock()
_heif_ready = False


def _enable_heif(name: str) -> None:
    global _heif_ready
    with _heif_lock:
        if _heif_ready:
            return
        try:
            from pillow_heif import register_heif_opener
        except (ImportError, OSError) as exc:  # e.g. a phone build without the native library
            raise HeifUnsupportedError(
                f"{name}: HEIC photos need pillow-heif, which is not available on this device;"
                " export the photo as JPEG"
            ) from exc
        register_heif_opener()
        _heif_ready = True


def _check_grey_tail(im: Image.Image, name: str) -> None:
    """A JPEG whose data ends early (an end marker mid-picture) decodes "fine" in Pillow, the rest
    filled flat grey (128, 128, 128). No camera photo has an exactly flat grey bottom row, so that
    is damage: never upload a half-grey picture."""
    w, h = im.size
    if im.mode not in ("RGB", "L") or w < 32:  # tiny pictures: a flat grey row is too plausible
        return
    grey = ((128, 128),) * 3 if im.mode == "RGB" else (128, 128)
    rows = 0
    while rows < h and im.crop((0, h - 1 - rows, w, h - rows)).getextrema() == grey:
        rows += 1
    if rows:
        raise BrokenPhotoError(
            f"{name}: the photo is damaged (the bottom {math.ceil(100 * rows / h)} % of the picture"
            " is missing) — take it again, or copy it again from the camera"
        )


# ---- pixels ----------------------------------------------------------------------------------


def _normalise(im: Image.Image) -> Image.Image:
    """Any decoded mode -> RGB, RGBA, L or CMYK with 8 bits per channel."""
    mode = im.mode
    if mode.startswith("I"):  # 16-bit grey: scale to 8 bits (a plain convert would clip)
        return im.convert("I").point(lambda v: v * (1 / 256)).convert("L")
    if mode in ("RGBA", "LA", "La", "PA", "RGBa") or "transparency" in im.info:
        return im.convert("RGBA")
    if mode in ("RGB", "L", "CMYK"):
        return im
    return im.convert("L" if mode in ("1", "F") else "RGB")


def _to_srgb(im: Image.Image, icc: bytes | None) -> Image.Image:
    """Flatten transparency onto white, then give plain sRGB pixels. An embedded colour profile
    is *converted* to sRGB (not just dropped): the upload carries no profile, and e.g. an iPhone's
    Display P3 pixels read as sRGB look dull. If conversion is impossible the profile is dropped."""
    if im.mode == "RGBA":
        white = Image.new("RGB", im.size, (255, 255, 255))
        white.paste(im, mask=im.getchannel("A"))
        im = white
    if icc and im.mode in ("RGB", "CMYK"):
        transform = _srgb_transform(icc, im.mode)
        if transform is not None:
            from PIL import ImageCms

            converted = ImageCms.applyTransform(im, transform)
            if converted is not None:
                return converted
    return im if im.mode == "RGB" else im.convert("RGB")


@lru_cache(maxsize=8)
def _srgb_transform(icc: bytes, mode: str) -> Any:
    """A cached profile -> sRGB transform; None if the profile is sRGB already or unusable."""
    try:
        from PIL import ImageCms

        profile = ImageCms.ImageCmsProfile(io.BytesIO(icc))
        if mode == "RGB" and "srgb" in ImageCms.getProfileDescription(profile).lower():
            return None
        srgb = ImageCms.createProfile("sRGB")
        return ImageCms.buildTransform(profile, srgb, mode, "RGB")
    except Exception:  # no littlecms on this device, or a broken profile: drop it
        return None


def _encode(im: Image.Image, quality: int) -> bytes:
    im.info = {}  # Pillow copies e.g. a JPEG comment from info into the output; start empty
    out = io.BytesIO()
    im.save(out, "JPEG", quality=quality)  # optimize=True: 1-3 % smaller, encoding twice as slow
    return out.getvalue()


# ---- metadata --------------------------------------------------------------------------------


def _metadata(im: Image.Image) -> tuple[GpsFix | None, datetime | None, int]:
    """(gps, captured_at, orientation); malformed metadata gives None/1, never an error."""
    try:
        # The base method reads only what the header gave: PngImageFile.getexif() would decode
        # all the pixels just to look for an eXIf chunk after the picture data.
        exif = Image.Image.getexif(im)
    except Exception:
        return None, None, 1
    orientation = exif.get(0x0112)
    orientation = orientation if isinstance(orientation, int) else 1
    try:
        gps = _gps(exif.get_ifd(0x8825))
    except Exception:  # GPS IFD pointing anywhere, wrong types, …: no position
        gps = None
    try:
        captured_at = _captured_at(exif.get_ifd(0x8769))
    except Exception:
        captured_at = None
    return gps, captured_at, orientation


def _text(value: object) -> str:
    if isinstance(value, bytes):
        value = value.decode("ascii", "replace")
    return value.strip("\x00 ") if isinstance(value, str) else ""


def _degrees(value: Any, ref: str, refs: str) -> float | None:
    ref = ref[:1].upper()
    if ref not in (refs[0], refs[1]):  # missing ref: a guessed hemisphere could mean a wrong owner
        return None
    values = value if isinstance(value, tuple | list) else [value]
    if not all(isinstance(v, Real) for v in values):  # e.g. text where numbers belong
        return None
    parts = [float(v) for v in values]
    if not 1 <= len(parts) <= 3 or not all(math.isfinite(p) and p >= 0 for p in parts):
        return None  # a zero denominator reads as nan
    if any(p >= 60 for p in parts[1:]):
        return None
    degrees = sum(p / 60**i for i, p in enumerate(parts))
    return -degrees if ref == refs[1] else degrees


def _gps(ifd: dict[int, Any]) -> GpsFix | None:
    if not ifd or _text(ifd.get(9)).upper().startswith("V"):  # GPSStatus V: measurement void
        return None
    lat = _degrees(ifd.get(2), _text(ifd.get(1)), "NS")
    lon = _degrees(ifd.get(4), _text(ifd.get(3)), "EW")
    if lat is None or lon is None or abs(lat) > 90 or abs(lon) > 180 or (lat == lon == 0):
        return None
    accuracy: float | None = None
    if ifd.get(31) is not None:
        accuracy = float(ifd[31])
        accuracy = accuracy if math.isfinite(accuracy) and accuracy >= 0 else None
    return GpsFix(lat, lon, accuracy)


_DATETIME = re.compile(r"(\d{4}):(\d{2}):(\d{2})[ T](\d{2}):(\d{2}):(\d{2})")
_OFFSET = re.compile(r"([+-])(\d{2}):?(\d{2})")


def _captured_at(ifd: dict[int, Any]) -> datetime | None:
    # DateTimeOriginal, else DateTimeDigitized; each with its own offset and sub-second tags.
    for when, offset, subsec in ((0x9003, 0x9011, 0x9291), (0x9004, 0x9012, 0x9292)):
        found = _DATETIME.fullmatch(_text(ifd.get(when)))
        if not found:
            continue
        try:
            year, month, day, hour, minute, second = (int(g) for g in found.groups())
            naive = datetime(year, month, day, hour, minute, second)
        except ValueError:  # "0000:00:00 00:00:00" and other placeholders
            continue
        digits = _text(ifd.get(subsec))
        if digits.isdigit():
            naive = naive.replace(microsecond=int(digits[:6].ljust(6, "0")))
        zone = _OFFSET.fullmatch(_text(ifd.get(offset)))
        if zone and int(zone[2]) <= 14 and int(zone[3]) < 60:
            delta = timedelta(hours=int(zone[2]), minutes=int(zone[3]))
            return naive.replace(tzinfo=timezone(-delta if zone[1] == "-" else delta))
        # No offset in the photo: assume it was taken in Sweden, in Swedish local time.
        return naive.replace(tzinfo=_stockholm(naive))
    return None


def _stockholm(naive: datetime) -> tzinfo:
    try:
        from zoneinfo import ZoneInfo

        return ZoneInfo("Europe/Stockholm")
    except Exception:  # no tz database (e.g. a phone without the tzdata package): the EU rule
        summer = _last_sunday(naive.year, 3, 2) <= naive < _last_sunday(naive.year, 10, 3)
        return timezone(timedelta(hours=2 if summer else 1))


def _last_sunday(year: int, month: int, hour: int) -> datetime:
    last = datetime(year, month, 31, hour)
    return last - timedelta(days=(last.weekday() + 1) % 7)

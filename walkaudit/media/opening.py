"""Opening a photo safely: what format it is, whether this device can read it, and damage.

Every way a file can fail to open ends as a PhotoError naming the file: gone, not a picture, a
format this device's Pillow lacks (WebP; HEIC without pillow-heif, imported only when a HEIC
comes), too many bytes or pixels, truncated or corrupt data (Pillow's many exception types, and
the damage Pillow and libheif do not report: a grey-filled JPEG tail, a HEIC cut short).
"""

from __future__ import annotations

import io
import math
import re
import threading
import warnings
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import IO

from PIL import Image

from walkaudit.media.errors import (
    BrokenPhotoError,
    FormatUnsupportedError,
    HeifUnsupportedError,
    NotAnImageError,
    PhotoError,
    PhotoTooLargeError,
)

# Our own pixel limit. Pillow's guard (Image.MAX_IMAGE_PIXELS, ~89 MP by default: a warning above
# it, an error above twice it) also applies; both end up as PhotoTooLargeError.
MAX_PIXELS = 100_000_000

_HEIF_BRANDS = {b"heic", b"heix", b"heim", b"heis", b"hevc", b"hevx", b"hevm", b"hevs", b"mif1"}


def photo_name(source: Path | bytes, name: str | None) -> str:
    """The name every message uses: the one given, else the file's name, else "photo"."""
    if name:
        return name
    return "photo" if isinstance(source, bytes | bytearray | memoryview) else Path(source).name


@contextmanager
def opened(source: Path | bytes, name: str) -> Iterator[tuple[IO[bytes], int]]:
    """The photo's bytes as a file and its size; a file that cannot be read is a PhotoError."""
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
def pillow_errors(name: str) -> Iterator[None]:
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
def open_image(fp: IO[bytes], name: str) -> Iterator[Image.Image]:
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


def check_grey_tail(im: Image.Image, name: str) -> None:
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

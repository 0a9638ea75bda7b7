"""Where and when a photo was taken, from its EXIF: GPS position, capture time, orientation.

Malformed metadata never fails a photo: it gives no position, no time, or orientation 1. A time
without an offset is taken as Swedish local time (the photos are taken on walks in Sweden).
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone, tzinfo
from numbers import Real
from pathlib import Path
from typing import Any

from PIL import Image

from walkaudit.media.opening import open_image, opened, photo_name, pillow_errors


@dataclass(frozen=True, slots=True)
class GpsFix:
    latitude: float
    longitude: float
    accuracy: float | None = None  # metres (EXIF GPSHPositioningError), if the camera wrote it


def read_exif_fix(
    source: Path | bytes, *, name: str | None = None
) -> tuple[GpsFix | None, datetime | None]:
    """Position and capture time from EXIF, reading only the file's header (no pixel decoding)."""
    name = photo_name(source, name)
    with opened(source, name) as (fp, _), pillow_errors(name), open_image(fp, name) as im:
        gps, captured_at, _orientation = read_metadata(im)
    return gps, captured_at


def read_metadata(im: Image.Image) -> tuple[GpsFix | None, datetime | None, int]:
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

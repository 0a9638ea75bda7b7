"""Photo pipeline: any phone photo in, a small, upright, metadata-free JPEG out (Pillow; no flet).

`process_photo()` reads the position and capture time from EXIF *first*, then decodes, shrinks,
rotates upright, converts to sRGB and re-encodes without any metadata. `read_exif_fix()` reads
only the position and time, without decoding any pixels (for listing many photos quickly).

    pipeline.py  process_photo, ProcessedPhoto: the steps in order, sizes and the thumbnail
    opening.py   format sniffing, what this device can read (WebP, HEIC), limits, damage
    exif.py      GPS position, capture time and orientation from EXIF (GpsFix, read_exif_fix)
    pixels.py    8-bit modes, transparency, colour profile to sRGB, the metadata-free JPEG
    errors.py    PhotoError and its kinds; every message names the file and says what to do

Pillow only; pillow-heif is optional and imported the first time a HEIC photo comes.
"""

from walkaudit.media.errors import (
    BrokenPhotoError,
    FormatUnsupportedError,
    HeifUnsupportedError,
    NotAnImageError,
    PhotoError,
    PhotoTooLargeError,
)
from walkaudit.media.exif import GpsFix, read_exif_fix
from walkaudit.media.opening import unsupported_format
from walkaudit.media.pipeline import ProcessedPhoto, process_photo

__all__ = [
    "BrokenPhotoError",
    "FormatUnsupportedError",
    "GpsFix",
    "HeifUnsupportedError",
    "NotAnImageError",
    "PhotoError",
    "PhotoTooLargeError",
    "ProcessedPhoto",
    "process_photo",
    "read_exif_fix",
    "unsupported_format",
]

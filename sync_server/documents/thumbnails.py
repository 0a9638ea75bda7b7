"""Small copies of stored photos for pages that show many (cached on disk, made once).

The stored photos are already metadata-free upload copies (≤ 2048 px); a thumbnail is made from
pixels only, so it carries nothing either. Written to a temporary name and renamed, so a reader
never sees half a file and two requests at once both end with the same whole file.
"""

from __future__ import annotations

import os
import tempfile
from pathlib import Path

from PIL import Image, UnidentifiedImageError

THUMB_PX = 640
QUALITY = 80


def thumbnail(directory: Path, source: Path, sha256: str, px: int = THUMB_PX) -> Path:
    """The cached ≤ px copy of a stored photo; the original itself if it cannot be read."""
    target = directory / f"{sha256}-{px}.jpg"
    if target.exists():
        return target
    directory.mkdir(parents=True, exist_ok=True)
    try:
        with Image.open(source) as im:
            im.draft("RGB", (px, px))  # JPEG: decode at a reduced scale straight away
            rgb = im.convert("RGB")
    except (OSError, UnidentifiedImageError):
        return source  # served as it is; the page still shows something
    rgb.thumbnail((px, px), Image.Resampling.LANCZOS)
    fd, temporary = tempfile.mkstemp(dir=directory, suffix=".part")
    try:
        with os.fdopen(fd, "wb") as out:
            rgb.save(out, "JPEG", quality=QUALITY, optimize=True)
        os.replace(temporary, target)
    except BaseException:
        Path(temporary).unlink(missing_ok=True)
        raise
    return target

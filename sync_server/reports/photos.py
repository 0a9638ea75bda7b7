"""Photos as reports show them: re-encoded small, from pixels only, so no metadata leaves.

Shared with the walk protocol's PDF (`sync_server.walks.pdf`), which shows the same photos the
same way.
"""

from __future__ import annotations

import io

from PIL import Image, UnidentifiedImageError

from sync_server.core.blobs import BlobError, BlobStore
from sync_server.reports.errors import ReportError

PDF_PHOTO_PX, PDF_QUALITY, MAIL_QUALITY = 640, 70, 75


def shrink(blobs: BlobStore, finding_id: str, sha: str, max_px: int) -> tuple[bytes, bytes]:
    """(email JPEG ≤ max_px, PDF JPEG ≤ 640 px): re-encoded from pixels only, so no metadata."""
    try:
        with blobs.open(sha) as stream, Image.open(stream) as im:
            # JPEG draft: decode at 1/2, 1/4 or 1/8 scale straight away — fast and small.
            im.draft("RGB", (max_px, max_px))
            rgb = im.convert("RGB")
    except (OSError, UnidentifiedImageError, BlobError) as exc:
        raise ReportError(
            f"photo {sha[:12]}… of finding {finding_id} cannot be read from the photo store "
            f"({exc}); check {getattr(blobs, 'root', 'the store')}"
        ) from None
    out = []
    for px, quality in ((max_px, MAIL_QUALITY), (PDF_PHOTO_PX, PDF_QUALITY)):
        rgb.thumbnail((px, px), Image.Resampling.LANCZOS)  # the PDF's from the email's: cheaper
        buffer = io.BytesIO()
        rgb.save(buffer, "JPEG", quality=quality, optimize=True)  # no exif=, no icc_profile=
        out.append(buffer.getvalue())
    return out[0], out[1]

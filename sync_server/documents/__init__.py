"""Documents: what the server draws for paper and pages, shared by the domains that need it.

    pdf         the shared PDF base: page setup and fonts, severity colours, the drawn map
                (MapFrame, pins, scale bar), photo sizing and text measuring; the owner's
                protocol (sync_server.reports.pdf), the walk's (sync_server.walks.pdf) and the
                weekly summary (sync_server.stats.pdf) are built on it
    thumbnails  small copies of stored photos for pages that show many, cached on disk
    qr          QR codes as inline SVG (an enrolment code for a phone to scan)

Below the domains: it knows no finding, owner or walk, only what to draw. The main names are
re-exported so that `from sync_server import documents` gives them.
"""

from __future__ import annotations

from sync_server.documents.pdf import (
    FONTS,
    MARGIN,
    PAGE_W,
    SEVERITY_RGB,
    TEXT_W,
    MapFrame,
    draw_pins,
    photo_size,
    scale_bar,
    start_document,
    text_lines,
)
from sync_server.documents.qr import svg as qr_svg
from sync_server.documents.thumbnails import THUMB_PX, thumbnail

__all__ = [
    "FONTS", "MARGIN", "PAGE_W", "SEVERITY_RGB", "TEXT_W", "THUMB_PX", "MapFrame", "draw_pins",
    "photo_size", "qr_svg", "scale_bar", "start_document", "text_lines", "thumbnail",
]  # fmt: skip

"""The shared base of walkaudit's PDFs (fpdf2, pure Python): page setup, fonts, the drawn map.

The owner's protocol (sync_server.reports.pdf), the walk's protocol (sync_server.walks.pdf) and
the weekly summary (sync_server.stats.pdf) are the same kind of paper and take their look from
here: A4 with 15 mm margins, DejaVu Sans (shipped in sync_server/web/fonts with its licence,
because the PDF core fonts cannot say "–" or reliably åäö), the severity colours, and a map
that is drawn, not fetched: no tiles, since the server may have no internet and a protocol must
not depend on a third party's servers. The map is a local equirectangular frame (`MapFrame`)
with numbered pins (`draw_pins`, spread so close findings do not hide each other) and a scale
bar. Photos are sized into a column (`photo_size`), text lines estimated (`text_lines`).

Errors: none of its own; a photo Pillow cannot read has no size ((0, 0)), and the caller says
"No photo" in its place.
"""

from __future__ import annotations

import io
import math
from collections.abc import Sequence
from dataclasses import dataclass

from fpdf import FPDF
from PIL import Image, UnidentifiedImageError

from sync_server.core.files import FONTS

__all__ = [
    "FONTS", "MARGIN", "PAGE_W", "PHOTO_MAX_H", "PHOTO_W", "SEVERITY_RGB", "TEXT_W", "MapFrame",
    "draw_pins", "photo_size", "scale_bar", "spread", "start_document", "text_lines",
]  # fmt: skip

SEVERITY_RGB = {
    "low": (90, 120, 150),
    "medium": (168, 111, 0),
    "high": (214, 90, 20),
    "urgent": (190, 20, 30),
}
MARGIN, PAGE_W = 15.0, 210.0  # mm: A4 portrait
TEXT_W = PAGE_W - 2 * MARGIN
PHOTO_W, PHOTO_MAX_H = 70.0, 60.0  # the photo column of a finding's block
_PIN_R = 2.6  # mm
_MIN_SPAN = 0.0012  # degrees of latitude (~130 m): the least a map shows around its pins


def start_document(pdf: FPDF, title: str) -> None:
    """A4 margins, page breaks above the footer, the DejaVu fonts, title and creator."""
    pdf.set_margins(MARGIN, MARGIN, MARGIN)
    pdf.set_auto_page_break(True, margin=18)
    pdf.add_font("DejaVu", "", str(FONTS / "DejaVuSans.ttf"))
    pdf.add_font("DejaVu", "B", str(FONTS / "DejaVuSans-Bold.ttf"))
    pdf.set_title(title)
    pdf.set_creator("walkaudit")


@dataclass(frozen=True)
class MapFrame:
    """A north-up map of points in a w × h mm box at (x0, y0): metres are square on paper (a
    local equirectangular frame), and the points fill the box with a margin."""

    x0: float
    y0: float
    w: float
    h: float
    k: float  # cos(latitude): longitude degrees shrink by this much towards the pole
    cx: float
    cy: float
    scale: float  # mm per degree of latitude, the same on both axes

    @classmethod
    def fit(cls, x0: float, y0: float, w: float, h: float,
            points: Sequence[tuple[float, float]], margin: float) -> MapFrame:  # fmt: skip
        """The frame that shows every (lat, lon), at least ~130 m across, with `margin` (×)."""
        lats, lons = [p[0] for p in points], [p[1] for p in points]
        lat0 = (min(lats) + max(lats)) / 2
        k = math.cos(math.radians(lat0))
        span_x = max((max(lons) - min(lons)) * k, _MIN_SPAN) * margin
        span_y = max(max(lats) - min(lats), _MIN_SPAN) * margin
        cx = (min(lons) + max(lons)) / 2 * k
        return cls(x0, y0, w, h, k, cx, lat0, min(w / span_x, h / span_y))

    def project(self, lat: float, lon: float) -> tuple[float, float]:
        """Where (lat, lon) lies on the page, in mm."""
        return (self.x0 + self.w / 2 + (lon * self.k - self.cx) * self.scale,
                self.y0 + self.h / 2 - (lat - self.cy) * self.scale)  # fmt: skip


def draw_pins(pdf: FPDF, frame: MapFrame, pins: Sequence[tuple[float, float, str, int]]) -> None:
    """Numbered pins (lat, lon, severity, number) coloured by severity; a pin moved off a
    neighbour gets a leader line to its real spot. Pins are drawn over every leader line."""
    true = [frame.project(lat, lon) for lat, lon, _, _ in pins]
    placed = spread(true)
    pdf.set_draw_color(40, 40, 40)
    pdf.set_fill_color(40, 40, 40)
    for (px, py), (tx, ty) in zip(placed, true, strict=True):
        if (px, py) != (tx, ty):
            pdf.line(tx, ty, px, py)
            pdf.circle(tx, ty, 0.6, style="F")
    pdf.set_font("DejaVu", "B", 7)
    pdf.set_draw_color(255, 255, 255)
    pdf.set_text_color(255, 255, 255)
    for (_, _, severity, number), (px, py) in zip(pins, placed, strict=True):
        pdf.set_fill_color(*SEVERITY_RGB.get(severity, (60, 60, 60)))
        pdf.circle(px, py, _PIN_R, style="DF")
        pdf.set_xy(px - 3, py - 2)
        pdf.cell(6, 4, str(number), align="C")


def spread(points: list[tuple[float, float]]) -> list[tuple[float, float]]:
    """Pin positions that do not cover each other: a pin too close to one already placed moves
    outwards on a spiral (findings a few metres apart would otherwise hide each other)."""
    placed: list[tuple[float, float]] = []
    for x, y in points:
        candidate = (x, y)
        step = 0
        while any(math.dist(candidate, q) < 2 * _PIN_R + 0.4 for q in placed) and step < 200:
            step += 1
            angle, radius = step * 0.9, 2 * _PIN_R + 0.5 + step * 0.25
            candidate = (x + radius * math.cos(angle), y + radius * math.sin(angle))
        placed.append(candidate)
    return placed


def scale_bar(pdf: FPDF, x: float, y: float, mm_per_degree: float) -> None:
    """A labelled bar of a round number of metres, at least 15 mm long."""
    mm_per_m = mm_per_degree / 111_320  # one degree of latitude ≈ 111.32 km
    metres = next(
        (m for m in (20, 50, 100, 200, 500, 1000, 2000, 5000) if m * mm_per_m >= 15), 10000
    )
    length = metres * mm_per_m
    pdf.set_draw_color(30, 30, 30)
    pdf.set_line_width(0.6)
    pdf.line(x, y, x + length, y)
    pdf.set_line_width(0.2)
    pdf.set_font("DejaVu", "", 7)
    pdf.set_text_color(30, 30, 30)
    pdf.set_xy(x, y - 4.5)
    label = f"{metres // 1000} km" if metres >= 1000 else f"{metres} m"
    pdf.cell(length, 4, label, align="C")


def text_lines(pdf: FPDF, text: str, width: float) -> int:
    """How many lines `text` takes in a cell `width` mm wide, in the current font: estimated
    from its width, not measured (fpdf2's dry-run line breaking would double the cost of a
    block, and this decides only where a page breaks and whether one cell() will do)."""
    return max(1, math.ceil(pdf.get_string_width(text) / (width - 2)))


def photo_size(jpeg: bytes | None) -> tuple[float, float]:
    """The photo's size in mm within PHOTO_W x PHOTO_MAX_H; (0, 0) if there is none."""
    if jpeg is None:
        return 0.0, 0.0
    try:
        with Image.open(io.BytesIO(jpeg)) as im:
            width, height = im.size
    except (UnidentifiedImageError, OSError):
        return 0.0, 0.0
    if not width or not height:
        return 0.0, 0.0
    factor = min(PHOTO_W / width, PHOTO_MAX_H / height)
    return width * factor, height * factor

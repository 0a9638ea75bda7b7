"""The PDF protocol of one owner's findings (fpdf2, pure Python): header, a map, one block each.

The map is drawn, not fetched: the owner's area polygons (owner_areas.geojson) and numbered pins,
projected equirectangularly around the findings, with a scale bar. No tiles — the server may have
no internet, and a protocol must not depend on a third party's servers. The font is DejaVu Sans
(shipped in sync_server/web/fonts with its licence) because the PDF core fonts cannot say "–"
or reliably åäö. Every text comes from `walkaudit.i18n` (sync_server.texts.mail).

Errors: none of its own; a photo Pillow cannot read is left out (its block says "No photo"),
and one the report could not read from the store (`ProtocolItem.photos_missing`) is said to be
missing ("The photo could not be read").
"""

from __future__ import annotations

import io
import json
import math
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import date
from typing import Any

from fpdf import FPDF
from fpdf.enums import WrapMode, XPos, YPos
from PIL import Image, UnidentifiedImageError

from sync_server import texts  # noqa: F401 - every catalogue, registered once
from sync_server.core.files import FONTS
from walkaudit.i18n import t

SEVERITY_RGB = {
    "low": (90, 120, 150),
    "medium": (168, 111, 0),
    "high": (214, 90, 20),
    "urgent": (190, 20, 30),
}
_MARGIN, _PAGE_W = 15.0, 210.0
_TEXT_W = _PAGE_W - 2 * _MARGIN
_PHOTO_W, _PHOTO_MAX_H = 70.0, 60.0
_PIN_R = 2.6  # mm
_MIN_SPAN = 0.0012  # degrees of latitude (~130 m): the least a map shows around its pins
Ring = list[tuple[float, float]]  # (lon, lat)


@dataclass
class ProtocolItem:
    """One finding as the email and the PDF show it (texts already in the owner's language)."""

    number: int
    finding_id: str
    category: str
    severity: str  # the code: low, medium, high, urgent
    severity_label: str
    note: str
    latitude: float
    longitude: float
    accuracy: float | None
    map_url: str
    deadline: str
    recorded: str
    address: str | None = None
    photos: list[bytes] = field(default_factory=list)  # shrunk for the email (inline)
    pdf_photo: bytes | None = None
    page_url: str = ""  # this finding on the owner page
    photo_urls: list[str] = field(default_factory=list)  # each photo on the owner page
    deadline_date: date | None = None
    photos_missing: int = 0  # photos that could not be read (left out; the texts say so)
    photos_missing_note: str = ""  # "1 foto kunde inte läsas och saknas här."

    @property
    def position(self) -> str:
        """'59.27430, 15.20660 (±4 m)'."""
        accuracy = f" (±{self.accuracy:.0f} m)" if self.accuracy is not None else ""
        return f"{self.latitude:.5f}, {self.longitude:.5f}{accuracy}"


class _Document(FPDF):
    lang = "sv"

    def footer(self) -> None:
        self.set_y(-12)
        self.set_font("DejaVu", "", 8)
        self.set_text_color(110, 110, 110)
        self.cell(0, 5, t("pdf.page", self.lang, page=self.page_no(), pages="{nb}"), align="C")


def render_protocol(
    items: Sequence[ProtocolItem],
    *,
    lang: str,
    owner: str,
    date: str,
    link: str,
    areas: Sequence[str] = (),
) -> bytes:
    """The protocol as PDF bytes; `areas` are the owner's GeoJSON texts (Feature or geometry)."""
    pdf = _Document(format="A4")
    pdf.lang = lang
    pdf.set_margins(_MARGIN, _MARGIN, _MARGIN)
    pdf.set_auto_page_break(True, margin=18)
    pdf.add_font("DejaVu", "", str(FONTS / "DejaVuSans.ttf"))
    pdf.add_font("DejaVu", "B", str(FONTS / "DejaVuSans-Bold.ttf"))
    pdf.set_title(t("pdf.title", lang))
    pdf.set_creator("walkaudit")
    pdf.add_page()
    _header(pdf, lang, owner, date, link, len(items))
    if items:
        _map(pdf, lang, items, [r for text in areas for r in outer_rings(text)])
    for item in items:
        _block(pdf, lang, item, len(items))
    return bytes(pdf.output())


def _header(pdf: FPDF, lang: str, owner: str, date: str, link: str, n: int) -> None:
    pdf.set_font("DejaVu", "B", 18)
    pdf.multi_cell(_TEXT_W, 9, t("pdf.title", lang), new_x=XPos.LMARGIN, new_y=YPos.NEXT)
    pdf.set_font("DejaVu", "", 11)
    for line in (
        t("pdf.owner", lang, owner=owner),
        t("pdf.date", lang, date=date),
        t("pdf.count", lang, n=n),
    ):
        pdf.multi_cell(_TEXT_W, 6, line, new_x=XPos.LMARGIN, new_y=YPos.NEXT)
    pdf.set_font("DejaVu", "", 9)
    pdf.set_text_color(20, 70, 160)
    pdf.multi_cell(
        _TEXT_W,
        5,
        t("pdf.link", lang, url=link),
        link=link,
        wrapmode=WrapMode.CHAR,
        new_x=XPos.LMARGIN,
        new_y=YPos.NEXT,
    )
    pdf.set_text_color(0, 0, 0)
    pdf.ln(3)


def outer_rings(geojson: str) -> list[Ring]:
    """The outer rings of a GeoJSON Feature/FeatureCollection/(Multi)Polygon; [] if unreadable."""
    try:
        data = json.loads(geojson)
    except (TypeError, ValueError):
        return []
    if not isinstance(data, dict):
        return []
    if data.get("type") == "FeatureCollection":
        return [r for f in data.get("features") or [] for r in outer_rings(json.dumps(f))]
    geometry = data.get("geometry") if data.get("type") == "Feature" else data
    if not isinstance(geometry, dict):
        return []
    polygons: Any = {
        "Polygon": [geometry.get("coordinates")],
        "MultiPolygon": geometry.get("coordinates"),
    }.get(str(geometry.get("type")), [])
    rings: list[Ring] = []
    for polygon in polygons or []:
        try:
            rings.append([(float(p[0]), float(p[1])) for p in polygon[0]])
        except (TypeError, ValueError, IndexError):
            continue
    return rings


def _map(pdf: FPDF, lang: str, items: Sequence[ProtocolItem], rings: list[Ring]) -> None:
    pdf.set_font("DejaVu", "B", 12)
    pdf.cell(0, 7, t("pdf.map", lang), new_x=XPos.LMARGIN, new_y=YPos.NEXT)
    # The findings with a margin, at least ~130 m across: a lone pin still shows its street.
    frame = MapFrame.fit(_MARGIN, pdf.get_y() + 1, _TEXT_W, 105.0,
                         [(i.latitude, i.longitude) for i in items], margin=1.25)  # fmt: skip
    x0, y0, w, h = frame.x0, frame.y0, frame.w, frame.h
    pdf.set_draw_color(120, 120, 120)
    pdf.set_fill_color(246, 246, 242)
    pdf.rect(x0, y0, w, h, style="DF")
    with pdf.rect_clip(x0, y0, w, h):
        pdf.set_fill_color(214, 230, 214)
        pdf.set_draw_color(60, 130, 60)
        pdf.set_line_width(0.5)
        for ring in rings:
            if len(ring) >= 3:
                pdf.polygon([frame.project(lat, lon) for lon, lat in ring], style="DF")
        pdf.set_line_width(0.2)
        draw_pins(pdf, frame, [(i.latitude, i.longitude, i.severity, i.number) for i in items])
    scale_bar(pdf, x0 + 4, y0 + h - 5, frame.scale)
    pdf.set_text_color(80, 80, 80)
    pdf.set_font("DejaVu", "", 8)
    pdf.set_xy(x0, y0 + h + 1)
    pdf.multi_cell(w, 4, t("pdf.map_note", lang), new_x=XPos.LMARGIN, new_y=YPos.NEXT)
    pdf.set_text_color(0, 0, 0)
    pdf.set_draw_color(0, 0, 0)
    pdf.ln(4)


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


def _block(pdf: FPDF, lang: str, item: ProtocolItem, n: int) -> None:
    lines = [
        (t("mail.label.note", lang), item.note or t("mail.no_note", lang)),
        (t("mail.label.position", lang), item.position),
        (t("mail.label.deadline", lang), item.deadline),
        (t("mail.label.recorded", lang), item.recorded),
    ]
    if item.address:
        lines.insert(1, (t("mail.label.address", lang), item.address))
    if item.photos_missing_note:
        lines.append((t("mail.label.photo", lang), item.photos_missing_note))
    text_x = _MARGIN + _PHOTO_W + 5
    text_w = _PAGE_W - _MARGIN - text_x
    photo_w, photo_h = photo_size(item.pdf_photo)
    pdf.set_font("DejaVu", "", 9)
    # Estimated, not measured: fpdf2's dry-run line breaking would double the cost of a block,
    # and this only decides where a page breaks (a line of slack covers the estimate).
    text_h = 4.6 * (2 + sum(_lines(pdf, f"{label}: {value}", text_w) for label, value in lines))
    needed = 9 + max(photo_h or 8, text_h) + 6
    if pdf.get_y() + needed > pdf.h - 18:
        pdf.add_page()
    pdf.set_font("DejaVu", "B", 11)
    pdf.set_text_color(*SEVERITY_RGB.get(item.severity, (0, 0, 0)))
    heading = f"{item.number}. {item.category} – {item.severity_label}"
    pdf.multi_cell(_TEXT_W, 7, heading, new_x=XPos.LMARGIN, new_y=YPos.NEXT)
    pdf.set_text_color(0, 0, 0)
    top = pdf.get_y() + 1
    if item.pdf_photo is not None and photo_h:
        pdf.image(io.BytesIO(item.pdf_photo), x=_MARGIN, y=top, w=photo_w, h=photo_h)
    else:
        pdf.set_font("DejaVu", "", 9)
        pdf.set_xy(_MARGIN, top)
        empty = "pdf.photo_unreadable" if item.photos_missing else "pdf.no_photo"
        pdf.cell(_PHOTO_W, 8, t(empty, lang), border=1, align="C")
    pdf.set_xy(text_x, top)
    pdf.set_font("DejaVu", "", 9)
    for label, value in lines:
        pdf.set_x(text_x)
        text = f"{label}: {value}"
        if _lines(pdf, text, text_w) == 1:  # cell() is much cheaper than multi_cell()
            pdf.cell(text_w, 4.6, text, new_x=XPos.LMARGIN, new_y=YPos.NEXT)
        else:
            pdf.multi_cell(text_w, 4.6, text, new_x=XPos.LMARGIN, new_y=YPos.NEXT)
    pdf.set_x(text_x)
    pdf.set_text_color(20, 70, 160)
    pdf.cell(
        text_w,
        4.6,
        t("mail.map_link", lang),
        link=item.map_url,
        new_x=XPos.LMARGIN,
        new_y=YPos.NEXT,
    )
    pdf.set_text_color(0, 0, 0)
    pdf.set_y(max(pdf.get_y(), top + (photo_h or 8)) + 5)
    pdf.set_draw_color(200, 200, 200)
    pdf.line(_MARGIN, pdf.get_y() - 2.5, _PAGE_W - _MARGIN, pdf.get_y() - 2.5)


def _lines(pdf: FPDF, text: str, width: float) -> int:
    return max(1, math.ceil(pdf.get_string_width(text) / (width - 2)))


def photo_size(jpeg: bytes | None) -> tuple[float, float]:
    """The photo's size in mm within _PHOTO_W x _PHOTO_MAX_H; (0, 0) if there is none."""
    if jpeg is None:
        return 0.0, 0.0
    try:
        with Image.open(io.BytesIO(jpeg)) as im:
            width, height = im.size
    except (UnidentifiedImageError, OSError):
        return 0.0, 0.0
    if not width or not height:
        return 0.0, 0.0
    factor = min(_PHOTO_W / width, _PHOTO_MAX_H / height)
    return width * factor, height * factor

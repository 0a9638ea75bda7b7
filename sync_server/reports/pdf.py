"""The PDF protocol of one owner's findings (fpdf2, pure Python): header, a map, one block each.

The map is drawn, not fetched: the owner's area polygons (owner_areas.geojson) and numbered pins,
projected equirectangularly around the findings, with a scale bar. No tiles — the server may have
no internet, and a protocol must not depend on a third party's servers. Page setup, fonts, the
map frame, pins, scale bar and photo sizing are the shared base in sync_server.documents.pdf
(the walk's protocol looks the same). Every text comes from `walkaudit.i18n`
(sync_server.texts.mail).

Errors: none of its own; a photo Pillow cannot read is left out (its block says "No photo"),
and one the report could not read from the store (`ProtocolItem.photos_missing`) is said to be
missing ("The photo could not be read").
"""

from __future__ import annotations

import io
import json
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import date
from typing import Any

from fpdf import FPDF
from fpdf.enums import WrapMode, XPos, YPos

from sync_server import texts  # noqa: F401 - every catalogue, registered once
from sync_server.documents.pdf import (
    MARGIN,
    PAGE_W,
    PHOTO_W,
    SEVERITY_RGB,
    TEXT_W,
    MapFrame,
    draw_pins,
    photo_size,
    scale_bar,
    start_document,
    text_lines,
)
from walkaudit.i18n import t

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
    start_document(pdf, t("pdf.title", lang))
    pdf.add_page()
    _header(pdf, lang, owner, date, link, len(items))
    if items:
        _map(pdf, lang, items, [r for text in areas for r in outer_rings(text)])
    for item in items:
        _block(pdf, lang, item, len(items))
    return bytes(pdf.output())


def _header(pdf: FPDF, lang: str, owner: str, date: str, link: str, n: int) -> None:
    pdf.set_font("DejaVu", "B", 18)
    pdf.multi_cell(TEXT_W, 9, t("pdf.title", lang), new_x=XPos.LMARGIN, new_y=YPos.NEXT)
    pdf.set_font("DejaVu", "", 11)
    for line in (
        t("pdf.owner", lang, owner=owner),
        t("pdf.date", lang, date=date),
        t("pdf.count", lang, n=n),
    ):
        pdf.multi_cell(TEXT_W, 6, line, new_x=XPos.LMARGIN, new_y=YPos.NEXT)
    pdf.set_font("DejaVu", "", 9)
    pdf.set_text_color(20, 70, 160)
    pdf.multi_cell(
        TEXT_W,
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
    frame = MapFrame.fit(MARGIN, pdf.get_y() + 1, TEXT_W, 105.0,
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
    text_x = MARGIN + PHOTO_W + 5
    text_w = PAGE_W - MARGIN - text_x
    photo_w, photo_h = photo_size(item.pdf_photo)
    pdf.set_font("DejaVu", "", 9)
    # Estimated, not measured: fpdf2's dry-run line breaking would double the cost of a block,
    # and this only decides where a page breaks (a line of slack covers the estimate).
    text_h = 4.6 * (2 + sum(text_lines(pdf, f"{label}: {value}", text_w) for label, value in lines))
    needed = 9 + max(photo_h or 8, text_h) + 6
    if pdf.get_y() + needed > pdf.h - 18:
        pdf.add_page()
    pdf.set_font("DejaVu", "B", 11)
    pdf.set_text_color(*SEVERITY_RGB.get(item.severity, (0, 0, 0)))
    heading = f"{item.number}. {item.category} – {item.severity_label}"
    pdf.multi_cell(TEXT_W, 7, heading, new_x=XPos.LMARGIN, new_y=YPos.NEXT)
    pdf.set_text_color(0, 0, 0)
    top = pdf.get_y() + 1
    if item.pdf_photo is not None and photo_h:
        pdf.image(io.BytesIO(item.pdf_photo), x=MARGIN, y=top, w=photo_w, h=photo_h)
    else:
        pdf.set_font("DejaVu", "", 9)
        pdf.set_xy(MARGIN, top)
        empty = "pdf.photo_unreadable" if item.photos_missing else "pdf.no_photo"
        pdf.cell(PHOTO_W, 8, t(empty, lang), border=1, align="C")
    pdf.set_xy(text_x, top)
    pdf.set_font("DejaVu", "", 9)
    for label, value in lines:
        pdf.set_x(text_x)
        text = f"{label}: {value}"
        if text_lines(pdf, text, text_w) == 1:  # cell() is much cheaper than multi_cell()
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
    pdf.line(MARGIN, pdf.get_y() - 2.5, PAGE_W - MARGIN, pdf.get_y() - 2.5)

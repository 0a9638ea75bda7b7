"""A walk's protocol as PDF (fpdf2, DejaVu fonts): header, summary, route map, then per owner.

Built on the shared PDF base (sync_server.documents.pdf), like the owner's protocol: page setup,
fonts, severity colours, map frame, pins, scale bar and photo sizing: the same look for the same
kind of paper. The map is drawn, not fetched (no tiles: a protocol must not depend on anybody's
servers): the walked route as a line and the findings as numbered pins. Photos are the first
stored photo of each finding, re-encoded small and metadata-free by `reports.photos.shrink`
(640 px).

Errors: none of its own. A photo the store cannot give back is left out ("The photo could not
be read"), logged; a finding that cannot be drawn gets a line saying so, logged, and the others
are drawn: one odd finding never costs the walk its protocol.
"""

from __future__ import annotations

import io
import logging
import os
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor

from fpdf import FPDF
from fpdf.enums import XPos, YPos

from sync_server.core.blobs import BlobStore
from sync_server.core.time import local_day, local_time
from sync_server.documents.pdf import (
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
from sync_server.reports.errors import ReportError
from sync_server.reports.photos import PDF_PHOTO_PX, shrink
from sync_server.texts.mail import plural
from sync_server.walks.protocol import Entry, Protocol
from walkaudit.i18n import category_label, t

log = logging.getLogger(__name__)

_PHOTO_W = 56.0  # narrower than the owner's protocol: four findings to a page, not three
_ROUTE_RGB = (21, 101, 192)
_LINE_H = 4.6


class _Document(FPDF):
    lang = "sv"
    walk = ""

    def footer(self) -> None:
        self.set_y(-12)
        self.set_font("DejaVu", "", 8)
        self.set_text_color(110, 110, 110)
        text = t("walks.pdf.footer", self.lang, walk=self.walk, page=self.page_no(), pages="{nb}")
        self.cell(0, 5, text, align="C")


UNREADABLE = b""  # in pdf_photos' answer: the finding has a photo, but it cannot be read


def pdf_photos(blobs: BlobStore, protocol: Protocol) -> dict[str, bytes]:
    """The first stored photo of every finding, shrunk for the PDF, by finding id (UNREADABLE
    for one that cannot be read: a lost file or a truncated upload must not cost the whole
    protocol)."""
    jobs = [(e.finding_id, e.photos[0]) for e in protocol.entries if e.photos]

    def one(job: tuple[str, str]) -> bytes:
        try:
            return shrink(blobs, job[0], job[1], PDF_PHOTO_PX)[1]
        except ReportError as exc:
            log.warning("walk protocol without a photo: %s", exc.message)
        except Exception:  # e.g. a decompression bomb: this photo only
            log.exception("walk protocol without photo %s of finding %s", job[1], job[0])
        return UNREADABLE

    # Pillow lets go of the GIL while it decodes, scales and encodes: one thread per core.
    with ThreadPoolExecutor(max_workers=os.cpu_count() or 2) as pool:
        shrunk = list(pool.map(one, jobs))
    return {fid: jpeg for (fid, _), jpeg in zip(jobs, shrunk, strict=True)}


def render_walk_protocol(
    protocol: Protocol,
    *,
    lang: str,
    route: Sequence[tuple[float, float]] = (),
    photos: dict[str, bytes] | None = None,
) -> bytes:
    """The protocol as PDF bytes; `photos` by finding id (None or {}: no photos)."""
    walk = protocol.walk
    pdf = _Document(format="A4")
    pdf.lang, pdf.walk = lang, walk.name
    start_document(pdf, f"{t('walks.pdf.title', lang)}: {walk.name}")
    pdf.add_page()
    _header(pdf, lang, protocol)
    entries = protocol.entries
    if entries or route:
        _map(pdf, lang, entries, route)
    if not entries:
        pdf.set_font("DejaVu", "", 11)
        pdf.multi_cell(TEXT_W, 6, t("walks.protocol.empty", lang))
    for group in protocol.groups:
        name = group.owner_name or t("walks.protocol.unassigned", lang)
        for i, entry in enumerate(group.entries):
            photo = (photos or {}).get(entry.finding_id)
            try:
                _block(pdf, lang, entry, photo, name, len(group.entries), first=i == 0)
            except Exception:  # this finding's data: a line instead of its block
                log.exception("walk protocol: finding %s could not be drawn", entry.finding_id)
                pdf.set_left_margin(MARGIN)
                pdf.set_x(MARGIN)
                pdf.set_font("DejaVu", "", 9)
                pdf.set_text_color(0, 0, 0)
                pdf.multi_cell(TEXT_W, 5, t("walks.pdf.entry_failed", lang, n=entry.number),
                               new_x=XPos.LMARGIN, new_y=YPos.NEXT)  # fmt: skip
    return bytes(pdf.output())


def _header(pdf: FPDF, lang: str, protocol: Protocol) -> None:
    walk = protocol.walk
    pdf.set_font("DejaVu", "B", 18)
    pdf.multi_cell(TEXT_W, 9, t("walks.pdf.title", lang), new_x=XPos.LMARGIN, new_y=YPos.NEXT)
    pdf.set_font("DejaVu", "B", 13)
    pdf.multi_cell(TEXT_W, 7, walk.name, new_x=XPos.LMARGIN, new_y=YPos.NEXT)
    pdf.ln(1)
    when = local_time(walk.started_at)
    if walk.ended_at:
        end = local_time(walk.ended_at)
        when += f"–{end[11:]}" if end[:10] == when[:10] else f" – {end}"
    people = "; ".join(p.label for p in protocol.participants)
    facts = [
        ("walks.protocol.area", walk.area or "–"),
        ("walks.protocol.date", when),
        ("walks.protocol.participants", people or t("walks.protocol.no_participants", lang)),
        ("walks.protocol.count", str(len(protocol.entries))),
    ]
    for key, value in facts:
        _fact(pdf, t(key, lang), value, 11)
    if protocol.groups:
        pdf.ln(2)
        pdf.set_font("DejaVu", "B", 11)
        pdf.cell(0, 6, t("walks.protocol.summary", lang), new_x=XPos.LMARGIN, new_y=YPos.NEXT)
        for group in protocol.groups:
            name = group.owner_name or t("walks.protocol.unassigned", lang)
            count = plural("walks.protocol.group", len(group.entries), lang)
            _fact(pdf, name, count, 10)
    for key, n in (("walks.protocol.duplicates", protocol.duplicates),
                   ("walks.protocol.police_only", protocol.police_only)):  # fmt: skip
        if n:
            pdf.set_font("DejaVu", "", 9)
            pdf.set_text_color(90, 90, 90)
            pdf.multi_cell(TEXT_W, 5, t(key, lang, n=n), new_x=XPos.LMARGIN, new_y=YPos.NEXT)
            pdf.set_text_color(0, 0, 0)
    pdf.ln(3)


def _fact(pdf: FPDF, label: str, value: str, size: float) -> None:
    """'Label: value' with the label in bold, wrapping under itself."""
    pdf.set_font("DejaVu", "B", size)
    width = min(pdf.get_string_width(f"{label}: ") + 1, TEXT_W / 2)
    top = pdf.get_y()
    pdf.multi_cell(width, size * 0.55, f"{label}:", new_x=XPos.RIGHT, new_y=YPos.TOP)
    pdf.set_font("DejaVu", "", size)
    pdf.set_xy(MARGIN + width, top)
    pdf.multi_cell(TEXT_W - width, size * 0.55, value, align="L",
                   new_x=XPos.LMARGIN, new_y=YPos.NEXT)  # fmt: skip


def _map(pdf: FPDF, lang: str, entries: Sequence[Entry],
         route: Sequence[tuple[float, float]]) -> None:  # fmt: skip
    pdf.set_font("DejaVu", "B", 12)
    if pdf.get_y() + 7 + 85 + 12 > pdf.h - 18:
        pdf.add_page()
    pdf.cell(0, 7, t("walks.pdf.map", lang), new_x=XPos.LMARGIN, new_y=YPos.NEXT)
    frame = MapFrame.fit(MARGIN, pdf.get_y() + 1, TEXT_W, 85.0,
                         [(e.latitude, e.longitude) for e in entries] + list(route),
                         margin=1.15)  # fmt: skip
    x0, y0, w, h = frame.x0, frame.y0, frame.w, frame.h
    pdf.set_draw_color(120, 120, 120)
    pdf.set_fill_color(246, 246, 242)
    pdf.rect(x0, y0, w, h, style="DF")
    with pdf.rect_clip(x0, y0, w, h):
        if len(route) >= 2:
            pdf.set_draw_color(*_ROUTE_RGB)
            pdf.set_line_width(0.8)
            pdf.polyline([frame.project(lat, lon) for lat, lon in route])
            pdf.set_line_width(0.2)
        draw_pins(pdf, frame, [(e.latitude, e.longitude, e.severity, e.number) for e in entries])
    scale_bar(pdf, x0 + 4, y0 + h - 5, frame.scale)
    pdf.set_text_color(80, 80, 80)
    pdf.set_draw_color(0, 0, 0)
    pdf.set_font("DejaVu", "", 8)
    pdf.set_xy(x0, y0 + h + 1)
    pdf.multi_cell(w, 4, t("walks.pdf.map_note", lang), new_x=XPos.LMARGIN, new_y=YPos.NEXT)
    pdf.set_text_color(0, 0, 0)
    pdf.ln(3)


def _group_heading(pdf: FPDF, lang: str, name: str, n: int, continued: bool = False) -> None:
    pdf.set_font("DejaVu", "B", 13)
    pdf.set_fill_color(232, 238, 246)
    text = f"{name} – {plural('walks.protocol.group', n, lang)}"
    if continued:
        text = f"{name} {t('walks.pdf.continued', lang)}"
    pdf.multi_cell(TEXT_W, 8, text, fill=True, padding=(0, 2),
                   new_x=XPos.LMARGIN, new_y=YPos.NEXT)  # fmt: skip
    pdf.ln(2)


def _block(pdf: FPDF, lang: str, entry: Entry, photo: bytes | None, group: str,
           group_size: int, first: bool) -> None:  # fmt: skip
    """One finding: photo on the left, its facts on the right; the group's heading above the
    first, and again ("continued") above one that starts a new page."""
    priority = t(f"walks.protocol.priority.{entry.priority}", lang)
    lines = [
        (t("walks.protocol.note", lang), entry.note or t("walks.protocol.no_note", lang)),
        (t("walks.protocol.priority", lang), priority),
        (t("walks.protocol.deadline", lang),
         entry.deadline or t("walks.protocol.no_deadline", lang)),
        (t("walks.protocol.status", lang), t(f"status.{entry.status}", lang)),
        (t("walks.protocol.position", lang), entry.position),
        (t("walks.protocol.recorded", lang), local_time(entry.captured_at)),
    ]  # fmt: skip
    text_x = MARGIN + _PHOTO_W + 5
    text_w = PAGE_W - MARGIN - text_x
    photo_w, photo_h = photo_size(photo)  # within 70 x 60 mm; scaled to this column
    if photo_w > _PHOTO_W:
        photo_w, photo_h = _PHOTO_W, photo_h * _PHOTO_W / photo_w
    pdf.set_font("DejaVu", "", 9)
    # Estimated, not measured (documents.pdf.text_lines): it only decides where a page breaks.
    text_h = _LINE_H * (1 + sum(text_lines(pdf, f"{a}: {b}", text_w) for a, b in lines))
    needed = 9 + max(photo_h or 8, text_h) + 6 + (12 if first else 0)
    if pdf.get_y() + needed > pdf.h - 18:
        pdf.add_page()
        if not first:
            _group_heading(pdf, lang, group, group_size, continued=True)
    if first:
        _group_heading(pdf, lang, group, group_size)
    pdf.set_font("DejaVu", "B", 11)
    pdf.set_text_color(*SEVERITY_RGB.get(entry.severity, (0, 0, 0)))
    title = (f"{entry.number}. {category_label(entry.category, lang)} – "
             f"{t(f'severity.{entry.severity}', lang)}")  # fmt: skip
    pdf.multi_cell(TEXT_W, 7, title, new_x=XPos.LMARGIN, new_y=YPos.NEXT)
    pdf.set_text_color(0, 0, 0)
    top = pdf.get_y() + 1
    if photo is not None and photo_h:
        pdf.image(io.BytesIO(photo), x=MARGIN, y=top, w=photo_w, h=photo_h)
    else:
        pdf.set_font("DejaVu", "", 9)
        pdf.set_xy(MARGIN, top)
        missing = "walks.protocol.photo_pending" if entry.photos_pending else "walks.pdf.no_photo"
        if photo == UNREADABLE:
            missing = "walks.pdf.photo_unreadable"
        pdf.cell(_PHOTO_W, 8, t(missing, lang), border=1, align="C")
    # write() wraps at the right margin and goes on at the left one: the text column's edge.
    pdf.set_left_margin(text_x)
    pdf.set_xy(text_x, top)
    for label, value in lines:
        pdf.set_font("DejaVu", "B", 9)
        pdf.write(_LINE_H, f"{label}: ")
        pdf.set_font("DejaVu", "", 9)
        pdf.write(_LINE_H, value)
        pdf.ln(_LINE_H)
    pdf.set_left_margin(MARGIN)
    pdf.set_y(max(pdf.get_y(), top + (photo_h or 8)) + 5)
    pdf.set_draw_color(200, 200, 200)
    pdf.line(MARGIN, pdf.get_y() - 2.5, PAGE_W - MARGIN, pdf.get_y() - 2.5)
    pdf.set_draw_color(0, 0, 0)


def filename(protocol: Protocol, lang: str) -> str:
    """protokoll-kvallsvandring-vivalla-2026-11-25.pdf: ASCII, safe in a header."""
    folded = protocol.walk.name.casefold().translate(str.maketrans("åäöéü", "aaoeu"))
    slug = "-".join("".join(c if c.isascii() and c.isalnum() else " " for c in folded).split())
    return t("walks.pdf.filename", lang, slug=slug[:60] or "vandring",
             date=local_day(protocol.walk.started_at))  # fmt: skip

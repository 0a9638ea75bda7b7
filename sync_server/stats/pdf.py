"""The weekly lägesbild as a PDF (fpdf2): headline numbers, then one table per question.

Made to be filed and forwarded as it is (the municipality's lägesbild and action plan): A4, the
DejaVu fonts shipped in sync_server/web/fonts (the PDF core fonts cannot write "–" or reliably
åäö), every word from the `stats.*` catalogue, category colours as small bars beside the counts,
tables that repeat their header after a page break.

Errors: none of its own.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from fpdf import FPDF
from fpdf.enums import XPos, YPos

from sync_server import texts  # noqa: F401 - every catalogue, registered once
from sync_server.documents.pdf import FONTS
from sync_server.stats.week import Summary
from walkaudit import categories
from walkaudit.i18n import Translator

_MARGIN, _PAGE_W = 15.0, 210.0
_TEXT_W = _PAGE_W - 2 * _MARGIN
_ROW_H = 6.0


class _Document(FPDF):
    t: Translator = Translator()
    url = ""

    def footer(self) -> None:
        self.set_y(-12)
        self.set_font("DejaVu", "", 8)
        self.set_text_color(110, 110, 110)
        page = self.t("stats.summary.pdf.page", page=self.page_no(), pages="{nb}")
        self.cell(0, 5, f"{page}   ·   {self.url}", align="C")


def render_summary(summary: Summary, *, lang: str, url: str, made: datetime) -> bytes:
    """The summary as PDF bytes; `url` is the page it came from, `made` when (local time)."""
    t = Translator(lang)
    pdf = _Document(format="A4")
    pdf.t, pdf.url = t, url
    pdf.set_margins(_MARGIN, _MARGIN, _MARGIN)
    pdf.set_auto_page_break(True, margin=18)
    pdf.add_font("DejaVu", "", str(FONTS / "DejaVuSans.ttf"))
    pdf.add_font("DejaVu", "B", str(FONTS / "DejaVuSans-Bold.ttf"))
    week = summary.week
    title = t("stats.summary.title", week=week.number, year=week.year)
    pdf.set_title(title)
    pdf.set_creator("walkaudit")
    pdf.add_page()

    pdf.set_font("DejaVu", "B", 18)
    pdf.multi_cell(_TEXT_W, 9, title, new_x=XPos.LMARGIN, new_y=YPos.NEXT)
    pdf.set_font("DejaVu", "", 11)
    period = t("stats.summary.period", start=week.monday.isoformat(), end=week.sunday.isoformat())
    made_text = t("stats.summary.pdf.made", when=made.strftime("%Y-%m-%d %H:%M"))
    pdf.cell(_TEXT_W, 6, f"{period}   ·   {made_text}", new_x=XPos.LMARGIN, new_y=YPos.NEXT)
    pdf.set_font("DejaVu", "", 9)
    pdf.set_text_color(80, 80, 80)
    pdf.multi_cell(
        _TEXT_W,
        4.6,
        t("stats.summary.intro", today=summary.today.isoformat()),
        new_x=XPos.LMARGIN,
        new_y=YPos.NEXT,
    )
    pdf.set_text_color(0, 0, 0)
    pdf.ln(3)
    _numbers(pdf, t, summary)

    cat, no_area, nobody = t.category, t("stats.no_area"), t("stats.owner.none")
    _heading(pdf, t("stats.summary.h.new"))
    if summary.new:
        top = max(n for _, n in summary.new_by_category)
        rows = [[cat(c), str(n), ""] for c, n in summary.new_by_category]
        bars = [(categories.colour(c), n / top) for c, n in summary.new_by_category]
        heads = [t("stats.col.category"), t("stats.summary.col.count"), ""]
        _table(pdf, heads, rows, [80, 22, 78], right={1}, bars=bars)
        pdf.ln(2)
        rows = [[name or no_area, str(n)] for name, n in summary.new_by_area]
        _table(pdf, [t("stats.col.area"), t("stats.summary.col.count")], rows, [80, 22], right={1})
    else:
        _line(pdf, t("stats.summary.none_new"))

    _heading(pdf, t("stats.summary.h.fixed"))
    if summary.fixed_items:
        heads = [t("stats.col.category"), t("stats.col.area"), t("stats.col.owner"),
                 t("stats.summary.col.days_to_fix")]  # fmt: skip
        rows = [[cat(i.category), i.area or no_area, i.owner or nobody, _decimal(i.days, lang)]
                for i in summary.fixed_items]  # fmt: skip
        _table(pdf, heads, rows, [50, 40, 60, 30], right={3})
        if summary.fixed > len(summary.fixed_items):
            _line(pdf, t("stats.summary.more_fixed", n=summary.fixed - len(summary.fixed_items)))
    else:
        _line(pdf, t("stats.summary.none_fixed"))

    _heading(pdf, t("stats.summary.h.overdue"))
    if summary.overdue_by_owner:
        heads = [t("stats.col.owner"), t("stats.col.overdue"), t("stats.col.open"),
                 t("stats.summary.col.oldest_deadline")]  # fmt: skip
        rows = [[o.name or nobody, str(o.overdue), str(o.open), o.oldest_deadline[:10]]
                for o in summary.overdue_by_owner]  # fmt: skip
        _table(pdf, heads, rows, [84, 26, 26, 44], right={1, 2})
    else:
        _line(pdf, t("stats.summary.none_overdue"))

    _heading(pdf, t("stats.summary.h.oldest"))
    if summary.oldest_open:
        late = t("stats.summary.overdue_badge")
        heads = [t("stats.col.category"), t("stats.col.area"), t("stats.col.owner"),
                 t("stats.summary.col.noted"), t("stats.summary.col.deadline")]  # fmt: skip
        rows = [[cat(i.category), i.area or no_area, i.owner or nobody, i.noted.isoformat(),
                 (i.deadline or "–")[:10] + (f" {late}" if i.overdue else "")]
                for i in summary.oldest_open]  # fmt: skip
        _table(pdf, heads, rows, [46, 26, 42, 23, 43])
    else:
        _line(pdf, t("stats.summary.none_open"))

    _heading(pdf, t("stats.summary.h.places"))
    if summary.places:
        heads = [t("stats.col.area"), t("stats.summary.k.new"), t("stats.summary.col.open_now")]
        rows = [[p.name, str(p.new), str(p.open_now)] for p in summary.places]
        _table(pdf, heads, rows, [80, 30, 40], right={1, 2})
    else:
        _line(pdf, t("stats.summary.none_new"))
    return bytes(pdf.output())


def _decimal(value: float | None, lang: str) -> str:
    """5,0 in Swedish, 5.0 in English."""
    if value is None:
        return "–"
    text = f"{value:.1f}"
    return text.replace(".", ",") if lang == "sv" else text


def _numbers(pdf: FPDF, t: Translator, s: Summary) -> None:
    """The headline numbers in two rows of boxes."""
    rows = [
        [
            (t("stats.summary.k.new"), s.new, t("stats.summary.k.new_previous", n=s.new_previous)),
            (t("stats.summary.k.sent"), s.sent, ""),
            (t("stats.summary.k.acknowledged"), s.acknowledged, ""),
            (t("stats.summary.k.fixed"), s.fixed, ""),
        ],
        [
            (t("stats.summary.k.open"), s.open_now, ""),
            (t("stats.summary.k.overdue"), s.overdue_now, ""),
            (t("stats.summary.k.triage"), s.triage_now, ""),
        ],
    ]
    w, h, gap = (_TEXT_W - 3 * 3) / 4, 20.0, 3.0
    for row in rows:
        y = pdf.get_y()
        for k, (label, value, note) in enumerate(row):
            x = _MARGIN + k * (w + gap)
            pdf.set_draw_color(200, 200, 200)
            pdf.set_fill_color(246, 248, 250)
            pdf.rect(x, y, w, h, style="DF")
            pdf.set_xy(x + 2, y + 1.5)
            pdf.set_font("DejaVu", "", 8)
            pdf.set_text_color(80, 80, 80)
            pdf.cell(w - 4, 4, label)
            pdf.set_xy(x + 2, y + 6.5)
            pdf.set_font("DejaVu", "B", 15)
            pdf.set_text_color(0, 0, 0)
            pdf.cell(w - 4, 8, f"{value:,}".replace(",", " "))
            if note:
                pdf.set_xy(x + 2, y + 14.5)
                pdf.set_font("DejaVu", "", 7.5)
                pdf.set_text_color(80, 80, 80)
                pdf.cell(w - 4, 4, note)
        pdf.set_xy(_MARGIN, y + h + gap)
    pdf.set_text_color(0, 0, 0)


def _heading(pdf: FPDF, text: str) -> None:
    if pdf.get_y() > pdf.h - 45:  # a heading never alone at the foot of a page
        pdf.add_page()
    pdf.ln(3)
    pdf.set_font("DejaVu", "B", 13)
    pdf.cell(_TEXT_W, 8, text, new_x=XPos.LMARGIN, new_y=YPos.NEXT)


def _line(pdf: FPDF, text: str) -> None:
    pdf.set_font("DejaVu", "", 10)
    pdf.multi_cell(_TEXT_W, 5.5, text, new_x=XPos.LMARGIN, new_y=YPos.NEXT)


def _table(
    pdf: FPDF,
    headers: Sequence[str],
    rows: Sequence[Sequence[str]],
    widths: Sequence[float],
    right: set[int] | frozenset[int] = frozenset(),
    bars: Sequence[tuple[str, float]] | None = None,
) -> None:
    """A table with a shaded header, repeated after a page break; columns in `right` (numbers)
    right-aligned; `bars`: per row (colour, share 0-1), drawn in the last column."""

    def header() -> None:
        pdf.set_font("DejaVu", "B", 8.5)
        pdf.set_fill_color(238, 241, 244)
        for col, (text, w) in enumerate(zip(headers, widths, strict=True)):
            pdf.cell(w, _ROW_H, text, border="B", fill=True, align="R" if col in right else "L")
        pdf.ln(_ROW_H)
        pdf.set_font("DejaVu", "", 9)

    pdf.c_margin = 2.0  # room between a right-aligned number and the next column's text
    header()
    for k, row in enumerate(rows):
        if pdf.get_y() + _ROW_H > pdf.h - 18:
            pdf.add_page()
            header()
        y = pdf.get_y()
        for col, (text, w) in enumerate(zip(row, widths, strict=True)):
            shown = text if pdf.get_string_width(text) < w - 4 else _fit(pdf, text, w - 4)
            pdf.cell(w, _ROW_H, shown, border="B", align="R" if col in right else "L")
        if bars:
            colour, share = bars[k]
            pdf.set_fill_color(*_rgb(colour))
            x = _MARGIN + sum(widths[:-1]) + 2
            pdf.rect(x, y + 1.3, max(0.6, (widths[-1] - 4) * share), _ROW_H - 2.6, style="F")
        pdf.ln(_ROW_H)


def _fit(pdf: FPDF, text: str, width: float) -> str:
    while text and pdf.get_string_width(text + "…") > width:
        text = text[:-1]
    return text + "…"


def _rgb(colour: str) -> tuple[int, int, int]:
    return int(colour[1:3], 16), int(colour[3:5], 16), int(colour[5:7], 16)

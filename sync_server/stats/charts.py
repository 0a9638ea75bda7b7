"""Charts drawn on the server as SVG: no JavaScript library, readable without scripts, printable.

Two charts: `stacked_bars` (findings per period, stacked by category) and `area_bars` (one
horizontal bar per area, open and done parts). Each is an `<svg role="img">` with a `<title>`
and a `<desc>` that says in words what the chart shows (a screen reader reads those), a
`<title>` on every bar segment (a hover or long-press names the category and the count), text
labels in dark grey on white (never text on a category colour), and a white line between
stacked segments so that neighbouring colours stay apart. The page shows the same numbers as a
table beside each chart.

The charts are drawn at their pixel size (text stays 12 px): the page asks for a wide and a
narrow drawing and shows the one that fits; what is still too wide scrolls sideways rather than
shrinking its text.

Errors: none; an empty chart is still a valid SVG with its title.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from html import escape

from markupsafe import Markup

OPEN_COLOUR, DONE_COLOUR = "#1565C0", "#A5C8A8"
INK, MUTED, GRID = "#1b1f24", "#57606a", "#d0d7de"
FONT = "system-ui, -apple-system, 'Segoe UI', Roboto, sans-serif"


@dataclass(frozen=True)
class Series:
    """One stacked layer: a category's counts per period."""

    key: str
    label: str
    colour: str
    values: Sequence[int]


def nice_ticks(top: int, steps: int = 4) -> list[int]:
    """Round gridline values from 0 to at least `top` (1, 2, 5 × 10^k apart)."""
    if top <= 0:
        return [0, 1]
    raw = top / steps
    magnitude = 10 ** math.floor(math.log10(raw))
    step = next(m * magnitude for m in (1, 2, 5, 10) if m * magnitude >= raw)
    step = max(1, int(step))
    return list(range(0, int(math.ceil(top / step)) * step + 1, step))


def _open(width: float, height: float, title: str, desc: str, css_class: str, n: str) -> list[str]:
    return [
        f'<svg xmlns="http://www.w3.org/2000/svg" class="{css_class}" width="{width:.0f}"'
        f' height="{height:.0f}" viewBox="0 0 {width:.0f} {height:.0f}" role="img"'
        f' aria-labelledby="chart{n}-t chart{n}-d" font-family="{escape(FONT)}" font-size="12">',
        f'<title id="chart{n}-t">{escape(title)}</title>',
        f'<desc id="chart{n}-d">{escape(desc)}</desc>',
        f'<rect width="{width:.0f}" height="{height:.0f}" fill="#ffffff"/>',
    ]


def number(value: int) -> str:
    """12 345: a thin space between thousands reads the same in Swedish and English."""
    return f"{value:,}".replace(",", "\u2009")


def stacked_bars(
    labels: Sequence[str],
    series: Sequence[Series],
    *,
    title: str,
    desc: str,
    tips: Sequence[str] | None = None,
    width: int = 720,
    height: int = 300,
    ident: str = "bars",
) -> Markup:
    """Bars per period (x), each stacked by series; `tips` name each period in full.

    The bars share `width` (wider than asked only when each would be under 4 px); `ident` makes
    the title/desc ids unique when a page holds several charts.
    """
    n = len(labels)
    left, right, top, bottom = 52, 12, 16, 30
    slot = max(4.0, (width - left - right) / max(n, 1))
    width = round(left + right + slot * n)
    bar = min(56.0, max(2.0, slot * 0.72))
    plot_h = height - top - bottom
    totals = [sum(s.values[i] for s in series) for i in range(n)]
    ticks = nice_ticks(max(totals, default=0))
    scale = plot_h / ticks[-1]
    out = _open(width, height, title, desc, "chart-bars", ident)
    for tick in ticks:  # gridlines and the y axis' numbers
        y = top + plot_h - tick * scale
        out.append(
            f'<line x1="{left}" x2="{width - right}" y1="{y:.1f}" y2="{y:.1f}"'
            f' stroke="{GRID}" stroke-width="1"/>'
            f'<text x="{left - 6}" y="{y + 4:.1f}" text-anchor="end" fill="{MUTED}">'
            f"{number(tick)}</text>"
        )
    every = max(1, math.ceil(46 / slot))  # x labels at least ~46 px apart
    out.append('<g stroke="#ffffff" stroke-width="0.75">')  # white lines between segments
    for i, label in enumerate(labels):
        x = left + i * slot + (slot - bar) / 2
        y = top + plot_h
        tip = escape(tips[i] if tips else label)
        out.append(f'<g class="bar"><title>{tip}: {number(totals[i])}</title>')
        for s in series:
            value = s.values[i]
            if value:
                h = value * scale
                y -= h
                out.append(
                    f'<rect x="{x:.1f}" y="{y:.1f}" width="{bar:.1f}" height="{h:.1f}"'
                    f' fill="{s.colour}" data-key="{escape(s.key)}" data-value="{value}">'
                    f"<title>{tip} · {escape(s.label)}: {number(value)}</title></rect>"
                )
        out.append("</g>")
    out.append("</g>")
    for i, label in enumerate(labels):
        if i % every == 0:
            cx = left + i * slot + slot / 2
            out.append(
                f'<text x="{cx:.1f}" y="{top + plot_h + 17}" text-anchor="middle"'
                f' fill="{INK}">{escape(label)}</text>'
            )
    out.append(
        f'<line x1="{left}" x2="{width - right}" y1="{top + plot_h}" y2="{top + plot_h}"'
        f' stroke="{MUTED}" stroke-width="1"/></svg>'
    )
    return Markup("".join(out))


def area_bars(
    rows: Sequence[tuple[str, int, int]],
    *,
    title: str,
    desc: str,
    open_label: str,
    done_label: str,
    width: int = 480,
    ident: str = "areas",
) -> Markup:
    """One horizontal bar per row (label, open, done): the open part dark, the rest light.

    `ident` makes the title/desc ids unique when a page holds several charts.
    """
    row_h, top, bottom = 24, 8, 30
    label_w = 128 if width < 420 else 160
    value_w = 52
    height = top + bottom + max(1, len(rows)) * row_h
    plot_w = width - label_w - value_w - 8
    biggest = max((o + d for _, o, d in rows), default=0) or 1
    longest = 18 if width < 420 else 23
    out = _open(width, height, title, desc, "chart-hbars", ident)
    out.append('<g stroke="#ffffff" stroke-width="0.75">')
    for i, (label, open_n, done_n) in enumerate(rows):
        y = top + i * row_h
        shown = label if len(label) <= longest else label[: longest - 1] + "…"
        out.append(
            f'<g class="bar"><title>{escape(label)}: {number(open_n + done_n)}'
            f" ({escape(open_label)} {number(open_n)}, {escape(done_label)} {number(done_n)})"
            f'</title><text x="{label_w - 6}" y="{y + 16}" text-anchor="end" fill="{INK}"'
            f' stroke="none">{escape(shown)}</text>'
        )
        x = float(label_w)
        for value, colour, key in ((open_n, OPEN_COLOUR, "open"), (done_n, DONE_COLOUR, "done")):
            if value:
                w = value / biggest * plot_w
                out.append(
                    f'<rect x="{x:.1f}" y="{y + 4}" width="{w:.1f}" height="{row_h - 8}"'
                    f' fill="{colour}" data-key="{key}" data-value="{value}"/>'
                )
                x += w
        out.append(
            f'<text x="{x + 5:.1f}" y="{y + 16}" fill="{INK}" stroke="none">'
            f"{number(open_n + done_n)}</text></g>"
        )
    out.append("</g>")
    lx, legend_y = 8.0, height - 10
    for colour, text in ((OPEN_COLOUR, open_label), (DONE_COLOUR, done_label)):
        out.append(
            f'<rect x="{lx:.0f}" y="{legend_y - 10}" width="12" height="12" fill="{colour}"'
            f' stroke="{MUTED}" stroke-width="0.5"/>'
            f'<text x="{lx + 17:.0f}" y="{legend_y}" fill="{INK}">{escape(text)}</text>'
        )
        lx += 17 + 7.2 * len(text) + 18  # ~7 px a character at 12 px
    out.append("</svg>")
    return Markup("".join(out))

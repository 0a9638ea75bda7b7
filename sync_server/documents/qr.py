"""QR codes as inline SVG: the `qrcode` package computes the modules, this draws them.

Why draw the SVG here instead of using qrcode's SvgPathImage: one path with a run per row of dark
modules is a fifth of the size, carries no fixed width in millimetres (the page's CSS sizes it),
and its shape is simple enough for a test to read the modules back and decode them.
"""

from __future__ import annotations

from html import escape

import qrcode
from qrcode.constants import ERROR_CORRECT_M

QUIET_ZONE = 4  # modules of white around the code, as the standard asks (scanners need it)


def modules(data: str) -> list[list[bool]]:
    """The QR code's modules for `data` (error correction M), quiet zone included; True is dark."""
    code = qrcode.QRCode(error_correction=ERROR_CORRECT_M, border=QUIET_ZONE)
    code.add_data(data.encode("utf-8"))
    code.make(fit=True)
    return [[bool(cell) for cell in row] for row in code.get_matrix()]


def svg(data: str, label: str) -> str:
    """An `<svg>` element showing `data` as a QR code; `label` is its accessible name."""
    matrix = modules(data)
    size = len(matrix)
    runs = []
    for y, row in enumerate(matrix):
        x = 0
        while x < size:
            if row[x]:
                start = x
                while x < size and row[x]:
                    x += 1
                runs.append(f"M{start} {y}h{x - start}v1h-{x - start}z")
            else:
                x += 1
    return (
        f'<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {size} {size}" role="img" '
        f'aria-label="{escape(label)}" shape-rendering="crispEdges">'
        f'<rect width="{size}" height="{size}" fill="#fff"/>'
        f'<path fill="#000" d="{"".join(runs)}"/></svg>'
    )

"""Readable at night and in sunlight: WCAG 2.1 contrast in the light, dark and high-contrast themes.

Two checks. Every pair the palettes declare (widgets.contrast_pairs) reaches its ratio: 4.5:1
for text and 3:1 for controls and graphics in light and dark, 7:1 for text in high contrast. And
the screens themselves, built headless in each theme, paint no explicit colour that is not
checked: every text and icon with a colour of its own is measured against what lies behind it.
The ratio is computed here from the WCAG definition, not taken from the app.
"""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any

import flet as ft
import pytest

from tests.conftest import make_finding, make_photo
from walkaudit import categories
from walkaudit.store import Store
from walkaudit.ui import widgets
from walkaudit.ui.state import THEMES

from .harness import Harness

pytestmark = pytest.mark.timeout(180)


def luminance(colour: str) -> float:
    """Relative luminance, WCAG 2.1: sRGB channels linearised, weighted 0.2126/0.7152/0.0722."""
    digits = colour.lstrip("#")
    assert len(digits) in (6, 8), colour
    rgb = digits[-6:]
    linear = []
    for i in (0, 2, 4):
        c = int(rgb[i : i + 2], 16) / 255
        linear.append(c / 12.92 if c <= 0.04045 else ((c + 0.055) / 1.055) ** 2.4)
    return 0.2126 * linear[0] + 0.7152 * linear[1] + 0.0722 * linear[2]


def ratio(a: str, b: str) -> float:
    """(L1 + 0.05) / (L2 + 0.05), the lighter over the darker."""
    high, low = sorted((luminance(a), luminance(b)), reverse=True)
    return (high + 0.05) / (low + 0.05)


def test_the_formula_agrees_with_known_ratios() -> None:
    assert ratio("#000000", "#FFFFFF") == pytest.approx(21.0)
    assert ratio("#777777", "#FFFFFF") == pytest.approx(4.48, abs=0.01)
    # What the issue measured, and what the old colours gave: all below the line.
    assert ratio("#1D1B20", "#D32F2F") < 4.5  # dark text on the old red error bar
    for old in ("#FB8C00", "#43A047", "#1E88E5", "#9E9E9E", "#E53935"):
        assert ratio("#FFFFFF", old) < 4.5, old  # white chip text on the old status colours
    assert ratio("#EF6C00", "#FFFFFF") < 4.5  # ORANGE_800 "väntar på synk" on white
    assert ratio("#FFFFFF", "#F9A825") < 3  # a white icon on the lighting category's yellow


@pytest.mark.parametrize("theme", THEMES)
def test_every_pair_the_theme_paints_reaches_wcag(theme: str) -> None:
    pal = widgets.palette(theme)
    required = 7.0 if theme == "contrast" else 4.5
    assert pal.minimum == required
    pairs = widgets.contrast_pairs(theme)
    whats = {p.what for p in pairs}
    # The places the issue named are all among the pairs measured.
    for named in ("error bar", "message bar", "Synka nu (tonal button)", "pending count",
                  "all synced", "warning text", "filled buttons, chosen severity",
                  "status chip planned", "category badge BEL"):  # fmt: skip
        assert named in whats, named
    assert {f"status chip {s}" for s in widgets.STATUS_COLOURS} <= whats
    assert {f"category badge {c}" for c in categories.COLOURS} <= whats
    failing = [
        f"{p.what}: {p.foreground} on {p.background} = {ratio(p.foreground, p.background):.2f}"
        f" < {p.minimum}"
        for p in pairs
        if ratio(p.foreground, p.background) < p.minimum
    ]
    assert failing == []
    for p in pairs:  # text pairs carry the theme's text minimum, graphics at least 3:1
        assert p.minimum in (required, 3.0), p


@pytest.mark.parametrize("theme", THEMES)
def test_snack_bars_use_the_checked_colours(theme: str) -> None:
    pal = widgets.palette(theme)
    for error in (False, True):
        bg, fg = widgets.snack_colours(theme, error)
        assert ratio(fg, bg) >= pal.minimum
    assert widgets.snack_colours(theme, True) == pal.error_snack


# ---- the screens as built ---------------------------------------------------------------------

NAMED = {"white": "#FFFFFF", "black": "#000000"}


def resolve(colour: Any, pal: widgets.Palette) -> str:
    """A colour as Flutter would paint it: hex as is, scheme roles from the theme's palette."""
    value = str(getattr(colour, "value", colour))
    if value.startswith("#"):
        return value
    roles = {k.replace("_", ""): v for k, v in pal.scheme.items()}
    if value.lower() in roles:
        return roles[value.lower()]
    if value.lower() in NAMED:
        return NAMED[value.lower()]
    raise AssertionError(f"colour {value!r} is neither hex nor a role the palette sets")


def background(control: Any, pal: widgets.Palette) -> str:
    """What lies behind a control: the nearest ancestor with a colour, else the theme's ground."""
    c = control.parent
    while c is not None:
        bg = getattr(c, "bgcolor", None)
        if bg is not None and not isinstance(bg, dict):
            return resolve(bg, pal)
        if isinstance(c, ft.BottomAppBar):
            return pal.scheme["surface_container"]
        c = c.parent
    return pal.scheme["surface"]


def in_map(control: Any) -> bool:
    c = control
    while c is not None:
        if type(c).__name__ == "Map":
            return True
        c = c.parent
    return False


def painted(h: Harness, pal: widgets.Palette) -> list[tuple[str, str, str, float]]:
    """(what, foreground, background, minimum) for every explicitly coloured text and icon."""
    found = []
    for c in h.controls():
        if in_map(c):
            continue  # the map's own colours are pairs in widgets.contrast_pairs
        if isinstance(c, ft.Text) and c.color is not None and c.value:
            found.append((f"text {c.value!r}", resolve(c.color, pal), background(c, pal),
                          pal.minimum))  # fmt: skip
        elif isinstance(c, ft.Icon) and c.color is not None:
            found.append((f"icon {c.icon}", resolve(c.color, pal), background(c, pal), 3.0))
    for bar in h.page._dialogs.controls:
        if isinstance(bar, ft.SnackBar) and isinstance(bar.content, ft.Text):
            fg = resolve(bar.content.color, pal) if bar.content.color else None
            assert fg is not None and bar.bgcolor is not None, "a bar without its colours"
            found.append((f"bar {bar.content.value!r}", fg, resolve(bar.bgcolor, pal),
                          pal.minimum))  # fmt: skip
    return found


@pytest.mark.parametrize("theme", THEMES)
def test_the_screens_paint_only_colours_that_reach_the_ratio(tmp_path: Path, theme: str) -> None:
    s = Store.open(tmp_path)
    s.set_meta(**{"ui.location_explained": "1", "ui.enrol_skipped": "1", "ui.theme": theme})
    walk = s.start_walk("Kvällsvandring Vivalla")
    for i, category in enumerate(("BEL", "VEG", "KLO", "ORD", "OVR")):
        s.save_finding(make_finding(walk_id=walk.id, category=category, note=f"Fynd {i}"),
                       [make_photo(i)])  # fmt: skip
    s.close()
    pal = widgets.palette(theme)

    async def scenario() -> None:
        h = await Harness.start(tmp_path)
        seen: list[tuple[str, str, str, float]] = []
        assert h.app.page.theme_mode == (
            ft.ThemeMode.DARK if theme == "dark" else ft.ThemeMode.LIGHT
        )
        shown = h.app.page.dark_theme if theme == "dark" else h.app.page.theme
        assert shown is not None and shown.color_scheme is not None
        for role, value in pal.scheme.items():  # the colours the test computes are the painted
            assert getattr(shown.color_scheme, role) == value, role
        assert shown.scaffold_bgcolor == pal.scheme["surface"]  # the page's ground
        seen += painted(h, pal)  # start
        h.app.go("walk", walk_id=walk.id)
        seen += painted(h, pal)
        await h.click("walk-end")
        await h.until(lambda: h.has("walk-end-confirm"))
        seen += painted(h, pal)
        await h.click("walk-end-confirm")
        h.app.snack("Sparat.")
        h.app.snack("Servern nås inte", error=True)
        seen += painted(h, pal)  # the end screen and both kinds of bar
        h.app.go("findings", walk_id=walk.id)
        seen += painted(h, pal)
        h.app.go("settings")
        seen += painted(h, pal)
        h.app.state.store.set_meta(**{"ui.enrol_skipped": None})
        h.app.go("start")  # the enrol screen, with an error message
        await h.type("enrol-server", "ftp://x")
        await h.type("enrol-code", "ABCD")
        await h.click("enrol-submit")
        seen += painted(h, pal)
        await h.close()
        kinds = {what.split(" ")[0] for what, *_ in seen}
        assert {"text", "icon", "bar"} <= kinds  # chips, badges, the badge line, bars were seen
        failing = [f"{w}: {fg} on {bg} = {ratio(fg, bg):.2f} < {m}" for w, fg, bg, m in seen
                   if ratio(fg, bg) < m]  # fmt: skip
        assert failing == []

    asyncio.run(scenario())


@pytest.mark.parametrize("theme", THEMES)
def test_in_the_dark_theme_the_walk_map_is_dark_too(tmp_path: Path, theme: str) -> None:
    """A night walk: the map (tiles and its ground while they load) does not glare."""
    import flet_map as ftm

    from walkaudit.ui import mapview

    s = Store.open(tmp_path)
    s.set_meta(**{"ui.location_explained": "1", "ui.enrol_skipped": "1", "ui.theme": theme})
    walk = s.start_walk("Kvällsvandring")
    s.close()

    async def scenario() -> None:
        h = await Harness.start(tmp_path)
        h.app.go("walk", walk_id=walk.id)
        [the_map] = [c for c in h.controls() if isinstance(c, ftm.Map)]
        holder = the_map.parent
        filtered = isinstance(holder, ft.Container) and holder.color_filter == mapview.INVERT
        assert filtered == (theme == "dark")  # bright OSM tiles are inverted only at night
        ground = str(the_map.bgcolor)
        seen = widgets.inverted(ground) if filtered else ground  # what the eye gets
        if theme == "dark":
            assert luminance(seen) < 0.05, f"the map's ground {seen} glares"
        else:
            assert luminance(seen) > 0.5
        await h.close()

    asyncio.run(scenario())

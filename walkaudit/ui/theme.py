"""The phone's colours: each theme's palette role by role, the status and ring colours, and the
contrast pairs the screens paint with them.

Each theme's palette is written out here, role by role (`PALETTES`), and `contrast_pairs(theme)`
lists every text/background and control/background pair the screens paint with it;
tests/ui/test_contrast.py computes each ratio (WCAG 2.1: 4.5:1 for text and 3:1 for controls and
graphics in the light and dark themes, 7:1 for text in high contrast). Colours are hex strings,
never ft.Colors names, so what the test computes is what Flutter paints.

Apart from the controls (walkaudit.ui.widgets) because colours change for accessibility reviews,
controls for screens.
"""

from __future__ import annotations

from dataclasses import dataclass

import flet as ft

from walkaudit import categories

THEME_SEED = "#1565C0"
AA_TEXT, AAA_TEXT, AA_GRAPHIC = 4.5, 7.0, 3.0

# Status chips carry white text: every colour reaches 7:1 against it, so one set serves all three
# themes (high contrast included). The map rings use the same colours (lightened on a dark map).
CHIP_TEXT = "#FFFFFF"
STATUS_COLOURS = {
    "waiting": "#555555",
    "received": "#0D47A1",
    "sent": "#0D47A1",
    "acknowledged": "#6A1B9A",
    "planned": "#8A3B00",
    "fixed": "#1B5E20",
    "verified": "#0B4A14",
    "not_ours": "#5D4037",
    "reopened": "#9B1111",
    "closed": "#37474F",
    "conflict": "#8B0000",
    "refused": "#8B0000",
}
UNKNOWN_STATUS_COLOUR = "#555555"


@dataclass(frozen=True)
class Palette:
    """Every colour one theme paints with, by role."""

    minimum: float  # the text contrast this theme promises: 4.5 (AA), 7 (high contrast)
    scheme: dict[str, str]  # Material colour roles (ft.ColorScheme fields) → hex
    pending: str  # "3 väntar på synk" on the surface
    synced: str  # "Allt är synkat" on the surface
    warning: str  # a warning sentence on the surface
    error_text: str  # an error sentence on the surface
    snack: tuple[str, str]  # (background, text) of a message bar
    error_snack: tuple[str, str]  # (background, text) of an error bar
    map_ground: str  # the map where no tile has loaded yet (and roughly where one has)
    dark_map: bool  # tiles drawn inverted: a dark map at night
    attribution: tuple[str, str]  # (background, text) of the map's "© OpenStreetMap"
    control_side: str | None = None  # a border round tonal buttons that would not stand out


LIGHT = Palette(
    minimum=AA_TEXT,
    scheme={
        "primary": "#1565C0",
        "on_primary": "#FFFFFF",
        "primary_container": "#D6E3FF",
        "on_primary_container": "#001B3D",
        "secondary_container": "#DCE2F9",
        "on_secondary_container": "#141B2C",
        "surface": "#FFFFFF",
        "on_surface": "#1A1C1E",
        "on_surface_variant": "#44474E",
        "surface_container_lowest": "#FFFFFF",
        "surface_container_low": "#F6F7FC",
        "surface_container": "#EEF0F6",
        "surface_container_high": "#E8EAF0",
        "surface_container_highest": "#E2E4EA",
        "outline": "#74777F",
        "error": "#B3261E",
        "on_error": "#FFFFFF",
        "inverse_surface": "#2F3033",
        "on_inverse_surface": "#F1F0F4",
    },
    pending="#8A4B00",
    synced="#1B6E2A",
    warning="#8A4B00",
    error_text="#B3261E",
    snack=("#2F3033", "#F1F0F4"),
    error_snack=("#B3261E", "#FFFFFF"),
    map_ground="#E5E3DF",
    dark_map=False,
    attribution=("#FFFFFF", "#1A1C1E"),
)
DARK = Palette(
    minimum=AA_TEXT,
    scheme={
        "primary": "#A8C8FF",
        "on_primary": "#003062",
        "primary_container": "#00468A",
        "on_primary_container": "#D6E3FF",
        "secondary_container": "#3C4758",
        "on_secondary_container": "#D8E3F8",
        "surface": "#121316",
        "on_surface": "#E3E2E6",
        "on_surface_variant": "#C4C6D0",
        "surface_container_lowest": "#0D0E11",
        "surface_container_low": "#1A1B1F",
        "surface_container": "#1E1F23",
        "surface_container_high": "#292A2D",
        "surface_container_highest": "#343538",
        "outline": "#8E9099",
        "error": "#FFB4AB",
        "on_error": "#690005",
        "inverse_surface": "#E3E2E6",
        "on_inverse_surface": "#2F3033",
    },
    pending="#FFB870",
    synced="#8BD98F",
    warning="#FFB870",
    error_text="#FFB4AB",
    snack=("#E3E2E6", "#1A1C1E"),
    error_snack=("#B3261E", "#FFFFFF"),
    map_ground="#1B1D22",
    dark_map=True,
    # A light box: flet_map writes "flutter_map | ©" in the theme's text colour, which the
    # inverting filter turns dark.
    attribution=("#E3E2E6", "#1A1C1E"),
)
# Sunlight, low vision: black on white and on yellow, nothing in between.
CONTRAST = Palette(
    minimum=AAA_TEXT,
    scheme={
        "primary": "#000000",
        "on_primary": "#FFFF00",
        "primary_container": "#FFFF00",
        "on_primary_container": "#000000",
        "secondary": "#000000",
        "on_secondary": "#FFFFFF",
        "secondary_container": "#FFFF00",
        "on_secondary_container": "#000000",
        "surface": "#FFFFFF",
        "on_surface": "#000000",
        "on_surface_variant": "#000000",
        "surface_container_lowest": "#FFFFFF",
        "surface_container_low": "#FFFFFF",
        "surface_container": "#FFFFFF",
        "surface_container_high": "#FFFFFF",
        "surface_container_highest": "#FFFFFF",
        "outline": "#000000",
        "error": "#8B0000",
        "on_error": "#FFFFFF",
        "inverse_surface": "#000000",
        "on_inverse_surface": "#FFFFFF",
    },
    pending="#000000",
    synced="#000000",
    warning="#000000",
    error_text="#8B0000",
    snack=("#000000", "#FFFF00"),
    error_snack=("#8B0000", "#FFFFFF"),
    map_ground="#E5E3DF",
    dark_map=False,
    attribution=("#FFFFFF", "#000000"),
    control_side="#000000",
)
PALETTES = {"light": LIGHT, "dark": DARK, "contrast": CONTRAST}


def palette(theme: str) -> Palette:
    """The palette of a theme (light for an unknown name)."""
    return PALETTES.get(theme, LIGHT)


def snack_colours(theme: str, error: bool = False) -> tuple[str, str]:
    """(background, text) of a message bar in this theme."""
    p = palette(theme)
    return p.error_snack if error else p.snack


def relative_luminance(colour: str) -> float:
    """WCAG 2.1 relative luminance of '#RRGGBB' (or '#AARRGGBB')."""

    def channel(hex2: str) -> float:
        c = int(hex2, 16) / 255
        return c / 12.92 if c <= 0.04045 else ((c + 0.055) / 1.055) ** 2.4

    rgb = colour.lstrip("#")[-6:]
    r, g, b = (channel(rgb[i : i + 2]) for i in (0, 2, 4))
    return 0.2126 * r + 0.7152 * g + 0.0722 * b


def on_colour(background: str) -> str:
    """White or black, whichever stands out more on this background (icons on badges)."""
    lum = relative_luminance(background)
    return "#FFFFFF" if (1.05 / (lum + 0.05)) >= ((lum + 0.05) / 0.05) else "#000000"


def mix(colour: str, other: str, share: float) -> str:
    """`share` of `other` mixed into `colour` (both '#RRGGBB')."""
    a, b = colour.lstrip("#")[-6:], other.lstrip("#")[-6:]
    parts = (
        round(int(a[i : i + 2], 16) * (1 - share) + int(b[i : i + 2], 16) * share)
        for i in (0, 2, 4)
    )
    return "#" + "".join(f"{p:02X}" for p in parts)


def inverted(colour: str) -> str:
    """'#RRGGBB' (or '#AARRGGBB') with its colour inverted and its alpha kept."""
    digits = colour.lstrip("#")
    alpha, rgb = digits[:-6], digits[-6:]
    return "#" + alpha + f"{0xFFFFFF - int(rgb, 16):06X}"


def ring_colour(status: str, dark_map: bool) -> str:
    """A pin's status ring: the chip colour, lightened where the map is dark."""
    colour = STATUS_COLOURS.get(status, UNKNOWN_STATUS_COLOUR)
    return mix(colour, "#FFFFFF", 0.55) if dark_map else colour


@dataclass(frozen=True)
class Pair:
    """A foreground painted on a background somewhere on a screen, and the ratio it needs."""

    what: str
    foreground: str
    background: str
    minimum: float


def contrast_pairs(theme: str) -> list[Pair]:
    """Every foreground/background pair the screens paint in this theme."""
    p = palette(theme)
    s = p.scheme
    text = p.minimum
    pairs = [
        Pair("body text", s["on_surface"], s["surface"], text),
        Pair("secondary text (subtitles, labels)", s["on_surface_variant"], s["surface"], text),
        Pair("text buttons, outlined buttons", s["primary"], s["surface"], text),
        Pair("text on the bottom bar", s["on_surface"], s["surface_container"], text),
        Pair("filled buttons, chosen severity", s["on_primary"], s["primary"], text),
        Pair(
            "Synka nu (tonal button)", s["on_secondary_container"], s["secondary_container"], text
        ),
        Pair("chosen category tile", s["on_primary_container"], s["primary_container"], text),
        Pair("chosen category tile label", s["on_surface"], s["primary_container"], text),
        Pair("delete button", s["on_error"], s["error"], text),
        Pair("pending count", p.pending, s["surface"], text),
        Pair("all synced", p.synced, s["surface"], text),
        Pair("warning text", p.warning, s["surface"], text),
        Pair("error text", p.error_text, s["surface"], text),
        Pair("message bar", p.snack[1], p.snack[0], text),
        Pair("error bar", p.error_snack[1], p.error_snack[0], text),
        Pair("map attribution", p.attribution[1], p.attribution[0], text),
    ]
    if p.dark_map:  # the attribution's prefix: the theme's text colour through the filter
        pairs.append(
            Pair("map attribution prefix", inverted(s["on_surface"]), p.attribution[0], text)
        )
    pairs += [
        Pair("field and button borders", s["outline"], s["surface"], AA_GRAPHIC),
        Pair("filled button against the screen", s["primary"], s["surface"], AA_GRAPHIC),
    ]
    if p.control_side:
        pairs.append(Pair("tonal button border", p.control_side, s["surface"], AA_GRAPHIC))
    for status, colour in {**STATUS_COLOURS, "(unknown)": UNKNOWN_STATUS_COLOUR}.items():
        pairs.append(Pair(f"status chip {status}", CHIP_TEXT, colour, text))
        pairs.append(
            Pair(f"pin ring {status}", ring_colour(status, p.dark_map), p.map_ground, AA_GRAPHIC)
        )
    for code, colour in {**categories.COLOURS, "(unknown)": categories.UNKNOWN_COLOUR}.items():
        pairs.append(Pair(f"category badge {code}", on_colour(colour), colour, AA_GRAPHIC))
    return pairs


def _theme(p: Palette) -> ft.Theme:
    # The seed fills the roles the palette leaves out (shadows, tertiary…); every role a screen
    # paints text or controls with is written out in the palette.
    density = ft.VisualDensity.COMFORTABLE if p is CONTRAST else None
    # The page's ground is set too: Flutter takes it from the seed's scheme, not the overrides.
    return ft.Theme(
        color_scheme_seed=THEME_SEED,
        color_scheme=ft.ColorScheme(**p.scheme),
        scaffold_bgcolor=p.scheme["surface"],
        canvas_color=p.scheme["surface"],
        visual_density=density,
    )


def apply_theme(page: ft.Page, theme: str) -> None:
    """Light, dark (night walks: less glare) or high contrast (sunlight, low vision)."""
    page.theme = _theme(CONTRAST if theme == "contrast" else LIGHT)
    page.dark_theme = _theme(DARK)
    page.theme_mode = ft.ThemeMode.DARK if theme == "dark" else ft.ThemeMode.LIGHT

"""Small building blocks shared by the views: tagged controls, big buttons, colours, themes.

Every control a test or a screen reader needs gets a stable semantics identifier (documented in
README.md) and a label; touch targets are at least 48 dp (56 for the main actions: gloves, rain).
"""

from __future__ import annotations

from typing import Any

import flet as ft

from walkaudit import categories

MIN_TARGET = 48
BIG_TARGET = 64

# One colour per category on the map and in lists (distinguishable, and readable on dark maps).
CATEGORY_COLOURS = {c.code: c.colour for c in categories.CATEGORIES}
STATUS_COLOURS = {
    "waiting": "#9E9E9E",
    "received": "#1E88E5",
    "sent": "#1E88E5",
    "acknowledged": "#8E24AA",
    "planned": "#FB8C00",
    "fixed": "#43A047",
    "verified": "#2E7D32",
    "not_ours": "#6D4C41",
    "reopened": "#E53935",
    "closed": "#616161",
    "conflict": "#D50000",
}


def tagged(identifier: str, control: ft.Control, label: str | None = None) -> ft.Semantics:
    """Wrap a control with a stable semantics identifier (tests, screen readers) and a key."""
    control.key = identifier
    # The wrapper must take the space the control asks for, or an expanding button shrinks.
    return ft.Semantics(identifier=identifier, label=label, content=control, expand=control.expand)


def big_button(
    identifier: str,
    text: str,
    icon: Any,
    on_click: Any,
    *,
    primary: bool = True,
    height: int = BIG_TARGET,
    expand: bool = True,
) -> ft.Semantics:
    """A wide, tall button for the main actions."""
    cls = ft.FilledButton if primary else ft.OutlinedButton
    button = cls(
        content=ft.Text(text, size=18, weight=ft.FontWeight.W_600),
        icon=icon,
        on_click=on_click,
        height=height,
        expand=expand,
        style=ft.ButtonStyle(shape=ft.RoundedRectangleBorder(radius=12)),
    )
    return tagged(identifier, button, text)


def category_icon(code: str) -> Any:
    """The Material icon of a category."""
    return getattr(ft.Icons, categories.get(code).icon, ft.Icons.HELP_OUTLINE)


def category_badge(code: str, size: int = 36) -> ft.Container:
    """A category's icon, white on its colour: readable on light, dark and contrast themes."""
    return ft.Container(
        content=ft.Icon(category_icon(code), color=ft.Colors.WHITE, size=size * 0.6),
        bgcolor=CATEGORY_COLOURS.get(code, "#757575"),
        width=size,
        height=size,
        border_radius=size / 2,
        alignment=ft.Alignment.CENTER,
    )


def status_chip(text: str, status: str) -> ft.Container:
    """A small coloured label for a sync or server status."""
    return ft.Container(
        content=ft.Text(text, size=12, color=ft.Colors.WHITE, weight=ft.FontWeight.W_600),
        bgcolor=STATUS_COLOURS.get(status, "#757575"),
        padding=ft.Padding.symmetric(horizontal=8, vertical=3),
        border_radius=10,
    )


def apply_theme(page: ft.Page, theme: str) -> None:
    """Light, dark (night walks: less glare) or high contrast (sunlight, low vision)."""
    if theme == "contrast":
        scheme = ft.ColorScheme(
            primary="#000000",
            on_primary="#FFFF00",
            surface="#FFFFFF",
            on_surface="#000000",
            secondary="#000000",
        )
        page.theme = ft.Theme(color_scheme=scheme, visual_density=ft.VisualDensity.COMFORTABLE)
        page.theme_mode = ft.ThemeMode.LIGHT
        return
    page.theme = ft.Theme(color_scheme_seed="#1565C0")
    page.dark_theme = ft.Theme(color_scheme_seed="#1565C0")
    page.theme_mode = ft.ThemeMode.DARK if theme == "dark" else ft.ThemeMode.LIGHT


def section_title(text: str) -> ft.Text:
    return ft.Text(text, size=16, weight=ft.FontWeight.BOLD)

"""Small building blocks shared by the views: tagged controls, big buttons, badges, questions.

Every control a test or a screen reader needs gets a stable semantics identifier (documented in
README.md) and a label; touch targets are at least 48 dp (56 for the main actions: gloves, rain).
The colours they paint with are walkaudit.ui.theme.
"""

from __future__ import annotations

import textwrap
from dataclasses import dataclass
from typing import Any

import flet as ft

from walkaudit import categories

# The theme's names, taken from here by screens and tests that get their colours with their
# controls (walkaudit.ui.theme is their home).
from walkaudit.ui.theme import (
    CHIP_TEXT,
    DARK,
    LIGHT,
    STATUS_COLOURS,
    UNKNOWN_STATUS_COLOUR,
    Palette,
    apply_theme,
    contrast_pairs,
    inverted,
    on_colour,
    palette,
    ring_colour,
    snack_colours,
)

__all__ = [
    "BIG_TARGET", "CHIP_TEXT", "DARK", "LIGHT", "MIN_TARGET", "NOTE_LINE_CHARS", "STATUS_COLOURS",
    "UNKNOWN_STATUS_COLOUR", "Choice", "Palette", "apply_theme", "big_button", "category_badge",
    "category_icon", "contrast_pairs", "inverted", "on_colour", "palette", "question",
    "ring_colour", "section_title", "shorten_note", "snack_colours", "status_chip", "tagged",
]  # fmt: skip

MIN_TARGET = 48
BIG_TARGET = 64


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
    """A category's icon on its colour, white or black, whichever reads: the same in every theme."""
    colour = categories.colour(code)
    return ft.Container(
        content=ft.Icon(category_icon(code), color=on_colour(colour), size=size * 0.6),
        bgcolor=colour,
        width=size,
        height=size,
        border_radius=size / 2,
        alignment=ft.Alignment.CENTER,
    )


def status_chip(text: str, status: str) -> ft.Container:
    """A small coloured label for a sync or server status."""
    return ft.Container(
        content=ft.Text(text, size=12, color=CHIP_TEXT, weight=ft.FontWeight.W_600),
        bgcolor=STATUS_COLOURS.get(status, UNKNOWN_STATUS_COLOUR),
        padding=ft.Padding.symmetric(horizontal=8, vertical=3),
        border_radius=10,
    )


@dataclass(frozen=True)
class Choice:
    """One answer of a question dialog: its test identifier, label and handler."""

    identifier: str
    label: str
    on_click: Any
    icon: Any = None
    danger: bool = False  # a choice that throws something away: in the error colours


def question(title: str | None, body: str, quiet: Choice, loud: Choice) -> ft.AlertDialog:
    """A modal question with two answers: a quiet text button and a filled one (the default)."""
    quiet_button = ft.TextButton(
        quiet.label,
        icon=quiet.icon,
        height=MIN_TARGET,
        style=ft.ButtonStyle(color=ft.Colors.ERROR) if quiet.danger else None,
        on_click=quiet.on_click,
    )
    loud_button = ft.FilledButton(
        loud.label,
        icon=loud.icon,
        height=MIN_TARGET,
        on_click=loud.on_click,
        # The contrast-checked error roles of the theme's palette.
        bgcolor=ft.Colors.ERROR if loud.danger else None,
        color=ft.Colors.ON_ERROR if loud.danger else None,
    )
    return ft.AlertDialog(
        modal=True,
        title=ft.Text(title) if title else None,
        content=ft.Text(body, size=16),
        actions=[tagged(quiet.identifier, quiet_button), tagged(loud.identifier, loud_button)],
    )


NOTE_LINE_CHARS = 160  # a note quoted on one line is cut here, at a word, with an ellipsis


def shorten_note(text: str) -> str:
    """A note quoted in a list or a question: whole, or cut at a word with an ellipsis."""
    text = " ".join(text.split())
    return textwrap.shorten(text, NOTE_LINE_CHARS, placeholder=" …") if text else ""


def section_title(text: str) -> ft.Text:
    return ft.Text(text, size=16, weight=ft.FontWeight.BOLD)

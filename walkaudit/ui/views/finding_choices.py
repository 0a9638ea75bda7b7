"""The new-finding screen's two choices drawn as buttons: the category grid and the severity row.

Apart from the screen (walkaudit.ui.views.new_finding) because drawing fifteen tiles and marking
the chosen one is a job of its own; the screen keeps what a choice does to the draft.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import flet as ft

from walkaudit import categories, model
from walkaudit.ui.widgets import MIN_TARGET, category_badge, tagged


def category_grid(
    lang: str, on_choose: Callable[[str], None]
) -> tuple[ft.ResponsiveRow, dict[str, ft.Container]]:
    """The category tiles, and each tile's box by code (for `mark_category`)."""
    buttons: dict[str, ft.Container] = {}
    grid = ft.ResponsiveRow(spacing=6, run_spacing=6)
    for cat in categories.CATEGORIES:
        box = ft.Container(
            content=ft.Column(
                [
                    category_badge(cat.code),
                    ft.Text(cat.label(lang), size=12, text_align=ft.TextAlign.CENTER, max_lines=2),
                ],
                horizontal_alignment=ft.CrossAxisAlignment.CENTER,
                spacing=2,
                tight=True,
            ),
            padding=6,
            height=84,
            border_radius=10,
            border=ft.Border.all(1, ft.Colors.OUTLINE),
            on_click=lambda e, c=cat.code: on_choose(c),
            ink=True,
        )
        buttons[cat.code] = box
        grid.controls.append(
            ft.Container(
                tagged(f"category-{cat.code}", box, cat.label(lang)), col={"xs": 4, "sm": 3}
            )
        )
    return grid, buttons


def mark_category(buttons: dict[str, ft.Container], chosen_code: str | None) -> None:
    """A thick border and the container colour on the chosen tile, a thin border on the rest."""
    for c, box in buttons.items():
        chosen = c == chosen_code
        box.border = ft.Border.all(
            4 if chosen else 1, ft.Colors.PRIMARY if chosen else ft.Colors.OUTLINE
        )
        box.bgcolor = ft.Colors.PRIMARY_CONTAINER if chosen else None


def severity_row(
    t: Callable[..., str], on_choose: Callable[[model.Severity], None]
) -> tuple[ft.Row, dict[model.Severity, Any]]:
    """The severity buttons, and each button by level (for `mark_severity`)."""
    buttons: dict[model.Severity, Any] = {}
    row = ft.Row(spacing=6, wrap=True)
    for level in model.Severity:
        b = ft.OutlinedButton(
            t(f"severity.{level.value}"),
            height=MIN_TARGET,
            on_click=lambda e, lv=level: on_choose(lv),
        )
        buttons[level] = b
        row.controls.append(tagged(f"severity-{level.value}", b, t(f"severity.{level.value}")))
    return row, buttons


def mark_severity(buttons: dict[model.Severity, Any], chosen: model.Severity) -> None:
    """The chosen level filled, the others outlined."""
    for value, b in buttons.items():
        b.style = ft.ButtonStyle(
            bgcolor=ft.Colors.PRIMARY if value == chosen else None,
            color=ft.Colors.ON_PRIMARY if value == chosen else None,
        )

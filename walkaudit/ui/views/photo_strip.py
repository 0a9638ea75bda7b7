"""The new-finding screen's photo strip: one thumbnail per photo taken, each with a button on its
corner that takes it out of the finding, and how many photos a finding may still take.

Apart from the screen (walkaudit.ui.views.new_finding), which keeps the photos in the draft and
redraws the strip when they change.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING

import flet as ft

from walkaudit.ui.widgets import tagged

if TYPE_CHECKING:
    from walkaudit.ui.app import App

IMAGE_SIGNATURES = (b"\xff\xd8\xff", b"\x89PNG", b"RIFF", b"\x00\x00\x00")  # JPEG PNG WebP HEIC
THUMB_SIZE = 68
REMOVE_TARGET = 44  # the remove button: a finger's width, on a corner of the thumbnail


def photos_of(app: App, finding_id: str) -> int:
    """Photos a finding of this device holds, with "same thing" photos still being processed."""
    state = app.state
    waiting = sum(len(c.raw) for c in state.inbox.items() if c.finding.duplicate_of == finding_id)
    return len(state.store.finding(finding_id).photos) + waiting


def thumb(app: App, index: int, image: bytes | None, remove: Callable[[int], None]) -> ft.Control:
    """One photo in the strip: its thumbnail and a button that takes it out of the finding."""
    picture: ft.Control = (
        ft.Image(
            src=image, width=THUMB_SIZE, height=THUMB_SIZE, fit=ft.BoxFit.COVER, border_radius=8
        )  # fmt: skip
        if image
        else ft.Container(ft.Icon(ft.Icons.IMAGE), bgcolor="#1F000000", border_radius=8)
    )
    label = app.t("finding.photo_remove", n=index + 1)
    button = ft.IconButton(
        ft.Icons.CLOSE,
        icon_size=18,
        icon_color=ft.Colors.WHITE,
        bgcolor="#B3000000",
        tooltip=label,
        width=REMOVE_TARGET,
        height=REMOVE_TARGET,
        on_click=lambda e: remove(index),
    )
    # The button sits on the thumbnail's corner, inside the stack (a Stack clips what overhangs).
    edge = THUMB_SIZE + REMOVE_TARGET // 3
    return ft.Stack(
        [
            ft.Container(picture, left=0, bottom=0, width=THUMB_SIZE, height=THUMB_SIZE),
            ft.Container(tagged(f"photo-remove-{index}", button, label), right=0, top=0),
        ],
        width=edge,
        height=edge,
    )

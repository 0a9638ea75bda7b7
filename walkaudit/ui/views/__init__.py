"""The screens. Each module has `build(app, **params) -> ft.View`."""

from __future__ import annotations

from importlib import import_module
from typing import TYPE_CHECKING, Any

import flet as ft

if TYPE_CHECKING:
    from walkaudit.ui.app import App

NAMES = (
    "start",
    "enrol",
    "walk",
    "new_finding",
    "findings",
    "finding",
    "walk_end",
    "followup",
    "settings",
)


def build(app: App, name: str, **params: Any) -> ft.View:
    """The view called `name`."""
    if name not in NAMES:
        raise ValueError(f"no view {name!r}")
    module = import_module(f"walkaudit.ui.views.{name}")
    view: ft.View = module.build(app, **params)
    return view

"""The new-finding screen's "the same thing?": findings of the same category close by (this
device's, and the server's open ones), each with a button that adds the photos to it instead.

Apart from the screen (walkaudit.ui.views.new_finding) because finding the neighbours and
drawing them is a job of its own; the screen decides what a tap does to the draft. It sits right
under the photos, above the category tiles: it appears when the category is tapped, and must be
in sight then (not below fifteen tiles).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Any

import flet as ft

from walkaudit import geo
from walkaudit.drafts import Draft
from walkaudit.ui.widgets import MIN_TARGET, shorten_note, tagged

if TYPE_CHECKING:
    from walkaudit.ui.app import App
    from walkaudit.ui.state import AppState

NEARBY_SHOWN = 5
Near = tuple[float, str, str]  # (metres away, finding id, note)


def nearby(state: AppState, draft: Draft, code: str) -> list[Near]:
    """The closest findings of category `code` around the draft's position, nearest first."""
    if draft.latitude is None or draft.longitude is None:
        return []
    lat, lon = draft.latitude, draft.longitude
    own = [r for r in state.store.findings() if r["category"] == code]
    near = [
        (d, r["id"], r["note"] or "")
        for d, r in geo.nearby(own, lat, lon, lambda r: (r["latitude"], r["longitude"]))
    ]
    seen = {n[1] for n in near}
    near += [
        (d, o.finding.id, o.finding.note)
        for d, o in state.remote.near(lat, lon, code)
        if o.finding.id not in seen
    ]
    return sorted(near)[:NEARBY_SHOWN]


def same_category(state: AppState, draft: Draft, fid: str, code: str) -> bool:
    """Whether finding `fid` is among the draft's neighbours of category `code`."""
    return any(n[1] == fid for n in nearby(state, draft, code))


def fill(box: ft.Column, app: App, draft: Draft, on_same: Callable[[str], None]) -> None:
    """Draw the neighbours of the draft's category into `box` (hidden when there are none)."""
    state, t = app.state, app.t
    box.controls.clear()
    box.visible = False
    if draft.category is None:
        return
    near = nearby(state, draft, draft.category)
    if not near:
        return
    box.visible = True
    box.controls.append(ft.Text(t("finding.nearby"), weight=ft.FontWeight.BOLD))
    for d, fid, text in near:
        box.controls.append(_row(app, draft, d, fid, text, on_same))


def _row(
    app: App, draft: Draft, d: float, fid: str, text: str, on_same: Callable[[str], None]
) -> ft.Control:
    chosen = draft.add_to == fid
    assert draft.category is not None
    label = shorten_note(text) or app.state.t.category(draft.category)
    button: Any = ft.FilledTonalButton(
        app.t("finding.same_thing"),
        height=MIN_TARGET,
        icon=ft.Icons.CHECK if chosen else ft.Icons.ADD_PHOTO_ALTERNATE,
        on_click=lambda e, f=fid: on_same(f),
    )
    return ft.Container(
        ft.Column(
            [
                ft.Text(f"{round(d)} m · {label}"),  # wraps: the whole note is read
                tagged(f"same-thing-{fid}", button),
            ],
            spacing=4,
            tight=True,
        ),
        padding=ft.Padding.only(bottom=6),
    )

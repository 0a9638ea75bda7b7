"""The new-finding screen's pin map: where the walker places the finding by hand when the fix
is poor, late or refused.

Apart from the screen (walkaudit.ui.views.new_finding), which decides when the map is shown and
what a tap on it does to the draft.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING

import flet as ft

from walkaudit.drafts import Draft
from walkaudit.ui import mapview

if TYPE_CHECKING:
    from walkaudit.ui.app import App

HEIGHT = 260


def pin_map(app: App, draft: Draft, on_tap: Callable[[float, float], None]) -> ft.Control:
    """A map around the draft's position (or the walker, or the newest map package)."""
    from walkaudit.ui import offline_map  # (kept deferred as it was: the map package code)

    lat, lon = draft.latitude, draft.longitude
    centre = (lat, lon) if lat is not None and lon is not None else None
    me = app.state.last_position
    here = [mapview.Pin("draft", *centre, draft.category or "OVR", "waiting")] if centre else []
    maps = offline_map.of(app)
    # No position at all (location refused): the pin map opens on the walk's area, from the
    # phone's map package when there is one, and says so when there is no map to show.
    around = centre or (me[:2] if me else None) or maps.centre()
    return mapview.build_map(
        maps.map_tiles(around),
        here,
        me=me,
        on_tap=on_tap,
        centre=around,
        zoom=18,
        height=HEIGHT,
        attach=maps.attach,  # a package arriving meanwhile switches this map to it
    )

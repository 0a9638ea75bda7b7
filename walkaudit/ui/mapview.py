"""The walk map (flet-map): findings as markers by category and status, the route, the walker.

flet_map is imported here only, when a map is first shown: it is not needed for the start screen
and keeping it out of start-up keeps a cold start short.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

import flet as ft

from walkaudit.ui import widgets

DEFAULT_CENTRE = (59.2743, 15.2066)  # Örebro, until the first fix


@dataclass(frozen=True)
class Pin:
    """A finding on the map."""

    id: str
    latitude: float
    longitude: float
    category: str
    status: str  # waiting | received | sent | … | conflict


def marker(pin: Pin) -> Any:
    """A round marker: category colour inside, status colour as the ring."""
    import flet_map as ftm

    return ftm.Marker(
        content=ft.Container(
            content=ft.Icon(widgets.category_icon(pin.category), size=16, color=ft.Colors.WHITE),
            bgcolor=widgets.CATEGORY_COLOURS.get(pin.category, "#757575"),
            border=ft.Border.all(3, widgets.STATUS_COLOURS.get(pin.status, "#9E9E9E")),
            border_radius=14,
            width=28,
            height=28,
            alignment=ft.Alignment.CENTER,
        ),
        coordinates=ftm.MapLatitudeLongitude(pin.latitude, pin.longitude),
        width=28,
        height=28,
    )


def build_map(
    tile_url: str,
    pins: Sequence[Pin],
    route: Sequence[tuple[float, float]] = (),
    me: tuple[float, float, float | None] | None = None,
    on_tap: Callable[[float, float], Any] | None = None,
    centre: tuple[float, float] | None = None,
    zoom: float = 16,
    height: float | None = None,
) -> Any:
    """A map with the layers in drawing order: tiles, route, accuracy, findings, the walker."""
    import flet_map as ftm

    layers: list[Any] = [
        ftm.TileLayer(url_template=tile_url, user_agent_package_name="se.walkaudit.app")
    ]
    if len(route) > 1:
        line = ftm.PolylineMarker(
            coordinates=[ftm.MapLatitudeLongitude(a, b) for a, b in route],
            color="#1565C0",
            stroke_width=4,
        )
        layers.append(ftm.PolylineLayer(polylines=[line]))
    if me is not None:
        lat, lon, acc = me
        circles = [
            ftm.CircleMarker(
                radius=acc or 10,
                use_radius_in_meter=True,
                coordinates=ftm.MapLatitudeLongitude(lat, lon),
                color="#331E88E5",
                border_color="#1E88E5",
                border_stroke_width=1,
            )
        ]
        layers.append(ftm.CircleLayer(circles=circles))
    layers.append(ftm.MarkerLayer(markers=[marker(p) for p in pins]))
    if me is not None:
        dot = ftm.Marker(
            content=ft.Container(
                width=18,
                height=18,
                border_radius=9,
                bgcolor="#1E88E5",
                border=ft.Border.all(3, ft.Colors.WHITE),
            ),
            coordinates=ftm.MapLatitudeLongitude(me[0], me[1]),
            width=18,
            height=18,
        )
        layers.append(ftm.MarkerLayer(markers=[dot]))
    layers.append(ftm.SimpleAttribution(text="© OpenStreetMap"))
    where = (
        centre
        or (me[:2] if me else None)
        or ((pins[-1].latitude, pins[-1].longitude) if pins else DEFAULT_CENTRE)
    )

    def tapped(e: Any) -> Any:
        if on_tap is not None:
            return on_tap(e.coordinates.latitude, e.coordinates.longitude)
        return None

    return ftm.Map(
        layers=layers,
        initial_center=ftm.MapLatitudeLongitude(where[0], where[1]),
        initial_zoom=zoom,
        on_tap=tapped if on_tap else None,
        expand=height is None,
        height=height,
    )

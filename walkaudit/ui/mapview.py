"""The walk map (flet-map): findings as markers by category and status, the route, the walker.

flet_map is imported here only, when a map is first shown: it is not needed for the start screen
and keeping it out of start-up keeps a cold start short.

In the dark theme the map is dark too, so it does not glare on a night walk: flet_map 1.0.5's
TileLayer has no colour filter, so the whole map sits in a Container whose colour filter
inverts it (white "difference"); pins, route and position are drawn in inverted colours, so
after the filter they show their true colours on the dark ground. The map's background (seen
while tiles load) is inverted the same way and shows dark.
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


ROUTE_COLOUR = {False: "#1565C0", True: "#64B5F6"}  # by dark map: a light blue line at night
ME_COLOUR = "#1E88E5"
# Inverts whatever the map paints: dark ground and streets, light labels.
INVERT = ft.ColorFilter(color="#FFFFFF", blend_mode=ft.BlendMode.DIFFERENCE)


def painted(colour: str, dark: bool) -> str:
    """The colour to draw so that `colour` shows on the (inverted) dark map; alpha is kept."""
    return widgets.inverted(colour) if dark else colour


def page_is_dark() -> bool:
    """True when the page being built shows the dark theme."""
    try:
        return ft.context.page.theme_mode == ft.ThemeMode.DARK
    except RuntimeError:  # no page (a map built outside a session): light
        return False


def pin_circle(pin: Pin, dark: bool = False) -> Any:
    """One control per finding: its category's colour, ringed by its status colour.

    (A Marker holding a Container holding an Icon is three controls per pin; with 2,000
    findings that made every redraw of the walk map take most of a second.)
    """
    import flet_map as ftm

    fill = widgets.CATEGORY_COLOURS.get(pin.category, widgets.UNKNOWN_CATEGORY_COLOUR)
    return ftm.CircleMarker(
        radius=9,
        coordinates=ftm.MapLatitudeLongitude(pin.latitude, pin.longitude),
        color=painted(fill, dark),
        border_color=painted(widgets.ring_colour(pin.status, dark), dark),
        border_stroke_width=3,
    )


class LiveMap:
    """A map whose pins, route and position are updated in place, never rebuilt."""

    def __init__(
        self,
        tile_url: str,
        *,
        on_tap: Callable[[float, float], Any] | None = None,
        centre: tuple[float, float] | None = None,
        zoom: float = 16,
        height: float | None = None,
        dark: bool | None = None,
    ) -> None:
        import flet_map as ftm

        self._ftm = ftm
        self.dark = page_is_dark() if dark is None else dark
        palette = widgets.DARK if self.dark else widgets.LIGHT
        ground = palette.map_ground
        self._pins: dict[str, Pin] = {}
        self._route_len = 0
        self.route_layer = ftm.PolylineLayer(polylines=[])
        self.accuracy_layer = ftm.CircleLayer(circles=[])
        self.pin_layer = ftm.CircleLayer(circles=[])
        self.me_layer = ftm.CircleLayer(circles=[])
        where = centre or DEFAULT_CENTRE

        def tapped(e: Any) -> Any:
            return on_tap(e.coordinates.latitude, e.coordinates.longitude) if on_tap else None

        self.map = ftm.Map(
            layers=[
                ftm.TileLayer(url_template=tile_url, user_agent_package_name="se.walkaudit.app"),
                self.route_layer,
                self.accuracy_layer,
                self.pin_layer,
                self.me_layer,
                # flet_map puts "flutter_map | ©" before the text; the colours are the palette's
                # (the default, the theme's surface, would be inverted to a white box at night).
                ftm.SimpleAttribution(
                    text="OpenStreetMap",
                    bgcolor=painted(palette.attribution[0], self.dark),
                    text_style=ft.TextStyle(color=painted(palette.attribution[1], self.dark)),
                ),
            ],
            initial_center=ftm.MapLatitudeLongitude(where[0], where[1]),
            initial_zoom=zoom,
            on_tap=tapped if on_tap else None,
            bgcolor=painted(ground, self.dark),
            expand=height is None,
            height=height,
        )
        self.control: ft.Control = self.map
        if self.dark:
            self.control = ft.Container(
                self.map, color_filter=INVERT, expand=height is None, height=height
            )

    def set_pins(self, pins: Sequence[Pin]) -> bool:
        """Show these pins; True if anything changed. New pins are appended, not redrawn."""
        new = {p.id: p for p in pins}
        if new == self._pins:
            return False
        only_added = all(new.get(k) == v for k, v in self._pins.items())
        if only_added:
            self.pin_layer.circles.extend(
                pin_circle(p, self.dark) for k, p in new.items() if k not in self._pins
            )
        else:
            self.pin_layer.circles = [pin_circle(p, self.dark) for p in new.values()]
        self._pins = new
        return True

    def set_route(self, route: Sequence[tuple[float, float]]) -> None:
        """The walked route (redrawn only when it grew)."""
        if len(route) == self._route_len or len(route) < 2:
            return
        ftm = self._ftm
        self._route_len = len(route)
        self.route_layer.polylines = [
            ftm.PolylineMarker(
                coordinates=[ftm.MapLatitudeLongitude(a, b) for a, b in route],
                color=painted(ROUTE_COLOUR[self.dark], self.dark),
                stroke_width=4,
            )
        ]

    def set_me(self, me: tuple[float, float, float | None] | None) -> None:
        """The walker's position and its accuracy circle."""
        ftm = self._ftm
        if me is None:
            self.accuracy_layer.circles, self.me_layer.circles = [], []
            return
        lat, lon, acc = me
        where = ftm.MapLatitudeLongitude(lat, lon)
        self.accuracy_layer.circles = [
            ftm.CircleMarker(
                radius=acc or 10,
                use_radius_in_meter=True,
                coordinates=where,
                color=painted("#33" + ME_COLOUR[1:], self.dark),
                border_color=painted(ME_COLOUR, self.dark),
                border_stroke_width=1,
            )
        ]
        self.me_layer.circles = [
            ftm.CircleMarker(
                radius=8,
                coordinates=where,
                color=painted(ME_COLOUR, self.dark),
                border_color=painted("#FFFFFF", self.dark),
                border_stroke_width=3,
            )
        ]


def build_map(
    tile_url: str,
    pins: Sequence[Pin],
    route: Sequence[tuple[float, float]] = (),
    me: tuple[float, float, float | None] | None = None,
    on_tap: Callable[[float, float], Any] | None = None,
    centre: tuple[float, float] | None = None,
    zoom: float = 16,
    height: float | None = None,
    dark: bool | None = None,
) -> Any:
    """A map in one go (detail, follow-up and pin screens); the walk screen keeps a LiveMap."""
    where = (
        centre
        or (me[:2] if me else None)
        or ((pins[-1].latitude, pins[-1].longitude) if pins else None)
    )
    live = LiveMap(tile_url, on_tap=on_tap, centre=where, zoom=zoom, height=height, dark=dark)
    live.set_pins(pins)
    live.set_route(route)
    live.set_me(me)
    return live.control

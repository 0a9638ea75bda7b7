"""The walk map (flet-map): findings as markers by category and status, the route, the walker.

flet_map is imported here only, when a map is first shown: it is not needed for the start screen
and keeping it out of start-up keeps a cold start short.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

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


def pin_circle(pin: Pin) -> Any:
    """One control per finding: its category's colour, ringed by its status colour.

    (A Marker holding a Container holding an Icon is three controls per pin; with 2,000
    findings that made every redraw of the walk map take most of a second.)
    """
    import flet_map as ftm

    return ftm.CircleMarker(
        radius=9,
        coordinates=ftm.MapLatitudeLongitude(pin.latitude, pin.longitude),
        color=widgets.CATEGORY_COLOURS.get(pin.category, "#757575"),
        border_color=widgets.STATUS_COLOURS.get(pin.status, "#9E9E9E"),
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
    ) -> None:
        import flet_map as ftm

        self._ftm = ftm
        self._pins: dict[str, Pin] = {}
        self._route_len = 0
        self.route_layer = ftm.PolylineLayer(polylines=[])
        self.accuracy_layer = ftm.CircleLayer(circles=[])
        self.pin_layer = ftm.CircleLayer(circles=[])
        self.me_layer = ftm.CircleLayer(circles=[])
        where = centre or DEFAULT_CENTRE

        def tapped(e: Any) -> Any:
            return on_tap(e.coordinates.latitude, e.coordinates.longitude) if on_tap else None

        self.control = ftm.Map(
            layers=[
                ftm.TileLayer(url_template=tile_url, user_agent_package_name="se.walkaudit.app"),
                self.route_layer,
                self.accuracy_layer,
                self.pin_layer,
                self.me_layer,
                ftm.SimpleAttribution(text="© OpenStreetMap"),
            ],
            initial_center=ftm.MapLatitudeLongitude(where[0], where[1]),
            initial_zoom=zoom,
            on_tap=tapped if on_tap else None,
            expand=height is None,
            height=height,
        )

    def set_pins(self, pins: Sequence[Pin]) -> bool:
        """Show these pins; True if anything changed. New pins are appended, not redrawn."""
        new = {p.id: p for p in pins}
        if new == self._pins:
            return False
        only_added = all(new.get(k) == v for k, v in self._pins.items())
        if only_added:
            self.pin_layer.circles.extend(
                pin_circle(p) for k, p in new.items() if k not in self._pins
            )
        else:
            self.pin_layer.circles = [pin_circle(p) for p in new.values()]
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
                color="#1565C0",
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
                color="#331E88E5",
                border_color="#1E88E5",
                border_stroke_width=1,
            )
        ]
        self.me_layer.circles = [
            ftm.CircleMarker(
                radius=8,
                coordinates=where,
                color="#1E88E5",
                border_color="#FFFFFF",
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
) -> Any:
    """A map in one go (detail, follow-up and pin screens); the walk screen keeps a LiveMap."""
    where = (
        centre
        or (me[:2] if me else None)
        or ((pins[-1].latitude, pins[-1].longitude) if pins else None)
    )
    live = LiveMap(tile_url, on_tap=on_tap, centre=where, zoom=zoom, height=height)
    live.set_pins(pins)
    live.set_route(route)
    live.set_me(me)
    return live.control

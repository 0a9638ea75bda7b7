"""The walk map (flet-map): findings as markers by category and status, the route, the walker.

flet_map is imported here only, when a map is first shown: it is not needed for the start screen
and keeping it out of start-up keeps a cold start short.

In the dark theme the map is dark too, so it does not glare on a night walk: flet_map 1.0.5's
TileLayer has no colour filter, so the whole map sits in a Container whose colour filter
inverts it (white "difference"); pins, route and position are drawn in inverted colours, so
after the filter they show their true colours on the dark ground. The map's background (seen
while tiles load) is inverted the same way and shows dark.

Where the map has no background (no tile package here and no network, or no tile source at
all), a hint says so over the map instead of a blank slab: shown at once when the caller knows
(MapTiles.hint_shown), or when the TileLayer reports a tile it could not load. A failed tile
counts until the caller learns better: new tiles (a package arrived, the network is back), or a
package holding the walker (MapTiles.covered: the tile that failed lay elsewhere, zoomed out
past the package or beyond its edge). The hint sits outside the inverting filter, in the
theme's message colours.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

import flet as ft

from walkaudit import categories
from walkaudit.ui import widgets

DEFAULT_CENTRE = (59.2743, 15.2066)  # Örebro, until the first fix
NO_TILES = "http://127.0.0.1:9/{z}/{x}/{y}.png"  # a template that is never asked (NEVER_ZOOM)
NEVER_ZOOM = 99


@dataclass(frozen=True)
class MapTiles:
    """Where the map's tiles come from (walkaudit.ui.offline_map decides), and the hint."""

    url: str  # XYZ template; empty: no background map at all
    fallback_url: str | None = None  # tried for a tile the first template lacks
    max_native_zoom: int = 19
    hint_text: str = ""
    hint_shown: bool = False  # known already: there is no background map here
    hint_colours: tuple[str, str] = ("#2F3033", "#F1F0F4")  # (background, text)
    attribution: str = "OpenStreetMap"
    covered: bool = False  # a package on the phone holds `around`
    around: tuple[float, float] | None = None  # the point these were chosen for

    @classmethod
    def online(cls, url: str) -> MapTiles:
        return cls(url=url, hint_shown=not url.strip())

    @property
    def source(self) -> tuple[str, str | None, int, str]:
        """What the tile layer is made from (the rest is about the hint)."""
        return (self.url, self.fallback_url, self.max_native_zoom, self.attribution)


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

    fill = categories.colour(pin.category)
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
        tiles: MapTiles | str,
        *,
        on_tap: Callable[[float, float], Any] | None = None,
        centre: tuple[float, float] | None = None,
        zoom: float = 16,
        height: float | None = None,
        dark: bool | None = None,
    ) -> None:
        import flet_map as ftm

        self._ftm = ftm
        self.tiles = tiles if isinstance(tiles, MapTiles) else MapTiles.online(tiles)
        self.tile_errors = 0
        # Told when a tile fails (walkaudit.ui.offline_map checks its local server then).
        self.on_tile_error: Callable[[], Any] | None = None
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
        # flet_map puts "flutter_map | ©" before the text; the colours are the palette's (the
        # default, the theme's surface, would be inverted to a white box at night).
        self.attribution = ftm.SimpleAttribution(
            text=self.tiles.attribution,
            bgcolor=painted(palette.attribution[0], self.dark),
            text_style=ft.TextStyle(color=painted(palette.attribution[1], self.dark)),
        )

        def tapped(e: Any) -> Any:
            return on_tap(e.coordinates.latitude, e.coordinates.longitude) if on_tap else None

        self.map = ftm.Map(
            layers=[
                self._tile_layer(),
                self.route_layer,
                self.accuracy_layer,
                self.pin_layer,
                self.me_layer,
                self.attribution,
            ],
            initial_center=ftm.MapLatitudeLongitude(where[0], where[1]),
            initial_zoom=zoom,
            on_tap=tapped if on_tap else None,
            bgcolor=painted(ground, self.dark),
            expand=True,
        )
        drawn: ft.Control = self.map
        if self.dark:
            drawn = ft.Container(self.map, color_filter=INVERT, expand=True)
        self.hint_text = ft.Text(
            self.tiles.hint_text,
            color=self.tiles.hint_colours[1],
            size=15,
            weight=ft.FontWeight.W_600,
        )
        self.hint = ft.Container(
            ft.Semantics(
                identifier="map-hint",
                content=ft.Row(
                    [ft.Icon(ft.Icons.CLOUD_OFF, color=self.tiles.hint_colours[1]), self.hint_text],
                    spacing=10,
                    vertical_alignment=ft.CrossAxisAlignment.CENTER,
                ),
            ),
            key="map-hint",
            bgcolor=self.tiles.hint_colours[0],
            border_radius=12,
            padding=ft.Padding.symmetric(horizontal=14, vertical=10),
            margin=12,
            visible=self.tiles.hint_shown,
            top=0,
            left=0,
            right=0,
        )
        # The text wraps inside the card: a Row would give it one line, cut at the screen edge.
        self.hint_text.expand = True
        self.control: ft.Control = ft.Stack(
            [ft.Container(drawn, expand=True, left=0, top=0, right=0, bottom=0), self.hint],
            expand=height is None,
            height=height,
        )

    def _tile_layer(self) -> Any:
        tiles = self.tiles
        return self._ftm.TileLayer(
            url_template=tiles.url or NO_TILES,
            fallback_url=tiles.fallback_url or None,
            max_native_zoom=tiles.max_native_zoom,
            # No source at all: the layer is never drawn (no zoom reaches it), so nothing is
            # requested; the hint is shown from the start instead.
            min_zoom=0 if tiles.url else NEVER_ZOOM,
            user_agent_package_name="se.walkaudit.app",
            on_image_error=self._tile_failed,
        )

    def _tile_failed(self, e: Any) -> None:
        """A tile could not be loaded (from the package nor online): say there is no map here.

        Called once per failed tile; only the first change is sent to the client.
        """
        self.tile_errors += 1
        if self.on_tile_error is not None:
            self.on_tile_error()
        if self.hint.visible:
            ft.context.mark_update_called()  # nothing changed: no redraw of the whole view
            return
        self.hint.visible = True
        self.hint.update()

    def set_tiles(self, tiles: MapTiles, reload: bool = False) -> None:
        """Take these tiles: from elsewhere (a package arrived) or `reload` (the network is
        back, tiles failed before), a new layer, so every tile loads again; from the same
        place, only what the hint knows changes (nothing is sent for the layer)."""
        old, self.tiles = self.tiles, tiles
        self.hint_text.value = tiles.hint_text
        if tiles.source == old.source and not reload:
            self.show_hint(tiles.hint_shown, tiles.covered)
            return
        self.tile_errors = 0
        self.map.layers[0] = self._tile_layer()
        self.attribution.text = tiles.attribution
        self.hint.visible = tiles.hint_shown

    def show_hint(self, shown: bool, covered: bool = False) -> None:
        """Show or hide the hint (the caller's knowledge, e.g. the last download failed).

        `covered`: a package holds the walker, so a tile that failed before lay elsewhere and
        no longer keeps the hint up (the next one that fails shows it again).
        """
        if covered:
            self.tile_errors = 0
        self.hint.visible = shown or self.tile_errors > 0

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
    tiles: MapTiles | str,
    pins: Sequence[Pin],
    route: Sequence[tuple[float, float]] = (),
    me: tuple[float, float, float | None] | None = None,
    on_tap: Callable[[float, float], Any] | None = None,
    centre: tuple[float, float] | None = None,
    zoom: float = 16,
    height: float | None = None,
    dark: bool | None = None,
    attach: Callable[[LiveMap], Any] | None = None,
) -> Any:
    """A map in one go (detail, follow-up and pin screens); the walk screen keeps a LiveMap.

    `attach` is given the map (walkaudit.ui.offline_map's, so that a package arriving while
    the screen is open switches it to the package).
    """
    where = (
        centre
        or (me[:2] if me else None)
        or ((pins[-1].latitude, pins[-1].longitude) if pins else None)
    )
    live = LiveMap(tiles, on_tap=on_tap, centre=where, zoom=zoom, height=height, dark=dark)
    if attach is not None:
        attach(live)
    live.set_pins(pins)
    live.set_route(route)
    live.set_me(me)
    return live.control

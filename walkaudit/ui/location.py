"""The phone's position: one fix for a finding, and the route while a walk is active.

Permission is asked with a sentence of why, once; a refusal is not a dead end: the walker drops a
pin on the map instead. In a browser the Geolocator uses the browser's geolocation (which the
end-to-end tests set).
"""

from __future__ import annotations

import asyncio
import logging
from typing import TYPE_CHECKING, Any

import flet as ft

from walkaudit import model

if TYPE_CHECKING:
    from walkaudit.ui.app import App

log = logging.getLogger("walkaudit.ui.location")

FIX_TIMEOUT_S = 12.0
ROUTE_DISTANCE_FILTER_M = 7  # a route point every ~7 m: smooth enough, light on battery


class Location:
    def __init__(self, app: App) -> None:
        self.app = app
        self.granted: bool | None = None
        self._geo: Any = None
        self.tracking_walk: str | None = None
        self.paused = False  # the app is in the background: no GPS, the route waits

    def _geolocator(self) -> Any:
        if self._geo is None:
            import flet_geolocator as ftg

            self._geo = ftg.Geolocator(
                configuration=ftg.GeolocatorConfiguration(
                    accuracy=ftg.GeolocatorPositionAccuracy.HIGH,
                    distance_filter=ROUTE_DISTANCE_FILTER_M,
                ),
                on_error=lambda e: None,
            )
        return self._geo

    async def ensure_permission(self) -> bool:
        """Explain why, then ask; remember the answer for this session."""
        if self.granted is not None:
            return self.granted
        await self._explain()
        try:
            import flet_geolocator as ftg

            status = await self._geolocator().request_permission()
            ok = {
                ftg.GeolocatorPermissionStatus.WHILE_IN_USE,
                ftg.GeolocatorPermissionStatus.ALWAYS,
            }
            self.granted = status in ok
        except Exception:
            # No answer we can read (no geolocation on this platform, or the client failed to
            # answer): no position this time, but not remembered as a refusal, so the next fix
            # asks again instead of leaving the walker with pins for the rest of the walk.
            log.warning("location permission: no answer", exc_info=True)
            return False
        if not self.granted:
            log.warning("location permission: %s", status)
            self.app.snack(self.app.t("perm.location_denied"), error=True)
        return self.granted

    async def recheck_or_ask(self) -> bool:
        """Whether a fix may be asked for: after a refusal, the status is checked without a
        dialog (`recheck`); otherwise permission is asked as on the first fix."""
        if self.granted is False:
            return await self.recheck()
        return await self.ensure_permission()

    async def recheck(self) -> bool:
        """After a refusal, whether location is allowed now (asked without a dialog). A browser
        answers a permission request with "denied" when its first fix fails, and a walker may
        allow location in the phone's settings with the screen open: neither is final."""
        if self.granted is False and await self._allowed_now():
            log.info("location allowed since the refusal")
            self.granted = True
        return bool(self.granted)

    async def _explain(self) -> None:
        if self.app.state.store.get_meta("ui.location_explained"):
            return
        done = asyncio.Event()
        t = self.app.t

        def close(e: Any) -> None:
            self.app.page.pop_dialog()
            done.set()

        from walkaudit.ui.widgets import tagged

        dialog = ft.AlertDialog(
            modal=True,
            title=ft.Icon(ft.Icons.MY_LOCATION, size=40),
            # Both sentences at once: the camera is asked for a moment later, on the first photo.
            content=ft.Text(f"{t('perm.location')}\n\n{t('perm.camera')}", size=16),
            actions=[
                tagged("perm-continue", ft.FilledButton(t("common.ok"), on_click=close, height=48))
            ],
        )
        self.app.page.show_dialog(dialog)
        await done.wait()
        self.app.state.store.set_meta(**{"ui.location_explained": "1"})

    async def fix(self) -> tuple[float, float, float | None] | None:
        """The current position (lat, lon, accuracy in m), or None without permission/signal."""
        if not await self.ensure_permission():
            return None
        try:
            p = await asyncio.wait_for(self._geolocator().get_current_position(), FIX_TIMEOUT_S)
        except Exception:  # no signal yet (a cold GPS, under trees): the last one, if any
            log.info("no position fix within %.0f s", FIX_TIMEOUT_S, exc_info=True)
            return self.app.state.last_position
        self.app.state.last_position = (p.latitude, p.longitude, p.accuracy)
        return self.app.state.last_position

    def start_route(self, walk_id: str) -> None:
        """Record the route from the position stream until stop_route()."""
        self.tracking_walk = walk_id
        if not self.paused:
            self._geolocator().on_position_change = self._on_position

    def stop_route(self) -> None:
        """Stop the position stream (battery) when the walk ends."""
        self.tracking_walk = None
        self._stop_stream()

    def pause(self) -> None:
        """The app went to the background: the GPS goes off (the phone's battery, the walker's
        privacy: the app asks only for location while in use), the walk stays active."""
        self.paused = True
        self._stop_stream()

    async def resume(self) -> None:
        """Back in front: the route goes on, and a fresh fix replaces the one from before the
        pause (the walker may have moved a street away with the phone in the pocket). Location
        refused earlier and allowed since in the phone's settings: the walk's route starts."""
        was_paused, self.paused = self.paused, False
        if was_paused and self.tracking_walk is not None:  # before any await: a pause may race
            self._geolocator().on_position_change = self._on_position
        if self.granted is False and await self._allowed_now():
            self.granted, was_paused = True, True
            walk = await self.app.work(self.app.state.store.active_walk)
            if walk is not None and self.tracking_walk is None and not self.paused:
                self.start_route(walk.id)
        if was_paused and self.granted and not self.paused:
            await self.fix()
            self.app.refresh()

    async def _allowed_now(self) -> bool:
        """Whether location is allowed now (asked without a dialog: the status only)."""
        try:
            import flet_geolocator as ftg

            status = await self._geolocator().get_permission_status()
        except Exception:  # no geolocation here: still refused
            return False
        return status in {
            ftg.GeolocatorPermissionStatus.WHILE_IN_USE,
            ftg.GeolocatorPermissionStatus.ALWAYS,
        }

    def _stop_stream(self) -> None:
        if self._geo is not None:
            self._geo.on_position_change = None

    async def _on_position(self, e: Any) -> None:
        walk_id = self.tracking_walk
        pos = e.position
        if walk_id is None or pos is None or self.paused:  # a fix already on its way
            return
        self.app.state.last_position = (pos.latitude, pos.longitude, pos.accuracy)
        point = model.TrackPoint(
            walk_id=walk_id,
            t=model.utcnow(),
            latitude=pos.latitude,
            longitude=pos.longitude,
            accuracy=pos.accuracy,
        )
        await self.app.work(self.app.state.store.add_track_point, point)
        self.app.refresh()

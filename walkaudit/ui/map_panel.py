"""What the walker sees of the offline maps: the panel and its sentences.

The panel is the download button (for where the walker is), the progress bar and one sentence;
OfflineMaps (walkaudit.ui.offline_map) keeps the state and draws every panel on screen again
whenever a download moves. The sentences live here, apart from the download driver, because they
change for a different reason: what the walker is told, not how a package is fetched. A failure
is a calm sentence in the panel: nothing is blocked, the map stays online.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Any

import flet as ft

from walkaudit import tiles
from walkaudit.ui.widgets import MIN_TARGET, tagged

if TYPE_CHECKING:
    from walkaudit.ui.offline_map import OfflineMaps

MiB = 1024 * 1024
Message = tuple[str, dict[str, Any]]  # (i18n key, values)


def describe(
    t: Callable[..., str], running: bool, p: tiles.Progress | None, message: Message | None
) -> tuple[str, float | None]:
    """The panel's sentence and the bar's share (None: under way, size not known yet)."""
    if running and p is not None:
        if p.phase == "preparing":
            share = p.tiles_done / p.tiles if p.tiles else None
            text = t("map.preparing", done=p.tiles_done, tiles=p.tiles,
                     mb=p.estimated_bytes / MiB)  # fmt: skip
            return text, share
        if p.phase == "downloading" and p.bytes_total:
            text = t("map.downloading", mb_done=p.bytes_done / MiB,
                     mb_total=p.bytes_total / MiB)  # fmt: skip
            return text, min(1.0, p.bytes_done / p.bytes_total)
        if p.phase in ("checking", "done"):
            return t("map.checking"), 1.0
        return t("map.asking"), None
    if message is not None:
        key, values = message
        return t(key, **values), None
    return "", None


def done_message(package: tiles.Package, me: tuple[float, float, float | None] | None) -> Message:
    """Says "the area's map is on the phone" only for the walker's area: a download for
    where the phone was before (enrolled at the station) says which area it brought."""
    mb = package.size_bytes / MiB
    if me is None or package.bounds.contains(me[0], me[1]):
        return "map.done", {"mb": mb}
    lat, lon = package.bounds.middle
    return "map.done_other", {"mb": mb, "lat": lat, "lon": lon}


def failure_message(exc: tiles.TileError) -> tuple[Message, bool]:
    """The sentence for a failed download, and whether it failed for want of a network."""
    if isinstance(exc, tiles.PackageTooLargeError):
        if exc.estimated_mb is not None and exc.max_mb is not None:
            return ("map.too_large", {"mb": exc.estimated_mb, "max_mb": exc.max_mb}), False
        return ("map.too_large_plain", {}), False
    if isinstance(exc, tiles.TileServerUnreachableError):
        return ("map.offline", {}), True
    if isinstance(exc, tiles.NoRoomError):
        if exc.needed_bytes is not None and exc.free_bytes is not None:
            values = {"mb": exc.needed_bytes / MiB, "free_mb": exc.free_bytes / MiB,
                      "keep_mb": tiles.FREE_RESERVE_BYTES / MiB}  # fmt: skip
            return ("map.no_room", values), False
        return ("map.storage_full", {}), False
    if isinstance(exc, tiles.StorageError):
        return ("map.storage_error", {"reason": str(exc).rstrip(".")}), False
    if isinstance(exc, tiles.ServerBusyError):
        return ("map.busy", {}), False
    if isinstance(exc, tiles.CorruptPackageError):
        return ("map.corrupt", {}), False
    # Refused, failed at the source: the sentence says why.
    return ("map.failed", {"reason": str(exc).rstrip(".")}), False


class Panel:
    """One screen's map panel; drawn again by OfflineMaps whenever the download moves."""

    def __init__(self, maps: OfflineMaps, with_button: bool) -> None:
        self.maps = maps
        self.with_button = with_button
        t = maps.app.t
        self.text = ft.Text(size=13, key="map-status")
        self.bar = ft.ProgressBar(bar_height=6, visible=False, key="map-progress")
        self.button = tagged(
            "map-download",
            ft.OutlinedButton(
                t("map.download"), icon=ft.Icons.DOWNLOAD, on_click=self._tapped, height=MIN_TARGET
            ),
            t("map.download"),
        )
        self.control = ft.Container(
            ft.Column([self.bar, ft.Row([self.button, self.text], wrap=True)], spacing=4),
            padding=ft.Padding.symmetric(horizontal=12),
            data=self,  # the WeakSet keeps the panel while its control is on a screen
        )

    async def _tapped(self, e: Any) -> None:
        me = self.maps.app.state.last_position
        await self.maps.download_here((me[0], me[1]) if me else None)

    def draw(self) -> None:
        maps = self.maps
        text, share = maps.describe()
        me = maps.app.state.last_position
        # Without a position, a map on the phone is taken to be this walk's (settings has the
        # download for "here" when it is not).
        covered = (
            maps.packages.covers(me[0], me[1], tiles.COVER_MARGIN_M)
            if me is not None
            else bool(maps.packages.packages)
        )
        self.text.value = text
        self.text.visible = bool(text)
        self.bar.visible = maps.running
        self.bar.value = share
        # The button while it can help: enrolled, nothing under way, here not yet on the phone.
        self.button.visible = (
            self.with_button
            and maps.app.state.enrolled
            and not maps.running
            and not maps.no_source
            and (not covered or maps.failed)
        )
        self.control.visible = bool(text) or self.button.visible or maps.running

"""The map without network, in the app: which tiles the maps use, downloading the walk's area.

`of(app)` is the app's one OfflineMaps, made on first use (the walk screen, the pin map,
settings): no tile server thread and no package file is opened before the first screen.

Where the maps take their tiles (`map_tiles`): with a package installed, from the LocalTileServer
on 127.0.0.1, falling back to the online template (Settings.tile_url) for tiles no package has;
without one, from the online template. Where there is no background map at all, the map shows
the hint (walkaudit.ui.mapview).

Downloading (`download_here`) asks the server for the package of the area around a position
(walkaudit.tiles.download_package, in a worker thread) and shows the estimate, then MB done of
the total, in every panel on screen; the walk's map switches to the package when it is in. A
walk that starts while enrolled, where no package covers the position, starts it by itself
(`walk_opened`). A failure is a calm sentence in the panel: nothing is blocked, the map stays
online.
"""

from __future__ import annotations

import asyncio
import logging
import threading
import time
import weakref
from typing import TYPE_CHECKING, Any

import flet as ft

from walkaudit import tiles
from walkaudit.ui import mapview, widgets
from walkaudit.ui.widgets import MIN_TARGET, tagged

if TYPE_CHECKING:
    from walkaudit.ui.app import App

log = logging.getLogger("walkaudit.ui")
COVER_MARGIN_M = 300.0  # a package covers "here" when it reaches this far around the position
POSITION_WAIT_S = 15.0  # how long a walk's start waits for a first fix before giving up
SHOW_EVERY_S = 0.2  # progress is redrawn at most this often (a 10 MB file is 160 pieces)
OFFLINE_SYNC_KEYS = ("sync.offline", "sync.stalled")
MiB = 1024 * 1024


def of(app: App) -> OfflineMaps:
    """The app's one OfflineMaps (made on first use)."""
    maps: OfflineMaps | None = getattr(app, "_offline_maps", None)
    if maps is None:
        maps = OfflineMaps(app)
        app._offline_maps = maps  # type: ignore[attr-defined]
    return maps


class OfflineMaps:
    """Installed packages, the local tile server, and the one download at a time."""

    def __init__(self, app: App) -> None:
        self.app = app
        self.packages = tiles.TilePackages(app.state.data_dir)
        self._server: tiles.LocalTileServer | None = None
        self.running = False
        self.progress: tiles.Progress | None = None
        self.message: tuple[str, dict[str, Any]] | None = None  # (i18n key, values)
        self.failed = False  # the last download failed
        self.offline = False  # … for want of a network
        self.downloads = 0  # packages installed in this session (tests, the settings screen)
        self.no_source = False  # the server said it has no tile source for packages
        self._stop = threading.Event()
        self._shown_at = 0.0
        self._panels: weakref.WeakSet[_Panel] = weakref.WeakSet()
        self._maps: weakref.WeakSet[mapview.LiveMap] = weakref.WeakSet()
        self._walks_seen: set[str] = set()

    # ---- tiles for the maps ----------------------------------------------------------------

    @property
    def server(self) -> tiles.LocalTileServer:
        """The local tile server (started when a map first needs it)."""
        if self._server is None:
            self._server = tiles.LocalTileServer(self.packages)
        return self._server

    def map_tiles(self, centre: tuple[float, float] | None = None) -> mapview.MapTiles:
        """Where a map around `centre` takes its tiles, and whether it shows the hint at once."""
        settings = self.app.state.settings
        online = settings.tile_url.strip()
        colours = widgets.palette(settings.theme).snack  # contrast-checked, stands out on a map
        hint = self.app.t("map.hint")
        here = centre is not None and self.packages.covers(*centre)
        if self.packages.packages:
            return mapview.MapTiles(
                url=self.server.template,
                fallback_url=online or None,
                max_native_zoom=max(p.max_zoom for p in self.packages.packages),
                hint_text=hint,
                hint_shown=not here and centre is not None and (not online or self.offline_now()),
                hint_colours=colours,
                attribution=self._attribution(),
            )
        return mapview.MapTiles(
            url=online,
            hint_text=hint,
            hint_shown=not online or self.offline_now(),
            hint_colours=colours,
        )

    def offline_now(self) -> bool:
        """Whether the last contact with the server (a map download, a sync) found no network."""
        if self.offline:
            return True
        syncer = getattr(self.app, "syncer", None)
        last = getattr(syncer, "last_message", None)
        return bool(syncer and syncer.last_ok is False and last and last[0] in OFFLINE_SYNC_KEYS)

    def centre(self) -> tuple[float, float] | None:
        """The middle of the newest package: where a map without a position opens."""
        found = sorted(self.packages.packages, key=lambda p: p.path.stat().st_mtime)
        if not found:
            return None
        b = found[-1].bounds
        return ((b.south + b.north) / 2, (b.west + b.east) / 2)

    def attach(self, live: mapview.LiveMap) -> None:
        """Keep this map's tiles current (a package arriving switches it to the package)."""
        self._maps.add(live)

    def _attribution(self) -> str:
        # flet_map writes "©" before the text already.
        names = {p.attribution.lstrip("©").strip() for p in self.packages.packages}
        return " · ".join(sorted(n for n in names if n)) or "OpenStreetMap"

    # ---- downloading -----------------------------------------------------------------------

    async def walk_opened(self, walk_id: str) -> None:
        """A walk's screen was shown: fetch the area's map if none covers where the walker is.

        Once per walk and app session; nothing happens when not enrolled or without a fix.
        """
        if walk_id in self._walks_seen:
            return
        self._walks_seen.add(walk_id)
        if not self.app.state.enrolled:
            return
        deadline = time.monotonic() + POSITION_WAIT_S
        while self.app.state.last_position is None and time.monotonic() < deadline:
            await asyncio.sleep(0.2)
        me = self.app.state.last_position
        if me is None or self.no_source or self.packages.covers(me[0], me[1], COVER_MARGIN_M):
            return
        await self.download_here((me[0], me[1]), asked=False)

    async def download_here(self, where: tuple[float, float] | None, asked: bool = True) -> bool:
        """Download the package of the area around `where`; True when it is installed.

        `asked`: the walker tapped for it. A download started by itself says nothing when the
        server has no tile source that allows packages (most servers that never set one up);
        the button is gone then, and the map stays online.
        """
        if self.running:
            return False
        state = self.app.state
        if not state.enrolled:
            self._finish("map.not_enrolled", failed=True)
            return False
        if where is None:
            self._finish("map.no_position", failed=True)
            return False
        self.running, self.message, self.progress = True, None, tiles.Progress("asking")
        self._show(force=True)
        loop = asyncio.get_running_loop()
        box = tiles.area_around(*where)
        server_url = state.store.get_meta("server_url") or ""
        token = state.store.get_meta("token") or ""
        try:
            package = await self.app.work(self._download, loop, server_url, token, box)
        except tiles.NoTileSourceError as exc:
            log.info("no map packages from this server: %s", exc)
            self.no_source = True
            if asked:
                self._finish("map.no_source", failed=True)
            else:
                self.message = None
                self._finish_quietly()
            return False
        except tiles.TileError as exc:
            self._failed(exc)
            return False
        except Exception:  # a bug must not take the walk down: the map stays online
            log.exception("map download failed")
            self._finish("map.failed", failed=True, reason=self.app.t("map.offline"))
            return False
        await self.app.work(self.packages.reload)
        self.downloads += 1
        self._finish("map.done", mb=package.size_bytes / MiB)
        self._retarget()
        return True

    def _download(
        self, loop: asyncio.AbstractEventLoop, server_url: str, token: str, box: tiles.Box
    ) -> tiles.Package:
        def progress(p: tiles.Progress) -> None:
            loop.call_soon_threadsafe(self._progressed, p)

        with tiles.device_client(server_url, token) as http:
            return tiles.download_package(
                http,
                box,
                self.packages.folder,
                on_progress=progress,
                should_stop=self._stop.is_set,
            )

    def stop(self) -> None:
        """Stop a download under way (it resumes from where it was next time)."""
        self._stop.set()

    def delete(self, package_id: str) -> None:
        self.packages.delete(package_id)
        self._retarget()

    def _progressed(self, p: tiles.Progress) -> None:
        if not self.running:
            return
        changed = self.progress is None or self.progress.phase != p.phase
        self.progress = p
        self._show(force=changed)

    def _failed(self, exc: tiles.TileError) -> None:
        log.info("map download failed: %s", exc)
        if isinstance(exc, tiles.PackageTooLargeError):
            if exc.estimated_mb is not None and exc.max_mb is not None:
                self._finish("map.too_large", failed=True, mb=exc.estimated_mb, max_mb=exc.max_mb)
            else:
                self._finish("map.too_large_plain", failed=True)
        elif isinstance(exc, tiles.TileServerUnreachableError):
            self._finish("map.offline", failed=True, offline=True)
        elif isinstance(exc, tiles.CorruptPackageError):
            self._finish("map.corrupt", failed=True)
        else:  # refused, failed at the source, stopped: the sentence says why
            self._finish("map.failed", failed=True, reason=str(exc).rstrip("."))

    def _finish(self, key: str, failed: bool = False, offline: bool = False, **values: Any) -> None:
        self.running, self.progress = False, None
        self.message = (key, values)
        self.failed, self.offline = failed, offline
        self._show(force=True)
        if offline:  # no network: where no package covers the walker, say so on the map now
            me = self.app.state.last_position
            bare = me is None or not self.packages.covers(me[0], me[1])
            for live in list(self._maps):
                live.show_hint(bare)
            self._update_page()

    def _finish_quietly(self) -> None:
        self.running, self.progress, self.message = False, None, None
        self._show(force=True)

    def _retarget(self) -> None:
        for live in list(self._maps):
            centre = self.app.state.last_position
            live.set_tiles(self.map_tiles(centre[:2] if centre else None))
        self._update_page()

    # ---- what the walker sees --------------------------------------------------------------

    def panel(self, with_button: bool = True) -> ft.Control:
        """The download button (for where the walker is), the progress bar and the message."""
        panel = _Panel(self, with_button)
        self._panels.add(panel)
        panel.draw()
        return panel.control

    def describe(self) -> tuple[str, float | None]:
        """The panel's sentence and the bar's share (None: under way, size not known yet)."""
        t, p = self.app.t, self.progress
        if self.running and p is not None:
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
        if self.message is not None:
            key, values = self.message
            return t(key, **values), None
        return "", None

    def redraw_panels(self) -> None:
        """Bring the panels up to date (the position changed); the caller updates the page."""
        for panel in list(self._panels):
            panel.draw()

    def _show(self, force: bool = False) -> None:
        now = time.monotonic()
        if not force and now - self._shown_at < SHOW_EVERY_S:
            return
        self._shown_at = now
        for panel in list(self._panels):
            panel.draw()
        self._update_page()

    def _update_page(self) -> None:
        try:
            self.app.page.update()
        except Exception:  # the session is gone (the app closed meanwhile)
            log.debug("could not redraw", exc_info=True)


class _Panel:
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
            maps.packages.covers(me[0], me[1], COVER_MARGIN_M)
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

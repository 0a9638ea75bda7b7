"""The map without network, in the app: which tiles the maps use, downloading the walk's area.

`of(app)` is the app's one OfflineMaps, made on first use (the walk screen, the pin map,
settings): no tile server thread and no package file is opened before the first screen.

Where the maps take their tiles (`map_tiles`): with a package installed, from the LocalTileServer
on 127.0.0.1, falling back to the online template (Settings.tile_url) for tiles no package has;
without one, from the online template. Where there is no background map at all, the map shows
the hint (walkaudit.ui.mapview).

Downloading (`download_here`) asks the server for the package of the area around a position
(walkaudit.tiles.download_package, in a worker thread) and shows the estimate, then MB done of
the total, in every panel on screen; the attached maps switch to the package when it is in. One
download runs at a time; another asked for meanwhile waits its turn (the enrolment's, for where
the phone was, must not swallow the walk's). A walk that starts while enrolled, where no package
covers the position, starts one by itself (`walk_opened`), and tries again until it has had an
answer: when the first fix comes (no fix at the start), or when a sync gets through (no network
at the start). During the walk, a walker who leaves the maps on the phone gets the area around
them too, at most every FOLLOW_EVERY_S. What the panel shows and says is
walkaudit.ui.map_panel.

The app has no hooks of its own for this: every screen with an attached map calls `_refreshed`
on each redraw (a fix, a sync, a resume), which is where a sync that got through, a first fix,
the walker leaving the maps, and a local tile server that stopped taking connections (iOS may
close a suspended app's socket) are noticed.
"""

from __future__ import annotations

import asyncio
import logging
import math
import time
import weakref
from typing import TYPE_CHECKING, Any

import flet as ft

from walkaudit import tiles
from walkaudit.ui import map_panel, mapview, theme

if TYPE_CHECKING:
    from walkaudit.ui.app import App

log = logging.getLogger("walkaudit.ui")
COVER_MARGIN_M = tiles.COVER_MARGIN_M  # a package covers "here" when it reaches this far
POSITION_WAIT_S = 15.0  # how long a walk's start waits for a first fix (then the fix's redraw)
SHOW_EVERY_S = 0.2  # progress is redrawn at most this often (a 10 MB file is 160 pieces)
FOLLOW_EVERY_S = 180.0  # the walker left the maps: the area around them at most this often
SERVER_CHECK_S = 15.0  # the local tile server is looked at (on a redraw) at most this often
TILE_ERROR_CHECK_S = 2.0  # … and after a failed tile at most this often
OFFLINE_SYNC_KEYS = ("sync.offline", "sync.stalled")
MiB = map_panel.MiB  # (the settings screen shows package sizes in it)


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
        self._turn = asyncio.Lock()  # one download at a time; the next one waits for it
        self._shown_at = 0.0
        self._panels: weakref.WeakSet[map_panel.Panel] = weakref.WeakSet()
        self._maps: weakref.WeakSet[mapview.LiveMap] = weakref.WeakSet()
        self._walk: str | None = None  # the walk whose screen was opened (its area is wanted)
        self._walks_tried: set[str] = set()  # … whose area had an answer (not "no network")
        self._walk_busy = False  # the walk's area is being waited for or fetched
        self._auto_at = -math.inf  # when a download started by itself last began
        self._auto_blocked = False  # one was refused for a reason a retry does not change
        self._offline_sync: object = None  # the syncer's last message when offline was found
        self._seen_offline = False  # offline at the last redraw (maps reload when it ends)
        self._checked_at = time.monotonic()  # when the local server was last looked at
        self._checking = False

    # ---- tiles for the maps ----------------------------------------------------------------

    @property
    def server(self) -> tiles.LocalTileServer:
        """The local tile server (started when a map first needs it)."""
        if self._server is None:
            self._server = tiles.LocalTileServer(self.packages)
            self._checked_at = time.monotonic()
        return self._server

    def map_tiles(self, centre: tuple[float, float] | None = None) -> mapview.MapTiles:
        """Where a map around `centre` takes its tiles, and whether it shows the hint at once."""
        settings = self.app.state.settings
        online = settings.tile_url.strip()
        colours = theme.palette(settings.theme).snack  # contrast-checked, stands out on a map
        hint = self.app.t("map.hint")
        here = centre is not None and self.packages.covers(*centre)
        if self.packages.packages:
            self._check_server_soon(SERVER_CHECK_S)  # a map built after a resume, say
            return mapview.MapTiles(
                url=self.server.template,
                fallback_url=online or None,
                max_native_zoom=max(p.max_zoom for p in self.packages.packages),
                hint_text=hint,
                hint_shown=not here and centre is not None and (not online or self.offline_now()),
                hint_colours=colours,
                attribution=self._attribution(),
                covered=here,
                around=centre,
            )
        return mapview.MapTiles(
            url=online,
            hint_text=hint,
            hint_shown=not online or self.offline_now(),
            hint_colours=colours,
            around=centre,
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
        return found[-1].bounds.middle

    def attach(self, live: mapview.LiveMap) -> None:
        """Keep this map's tiles current (a package arriving switches it to the package), and
        look after the maps on every redraw of its screen (see `_refreshed`)."""
        self._maps.add(live)
        live.on_tile_error = self._tile_failed
        self.app.on_refresh(self._refreshed)

    def _attribution(self) -> str:
        # flet_map writes "©" before the text already.
        names = {p.attribution.lstrip("©").strip() for p in self.packages.packages}
        return " · ".join(sorted(n for n in names if n)) or "OpenStreetMap"

    # ---- on every redraw of a screen with a map --------------------------------------------

    def _refreshed(self) -> None:
        """A fix, a sync, a resume: what changed outside the maps (the caller updates the page).

        Anything slow is started as a task; the flags it needs are set here, so the next redraw
        (a second map on the screen calls this too) does not start it twice.
        """
        self._check_server_soon(SERVER_CHECK_S)
        self._back_online()
        self._walk_area_soon()
        self._follow_walker()

    def _back_online(self) -> None:
        """A sync got through after the map found no network: the hint goes, tiles that failed
        load again, and the walk's area is tried again."""
        syncer = getattr(self.app, "syncer", None)
        if syncer is None:
            return
        got_through = syncer.last_ok is True and syncer.last_message is not self._offline_sync
        if self.offline and got_through:
            self.offline = self.failed = False
            self.message = None
        was_offline, self._seen_offline = self._seen_offline, self.offline_now()
        if not was_offline or self._seen_offline:
            return
        log.info("the server answers again: the maps load their tiles again")
        for live in list(self._maps):
            live.set_tiles(self.map_tiles(live.tiles.around), reload=live.tile_errors > 0)
        self.redraw_panels()

    def _walk_area_soon(self) -> None:
        """The walk's area had no answer yet (no fix, no network at its start): try now."""
        walk = self._walk
        if (
            walk is None
            or walk in self._walks_tried
            or self._walk_busy
            or self.offline
            or self.app.state.last_position is None
            or self.app.location.tracking_walk != walk  # ended, or not this walk's screen
        ):
            return
        self._walk_busy = True
        self.app.page.run_task(self._try_walk_area)

    def _follow_walker(self) -> None:
        """The walker has left the maps on the phone: fetch the area around here, one at a
        time, at most every FOLLOW_EVERY_S, and only while walking, enrolled and online."""
        state, me = self.app.state, self.app.state.last_position
        walk = self.app.location.tracking_walk
        if (
            me is None
            or walk is None
            or walk not in self._walks_tried  # the walk's own area comes first
            or not state.enrolled
            or self.no_source
            or self._auto_blocked
            or self.running
            or self._turn.locked()
            or self.offline_now()
            or time.monotonic() - self._auto_at < FOLLOW_EVERY_S
            or self.packages.covers(me[0], me[1], COVER_MARGIN_M)
        ):
            return
        self._auto_at = time.monotonic()
        log.info("the walker left the maps on the phone: fetching the area around here")
        self.app.page.run_task(self.download_here, (me[0], me[1]), False)

    # ---- the local tile server -------------------------------------------------------------

    def _tile_failed(self) -> None:
        self._check_server_soon(TILE_ERROR_CHECK_S)

    def _check_server_soon(self, every_s: float) -> None:
        if self._server is None or self._checking:
            return
        if time.monotonic() - self._checked_at < every_s:
            return
        self._checking, self._checked_at = True, time.monotonic()
        self.app.page.run_task(self._check_server)

    async def _check_server(self) -> None:
        """Start the local tile server again when it stopped taking connections (the maps
        move to its new port)."""
        try:
            old = self._server
            if old is None or await self.app.work(old.accepts):
                return
            log.warning("the local tile server stopped taking connections; starting it again")
            self._server = tiles.LocalTileServer(self.packages)
            self._retarget()
            await self.app.work(old.close)
        finally:
            self._checking = False

    # ---- downloading -----------------------------------------------------------------------

    async def walk_opened(self, walk_id: str) -> None:
        """A walk's screen was shown: fetch the area's map if none covers where the walker is.

        Once per walk and app session once it had an answer; without a fix within
        POSITION_WAIT_S, the first fix's redraw tries; without a network, the first sync that
        gets through. Nothing happens when not enrolled.
        """
        self._walk = walk_id
        if walk_id in self._walks_tried or self._walk_busy or not self.app.state.enrolled:
            return
        self._walk_busy = True
        deadline = time.monotonic() + POSITION_WAIT_S
        while self.app.state.last_position is None and time.monotonic() < deadline:
            await asyncio.sleep(0.2)
        await self._try_walk_area()

    async def _try_walk_area(self) -> None:
        """One try for the walk's area (the caller has set _walk_busy)."""
        try:
            walk, me = self._walk, self.app.state.last_position
            if walk is None or me is None or not self.app.state.enrolled:
                return  # no fix yet: the first one tries
            if self.no_source or self.packages.covers(me[0], me[1], COVER_MARGIN_M):
                self._walks_tried.add(walk)
                return
            installed = await self.download_here((me[0], me[1]), asked=False)
            if installed or not self.offline:  # an answer; no network: a later sync tries
                self._walks_tried.add(walk)
        finally:
            self._walk_busy = False

    async def download_here(self, where: tuple[float, float] | None, asked: bool = True) -> bool:
        """Download the package of the area around `where`; True when it is installed.

        `asked`: the walker tapped for it. A download started by itself says nothing when the
        server has no tile source that allows packages (most servers that never set one up);
        the button is gone then, and the map stays online. One runs at a time: this one waits
        for one under way, and one started by itself is dropped then if the area came with it.
        """
        state = self.app.state
        if not state.enrolled or where is None:
            if not self.running:  # (one under way keeps its progress on screen)
                key = "map.no_position" if state.enrolled else "map.not_enrolled"
                self._finish(key, failed=True)
            return False
        if not asked:
            if self.no_source:
                return False
            self._auto_at = time.monotonic()
        async with self._turn:
            if not asked and self.packages.covers(where[0], where[1], COVER_MARGIN_M):
                return True  # the one before brought it
            return await self._download(where, asked)

    async def _download(self, where: tuple[float, float], asked: bool) -> bool:
        state = self.app.state
        self.running, self.message, self.progress = True, None, tiles.Progress("asking")
        self._show(force=True)
        loop = asyncio.get_running_loop()
        box = tiles.area_around(*where)
        server_url = state.store.get_meta("server_url") or ""
        token = state.store.get_meta("token") or ""
        try:
            package = await self.app.work(self._download_blocking, loop, server_url, token, box)
        except tiles.NoTileSourceError as exc:
            log.info("no map packages from this server: %s", exc)
            self.no_source = True
            if asked:
                self._finish("map.no_source", failed=True)
            else:
                self._finish_quietly()
            return False
        except tiles.TileError as exc:
            self._failed(exc)
            return False
        except Exception:  # a bug must not take the walk down: the map stays online
            log.exception("map download failed")
            self._finish("map.failed_unknown", failed=True)
            return False
        await self.app.work(self.packages.reload)
        self.downloads += 1
        self._auto_blocked = False
        key, values = map_panel.done_message(package, self.app.state.last_position)
        self._finish(key, **values)
        self._retarget()
        return True

    def _download_blocking(
        self, loop: asyncio.AbstractEventLoop, server_url: str, token: str, box: tiles.Box
    ) -> tiles.Package:
        def progress(p: tiles.Progress) -> None:
            loop.call_soon_threadsafe(self._progressed, p)

        with tiles.device_client(server_url, token) as http:
            return tiles.download_package(http, box, self.packages.folder, on_progress=progress)

    async def delete(self, package_id: str) -> None:
        """Remove a package: the file in a worker thread, the maps redrawn on the event loop."""
        await self.app.work(self.packages.delete, package_id)
        self._retarget()

    def _progressed(self, p: tiles.Progress) -> None:
        if not self.running:
            return
        changed = self.progress is None or self.progress.phase != p.phase
        self.progress = p
        self._show(force=changed)

    def _failed(self, exc: tiles.TileError) -> None:
        log.info("map download failed: %s", exc)
        # Refusals that stay refused: no download of its own tries again by itself.
        self._auto_blocked = isinstance(
            exc, tiles.PackageTooLargeError | tiles.PackageRefusedError | tiles.StorageError
        )
        (key, values), offline = map_panel.failure_message(exc)
        self._finish(key, failed=True, offline=offline, **values)

    def _finish(self, key: str, failed: bool = False, offline: bool = False, **values: Any) -> None:
        self.running, self.progress = False, None
        self.message = (key, values)
        self.failed, self.offline = failed, offline
        if offline:  # a sync that gets through after this one means the network is back
            self._offline_sync = getattr(getattr(self.app, "syncer", None), "last_message", None)
        self._show(force=True)
        if offline:  # no network: where no package covers the walker, say so on the map now
            self._retarget()

    def _finish_quietly(self) -> None:
        self.running, self.progress, self.message = False, None, None
        self._show(force=True)

    def _retarget(self) -> None:
        """Every attached map takes its tiles anew (a package came or went, the network, the
        local server's port); on the event loop only."""
        for live in list(self._maps):
            live.set_tiles(self.map_tiles(live.tiles.around))
        self._update_page()

    # ---- what the walker sees --------------------------------------------------------------

    def panel(self, with_button: bool = True) -> ft.Control:
        """The download button (for where the walker is), the progress bar and the message."""
        panel = map_panel.Panel(self, with_button)
        self._panels.add(panel)
        panel.draw()
        return panel.control

    def describe(self) -> tuple[str, float | None]:
        """The panel's sentence and the bar's share (None: under way, size not known yet)."""
        return map_panel.describe(self.app.t, self.running, self.progress, self.message)

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

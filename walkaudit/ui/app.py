"""The app shell: one AppState, one page, navigation between views, background work.

Views are functions `build(app, **params) -> ft.View` in walkaudit/ui/views; `app.go(name)`
replaces the page's view. Blocking work (SQLite, Pillow, httpx) runs in worker threads through
`app.work(...)` so the page never freezes. A view with unsaved work sets `app.leave_guard`, which
the system back (`on_view_pop`) asks instead of leaving; the camera follows the app's lifecycle
(released in the background, started again in front); a finding left half written when the app
was killed is offered back at the next start.

Start-up comes in two steps, so that a cold start on a phone shows the start screen first: the
start screen is drawn from `walkaudit.glance` (the standard library's sqlite3 on the store's
file), and only then are the Store, the models and the services imported and opened (pydantic,
sqlite-utils, httpx, geopy: about half of a cold start). That is why AppState, the draft box,
the location and the draft offer are imported in one place, `_open`, not at the top: every other
import is at the top. Until `ready` is set, `app.state` raises; a tap that needs it (continue the
walk, start one) waits for `ready` — a fraction of a second.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any, NamedTuple, TypeVar

import flet as ft

from walkaudit import glance, i18n
from walkaudit.ui import views, widgets
from walkaudit.ui.photo import PhotoSource
from walkaudit.ui.syncer import Syncer

if TYPE_CHECKING:
    from walkaudit.drafts import DraftBox
    from walkaudit.ui.location import Location
    from walkaudit.ui.state import AppState

log = logging.getLogger("walkaudit.ui")
T = TypeVar("T")
KEPT_VIEWS = {"walk"}  # expensive to build, visited again and again during a walk
LEAVING = (ft.AppLifecycleState.PAUSE, ft.AppLifecycleState.HIDE)
RETURNING = (ft.AppLifecycleState.RESUME, ft.AppLifecycleState.SHOW)


class NotReadyError(RuntimeError):
    """The app's state was asked for before it was loaded (await `app.ready` first)."""


class App:
    """One running app: page, state, services and navigation."""

    def __init__(self, page: ft.Page, data_dir: Path) -> None:
        self.page = page
        self.data_dir = data_dir
        self.ready = asyncio.Event()  # the Store and the services are open
        self.first: glance.Glance | None = None  # what the first screen was drawn from
        self._state: AppState | None = None
        self._t = i18n.Translator(i18n.DEFAULT_LANGUAGE)
        self._theme = "light"
        self.location: Location
        self.photos: PhotoSource
        self.syncer: Syncer
        self.drafts: DraftBox
        self._offer: Callable[..., Awaitable[None]]  # walkaudit.ui.draft_keeper.offer_draft
        # Set by a view with work that a back gesture would lose; reset by every go().
        self.leave_guard: Callable[[], Any] | None = None
        # Written when the app goes to the background (a phone may kill it there without a
        # word): the screen's unsaved work, e.g. the note typed a moment ago. Reset by go().
        self.pause_hooks: list[Callable[[], Awaitable[None]]] = []
        self._lifecycle_turn = 0
        self._in_background = False  # paused before the Store was open: the GPS waits
        self.current: str = ""
        self.params: dict[str, Any] = {}
        self._on_refresh: list[Callable[[], None]] = []
        self._kept: dict[tuple[Any, ...], tuple[ft.View, list[Callable[[], None]]]] = {}

    @property
    def state(self) -> AppState:
        if self._state is None:
            raise NotReadyError("the app is still opening its store (await app.ready)")
        return self._state

    @property
    def theme(self) -> str:
        """The theme being shown (the saved setting, known before the Store is open)."""
        return self._state.settings.theme if self._state is not None else self._theme

    @property
    def t(self) -> Any:
        return self._state.t if self._state is not None else self._t

    async def start(self) -> None:
        """First screen, then the Store and services, leftovers from a crash, the sync loop."""
        page = self.page
        page.on_view_pop = self._view_pop
        page.on_app_lifecycle_state_change = self._lifecycle
        self.first = await asyncio.to_thread(glance.read, self.data_dir)
        first = self.first
        if first is not None:
            if first.lang in i18n.LANGUAGES:
                self._t = i18n.Translator(first.lang)
            self._theme = first.theme or self._theme
        page.title = self.t("app.title")
        widgets.apply_theme(page, self._theme)
        # Before the heavy imports: the walker sees the app at once. Not when a store is there
        # that the glance could not read (locked, or newer): that walker is not shown the
        # enrolment screen while the Store opens.
        if first is not None or not (self.data_dir / glance.DB_NAME).exists():
            self.go("start")
        await self._load()
        if self.current == "":
            self.go("start")
        elif self.current == "start":
            # Not drawn again (a field typed into in this moment would be emptied): the sync
            # bar fills in its numbers.
            self.refresh()
        page.run_task(self._finish_leftovers)
        page.run_task(self._offer_draft)
        page.run_task(self.syncer.loop)

    async def _load(self) -> None:
        """Open the Store and start the services (the imports the first screen did without)."""
        opened = await asyncio.to_thread(_open, self.data_dir)
        self._state, self._offer = opened.state, opened.offer_draft
        self.location = opened.location(self)
        self.photos = PhotoSource(self)
        self.syncer = Syncer(self)
        self.drafts = opened.draft_box(self._state.data_dir)
        if self._in_background:  # put in the pocket during the start: no GPS until resumed
            self.location.pause()
        if self._state.settings.theme != self._theme:  # the glance could not read it
            widgets.apply_theme(self.page, self._state.settings.theme)
        self.ready.set()

    async def _finish_leftovers(self) -> None:
        if self.state.inbox.items():
            await self.work(self.state.inbox.process_all, self.state.settings.max_edge)
            self.refresh()

    async def _offer_draft(self) -> None:
        """A finding half written when the app was killed: offer it back (or throw it away)."""
        kept = await self.work(self.drafts.load, self.draft_saved)
        if kept is None:
            return
        await self._offer(self, kept, resume=self._resume_draft)

    def _resume_draft(self) -> None:
        walk = self.state.store.active_walk()
        walk_id = walk.id if walk is not None else None
        if walk_id:
            self.go("walk", walk_id=walk_id)  # the new-finding screen lies on the walk, as ever
        self.go("new_finding", walk_id=walk_id, resume=True)

    def draft_saved(self, finding_id: str) -> bool:
        """Whether a draft's finding was saved already (killed between saving and clearing)."""
        # The inbox first: a capture moves into the store in one transaction, so looked at in
        # this order it is seen in one place or the other, never missed between the two.
        if any(c.finding.id == finding_id for c in self.state.inbox.items()):
            return True
        return self.state.store.has_finding(finding_id)

    async def _lifecycle(self, e: ft.AppLifecycleStateChangeEvent) -> None:
        """Pause: unsaved work written, camera and GPS off. Resume: both back, and what waits
        is synced at once (the walker may be back in coverage: no need to wait for the loop).

        Flet runs each event in a task of its own, so a resume can arrive while a pause is still
        writing its draft: the GPS is switched before the first await, and the camera follows
        only the latest of the two.
        """
        if e.state not in LEAVING + RETURNING:
            return  # inactive (a notification pulled down), detach, restart: nothing changes
        self._lifecycle_turn += 1
        turn = self._lifecycle_turn
        self._in_background = e.state in LEAVING
        if not self.ready.is_set():
            return  # nothing runs yet; _load reads _in_background
        if e.state in LEAVING:
            self.location.pause()
            for hook in list(self.pause_hooks):
                await hook()
        else:
            if self.location.paused:
                self.syncer.wake()
            await self.location.resume()
        if turn == self._lifecycle_turn:
            await self.photos.lifecycle(e.state)

    def go(self, name: str, **params: Any) -> None:
        """Show a view by name (start, walk, new_finding, findings, finding, walk_end, …)."""
        if not self.ready.is_set() and name != "start":
            # A tap on the first screen in the moment before the Store is open: shown when it is.
            self.page.run_task(self._go_when_ready, name, params)
            return
        self.leave_guard = None
        self.pause_hooks = []
        if self.ready.is_set():
            self.photos.leave()  # the camera's control goes with the screen that showed it
        previous = self.current
        self.current, self.params = name, params
        key = (name, tuple(sorted(params.items())), self.t.lang, self.theme)
        cached = self._kept.get(key)
        if cached is not None:
            # Back to the walk after saving a finding: the map with 2,000 pins is not rebuilt,
            # only brought up to date (a new pin is appended).
            view, self._on_refresh = cached
            if len(self.page.views) == 2 and self.page.views[0] is view:
                self.page.views.pop()  # the new-finding screen lay on top: nothing is re-sent
            else:
                self.page.views.clear()
                self.page.views.append(view)
            self.page.update()
            # The screen is back at once; bringing it up to date (a query over every finding of
            # the walk) follows on the next turn of the event loop.
            asyncio.get_running_loop().call_soon(self.refresh)
            return
        self._on_refresh = []
        view = views.build(self, name, **params)
        if name in KEPT_VIEWS:
            self._kept = {key: (view, self._on_refresh)}
        if name == "new_finding" and previous == "walk" and len(self.page.views) == 1:
            # On top of the walk, which stays mounted: with 2,000 pins, taking the walk view
            # down and putting it back meant re-sending every pin (about 150 ms) on each save.
            self.page.views.append(view)
        else:
            self.page.views.clear()
            self.page.views.append(view)
        self.page.update()

    async def _go_when_ready(self, name: str, params: dict[str, Any]) -> None:
        await self.ready.wait()
        self.go(name, **params)

    def forget_views(self) -> None:
        """Drop kept views (the walk ended, the language or theme changed)."""
        self._kept.clear()

    def _view_pop(self, e: Any) -> None:
        if self.leave_guard is not None:  # the screen decides (it asks when work would be lost)
            self.leave_guard()
            return
        if self.current == "new_finding" and self.params.get("walk_id"):
            self.go("walk", walk_id=self.params["walk_id"])
        else:
            self.go("start")

    def on_refresh(self, callback: Callable[[], None]) -> None:
        """Call back when data changed (sync finished, a capture was processed)."""
        self._on_refresh.append(callback)

    def refresh(self) -> None:
        """Tell the visible view that data changed, and redraw."""
        for callback in list(self._on_refresh):
            try:
                callback()
            except Exception:  # a view gone stale must not break the others
                log.exception("refresh failed")
        self.page.update()

    async def work(self, fn: Callable[..., T], *args: Any) -> T:
        """Run blocking work (SQLite, Pillow, httpx) off the event loop."""
        return await asyncio.to_thread(fn, *args)

    def snack(self, text: str, error: bool = False) -> None:
        """A short message at the bottom of the screen."""
        bg, fg = widgets.snack_colours(self.state.settings.theme, error)  # contrast-checked
        bar = ft.SnackBar(
            ft.Text(text, color=fg),
            bgcolor=bg,
            duration=ft.Duration(seconds=6),
        )
        self.page.show_dialog(bar)


class _Opened(NamedTuple):
    """What the app opens after the first screen: the state and the services' makers."""

    state: AppState
    draft_box: type[DraftBox]
    location: type[Location]
    offer_draft: Callable[..., Awaitable[None]]


def _open(data_dir: Path) -> _Opened:
    """Import the heavy part of the app and open the Store, in a worker thread.

    The one import not at the top, on purpose (issue 11): these modules pull in pydantic,
    sqlite-utils, Pillow, httpx and geopy, about half of a cold start, and the first screen is
    drawn without them (tests/test_glance.py and tests/ui/test_lifecycle.py check it).
    """
    from walkaudit.drafts import DraftBox
    from walkaudit.ui.draft_keeper import offer_draft
    from walkaudit.ui.location import Location
    from walkaudit.ui.state import AppState

    return _Opened(AppState.open(data_dir), DraftBox, Location, offer_draft)


def make_main(data_dir: Path) -> Callable[[ft.Page], Any]:
    """The Flet entry point for a data directory (what `ft.run` and `flet run` call)."""

    async def main(page: ft.Page) -> None:
        app = App(page, data_dir)
        page.data = app  # tests reach the app through the page
        await app.start()

    return main

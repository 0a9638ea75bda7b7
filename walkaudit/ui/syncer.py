"""Sync in the background: automatic with backoff while the app runs, and on demand.

The SyncClient runs in a worker thread with its own httpx client; its progress is handed back to
the event loop, so the UI shows bytes and items without ever blocking on the network.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import random
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from walkaudit import sync
    from walkaudit.ui.app import App

log = logging.getLogger("walkaudit.ui")
IDLE_S = 30.0  # how often to look for work when the last sync went well
MAX_BACKOFF_S = 300.0


class Syncer:
    """One sync at a time; a second tap while syncing is ignored, not queued."""

    def __init__(self, app: App) -> None:
        self.app = app
        self.running = False
        self.progress: sync.Progress | None = None
        self.last_message: tuple[str, dict[str, Any]] | None = None  # (i18n key, values)
        self.last_ok: bool | None = None
        self.failures = 0
        self._wake = asyncio.Event()

    def wake(self) -> None:
        """Sync soon (a finding was saved, the walk ended)."""
        self._wake.set()

    async def loop(self) -> None:
        """Sync whenever something waits, backing off (with jitter) while the server is away."""
        while True:
            delay = (
                IDLE_S
                if self.failures == 0
                else min(MAX_BACKOFF_S, 10 * 2 ** min(self.failures, 5))
            )
            delay = random.uniform(delay / 2, delay)
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._wake.wait(), timeout=delay)
            self._wake.clear()
            if self.app.state.enrolled and self.app.state.pending_items() > 0:
                await self.run()

    async def run(self) -> bool:
        """One sync now; returns True when the server has confirmed everything."""
        if self.running:
            return False
        # Imported here: httpx is not needed for the first screen (start-up time).
        from walkaudit import sync

        if not self.app.state.enrolled:
            self._finish(False, "sync.not_enrolled")
            return False
        self.running = True
        self.progress = sync.Progress("push")
        self.app.refresh()
        loop = asyncio.get_running_loop()
        try:
            await self.app.work(self.app.state.inbox.process_all, self.app.state.settings.max_edge)
            report = await self.app.work(self._sync_blocking, loop)
        except sync.AuthError:
            self._finish(False, "sync.auth")
        except sync.SyncError:
            self._finish(False, "sync.offline", n=self.app.state.pending_items())
        except Exception:  # a bug must not take the app down; nothing is lost either way
            log.exception("sync failed")
            self._finish(False, "sync.offline", n=self.app.state.pending_items())
        else:
            if report.complete:
                self._finish(True, "sync.done")
            elif report.conflicts:
                self._finish(False, "sync.conflicts", n=len(report.conflicts))
            else:
                self._finish(False, "sync.offline", n=self.app.state.pending_items())
        return bool(self.last_ok)

    def _sync_blocking(self, loop: asyncio.AbstractEventLoop) -> sync.SyncReport:
        import httpx

        from walkaudit import sync

        def progress(p: sync.Progress) -> None:
            copy = sync.Progress(p.phase, p.done_items, p.total_items, p.done_bytes, p.total_bytes)
            loop.call_soon_threadsafe(self._show_progress, copy)

        with httpx.Client(timeout=httpx.Timeout(20, connect=5)) as http:
            retry = sync.RetryPolicy(attempts=3, base_s=0.5, cap_s=4)
            client = sync.SyncClient(self.app.state.store, http, retry=retry, on_progress=progress)
            return client.sync()

    def _show_progress(self, p: sync.Progress) -> None:
        self.progress = p
        self.app.refresh()

    def _finish(self, ok: bool, key: str, **values: Any) -> None:
        self.running = False
        self.progress = None
        self.last_ok = ok
        self.last_message = (key, values)  # translated when shown: the language may change
        self.failures = 0 if ok else self.failures + 1
        self.app.refresh()

    def describe(self) -> dict[str, Any]:
        """What the sync bar shows: running?, progress share, the text."""
        t = self.app.t
        p = self.progress
        if self.running and p is not None:
            share = (
                p.done_bytes / p.total_bytes
                if p.total_bytes
                else p.done_items / p.total_items
                if p.total_items
                else None
            )
            text = t(
                "sync.progress",
                done=p.done_items,
                total=p.total_items,
                mb_done=p.done_bytes / 1e6,
                mb_total=p.total_bytes / 1e6,
            )
            return {"running": True, "share": share, "text": text}
        text = t(self.last_message[0], **self.last_message[1]) if self.last_message else ""
        return {"running": False, "share": None, "text": text}

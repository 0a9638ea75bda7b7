"""Sync in the background: automatic with backoff while the app runs, and on demand.

The SyncClient runs in a worker thread with its own httpx client; its progress is handed back to
the event loop, so the UI shows bytes and items without ever blocking on the network.

Every sync ends with an answer. Each request is bounded (connect and read timeouts well below
STALL_S), and a watchdog on the event loop gives up on a sync in which no byte has moved for
STALL_S: the walker is told at once that nothing is lost and how much waits, and the loop tries
again with backoff. The worker is told to stop; it sends nothing more and ends by itself within
one read timeout (a blocked socket read cannot be interrupted from another thread), and the next
sync waits for it, so two syncs never run side by side. What arrived before the stall stays
confirmed; the rest is sent again next time, and the server keeps everything by id and photo
hash, so nothing is stored twice.

What waits is AppState.pending_items() — the store's one definition (walks with their route,
findings, photos, answers, inbox captures); the loop syncs whenever it is not zero.

What the server refused for good (a record, a photo that does not decode) is set aside by the
SyncClient and named in the sync bar — which finding, its time, the server's reason —; the loop
does not send it again (it is not in `to_send`).
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import logging
import random
import threading
import time
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

from walkaudit import localtime

if TYPE_CHECKING:
    from walkaudit import sync
    from walkaudit.ui.app import App

log = logging.getLogger("walkaudit.ui")
IDLE_S = 30.0  # how often to look for work when the last sync went well
MAX_BACKOFF_S = 300.0
STALL_S = 30.0  # a sync in which nothing moved for this long is given up (and retried later)
WATCH_S = 1.0  # how often the watchdog looks
CONNECT_TIMEOUT_S = 5.0
READ_TIMEOUT_S = 10.0  # per read or write: a stopped worker notices within this
RETRIES = 3  # tries per request; their waits (at most 4 s) are cut short by a stop


class _Stalled(Exception):
    """The watchdog gave up on a sync in which nothing moved for STALL_S."""


class _Attempt:
    """One sync in its worker thread: what the watchdog sees of it, and how it is stopped."""

    def __init__(self) -> None:
        self.stop = threading.Event()
        self.last_activity = time.monotonic()
        self.report: sync.SyncReport | None = None  # set once the sync proper has finished

    def touch(self) -> None:
        """Bytes moved (called from the worker thread; a float store is atomic)."""
        self.last_activity = time.monotonic()

    def idle_s(self) -> float:
        return time.monotonic() - self.last_activity

    def sleep(self, seconds: float) -> None:
        """The SyncClient's wait between retries, cut short when the sync is stopped."""
        self.stop.wait(seconds)


class Syncer:
    """One sync at a time; a second tap while syncing is ignored, not queued."""

    def __init__(self, app: App) -> None:
        self.app = app
        self.running = False
        self.progress: sync.Progress | None = None
        self.last_message: tuple[str, dict[str, Any]] | None = None  # (i18n key, values)
        self.last_ok: bool | None = None
        self.failures = 0
        self._nudge = asyncio.Event()  # the loop's wait is interrupted: woken or rescheduled
        self._wake_requested = False
        self._next_at = 0.0  # when the loop looks next (monotonic clock)
        self._worker: asyncio.Future[sync.SyncReport] | None = None
        self._attempt: _Attempt | None = None

    def wake(self) -> None:
        """Sync now (a finding was saved, the walk ended), even during a backoff wait."""
        self._wake_requested = True
        self._nudge.set()

    async def stop(self) -> None:
        """Tell a sync under way to send nothing more, and wait until its thread has let go of
        the store (at most one read timeout): before the store is closed."""
        if self._attempt is not None:
            self._attempt.stop.set()
        if self._worker is not None and not self._worker.done():
            await asyncio.wait({self._worker}, timeout=READ_TIMEOUT_S + CONNECT_TIMEOUT_S)

    def _delay(self) -> float:
        delay = (
            IDLE_S if self.failures == 0 else min(MAX_BACKOFF_S, 10 * 2 ** min(self.failures, 5))
        )
        return random.uniform(delay / 2, delay)

    async def loop(self) -> None:
        """Sync whenever something waits, backing off (with jitter) while the server is away.

        The next look is scheduled when a sync ends, whoever started it: a tapped sync that
        failed is retried with backoff like the loop's own.
        """
        self._next_at = time.monotonic() + self._delay()
        while True:
            while not self._wake_requested and time.monotonic() < self._next_at:
                self._nudge.clear()
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(
                        self._nudge.wait(), timeout=self._next_at - time.monotonic()
                    )
            self._wake_requested = False
            while self.running:  # a sync started by a tap: let it end, then look again
                await asyncio.sleep(WATCH_S)
            # Only what a sync can move: a conflict waits for a person, not for another sync
            # every 30 s (the walker sees it in the list and the status line).
            if self.app.state.enrolled and self.app.state.pending().to_send > 0:
                await self.run()
            else:
                self._next_at = time.monotonic() + self._delay()

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
        self.progress = None  # totals unknown until the worker has counted: "Synkar…"
        self.app.refresh()
        try:
            if self._worker is not None and not self._worker.done():
                # A sync given up on is still ending in its thread: never two side by side.
                await asyncio.wait({self._worker})
            await self.app.work(self.app.state.inbox.process_all, self.app.state.settings.max_edge)
            report = await self._watched()
        except _Stalled:
            self._finish(False, "sync.stalled", n=self.app.state.pending_items())
        except sync.AuthError:
            self._finish(False, "sync.auth")
        except sync.ServerFullError:
            self._finish(False, "sync.server_full", n=self.app.state.pending_items())
        except sync.ServerUnreachableError as exc:
            # Timed out (connected, no answer) is a stalled server; refused is an absent one.
            import httpx

            stalled = isinstance(exc.__cause__, httpx.TimeoutException)
            key = "sync.stalled" if stalled else "sync.offline"
            self._finish(False, key, n=self.app.state.pending_items())
        except sync.SyncError:
            self._finish(False, "sync.offline", n=self.app.state.pending_items())
        except Exception:  # a bug must not take the app down; nothing is lost either way
            log.exception("sync failed")
            self._finish(False, "sync.offline", n=self.app.state.pending_items())
        else:
            self._finish_report(report)
        return bool(self.last_ok)

    def _finish_report(self, report: sync.SyncReport) -> None:
        """The sync bar's sentence for a sync that ran to its end."""
        remaining = report.remaining
        held = (remaining.refused + remaining.conflicts) if remaining else 0
        if report.complete:
            self._finish(True, "sync.done")
        elif report.refused:
            key, values = self._refusal_message(report.refused)
            self._finish(False, key, **values)
        elif report.conflicts:
            self._finish(False, "sync.conflicts", n=len(report.conflicts))
        elif report.photo_errors:
            self._finish(False, "sync.offline", n=self.app.state.pending_items())
        elif remaining is not None and held and remaining.to_send == 0:
            # Set aside in an earlier sync: "new ones were saved meanwhile" would be untrue.
            self._finish(True, "sync.held", n=held)
        else:
            # Everything that waited went; what waits now came during the sync (a route
            # point, a finding saved meanwhile) and goes with the next one.
            self._finish(True, "sync.done_more", n=self.app.state.pending_items())

    def _refusal_message(self, refused: list[sync.Refusal]) -> tuple[str, dict[str, Any]]:
        """The first refusal named (which finding or walk, when, why), and how many more.

        The values are kept untranslated (a category code, not its label): the message is
        translated when shown, in the language of that moment.
        """
        first = refused[0]
        known = {(s.kind, s.id): s for s in self.app.state.store.refused()}
        about = known.get((first.kind, first.id))
        values: dict[str, Any] = {
            "reason": first.detail.strip().rstrip("."),
            "more": len(refused) - 1,
        }
        if first.kind in ("walk", "route"):
            values["walk"] = about.name if about else first.id[:8]
            if first.kind == "route":
                values["n"] = about.count if about else 1
            return f"sync.refused_{first.kind}", values
        values["category"] = about.category if about else None
        values["note"] = about.note if about else ""
        values["finding_id"] = (about.finding_id if about else None) or first.id
        values["at"] = _when(about.at) if about and about.at else ""
        kind = {"event": "answer"}.get(first.kind, first.kind)
        return f"sync.refused_{kind}", values

    async def _watched(self) -> sync.SyncReport:
        """Run the sync in a worker and watch it: no byte moving for STALL_S gives up on it."""
        attempt = self._attempt = _Attempt()
        loop = asyncio.get_running_loop()
        worker = asyncio.ensure_future(self.app.work(self._sync_blocking, loop, attempt))
        worker.add_done_callback(functools.partial(_collect, attempt))
        self._worker = worker
        while True:
            done, _ = await asyncio.wait({worker}, timeout=WATCH_S)
            if done:
                return worker.result()
            if attempt.idle_s() >= STALL_S:
                attempt.stop.set()
                if attempt.report is not None:  # only the extras (answer photos) were stuck
                    return attempt.report
                log.warning("sync stalled: nothing moved for %.0f s; giving up", STALL_S)
                raise _Stalled

    def _sync_blocking(self, loop: asyncio.AbstractEventLoop, attempt: _Attempt) -> sync.SyncReport:
        import httpx

        from walkaudit import answers, sync

        def progress(p: sync.Progress) -> None:
            copy = sync.Progress(p.phase, p.done_items, p.total_items, p.done_bytes, p.total_bytes)
            loop.call_soon_threadsafe(self._show_progress, copy, attempt)

        store = self.app.state.store
        timeout = httpx.Timeout(READ_TIMEOUT_S, connect=CONNECT_TIMEOUT_S)
        with httpx.Client(timeout=timeout) as http:
            client = sync.SyncClient(
                store,
                http,
                retry=sync.RetryPolicy(attempts=RETRIES, base_s=0.5, cap_s=4.0),
                sleep=attempt.sleep,
                on_progress=progress,
                on_activity=attempt.touch,
                should_stop=attempt.stop.is_set,
            )
            report = client.sync()
            attempt.report = report
            # The owners' answers with their fix photos: a failure here never fails the sync.
            try:
                answers.fetch_answer_photos(store, client)
            except Exception:
                log.warning("could not fetch the owners' answer photos", exc_info=True)
            return report

    def _show_progress(self, p: sync.Progress, attempt: _Attempt) -> None:
        if not self.running or attempt.stop.is_set():  # a sync given up on says nothing more
            return
        self.progress = p
        self.app.refresh()

    def _finish(self, ok: bool, key: str, **values: Any) -> None:
        self.running = False
        self.progress = None
        self.last_ok = ok
        self.last_message = (key, values)  # translated when shown: the language may change
        self.failures = 0 if ok else self.failures + 1
        self._next_at = time.monotonic() + self._delay()  # the loop's next look, with backoff
        self._nudge.set()
        self.app.refresh()

    def describe(self, pending: int | None = None) -> dict[str, Any]:
        """What the sync bar shows: running?, progress share, the text (never "0/0").

        `pending` is the badge's number when the caller has it already (one count per redraw).
        """
        t = self.app.t
        p = self.progress
        if self.running:
            if p is None or (p.total_items <= 0 and p.total_bytes <= 0):
                return {"running": True, "share": None, "text": t("sync.running")}
            done = min(p.done_items, p.total_items)
            if p.total_bytes > 0:
                share = min(1.0, p.done_bytes / p.total_bytes)
                text = t(
                    "sync.progress",
                    done=done,
                    total=p.total_items,
                    mb_done=min(p.done_bytes, p.total_bytes) / 1e6,
                    mb_total=p.total_bytes / 1e6,
                )
            else:
                share = done / p.total_items
                text = t("sync.progress_items", done=done, total=p.total_items)
            return {"running": True, "share": share, "text": text}
        text = self._message_text(*self.last_message) if self.last_message else ""
        done = self.last_message is not None and self.last_message[0] == "sync.done"
        if done and (self.app.state.pending_items() if pending is None else pending) > 0:
            text = ""  # "all on the server" is no longer true: the badge says what waits
        return {"running": False, "share": None, "text": text}

    def _message_text(self, key: str, values: dict[str, Any]) -> str:
        """A stored message in the language of now; a refusal's finding named by its category
        (in that language) and the start of its note, e.g. ”Belysning – Trasig lampa”."""
        t = self.app.t
        values = dict(values)
        more = values.pop("more", 0)
        if "reason" in values:
            values["reason"] = _reason(t, values["reason"])
        if "finding_id" in values:
            category, note = values.pop("category"), values.pop("note")
            finding_id = values.pop("finding_id")
            from walkaudit.ui.widgets import shorten_note

            label = t.category(category) if category else finding_id[:8]
            short = shorten_note(note)
            values["finding"] = f"{label} – {short}" if short else label
        text = t(key, **values)
        return f"{text} {t('sync.refused_more', n=more)}" if more else text


# The server's reasons a walker can act on, said in the app's language: (words in the server's
# sentence, i18n key). Any other reason is shown as the server wrote it.
_KNOWN_REASONS = (
    ("not a plausible time", "sync.reason.time"),
    ("does not decode", "sync.reason.photo"),
    ("it is cut off", "sync.reason.photo"),
    ("it is not an image", "sync.reason.photo"),
    ("only a coordinator or the finding's owner", "sync.reason.kind"),
)


def _reason(t: Any, server_says: str) -> str:
    for words, key in _KNOWN_REASONS:
        if words in server_says:
            return str(t(key))
    return server_says


def _when(at: str) -> str:
    """'18:03' today, '2026-11-24 18:03' another day (a far-off date shows what is wrong)."""
    try:
        local = localtime.local(localtime.parse(at))
    except ValueError:
        return at
    except OverflowError:  # no Swedish time at the calendar's end: as the findings list shows it
        return localtime.day_hm(at)
    today = localtime.local(datetime.now(UTC)).date()
    return local.strftime("%H:%M") if local.date() == today else local.strftime("%Y-%m-%d %H:%M")


def _collect(attempt: _Attempt, worker: asyncio.Future[Any]) -> None:
    """Retrieve a worker's outcome, so a sync given up on ends quietly in the log."""
    if worker.cancelled():
        return
    exc = worker.exception()
    if attempt.stop.is_set():
        log.info("a sync given up on has ended in its thread (%s)", type(exc).__name__)

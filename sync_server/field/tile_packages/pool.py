"""The background threads that prepare packages and fetch their tiles: a small fixed pool.

A package takes minutes and a server may be asked for several at once, so the work runs on
MAX_PREPARING preparing threads and FETCH_CONCURRENCY fetch threads for the whole server (see
`packages`), never one thread per request. Every thread's name starts with THREAD_PREFIX, which
is how `fetch` keeps httpx's per-request log lines out of the server's log.
"""

from __future__ import annotations

import logging
import queue
import threading
import time
from collections.abc import Callable

log = logging.getLogger("walkaudit.server")
THREAD_PREFIX = "tiles-"  # the name of every thread that prepares packages


class NoThread(RuntimeError):
    """The system would not start a thread (it is out of threads or memory)."""


class Pool:
    """A fixed number of daemon threads running the functions handed to them, in order.

    Threads are started on first use (most servers never prepare a package) and never hold the
    process up; one that would not start is tried again on the next `submit`."""

    def __init__(self, size: int, name: str) -> None:
        self.size = size
        self.name = name
        self._queue: queue.SimpleQueue[Callable[[], None] | None] = queue.SimpleQueue()
        self._threads: list[threading.Thread] = []
        self._lock = threading.Lock()

    def submit(self, work: Callable[[], None]) -> None:
        """Run `work` on one of the threads; NoThread if there is none and none will start."""
        with self._lock:
            self._threads = [t for t in self._threads if t.is_alive()]
            while len(self._threads) < self.size:
                thread = threading.Thread(
                    target=self._run, name=f"{self.name}-{len(self._threads)}", daemon=True
                )
                try:
                    thread.start()
                except RuntimeError as exc:
                    if not self._threads:
                        raise NoThread(str(exc)) from exc
                    log.warning("map packages: %s: runs on %d threads", exc, len(self._threads))
                    break
                self._threads.append(thread)
            self._queue.put(work)

    def close(self, deadline: float) -> bool:
        """Let the threads end once their queue is done; True if all did by `deadline`."""
        with self._lock:
            threads = list(self._threads)
        for _ in threads:
            self._queue.put(None)
        for thread in threads:
            thread.join(max(0.0, deadline - time.monotonic()))
        return not any(thread.is_alive() for thread in threads)

    def _run(self) -> None:
        while (work := self._queue.get()) is not None:
            try:
                work()
            except BaseException:  # the work handles its own errors: this is a bug, not a stop
                log.exception("map packages: a background task failed")

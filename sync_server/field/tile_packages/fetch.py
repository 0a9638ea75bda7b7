"""Fetching tiles from the source politely, into the on-disk cache.

OpenStreetMap's tile usage policy is the model even for the sources allowed here: at most
FETCH_CONCURRENCY requests at once for the whole server (one shared client and the fetch
threads), a User-Agent naming walkaudit-server and its address, a few retries with backoff on 5xx
and network errors, and when the source answers 429 every request to it waits as long as its
Retry-After says (at most MAX_PAUSE_S). A tile already cached and fresh costs the source nothing.

What became of each tile is an Outcome; deciding what that means for the package (left out,
give up, fail) is `preparing`'s job.
"""

from __future__ import annotations

import email.utils
import logging
import random
import threading
import time
from dataclasses import dataclass
from typing import Literal

import httpx

from sync_server.config import MiB, Settings
from sync_server.field.tile_packages.disk import (
    CACHE_MAX_AGE_S,
    Layout,
    storage_full,
    write_atomically,
)
from sync_server.field.tile_packages.pool import THREAD_PREFIX
from sync_server.field.tile_packages.source import image_format, tile_url, user_agent

log = logging.getLogger("walkaudit.server")


def _not_per_tile(record: logging.LogRecord) -> bool:
    # httpx logs every request at INFO: a package would write thousands of lines. Only the
    # requests of the threads here are dropped; tiles left out are logged by `preparing`, once
    # each.
    return not threading.current_thread().name.startswith(THREAD_PREFIX)


logging.getLogger("httpx").addFilter(_not_per_tile)

FETCH_CONCURRENCY = 4  # requests to the source at once, for the whole server (the fetch threads)
ATTEMPTS = 3  # per tile, on a network error, 5xx or 429
BACKOFF_S = 0.5  # before the 2nd attempt; doubles, with jitter
MAX_PAUSE_S = 60  # the longest Retry-After of a 429 that is honoured
DEFAULT_PAUSE_S = 5  # the pause after a 429 without a usable Retry-After
MAX_TILE_BYTES = 2 * MiB  # a "tile" larger than this is not one


def retry_after_s(value: str | None, now: float | None = None) -> float:
    """How long a 429's Retry-After (seconds or an HTTP date) asks to wait, within 1..MAX_PAUSE_S;
    DEFAULT_PAUSE_S when there is none or it cannot be read."""
    value = (value or "").strip()
    seconds: float = DEFAULT_PAUSE_S
    if value.isdigit():
        seconds = int(value)
    elif value:
        try:
            seconds = email.utils.parsedate_to_datetime(value).timestamp() - (now or time.time())
        except (TypeError, ValueError):
            seconds = DEFAULT_PAUSE_S
    return min(float(MAX_PAUSE_S), max(1.0, seconds))


Kind = Literal["kept", "missing", "failed", "full", "stopped"]


@dataclass(frozen=True)
class Outcome:
    """What became of one tile: kept (in the cache), missing (the source has none, or none the
    cache can hold), failed (429/5xx/network, every attempt), full (the disk), stopped."""

    kind: Kind
    size: int = 0
    note: str = ""  # what went wrong, for the log and a reason
    network: bool = False  # failed on the network, not with an HTTP answer


@dataclass(frozen=True)
class _Answer:
    status: int
    body: bytes | None = None
    too_large: bool = False
    retry_after: str | None = None


class TileFetcher:
    """The server's requests to its tile source: one client, one 429 pause for all packages."""

    def __init__(self, settings: Settings, disk: Layout, stop: threading.Event) -> None:
        self._disk = disk
        self._stop = stop  # set when the server stops: waits end, no new request is made
        self._lock = threading.Lock()
        self._pause_until = 0.0  # monotonic: no request to the source before (a 429 said so)
        self._http = httpx.Client(
            headers={"User-Agent": user_agent(settings)},
            timeout=httpx.Timeout(10.0, connect=5.0),
            limits=httpx.Limits(max_connections=FETCH_CONCURRENCY),
            follow_redirects=True,
        )

    def close(self) -> None:
        self._http.close()

    def tile(self, template: str, z: int, x: int, y: int) -> Outcome:
        """One tile into the cache (unless it is there and fresh), with retries."""
        path = self._disk.cached_tile(template, z, x, y)
        try:
            if time.time() - path.stat().st_mtime < CACHE_MAX_AGE_S:
                return Outcome("kept", path.stat().st_size)
        except OSError:
            pass  # not cached (or the cache cannot be read: writing it says why)
        url = tile_url(template, z, x, y)
        failure = Outcome("failed", note="no answer")
        for attempt in range(ATTEMPTS):
            # After a 429 the pause is the wait; otherwise back off before trying again.
            if attempt and failure.note != "HTTP 429" and self._stop.wait(backoff(attempt)):
                return Outcome("stopped")
            if not self._wait_for_source():
                return Outcome("stopped")
            try:
                answer = self._get(url)
            except httpx.HTTPError as exc:
                note = f"{type(exc).__name__}: {exc}" if str(exc) else type(exc).__name__
                failure = Outcome("failed", note=note, network=True)
                continue
            if answer.status == 200 and answer.too_large:
                return Outcome(
                    "missing",
                    note=f"the answer is larger than {MAX_TILE_BYTES // MiB} MB, too large for "
                    "a map tile",
                )
            if answer.status == 200 and answer.body is not None and image_format(answer.body):
                write_atomically(path, answer.body)
                return Outcome("kept", len(answer.body))
            if answer.status == 200:
                return Outcome("missing", note="the answer is not a PNG or JPEG tile")
            failure = Outcome("failed", note=f"HTTP {answer.status}")
            if answer.status == 429:
                self._pause(answer.retry_after)
            elif answer.status != 408 and answer.status < 500:
                return Outcome("missing", note=f"HTTP {answer.status}")  # 404: no such tile
        return failure

    def _get(self, url: str) -> _Answer:
        """The source's answer; the body only for a 200 no larger than MAX_TILE_BYTES."""
        with self._http.stream("GET", url) as answer:
            if answer.status_code != 200:
                return _Answer(answer.status_code, retry_after=answer.headers.get("retry-after"))
            body = bytearray()
            for chunk in answer.iter_bytes():
                body += chunk
                if len(body) > MAX_TILE_BYTES:
                    return _Answer(200, too_large=True)
            return _Answer(200, bytes(body))

    def _pause(self, retry_after: str | None) -> None:
        """A 429: no request to the source, from any package, until its Retry-After is over."""
        seconds = retry_after_s(retry_after)
        with self._lock:
            now = time.monotonic()
            starts = self._pause_until <= now
            self._pause_until = max(self._pause_until, now + seconds)
        if starts:
            log.warning(
                "map packages: the tile source answered 429 (too many requests); no request to it "
                "for %.0f s",
                seconds,
            )

    def _wait_for_source(self) -> bool:
        """Wait out a pause a 429 asked for; False if the server stops meanwhile."""
        while True:
            with self._lock:
                left = self._pause_until - time.monotonic()
            if left <= 0:
                return True
            if self._stop.wait(left):
                return False


def backoff(attempt: int) -> float:
    return BACKOFF_S * 2 ** (attempt - 1) * random.uniform(1, 1.5)


def broken(exc: Exception) -> Outcome:
    """A tile whose handling raised: the disk is full, or it cannot be kept (left out)."""
    if storage_full(exc):
        return Outcome("full", note=str(exc))
    return Outcome(
        "missing", note=f"it cannot be kept in the tile cache ({type(exc).__name__}: {exc})"
    )

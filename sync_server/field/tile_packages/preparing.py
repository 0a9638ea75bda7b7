"""Preparing one package, on a preparing thread: its tiles fetched, counted, and written.

The tiles go to the shared fetch threads FETCH_WINDOW at a time, so one large package cannot
take every fetch thread from the others. Each tile's Outcome is booked on the package: a tile the
source does not have is left out and counted (`missing`); a tile that failed for a reason that
passes (429, 5xx, a network error, after every attempt) fails the package as a whole with a
sentence, so a "ready" package never has holes a later try would fill, and GIVE_UP_AFTER such
failures in a row end the fetching at once. The disk full, no tile at all, or a file over the cap
fail it too. The file is written as `.part` from the cache, one tile at a time, and renamed into
place when complete.

What happens to a package that fails (the last ready file may stay) is TilePackages' decision:
the Preparer only calls `fail`.
"""

from __future__ import annotations

import functools
import logging
import os
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

from sync_server.config import MiB
from sync_server.field.tile_packages import mbtiles
from sync_server.field.tile_packages.area import Tile, plan
from sync_server.field.tile_packages.disk import STORAGE_FULL, Layout, storage_full
from sync_server.field.tile_packages.fetch import FETCH_CONCURRENCY, Outcome, TileFetcher, broken
from sync_server.field.tile_packages.mbtiles import TileData
from sync_server.field.tile_packages.pool import NoThread, Pool
from sync_server.field.tile_packages.status import Package

log = logging.getLogger("walkaudit.server")

FETCH_WINDOW = 2 * FETCH_CONCURRENCY  # tiles of one package handed to the fetch threads at once
GIVE_UP_AFTER = 4  # tiles in a row that failed (network, 5xx, 429): the source is down
LOGGED_LEFT_OUT = 20  # tiles left out that are logged one by one, per package


@dataclass
class Job:
    """One preparation of a package: its tiles and how far they are."""

    package: Package
    template: str
    tiles: list[Tile]
    left_out: set[Tile] = field(default_factory=set)
    in_a_row: int = 0  # tiles failed one after the other
    last_failure: Outcome | None = None
    problem: str | None = None  # why the package gave up, once it did
    pending: int = 0  # tiles handed to the fetch threads and not back yet
    back: threading.Condition = field(default_factory=threading.Condition)


class Preparer:
    """Prepares packages on the calling thread, with the fetch threads and the source shared by
    all packages; `fail` tells the package's owner (TilePackages) that a preparation failed."""

    def __init__(
        self,
        *,
        lock: threading.RLock,
        stop: threading.Event,
        fetchers: Pool,
        fetcher: TileFetcher,
        disk: Layout,
        fail: Callable[[Package, str], None],
    ) -> None:
        self._lock = lock  # TilePackages' lock: every change of a Package is made under it
        self._stop = stop
        self._fetchers = fetchers
        self._fetcher = fetcher
        self._disk = disk
        self._fail = fail

    def prepare(self, package: Package, template: str) -> None:
        """Prepare the package (in a preparing thread); its status tells how it went."""
        part = self._disk.part(package.id)
        try:
            if not self._stop.is_set() and package.state == "preparing":
                tiles = [t for r in plan(package.box) for t in r.tiles()]
                job = Job(package, template, tiles)
                self._fetch_all(job)
                self._finish(job, part)
            if self._stop.is_set():
                self._fail(package, "the server stopped while preparing the package; ask again")
        except Exception as exc:
            if storage_full(exc):
                log.error("map package %s: %s", package.id, exc)
                self._fail(package, STORAGE_FULL)
            elif isinstance(exc, NoThread):
                log.error("map package %s: no thread to fetch its tiles: %s", package.id, exc)
                self._fail(
                    package,
                    "the server could not start fetching the package's tiles (it is short of "
                    "threads or memory); ask for it again in a few minutes",
                )
            else:
                log.exception("map package %s failed", package.id)
                self._fail(
                    package,
                    "preparing the package failed unexpectedly; the reason is in the "
                    "server's log, try again later",
                )
        finally:
            part.unlink(missing_ok=True)

    def _fetch_all(self, job: Job) -> None:
        """Every tile into the cache (or counted out), FETCH_WINDOW at a time on the shared fetch
        threads; returns once every tile handed out is back."""
        with job.back:
            for tile in job.tiles:
                while job.pending >= FETCH_WINDOW:
                    job.back.wait()
                if job.problem is not None or self._stop.is_set():
                    break
                self._fetchers.submit(functools.partial(self._fetch_one, job, tile))
                job.pending += 1
            while job.pending:
                job.back.wait()

    def _fetch_one(self, job: Job, tile: Tile) -> None:
        """One tile, in a fetch thread: whatever happens, it is counted and handed back."""
        try:
            if job.problem is not None or self._stop.is_set():
                outcome = Outcome("stopped")
            else:
                try:
                    outcome = self._fetcher.tile(job.template, *tile)
                except Exception as exc:  # the cache, mostly: it must not end the thread
                    outcome = broken(exc)
            self._count(job, tile, outcome)
        finally:
            with job.back:
                job.pending -= 1
                job.back.notify_all()

    def _count(self, job: Job, tile: Tile, outcome: Outcome) -> None:
        """Book one tile's outcome; the package gives up (fails at once) when it must."""
        if outcome.kind == "stopped":
            return
        package = job.package
        give_up: str | None = None
        with self._lock:
            package.done += 1
            package.missing += outcome.kind == "missing"
            package.failed += outcome.kind == "failed"
            package.fetched_bytes += outcome.size
            if outcome.kind == "kept":
                job.in_a_row = 0
                if package.fetched_bytes > package.max_bytes:
                    give_up = self._too_large(package, package.fetched_bytes)
            else:
                job.left_out.add(tile)
                if len(job.left_out) <= LOGGED_LEFT_OUT:  # the total is in the "ready" line
                    verb = "left out" if outcome.kind == "missing" else "not fetched"
                    log.info("map package %s: tile %d/%d/%d %s: %s", package.id, *tile, verb,
                             outcome.note)  # fmt: skip
            if outcome.kind == "missing":
                job.in_a_row = 0  # an answer: the source works
            elif outcome.kind == "failed":
                job.in_a_row += 1
                job.last_failure = outcome
                if job.in_a_row >= GIVE_UP_AFTER:
                    give_up = self._source_trouble(job)
            elif outcome.kind == "full":
                give_up = STORAGE_FULL
            if give_up is not None and job.problem is None:
                job.problem = give_up
                self._fail(package, give_up)

    def _finish(self, job: Job, part: Path) -> None:
        """After the fetching: the package's file, or the reason it has none."""
        package = job.package
        if job.problem is not None or self._stop.is_set():
            return  # failed already, or the caller says the server stopped
        if package.done != len(job.tiles):
            raise RuntimeError(f"{package.done} of {len(job.tiles)} tiles were handled")
        if package.failed:
            self._fail(package, self._source_trouble(job))
            return
        kept = [t for t in job.tiles if t not in job.left_out]
        if not kept:
            self._fail(
                package,
                "the map tile source gave no tile for this area; whoever runs "
                "the server can check WALKAUDIT_TILE_URL",
            )
            return
        started = time.monotonic()
        tiles = self._from_cache(package, job.template, kept)
        mbtiles.write(part, package.box, package.attribution, tiles, lambda: package.missing)
        if self._stop.is_set():
            return
        size = part.stat().st_size
        if size > package.max_bytes:
            self._fail(package, self._too_large(package, size, whole=True))
            return
        with open(part, "rb") as written:
            os.fsync(written.fileno())
        os.replace(part, self._disk.package(package.id))
        with self._lock:
            package.state, package.bytes, package.reason = "ready", size, None
        log.info(
            "map package %s ready: %d tiles (%d left out), %.1f MB, written in %.1f s",
            package.id,
            package.tiles - package.missing,
            package.missing,
            size / MiB,
            time.monotonic() - started,
        )

    def _source_trouble(self, job: Job) -> str:
        package = job.package
        last = job.last_failure or Outcome("failed", note="no answer")
        kept = package.done - package.missing - package.failed
        if last.network:
            return (
                f"the map tile source cannot be reached ({last.note}); the {kept:,} tiles "
                "fetched so far are kept, and asking for the package again continues from them"
            )
        return (
            f"the map tile source is overloaded or failing ({last.note}; {package.failed:,} "
            f"tiles could not be fetched); the {kept:,} tiles fetched so far are kept, and asking "
            "for the package again in a few minutes continues from them"
        )

    @staticmethod
    def _too_large(package: Package, size: int, whole: bool = False) -> str:
        """The reason for a package over the cap: its tiles so far, or its whole file."""
        cap, estimate = package.max_bytes / MiB, package.estimated_bytes / MiB
        if whole:
            return (
                f"the map package for this area came to {size / MiB:,.2f} MB, more than the "
                f"{cap:,.0f} MB this server allows for a package (the estimate was "
                f"{estimate:,.1f} MB); choose a smaller area around the walk"
            )
        return (
            f"the tiles of this area add up to more than the {cap:,.0f} MB this server allows "
            f"for a package ({size / MiB:,.1f} MB before all were fetched; the estimate was "
            f"{estimate:,.1f} MB); choose a smaller area around the walk"
        )

    def _from_cache(self, package: Package, template: str, kept: list[Tile]) -> Iterator[TileData]:
        """The kept tiles, read from the cache one at a time (memory stays flat); a tile that
        vanished from the cache meanwhile is left out and counted."""
        for z, x, y in kept:
            if self._stop.is_set():
                return
            try:
                data = self._disk.cached_tile(template, z, x, y).read_bytes()
            except OSError as exc:  # removed from the cache meanwhile (by hand, say)
                if storage_full(exc):
                    raise
                log.warning(
                    "map package %s: tile %d/%d/%d vanished from the cache, left out: %s",
                    package.id, z, x, y, exc,
                )  # fmt: skip
                with self._lock:
                    package.missing += 1
                continue
            yield z, x, y, data

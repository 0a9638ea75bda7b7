"""TilePackages: the server's map packages, asked for, prepared in the background, and served.

This is what the API calls (`request`, `status`, `open_file`, `close`) and where the rules of
the package's contract are kept: the same area is the same package (a request joins one that
prepares, a ready one is served, a failed or stale one is prepared again while its last file is
still served), and at most MAX_PER_DEVICE packages of one device and MAX_AT_ONCE in all may be
preparing or waiting. `request()` answers at once; the work runs on MAX_PREPARING preparing
threads (`preparing.Preparer`), and a package waiting its turn is "preparing" with `done` 0.
"""

from __future__ import annotations

import contextlib
import functools
import logging
import os
import sqlite3
import threading
import time
from typing import Any, BinaryIO

from sync_server.config import MiB, Settings
from sync_server.field.tile_packages import mbtiles
from sync_server.field.tile_packages.area import Box, check_box, estimate_bytes, plan, tile_count
from sync_server.field.tile_packages.disk import PACKAGE_MAX_AGE_S, Layout, mark_used
from sync_server.field.tile_packages.errors import (
    BUSY_RETRY_S,
    NoAllowedSource,
    PackageNotReady,
    PackageTooLarge,
    TooManyPackages,
    UnknownPackage,
)
from sync_server.field.tile_packages.fetch import FETCH_CONCURRENCY, TileFetcher
from sync_server.field.tile_packages.pool import THREAD_PREFIX, NoThread, Pool
from sync_server.field.tile_packages.preparing import Preparer
from sync_server.field.tile_packages.source import check_source
from sync_server.field.tile_packages.status import Package, package_id

log = logging.getLogger("walkaudit.server")

MAX_PREPARING = 2  # packages prepared at once (the preparing threads); more wait their turn
MAX_PER_DEVICE = 2  # packages one device may have preparing or waiting at once
MAX_AT_ONCE = 8  # packages preparing or waiting, for the whole server


class TilePackages:
    """The server's map packages: prepared in the background, kept under {data_dir}/tiles."""

    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self.disk = Layout.of(settings)
        self.disk.packages.mkdir(parents=True, exist_ok=True)
        for stale in self.disk.packages.glob("*.part"):  # a preparation a stop cut short
            stale.unlink(missing_ok=True)
        self.max_bytes = settings.tile_package_max_mb * MiB
        self._lock = threading.RLock()
        self._packages: dict[str, Package] = {}
        self._gone: set[str] = set()  # ready packages whose file was removed meanwhile
        self._preparers = Pool(MAX_PREPARING, f"{THREAD_PREFIX}prepare")
        self._fetchers = Pool(FETCH_CONCURRENCY, f"{THREAD_PREFIX}fetch")
        self._stop = threading.Event()
        self._fetcher = TileFetcher(settings, self.disk, self._stop)
        self._preparer = Preparer(
            lock=self._lock,
            stop=self._stop,
            fetchers=self._fetchers,
            fetcher=self._fetcher,
            disk=self.disk,
            fail=self._fail,
        )

    # ---- what the API calls -------------------------------------------------------------

    def request(self, box: Box, device: str | None = None) -> dict[str, Any]:
        """The package for this area: started if new (or failed, or gone stale), else as it is.

        BadArea, NoAllowedSource or PackageTooLarge refuse it before anything is fetched;
        TooManyPackages when `device`, or the server, has as many preparing as it may.
        """
        box = check_box(box)
        template = check_source(self.settings.tile_url)
        tiles = tile_count(plan(box))
        estimate = estimate_bytes(tiles)
        if estimate > self.max_bytes:
            raise PackageTooLarge(
                f"the map package for this area would be about {estimate / MiB:,.1f} MB "
                f"({tiles:,} tiles), more than the {self.max_bytes / MiB:,.0f} MB this server "
                "allows; choose a smaller area around the walk"
            )
        pid = package_id(box, template)
        with self._lock:
            current = self._current(pid)
            if current is not None and current.state == "preparing":
                return current.as_dict()
            if current is not None and current.state == "ready" and self._fresh(pid):
                self._touch(pid)
                return current.as_dict()
            if self._stop.is_set():
                raise NoAllowedSource("the server is stopping; ask for the map package again")
            self._check_room(device)
            package = Package(
                pid,
                box,
                tiles,
                estimate,
                self.max_bytes,
                self.settings.tile_attribution,
                device=device,
            )
            self._packages[pid] = package
            self._gone.discard(pid)
            self._start(package, template)
            return package.as_dict()

    def status(self, pid: str) -> dict[str, Any]:
        """The package's status; UnknownPackage if there is none (any more)."""
        with self._lock:
            package = self._current(pid)
            if package is None and pid in self._gone:
                raise UnknownPackage(
                    f"map package {pid} is no longer on this server (its file was removed); ask "
                    "for the area's package again with POST /v1/tiles/packages"
                )
            if package is None:
                raise UnknownPackage(
                    f"there is no map package {pid} on this server; ask for the area's package "
                    "again with POST /v1/tiles/packages"
                )
            return package.as_dict()

    def open_file(self, pid: str) -> tuple[BinaryIO, os.stat_result]:
        """The package's file, open, and its stat: the ready one, or while the package is prepared
        again, the last ready one (replaced by the new one in one rename). UnknownPackage or
        PackageNotReady when there is none. Marks the file as used (for `sweep`)."""
        status = self.status(pid)
        try:
            opened = open(self.disk.package(pid), "rb")  # noqa: SIM115 - the caller closes it
        except FileNotFoundError:
            opened = None
        if opened is not None:
            return opened, mark_used(opened)
        if status["state"] == "failed":
            raise PackageNotReady(
                f"map package {pid} failed: {status['reason']} Ask for it "
                "again with POST /v1/tiles/packages"
            )
        if status["state"] == "ready":  # removed between the two looks
            return self.open_file(pid)  # says it is gone
        raise PackageNotReady(
            f"map package {pid} is still being prepared ({status['done']:,} of "
            f"{status['tiles']:,} tiles); ask for its status until it is ready"
        )

    def close(self, timeout_s: float = 3.0) -> None:
        """Stop preparing: no new requests to the source, unfinished packages fail, .part files
        go. Waits at most `timeout_s` for the threads (a request in flight may take longer;
        the threads are daemons and never hold the process up)."""
        self._stop.set()
        deadline = time.monotonic() + timeout_s
        preparers_done = self._preparers.close(deadline)
        if self._fetchers.close(deadline) and preparers_done:
            self._fetcher.close()

    # ---- what is on disk ------------------------------------------------------------------

    def _fresh(self, pid: str) -> bool:
        try:
            return time.time() - self.disk.package(pid).stat().st_mtime < PACKAGE_MAX_AGE_S
        except FileNotFoundError:
            return False

    def _touch(self, pid: str) -> None:
        with contextlib.suppress(FileNotFoundError), open(self.disk.package(pid), "rb") as used:
            mark_used(used)

    def _current(self, pid: str) -> Package | None:
        """The package as it stands (from memory, or from its file after a restart); None if
        there is none, or its file is gone (then noted in `_gone`). Under the lock."""
        package = self._packages.get(pid)
        if package is None:
            package = self._from_disk(pid)
            if package is not None:
                self._packages[pid] = package
            return package
        if package.state == "ready" and not self.disk.package(pid).exists():
            log.warning(
                "map package %s: its file was removed; it is prepared again when asked", pid
            )
            del self._packages[pid]
            self._gone.add(pid)
            return None
        return package

    def _from_disk(self, pid: str) -> Package | None:
        """A package prepared before this process started (its status is in its metadata)."""
        path = self.disk.package(pid)
        if not all(c in "0123456789abcdef" for c in pid) or not path.exists():
            return None
        try:
            meta = mbtiles.read_metadata(path)
            west, south, east, north = (float(v) for v in meta["bounds"].split(","))
            size = path.stat().st_size
        except (sqlite3.Error, KeyError, ValueError, OSError) as exc:
            log.warning("map package %s: unreadable, prepared again when asked for: %s", pid, exc)
            return None
        box = Box(south, west, north, east)
        tiles = tile_count(plan(box))
        return Package(
            pid,
            box,
            tiles,
            estimate_bytes(tiles),
            self.max_bytes,
            meta.get("attribution", ""),
            state="ready",
            done=tiles,
            missing=int(meta.get("missing_tiles", 0) or 0),
            bytes=size,
        )

    # ---- starting (under the lock) ------------------------------------------------------

    def _check_room(self, device: str | None) -> None:
        """TooManyPackages if `device`, or the server, may not start another package now."""
        busy = [p for p in self._packages.values() if p.state == "preparing"]
        mine = sum(1 for p in busy if device is not None and p.device == device)
        if mine >= MAX_PER_DEVICE:
            raise TooManyPackages(
                f"this device already has {mine} map packages being prepared, as many as it may "
                f"at once; ask for this one again when one of them is ready (in about "
                f"{BUSY_RETRY_S} seconds)"
            )
        if len(busy) >= MAX_AT_ONCE:
            raise TooManyPackages(
                f"the server is preparing {len(busy)} map packages right now, as many as it "
                f"does at once; ask for this one again in about {BUSY_RETRY_S} seconds"
            )

    def _start(self, package: Package, template: str) -> None:
        """Hand the package to the preparing threads; if none will start, it fails at once."""
        ahead = sum(1 for p in self._packages.values() if p.state == "preparing") - 1
        try:
            self._preparers.submit(functools.partial(self._preparer.prepare, package, template))
        except NoThread as exc:
            log.error("map package %s: no thread to prepare it: %s", package.id, exc)
            self._fail(
                package,
                "the server could not start preparing the package (it is short of threads "
                "or memory); ask for it again in a few minutes",
            )
            return
        if ahead >= MAX_PREPARING:
            log.info(
                "map package %s queued: %d packages are prepared before it (%d at once)",
                package.id,
                ahead,
                MAX_PREPARING,
            )

    def _fail(self, package: Package, reason: str) -> None:
        """The preparation failed (the first reason counts). A package prepared again because
        it was stale stays ready with its last file."""
        with self._lock:
            if package.state != "preparing":
                return
            package.state, package.reason = "failed", reason
            last = None
            if self._packages.get(package.id) is package:
                last = self._from_disk(package.id)
                if last is not None:
                    self._packages[package.id] = last
        if last is not None:
            log.warning(
                "map package %s: preparing it again failed, its last file stays ready: %s",
                package.id,
                reason,
            )
        else:
            log.warning("map package %s failed: %s", package.id, reason)

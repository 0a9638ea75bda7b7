"""Downloading a package from the server: ask for an area, wait while it is prepared, fetch
the file (resuming a cut download with a Range request), check it, install it.

A download cut short (the app killed, the signal lost) leaves its bytes in maps/.partial with
the area it was asked for beside them; the next download whose area that one still covers takes
it up again (the same area gives the same package id on the server), and half files nobody will
resume are removed after a day. Phones never fetch tiles in bulk from a public tile server: only
the server does, from a source that allows it.
"""

from __future__ import annotations

import contextlib
import errno
import json
import logging
import os
import shutil
import time
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any

from walkaudit.tiles.errors import (
    CorruptPackageError,
    DownloadStopped,
    NoRoomError,
    NoTileSourceError,
    PackageFailedError,
    PackageRefusedError,
    PackageTooLargeError,
    StorageError,
    TileServerUnreachableError,
)
from walkaudit.tiles.geometry import COVER_MARGIN_M, Box
from walkaudit.tiles.packages import PARTIAL_DIR, SUFFIX, Package, read_package
from walkaudit.tiles.protocol import (
    PackageStatus,
    Progress,
    ProgressCallback,
    Transient,
    detail_of,
    gave_up,
    retry_wait,
    transport_errors,
)

if TYPE_CHECKING:
    import httpx

log = logging.getLogger("walkaudit.tiles")

FREE_RESERVE_BYTES = 100 * 1024 * 1024  # left free for the walk's photos: a map never takes it
PARTIAL_MAX_AGE_S = 24 * 3600.0  # a half download of another area, untouched this long, goes
ROOM_ERRNOS = {errno.ENOSPC, errno.EDQUOT, errno.EFBIG}  # the file system has no room
POLL_S = 0.5  # how often a package being prepared is asked after
PREPARE_STALL_S = 120.0  # no tile fetched for this long: the server has stopped preparing
RETRIES = 5  # tries per request (and per cut of the file download without progress)
PIECE = 64 * 1024
MIB = 1024 * 1024


def download_package(
    http: httpx.Client,
    box: Box,
    folder: Path,
    *,
    on_progress: ProgressCallback | None = None,
    should_stop: Callable[[], bool] | None = None,
    sleep: Callable[[float], None] = time.sleep,
) -> Package:
    """Ask the server for the area's package, wait while it prepares, download and install it.

    `folder` is DATA/maps. The file is written under folder/.partial and renamed into place
    only after it proved to be a readable MBTiles file of the size the server announced; a cut
    connection resumes with an HTTP Range request, also in a later call whose area a cut
    download still covers (the walker restarted the app a few steps away): that one's area is
    asked for again, so the server names the same file. Before the file comes down, the
    phone must have room for it and FREE_RESERVE_BYTES more (NoRoomError otherwise).
    """
    job = _Download(http, folder, on_progress, should_stop, sleep)
    return job.run(box)


class _Download:
    def __init__(
        self,
        http: httpx.Client,
        folder: Path,
        on_progress: ProgressCallback | None,
        should_stop: Callable[[], bool] | None,
        sleep: Callable[[float], None],
    ) -> None:
        self.http = http
        self.folder = folder
        self.on_progress = on_progress
        self.should_stop = should_stop
        self.sleep = sleep
        self._sent_size: int | None = None  # the file's size as the server sent it

    def run(self, box: Box) -> Package:
        self._tell(Progress("asking"))
        pending = self._pending(box)
        if pending is not None:
            log.info("resuming the cut download of %s (its area covers this one)", pending[0])
            box = pending[1]
        self._prune(keep=pending[0] if pending else None)
        status = PackageStatus.of(self._json("POST", "/v1/tiles/packages", json=box.as_json()))
        status = self._wait_ready(status)
        installed = self.folder / f"{status.id}{SUFFIX}"
        if installed.exists() and installed.stat().st_size == status.bytes:
            return read_package(installed)  # this area is here already
        part = self.folder / PARTIAL_DIR / f"{status.id}{SUFFIX}.part"
        try:
            self._remember_area(part, box)
            self._fetch(status, part)
            package = self._install(status, part, installed)
        except OSError as exc:
            raise self._storage_failed(exc, part) from exc
        self._tell(Progress("done", status.estimated_bytes, status.tiles, status.tiles,
                            package.size_bytes, package.size_bytes))  # fmt: skip
        return package

    def _install(self, status: PackageStatus, part: Path, installed: Path) -> Package:
        """Check the whole file and move it into place (a damaged one is thrown away)."""
        self._tell(Progress("checking", status.estimated_bytes, status.tiles, status.tiles,
                            part.stat().st_size, part.stat().st_size))  # fmt: skip
        try:
            # The size the server said when it sent the file (the status may be older).
            expected = self._sent_size or status.bytes
            if expected is not None and part.stat().st_size != expected:
                raise CorruptPackageError(
                    f"the map package arrived with {part.stat().st_size} bytes of "
                    f"{expected}; it will be downloaded again"
                )
            read_package(part, check=True)
        except CorruptPackageError:
            part.unlink(missing_ok=True)  # never resumed from: it is wrong, not short
            raise
        finally:
            _drop_sidecars(part)
        os.replace(part, installed)
        return read_package(installed)

    # -- a cut download taken up again, half files nobody resumes --

    def _pending(self, box: Box) -> tuple[str, Box] | None:
        """(id, area) of a cut download whose area still covers this one's middle, if any.

        The same size of area is asked (a smaller one would leave the walker short); of
        several, the one with most bytes here.
        """
        partial = self.folder / PARTIAL_DIR
        found: list[tuple[int, str, Box]] = []
        for area_file in partial.glob(f"*{SUFFIX}.part.area"):
            part = area_file.with_name(area_file.name.removesuffix(".area"))
            try:
                size = part.stat().st_size if part.exists() else 0
                said = json.loads(area_file.read_text(encoding="utf-8"))
                other = Box(*(float(said[k]) for k in ("south", "west", "north", "east")))
            except (OSError, ValueError, TypeError, KeyError):
                continue  # a note from something else: that half file is pruned in time
            big_enough = (other.north - other.south) >= 0.9 * (box.north - box.south) and (
                other.east - other.west
            ) >= 0.9 * (box.east - box.west)
            if size and big_enough and other.shrunk(COVER_MARGIN_M).contains(*box.middle):
                found.append((size, part.name.removesuffix(f"{SUFFIX}.part"), other))
        if not found:
            return None
        _, package_id, other = max(found, key=lambda f: f[0])
        return package_id, other

    def _prune(self, keep: str | None) -> None:
        """Remove half files (and their notes) untouched for PARTIAL_MAX_AGE_S: nobody resumes
        them, and each can be tens of MB of the phone's storage."""
        partial = self.folder / PARTIAL_DIR
        if not partial.is_dir():
            return
        cutoff = time.time() - PARTIAL_MAX_AGE_S
        for path in partial.iterdir():
            if keep is not None and path.name.startswith(f"{keep}{SUFFIX}.part"):
                continue
            with contextlib.suppress(OSError):
                if path.is_file() and path.stat().st_mtime < cutoff:
                    path.unlink()
                    log.info("removed a half downloaded map nobody resumed: %s", path.name)

    def _remember_area(self, part: Path, box: Box) -> None:
        """Write down the area beside the half file: a later start nearby asks for it again."""
        part.parent.mkdir(parents=True, exist_ok=True)
        area = part.with_name(part.name + ".area")
        area.write_text(json.dumps(box.as_json()), encoding="utf-8")

    def _storage_failed(self, exc: OSError, part: Path) -> StorageError:
        """The phone could not write the file: the half file goes (it holds the room photos
        need), and the walker is told whether the storage is full."""
        part.unlink(missing_ok=True)
        _drop_sidecars(part)
        if exc.errno in ROOM_ERRNOS:
            return NoRoomError(
                "the phone's storage is full; the map was not kept. Free some space and try again"
            )
        return StorageError(f"the map could not be saved on the phone ({exc.strerror or exc})")

    # -- preparing --

    def _wait_ready(self, status: PackageStatus) -> PackageStatus:
        last_done, last_change = status.done, time.monotonic()
        while True:
            self._tell(Progress("preparing", status.estimated_bytes, status.tiles, status.done))
            if status.state == "ready":
                return status
            if status.state == "failed":
                raise PackageFailedError(
                    status.reason or "the server could not prepare the map package; try later"
                )
            if status.done != last_done:
                last_done, last_change = status.done, time.monotonic()
            elif time.monotonic() - last_change > PREPARE_STALL_S:
                raise TileServerUnreachableError(
                    "the server has stopped preparing the map package; try again later"
                )
            self._pause(POLL_S)
            status = PackageStatus.of(self._json("GET", f"/v1/tiles/packages/{status.id}"))

    # -- the file --

    def _fetch(self, status: PackageStatus, part: Path) -> Path:
        total = status.bytes or 0
        self._check_room(part, total or status.estimated_bytes)
        tries = 0
        while True:
            have = part.stat().st_size if part.exists() else 0
            if total and have == total:
                return part
            if total and have > total:  # a different file than the one announced
                part.unlink()
                have = 0
            self._check_stop()
            try:
                if self._fetch_from(status, part, have, total):
                    return part
            except (Transient, transport_errors()) as exc:
                grew = (part.stat().st_size if part.exists() else 0) > have
                tries = 0 if grew else tries + 1  # a cut after progress is not a failure
                if tries >= RETRIES:
                    raise gave_up(exc) from exc
                self._pause(retry_wait(exc, tries))

    def _check_room(self, part: Path, total: int) -> None:
        """Refuse before a byte comes down when the file would eat into FREE_RESERVE_BYTES."""
        have = part.stat().st_size if part.exists() else 0
        need = max(0, total - have)
        free = shutil.disk_usage(part.parent).free
        if need and need + FREE_RESERVE_BYTES > free:  # (a complete half file is installed)
            raise NoRoomError(
                f"the map needs {need / MIB:.1f} MB and the phone has {free / MIB:.0f} MB free, "
                f"of which {FREE_RESERVE_BYTES / MIB:.0f} MB stay free for photos",
                needed_bytes=need,
                free_bytes=free,
            )

    def _fetch_from(self, status: PackageStatus, part: Path, have: int, total: int) -> bool:
        """Stream the file from byte `have`; True when it is complete."""
        tag = part.with_name(part.name + ".etag")  # which file the bytes so far came from
        headers = {}
        if have:
            headers["Range"] = f"bytes={have}-"
            if tag.exists():
                # The server may have prepared the package again since (a stale one is
                # refreshed): If-Range makes it send the whole new file instead of splicing.
                headers["If-Range"] = tag.read_text(encoding="ascii").strip()
        url = f"/v1/tiles/packages/{status.id}/file"
        with self.http.stream("GET", url, headers=headers) as r:
            if r.status_code == 416 and have:
                if total and have == total:  # nothing after `have`: the file is complete
                    return True
                part.unlink()  # bytes of some other file: start again
                raise Transient("the file on the server is not the one being resumed")
            self._raise_for(r)
            if r.status_code == 200:
                have = 0  # the whole file (the first request, or another file than before)
                etag = r.headers.get("ETag", "")
                if etag and not etag.startswith("W/"):
                    tag.write_text(etag, encoding="ascii")
                else:
                    tag.unlink(missing_ok=True)
            elif r.status_code == 206 and not r.headers.get("Content-Range", "").startswith(
                f"bytes {have}-"
            ):
                raise Transient("the server answered another part of the file than asked")
            # The size of the file being sent now (the status may describe an older one).
            whole = r.headers.get("Content-Range", "").rpartition("/")[2]
            if whole.isdigit():
                total = int(whole)
            elif r.status_code == 200 and r.headers.get("Content-Length", "").isdigit():
                total = int(r.headers["Content-Length"])
            self._sent_size = total or None
            with open(part, "r+b" if have else "wb") as out:
                out.seek(have)
                out.truncate()
                done = have
                for piece in r.iter_bytes(PIECE):
                    self._check_stop()
                    out.write(piece)
                    done += len(piece)
                    self._tell(Progress("downloading", status.estimated_bytes, status.tiles,
                                        status.tiles, done, total))  # fmt: skip
                out.flush()
                os.fsync(out.fileno())
        return not total or done >= total

    # -- HTTP --

    def _json(self, method: str, path: str, **kw: Any) -> dict[str, Any]:
        tries = 0
        while True:
            self._check_stop()
            try:
                r = self.http.request(method, path, **kw)
                self._raise_for(r)
                body = r.json()
                if not isinstance(body, dict) or "id" not in body:
                    raise Transient(f"{method} {path}: the server's answer is not a package")
                return body
            except (Transient, transport_errors()) as exc:
                tries += 1
                if tries >= RETRIES:
                    raise gave_up(exc) from exc
                self._pause(retry_wait(exc, tries))

    def _raise_for(self, r: httpx.Response) -> None:
        """Turn a refusal into this module's error; 5xx and 429 are worth another try."""
        code = r.status_code
        if code < 400:
            return
        if not r.is_stream_consumed:
            r.read()
        detail = detail_of(r)
        if code == 413:
            raise PackageTooLargeError(detail or "the map package for this area is too large")
        if code == 503 and detail:
            raise NoTileSourceError(detail)
        if code == 429 or code >= 500:
            wait = r.headers.get("Retry-After", "")
            raise Transient(
                detail or f"the server answered HTTP {code}",
                status=code,
                retry_after=float(wait) if wait.isdigit() else None,
            )
        raise PackageRefusedError(detail or f"the server refused the map package (HTTP {code})")

    def _tell(self, progress: Progress) -> None:
        if self.on_progress is not None:
            self.on_progress(progress)

    def _check_stop(self) -> None:
        if self.should_stop is not None and self.should_stop():
            raise DownloadStopped("the map download was stopped; it goes on from here next time")

    def _pause(self, seconds: float) -> None:
        self._check_stop()
        self.sleep(seconds)
        self._check_stop()


def _drop_sidecars(part: Path) -> None:
    """The notes beside a half file: which file it came from (ETag), which area it is."""
    for suffix in (".etag", ".area"):
        part.with_name(part.name + suffix).unlink(missing_ok=True)

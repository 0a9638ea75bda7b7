"""The map packages installed on the phone (DATA/maps/*.mbtiles): read, listed, served from.

A package is an MBTiles file (SQLite) opened read-only; `TilePackages` keeps one connection per
file and notices a file replaced in place (a refreshed download), so the local tile server can
ask it for tiles from any thread.
"""

from __future__ import annotations

import logging
import sqlite3
import threading
from dataclasses import dataclass
from pathlib import Path

from walkaudit.tiles.errors import CorruptPackageError, UnsupportedPackageError
from walkaudit.tiles.geometry import Box, tile_box

log = logging.getLogger("walkaudit.tiles")

MAPS_DIR = "maps"  # under the app's data directory
PARTIAL_DIR = ".partial"  # downloads under way: never listed as installed
SUFFIX = ".mbtiles"
REQUIRED_METADATA = ("name", "format", "bounds", "minzoom", "maxzoom")
FORMATS = ("png", "jpg", "jpeg")  # raster tiles flutter_map can draw; vector (pbf) it cannot
MAX_ZOOM = 22  # deeper than any raster source: a larger maxzoom is a broken or foreign file


@dataclass(frozen=True)
class Package:
    """One installed MBTiles file."""

    path: Path
    name: str
    bounds: Box
    min_zoom: int
    max_zoom: int
    format: str
    attribution: str
    size_bytes: int

    @property
    def id(self) -> str:
        return self.path.stem

    def holds(self, z: int, x: int, y: int) -> bool:
        """Whether tile z/x/y can be in this package (its zoom range, overlapping its bounds)."""
        if not self.min_zoom <= z <= self.max_zoom:
            return False
        t, b = tile_box(z, x, y), self.bounds
        return t.west < b.east and t.east > b.west and t.south < b.north and t.north > b.south


def read_package(path: Path, check: bool = False) -> Package:
    """The package's metadata; CorruptPackageError when it is no readable MBTiles file.

    `check` also runs SQLite's quick_check and looks for at least one tile (a download).
    """
    try:
        conn = _open_ro(path)
    except sqlite3.Error as exc:
        raise CorruptPackageError(f"{path.name} cannot be opened as a map package: {exc}") from exc
    try:
        if check:
            verdict = conn.execute("PRAGMA quick_check").fetchone()
            if not verdict or verdict[0] != "ok":
                raise CorruptPackageError(f"{path.name} is damaged ({verdict and verdict[0]})")
        meta = dict(conn.execute("SELECT name, value FROM metadata").fetchall())
        missing = [k for k in REQUIRED_METADATA if not meta.get(k)]
        if missing:
            raise CorruptPackageError(f"{path.name} lacks map metadata: {', '.join(missing)}")
        w, s, e, n = (float(v) for v in str(meta["bounds"]).split(","))
        fmt = str(meta["format"]).strip().lower()
        if fmt not in FORMATS:
            raise UnsupportedPackageError(
                f"{path.name} holds {fmt} tiles; only png and jpg map packages can be shown"
            )
        min_zoom, max_zoom = int(meta["minzoom"]), int(meta["maxzoom"])
        if not 0 <= min_zoom <= max_zoom <= MAX_ZOOM:
            raise UnsupportedPackageError(
                f"{path.name} claims zoom levels {min_zoom}–{max_zoom}; a map package has "
                f"levels between 0 and {MAX_ZOOM}"
            )
        if check and conn.execute("SELECT 1 FROM tiles LIMIT 1").fetchone() is None:
            raise CorruptPackageError(f"{path.name} holds no map tiles")
        return Package(
            path=path,
            name=str(meta["name"]),
            bounds=Box(s, w, n, e),
            min_zoom=min_zoom,
            max_zoom=max_zoom,
            format=fmt,
            attribution=str(meta.get("attribution") or ""),
            size_bytes=path.stat().st_size,
        )
    except (sqlite3.Error, ValueError) as exc:
        raise CorruptPackageError(f"{path.name} is not a readable map package: {exc}") from exc
    finally:
        conn.close()


def _open_ro(path: Path) -> sqlite3.Connection:
    # Read-only: a package is never written here, and a half-copied file is never "repaired".
    conn = sqlite3.connect(f"file:{path}?mode=ro", uri=True, check_same_thread=False)
    conn.execute("PRAGMA query_only = 1")
    return conn


def _stamp(path: Path) -> tuple[int, int, int] | None:
    """Which file is at `path` now (a package refreshed in place is another inode)."""
    try:
        st = path.stat()
    except OSError:
        return None
    return (st.st_ino, st.st_size, st.st_mtime_ns)


@dataclass
class _Held:
    """An open package: its connection, the lock around it, and which file it opened."""

    conn: sqlite3.Connection
    lock: threading.Lock
    stamp: tuple[int, int, int] | None


class TilePackages:
    """The packages in DATA/maps; `tile()` is safe from any thread (the local server's)."""

    def __init__(self, data_dir: Path) -> None:
        self.folder = Path(data_dir) / MAPS_DIR
        self._lock = threading.Lock()
        self._packages: list[Package] = []
        self._conns: dict[Path, _Held] = {}
        self.reload()

    @property
    def packages(self) -> list[Package]:
        with self._lock:
            return list(self._packages)

    def reload(self) -> list[Package]:
        """Look at the folder again (after a download or a delete); unreadable files are skipped.

        A package whose file was replaced (a refreshed download under the same name) is opened
        again: the connection held so far would go on reading the old file.
        """
        found = []
        if self.folder.is_dir():
            for path in sorted(self.folder.glob(f"*{SUFFIX}")):
                try:
                    found.append(read_package(path))
                except UnsupportedPackageError as exc:
                    log.warning("skipping map package %s: %s", path, exc)
                except CorruptPackageError:
                    log.warning("skipping unreadable map package %s", path, exc_info=True)
        with self._lock:
            self._packages = found
            keep = {p.path for p in found}
            gone = [
                self._conns.pop(p)
                for p in list(self._conns)
                if p not in keep or self._conns[p].stamp != _stamp(p)
            ]
        for held in gone:
            _close(held)
        return list(found)

    def covers(self, lat: float, lon: float, margin_m: float = 0.0) -> bool:
        """Whether a package holds the point (and `margin_m` around it)."""
        return any(p.bounds.shrunk(margin_m).contains(lat, lon) for p in self.packages)

    def tile(self, z: int, x: int, y: int) -> bytes | None:
        """Tile z/x/y (XYZ numbering) from the first package that has it."""
        row = 2**z - 1 - y  # MBTiles rows are TMS: counted from the south
        for package in self.packages:
            if not package.holds(z, x, y):
                continue
            held = self._connection(package.path)
            with held.lock:
                found = held.conn.execute(
                    "SELECT tile_data FROM tiles"
                    " WHERE zoom_level = ? AND tile_column = ? AND tile_row = ?",
                    (z, x, row),
                ).fetchone()
            if found is not None:
                return bytes(found[0])
        return None

    def delete(self, package_id: str) -> None:
        """Remove an installed package (its connection is closed first)."""
        path = self.folder / f"{package_id}{SUFFIX}"
        with self._lock:
            self._packages = [p for p in self._packages if p.path != path]
            held = self._conns.pop(path, None)
        if held is not None:
            _close(held)
        path.unlink(missing_ok=True)
        self.reload()

    def close(self) -> None:
        with self._lock:
            held, self._conns = list(self._conns.values()), {}
        for h in held:
            _close(h)

    def _connection(self, path: Path) -> _Held:
        with self._lock:
            held = self._conns.get(path)
            if held is None:
                stamp = _stamp(path)  # before opening: a file replaced in between is seen
                held = self._conns[path] = _Held(_open_ro(path), threading.Lock(), stamp)
            return held


def _close(held: _Held) -> None:
    """Close a package's connection once no thread is reading from it."""
    with held.lock:
        held.conn.close()

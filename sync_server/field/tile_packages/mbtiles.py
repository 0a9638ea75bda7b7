"""The package's file: an MBTiles 1.3 database of the area's tiles, written and read back.

A phone opens it with any MBTiles reader, so the format is the contract: tile_row counts from the
south (TMS), the metadata names the bounds, the zooms, the source's attribution, and how many
tiles were left out (`missing_tiles`, the server's own field). The tiles are streamed in from an
iterator, so memory stays flat whatever the package's size; the caller writes to a `.part` path
and renames it when complete.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Callable, Iterable, Iterator
from contextlib import closing
from pathlib import Path

from sync_server.field.tile_packages.area import MAX_ZOOM, MIN_ZOOM, ROUND, Box, tms_row
from sync_server.field.tile_packages.source import image_format

# z, x, y (y from the north, as the source counts) and the tile's bytes
TileData = tuple[int, int, int, bytes]


def write(
    path: Path,
    box: Box,
    attribution: str,
    tiles: Iterable[TileData],
    missing: Callable[[], int],
) -> None:
    """Write a new MBTiles file at `path` (an old file there is removed first) from `tiles`; the
    first tile's format names the package's. `missing` is asked after the last tile, so tiles
    the iterator left out on the way are counted."""
    path.unlink(missing_ok=True)  # thread ids are reused: never add to an old file
    formats: list[str] = []

    def rows() -> Iterator[tuple[int, int, int, bytes]]:
        for z, x, y, data in tiles:
            if not formats:
                formats.append(image_format(data) or "png")
            yield z, x, tms_row(z, y), data

    db = sqlite3.connect(path)
    try:
        # A tile's last overflow page is half empty on average: 1 KB pages instead of 4 KB
        # make a package of 20 KB tiles 8 % smaller (measured), which the phone downloads.
        db.execute("PRAGMA page_size = 1024")
        # A .part file is thrown away if anything goes wrong: no journal needed.
        db.execute("PRAGMA journal_mode = OFF")
        db.execute("PRAGMA synchronous = OFF")
        db.execute("CREATE TABLE metadata (name TEXT, value TEXT)")
        db.execute(
            "CREATE TABLE tiles (zoom_level INTEGER, tile_column INTEGER, "
            "tile_row INTEGER, tile_data BLOB)"
        )
        db.execute("CREATE UNIQUE INDEX tile_index ON tiles (zoom_level, tile_column, tile_row)")
        db.execute("CREATE UNIQUE INDEX name ON metadata (name)")
        db.executemany("INSERT INTO tiles VALUES (?, ?, ?, ?)", rows())
        meta = {
            "name": f"walkaudit {','.join(f'{v:g}' for v in box.bounds)}",
            "format": formats[0] if formats else "png",
            "bounds": ",".join(f"{v:.{ROUND}f}" for v in box.bounds),
            "center": f"{(box.west + box.east) / 2:.{ROUND}f},"
            f"{(box.south + box.north) / 2:.{ROUND}f},16",
            "minzoom": str(MIN_ZOOM),
            "maxzoom": str(MAX_ZOOM),
            "attribution": attribution,
            "type": "baselayer",
            "version": "1",
            "description": "Offline map of a safety walk's area",
            "missing_tiles": str(missing()),  # after the rows: vanished ones count
        }
        db.executemany("INSERT INTO metadata VALUES (?, ?)", meta.items())
        db.commit()
    finally:
        db.close()


def read_metadata(path: Path) -> dict[str, str]:
    """The file's metadata table, read-only (sqlite3.Error if it is no MBTiles)."""
    with closing(sqlite3.connect(f"file:{path}?mode=ro", uri=True)) as db:
        return dict(db.execute("SELECT name, value FROM metadata").fetchall())

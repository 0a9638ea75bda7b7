"""What the map-package tests share: the areas, the slippy-map math written independently of the
server's, a scripted tile source, and helpers to start a server and wait for a package.

Not a test module: the tests are test_tile_packages.py (against one server: sizes, refusals,
download), test_tile_package_failures.py (a source that fails), test_tile_package_limits.py
(packages at once, the cap, the disk, stopping) and test_tile_area.py (the pure functions).
"""

from __future__ import annotations

import http.server
import math
import os
import sqlite3
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import httpx

from tests.support import ServerProcess, free_port
from tests.tile_source import TILE_PATH, tile_png

# About 1 km² around Örebro (59.27 N, 15.21 E): 1 km north–south, 1 km east–west at 59.27°.
HALF_LAT = 0.5 / 111.2
HALF_LON = 0.5 / (111.32 * math.cos(math.radians(59.27)))
OREBRO = {"south": round(59.27 - HALF_LAT, 4), "west": round(15.21 - HALF_LON, 4),
          "north": round(59.27 + HALF_LAT, 4), "east": round(15.21 + HALF_LON, 4)}  # fmt: skip
MiB = 1024 * 1024
Tile = tuple[int, int, int]


def expected_tiles(south: float, west: float, north: float, east: float) -> set[Tile]:
    """The slippy-map tiles (z, x, y) covering the box at zoom 12..18, edges included — written
    here from the OSM wiki's formulas, not taken from the server's module."""
    tiles = set()
    for z in range(12, 19):
        n = 2**z

        def col(lon: float, n: int = n) -> int:
            return int((lon + 180) / 360 * n)

        def row(lat: float, n: int = n) -> int:
            r = math.radians(lat)
            return int((1 - math.log(math.tan(r) + 1 / math.cos(r)) / math.pi) / 2 * n)

        for x in range(col(west), col(east) + 1):
            for y in range(row(north), row(south) + 1):
                tiles.add((z, x, y))
    return tiles


def start(root: Path, tile_url: str, **env: str) -> ServerProcess:
    return ServerProcess(root, env={"WALKAUDIT_REPORT_INTERVAL_S": "0",
                                    "WALKAUDIT_TILE_URL": tile_url, **env}).start()  # fmt: skip


def device(server: ServerProcess) -> httpx.Client:
    """A client enrolled as a device, with its bearer token."""
    code = server.enrol_code("kartvandrare")
    enrolled = httpx.post(f"{server.url}/v1/enrol", json={"code": code, "device_name": "telefon"})
    assert enrolled.status_code == 201, enrolled.text
    token = enrolled.json()["token"]
    return httpx.Client(base_url=server.url, headers={"Authorization": f"Bearer {token}"},
                        timeout=30)  # fmt: skip


def settle(http: httpx.Client, pid: str, limit_s: float = 120) -> dict[str, Any]:
    """Ask for the package's status until it is no longer preparing."""
    deadline = time.monotonic() + limit_s
    while time.monotonic() < deadline:
        status = http.get(f"/v1/tiles/packages/{pid}")
        assert status.status_code == 200, status.text
        body: dict[str, Any] = status.json()
        if body["state"] != "preparing":
            return body
        time.sleep(0.1)
    raise AssertionError(f"package {pid} still preparing after {limit_s} s")


def ready(http: httpx.Client, box: dict[str, float]) -> dict[str, Any]:
    answer = http.post("/v1/tiles/packages", json=box)
    assert answer.status_code in (200, 202), answer.text
    body = settle(http, answer.json()["id"])
    assert body["state"] == "ready", body
    return body


def mbtiles(data: bytes, where: Path) -> sqlite3.Connection:
    where.write_bytes(data)
    return sqlite3.connect(where)


def package_rows(db: sqlite3.Connection) -> dict[tuple[int, int, int], bytes]:
    rows = db.execute("SELECT zoom_level, tile_column, tile_row, tile_data FROM tiles")
    return {(z, x, row): bytes(data) for z, x, row, data in rows}


def tms(tiles: set[Tile]) -> set[Tile]:
    return {(z, x, 2**z - 1 - y) for z, x, y in tiles}


Answer = tuple[int, dict[str, str], bytes]  # status, headers, body


class ScriptedSource:
    """A tile source on loopback whose answers a test decides, in front of tests/tile_source.py's
    tiles: `answer(tile)` may give (status, headers, body) instead of the tile (None: the tile);
    `missing` tiles are 404. `hold(which)` makes requests for those tiles wait until `release(n)`
    lets n of them go or `open()` all; `asked` logs every request, `held` counts those waiting."""

    def __init__(self, missing: set[Tile] | None = None) -> None:
        self.asked: list[Tile] = []
        self.answered: list[tuple[Tile, int]] = []
        self.answer: Callable[[Tile], Answer | None] = lambda tile: None
        self.missing = missing or set()
        self.held = 0
        self._holding: Callable[[Tile], bool] = lambda tile: False
        self._tickets = threading.Semaphore(0)
        self._lock = threading.Lock()
        self._tiles: dict[Tile, bytes] = {}
        outer = self

        class Handler(http.server.BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"
            disable_nagle_algorithm = True

            def do_GET(self) -> None:  # noqa: N802 - http.server's naming
                m = TILE_PATH.match(self.path)
                tile = (int(m[1]), int(m[2]), int(m[3])) if m else (0, 0, 0)
                status, headers, body = outer._handle(tile)
                self.send_response(status)
                for name, value in {**headers, "Content-Length": str(len(body))}.items():
                    self.send_header(name, value)
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, *args: Any) -> None:
                pass

        self.port = free_port()
        self.server = http.server.ThreadingHTTPServer(("127.0.0.1", self.port), Handler)
        self.server.daemon_threads = True
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    @property
    def template(self) -> str:
        return f"http://127.0.0.1:{self.port}/{{z}}/{{x}}/{{y}}.png"

    def tile(self, z: int, x: int, y: int) -> bytes:
        with self._lock:
            if (z, x, y) not in self._tiles:
                self._tiles[(z, x, y)] = tile_png(z, x, y)
            return self._tiles[(z, x, y)]

    def hold(self, which: Callable[[Tile], bool]) -> None:
        self._holding = which

    def release(self, n: int) -> None:
        self._tickets.release(n)

    def open(self) -> None:
        self._holding = lambda tile: False
        self._tickets.release(1000)

    def close(self) -> None:
        self.open()
        self.server.shutdown()
        self.server.server_close()

    def _handle(self, tile: Tile) -> Answer:
        with self._lock:
            self.asked.append(tile)
            wait = self._holding(tile)
            self.held += wait
        if wait:
            self._tickets.acquire()
            with self._lock:
                self.held -= 1
        answer = self.answer(tile)
        if answer is None:
            answer = (404, {}, b"") if tile in self.missing else (200, {}, self.tile(*tile))
        with self._lock:
            self.answered.append((tile, answer[0]))
        return answer


def eventually(condition: Callable[[], bool], what: str, limit_s: float = 30) -> None:
    """Wait until `condition()` holds (a server works in the background)."""
    deadline = time.monotonic() + limit_s
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError(f"{what}: not after {limit_s} s")
        time.sleep(0.02)


def log_lines(server: ServerProcess, text: str) -> list[str]:
    return [line for line in server.log.read_text().splitlines() if text in line]


def small_area(i: int) -> dict[str, float]:
    """The i-th of many distinct areas of about 50 m × 30 m north of Örebro."""
    south = round(59.30 + i * 0.001, 4)
    return {"south": south, "west": 15.30, "north": round(south + 0.0005, 4), "east": 15.3005}


def threads(server: ServerProcess) -> int:
    assert server.proc is not None
    return len(os.listdir(f"/proc/{server.proc.pid}/task"))

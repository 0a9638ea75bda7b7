"""A map tile source on loopback: what WALKAUDIT_TILE_URL points at in tests and benchmarks.

Each tile is a real PNG whose colour says its zoom level (ZOOM_COLOURS), so a screenshot can tell
a tile from the map's blank ground by its pixels; the request log shows who fetched what. An
optional per-request latency stands in for a tile server across the internet, and `extra_bytes`
of noise makes tiles about as large as real map tiles (15–40 KB) when a size matters.
"""

from __future__ import annotations

import http.server
import io
import random
import re
import threading
import time
from typing import Any

from PIL import Image, ImageDraw

from tests.support import free_port

# Saturated colours no map ground, pin or route of the app uses (checked on screenshots).
ZOOM_COLOURS: dict[int, tuple[int, int, int]] = {
    12: (0, 150, 136),
    13: (121, 85, 72),
    14: (156, 39, 176),
    15: (255, 152, 0),
    16: (0, 200, 83),
    17: (233, 30, 99),
    18: (63, 81, 181),
}
OTHER_ZOOM = (120, 120, 120)
TILE_PATH = re.compile(r"^/(\d+)/(\d+)/(\d+)\.png$")


def tile_png(z: int, x: int, y: int, extra_bytes: int = 0) -> bytes:
    """The tile for z/x/y: its zoom's colour, a grid line on two edges, and optional noise."""
    colour = ZOOM_COLOURS.get(z, OTHER_ZOOM)
    img = Image.new("RGB", (256, 256), colour)
    draw = ImageDraw.Draw(img)
    draw.line([(0, 0), (255, 0)], fill=(255, 255, 255), width=2)
    draw.line([(0, 0), (0, 255)], fill=(255, 255, 255), width=2)
    if extra_bytes:
        # Noise in a corner costs PNG bytes roughly one for one (it does not compress).
        rng = random.Random(hash((z, x, y)))
        side = min(255, int(extra_bytes**0.5 / 1.7) + 1)
        noise = Image.frombytes("RGB", (side, side), rng.randbytes(side * side * 3))
        img.paste(noise, (256 - side, 256 - side))
    buf = io.BytesIO()
    img.save(buf, "PNG")
    return buf.getvalue()


class TileSource:
    """Serves /{z}/{x}/{y}.png on 127.0.0.1; `requests` logs every (z, x, y) asked for."""

    def __init__(self, latency_s: float = 0.0, extra_bytes: int = 0,
                 missing: set[tuple[int, int, int]] | None = None) -> None:  # fmt: skip
        self.requests: list[tuple[int, int, int]] = []
        self.user_agents: list[str] = []
        self.latency_s = latency_s
        self.missing = missing or set()
        self._lock = threading.Lock()
        self._cache: dict[tuple[int, int, int], bytes] = {}
        source = self

        class Handler(http.server.BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"
            # Without it each keep-alive answer waits ~40 ms for the client's delayed ACK: the
            # latency a test asks for would not be the latency it gets.
            disable_nagle_algorithm = True

            def do_GET(self) -> None:  # noqa: N802 - http.server's naming
                m = TILE_PATH.match(self.path.split("?")[0])
                key = (int(m[1]), int(m[2]), int(m[3])) if m else None
                with source._lock:
                    if key is not None:
                        source.requests.append(key)
                    source.user_agents.append(self.headers.get("User-Agent", ""))
                if source.latency_s:
                    time.sleep(source.latency_s)
                if key is None or key in source.missing:
                    self.send_response(404)
                    self.send_header("Content-Length", "0")
                    self.end_headers()
                    return
                body = source.tile(*key, extra_bytes=extra_bytes)
                self.send_response(200)
                self.send_header("Content-Type", "image/png")
                self.send_header("Access-Control-Allow-Origin", "*")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, *args: Any) -> None:
                pass

        self.port = free_port()
        self.server = http.server.ThreadingHTTPServer(("127.0.0.1", self.port), Handler)
        self.server.daemon_threads = True
        self._thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self._thread.start()

    def tile(self, z: int, x: int, y: int, extra_bytes: int = 0) -> bytes:
        key = (z, x, y)
        with self._lock:
            cached = self._cache.get(key)
        if cached is None:
            cached = tile_png(z, x, y, extra_bytes)
            with self._lock:
                self._cache[key] = cached
        return cached

    @property
    def template(self) -> str:
        return f"http://127.0.0.1:{self.port}/{{z}}/{{x}}/{{y}}.png"

    def close(self) -> None:
        """Stop serving: from now on a request to the port is refused."""
        self.server.shutdown()
        self.server.server_close()

    def __enter__(self) -> TileSource:
        return self

    def __exit__(self, *exc: Any) -> None:
        self.close()

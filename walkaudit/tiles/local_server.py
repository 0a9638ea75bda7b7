"""The map's tile server on loopback: the installed packages' tiles over HTTP, for flet_map.

flet_map's TileLayer fetches tiles over HTTP only, so this serves the packages on 127.0.0.1 from
the app's own process (Flutter's image loading reaches loopback on Android and iOS; in web mode
the browser does, hence the CORS header). Tiles no package holds answer 404, and the map falls
back to the online template.
"""

from __future__ import annotations

import http.server
import logging
import re
import socket
import sqlite3
import threading
from typing import Any

from walkaudit.tiles.packages import TilePackages

log = logging.getLogger("walkaudit.tiles")

TILE_PATH = re.compile(r"^/tiles/(\d{1,2})/(\d{1,7})/(\d{1,7})\.png$")


class LocalTileServer:
    """GET /tiles/{z}/{x}/{y}.png from the packages on 127.0.0.1, in a daemon thread.

    Only loopback: no other device on the network reaches the walker's maps. Every answer is
    `no-store`: the port is new at each start, and flutter_map's disk cache (keyed by URL) would
    keep a second copy of the package's tiles after every restart.

    `served` and `missing` count the answers (200 and 404), for the tests and the benchmark.
    """

    def __init__(self, packages: TilePackages) -> None:
        self.packages = packages
        self.served = 0
        self.missing = 0
        self._count_lock = threading.Lock()
        self.server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), self._handler())
        self.server.daemon_threads = True
        self.port = int(self.server.server_address[1])
        self._thread = threading.Thread(
            target=self.server.serve_forever, name="walkaudit-tiles", daemon=True
        )
        self._thread.start()

    @property
    def template(self) -> str:
        """The XYZ template the map's TileLayer uses."""
        return f"http://127.0.0.1:{self.port}/tiles/{{z}}/{{x}}/{{y}}.png"

    def accepts(self, timeout_s: float = 1.0) -> bool:
        """Whether the server still takes connections (iOS may close a suspended app's socket)."""
        try:
            with socket.create_connection(("127.0.0.1", self.port), timeout=timeout_s):
                return True
        except OSError:
            return False

    def close(self) -> None:
        if self._thread.is_alive():  # its loop may have ended already (its socket was taken)
            self.server.shutdown()
        self.server.server_close()

    def _count(self, found: bool) -> None:
        with self._count_lock:
            if found:
                self.served += 1
            else:
                self.missing += 1

    def _handler(self) -> type[http.server.BaseHTTPRequestHandler]:
        owner = self

        class Handler(http.server.BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"  # keep-alive: a screenful of tiles on few connections
            # Headers and body go out in two writes; with Nagle on, the second waits for the
            # client's delayed ACK: 40 ms per tile on a kept-alive connection.
            disable_nagle_algorithm = True

            def do_GET(self) -> None:  # noqa: N802 - http.server's naming
                m = TILE_PATH.match(self.path.split("?", 1)[0])
                data = None
                if m:
                    try:
                        data = owner.packages.tile(int(m[1]), int(m[2]), int(m[3]))
                    except sqlite3.Error:  # a package deleted meanwhile: as if absent
                        log.warning("tile %s failed", self.path, exc_info=True)
                owner._count(data is not None)
                self.send_response(200 if data is not None else 404)
                # The web client loads tiles from the browser, on another port: a CORS request.
                self.send_header("Access-Control-Allow-Origin", "*")
                if data is None:
                    self.send_header("Content-Length", "0")
                    self.send_header("Cache-Control", "no-store")
                    self.end_headers()
                    return
                self.send_header("Content-Type", _content_type(data))
                self.send_header("Content-Length", str(len(data)))
                self.send_header("Cache-Control", "no-store")  # the phone has it already
                self.end_headers()
                self.wfile.write(data)

            def log_message(self, *args: Any) -> None:
                pass

        return Handler


def _content_type(data: bytes) -> str:
    if data.startswith(b"\x89PNG"):
        return "image/png"
    if data.startswith(b"\xff\xd8"):
        return "image/jpeg"
    if data[8:12] == b"WEBP":
        return "image/webp"
    return "application/octet-stream"

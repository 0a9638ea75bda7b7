"""Real processes for integration tests: the sync server under uvicorn, the CLIs, a TCP proxy.

Nothing here is a fake: the server is `walkaudit-server serve` in its own process on loopback, the
field side is the installed `walkaudit` command, and the proxy forwards real bytes (and cuts them
when told to, like a train entering a tunnel).
"""

from __future__ import annotations

import contextlib
import json
import os
import signal
import socket
import struct
import subprocess
import sys
import threading
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Self

import httpx

BIN = Path(sys.executable).parent


def owner_square(owner: str = "Fastighet AB", email: str = "drift@fastighet.example.se",
                 **properties: str) -> dict[str, Any]:  # fmt: skip
    """A GeoJSON FeatureCollection for `owners import`: one owner holding a rectangle around the
    test walks' findings (Vivalla, Örebro, about 59.2743 N 15.2066 E)."""
    ring = [[15.2046, 59.2733], [15.2086, 59.2733], [15.2086, 59.2753], [15.2046, 59.2753],
            [15.2046, 59.2733]]  # fmt: skip
    return {
        "type": "FeatureCollection",
        "features": [{
            "type": "Feature",
            "properties": {"owner": owner, "email": email, **properties},
            "geometry": {"type": "Polygon", "coordinates": [ring]},
        }],
    }  # fmt: skip


def free_port() -> int:
    """A TCP port nobody listens on right now."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@dataclass
class Result:
    code: int
    out: str
    err: str


def run(
    cmd: str,
    *args: str | Path,
    timeout: float = 120,
    env: dict[str, str] | None = None,
    input: str | None = None,
) -> Result:
    """Run an installed console script (walkaudit or walkaudit-server) to completion."""
    proc = subprocess.run(
        [str(BIN / cmd), *map(str, args)],
        capture_output=True,
        text=True,
        timeout=timeout,
        env={**os.environ, **(env or {})},
        input=input,
    )
    return Result(proc.returncode, proc.stdout, proc.stderr)


def field(data: Path, *args: str | Path, timeout: float = 180) -> str:
    """Run the `walkaudit` field CLI on a data directory; its output, stripped (exit 0 asserted)."""
    r = run("walkaudit", "--data", data, *args, timeout=timeout)
    assert r.code == 0, r.err
    return r.out.strip()


class ChildProcess:
    """A command of ours in its own process on a loopback port: started, awaited, stopped."""

    name = "process"
    startup_s = 30.0

    def __init__(self, data: Path, port: int | None = None, env: dict[str, str] | None = None):
        self.data = data
        self.port = port or free_port()
        self.env = env or {}
        self.proc: subprocess.Popen[bytes] | None = None
        self.log = data.parent / f"{self.name}-{self.port}.log"

    def command(self) -> list[str]:
        raise NotImplementedError

    def ready(self) -> bool:
        """True once the process answers on its port."""
        try:
            socket.create_connection(("127.0.0.1", self.port), 0.2).close()
        except OSError:
            return False
        return True

    def start(self) -> Self:
        self.data.mkdir(parents=True, exist_ok=True)
        log = open(self.log, "ab")  # noqa: SIM115 - the child keeps it open
        self.proc = subprocess.Popen(
            self.command(), stdout=log, stderr=log, env={**os.environ, **self.env}
        )
        deadline = time.monotonic() + self.startup_s
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(f"{self.name} exited: {self.log.read_text()[-2000:]}")
            if self.ready():
                return self
            time.sleep(0.1)
        raise RuntimeError(f"{self.name} did not start in {self.startup_s:.0f} s")

    def kill(self) -> None:
        """SIGKILL: no shutdown handlers, no flushing — a power cut for the process."""
        if self.proc and self.proc.poll() is None:
            os.kill(self.proc.pid, signal.SIGKILL)
            self.proc.wait()

    def stop(self) -> None:
        if self.proc and self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(10)
            except subprocess.TimeoutExpired:
                self.kill()


class ServerProcess(ChildProcess):
    """`walkaudit-server --data DIR serve` on loopback; can be SIGKILLed and started again."""

    name = "server"

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def command(self) -> list[str]:
        return [str(BIN / "walkaudit-server"), "--data", str(self.data), "serve",
                "--host", "127.0.0.1", "--port", str(self.port)]  # fmt: skip

    def ready(self) -> bool:
        try:
            return httpx.get(self.url + "/healthz", timeout=1).status_code == 200
        except httpx.TransportError:
            return False

    def cli(self, *args: str) -> Result:
        """`walkaudit-server --data DIR ARGS…`."""
        return run("walkaudit-server", "--data", self.data, *args)

    def enrol_code(self, name: str = "test walker") -> str:
        r = self.cli("enrol-code", "--name", name)
        assert r.code == 0, r.err
        return r.out.strip()

    def findings(self) -> list[dict[str, Any]]:
        r = self.cli("findings", "--json")
        assert r.code == 0, r.err
        return list(json.loads(r.out))


class TcpProxy:
    """Forwards 127.0.0.1:port → upstream; counts bytes; can cut connections mid-stream.

    `cut_after(n)` makes the proxy abort every connection once n more client→server bytes have
    passed, `cuts` times. Aborts use SO_LINGER 0 so the peer sees a reset, as with a lost signal.
    """

    def __init__(self, upstream_port: int) -> None:
        self.upstream_port = upstream_port
        self.port = free_port()
        self.bytes_up = 0
        self._budget: int | None = None
        self._every = 0
        self.cuts_left = 0
        self.cuts_done = 0
        self._lock = threading.Lock()
        self._sock = socket.create_server(("127.0.0.1", self.port))
        self._stopped = False
        threading.Thread(target=self._accept, daemon=True).start()

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def cut_after(self, nbytes: int, cuts: int = 1) -> None:
        with self._lock:
            self._budget, self._every, self.cuts_left = nbytes, nbytes, cuts

    def close(self) -> None:
        self._stopped = True
        self._sock.close()

    def _accept(self) -> None:
        while not self._stopped:
            try:
                client, _ = self._sock.accept()
            except OSError:
                return
            try:
                upstream = socket.create_connection(("127.0.0.1", self.upstream_port))
            except OSError:
                _abort(client)
                continue
            threading.Thread(target=self._pump, args=(client, upstream, True), daemon=True).start()
            threading.Thread(target=self._pump, args=(upstream, client, False), daemon=True).start()

    def _pump(self, src: socket.socket, dst: socket.socket, upward: bool) -> None:
        try:
            while True:
                data = src.recv(65536)
                if not data:
                    break
                if upward:
                    data, cut = self._account(data)
                    if data:
                        dst.sendall(data)
                    if cut:
                        time.sleep(0.05)  # let the server read what did arrive
                        _abort(src)
                        _abort(dst)
                        return
                else:
                    dst.sendall(data)
        except OSError:
            pass
        finally:
            for s in (src, dst):
                with contextlib.suppress(OSError):
                    s.shutdown(socket.SHUT_WR if s is dst else socket.SHUT_RD)

    def _account(self, data: bytes) -> tuple[bytes, bool]:
        with self._lock:
            if self._budget is None or self.cuts_left <= 0:
                self.bytes_up += len(data)
                return data, False
            if len(data) < self._budget:
                self._budget -= len(data)
                self.bytes_up += len(data)
                return data, False
            head = data[: self._budget]
            self.bytes_up += len(head)
            self.cuts_left -= 1
            self.cuts_done += 1
            self._budget = self._every
            return head, True


def _abort(s: socket.socket) -> None:
    with contextlib.suppress(OSError):
        s.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
    # shutdown wakes the other pump thread blocked in recv() on this socket; a bare close()
    # would not tear the connection down while that thread still holds it.
    with contextlib.suppress(OSError):
        s.shutdown(socket.SHUT_RDWR)
    with contextlib.suppress(OSError):
        s.close()

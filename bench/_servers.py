"""Helpers for bench_sync.py: real servers, enrolled devices, and /proc readings of a process."""

from __future__ import annotations

import hashlib
import math
import os
import sqlite3
import sys
import threading
from concurrent.futures import ThreadPoolExecutor
from contextlib import closing
from pathlib import Path

import httpx

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))  # tests.support and tests.conftest are not installed

from tests.conftest import make_finding, make_photo  # noqa: E402
from tests.support import ServerProcess, TcpProxy  # noqa: E402
from walkaudit.store import Store  # noqa: E402
from walkaudit.sync import enrol  # noqa: E402

__all__ = ["ROOT", "ServerProcess", "TcpProxy", "make_finding", "make_photo"]


def p95(values: list[float]) -> float:
    """The 95th percentile (nearest rank)."""
    ordered = sorted(values)
    return ordered[max(0, math.ceil(0.95 * len(ordered)) - 1)]


def proc_status(pid: int, key: str) -> int:
    """VmRSS / VmHWM of a process, in bytes."""
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith(key + ":"):
            return int(line.split()[1]) * 1024
    raise KeyError(key)


def proc_cpu(pid: int) -> float:
    """User + system CPU seconds of a process (all its threads)."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


class RssSampler(threading.Thread):
    """Reads a process's VmRSS every `every` seconds until stopped."""

    def __init__(self, pid: int, every: float = 0.01) -> None:
        super().__init__(daemon=True)
        self.pid, self.every = pid, every
        self.samples: list[int] = []
        self._done = threading.Event()

    def run(self) -> None:
        while not self._done.is_set():
            self.samples.append(proc_status(self.pid, "VmRSS"))
            self._done.wait(self.every)

    def stop(self) -> list[int]:
        self._done.set()
        self.join()
        return self.samples


def pid_of(server: ServerProcess) -> int:
    """The server's process id (`walkaudit-server serve` runs uvicorn in that same process)."""
    assert server.proc is not None
    return server.proc.pid


def enrol_tokens(server: ServerProcess, n: int) -> list[str]:
    """n device tokens: codes from `walkaudit-server enrol-code`, traded at POST /v1/enrol."""
    with ThreadPoolExecutor(4) as pool:
        codes = list(pool.map(lambda i: server.enrol_code(f"bench {i}"), range(n)))
    with httpx.Client(base_url=server.url) as http:
        answers = [http.post("/v1/enrol", json={"code": c, "device_name": ""}) for c in codes]
    assert all(r.status_code == 201 for r in answers), [r.text for r in answers]
    return [r.json()["token"] for r in answers]


def enrolled_store(folder: Path, server: ServerProcess, url: str) -> Store:
    """A device store enrolled through `url` (a proxy): every later call of it goes there."""
    store = Store.open(folder, orphan_grace_s=0)
    with httpx.Client() as http:
        enrol(store, http, url, server.enrol_code(folder.name))
    return store


def _read_only(server: ServerProcess) -> sqlite3.Connection:
    return sqlite3.connect(f"file:{server.data / 'walkaudit.db'}?mode=ro", uri=True)


def count_findings(server: ServerProcess) -> int:
    """Findings in the server's SQLite file."""
    with closing(_read_only(server)) as conn:
        return int(conn.execute("SELECT count(*) FROM findings").fetchone()[0])


def stored_ok(server: ServerProcess, sha256: str) -> bool:
    """The server's blob exists, hashes to its name, and has its `photos` row."""
    blob = server.data / "photos" / "blobs" / sha256[:2] / sha256[2:4] / sha256
    if not blob.is_file() or hashlib.sha256(blob.read_bytes()).hexdigest() != sha256:
        return False
    with closing(_read_only(server)) as conn:
        row = conn.execute("SELECT 1 FROM photos WHERE sha256 = ?", [sha256]).fetchone()
    return row is not None

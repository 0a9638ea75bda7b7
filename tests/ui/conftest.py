"""Fixtures of the app's tests that talk to a real server."""

from __future__ import annotations

import os
import signal
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.support import ServerProcess


@pytest.fixture
def server(tmp_path: Path) -> Iterator[ServerProcess]:
    """`walkaudit-server serve` on loopback, stopped after the test (also when left paused)."""
    served = ServerProcess(tmp_path / "server").start()
    try:
        yield served
    finally:
        if served.proc is not None and served.proc.poll() is None:
            os.kill(served.proc.pid, signal.SIGCONT)  # a SIGSTOPped process cannot stop
        served.stop()

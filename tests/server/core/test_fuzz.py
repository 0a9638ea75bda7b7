"""Schemathesis against the real server: no input makes it fail, and /openapi.json tells the truth.

Two bounded runs against `walkaudit-server serve` on loopback: one without credentials (what
anyone on the network can send) and one as an enrolled device. Every check schemathesis has runs,
except `positive_data_acceptance`: it expects every schema-valid request to be accepted, and the
server rightly refuses some of those by rules a JSON schema cannot state (a time must lie between
2000 and tomorrow; an open-findings query needs an area, a point or a follow-up).
"""

from __future__ import annotations

import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.support import BIN, ServerProcess

pytestmark = pytest.mark.slow

# About 25 examples per operation keeps each run under a minute on a 2-core machine.
MAX_EXAMPLES = "25"
CHECKS_SKIPPED = "positive_data_acceptance"


@pytest.fixture
def live(tmp_path: Path) -> Iterator[ServerProcess]:
    # One server per run: the first run's wrong codes and tokens must not throttle the second.
    root = tmp_path
    # The report loop is off: the run is about answers to requests, not mail.
    server = ServerProcess(root / "data", env={"WALKAUDIT_REPORT_INTERVAL_S": "0"}).start()
    yield server
    server.stop()


def _schemathesis(server: ServerProcess, tmp: Path, *headers: str) -> tuple[int, str]:
    args = [str(BIN / "st"), "--no-color", "run", f"{server.url}/openapi.json",
            "--checks", "all", "--exclude-checks", CHECKS_SKIPPED,
            "--max-examples", MAX_EXAMPLES, "--phases", "examples,coverage,fuzzing",
            "--workers", "1", "--seed", "20261203"]  # fmt: skip
    for header in headers:
        args += ["-H", header]
    proc = subprocess.run(
        args,
        capture_output=True,
        text=True,
        timeout=600,
        cwd=tmp,  # schemathesis writes its cassettes and caches next to where it runs
    )
    return proc.returncode, proc.stdout + proc.stderr


def _server_errors(server: ServerProcess) -> list[str]:
    return [line for line in server.log.read_text().splitlines() if "Traceback" in line]


def test_no_request_without_credentials_breaks_the_server(
    live: ServerProcess, tmp_path: Path
) -> None:
    code, out = _schemathesis(live, tmp_path)
    assert code == 0, out[-6000:]
    assert not _server_errors(live), live.log.read_text()[-6000:]


def test_no_request_from_an_enrolled_device_breaks_the_server(
    live: ServerProcess, tmp_path: Path
) -> None:
    import httpx

    code = live.enrol_code("fuzzer")
    r = httpx.post(f"{live.url}/v1/enrol", json={"code": code, "device_name": "fuzzer"})
    assert r.status_code == 201, r.text
    token = r.json()["token"]
    exit_code, out = _schemathesis(live, tmp_path, f"Authorization: Bearer {token}")
    assert exit_code == 0, out[-6000:]
    assert not _server_errors(live), live.log.read_text()[-6000:]

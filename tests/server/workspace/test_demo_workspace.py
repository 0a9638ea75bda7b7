"""`make demo` gives the coordinator web too: the printed account signs in and sees the walk."""

from __future__ import annotations

import re
import subprocess
import time
from pathlib import Path

import httpx
import pytest

from tests.support import BIN, free_port

pytestmark = [pytest.mark.slow, pytest.mark.timeout(120)]


def form_token(web: httpx.Client) -> str:
    """The sign-in form's own token (set with a cookie when the form is shown)."""
    found = re.search(r'name="csrf" value="([^"]+)"', web.get("/c/login").text)
    assert found
    return found.group(1)


def test_the_demo_prints_an_account_that_opens_the_workspace(tmp_path: Path) -> None:
    port = free_port()
    proc = subprocess.Popen(
        [
            str(BIN / "walkaudit-server"),
            "--data",
            str(tmp_path / "demo"),
            "demo",
            "--port",
            str(port),
        ],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        banner = ""
        assert proc.stderr is not None  # the banner goes to stderr, as every message of the CLI
        while "Coordinator web" not in banner:
            line = proc.stderr.readline()
            assert line, f"the demo ended early: {banner}"
            banner += line
        found = re.search(r"Coordinator web:\s+(\S+)\s+\(user `demo`, password `([^`]+)`", banner)
        assert found, banner
        url, password = found.groups()
        base = url.removesuffix("/c/")
        deadline = time.monotonic() + 60
        while True:
            try:
                if httpx.get(base + "/healthz", timeout=1).status_code == 200:
                    break
            except httpx.TransportError:
                pass
            assert time.monotonic() < deadline, "the demo server did not start"
            time.sleep(0.2)
        with httpx.Client(base_url=base) as web:
            page = web.post(
                "/c/login",
                data={
                    "name": "demo",
                    "password": password,
                    "csrf": re.search(r'name="csrf" value="([^"]+)"', web.get("/c/login").text)[1],
                },
                follow_redirects=True,
            )
            assert page.status_code == 200 and "fynd" in page.text
            assert re.search(r'id="count">(\d+) fynd<', page.text).group(1) != "0"  # type: ignore[union-attr]
            assert "Användare" in page.text  # the demo account is an admin
    finally:
        proc.terminate()
        proc.wait(10)

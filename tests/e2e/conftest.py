"""What the browser tests of server-rendered pages share: Debian's chromium, the field CLI, shots.

(The Flet field app's tests draw on a canvas and need other flags: tests/e2e/browser.py.)
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from playwright.sync_api import sync_playwright

from tests.e2e.browser import TileServer, launch
from tests.support import field

__all__ = ["field"]  # the field CLI, for the browser tests (tests.support.field)

ARTIFACTS = Path(__file__).resolve().parent.parent / "_artifacts"
PHONE = {"width": 412, "height": 915}
# Without the background-networking flags chromium keeps calling home, refused offline.
ARGS = ["--no-sandbox", "--disable-background-networking", "--disable-component-update",
        "--headless=new", "--disable-quic", "--no-first-run", "--disable-sync"]  # fmt: skip


@pytest.fixture
def browser() -> Iterator[Any]:
    """Debian's chromium, headless (Playwright's own browser cannot be downloaded here)."""
    with sync_playwright() as p:
        b = p.chromium.launch(executable_path="/usr/bin/chromium", headless=True, args=ARGS)
        yield b
        b.close()


@pytest.fixture(scope="module")
def tiles() -> Iterator[TileServer]:
    """Map tiles from loopback (a plain grid): the Flet app's map without internet."""
    t = TileServer()
    yield t
    t.close()


@pytest.fixture
def flet_browser() -> Iterator[Any]:
    """Debian's chromium for the Flet web client: software WebGL and a fake camera."""
    with sync_playwright() as p:
        b = launch(p)
        yield b
        b.close()


def shot(page: Any, folder: str, name: str, full_page: bool = True) -> Path:
    """Save what a person sees: tests/_artifacts/FOLDER/NAME.png."""
    path = ARTIFACTS / folder / f"{name}.png"
    path.parent.mkdir(parents=True, exist_ok=True)
    page.wait_for_timeout(300)
    page.screenshot(path=str(path), full_page=full_page)
    return path

"""The real Flet web client in Debian's chromium (headless, software WebGL), driven by Playwright.

Flutter draws on a canvas; what a test can reach is its semantics tree. Every control the tests
use carries a semantics identifier (README: "Test automation"), reached as
`[flt-semantics-identifier=ID]`. The camera is chromium's fake device (a test pattern) and the
GPS is Playwright's geolocation: the two stand-ins for a phone's hardware.
"""

from __future__ import annotations

import http.server
import io
import shutil
import threading
import time
from pathlib import Path
from typing import Any

from PIL import Image, ImageDraw

from tests.support import BIN, ChildProcess, free_port

CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
FLAGS = [
    "--enable-unsafe-swiftshader", "--use-angle=swiftshader", "--no-sandbox",
    "--use-fake-device-for-media-stream", "--use-fake-ui-for-media-stream",
    "--disable-background-networking", "--disable-component-update", "--no-first-run",
    "--disable-sync", "--disable-quic",
]  # fmt: skip
PHONE = {"width": 412, "height": 915}
OREBRO = {"latitude": 59.2743, "longitude": 15.2066, "accuracy": 4}
ARTIFACTS = Path(__file__).resolve().parent.parent / "_artifacts" / "screens"


def _tile() -> bytes:
    """A plain map tile with a faint grid: the map is visible in screenshots without internet."""
    img = Image.new("RGB", (256, 256), "#E8EAE3")
    draw = ImageDraw.Draw(img)
    for x in range(0, 256, 64):
        draw.line([(x, 0), (x, 256)], fill="#D0D4CB")
        draw.line([(0, x), (256, x)], fill="#D0D4CB")
    draw.rectangle([0, 120, 256, 136], fill="#FFFFFF")  # a street
    buf = io.BytesIO()
    img.save(buf, "PNG")
    return buf.getvalue()


class TileServer:
    """Serves the same tile for every /z/x/y.png (the app's tile URL is configurable)."""

    def __init__(self) -> None:
        tile = _tile()

        class Handler(http.server.BaseHTTPRequestHandler):
            def do_GET(self) -> None:  # noqa: N802 - http.server's naming
                self.send_response(200)
                self.send_header("Content-Type", "image/png")
                self.send_header("Access-Control-Allow-Origin", "*")
                self.send_header("Content-Length", str(len(tile)))
                self.end_headers()
                self.wfile.write(tile)

            def log_message(self, *args: Any) -> None:
                pass

        self.port = free_port()
        self.server = http.server.ThreadingHTTPServer(("127.0.0.1", self.port), Handler)
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    @property
    def template(self) -> str:
        return f"http://127.0.0.1:{self.port}/{{z}}/{{x}}/{{y}}.png"

    def close(self) -> None:
        self.server.shutdown()


class AppProcess(ChildProcess):
    """`walkaudit --data DIR app --web` in its own process."""

    name = "app"
    startup_s = 60.0

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}/"

    def command(self) -> list[str]:
        return [str(BIN / "walkaudit"), "--data", str(self.data), "app", "--web",
                "--port", str(self.port)]  # fmt: skip


class FletPage:
    """A Playwright page on the Flet web client, addressed by semantics identifiers."""

    def __init__(self, page: Any, name: str, app_log: Path | None = None) -> None:
        self.page = page
        self.name = name
        # What a failed wait says besides the screen: the browser's console and the app's log
        # (a position that never came is explained there, not on the screen).
        self.app_log = app_log
        self.console: list[str] = []
        page.on("console", lambda m: self.console.append(f"{m.type}: {m.text}"))

    def open(self, url: str) -> FletPage:
        self.page.goto(url)
        self.page.wait_for_selector("flt-semantics-placeholder", state="attached", timeout=90_000)
        self.page.wait_for_timeout(1500)
        self.page.evaluate("document.querySelector('flt-semantics-placeholder').click()")
        self.page.wait_for_timeout(800)
        return self

    def node(self, identifier: str) -> Any:
        return self.page.locator(f"[flt-semantics-identifier={identifier}]").first

    def wait(self, identifier: str, timeout: float = 30_000) -> Any:
        node = self.node(identifier)
        node.wait_for(state="attached", timeout=timeout)
        return node

    def click(self, identifier: str, timeout: float = 30_000) -> None:
        self.wait(identifier, timeout).click()
        self.page.wait_for_timeout(400)

    def fill(self, identifier: str, text: str) -> None:
        """Focus a text field, select what it holds and type over it."""
        self.click(identifier)
        self.page.keyboard.press("Control+A")
        self.page.keyboard.type(text, delay=10)
        self.page.wait_for_timeout(300)

    def ids(self) -> list[str]:
        return list(self.page.locator("[flt-semantics-identifier]").evaluate_all(
            "els => els.map(e => e.getAttribute('flt-semantics-identifier'))"))  # fmt: skip

    def text(self) -> str:
        """All text the semantics tree exposes (labels, values)."""
        return str(self.page.evaluate(
            "() => Array.from(document.querySelectorAll('flt-semantics')).map("
            "e => (e.getAttribute('aria-label') || '') + ' ' + (e.textContent || '')).join('\\n')"
        ))  # fmt: skip

    def wait_text(self, needle: str, timeout_s: float = 30) -> None:
        deadline = time.monotonic() + timeout_s
        while time.monotonic() < deadline:
            if needle in self.text():
                return
            self.page.wait_for_timeout(250)
        raise AssertionError(f"{needle!r} not on screen: {self.text()[:800]}\n{self.evidence()}")

    def evidence(self) -> str:
        console = "\n".join(self.console[-30:])
        log = self.app_log.read_text(errors="replace")[-3000:] if self.app_log else ""
        return f"browser console:\n{console}\napp log:\n{log}"

    def screenshot(self, screen: str) -> Path:
        """Save what a person sees (tests/_artifacts/screens/NAME-SCREEN.png)."""
        ARTIFACTS.mkdir(parents=True, exist_ok=True)
        self.page.wait_for_timeout(600)
        path = ARTIFACTS / f"{self.name}-{screen}.png"
        self.page.screenshot(path=str(path))
        return path


def launch(playwright: Any) -> Any:
    """Debian's chromium, headless, with a fake camera."""
    return playwright.chromium.launch(executable_path=CHROMIUM, headless=True, args=FLAGS)


def phone_context(browser: Any, dark: bool = False) -> Any:
    return browser.new_context(viewport=PHONE, geolocation=OREBRO, is_mobile=False,
                               permissions=["geolocation", "camera"],
                               color_scheme="dark" if dark else "light")  # fmt: skip

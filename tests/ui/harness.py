"""Headless harness: the real app on a real flet Session and Page, with an in-memory client.

What the Flutter client would do is done here: events are dispatched to controls by id, text is
patched into fields, and service calls (camera, geolocator, file picker) are answered from a dict
of results — the only fakes, standing in for a phone's hardware. An exception inside a handler
makes flet send SESSION_CRASHED; the harness turns that into a test failure.
Uses flet internals: flet is pinned exactly (1.0.5) in pyproject.toml for that reason.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import flet as ft
import msgpack
from flet.controls.base_control import BaseControl
from flet.controls.context import _context_page, context
from flet.messaging.connection import Connection
from flet.messaging.protocol import (
    MessageAction,
    configure_encode_object_for_msgpack,
    decode_ext_from_msgpack,
)
from flet.messaging.session import Session
from flet.pubsub.pubsub_hub import PubSubHub

from walkaudit.ui.app import App, make_main

OREBRO_FIX = {"latitude": 59.2743, "longitude": 15.2066, "accuracy": 4.0, "speed": 0.0,
               "altitude": 30.0, "timestamp": 0, "altitude_accuracy": 1.0, "heading": 0.0,
               "heading_accuracy": 0.0, "speed_accuracy": 0.0, "floor": None,
               "mocked": True}  # fmt: skip
BACK_CAMERA = {"name": "back", "lens_direction": "back", "sensor_orientation": 90,
               "lens_type": "wide"}  # fmt: skip


def _wire(obj: Any) -> Any:
    """Round-trip through msgpack like the real transport (catches unserialisable props)."""
    packed = msgpack.packb(obj, default=configure_encode_object_for_msgpack(BaseControl))
    return msgpack.unpackb(packed, ext_hook=decode_ext_from_msgpack, strict_map_key=False)


def play(scenario: Callable[[], Awaitable[None]]) -> None:
    """Run one async test scenario (each test gets its own event loop, as each app start does)."""
    asyncio.run(scenario())


def explained(data: Path) -> Path:
    """A device past the first-run steps: told why the app wants its position, enrolment skipped."""
    from walkaudit.store import Store

    s = Store.open(data)
    s.set_meta(**{"ui.location_explained": "1", "ui.enrol_skipped": "1"})
    s.close()
    return data


class FakeClient(Connection):
    """Records outgoing messages; answers service method calls from `results`."""

    def __init__(self, results: dict[tuple[str, str], Any]) -> None:
        super().__init__()
        self.pubsubhub = PubSubHub()
        self.page_url = "http://127.0.0.1:8550"
        self.loop = asyncio.get_running_loop()
        self.executor = ThreadPoolExecutor()
        self.messages: list[tuple[MessageAction, Any]] = []
        self.results = results
        self.calls: list[tuple[str, str]] = []
        self.session: Session | None = None

    def send_message(self, message: Any) -> None:
        action, body = _wire([message.action, message.body])
        action = MessageAction(action)
        self.messages.append((action, body))
        if action == MessageAction.INVOKE_METHOD:
            assert self.session is not None
            ctrl = self.session.index.get(body["control_id"])
            key = (type(ctrl).__name__, body["name"])
            self.calls.append(key)
            if key not in self.results:
                res, err = None, f"no fake result for {key}"
            else:
                r = self.results[key]
                try:
                    res, err = (r(body.get("args")) if callable(r) else r), None
                except Exception as exc:  # a refused permission, a missing camera
                    res, err = None, str(exc)
            self.loop.call_soon(self.session.handle_invoke_method_results,
                                body["control_id"], body["call_id"], res, err)  # fmt: skip

    def crashes(self) -> list[Any]:
        return [b for a, b in self.messages if a == MessageAction.SESSION_CRASHED]


def default_results() -> dict[tuple[str, str], Any]:
    """A phone that grants location and has a back camera (tests override what they need)."""
    from tests.conftest import make_photo

    return {
        ("Geolocator", "request_permission"): "whileInUse",
        ("Geolocator", "get_current_position"): OREBRO_FIX,
        ("PermissionHandler", "request"): "granted",
        ("Camera", "get_available_cameras"): [BACK_CAMERA],
        ("Camera", "initialize"): None,
        ("Camera", "take_picture"): make_photo(42, size=(1600, 1200)).jpeg,
    }


class Harness:
    """The app in a session; find controls by their semantics identifier (the `key`)."""

    def __init__(self, conn: FakeClient, session: Session) -> None:
        self.conn, self.session, self.page = conn, session, session.page

    @classmethod
    async def start(cls, data_dir: Path, results: dict[tuple[str, str], Any] | None = None,
                    **page_props: Any) -> Harness:  # fmt: skip
        conn = FakeClient(default_results() | (results or {}))
        session = Session(conn)
        conn.session = session
        session.apply_page_patch({"platform": ft.PagePlatform.ANDROID, "width": 412,
                                  "height": 915, "route": "/", **page_props})  # fmt: skip
        _wire(session.get_page_patch())
        _context_page.set(session.page)
        context.reset_auto_update()
        await make_main(data_dir)(session.page)
        await session.after_event(session.page)
        h = cls(conn, session)
        h.raise_crash()
        return h

    @property
    def app(self) -> App:
        app: App = self.page.data
        return app

    def controls(self) -> list[BaseControl]:
        return list(self.session.index.values())

    def find(self, key: str) -> BaseControl:
        """The mounted control with this key (= semantics identifier)."""
        for c in self.controls():
            k = getattr(c, "key", None)
            if k is not None and (k == key or getattr(k, "value", None) == key):
                return c
        raise LookupError(f"{key} not on screen ({self.app.current})")

    def has(self, key: str) -> bool:
        try:
            self.find(key)
        except LookupError:
            return False
        return True

    def visible(self, key: str) -> bool:
        """True when the control and every control around it are visible (what a person sees)."""
        c: Any = self.find(key)
        while c is not None:
            if getattr(c, "visible", True) is False:
                return False
            c = getattr(c, "parent", None)
        return True

    def texts(self) -> list[str]:
        """Every visible text value on screen (what a person reads)."""
        out = []
        for c in self.controls():
            if isinstance(c, ft.Text) and c.visible and c.value:
                out.append(str(c.value))
        return out

    def text_of(self, key: str) -> str:
        c = self.find(key)
        return str(getattr(c, "value", None) or "")

    async def click(self, key: str) -> None:
        await self.session.dispatch_event(self.find(key)._i, "click", None)
        self.raise_crash()

    async def type(self, key: str, text: str) -> None:
        c = self.find(key)
        self.session.apply_patch(c._i, {"value": text})
        await self.session.dispatch_event(c._i, "change", text)
        self.raise_crash()

    async def until(self, condition: Callable[[], Any], timeout: float = 10.0) -> None:
        """Let background tasks run until the condition holds."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            self.raise_crash()
            if condition():
                return
            await asyncio.sleep(0.02)
        raise AssertionError(f"timed out on screen {self.app.current}: {self.texts()[:20]}")

    def raise_crash(self) -> None:
        if self.conn.crashes():
            raise AssertionError(self.conn.crashes()[-1]["message"])

    async def close(self) -> None:
        for task in asyncio.all_tasks():
            if task is not asyncio.current_task() and "loop" in repr(task.get_coro()):
                task.cancel()
        # A sync's worker thread may still be writing (the pull after "Allt är synkat" shows):
        # closing the store under it crashed SQLite in the phone-bundle walk.
        await self.app.syncer.stop()
        self.app.state.store.close()

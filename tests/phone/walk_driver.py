"""The core walk, run by the phone bundle's own Python (tests/phone/bundle.py), not by pytest.

Usage: python walk_driver.py SERVER_URL ENROL_CODE PHOTO.jpg... (at least five photos)

The app is started the way the phone starts it: main.pyc is imported and what it hands to
`flet.run` (the data directory chosen by its own rule, from FLET_APP_STORAGE_DATA) is run in the
headless harness, the stand-in for the Flutter client. Then, through the screens only, as a walker
would: enrol (server address and code), start a walk, three findings with photos from the camera,
end the walk, and wait until the sync bar says everything is synced. Every step waits for what a
walker waits for: a control by its key, or a sentence on screen.

Prints one JSON line on success (the walk's name, the photos taken, where the app's modules came
from); any failure raises, so the exit status is not 0 and stderr says where it stopped.
"""

from __future__ import annotations

import asyncio
import importlib
import importlib.machinery
import json
import os
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

WALK_NAME = "Kvällsvandring Vivalla"
# (category, photos): three findings, five photos in all.
FINDINGS = (("BEL", 2), ("VEG", 1), ("KLO", 2))
ALL_SYNCED = "Allt är synkat"
STEP_S = 30.0  # a step a walker would give up on
SYNC_S = 120.0  # the walk's end starts the sync; five photos to send on loopback


def home_is_unwritable() -> None:
    """The phone's home cannot be written: HOME is a regular file, so every write under it fails."""
    home = Path.home()
    assert home == Path(os.environ["HOME"]) and home.is_file(), f"HOME is not the file: {home}"
    for attempt in (
        lambda: (home / ".probe").write_text("x"),
        lambda: os.makedirs(home / ".cache" / "walkaudit"),
        lambda: (Path(os.path.expanduser("~")) / ".local").mkdir(),
    ):
        try:
            attempt()
        except NotADirectoryError:
            continue
        raise AssertionError("something could be written under HOME")


def captured_main() -> Callable[[Any], Any]:
    """Import main(.pyc) as the phone does; keep what it gives to flet.run instead of serving."""
    import flet

    handed: dict[str, Any] = {}
    real_run = flet.run
    flet.run = lambda main, **kwargs: handed.update(main=main, kwargs=kwargs)
    try:
        importlib.import_module("main")
    finally:
        flet.run = real_run
    assert "main" in handed, "main.py did not call flet.run"
    return handed["main"]


def camera(photos: list[Path]) -> Callable[[Any], bytes]:
    """The phone's camera: each take_picture gives the next real JPEG."""
    shots = iter(photos)

    def take_picture(args: Any) -> bytes:
        return next(shots).read_bytes()

    return take_picture


def sourceless() -> dict[str, Any]:
    """Where the app's modules came from: every one a .pyc in the bundle, none from a .py."""
    bundle = Path(sys.modules["main"].__file__ or "").parent
    mine = {n: m for n, m in sys.modules.items() if n == "main" or n.startswith("walkaudit")}
    wrong = [
        n
        for n, m in mine.items()
        if m.__spec__ is None
        or not isinstance(m.__spec__.loader, importlib.machinery.SourcelessFileLoader)
        or not str(m.__file__).endswith(".pyc")
        or not Path(str(m.__file__)).resolve().is_relative_to(bundle.resolve())
    ]
    assert not wrong, f"not loaded from the bundle's .pyc: {wrong}"
    return {"bundle": str(bundle), "modules": len(mine)}


async def wait_for(h: Any, what: str, check: Callable[[], bool], timeout: float = STEP_S) -> None:
    """Until the walker sees it (the app's crash, if any, is raised at once)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        h.raise_crash()
        if check():
            return
        await asyncio.sleep(0.02)
    raise AssertionError(f"waited {timeout:.0f} s for {what}; on screen: {h.texts()[:25]}")


async def wait_key(h: Any, key: str, timeout: float = STEP_S) -> None:
    await wait_for(h, f"'{key}'", lambda: h.has(key), timeout)


async def enrol(h: Any, server_url: str, code: str) -> None:
    await wait_key(h, "enrol-server")  # a fresh install asks to enrol first
    await h.type("enrol-server", server_url)
    await h.type("enrol-code", code)
    await h.click("enrol-submit")
    await wait_key(h, "walk-name")  # enrolled: the start screen


async def one_finding(h: Any, category: str, photos: int) -> None:
    await h.click("new-finding")
    await wait_key(h, "take-photo")
    await wait_for(h, "the position", lambda: any(t.startswith("Position ±") for t in h.texts()))
    for i in range(photos):
        await h.click("take-photo")
        await wait_key(h, f"photo-remove-{i}")  # its thumbnail
    await h.click(f"category-{category}")
    await h.click("save-finding")
    await wait_for(h, "the walk again", lambda: h.has("new-finding") and not h.has("save-finding"))


async def walk(main: Callable[[Any], Any], server_url: str, code: str, photos: list[Path]) -> None:
    import harness

    harness.make_main = lambda data_dir: main  # the Flutter client runs what main.py handed over
    results = {
        ("Geolocator", "request_permission"): "whileInUse",
        ("Geolocator", "get_current_position"): harness.OREBRO_FIX,
        ("PermissionHandler", "request"): "granted",
        ("Camera", "get_available_cameras"): [harness.BACK_CAMERA],
        ("Camera", "initialize"): None,
        ("Camera", "take_picture"): camera(photos),
    }
    harness.default_results = lambda: results  # not tests.conftest's: no pytest on a phone
    h = await harness.Harness.start(Path("unused: main.py chose the data directory"))
    await enrol(h, server_url, code)
    await h.type("walk-name", WALK_NAME)
    await h.click("walk-start")
    await wait_key(h, "perm-continue")  # why the app wants the position, once
    await h.click("perm-continue")
    await wait_key(h, "new-finding")
    for category, n in FINDINGS:
        await one_finding(h, category, n)
    await h.click("walk-end")
    await wait_key(h, "walk-end-confirm")
    await h.click("walk-end-confirm")
    await wait_key(h, "walk-summary")
    await wait_for(h, f"{ALL_SYNCED} and the sync over", lambda: synced(h), SYNC_S)
    await h.close()


def synced(h: Any) -> bool:
    """The badge says everything is synced and *Synka nu* can be tapped again (no sync running).

    The badge turns once everything is sent; the sync goes on a moment (it fetches what changed
    on the server), and the store must not be closed under it.
    """
    return h.text_of("pending-count") == ALL_SYNCED and not h.find("sync-now").disabled


def main() -> None:
    server_url, code, *paths = sys.argv[1:]
    photos = [Path(p) for p in paths]
    assert len(photos) >= sum(n for _, n in FINDINGS), "not enough photos for the walk"
    home_is_unwritable()
    started = time.monotonic()
    app_main = captured_main()
    asyncio.run(walk(app_main, server_url, code, photos))
    report = {"walk": WALK_NAME, "photos": [p.name for p in photos], **sourceless()}
    report["seconds"] = round(time.monotonic() - started, 2)
    print(json.dumps(report))


if __name__ == "__main__":
    main()

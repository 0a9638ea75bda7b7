"""Photos from the camera (flet-camera: phone and web) or, where there is no camera or the walker
refused it, from the file picker. Both give JPEG/HEIC bytes; the pipeline does the rest.

The camera's life, as flet-camera 1.0.5 has it: the Flutter side keeps the camera controller in
the Camera control's widget state. `initialize()` makes a new controller (disposing any old one);
taking the control off the screen disposes it, and a control put back afterwards has none, so
`take_picture()` fails until `initialize()` is called again. There is no dispose call from Python:
unmounting the control is how the camera is released. So:

- every screen that shows the camera gets a fresh Camera control, mounted in the screen's preview
  slot and initialised there (`attach`); leaving the screen forgets it (`leave`);
- the preview stays in its slot while photos are taken (they are shown elsewhere, as thumbnails);
- the app going to the background releases the camera (the control is taken off the screen) and
  coming back to the front starts it again (`lifecycle`);
- a camera that cannot start says so in the slot, with a *Försök igen* button; the picker is the
  fallback, and a failure is never remembered for the rest of the session.
"""

from __future__ import annotations

import asyncio
import io
import logging
from collections.abc import Callable
from enum import Enum
from typing import TYPE_CHECKING, Any

import flet as ft

from walkaudit.ui.widgets import MIN_TARGET, tagged

if TYPE_CHECKING:
    from walkaudit.ui.app import App

log = logging.getLogger("walkaudit.ui.photo")

PREVIEW_HEIGHT = 220
THUMB_EDGE = 160  # px of the thumbnails on the new-finding screen (sent to the client, not stored)


class CameraUnavailable(Exception):
    """No camera here, or permission refused: use the picker."""


class CameraState(Enum):
    OFF = "off"  # no screen shows the camera, or the app is in the background
    STARTING = "starting"
    READY = "ready"
    FAILED = "failed"


class PhotoSource:
    """The camera of the screen on display (at most one), and the file picker."""

    def __init__(self, app: App) -> None:
        self.app = app
        self.camera: Any = None
        self.state = CameraState.OFF
        self.reason = ""  # why the camera failed, for the walker
        self._slot: ft.Container | None = None
        self._on_change: Callable[[], None] | None = None
        self._generation = 0  # bumped whenever the camera in use changes; stale starts give up
        self._starting: asyncio.Task[bool] | None = None
        self._picker: ft.FilePicker | None = None
        self._description: Any = None
        self._paused = False
        self._tasks: set[asyncio.Task[Any]] = set()  # started cameras, kept until they finish

    # ---- what views ask ----------------------------------------------------------------------

    @property
    def ready(self) -> bool:
        return self.state is CameraState.READY

    @property
    def failed(self) -> bool:
        return self.state is CameraState.FAILED

    def attach(self, slot: ft.Container, on_change: Callable[[], None] | None = None) -> None:
        """Show the camera in this preview slot (the screen's) and start it in the background."""
        self.leave()
        self._slot, self._on_change = slot, on_change
        slot.height = PREVIEW_HEIGHT
        slot.alignment = ft.Alignment.CENTER
        if self._paused:
            self._show(CameraState.OFF)
            return
        self._starting = self._spawn()

    def leave(self) -> None:
        """The screen with the camera is gone (its control unmounted, its controller disposed)."""
        self._generation += 1
        self._slot, self._on_change = None, None
        self.camera = None
        self.state = CameraState.OFF
        self._starting = None

    async def retry(self) -> bool:
        """Start the camera again (the walker tapped *Försök igen*)."""
        if self._slot is None:
            return False
        if self.state is CameraState.STARTING and self._starting is not None:
            return await self._starting
        self._generation += 1
        self._starting = self._spawn()
        return await self._starting

    async def start_camera(self) -> bool:
        """True when the camera on display is ready to take a photo (waits for a start under way).

        A screen without a preview slot has no camera (flet-camera needs its control on screen):
        False, and the caller uses the picker.
        """
        # Also before the start task has run at all (state still OFF): a tap on *Ta foto* right
        # as the screen opens waits for the camera instead of being told it is missing.
        if self._starting is not None and not self._starting.done():
            try:
                return await asyncio.shield(self._starting)
            except Exception:
                return False
        return self.ready

    async def take(self) -> bytes:
        """A photo from the camera (JPEG bytes); one new start of the camera if it has lost it."""
        if not await self.start_camera():
            raise CameraUnavailable(self.reason or "camera not ready")
        generation = self._generation
        try:
            data: bytes = await self.camera.take_picture()
            return data
        except Exception as exc:
            log.warning("take_picture failed (%s); starting the camera again", exc)
        if generation != self._generation or not await self.retry():
            raise CameraUnavailable(self.reason or "camera lost")
        data = await self.camera.take_picture()
        return data

    async def lifecycle(self, state: ft.AppLifecycleState) -> None:
        """Release the camera when the app leaves the front, start it again when it is back."""
        if state in (ft.AppLifecycleState.PAUSE, ft.AppLifecycleState.HIDE):
            self._paused = True
            self.release()
        elif state in (ft.AppLifecycleState.RESUME, ft.AppLifecycleState.SHOW):
            was_paused, self._paused = self._paused, False
            if self._slot is not None and (was_paused or self.state is CameraState.OFF):
                await self.retry()

    def release(self) -> None:
        """Take the camera off the screen (Flutter disposes its controller: the light goes out)."""
        if self._slot is None:
            return
        self._generation += 1
        self._starting = None
        self.camera = None
        self._show(CameraState.OFF)

    async def pick(self) -> tuple[bytes, str] | None:
        """A photo chosen with the file picker (bytes, name), or None if cancelled."""
        picked = await self.pick_many(1)
        return picked[0] if picked else None

    async def pick_many(self, limit: int) -> list[tuple[bytes, str]]:
        """Up to `limit` photos chosen with the file picker (bytes, name); [] if cancelled."""
        if self._picker is None:
            self._picker = ft.FilePicker()
        files = await self._picker.pick_files(
            file_type=ft.FilePickerFileType.IMAGE, with_data=True, allow_multiple=limit > 1
        )
        out, refused = [], []
        for f in (files or [])[:limit]:
            data = f.bytes
            if data is None and f.path:
                data = await self.app.work(_read, f.path)
            if not data:
                continue
            # A phone's Pillow reads neither HEIC nor WebP: said now, while the walker is
            # choosing, not later by the inbox when they have walked on.
            unreadable = await self.app.work(_unsupported_format, data)
            if unreadable:
                refused.append((f.name, unreadable))
            else:
                out.append((data, f.name))
        if refused:
            name, fmt = refused[0]
            more = len(refused) - 1
            key = "photo.format_unsupported_more" if more else "photo.format_unsupported"
            self.app.snack(self.app.t(key, name=name, format=fmt, more=more), error=True)
        return out

    # ---- starting ----------------------------------------------------------------------------

    def _spawn(self) -> asyncio.Task[bool]:
        task = asyncio.get_running_loop().create_task(self._start(self._generation))
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)
        return task

    async def _start(self, generation: int) -> bool:
        import flet_camera as fc

        page = self.app.page
        if not (page.web or page.platform in (ft.PagePlatform.ANDROID, ft.PagePlatform.IOS)):
            # flet-camera has no desktop implementation (the control refuses to be sent).
            self._fail(generation, self.app.t("finding.camera_failed"))
            return False
        self._show(CameraState.STARTING)
        try:
            if page.platform in (ft.PagePlatform.ANDROID, ft.PagePlatform.IOS) and not page.web:
                await self._ask_permission()
            if generation != self._generation:
                return False
            camera = fc.Camera(preview_enabled=True, height=PREVIEW_HEIGHT)
            self.camera = camera
            self._show(CameraState.STARTING, camera)
            cams = await camera.get_available_cameras()
            if not cams:
                raise CameraUnavailable("no camera")
            back = next((c for c in cams if "back" in str(c.lens_direction).lower()), cams[0])
            await camera.initialize(back, fc.ResolutionPreset.HIGH, enable_audio=False)
            self._description = back
        except CameraUnavailable as exc:
            self._fail(generation, self._reason_for(exc))
            return False
        except Exception as exc:  # the plugin's errors are plain exceptions with a message
            log.warning("camera did not start: %s", exc)
            self._fail(generation, self.app.t("finding.camera_failed"))
            return False
        if generation != self._generation:  # left, released or restarted meanwhile
            return False
        self._show(CameraState.READY, camera)
        return True

    async def _ask_permission(self) -> None:
        import flet_permission_handler as fph

        status = await fph.PermissionHandler().request(fph.Permission.CAMERA)
        if status != fph.PermissionStatus.GRANTED:
            raise CameraUnavailable("denied")

    def _reason_for(self, exc: CameraUnavailable) -> str:
        if str(exc) == "denied":
            return self.app.t("finding.camera_denied")
        return self.app.t("finding.camera_failed")

    def _fail(self, generation: int, reason: str) -> None:
        if generation != self._generation:
            return
        self.camera = None
        self.reason = reason
        self._show(CameraState.FAILED)

    # ---- the preview slot --------------------------------------------------------------------

    def _show(self, state: CameraState, camera: Any = None) -> None:
        """Put what the walker should see for this state into the slot, and tell the screen."""
        self.state = state
        slot = self._slot
        if slot is None:
            return
        t = self.app.t
        if camera is not None:
            # The camera control stays mounted, in the same place, from its start on: Flutter
            # needs it on screen to receive initialize(), and moving it would dispose its
            # controller. Only the "starting" layer over it changes.
            if not isinstance(slot.content, ft.Stack) or slot.content.controls[0] is not camera:
                layer = ft.Container(
                    _message(ft.Icons.PHOTO_CAMERA, t("finding.camera_starting")),
                    alignment=ft.Alignment.CENTER,
                )
                slot.content = ft.Stack([camera, layer], alignment=ft.Alignment.CENTER)
            slot.content.controls[1].visible = state is CameraState.STARTING
        elif state is CameraState.STARTING:
            slot.content = _message(ft.Icons.PHOTO_CAMERA, t("finding.camera_starting"))
        elif state is CameraState.FAILED:
            retry = tagged(
                "camera-retry",
                ft.OutlinedButton(
                    t("finding.camera_retry"),
                    icon=ft.Icons.REFRESH,
                    height=MIN_TARGET,
                    on_click=self._retry_clicked,
                ),
                t("finding.camera_retry"),
            )
            slot.content = _message(ft.Icons.NO_PHOTOGRAPHY, self.reason, retry)
        else:
            slot.content = _message(ft.Icons.PHOTO_CAMERA, t("finding.camera_paused"))
        if self._on_change is not None:
            self._on_change()
        self.app.page.update()

    async def _retry_clicked(self, e: Any) -> None:
        await self.retry()


def _message(icon: Any, text: str, *extra: ft.Control) -> ft.Control:
    return ft.Column(
        [ft.Icon(icon, size=36), ft.Text(text, text_align=ft.TextAlign.CENTER), *extra],
        horizontal_alignment=ft.CrossAxisAlignment.CENTER,
        alignment=ft.MainAxisAlignment.CENTER,
        tight=True,
        spacing=8,
    )


def thumbnail(data: bytes, edge: int = THUMB_EDGE) -> bytes | None:
    """A small JPEG of a photo for the screen (None if Pillow cannot read it, e.g. HEIC)."""
    from PIL import Image, ImageOps

    try:
        with Image.open(io.BytesIO(data)) as im:
            im.draft("RGB", (edge, edge))  # a JPEG is decoded at 1/2..1/8 scale: fast
            small = ImageOps.exif_transpose(im).convert("RGB")
            small.thumbnail((edge, edge))
            out = io.BytesIO()
            small.save(out, "JPEG", quality=75)
            return out.getvalue()
    except Exception:
        return None


def _read(path: str) -> bytes:
    with open(path, "rb") as fh:
        return fh.read()


def _unsupported_format(data: bytes) -> str | None:
    from walkaudit import media  # Pillow: not before the first photo

    return media.unsupported_format(data[:64])

"""Photos from the camera (flet-camera: phone and web) or, where there is no camera or the walker
refused it, from the file picker. Both give JPEG/HEIC bytes; the pipeline does the rest.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import flet as ft

if TYPE_CHECKING:
    from walkaudit.ui.app import App


class CameraUnavailable(Exception):
    """No camera here, or permission refused: use the picker."""


class PhotoSource:
    def __init__(self, app: App) -> None:
        self.app = app
        self.camera: Any = None
        self.ready = False
        self.failed = False
        self._picker: ft.FilePicker | None = None

    def preview(self, width: int = 380, height: int = 285) -> Any:
        """The camera preview control (created once, kept for the session)."""
        if self.camera is None:
            import flet_camera as fc

            self.camera = fc.Camera(preview_enabled=True, width=width, height=height)
        return self.camera

    async def start_camera(self) -> bool:
        """Start the back camera; False (use the picker) without a camera or permission."""
        if self.ready or self.failed:
            return self.ready
        try:
            import flet_camera as fc

            if self.app.page.platform in (ft.PagePlatform.ANDROID, ft.PagePlatform.IOS):
                await self._ask_permission()
            cams = await self.camera.get_available_cameras()
            if not cams:
                raise CameraUnavailable("no camera")
            back = next((c for c in cams if "back" in str(c.lens_direction).lower()), cams[0])
            await self.camera.initialize(back, fc.ResolutionPreset.HIGH, enable_audio=False)
            self.ready = True
        except Exception:
            self.failed = True
        return self.ready

    async def _ask_permission(self) -> None:
        import flet_permission_handler as fph

        status = await fph.PermissionHandler().request(fph.Permission.CAMERA)
        if status != fph.PermissionStatus.GRANTED:
            raise CameraUnavailable("camera permission refused")

    async def take(self) -> bytes:
        """A photo from the camera (JPEG bytes)."""
        if not self.ready:
            raise CameraUnavailable("camera not ready")
        data: bytes = await self.camera.take_picture()
        return data

    async def pick(self) -> tuple[bytes, str] | None:
        """A photo chosen with the file picker (bytes, name), or None if cancelled."""
        if self._picker is None:
            self._picker = ft.FilePicker()
        files = await self._picker.pick_files(file_type=ft.FilePickerFileType.IMAGE, with_data=True)
        if not files:
            return None
        f = files[0]
        data = f.bytes
        if data is None and f.path:
            data = await self.app.work(_read, f.path)
        return (data, f.name) if data else None


def _read(path: str) -> bytes:
    with open(path, "rb") as fh:
        return fh.read()

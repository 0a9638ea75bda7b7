"""Enrol: server address + one-time code → this device's token (or continue offline)."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import flet as ft

from walkaudit.ui.widgets import big_button, palette, tagged

if TYPE_CHECKING:
    from walkaudit.ui.app import App


def build(app: App) -> ft.View:
    t = app.t
    server = ft.TextField(
        label=t("enrol.server"),
        value=_server_url(app) or "https://",
        keyboard_type=ft.KeyboardType.URL,
        autofocus=True,
    )
    code = ft.TextField(label=t("enrol.code"), capitalization=ft.TextCapitalization.CHARACTERS)
    message = ft.Text(visible=False)
    busy = ft.ProgressRing(visible=False, width=24, height=24)

    async def submit(e: Any) -> None:
        url, key = (server.value or "").strip(), (code.value or "").strip()
        if not url.replace("https://", "").replace("http://", "") or not key:
            return show(t("enrol.need_both"), True)
        if not url.startswith(("http://", "https://")):
            return show(t("enrol.bad_url"), True)
        if busy.visible:  # a second tap while the first is on its way
            return None
        busy.visible = True
        show(t("enrol.working"), False)
        try:
            await app.ready.wait()  # the first screen of a first start: the store is opening
            await app.work(_enrol, app, url, key)
        except Exception as exc:
            busy.visible = False
            return show(t("enrol.failed", reason=str(exc)), True)
        busy.visible = False
        app.snack(t("enrol.done", server=url))
        app.go("start")
        app.syncer.wake()
        here = app.state.last_position
        if here is not None:  # online now: the map of where the walker is, for later walks
            from walkaudit.ui import offline_map

            app.page.run_task(offline_map.of(app).download_here, here[:2], False)
        return None

    def show(text: str, error: bool) -> None:
        message.value, message.visible = text, True
        message.color = palette(app.theme).error_text if error else None
        app.page.update()

    async def skip(e: Any) -> None:
        await app.ready.wait()
        store = app.state.store
        await app.work(lambda: store.set_meta(**{"ui.enrol_skipped": "1"}))
        app.go("start")

    return ft.View(
        horizontal_alignment=ft.CrossAxisAlignment.STRETCH,
        route="/enrol",
        padding=20,
        scroll=ft.ScrollMode.AUTO,
        controls=[
            ft.Text(t("app.title"), size=28, weight=ft.FontWeight.BOLD),
            ft.Text(t("enrol.title"), size=20),
            ft.Text(t("enrol.intro")),
            tagged("enrol-server", server, t("enrol.server")),
            tagged("enrol-code", code, t("enrol.code")),
            ft.Row([busy, message]),
            ft.Row([big_button("enrol-submit", t("enrol.submit"), ft.Icons.LINK, submit)]),
            ft.Row(
                [tagged("enrol-skip", ft.TextButton(t("enrol.skip"), on_click=skip, height=48))]
            ),
        ],
    )


def _server_url(app: App) -> str | None:
    """The address typed last time (a retry after a wrong code), known before the Store opens."""
    if app.ready.is_set():
        return app.state.store.get_meta("server_url")
    return app.first.server_url if app.first is not None else None


def _enrol(app: App, url: str, code: str) -> None:
    import httpx

    from walkaudit import sync

    with httpx.Client(timeout=20) as http:
        try:
            sync.enrol(app.state.store, http, url, code, device_name="walkaudit app")
        except sync.SyncError as exc:
            raise RuntimeError(str(exc)) from None

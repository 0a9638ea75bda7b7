"""Follow-up walk: the area's open findings from the server; the walker marks each one
"still there" or "fixed" (with a photo), which syncs as an event in the finding's history.
"""

from __future__ import annotations

import contextlib
from collections.abc import Awaitable, Callable
from typing import TYPE_CHECKING, Any

import flet as ft

from walkaudit import model, sync
from walkaudit.ui import mapview
from walkaudit.ui.views import common
from walkaudit.ui.views.findings import status_text
from walkaudit.ui.widgets import (
    MIN_TARGET,
    big_button,
    category_badge,
    status_chip,
    tagged,
)

if TYPE_CHECKING:
    from walkaudit.ui.app import App


def build(app: App, area: str = "") -> ft.View:
    state, t = app.state, app.t
    area = area or state.store.get_meta("ui.followup_area") or ""
    field = ft.TextField(label=t("followup.area"), value=area, expand=True)
    message = ft.Text(visible=False)

    async def load(e: Any) -> None:
        name = (field.value or "").strip()
        if not name:
            return
        state.store.set_meta(**{"ui.followup_area": name})
        try:
            await app.work(_fetch, app, name)
        except sync.SyncError:
            app.snack(t("followup.offline"), error=True)
        app.go("followup", area=name)

    def answer(finding_id: str, kind: model.EventKind) -> Callable[[Any], Awaitable[None]]:
        # A real coroutine function per button: a lambda returning mark(...) would never run it.
        async def handler(e: Any) -> None:
            await mark(finding_id, kind)

        return handler

    items = state.remote.in_area(area) if area else []
    tiles: list[Any] = []
    for item in items:
        f = item.finding
        tiles.append(
            ft.Card(
                ft.Container(
                    ft.Column(
                        [
                            ft.Row(
                                [
                                    category_badge(f.category, 28),
                                    ft.Text(
                                        state.t.category(f.category),
                                        weight=ft.FontWeight.BOLD,
                                        expand=True,
                                    ),
                                    status_chip(
                                        status_text(app, item.status.value), item.status.value
                                    ),
                                ]
                            ),
                            ft.Text(f.note or "–"),
                            ft.Row(
                                [
                                    tagged(
                                        f"still-there-{f.id}",
                                        ft.OutlinedButton(
                                            t("followup.still_there"),
                                            icon=ft.Icons.REPORT,
                                            height=MIN_TARGET,
                                            on_click=answer(f.id, model.EventKind.STILL_THERE),
                                        ),
                                    ),
                                    tagged(
                                        f"fixed-{f.id}",
                                        ft.FilledButton(
                                            t("followup.fixed"),
                                            icon=ft.Icons.CHECK,
                                            height=MIN_TARGET,
                                            on_click=answer(f.id, model.EventKind.VERIFIED),
                                        ),
                                    ),
                                ],
                                wrap=True,
                            ),
                        ]
                    ),
                    padding=12,
                )
            )
        )

    async def mark(finding_id: str, kind: model.EventKind) -> None:
        raw: list[bytes] = []
        try:
            if await app.photos.start_camera():
                raw = [await app.photos.take()]
            else:
                picked = await app.photos.pick()
                raw = [picked[0]] if picked else []
        except Exception:
            raw = []
        await app.work(_record, app, finding_id, kind, raw)
        label = (
            t("followup.still_there")
            if kind is model.EventKind.STILL_THERE
            else t("followup.fixed")
        )
        app.snack(t("followup.marked", what=label))
        app.syncer.wake()
        app.go("followup", area=area)

    pins = [
        mapview.Pin(
            i.finding.id,
            i.finding.latitude,
            i.finding.longitude,
            i.finding.category,
            i.status.value,
        )
        for i in items
    ]
    body: list[Any] = [
        ft.Row(
            [
                tagged("followup-area", field, t("followup.area")),
                tagged(
                    "followup-load",
                    ft.FilledButton(t("followup.load"), on_click=load, height=MIN_TARGET),
                ),
            ]
        )
    ]
    body.append(message)
    if area and not items:
        body.append(ft.Text(t("followup.none")))
    if items:
        body.append(
            ft.Container(
                mapview.build_map(
                    state.settings.tile_url, pins, height=240, me=state.last_position, zoom=15
                ),
                height=240,
            )
        )
        body += tiles
    body.append(
        ft.Row(
            [
                big_button(
                    "followup-home",
                    t("end.home"),
                    ft.Icons.HOME,
                    lambda e: app.go("start"),
                    primary=False,
                    height=56,
                )
            ]
        )
    )
    return ft.View(
        horizontal_alignment=ft.CrossAxisAlignment.STRETCH,
        route="/followup",
        appbar=common.app_bar(app, t("followup.title"), back_to="start"),
        scroll=ft.ScrollMode.AUTO,
        padding=12,
        controls=[common.sync_bar(app), *body],
    )


def _fetch(app: App, area: str) -> None:
    import httpx

    if not app.state.enrolled:
        raise sync.NotEnrolledError("not enrolled")
    with httpx.Client(timeout=20) as http:
        sync.SyncClient(app.state.store, http, retry=sync.RetryPolicy(attempts=2)).fetch_open(
            area=area
        )


def _record(app: App, finding_id: str, kind: model.EventKind, raw: list[bytes]) -> None:
    """A follow-up answer: an event (with the photo, processed now) queued for sync."""
    from walkaudit import media

    photos = []
    for data in raw:
        # The answer counts even when the photo cannot be used.
        with contextlib.suppress(media.PhotoError):
            photos.append(
                media.process_photo(data, name="foto", max_edge=app.state.settings.max_edge)
            )
    event = model.FindingEvent(
        id=model.new_id(), finding_id=finding_id, kind=kind, at=model.utcnow()
    )
    app.state.store.add_event(event, photos)
    status = (
        model.FindingStatus.VERIFIED
        if kind is model.EventKind.VERIFIED
        else (model.FindingStatus.REOPENED)
    )
    app.state.remote.mark(finding_id, status)

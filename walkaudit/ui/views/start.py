"""Start: the pending badge, walks (continue the active one), start a walk, follow-up, settings."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import flet as ft

from walkaudit import localtime
from walkaudit.ui.views import common, enrol
from walkaudit.ui.widgets import big_button, section_title, tagged

if TYPE_CHECKING:
    from walkaudit.ui.app import App


def build(app: App) -> ft.View:
    state, t = app.state, app.t
    if not state.enrolled and not state.store.get_meta("ui.enrol_skipped"):
        return enrol.build(app)
    active = state.store.active_walk()
    name = ft.TextField(label=t("walk.name"), capitalization=ft.TextCapitalization.SENTENCES)
    area = ft.TextField(label=t("walk.area"))

    async def start_walk(e: Any) -> None:
        if not (name.value or "").strip():
            name.error = t("walk.name_missing")
            app.page.update()
            return
        walk = await app.work(
            state.store.start_walk, name.value.strip(), (area.value or "").strip()
        )
        app.go("walk", walk_id=walk.id)  # the walk screen starts the route

    walks = ft.Column(spacing=4)
    for w in state.store.walks()[:30]:
        findings = len(state.store.findings(w.id))
        when = localtime.day_hm(w.started_at)  # not the process's zone: UTC in web mode
        subtitle = f"{when} · {findings} {t('walk.findings').lower()}"
        if w.area:
            subtitle = f"{w.area} · {subtitle}"
        walks.controls.append(
            ft.ListTile(
                title=ft.Text(w.name),
                subtitle=ft.Text(subtitle),
                leading=ft.Icon(ft.Icons.DIRECTIONS_WALK if w.ended_at is None else ft.Icons.FLAG),
                trailing=ft.Text(t("walk.active")) if w.ended_at is None else None,
                on_click=lambda e, wid=w.id: app.go("findings", walk_id=wid),
            )
        )
    if not walks.controls:
        walks.controls.append(ft.Text(t("start.no_walks")))

    top: list[Any] = []
    if active:
        top.append(
            ft.Row(
                [
                    big_button(
                        "walk-continue",
                        f"{t('walk.continue')}: {active.name}",
                        ft.Icons.PLAY_ARROW,
                        lambda e: app.go("walk", walk_id=active.id),
                    )
                ]
            )
        )
    else:
        top += [
            section_title(t("start.new_walk")),
            tagged("walk-name", name, t("walk.name")),
            tagged("walk-area", area, t("walk.area")),
            ft.Row([big_button("walk-start", t("walk.start"), ft.Icons.PLAY_ARROW, start_walk)]),
        ]
    settings = tagged(
        "open-settings",
        ft.IconButton(
            ft.Icons.SETTINGS, tooltip=t("common.settings"), on_click=lambda e: app.go("settings")
        ),
    )
    return ft.View(
        horizontal_alignment=ft.CrossAxisAlignment.STRETCH,
        route="/",
        appbar=common.app_bar(app, t("app.title"), actions=[settings]),
        scroll=ft.ScrollMode.AUTO,
        controls=[
            common.sync_bar(app),
            ft.Container(
                ft.Column(top, spacing=10, horizontal_alignment=ft.CrossAxisAlignment.STRETCH),
                padding=ft.Padding.symmetric(horizontal=12),
            ),
            ft.Container(
                ft.Row(
                    [
                        big_button(
                            "open-followup",
                            t("start.followup"),
                            ft.Icons.CHECKLIST,
                            lambda e: app.go("followup"),
                            primary=False,
                            height=56,
                        )
                    ]
                ),
                padding=ft.Padding.symmetric(horizontal=12),
            ),
            ft.Container(section_title(t("start.walks")), padding=ft.Padding.only(left=12, top=8)),
            walks,
        ],
    )

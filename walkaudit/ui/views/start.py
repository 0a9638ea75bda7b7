"""Start: the pending badge, walks (continue the active one), start a walk, follow-up, settings.

The first screen of a cold start: built from `walkaudit.glance` (the standard library only), so
it can show before the Store and the models are imported; see walkaudit/ui/app.py.
"""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING, Any

import flet as ft

from walkaudit import glance, localtime
from walkaudit.ui.views import common, enrol
from walkaudit.ui.widgets import big_button, section_title, tagged

if TYPE_CHECKING:
    from walkaudit.ui.app import App


log = logging.getLogger("walkaudit.ui")


def facts(app: App) -> glance.Glance:
    """What the screen shows: the first start's glance, then a fresh one each time."""
    if not app.ready.is_set():
        # A first start has no store yet: an empty glance, which shows the enrolment screen.
        return app.first or glance.Glance(meta={}, walks=[])
    seen = glance.read(app.data_dir)
    if seen is not None:
        return seen
    # The Store is open, so its file exists: unreadable here is a bug, but not a reason to
    # show nothing. The long way, through the Store (what glance saves the first screen).
    log.error("the start screen could not read %s; reading through the Store", app.data_dir)
    store = app.state.store
    keys = (glance.META_TOKEN, glance.META_ENROL_SKIPPED, glance.META_ACTIVE_WALK)
    meta = {k: v for k in keys if (v := store.get_meta(k))}
    walks = [
        glance.WalkLine(w.id, w.name, w.area, w.started_at, w.ended_at, len(store.findings(w.id)))
        for w in store.walks()[: glance.MAX_WALKS]
    ]
    return glance.Glance(meta=meta, walks=walks)


def build(app: App) -> ft.View:
    t = app.t
    seen = facts(app)
    if not seen.enrolled and not seen.enrol_skipped:
        return enrol.build(app)
    active = seen.active_walk

    starting: list[bool] = []  # a second tap while the first is on its way starts no walk

    async def start_walk(e: Any) -> None:
        if not (name.value or "").strip():
            name.error = t("walk.name_missing")
            app.page.update()
            return
        if starting:
            return
        starting.append(True)
        try:
            await app.ready.wait()  # typed and tapped in the first moment after a cold start
            walk = await app.work(
                app.state.store.start_walk, name.value.strip(), (area.value or "").strip()
            )
        finally:
            starting.clear()
        app.go("walk", walk_id=walk.id)  # the walk screen starts the route

    walks = ft.Column(spacing=4)
    for w in seen.walks[: glance.MAX_WALKS]:
        findings = w.findings
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
        # Made only here: with a walk in progress (the cold start in the pocket) the first
        # screen has no text field, and flet's TextField module is not imported before it.
        name = ft.TextField(label=t("walk.name"), capitalization=ft.TextCapitalization.SENTENCES)
        area = ft.TextField(label=t("walk.area"))
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

"""Findings: the list (this walk's or all), each with where it stands on the server."""

from __future__ import annotations

from typing import TYPE_CHECKING

import flet as ft

from walkaudit.ui.views import common
from walkaudit.ui.views.walk import sync_status
from walkaudit.ui.widgets import (
    category_badge,
    status_chip,
    tagged,
)

if TYPE_CHECKING:
    from walkaudit.ui.app import App


def status_text(app: App, status: str) -> str:
    """The label of a pin/list status (sync state or the server's status)."""
    if status in ("waiting", "conflict"):
        return app.t(f"state.{status}")
    return app.t(f"status.{status}")


def build(app: App, walk_id: str | None = None) -> ft.View:
    state, t = app.state, app.t
    rows = state.store.findings(walk_id)
    # A ListView builds only what is on screen: 2,000 findings stay smooth.
    items = ft.ListView(expand=True, spacing=2, item_extent=72)
    for c in state.inbox.items():
        f = c.finding
        items.controls.append(
            ft.ListTile(
                leading=category_badge(f.category),
                title=ft.Text(state.t.category(f.category)),
                subtitle=ft.Text(f.note or f.captured_at.astimezone().strftime("%H:%M")),
                trailing=status_chip(t("state.processing"), "waiting"),
            )
        )
    for r in rows:
        status = sync_status(r)
        captured = r["captured_at"][:16].replace("T", " ")
        items.controls.append(
            tagged(
                f"finding-{r['id']}",
                ft.ListTile(
                    leading=category_badge(r["category"]),
                    title=ft.Text(state.t.category(r["category"])),
                    subtitle=ft.Text(f"{captured} · {r['note'][:60]}" if r["note"] else captured),
                    trailing=status_chip(status_text(app, status), status),
                    on_click=lambda e, fid=r["id"]: app.go(
                        "finding", finding_id=fid, walk_id=walk_id
                    ),
                ),
            )
        )
    if not items.controls:
        items.controls.append(ft.Text(t("finding.list_empty")))
    back = "walk" if walk_id and state.store.active_walk() else "start"
    title = state.store.walk(walk_id).name if walk_id else t("walk.findings")
    return ft.View(
        horizontal_alignment=ft.CrossAxisAlignment.STRETCH,
        route="/findings",
        appbar=common.app_bar(app, title, back_to=back, walk_id=walk_id)
        if back == "walk"
        else common.app_bar(app, title, back_to=back),
        controls=[common.sync_bar(app), items],
        padding=0,
    )

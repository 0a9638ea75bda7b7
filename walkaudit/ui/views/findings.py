"""Findings: the list (this walk's or all), each with where it stands on the server."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import flet as ft

from walkaudit import localtime
from walkaudit.ui.views import common
from walkaudit.ui.views.walk import sync_status
from walkaudit.ui.widgets import (
    MIN_TARGET,
    category_badge,
    status_chip,
    tagged,
)

if TYPE_CHECKING:
    from walkaudit.ui.app import App


PAGE = 100


def status_text(app: App, status: str, category: str | None = None) -> str:
    """The label of a pin/list status (sync state or the server's status).

    With the finding's category the words name who holds it: a disorder finding (ORD) is
    "Skickat till polisen", not "till ägaren" (routing sends ORD to the police/EST).
    """
    if status in ("waiting", "conflict", "refused"):
        return app.t(f"state.{status}")
    from walkaudit.answers import status_key

    return app.t(status_key(status, category))


def build(app: App, walk_id: str | None = None) -> ft.View:
    state, t = app.state, app.t
    rows = state.store.findings(walk_id)
    items = ft.ListView(expand=True, spacing=2, item_extent=72)
    for c in state.inbox.items():
        f = c.finding
        items.controls.append(
            ft.ListTile(
                leading=category_badge(f.category),
                title=ft.Text(state.t.category(f.category)),
                subtitle=ft.Text(f.note or localtime.hm(f.captured_at)),
                trailing=status_chip(t("state.processing"), "waiting"),
            )
        )
    shown = {"n": 0}

    def row_tile(r: dict[str, Any]) -> ft.Control:
        status = sync_status(r)
        captured = localtime.day_hm(r["captured_at"])  # Swedish time, as the web and mail show
        return tagged(
            f"finding-{r['id']}",
            ft.ListTile(
                leading=category_badge(r["category"]),
                title=ft.Text(state.t.category(r["category"])),
                subtitle=ft.Text(f"{captured} · {r['note'][:60]}" if r["note"] else captured),
                trailing=status_chip(status_text(app, status, r["category"]), status),
                on_click=lambda e, fid=r["id"]: app.go("finding", finding_id=fid, walk_id=walk_id),
            ),
        )

    more_button = ft.OutlinedButton(height=MIN_TARGET, on_click=lambda e: page())
    more = tagged("findings-more", more_button)

    def page() -> None:
        # Flet builds every row in Python, visible or not: 2,000 rows took two seconds. Rows come
        # a page at a time, newest first.
        if more in items.controls:
            items.controls.remove(more)
        start = shown["n"]
        items.controls.extend(row_tile(r) for r in rows[start : start + PAGE])
        shown["n"] = min(len(rows), start + PAGE)
        left = len(rows) - shown["n"]
        if left:
            more_button.content = t("finding.more", n=left)
            items.controls.append(more)
        if start:
            app.page.update()

    page()
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

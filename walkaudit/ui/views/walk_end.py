"""End of walk: what the walk holds (per category, distance, duration), sync, and a way back.

A walk ended by mistake can be taken up again from here for `store.REOPEN_WINDOW` (15 minutes):
it becomes the active walk again, the route picks up, and the reopening is synced (the server
shows the walk as ongoing until it ends again).
"""

from __future__ import annotations

import asyncio
from collections import Counter
from datetime import datetime
from typing import TYPE_CHECKING, Any

import flet as ft

from walkaudit import geo, localtime, model
from walkaudit.store import REOPEN_WINDOW, ReopenClosedError
from walkaudit.ui.views import common
from walkaudit.ui.widgets import (
    big_button,
    category_badge,
    section_title,
)

if TYPE_CHECKING:
    from walkaudit.ui.app import App


def summary(app: App, walk_id: str, now: datetime | None = None) -> dict[str, Any]:
    """What a walk holds: findings per category, photos, kilometres, minutes, what waits."""
    state = app.state
    walk = state.store.walk(walk_id)
    rows = state.store.findings(walk_id)
    counts = Counter(r["category"] for r in rows)
    photos = sum(r["photo_count"] for r in rows)
    saved = {r["id"] for r in rows}
    for c in state.inbox.items():
        if c.finding.walk_id == walk_id:
            photos += len(c.raw)
            if c.finding.id not in saved:  # not a photo added to a finding already counted
                counts[c.finding.category] += 1
    end = walk.ended_at or now or model.utcnow()
    return {
        "walk": walk,
        "counts": counts,
        "findings": sum(counts.values()),
        "photos": photos,
        "km": geo.track_length_m(state.store.route(walk_id)) / 1000,
        "minutes": max(0, round((end - walk.started_at).total_seconds() / 60)),
        "waiting": state.pending_items(),
    }


def build(app: App, walk_id: str) -> ft.View:
    state, t = app.state, app.t
    s = summary(app, walk_id)
    walk: model.Walk = s["walk"]
    counts: Counter[str] = s["counts"]
    rows = [
        ft.ListTile(
            leading=category_badge(code),
            title=ft.Text(app.state.t.category(code)),
            trailing=ft.Text(str(n), size=18),
        )
        for code, n in counts.most_common()
    ]

    async def sync(e: object) -> None:
        await app.syncer.run()

    # ---- take the walk up again ----------------------------------------------------------
    busy = {"reopening": False}
    until = (walk.ended_at + REOPEN_WINDOW) if walk.ended_at else None

    def offer() -> None:
        # Refreshed on every sync and when the window closes: the button goes when it can't work.
        reopen_box.visible = not busy["reopening"] and state.store.can_reopen(walk_id)

    async def reopen(e: Any) -> None:
        if busy["reopening"]:  # a second tap while the first is on its way
            return
        busy["reopening"] = True
        try:
            await app.work(state.store.reopen_walk, walk_id)
        except ReopenClosedError:
            busy["reopening"] = False
            offer()
            app.snack(t("end.reopen_closed"), error=True)
            app.page.update()
            return
        app.forget_views()
        app.go("walk", walk_id=walk_id)  # the walk screen starts the route again
        app.syncer.wake()  # the reopening goes to the server now

    reopen_note = ft.Text(t("end.reopen_until", time=localtime.hm(until)) if until else "", size=14)
    reopen_box = ft.Container(
        ft.Column(
            [
                reopen_note,
                ft.Row(
                    [
                        big_button(
                            "walk-reopen",
                            t("end.reopen"),
                            ft.Icons.REPLAY,
                            reopen,
                            primary=False,
                            height=56,
                        )
                    ]
                ),
            ],
            spacing=6,
        ),
        padding=ft.Padding.symmetric(horizontal=12, vertical=4),
    )

    async def close_window() -> None:
        if until is None:
            return
        await asyncio.sleep(max(0.0, (until - model.utcnow()).total_seconds()) + 1)
        if app.current == "walk_end" and app.params.get("walk_id") == walk_id:
            app.refresh()

    offer()
    app.on_refresh(offer)
    if reopen_box.visible:
        app.page.run_task(close_window)

    return ft.View(
        horizontal_alignment=ft.CrossAxisAlignment.STRETCH,
        route="/walk/end",
        appbar=common.app_bar(app, t("end.title"), back_to="start"),
        scroll=ft.ScrollMode.AUTO,
        controls=[
            ft.Container(
                ft.Text(walk.name, size=22, weight=ft.FontWeight.BOLD),
                padding=ft.Padding.only(left=12, top=8),
            ),
            ft.Container(
                ft.Text(
                    t("end.summary", n=s["findings"], km=s["km"], minutes=s["minutes"]),
                    size=18,
                    key="walk-summary",
                ),
                padding=ft.Padding.only(left=12),
            ),
            common.sync_bar(app),
            reopen_box,
            ft.Container(section_title(t("end.per_category")), padding=ft.Padding.only(left=12)),
            *rows,
            ft.Container(
                ft.Row([big_button("end-sync", t("sync.now"), ft.Icons.SYNC, sync)]), padding=12
            ),
            ft.Container(
                ft.Row(
                    [
                        big_button(
                            "end-home",
                            t("end.home"),
                            ft.Icons.HOME,
                            lambda e: app.go("start"),
                            primary=False,
                        )
                    ]
                ),
                padding=12,
            ),
        ],
    )

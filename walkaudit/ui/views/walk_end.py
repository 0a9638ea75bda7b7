"""End of walk: how many findings per category, distance and duration, and sync."""

from __future__ import annotations

from collections import Counter
from typing import TYPE_CHECKING

import flet as ft

from walkaudit import geo
from walkaudit.ui.views import common
from walkaudit.ui.widgets import (
    big_button,
    category_badge,
    section_title,
)

if TYPE_CHECKING:
    from walkaudit.ui.app import App


def summary(app: App, walk_id: str) -> dict[str, object]:
    """Counts per category, kilometres walked and minutes, for a walk."""
    state = app.state
    walk = state.store.walk(walk_id)
    counts = Counter(r["category"] for r in state.store.findings(walk_id))
    counts.update(c.finding.category for c in state.inbox.items() if c.finding.walk_id == walk_id)
    end = walk.ended_at or walk.started_at
    return {
        "walk": walk,
        "counts": counts,
        "km": geo.track_length_m(state.store.route(walk_id)) / 1000,
        "minutes": round((end - walk.started_at).total_seconds() / 60),
    }


def build(app: App, walk_id: str) -> ft.View:
    t = app.t
    s = summary(app, walk_id)
    counts: Counter[str] = s["counts"]  # type: ignore[assignment]
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

    return ft.View(
        horizontal_alignment=ft.CrossAxisAlignment.STRETCH,
        route="/walk/end",
        appbar=common.app_bar(app, t("end.title"), back_to="start"),
        scroll=ft.ScrollMode.AUTO,
        controls=[
            ft.Container(
                ft.Text(s["walk"].name, size=22, weight=ft.FontWeight.BOLD),  # type: ignore[attr-defined]
                padding=ft.Padding.only(left=12, top=8),
            ),
            ft.Container(
                ft.Text(
                    t("end.summary", n=sum(counts.values()), km=s["km"], minutes=s["minutes"]),
                    size=18,
                    key="walk-summary",
                ),
                padding=ft.Padding.only(left=12),
            ),
            common.sync_bar(app),
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

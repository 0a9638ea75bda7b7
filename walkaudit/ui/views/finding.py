"""One finding: photo, place, where it stands; edit or delete before it has been sent."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import flet as ft

from walkaudit import model
from walkaudit.store import FrozenError
from walkaudit.ui import mapview
from walkaudit.ui.views import common
from walkaudit.ui.views.findings import status_text
from walkaudit.ui.views.walk import sync_status
from walkaudit.ui.widgets import MIN_TARGET, section_title, status_chip, tagged

if TYPE_CHECKING:
    from walkaudit.ui.app import App


def build(app: App, finding_id: str, walk_id: str | None = None) -> ft.View:
    state, t = app.state, app.t
    f = state.store.finding(finding_id)
    row = next(r for r in state.store.findings() if r["id"] == finding_id)
    status = sync_status(row)
    sent = row["pushed_at"] is not None or status != "waiting"
    photos = [
        ft.Image(
            src=state.store.photo_path(p.sha256).read_bytes(),
            height=220,
            fit=ft.BoxFit.CONTAIN,
            semantics_label=t("finding.photo_ready"),
        )
        for p in f.photos
    ]
    note = ft.TextField(label=t("finding.note"), value=f.note, multiline=True, max_length=4000)

    async def save_note(e: Any) -> None:
        text = (note.value or "").strip()
        if text != f.note:
            await app.work(lambda: state.store.revise_finding(f.id, note=text))
            app.snack(t("settings.saved"))
        app.go("finding", finding_id=f.id, walk_id=walk_id)

    def confirm_delete(e: Any) -> None:
        def really(ev: Any) -> None:
            app.page.pop_dialog()
            try:
                state.store.delete_unsent(f.id)
            except FrozenError:
                app.snack(t("finding.delete_frozen"), error=True)
                return
            app.go("findings", walk_id=walk_id)

        app.page.show_dialog(
            ft.AlertDialog(
                modal=True,
                content=ft.Text(t("finding.delete_confirm"), size=16),
                actions=[
                    tagged(
                        "delete-cancel",
                        ft.TextButton(
                            t("common.cancel"),
                            height=MIN_TARGET,
                            on_click=lambda ev: app.page.pop_dialog(),
                        ),
                    ),
                    tagged(
                        "delete-confirm",
                        ft.FilledButton(
                            t("finding.delete"),
                            height=MIN_TARGET,
                            bgcolor=ft.Colors.ERROR,  # contrast-checked roles
                            color=ft.Colors.ON_ERROR,
                            on_click=really,
                        ),
                    ),
                ],
            )
        )

    history = [
        ft.Text(
            f"{e.at.astimezone():%Y-%m-%d %H:%M} · {status_text(app, e.kind.value)}"
            if e.kind.value in model.FindingStatus._value2member_map_
            else f"{e.at.astimezone():%Y-%m-%d %H:%M} · {e.kind.value}"
        )
        for e in state.store.history(f.id)
    ]
    actions: list[Any] = [
        tagged(
            "finding-save-note",
            ft.FilledTonalButton(
                t("finding.edit"), icon=ft.Icons.EDIT, on_click=save_note, height=MIN_TARGET
            ),
        )
    ]
    if not sent:
        actions.append(
            tagged(
                "finding-delete",
                ft.OutlinedButton(
                    t("finding.delete"),
                    icon=ft.Icons.DELETE,
                    on_click=confirm_delete,
                    height=MIN_TARGET,
                ),
            )
        )
    pin = mapview.Pin(f.id, f.latitude, f.longitude, f.category, status)
    return ft.View(
        horizontal_alignment=ft.CrossAxisAlignment.STRETCH,
        route="/finding",
        appbar=common.app_bar(
            app, state.t.category(f.category), back_to="findings", walk_id=walk_id
        ),
        scroll=ft.ScrollMode.AUTO,
        padding=12,
        controls=[
            ft.Row(
                [
                    status_chip(status_text(app, status), status),
                    ft.Text(t(f"severity.{f.severity.value}")),
                ]
            ),
            *photos,
            ft.Text(
                f"{f.latitude:.5f}, {f.longitude:.5f}"
                + (f" ±{round(f.accuracy)} m" if f.accuracy is not None else "")
            ),
            ft.Container(
                mapview.build_map(
                    state.settings.tile_url,
                    [pin],
                    centre=(f.latitude, f.longitude),
                    zoom=17,
                    height=180,
                ),
                height=180,
            ),
            tagged("finding-note", note, t("finding.note")),
            ft.Row(actions, wrap=True),
            section_title(t("finding.history")),
            *(history or [ft.Text("–")]),
        ],
    )

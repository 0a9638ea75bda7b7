"""Settings: server, language, theme (dark for night walks, high contrast), photo size, map,
and the maps on the phone (offline packages: size, delete, download the area around here)."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import flet as ft

from walkaudit.ui import widgets
from walkaudit.ui.state import PHOTO_EDGES, THEMES
from walkaudit.ui.views import common
from walkaudit.ui.widgets import MIN_TARGET, section_title, tagged

if TYPE_CHECKING:
    from walkaudit.ui.app import App


def build(app: App) -> ft.View:
    state, t = app.state, app.t
    s = state.settings

    def choice(
        identifier: str, options: list[tuple[str, str]], current: str, on_pick: Any
    ) -> ft.Row:
        row = ft.Row(wrap=True, spacing=6)
        for value, label in options:
            button_cls = ft.FilledButton if value == current else ft.OutlinedButton
            row.controls.append(
                tagged(
                    f"{identifier}-{value}",
                    button_cls(label, height=MIN_TARGET, on_click=lambda e, v=value: on_pick(v)),
                    label,
                )
            )
        return row

    def set_lang(value: str) -> None:
        state.set_language(value)
        app.page.title = app.t("app.title")
        app.go("settings")

    def set_theme(value: str) -> None:
        s.theme = value
        s.save(state.store)
        widgets.apply_theme(app.page, value)
        app.go("settings")

    def set_edge(value: str) -> None:
        s.max_edge = int(value)
        s.save(state.store)
        app.go("settings")

    tiles = ft.TextField(label=t("settings.tiles"), value=s.tile_url)

    def save_tiles(e: Any) -> None:
        url = (tiles.value or "").strip()
        if "{z}" in url and "{x}" in url and "{y}" in url:
            s.tile_url = url
            s.save(state.store)
            app.snack(t("settings.saved"))

    def reconnect(e: Any) -> None:
        state.store.set_meta(**{"ui.enrol_skipped": None})
        app.go("enrol")

    server = state.store.get_meta("server_url") or "–"
    maps_section = _maps(app)
    return ft.View(
        horizontal_alignment=ft.CrossAxisAlignment.STRETCH,
        route="/settings",
        appbar=common.app_bar(app, t("settings.title"), back_to="start"),
        scroll=ft.ScrollMode.AUTO,
        padding=12,
        controls=[
            section_title(t("settings.language")),
            choice("lang", [("sv", "Svenska"), ("en", "English")], s.lang, set_lang),
            section_title(t("settings.theme")),
            choice("theme", [(v, t(f"settings.theme.{v}")) for v in THEMES], s.theme, set_theme),
            section_title(t("settings.photo_size")),
            choice(
                "photo-size", [(str(v), f"{v} px") for v in PHOTO_EDGES], str(s.max_edge), set_edge
            ),
            section_title(t("settings.tiles")),
            tagged("settings-tiles", tiles, t("settings.tiles")),
            tagged(
                "settings-tiles-save",
                ft.OutlinedButton(t("finding.save"), on_click=save_tiles, height=MIN_TARGET),
            ),
            section_title(t("settings.maps")),
            *maps_section,
            section_title(t("settings.server")),
            ft.Text(server, selectable=True),
            tagged(
                "settings-reconnect",
                ft.OutlinedButton(t("settings.reconnect"), on_click=reconnect, height=MIN_TARGET),
            ),
        ],
    )


def _maps(app: App) -> list[ft.Control]:
    """The packages on the phone (area, size, delete) and a download for where the walker is."""
    from walkaudit.ui import offline_map

    t = app.t
    maps = offline_map.of(app)
    listed = ft.Column(spacing=2)

    def fill() -> None:
        listed.controls.clear()
        for p in maps.packages.packages:
            b = p.bounds
            label = t("settings.map_item", lat=(b.south + b.north) / 2,
                      lon=(b.west + b.east) / 2, mb=p.size_bytes / offline_map.MiB)  # fmt: skip
            listed.controls.append(
                ft.Row(
                    [
                        ft.Icon(ft.Icons.MAP),
                        ft.Text(label, expand=True),
                        tagged(
                            f"map-delete-{p.id}",
                            ft.TextButton(
                                t("settings.map_delete"),
                                icon=ft.Icons.DELETE,
                                on_click=deleting(p.id),
                                height=MIN_TARGET,
                            ),
                        ),
                    ]
                )
            )
        if not listed.controls:
            listed.controls.append(ft.Text(t("settings.maps_none")))

    def deleting(package_id: str) -> Any:
        async def delete(e: Any) -> None:
            await maps.delete(package_id)  # the file in a thread, the maps redrawn here
            fill()
            app.snack(t("settings.map_deleted"))
            app.page.update()

        return delete

    async def download(e: Any) -> None:
        me = app.state.last_position or await app.location.fix()
        if await maps.download_here((me[0], me[1]) if me else None):
            fill()
            app.page.update()

    fill()
    button = tagged(
        "settings-map-here",
        ft.OutlinedButton(
            t("settings.map_here"), icon=ft.Icons.DOWNLOAD, on_click=download, height=MIN_TARGET
        ),
    )
    panel = maps.panel(with_button=False)  # progress and messages: the button above is "here"
    return [listed, button, panel]

"""New finding: photo → category → save (three taps); position, severity and note come for free.

The position is fixed automatically while the walker frames the photo; above 25 m of uncertainty
they are warned and can move the pin on the map. Same-category findings within 25 m (this
device's, and the server's open ones) are offered as "the same thing". Saving writes the capture
durably and returns to the walk at once; the photo pipeline finishes in the background.
"""

from __future__ import annotations

import asyncio
from typing import TYPE_CHECKING, Any

import flet as ft

from walkaudit import categories, geo, model
from walkaudit.ui import mapview
from walkaudit.ui.state import Draft
from walkaudit.ui.views import common
from walkaudit.ui.widgets import (
    BIG_TARGET,
    MIN_TARGET,
    big_button,
    category_badge,
    palette,
    section_title,
    tagged,
)

if TYPE_CHECKING:
    from walkaudit.ui.app import App

IMAGE_SIGNATURES = (b"\xff\xd8\xff", b"\x89PNG", b"RIFF", b"\x00\x00\x00")  # JPEG PNG WebP HEIC


def build(app: App, walk_id: str | None = None) -> ft.View:
    state, t = app.state, app.t
    draft = Draft()

    # ---- photo ---------------------------------------------------------------------------
    preview = ft.Container(
        height=240, alignment=ft.Alignment.CENTER, bgcolor="#1F000000", border_radius=12
    )
    photo_note = ft.Text(t("finding.photo_missing"), size=13)

    def show_photo(data: bytes) -> None:
        preview.content = ft.Image(
            src=data, fit=ft.BoxFit.CONTAIN, height=240, semantics_label=t("finding.photo_ready")
        )
        photo_note.value = t("finding.photo_ready")

    async def take(e: Any) -> None:
        try:
            data = await app.photos.take()
        except Exception:
            app.snack(t("finding.camera_unavailable"), error=True)
            use_picker()
            return
        draft.raw_photos = [data]
        show_photo(data)
        app.page.update()

    async def pick(e: Any) -> None:
        picked = await app.photos.pick()
        if picked is None:
            return
        data, name = picked
        if not data.startswith(IMAGE_SIGNATURES):
            app.snack(t("finding.photo_error", reason=f"{name}: not a photo"), error=True)
            return
        draft.raw_photos = [data]
        show_photo(data)
        app.page.update()

    take_button = big_button("take-photo", t("finding.take_photo"), ft.Icons.PHOTO_CAMERA, take)
    pick_button = tagged(
        "pick-photo",
        ft.OutlinedButton(
            t("finding.pick_photo"), icon=ft.Icons.PHOTO_LIBRARY, on_click=pick, height=MIN_TARGET
        ),
    )

    def use_picker() -> None:
        take_button.visible = False
        preview.content = ft.Text(t("finding.camera_unavailable"), text_align=ft.TextAlign.CENTER)
        app.page.update()

    # ---- category and severity -----------------------------------------------------------
    cat_buttons: dict[str, ft.Container] = {}

    def choose(code: str) -> None:
        draft.category = code
        for c, box in cat_buttons.items():
            box.border = ft.Border.all(
                4 if c == code else 1, ft.Colors.PRIMARY if c == code else ft.Colors.OUTLINE
            )
            box.bgcolor = ft.Colors.PRIMARY_CONTAINER if c == code else None
        refresh_nearby()
        app.page.update()

    grid = ft.ResponsiveRow(spacing=6, run_spacing=6)
    for cat in categories.CATEGORIES:
        box = ft.Container(
            content=ft.Column(
                [
                    category_badge(cat.code),
                    ft.Text(
                        cat.label(state.settings.lang),
                        size=12,
                        text_align=ft.TextAlign.CENTER,
                        max_lines=2,
                    ),
                ],
                horizontal_alignment=ft.CrossAxisAlignment.CENTER,
                spacing=2,
                tight=True,
            ),
            padding=6,
            height=84,
            border_radius=10,
            border=ft.Border.all(1, ft.Colors.OUTLINE),
            on_click=lambda e, c=cat.code: choose(c),
            ink=True,
        )
        cat_buttons[cat.code] = box
        grid.controls.append(
            ft.Container(
                tagged(f"category-{cat.code}", box, cat.label(state.settings.lang)),
                col={"xs": 4, "sm": 3},
            )
        )

    sev_buttons: dict[str, Any] = {}

    def severity(level: model.Severity) -> None:
        draft.severity = level
        for value, b in sev_buttons.items():
            b.style = ft.ButtonStyle(
                bgcolor=ft.Colors.PRIMARY if value == level else None,
                color=ft.Colors.ON_PRIMARY if value == level else None,
            )
        app.page.update()

    sev_row = ft.Row(spacing=6, wrap=True)
    for level in model.Severity:
        b = ft.OutlinedButton(
            t(f"severity.{level.value}"),
            height=MIN_TARGET,
            on_click=lambda e, lv=level: severity(lv),
        )
        sev_buttons[level] = b
        sev_row.controls.append(tagged(f"severity-{level.value}", b, t(f"severity.{level.value}")))
    note = ft.TextField(
        label=t("finding.note"),
        multiline=True,
        min_lines=1,
        max_lines=4,
        max_length=4000,
        capitalization=ft.TextCapitalization.SENTENCES,
    )

    # ---- position ------------------------------------------------------------------------
    where = ft.Text(t("finding.position_missing"), size=13)
    warning_colour = palette(app.state.settings.theme).warning  # contrast-checked (issue 9)
    warning = ft.Text(visible=False, color=warning_colour, weight=ft.FontWeight.W_600)
    pin_map = ft.Container(visible=False, height=260)

    def set_position(
        lat: float, lon: float, acc: float | None, source: model.PositionSource
    ) -> None:
        draft.latitude, draft.longitude, draft.accuracy, draft.source = lat, lon, acc, source
        if source is model.PositionSource.PIN:
            where.value = t("finding.position_pin")
            warning.visible = False
        else:
            where.value = t(
                "finding.position", accuracy=round(acc or 0), source=t(f"source.{source.value}")
            )
            warning.visible = acc is not None and acc > geo.ACCURACY_WARNING_M
            warning.value = t("finding.accuracy_warning", accuracy=round(acc or 0))
            if warning.visible:
                show_pin_map()
        refresh_nearby()

    def dropped(lat: float, lon: float) -> None:
        set_position(lat, lon, None, model.PositionSource.PIN)
        show_pin_map()
        app.page.update()

    def show_pin_map(e: Any = None) -> None:
        lat, lon = draft.latitude, draft.longitude
        centre = (lat, lon) if lat is not None and lon is not None else None
        me = state.last_position
        here = [mapview.Pin("draft", *centre, draft.category or "OVR", "waiting")] if centre else []
        pin_map.content = mapview.build_map(
            state.settings.tile_url, here, me=me, on_tap=dropped, centre=centre, zoom=18, height=260
        )
        pin_map.visible = True
        app.page.update()

    move_pin = tagged(
        "move-pin",
        ft.TextButton(
            t("finding.move_pin"), icon=ft.Icons.PLACE, on_click=show_pin_map, height=MIN_TARGET
        ),
    )

    # ---- nearby: "the same thing?" -------------------------------------------------------
    nearby_box = ft.Column(visible=False, spacing=4)

    def refresh_nearby() -> None:
        nearby_box.controls.clear()
        nearby_box.visible = False
        if draft.category is None or draft.latitude is None or draft.longitude is None:
            return
        lat, lon = draft.latitude, draft.longitude
        own = [r for r in state.store.findings() if r["category"] == draft.category]
        near = [
            (d, r["id"], r["note"])
            for d, r in geo.nearby(own, lat, lon, lambda r: (r["latitude"], r["longitude"]))
        ]
        near += [
            (d, o.finding.id, o.finding.note)
            for d, o in state.remote.near(lat, lon, draft.category)
            if o.finding.id not in {n[1] for n in near}
        ]
        if not near:
            return
        nearby_box.visible = True
        nearby_box.controls.append(ft.Text(t("finding.nearby"), weight=ft.FontWeight.BOLD))
        for d, fid, text in sorted(near)[:5]:
            chosen = draft.add_to == fid
            nearby_box.controls.append(
                ft.Row(
                    [
                        ft.Text(
                            f"{round(d)} m · {text[:40] or state.t.category(draft.category)}",
                            expand=True,
                        ),
                        tagged(
                            f"same-thing-{fid}",
                            ft.FilledTonalButton(
                                t("finding.same_thing"),
                                height=MIN_TARGET,
                                icon=ft.Icons.CHECK if chosen else ft.Icons.ADD_PHOTO_ALTERNATE,
                                on_click=lambda e, f=fid: same_thing(f),
                            ),
                        ),
                    ]
                )
            )

    def same_thing(fid: str) -> None:
        draft.add_to = None if draft.add_to == fid else fid
        refresh_nearby()
        app.page.update()

    # ---- save ----------------------------------------------------------------------------
    saving = {"busy": False}

    async def save(e: Any) -> None:
        if saving["busy"]:  # a second tap: the first one is saving
            return
        if draft.category is None:
            app.snack(t("finding.choose_category"), error=True)
            return
        if draft.latitude is None or draft.longitude is None:
            app.snack(t("finding.position_missing"), error=True)
            show_pin_map()
            return
        saving["busy"] = True
        draft.note = (note.value or "").strip()
        finding = model.Finding(
            id=model.new_id(),
            walk_id=walk_id,
            category=draft.category,
            severity=draft.severity,
            note=draft.note,
            latitude=draft.latitude,
            longitude=draft.longitude,
            accuracy=draft.accuracy,
            position_source=draft.source,
            captured_at=model.utcnow(),
            duplicate_of=draft.add_to,
        )
        await app.work(state.inbox.put, finding, list(draft.raw_photos))
        app.go("walk", walk_id=walk_id) if walk_id else app.go("start")
        app.snack(t("finding.added_to") if draft.add_to else t("finding.saved"))
        app.page.run_task(_finish_in_background, app)

    view_controls: list[Any] = [
        ft.Column(
            [preview, ft.Row([take_button]), ft.Row([pick_button, photo_note], wrap=True)],
            spacing=6,
        ),
        section_title(t("finding.category")),
        grid,
        ft.Row([where, move_pin], wrap=True),
        warning,
        pin_map,
        nearby_box,
        section_title(t("finding.severity")),
        sev_row,
        tagged("finding-note", note, t("finding.note")),
    ]
    save_button = big_button("save-finding", t("finding.save"), ft.Icons.SAVE, save)
    view = ft.View(
        horizontal_alignment=ft.CrossAxisAlignment.STRETCH,
        route="/finding/new",
        appbar=common.app_bar(
            app, t("finding.title"), back_to="walk" if walk_id else "start", walk_id=walk_id
        ),
        scroll=ft.ScrollMode.AUTO,
        padding=12,
        controls=view_controls,
        # Save stays in reach without scrolling: photo, category, save — three taps.
        bottom_appbar=ft.BottomAppBar(ft.Row([save_button]), height=BIG_TARGET + 32),
    )
    severity(model.Severity.MEDIUM)

    async def locate() -> None:
        fix = await app.location.fix()
        if fix is None:
            if draft.latitude is None:
                show_pin_map()
            return
        if draft.source is not model.PositionSource.PIN:
            set_position(fix[0], fix[1], fix[2], model.PositionSource.GPS)
            app.page.update()

    async def camera() -> None:
        preview.content = app.photos.preview()
        app.page.update()
        if not await app.photos.start_camera():
            use_picker()

    app.page.run_task(locate)
    app.page.run_task(camera)
    return view


async def _finish_in_background(app: App) -> None:
    """Run the photo pipeline on what was just saved, then sync soon."""
    await asyncio.sleep(0)
    results = await app.work(app.state.inbox.process_all, app.state.settings.max_edge)
    for r in results:
        for problem in r.problems:
            app.snack(app.t("finding.photo_error", reason=problem), error=True)
    app.refresh()
    app.syncer.wake()

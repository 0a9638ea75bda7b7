"""New finding: photo → category → save (three taps); position, severity and note come for free.

The live camera preview stays on screen for the next shot; each photo taken (up to MAX_PHOTOS)
goes into a strip of thumbnails, each with a button to remove it. The position is fixed
automatically while the walker frames the photo; above 25 m of uncertainty they are warned and can
move the pin on the map. Same-category findings within 25 m (this device's, and the server's open
ones) are offered as "the same thing" right under the photos, where the eye is.

Nothing typed or photographed is lost by a slip: the finding is kept as a draft on disk as it
changes (walkaudit.drafts), offered back after a kill, and *←* with unsaved work asks first.
Saving writes the capture durably and returns to the walk at once; the photo pipeline finishes in
the background.

This module holds the screen (`NewFindingScreen`: its draft, its controls and what a tap on them
does to the draft) and the position it fixes. Its other jobs have modules beside it, each taking
the screen: new_finding_save (save, "save without a photo?") and new_finding_leave (back paths and
the kept draft); and what it draws: photo_strip, finding_choices (category grid, severity row),
same_thing, pin_map.
"""

from __future__ import annotations

import asyncio
from typing import TYPE_CHECKING, Any

import flet as ft

from walkaudit import geo, model
from walkaudit.drafts import Draft
from walkaudit.ui.draft_keeper import Autosave
from walkaudit.ui.photo import PREVIEW_HEIGHT, thumbnail
from walkaudit.ui.theme import palette
from walkaudit.ui.views import (
    finding_choices,
    new_finding_leave,
    new_finding_save,
    photo_strip,
    pin_map,
    same_thing,
)
from walkaudit.ui.widgets import BIG_TARGET, MIN_TARGET, big_button, section_title, tagged

if TYPE_CHECKING:
    from walkaudit.ui.app import App

# Six photos fill the thumbnail strip at phone width, and leave room under the wire's ten for
# photos added later through "the same thing".
MAX_PHOTOS = 6
FIX_RETRY_S = 3.0  # between two asks for a position that has not come (each waits its own timeout)
WIRE_MAX_PHOTOS = model.MAX_PHOTOS  # what model.Finding.photos allows


def build(app: App, walk_id: str | None = None, resume: bool = False) -> ft.View:
    """The screen for a new finding (on `walk_id`); `resume` puts the kept draft back at once."""
    return NewFindingScreen(app, walk_id, resume).view


class NewFindingScreen:
    """One visit to the screen: the draft, the controls showing it, and the taps that change it.

    The state the jobs share lives here as attributes (`saving`, `taking`, `asked`,
    `restored_position`), so that saving, leaving and the late position see the same answers.
    """

    def __init__(self, app: App, walk_id: str | None, resume: bool) -> None:
        self.app, self.state, self.t = app, app.state, app.t
        self.walk_id, self.resume = walk_id, resume
        t = self.t
        self.draft = Draft(walk_id=walk_id)
        self.keeper = Autosave(app, self.draft)
        self.thumbs: list[bytes | None] = []  # parallel to draft.raw_photos
        self.saving = False
        self.taking = False
        self.asked = False
        self.restored_position = False

        # ---- photos ----------------------------------------------------------------------
        self.slot = ft.Container(height=PREVIEW_HEIGHT, bgcolor="#1F000000", border_radius=12)
        self.strip = ft.Row(spacing=6, scroll=ft.ScrollMode.AUTO, visible=False)
        self.photo_note = ft.Text(t("finding.photo_missing"), size=13)
        self.take_button = big_button(
            "take-photo", t("finding.take_photo"), ft.Icons.PHOTO_CAMERA, self.take
        )
        self.pick_button = tagged(
            "pick-photo",
            ft.OutlinedButton(
                t("finding.pick_photo"),
                icon=ft.Icons.PHOTO_LIBRARY,
                on_click=self.pick,
                height=MIN_TARGET,
            ),
        )

        # ---- category and severity -------------------------------------------------------
        self.grid, self.cat_buttons = finding_choices.category_grid(
            self.state.settings.lang, self.choose
        )
        self.sev_row, self.sev_buttons = finding_choices.severity_row(t, self.severity)
        self.mark_severity()
        self.note = ft.TextField(
            label=t("finding.note"),
            multiline=True,
            min_lines=1,
            max_lines=4,
            max_length=4000,
            capitalization=ft.TextCapitalization.SENTENCES,
            on_change=self.note_changed,
            on_blur=self.note_left,
        )

        # ---- position --------------------------------------------------------------------
        self.where = ft.Text(t("finding.position_missing"), size=13)
        warning_colour = palette(app.state.settings.theme).warning  # contrast-checked (issue 9)
        self.warning = ft.Text(visible=False, color=warning_colour, weight=ft.FontWeight.W_600)
        self.pin_box = ft.Container(visible=False, height=pin_map.HEIGHT)
        self.move_pin = tagged(
            "move-pin",
            ft.TextButton(
                t("finding.move_pin"),
                icon=ft.Icons.PLACE,
                on_click=self.show_pin_map,
                height=MIN_TARGET,
            ),
        )

        # ---- nearby: "the same thing?" (right under the photos: in sight when a category is
        # tapped, not below fifteen tiles)
        self.nearby_box = ft.Column(visible=False, spacing=4)

        # ---- the screen ------------------------------------------------------------------
        self.view = self.make_view()
        app.leave_guard = self.leave

        app.photos.attach(self.slot, self.camera_changed)
        self.camera_changed()
        if resume or app.drafts.exists():
            self.keeper.hold = (
                True  # nothing overwrites the kept draft before the walker has chosen
            )
            app.page.run_task(self.offer_kept)
        app.page.run_task(self.locate)

    def make_view(self) -> ft.View:
        t = self.t
        view_controls: list[Any] = [
            ft.Column(
                [
                    self.slot,
                    ft.Row([self.take_button]),
                    self.strip,
                    ft.Row([self.pick_button, self.photo_note], wrap=True),
                ],
                spacing=6,
            ),
            self.nearby_box,
            section_title(t("finding.category")),
            self.grid,
            ft.Row([self.where, self.move_pin], wrap=True),
            self.warning,
            self.pin_box,
            section_title(t("finding.severity")),
            self.sev_row,
            tagged("finding-note", self.note, t("finding.note")),
        ]
        save_button = big_button("save-finding", t("finding.save"), ft.Icons.SAVE, self.save)
        return ft.View(
            horizontal_alignment=ft.CrossAxisAlignment.STRETCH,
            route="/finding/new",
            appbar=ft.AppBar(
                title=ft.Text(t("finding.title")),
                leading=tagged(
                    "back",
                    ft.IconButton(
                        ft.Icons.ARROW_BACK, tooltip=t("common.back"), on_click=self.leave
                    ),
                ),
                automatically_imply_leading=False,
            ),
            scroll=ft.ScrollMode.AUTO,
            padding=12,
            controls=view_controls,
            # Save stays in reach without scrolling: photo, category, save — three taps.
            bottom_appbar=ft.BottomAppBar(ft.Row([save_button]), height=BIG_TARGET + 32),
            # The system back asks this screen first (on_confirm_pop), like the arrow.
            can_pop=False,
            on_confirm_pop=self.confirm_pop,
        )

    def go_back(self) -> None:
        app = self.app
        app.go("walk", walk_id=self.walk_id) if self.walk_id else app.go("start")

    # ---- the jobs beside this module ---------------------------------------------------------

    async def save(self, e: Any) -> None:
        await new_finding_save.save(self)

    def leave(self, e: Any = None) -> None:
        new_finding_leave.leave(self)

    async def confirm_pop(self, e: Any) -> None:
        await new_finding_leave.confirm_pop(self)

    async def offer_kept(self) -> None:
        await new_finding_leave.offer_kept(self)

    # ---- photos ------------------------------------------------------------------------------

    def room(self) -> int:
        """How many more photos this finding can take."""
        draft = self.draft
        limit = MAX_PHOTOS
        if draft.add_to and self.state.store.has_finding(draft.add_to):
            had = photo_strip.photos_of(self.app, draft.add_to)
            limit = min(limit, WIRE_MAX_PHOTOS - had)
        return max(0, limit - len(draft.raw_photos))

    def show_photos(self) -> None:
        t, n = self.t, len(self.draft.raw_photos)
        self.strip.controls = [
            photo_strip.thumb(self.app, i, self.thumbs[i], self.remove_photo) for i in range(n)
        ]
        self.strip.visible = n > 0
        if n == 0:
            self.photo_note.value = t("finding.photo_missing")
        elif self.room() == 0:
            self.photo_note.value = t("finding.photo_limit", n=n)
        else:
            self.photo_note.value = (
                t("finding.photo_count_one") if n == 1 else t("finding.photo_count", n=n)
            )

    async def add_photos(self, items: list[bytes]) -> None:
        for data in items:
            self.thumbs.append(await self.app.work(thumbnail, data))
            self.draft.raw_photos.append(data)
        self.changed()

    def remove_photo(self, index: int) -> None:
        if index >= len(self.draft.raw_photos):  # a second tap on a thumbnail already gone
            return
        del self.draft.raw_photos[index]
        del self.thumbs[index]
        self.changed()

    def changed(self) -> None:
        """The photos changed: show them, and keep the draft at once."""
        self.show_photos()
        self.app.page.update()
        self.app.page.run_task(self.keeper.now)

    async def take(self, e: Any = None) -> None:
        app, t = self.app, self.t
        if self.taking:  # a second tap while the first photo is being taken
            return
        if self.room() == 0:
            app.snack(t("finding.photo_limit", n=len(self.draft.raw_photos)), error=True)
            return
        self.taking = True
        try:
            data = await app.photos.take()
        except Exception:
            app.snack(t("finding.camera_unavailable"), error=True)
            return
        finally:
            self.taking = False
        await self.add_photos([data])

    async def pick(self, e: Any) -> None:
        app, t = self.app, self.t
        space = self.room()
        if space == 0:
            app.snack(t("finding.photo_limit", n=len(self.draft.raw_photos)), error=True)
            return
        good = []
        for data, name in await app.photos.pick_many(space):
            if data.startswith(photo_strip.IMAGE_SIGNATURES):
                good.append(data)
            else:
                app.snack(t("finding.photo_error", reason=f"{name}: not a photo"), error=True)
        if good:
            await self.add_photos(good)

    def camera_changed(self) -> None:
        # No dead camera button: while the camera cannot start, the preview says so and offers
        # "Försök igen"; the picker stays.
        self.take_button.visible = not self.app.photos.failed

    # ---- category, severity and note ---------------------------------------------------------

    def mark_category(self) -> None:
        finding_choices.mark_category(self.cat_buttons, self.draft.category)

    def choose(self, code: str) -> None:
        draft = self.draft
        draft.category = code
        if draft.add_to and not same_thing.same_category(self.state, draft, draft.add_to, code):
            draft.add_to = None
        self.mark_category()
        self.refresh_nearby()
        self.app.page.update()
        self.app.page.run_task(self.keeper.now)

    def mark_severity(self) -> None:
        finding_choices.mark_severity(self.sev_buttons, self.draft.severity)

    def severity(self, level: model.Severity) -> None:
        self.draft.severity = level
        self.mark_severity()
        self.app.page.update()
        self.app.page.run_task(self.keeper.now)

    def note_changed(self, e: Any) -> None:
        self.draft.note = self.note.value or ""
        self.keeper.soon()  # kept a moment after the last keystroke: a kill keeps what was typed

    def note_left(self, e: Any) -> None:
        self.draft.note = self.note.value or ""
        self.app.page.run_task(self.keeper.now)

    # ---- position ----------------------------------------------------------------------------

    def set_position(
        self, lat: float, lon: float, acc: float | None, source: model.PositionSource
    ) -> None:
        t, draft, warning = self.t, self.draft, self.warning
        draft.latitude, draft.longitude, draft.accuracy, draft.source = lat, lon, acc, source
        if source is model.PositionSource.PIN:
            self.where.value = t("finding.position_pin")
            warning.visible = False
        else:
            self.where.value = t(
                "finding.position", accuracy=round(acc or 0), source=t(f"source.{source.value}")
            )
            warning.visible = acc is not None and acc > geo.ACCURACY_WARNING_M
            warning.value = t("finding.accuracy_warning", accuracy=round(acc or 0))
            if warning.visible:
                self.show_pin_map()
        self.refresh_nearby()

    def dropped(self, lat: float, lon: float) -> None:
        self.set_position(lat, lon, None, model.PositionSource.PIN)
        self.show_pin_map()
        self.app.page.update()
        self.app.page.run_task(self.keeper.now)

    def show_pin_map(self, e: Any = None) -> None:
        self.pin_box.content = pin_map.pin_map(self.app, self.draft, self.dropped)
        self.pin_box.visible = True
        self.app.page.update()

    async def locate(self) -> None:
        """A fix for the finding. A GPS that has no answer yet (a cold start, under trees, a
        loaded phone) is asked again while this screen is open, with the pin map offered
        meanwhile: a late fix still lands, unless the walker has placed a pin by then. A refusal
        is checked again too (allowed in the settings since, or a browser that said no because
        its first fix failed): the pin map stays the way until then."""
        app, draft = self.app, self.draft
        while True:
            fix = await app.location.fix() if await app.location.recheck_or_ask() else None
            if self.view not in app.page.views or self.saving:
                return  # the walker has left or saved: the screen is not this fix's any more
            if draft.source is model.PositionSource.PIN or self.restored_position:
                return
            if fix is not None:
                self.set_position(fix[0], fix[1], fix[2], model.PositionSource.GPS)
                app.page.update()
                return
            if draft.latitude is None and not self.pin_box.visible:
                self.show_pin_map()
                app.page.update()
            await asyncio.sleep(FIX_RETRY_S)

    # ---- nearby: "the same thing?" -----------------------------------------------------------

    def refresh_nearby(self) -> None:
        same_thing.fill(self.nearby_box, self.app, self.draft, self.same_as)

    def same_as(self, fid: str) -> None:
        draft = self.draft
        if draft.add_to == fid:
            draft.add_to = None
        else:
            if self.state.store.has_finding(fid):
                had = photo_strip.photos_of(self.app, fid)
                fits = WIRE_MAX_PHOTOS - had
                if len(draft.raw_photos) > fits:
                    self.app.snack(self.t("finding.same_thing_full", n=max(0, fits)), error=True)
                    return
            draft.add_to = fid
        self.refresh_nearby()
        self.changed()

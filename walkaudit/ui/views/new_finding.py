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

This module wires the screen and the draft together; what it draws has its own modules beside
it: photo_strip, finding_choices (category grid, severity row), same_thing, pin_map.
"""

from __future__ import annotations

import asyncio
import logging
from typing import TYPE_CHECKING, Any

import flet as ft

from walkaudit import geo, model
from walkaudit.drafts import Draft
from walkaudit.ui.draft_keeper import Autosave, offer_draft
from walkaudit.ui.photo import PREVIEW_HEIGHT, thumbnail
from walkaudit.ui.theme import palette
from walkaudit.ui.views import finding_choices, photo_strip, pin_map, same_thing
from walkaudit.ui.widgets import (
    BIG_TARGET,
    MIN_TARGET,
    Choice,
    big_button,
    question,
    section_title,
    tagged,
)

if TYPE_CHECKING:
    from walkaudit.ui.app import App

log = logging.getLogger("walkaudit.ui.new_finding")
# Six photos fill the thumbnail strip at phone width, and leave room under the wire's ten for
# photos added later through "the same thing".
MAX_PHOTOS = 6
TAKING_WAIT_S = 10.0  # at most this long a save waits for a photo still being taken
FIX_RETRY_S = 3.0  # between two asks for a position that has not come (each waits its own timeout)
WIRE_MAX_PHOTOS = model.MAX_PHOTOS  # what model.Finding.photos allows


def build(app: App, walk_id: str | None = None, resume: bool = False) -> ft.View:
    state, t = app.state, app.t
    draft = Draft(walk_id=walk_id)
    keeper = Autosave(app, draft)
    thumbs: list[bytes | None] = []  # parallel to draft.raw_photos
    flags = {"saving": False, "taking": False, "asked": False, "restored_position": False}

    def go_back() -> None:
        app.go("walk", walk_id=walk_id) if walk_id else app.go("start")

    # ---- photos --------------------------------------------------------------------------
    slot = ft.Container(height=PREVIEW_HEIGHT, bgcolor="#1F000000", border_radius=12)
    strip = ft.Row(spacing=6, scroll=ft.ScrollMode.AUTO, visible=False)
    photo_note = ft.Text(t("finding.photo_missing"), size=13)

    def room() -> int:
        """How many more photos this finding can take."""
        limit = MAX_PHOTOS
        if draft.add_to and state.store.has_finding(draft.add_to):
            had = photo_strip.photos_of(app, draft.add_to)
            limit = min(limit, WIRE_MAX_PHOTOS - had)
        return max(0, limit - len(draft.raw_photos))

    def show_photos() -> None:
        n = len(draft.raw_photos)
        strip.controls = [photo_strip.thumb(app, i, thumbs[i], remove_photo) for i in range(n)]
        strip.visible = n > 0
        if n == 0:
            photo_note.value = t("finding.photo_missing")
        elif room() == 0:
            photo_note.value = t("finding.photo_limit", n=n)
        else:
            photo_note.value = (
                t("finding.photo_count_one") if n == 1 else t("finding.photo_count", n=n)
            )

    async def add_photos(items: list[bytes]) -> None:
        for data in items:
            thumbs.append(await app.work(thumbnail, data))
            draft.raw_photos.append(data)
        show_photos()
        app.page.update()
        app.page.run_task(keeper.now)

    def remove_photo(index: int) -> None:
        if index >= len(draft.raw_photos):  # a second tap on a thumbnail already gone
            return
        del draft.raw_photos[index]
        del thumbs[index]
        show_photos()
        app.page.update()
        app.page.run_task(keeper.now)

    async def take(e: Any = None) -> None:
        if flags["taking"]:  # a second tap while the first photo is being taken
            return
        if room() == 0:
            app.snack(t("finding.photo_limit", n=len(draft.raw_photos)), error=True)
            return
        flags["taking"] = True
        try:
            data = await app.photos.take()
        except Exception:
            app.snack(t("finding.camera_unavailable"), error=True)
            return
        finally:
            flags["taking"] = False
        await add_photos([data])

    async def pick(e: Any) -> None:
        space = room()
        if space == 0:
            app.snack(t("finding.photo_limit", n=len(draft.raw_photos)), error=True)
            return
        good = []
        for data, name in await app.photos.pick_many(space):
            if data.startswith(photo_strip.IMAGE_SIGNATURES):
                good.append(data)
            else:
                app.snack(t("finding.photo_error", reason=f"{name}: not a photo"), error=True)
        if good:
            await add_photos(good)

    take_button = big_button("take-photo", t("finding.take_photo"), ft.Icons.PHOTO_CAMERA, take)
    pick_button = tagged(
        "pick-photo",
        ft.OutlinedButton(
            t("finding.pick_photo"), icon=ft.Icons.PHOTO_LIBRARY, on_click=pick, height=MIN_TARGET
        ),
    )

    def camera_changed() -> None:
        # No dead camera button: while the camera cannot start, the preview says so and offers
        # "Försök igen"; the picker stays.
        take_button.visible = not app.photos.failed

    # ---- category and severity -----------------------------------------------------------
    def mark_category() -> None:
        finding_choices.mark_category(cat_buttons, draft.category)

    def choose(code: str) -> None:
        draft.category = code
        if draft.add_to and not same_thing.same_category(state, draft, draft.add_to, code):
            draft.add_to = None
        mark_category()
        refresh_nearby()
        app.page.update()
        app.page.run_task(keeper.now)

    grid, cat_buttons = finding_choices.category_grid(state.settings.lang, choose)

    def mark_severity() -> None:
        finding_choices.mark_severity(sev_buttons, draft.severity)

    def severity(level: model.Severity) -> None:
        draft.severity = level
        mark_severity()
        app.page.update()
        app.page.run_task(keeper.now)

    sev_row, sev_buttons = finding_choices.severity_row(t, severity)
    mark_severity()

    def note_changed(e: Any) -> None:
        draft.note = note.value or ""
        keeper.soon()  # kept a moment after the last keystroke: a kill keeps what was typed

    def note_left(e: Any) -> None:
        draft.note = note.value or ""
        app.page.run_task(keeper.now)

    note = ft.TextField(
        label=t("finding.note"),
        multiline=True,
        min_lines=1,
        max_lines=4,
        max_length=4000,
        capitalization=ft.TextCapitalization.SENTENCES,
        on_change=note_changed,
        on_blur=note_left,
    )

    # ---- position ------------------------------------------------------------------------
    where = ft.Text(t("finding.position_missing"), size=13)
    warning_colour = palette(app.state.settings.theme).warning  # contrast-checked (issue 9)
    warning = ft.Text(visible=False, color=warning_colour, weight=ft.FontWeight.W_600)
    pin_box = ft.Container(visible=False, height=pin_map.HEIGHT)

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
        app.page.run_task(keeper.now)

    def show_pin_map(e: Any = None) -> None:
        pin_box.content = pin_map.pin_map(app, draft, dropped)
        pin_box.visible = True
        app.page.update()

    move_pin = tagged(
        "move-pin",
        ft.TextButton(
            t("finding.move_pin"), icon=ft.Icons.PLACE, on_click=show_pin_map, height=MIN_TARGET
        ),
    )

    # ---- nearby: "the same thing?" (right under the photos, in sight when a category is tapped)
    nearby_box = ft.Column(visible=False, spacing=4)

    def refresh_nearby() -> None:
        same_thing.fill(nearby_box, app, draft, same_as)

    def same_as(fid: str) -> None:
        if draft.add_to == fid:
            draft.add_to = None
        else:
            if state.store.has_finding(fid):
                had = photo_strip.photos_of(app, fid)
                fits = WIRE_MAX_PHOTOS - had
                if len(draft.raw_photos) > fits:
                    app.snack(t("finding.same_thing_full", n=max(0, fits)), error=True)
                    return
            draft.add_to = fid
        refresh_nearby()
        show_photos()
        app.page.update()
        app.page.run_task(keeper.now)

    # ---- save ----------------------------------------------------------------------------

    async def save(e: Any) -> None:
        if flags["saving"]:  # a second tap: the first one is saving
            return
        # A photo still on its way from the camera belongs to this finding: wait for it.
        for _ in range(int(TAKING_WAIT_S / 0.05)):
            if not flags["taking"]:
                break
            await asyncio.sleep(0.05)
        if draft.add_to and not draft.raw_photos:
            app.snack(t("finding.same_thing_needs_photo"), error=True)
            return
        if draft.category is None:
            app.snack(t("finding.choose_category"), error=True)
            return
        if draft.latitude is None or draft.longitude is None:
            app.snack(t("finding.position_missing"), error=True)
            show_pin_map()
            return
        if not draft.raw_photos:
            ask_without_photo()
            return
        await really_save()

    async def really_save() -> None:
        if flags["saving"]:
            return
        flags["saving"] = True
        draft.note = (note.value or "").strip()
        assert draft.category is not None and draft.latitude is not None
        assert draft.longitude is not None
        finding = model.Finding(
            id=draft.id,
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
        keeper.stop()
        box, photos = app.drafts, list(draft.raw_photos)

        def put_then_forget_draft() -> None:
            # The draft goes in the same worker step as the capture's commit: the window where a
            # kill leaves both is a file unlink, and the next start then recognises the draft's
            # id as a capture or a finding (for a plain finding) and does not offer it again.
            state.inbox.put(finding, photos)
            box.clear(box.ticket())

        try:
            await app.work(put_then_forget_draft)
        except OSError as exc:  # a full disk: nothing is lost, the draft and the screen remain
            log.exception("the finding could not be saved")
            flags["saving"] = False
            keeper.resume()
            app.snack(t("finding.save_failed", reason=exc.strerror or str(exc)), error=True)
            return
        go_back()
        app.snack(t("finding.added_to") if draft.add_to else t("finding.saved"))
        app.page.run_task(_finish_in_background, app)

    def ask_without_photo() -> None:
        if flags["asked"]:  # the question is already on screen
            return
        flags["asked"] = True

        async def anyway(e: Any) -> None:
            app.page.pop_dialog()
            flags["asked"] = False
            await really_save()

        async def take_one(e: Any) -> None:
            app.page.pop_dialog()
            flags["asked"] = False
            if app.photos.ready:
                await take()

        app.page.show_dialog(
            question(
                t("finding.no_photo_title"),
                t("finding.no_photo_body"),
                quiet=Choice("save-without-photo", t("finding.no_photo_save"), anyway),
                loud=Choice(
                    "save-take-photo", t("finding.take_photo"), take_one, ft.Icons.PHOTO_CAMERA
                ),
            )
        )

    # ---- leaving -------------------------------------------------------------------------

    def leave(e: Any = None) -> None:
        """*←* or the system back: straight back with nothing entered, otherwise ask first."""
        if flags["saving"]:
            return
        draft.note = note.value or ""
        if not draft.has_work():
            keeper.stop()
            if not keeper.hold:  # a kept draft still waits for the walker's answer
                app.page.run_task(keeper.clear)
            go_back()
            return

        async def discard(e: Any) -> None:
            app.page.pop_dialog()
            keeper.stop()
            go_back()
            await keeper.clear()

        app.page.show_dialog(
            question(
                t("finding.discard_title"),
                t("finding.discard_body"),
                quiet=Choice("discard-confirm", t("finding.discard"), discard, danger=True),
                loud=Choice(
                    "discard-cancel", t("finding.keep_writing"), lambda ev: app.page.pop_dialog()
                ),
            )
        )

    async def confirm_pop(e: Any) -> None:
        # The system back gesture: Flutter waits for an answer; the screen answers "no" and
        # leaves (or asks) by itself, so both back paths behave the same.
        try:
            await view.confirm_pop(False)
        except Exception:  # no answer needed where the client does not wait for one
            log.debug("confirm_pop not delivered", exc_info=True)
        leave()

    # ---- drafts --------------------------------------------------------------------------

    async def restore(kept: Draft) -> None:
        """Put a kept draft back on the screen: photos, category, severity, note, position."""
        draft.id = kept.id
        images = [await app.work(thumbnail, data) for data in kept.raw_photos]
        draft.raw_photos[:0] = kept.raw_photos  # anything taken meanwhile stays, after them
        thumbs[:0] = images
        draft.category = kept.category or draft.category
        draft.severity = kept.severity
        draft.add_to = kept.add_to
        if kept.note.strip():
            note.value = kept.note if not draft.note.strip() else f"{kept.note}\n{draft.note}"
            draft.note = note.value
        if kept.latitude is not None and kept.longitude is not None:
            # Where the walker stood when they photographed it, not where the app restarted.
            flags["restored_position"] = True
            set_position(kept.latitude, kept.longitude, kept.accuracy, kept.source)
        mark_category()
        mark_severity()
        refresh_nearby()
        show_photos()
        app.page.update()
        keeper.hold = False
        await keeper.now()

    async def offer_kept() -> None:
        kept = await app.work(app.drafts.load, app.draft_saved)
        if kept is None:
            keeper.hold = False
            return
        if resume:
            await restore(kept)
            return

        async def discard() -> None:
            keeper.hold = False
            await keeper.now()  # this screen's draft (empty: the kept one goes)

        await offer_draft(app, kept, resume=lambda: restore(kept), discard=discard)

    # ---- the screen ----------------------------------------------------------------------

    view_controls: list[Any] = [
        ft.Column(
            [
                slot,
                ft.Row([take_button]),
                strip,
                ft.Row([pick_button, photo_note], wrap=True),
            ],
            spacing=6,
        ),
        nearby_box,
        section_title(t("finding.category")),
        grid,
        ft.Row([where, move_pin], wrap=True),
        warning,
        pin_box,
        section_title(t("finding.severity")),
        sev_row,
        tagged("finding-note", note, t("finding.note")),
    ]
    save_button = big_button("save-finding", t("finding.save"), ft.Icons.SAVE, save)
    view = ft.View(
        horizontal_alignment=ft.CrossAxisAlignment.STRETCH,
        route="/finding/new",
        appbar=ft.AppBar(
            title=ft.Text(t("finding.title")),
            leading=tagged(
                "back",
                ft.IconButton(ft.Icons.ARROW_BACK, tooltip=t("common.back"), on_click=leave),
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
        on_confirm_pop=confirm_pop,
    )
    app.leave_guard = leave

    async def locate() -> None:
        """A fix for the finding. A GPS that has no answer yet (a cold start, under trees, a
        loaded phone) is asked again while this screen is open, with the pin map offered
        meanwhile: a late fix still lands, unless the walker has placed a pin by then."""
        while True:
            fix = await app.location.fix()
            if view not in app.page.views or flags["saving"]:
                return  # the walker has left or saved: the screen is not this fix's any more
            if draft.source is model.PositionSource.PIN or flags["restored_position"]:
                return
            if fix is not None:
                set_position(fix[0], fix[1], fix[2], model.PositionSource.GPS)
                app.page.update()
                return
            if draft.latitude is None and not pin_box.visible:
                show_pin_map()
                app.page.update()
            if app.location.granted is False:
                return  # refused: the pin is the way (the app asks again on resume)
            await asyncio.sleep(FIX_RETRY_S)

    app.photos.attach(slot, camera_changed)
    camera_changed()
    if resume or app.drafts.exists():
        keeper.hold = True  # nothing overwrites the kept draft before the walker has chosen
        app.page.run_task(offer_kept)
    app.page.run_task(locate)
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

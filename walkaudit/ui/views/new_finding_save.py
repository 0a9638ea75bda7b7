"""Saving a new finding: the checks a tap on *Spara* runs, the capture written durably, and the
"save without a photo?" question.

Apart from the screen (walkaudit.ui.views.new_finding) because saving has its own reasons to
change — what a finding needs before it is written, how the draft goes with the capture, what
runs in the background afterwards — while the screen changes with what it shows.
"""

from __future__ import annotations

import asyncio
import logging
from typing import TYPE_CHECKING, Any

import flet as ft

from walkaudit import model
from walkaudit.ui.widgets import Choice, question

if TYPE_CHECKING:
    from walkaudit.ui.app import App
    from walkaudit.ui.views.new_finding import NewFindingScreen

log = logging.getLogger("walkaudit.ui.new_finding")
TAKING_WAIT_S = 10.0  # at most this long a save waits for a photo still being taken


async def save(screen: NewFindingScreen) -> None:
    """*Spara*: what the finding still lacks is said; a finding without a photo asks first."""
    app, t, draft = screen.app, screen.t, screen.draft
    if screen.saving:  # a second tap: the first one is saving
        return
    # A photo still on its way from the camera belongs to this finding: wait for it.
    for _ in range(int(TAKING_WAIT_S / 0.05)):
        if not screen.taking:
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
        screen.show_pin_map()
        return
    if not draft.raw_photos:
        ask_without_photo(screen)
        return
    await really_save(screen)


async def really_save(screen: NewFindingScreen) -> None:
    """Write the capture and forget the draft, then back to the walk at once."""
    app, t, draft, keeper = screen.app, screen.t, screen.draft, screen.keeper
    state = app.state
    if screen.saving:
        return
    screen.saving = True
    draft.note = (screen.note.value or "").strip()
    assert draft.category is not None and draft.latitude is not None
    assert draft.longitude is not None
    finding = model.Finding(
        id=draft.id,
        walk_id=screen.walk_id,
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
        screen.saving = False
        keeper.resume()
        app.snack(t("finding.save_failed", reason=exc.strerror or str(exc)), error=True)
        return
    screen.go_back()
    app.snack(t("finding.added_to") if draft.add_to else t("finding.saved"))
    app.page.run_task(finish_in_background, app)


def ask_without_photo(screen: NewFindingScreen) -> None:
    """The question "Spara utan foto?": save anyway, or take one (asked once, however often
    *Spara* is tapped)."""
    app, t = screen.app, screen.t
    if screen.asked:  # the question is already on screen
        return
    screen.asked = True

    async def anyway(e: Any) -> None:
        app.page.pop_dialog()
        screen.asked = False
        await really_save(screen)

    async def take_one(e: Any) -> None:
        app.page.pop_dialog()
        screen.asked = False
        if app.photos.ready:
            await screen.take()

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


async def finish_in_background(app: App) -> None:
    """Run the photo pipeline on what was just saved, then sync soon."""
    await asyncio.sleep(0)
    results = await app.work(app.state.inbox.process_all, app.state.settings.max_edge)
    for r in results:
        for problem in r.problems:
            app.snack(app.t("finding.photo_error", reason=problem), error=True)
    app.refresh()
    app.syncer.wake()

"""Leaving the new-finding screen and coming back to it: *←* and the system back ask before
unsaved work is thrown away, and a draft kept from an earlier visit (or a kill) is offered back.

Apart from the screen (walkaudit.ui.views.new_finding) because both are about the walker's work
outliving the screen — what counts as work, when to ask, how a kept draft is put back — not
about what the screen shows.
"""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING, Any

from walkaudit.drafts import Draft
from walkaudit.ui.draft_keeper import offer_draft
from walkaudit.ui.photo import thumbnail
from walkaudit.ui.widgets import Choice, question

if TYPE_CHECKING:
    from walkaudit.ui.views.new_finding import NewFindingScreen

log = logging.getLogger("walkaudit.ui.new_finding")


def leave(screen: NewFindingScreen) -> None:
    """*←* or the system back: straight back with nothing entered, otherwise ask first."""
    app, t, draft, keeper = screen.app, screen.t, screen.draft, screen.keeper
    if screen.saving:
        return
    draft.note = screen.note.value or ""
    if not draft.has_work():
        keeper.stop()
        if not keeper.hold:  # a kept draft still waits for the walker's answer
            app.page.run_task(keeper.clear)
        screen.go_back()
        return

    async def discard(e: Any) -> None:
        app.page.pop_dialog()
        keeper.stop()
        screen.go_back()
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


async def confirm_pop(screen: NewFindingScreen) -> None:
    # The system back gesture: Flutter waits for an answer; the screen answers "no" and
    # leaves (or asks) by itself, so both back paths behave the same.
    try:
        await screen.view.confirm_pop(False)
    except Exception:  # no answer needed where the client does not wait for one
        log.debug("confirm_pop not delivered", exc_info=True)
    leave(screen)


async def restore(screen: NewFindingScreen, kept: Draft) -> None:
    """Put a kept draft back on the screen: photos, category, severity, note, position."""
    app, draft, note = screen.app, screen.draft, screen.note
    draft.id = kept.id
    images = [await app.work(thumbnail, data) for data in kept.raw_photos]
    draft.raw_photos[:0] = kept.raw_photos  # anything taken meanwhile stays, after them
    screen.thumbs[:0] = images
    draft.category = kept.category or draft.category
    draft.severity = kept.severity
    draft.add_to = kept.add_to
    if kept.note.strip():
        note.value = kept.note if not draft.note.strip() else f"{kept.note}\n{draft.note}"
        draft.note = note.value
    if kept.latitude is not None and kept.longitude is not None:
        # Where the walker stood when they photographed it, not where the app restarted.
        screen.restored_position = True
        screen.set_position(kept.latitude, kept.longitude, kept.accuracy, kept.source)
    screen.mark_category()
    screen.mark_severity()
    screen.refresh_nearby()
    screen.show_photos()
    app.page.update()
    screen.keeper.hold = False
    await screen.keeper.now()


async def offer_kept(screen: NewFindingScreen) -> None:
    """A draft kept on disk: put back at once (resume), or offered with a question."""
    app, keeper = screen.app, screen.keeper
    kept = await app.work(app.drafts.load, app.draft_saved)
    if kept is None:
        keeper.hold = False
        return
    if screen.resume:
        await restore(screen, kept)
        return

    async def discard() -> None:
        keeper.hold = False
        await keeper.now()  # this screen's draft (empty: the kept one goes)

    await offer_draft(app, kept, resume=lambda: restore(screen, kept), discard=discard)

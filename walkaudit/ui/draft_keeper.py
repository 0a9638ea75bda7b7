"""The finding being written, kept as a draft: written as it changes, and offered back.

`Autosave` writes the new-finding screen's draft to the data directory (walkaudit.drafts) as the
walker works — photos and choices at once, the note a moment after the last keystroke — so that
a back gesture by mistake or an app killed in the pocket loses nothing. `offer_draft` asks, when
the walker comes back, whether to go on with the kept draft or throw it away.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

import flet as ft

from walkaudit.drafts import Draft
from walkaudit.ui.photo import thumbnail
from walkaudit.ui.widgets import MIN_TARGET, shorten_note, tagged

if TYPE_CHECKING:
    from walkaudit.ui.app import App

log = logging.getLogger("walkaudit.ui.drafts")
NOTE_AUTOSAVE_S = 0.8  # the note is kept this long after the last keystroke (and on leaving it)


class Autosave:
    """Writes the draft as it changes: at once for photos and choices, the note after a pause.

    Each write carries a ticket from the draft box taken with its snapshot, so writes land in the
    order the screen made them, and none lands after the draft was cleared.
    """

    def __init__(self, app: App, draft: Draft) -> None:
        self.app, self.draft = app, draft
        self.hold = False  # a kept draft waits for the walker's answer: do not overwrite it
        self._stopped = False
        self._timer: asyncio.TimerHandle | None = None
        app.pause_hooks.append(self.now)  # the note typed a moment ago, before the app is killed

    async def now(self) -> None:
        """Write (or, with nothing entered, clear) the draft as it is now."""
        self._cancel()
        if self.hold or self._stopped:
            return
        box = self.app.drafts
        seq, snap = box.ticket(), self.draft.snapshot()
        try:
            if snap.has_work():
                await self.app.work(box.save, snap, seq)
            else:
                await self.app.work(box.clear, seq)
        except OSError:  # a full disk: the screen still holds everything, saving still works
            log.exception("the draft could not be kept")

    def soon(self) -> None:
        """Write after NOTE_AUTOSAVE_S without another change (typing)."""
        self._cancel()
        if self._stopped:
            return
        loop = asyncio.get_running_loop()
        self._timer = loop.call_later(NOTE_AUTOSAVE_S, lambda: self.app.page.run_task(self.now))

    def stop(self) -> None:
        """No more writes from this screen (it saved, or the walker threw the finding away)."""
        self._stopped = True
        self._cancel()

    def resume(self) -> None:
        """Writes again (a save that failed: the screen and its draft are still the walker's)."""
        self._stopped = False

    async def clear(self) -> None:
        """Forget the draft: its ticket is newer than any write this screen started."""
        box = self.app.drafts
        await self.app.work(box.clear, box.ticket())

    def _cancel(self) -> None:
        if self._timer is not None:
            self._timer.cancel()
            self._timer = None


async def offer_draft(
    app: App,
    kept: Draft,
    resume: Callable[[], Any],
    discard: Callable[[], Any] | None = None,
) -> None:
    """Ask whether to go on with a kept draft ("Fortsätt på utkastet") or throw it away."""
    t = app.t
    n = len(kept.raw_photos)
    parts = [
        app.state.t.category(kept.category) if kept.category else t("draft.no_category"),
        (t("finding.photo_count_one") if n == 1 else t("finding.photo_count", n=n))
        if n
        else t("finding.photo_missing"),
    ]
    if kept.note.strip():
        parts.append(f"”{shorten_note(kept.note)}”")
    summary = " · ".join(parts)
    previews = [await app.work(thumbnail, data, 96) for data in kept.raw_photos[:3]]

    async def go_on(e: Any) -> None:
        app.page.pop_dialog()
        result = resume()
        if asyncio.iscoroutine(result):
            await result

    async def throw_away(e: Any) -> None:
        app.page.pop_dialog()
        await app.work(app.drafts.clear, app.drafts.ticket())
        result = discard() if discard is not None else None
        if asyncio.iscoroutine(result):
            await result

    app.page.show_dialog(
        ft.AlertDialog(
            modal=True,
            title=ft.Text(t("draft.title")),
            content=ft.Column(
                [
                    ft.Text(t("draft.body", summary=summary), size=16),
                    ft.Row(
                        [
                            ft.Image(src=p, width=64, height=64, fit=ft.BoxFit.COVER)
                            for p in previews
                            if p
                        ],
                        spacing=6,
                    ),
                ],
                tight=True,
                spacing=10,
            ),
            actions=[
                tagged(
                    "draft-discard",
                    ft.TextButton(t("finding.discard"), height=MIN_TARGET, on_click=throw_away),
                ),
                tagged(
                    "draft-resume",
                    ft.FilledButton(t("draft.resume"), height=MIN_TARGET, on_click=go_on),
                ),
            ],
        )
    )

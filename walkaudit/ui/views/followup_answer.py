"""The walker's answer on a follow-up card: a dialog offering a photo (camera, gallery, none),
then the answer recorded for sync.

Apart from the card (walkaudit.ui.views.followup_card) because the camera, the dialog and
its second-tap guard are a job of their own.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

import flet as ft

from walkaudit import model
from walkaudit.ui.views import followup_card, followup_data
from walkaudit.ui.widgets import MIN_TARGET, tagged

if TYPE_CHECKING:
    from walkaudit.ui.app import App

log = logging.getLogger("walkaudit.ui")


async def ask_photo(
    app: App,
    item: model.OpenFinding,
    kind: model.EventKind,
    recorded: Callable[[str], None],
) -> None:
    """Offer a photo (camera, gallery, none), then record the answer."""
    t = app.t
    slot = ft.Container()
    note = ft.Text(visible=False, color=ft.Colors.ERROR)
    done = {"yes": False}

    def close() -> None:
        app.page.pop_dialog()
        app.photos.leave()  # the camera is released with the dialog

    async def finish(raw: list[bytes]) -> None:
        if done["yes"]:
            return  # a second tap while the first one is being saved
        done["yes"] = True
        close()
        try:
            usable = await app.work(followup_data.record, app, item.finding.id, kind, raw)
        except Exception:  # e.g. a full disk: say so; the card is unchanged, the walker can retry
            log.exception("follow-up answer not recorded")
            done["yes"] = False
            app.snack(t("followup.answer_failed"), error=True)
            return
        recorded(item.finding.id)
        if not usable:
            app.snack(t("followup.photo_unusable"), error=True)
        else:
            app.snack(t("followup.marked", what=followup_card.answer_word(app, kind)))
        app.syncer.wake()

    async def take(e: Any) -> None:
        try:
            data = await app.photos.take()
        except Exception:
            note.value, note.visible = t("followup.camera_unavailable"), True
            app.page.update()
            return
        await finish([data])

    async def pick(e: Any) -> None:
        try:
            picked = await app.photos.pick()
        except Exception:  # no picker on this platform: the other two choices remain
            log.warning("the file picker failed", exc_info=True)
            return
        if picked:
            await finish([picked[0]])

    async def without(e: Any) -> None:
        await finish([])

    def cancel(e: Any) -> None:
        done["yes"] = True
        close()

    title = t("followup.photo_fixed" if kind is followup_card.FIXED else "followup.photo_still")
    dialog = ft.AlertDialog(
        modal=True,
        title=ft.Text(title),
        content=ft.Column([slot, note], tight=True, width=360),
        actions=[
            tagged("answer-take-photo", ft.FilledButton(
                t("followup.take"), icon=ft.Icons.PHOTO_CAMERA, height=MIN_TARGET, on_click=take)),
            tagged("answer-pick-photo", ft.OutlinedButton(
                t("followup.gallery"), icon=ft.Icons.PHOTO_LIBRARY, height=MIN_TARGET,
                on_click=pick)),
            tagged("answer-no-photo", ft.OutlinedButton(
                t("followup.no_photo"), height=MIN_TARGET, on_click=without)),
            tagged("answer-cancel", ft.TextButton(
                t("common.cancel"), height=MIN_TARGET, on_click=cancel)),
        ],
        actions_alignment=ft.MainAxisAlignment.END,
        scrollable=True,
    )  # fmt: skip
    app.page.show_dialog(dialog)
    app.photos.attach(slot)

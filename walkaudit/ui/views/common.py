"""Pieces several screens share: the sync bar with the pending badge, the app bar."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import flet as ft

from walkaudit.ui.widgets import MIN_TARGET, Choice, palette, question, tagged

if TYPE_CHECKING:
    from walkaudit.ui.app import App


def sync_bar(app: App) -> ft.Container:
    """'3 waiting to sync' + Sync now + a progress bar while syncing; refreshed by app.refresh()."""
    t = app.t
    colours = palette(app.theme)
    badge = ft.Text(size=15, weight=ft.FontWeight.W_600)
    detail = ft.Text(size=13)
    bar = ft.ProgressBar(visible=False, bar_height=6)

    async def sync_now(e: Any) -> None:
        await app.ready.wait()  # tapped on the first screen of a cold start
        await app.syncer.run()

    # The tonal button's colours are the theme's (secondary container); in high contrast, yellow
    # on white, a black border shows where it is.
    side = ft.BorderSide(2, colours.control_side) if colours.control_side else None
    sync_button = ft.FilledTonalButton(
        t("sync.now"),
        icon=ft.Icons.SYNC,
        on_click=sync_now,
        height=MIN_TARGET,
        style=ft.ButtonStyle(side=side) if side else None,
    )
    button = tagged("sync-now", sync_button, t("sync.now"))
    retry_button = ft.TextButton(
        t("sync.retry_refused"),
        icon=ft.Icons.REPLAY,
        on_click=lambda e: _ask_retry_refused(app),
        height=MIN_TARGET,
    )
    retry = tagged("sync-retry-refused", retry_button, t("sync.retry_refused"))

    def update() -> None:
        if not app.ready.is_set():  # the first screen: the numbers follow in a moment
            retry.visible = detail.visible = False
            return
        counts = app.state.pending()
        n = counts.total
        if counts.refused:  # kept here, but no sync will move them: say so, not just "waiting"
            badge.value = t("pending.some_refused", n=n, k=counts.refused)
        else:
            badge.value = t("pending.some", n=n) if n else t("pending.none")
        badge.color = colours.pending if n else colours.synced
        info = app.syncer.describe(n)
        bar.visible = info["running"]
        bar.value = info["share"]
        detail.value = info["text"]
        detail.visible = bool(info["text"])
        sync_button.disabled = info["running"]
        # Only what was set aside needs a person's say to go again; the loop sends the rest.
        retry.visible = bool(counts.refused)
        retry_button.disabled = info["running"]

    update()
    app.on_refresh(update)
    # The badge takes the room the button leaves and wraps: a long count ("…, varav 2 som
    # servern inte tog emot") must not push Synka nu off the screen. The retry button has a line
    # of its own under the sentence that says what was refused, for the same reason.
    row = ft.Row(
        [ft.Container(tagged("pending-count", badge, badge.value), expand=True), button],
        alignment=ft.MainAxisAlignment.SPACE_BETWEEN,
    )
    return ft.Container(
        ft.Column([row, bar, detail, retry], spacing=4),
        padding=ft.Padding.symmetric(horizontal=12, vertical=6),
    )


def _ask_retry_refused(app: App) -> None:
    """Ask once, then queue what the server refused for good and sync: the walker may have
    mended the cause (or the server's rules changed), and only they can know."""
    t = app.t

    async def send_again(e: Any) -> None:
        app.page.pop_dialog()
        await app.work(app.state.store.retry_refused)
        if app.syncer.running:  # one under way may have its batch already: the next one sends
            app.syncer.wake()
            app.refresh()
        else:
            await app.syncer.run()

    app.page.show_dialog(
        question(
            None,
            t("sync.retry_refused_confirm"),
            quiet=Choice(
                "sync-retry-refused-cancel", t("common.cancel"), lambda e: app.page.pop_dialog()
            ),
            loud=Choice(
                "sync-retry-refused-confirm",
                t("sync.retry_refused_send"),
                send_again,
                icon=ft.Icons.SYNC,
            ),
        )
    )


def app_bar(
    app: App,
    title: str,
    back_to: str | None = None,
    actions: list[Any] | None = None,
    **back_params: Any,
) -> ft.AppBar:
    """The top bar; a back arrow to `back_to` (with back_params) when the screen has a parent."""
    leading = None
    if back_to:
        leading = tagged(
            "back",
            ft.IconButton(
                ft.Icons.ARROW_BACK,
                tooltip=app.t("common.back"),
                on_click=lambda e: app.go(back_to, **back_params),
            ),
        )
    return ft.AppBar(
        title=ft.Text(title),
        leading=leading,
        actions=actions or [],
        automatically_imply_leading=False,
    )

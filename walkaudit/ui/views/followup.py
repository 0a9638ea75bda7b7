"""Follow-up walk: choose one of the follow-ups the coordinators planned (or type an area), then
check each finding on its card — the original photo, what its holder answered — and mark it
"still there" or "fixed", with a photo if the walker takes one. The answer stays marked on the
card and can be changed until it is synced (a change then replaces it); once synced, a change is
a new answer. Everything the cards show is kept on the device, so the walk works without signal.

This module draws the two screens; one card is walkaudit.ui.views.followup_card, the answer
dialog followup_answer, and the fetching and recording (worker threads) followup_data.
"""

from __future__ import annotations

import contextlib
import json
from collections.abc import Awaitable, Callable
from typing import TYPE_CHECKING, Any

import flet as ft

from walkaudit import localtime, model, sync
from walkaudit.remote import RemotePhotos, card_photos
from walkaudit.ui import mapview, offline_map
from walkaudit.ui.views import common, followup_answer, followup_card, followup_data
from walkaudit.ui.widgets import MIN_TARGET, big_button, section_title, tagged

if TYPE_CHECKING:
    from walkaudit.ui.app import App


def build(app: App, followup_id: str = "", area: str = "", choose: bool = False) -> ft.View:
    """The chosen follow-up's cards, or (nothing chosen, or `choose`) the list to choose from."""
    if not (followup_id or area or choose):
        # Back from the start screen in the middle of a follow-up walk: take it up again.
        kept = json.loads(app.state.store.get_meta(followup_data.CHOSEN_KEY) or "{}")
        followup_id, area = kept.get("id", ""), kept.get("area", "")
    if followup_id or area:
        return _cards(app, followup_id, area)
    return _chooser(app)


# ---- choosing a follow-up ----------------------------------------------------------------------


def _chooser(app: App) -> ft.View:
    state, t = app.state, app.t
    listing = ft.Column(spacing=4)
    message = ft.Text()
    # Flutter refuses a Semantics wrapper around an invisible control: hide the wrapper.
    message_box = tagged("followup-message", message)
    message_box.visible = False
    field = ft.TextField(label=t("followup.area"))
    busy = {"on": False}

    def show_list() -> None:
        items, fetched_at = state.remote.followups()
        listing.controls = [_followup_tile(app, f, choose_followup) for f in items]
        if fetched_at is not None and not items:
            listing.controls = [ft.Text(t("followup.list_empty"))]

    async def refresh_list(e: Any = None) -> None:
        if not state.enrolled or busy["on"]:
            return
        busy["on"] = True
        message.value, message_box.visible = t("followup.list_loading"), True
        app.page.update()
        try:
            await app.work(followup_data.fetch_list, app)
        except sync.SyncError:
            _, fetched_at = state.remote.followups()
            message.value = (
                t("followup.list_offline", when=localtime.day_hm(fetched_at))
                if fetched_at
                else t("followup.list_never")
            )
        else:
            message_box.visible = False
        finally:
            busy["on"] = False
        show_list()
        app.page.update()

    async def choose_followup(summary: model.FollowupSummary) -> None:
        if busy["on"]:
            return  # a second tap while the first one fetches
        busy["on"] = True
        message.value, message_box.visible = t("followup.loading"), True
        app.page.update()
        try:
            await app.work(followup_data.fetch_followup, app, summary.id, None)
        except sync.ServerRejectedError:
            # Closed (or removed) since the list was fetched: say so, and show the list as it is.
            busy["on"] = False
            app.snack(t("followup.gone"), error=True)
            await refresh_list()
            return
        except sync.SyncError:
            if not state.remote.followup_findings(summary.id):
                busy["on"] = False
                message_box.visible = False
                app.snack(t("followup.offline"), error=True)
                app.page.update()
                return
            app.snack(t("followup.offline"), error=True)  # the cards as fetched before
        busy["on"] = False
        followup_data.remember(app, {"id": summary.id})
        app.go("followup", followup_id=summary.id)

    async def load_area(e: Any) -> None:
        name = (field.value or "").strip()
        if not name or busy["on"]:
            return
        busy["on"] = True
        try:
            await app.work(followup_data.fetch_followup, app, None, name)
        except sync.SyncError:
            app.snack(t("followup.offline"), error=True)
        finally:
            busy["on"] = False
        followup_data.remember(app, {"area": name})
        app.go("followup", area=name)

    show_list()
    body: list[Any] = [
        ft.Row(
            [
                section_title(t("followup.choose")),
                tagged(
                    "followup-refresh",
                    ft.IconButton(
                        ft.Icons.REFRESH, tooltip=t("followup.refresh"), on_click=refresh_list
                    ),
                    t("followup.refresh"),
                ),
            ],
            alignment=ft.MainAxisAlignment.SPACE_BETWEEN,
        ),
        message_box,
        tagged("followup-list", listing),
        ft.Divider(),
        ft.Text(t("followup.other")),
        tagged("followup-area", field, t("followup.area")),
        ft.Row(
            [
                tagged(
                    "followup-load",
                    ft.FilledButton(t("followup.load"), on_click=load_area, height=MIN_TARGET),
                )
            ]
        ),
        _home_button(app),
    ]
    view = _screen(app, body)
    if state.enrolled:
        app.page.run_task(refresh_list)
    return view


def _followup_tile(
    app: App,
    f: model.FollowupSummary,
    choose: Callable[[model.FollowupSummary], Awaitable[None]],
) -> ft.Control:
    t = app.t

    async def tapped(e: Any) -> None:
        await choose(f)

    counts = t("followup.counts", area=f.area or "–", open=f.open, n=f.findings)
    return tagged(
        f"followup-{f.id}",
        ft.ListTile(
            leading=ft.Icon(ft.Icons.CHECKLIST),
            title=ft.Text(f.name, weight=ft.FontWeight.BOLD),
            subtitle=ft.Text(f"{counts} · {localtime.day_hm(f.created_at)[:10]}"),
            trailing=ft.Icon(ft.Icons.CHEVRON_RIGHT),
            on_click=tapped,
            min_height=56,
        ),
        f.name,
    )


# ---- the cards -----------------------------------------------------------------------------------

CARDS_PAGE = 30


def _cards(app: App, followup_id: str, area: str) -> ft.View:
    state, t = app.state, app.t
    if followup_id:
        items = state.remote.followup_findings(followup_id)
        summary = state.remote.followup(followup_id)
        title = summary.name if summary else t("followup.title")
    else:
        kept = state.remote.followup_findings(followup_data.area_key(area))
        items = kept or state.remote.in_area(area)
        title = area
    photos = RemotePhotos(state.store)
    mine = state.remote.my_answers(i.finding.id for i in items)
    slots: dict[str, ft.Container] = {}
    by_id = {i.finding.id: i for i in items}

    def redraw(finding_id: str) -> None:
        if finding_id not in slots:  # a card not built yet (further down than shown)
            return
        item = by_id[finding_id]
        slots[finding_id].content = followup_card.card_body(
            app, item, mine.get(finding_id), photos, ask
        )

    def ask(item: model.OpenFinding, kind: model.EventKind) -> Callable[[Any], Awaitable[None]]:
        # A real coroutine function per button: a lambda returning a coroutine would never run.
        async def handler(e: Any) -> None:
            await followup_answer.ask_photo(app, item, kind, recorded)

        return handler

    def recorded(finding_id: str) -> None:
        mine.update(state.remote.my_answers([finding_id]))
        redraw(finding_id)
        app.page.update()

    def after_sync() -> None:
        # "waiting to sync" becomes "sent" on the cards whose answers went.
        now = state.remote.my_answers(slots)
        for fid in [f for f in slots if now.get(f) != mine.get(f)]:
            mine[fid] = now[fid]
            redraw(fid)

    # A follow-up may hold up to 2,000 findings: cards are built a page at a time (each reads
    # its photos from disk and sends them to the client), like the findings list.
    cards = ft.Column(spacing=0)
    more_button = ft.OutlinedButton(height=MIN_TARGET, on_click=lambda e: show_more())
    more = tagged("followup-more", more_button)

    def show_more(update: bool = True) -> None:
        if more in cards.controls:
            cards.controls.remove(more)
        start = len(slots)
        for item in items[start : start + CARDS_PAGE]:
            fid = item.finding.id
            slots[fid] = ft.Container()
            redraw(fid)
            cards.controls.append(
                tagged(f"followup-card-{fid}", ft.Card(slots[fid], margin=ft.Margin.only(bottom=6)))
            )
        left = len(items) - len(slots)
        if left:
            more_button.content = t("finding.more", n=left)
            cards.controls.append(more)
        if update:
            app.page.update()

    show_more(update=False)
    app.on_refresh(after_sync)

    async def fetch_photos() -> None:
        wanted = [s for i in items for s in card_photos(i) if not photos.has(s)]
        if not wanted or not state.enrolled:
            return
        got: list[str] = []
        with contextlib.suppress(Exception):  # offline: the placeholders stay, nothing lost
            await app.work(followup_data.fetch_photos, app, wanted, got.append)
        for i in items:
            if set(card_photos(i)) & set(got):
                redraw(i.finding.id)
        app.page.update()

    pins = [
        mapview.Pin(i.finding.id, i.finding.latitude, i.finding.longitude, i.finding.category,
                    followup_card.pin_status(i, mine.get(i.finding.id)))
        for i in items
    ]  # fmt: skip
    # (No expanding child in a wrapping row: Flutter cannot lay that out and greys the screen.)
    body: list[Any] = [
        ft.Text(title, size=18, weight=ft.FontWeight.BOLD),
        ft.Row(
            [
                tagged(
                    "followup-change",
                    ft.TextButton(
                        t("followup.change"),
                        icon=ft.Icons.LIST,
                        height=MIN_TARGET,
                        on_click=lambda e: app.go("followup", choose=True),
                    ),
                )
            ]
        ),
    ]
    if not items:
        body.append(ft.Text(t("followup.none")))
    else:
        body.append(
            ft.Container(
                mapview.build_map(
                    offline_map.of(app).map_tiles(
                        _middle(pins) or (state.last_position[:2] if state.last_position else None)
                    ),
                    pins,
                    height=240,
                    me=state.last_position,
                    zoom=15,
                    attach=offline_map.of(app).attach,  # a package arriving switches it
                ),
                height=240,
            )
        )
        body.append(cards)
    body.append(_home_button(app))
    view = _screen(app, body)
    app.page.run_task(fetch_photos)
    return view


def _screen(app: App, body: list[Any]) -> ft.View:
    """The follow-up screen around its body (the list of follow-ups, or one follow-up's cards)."""
    return ft.View(
        horizontal_alignment=ft.CrossAxisAlignment.STRETCH,
        route="/followup",
        appbar=common.app_bar(app, app.t("followup.title"), back_to="start"),
        scroll=ft.ScrollMode.AUTO,
        padding=12,
        controls=[common.sync_bar(app), *body],
    )


def _home_button(app: App) -> ft.Control:
    return ft.Row(
        [
            big_button(
                "followup-home",
                app.t("end.home"),
                ft.Icons.HOME,
                lambda e: app.go("start"),
                primary=False,
                height=56,
            )
        ]
    )


def _middle(pins: list[mapview.Pin]) -> tuple[float, float] | None:
    """Where the follow-up map opens: the middle of its findings."""
    if not pins:
        return None
    return (
        sum(p.latitude for p in pins) / len(pins),
        sum(p.longitude for p in pins) / len(pins),
    )

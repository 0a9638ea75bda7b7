"""Follow-up walk: choose one of the follow-ups the coordinators planned (or type an area), then
check each finding on its card — the original photo, what its holder answered — and mark it
"still there" or "fixed", with a photo if the walker takes one. The answer stays marked on the
card and can be changed until it is synced (a change then replaces it); once synced, a change is
a new answer. Everything the cards show is kept on the device, so the walk works without signal.
"""

from __future__ import annotations

import contextlib
import json
import logging
from collections.abc import Awaitable, Callable, Iterator
from typing import TYPE_CHECKING, Any

import flet as ft

from walkaudit import answers, localtime, model, sync
from walkaudit.remote import MyAnswer, RemotePhotos, card_photos
from walkaudit.ui import mapview, offline_map
from walkaudit.ui.views import common
from walkaudit.ui.views.finding import who_answered
from walkaudit.ui.views.findings import status_text
from walkaudit.ui.widgets import (
    MIN_TARGET,
    big_button,
    category_badge,
    section_title,
    status_chip,
    tagged,
)

if TYPE_CHECKING:
    from walkaudit.ui.app import App

log = logging.getLogger("walkaudit.ui")
_CHOSEN_KEY = "ui.followup"  # what the walker chose last: {"id": …} or {"area": …}
_STILL, _FIXED = model.EventKind.STILL_THERE, model.EventKind.VERIFIED


def build(app: App, followup_id: str = "", area: str = "", choose: bool = False) -> ft.View:
    """The chosen follow-up's cards, or (nothing chosen, or `choose`) the list to choose from."""
    if not (followup_id or area or choose):
        # Back from the start screen in the middle of a follow-up walk: take it up again.
        kept = json.loads(app.state.store.get_meta(_CHOSEN_KEY) or "{}")
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
            await app.work(_fetch_list, app)
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
            await app.work(_fetch_followup, app, summary.id, None)
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
        _remember(app, {"id": summary.id})
        app.go("followup", followup_id=summary.id)

    async def load_area(e: Any) -> None:
        name = (field.value or "").strip()
        if not name or busy["on"]:
            return
        busy["on"] = True
        try:
            await app.work(_fetch_followup, app, None, name)
        except sync.SyncError:
            app.snack(t("followup.offline"), error=True)
        finally:
            busy["on"] = False
        _remember(app, {"area": name})
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
        items = state.remote.followup_findings(_area_key(area)) or state.remote.in_area(area)
        title = area
    photos = RemotePhotos(state.store)
    mine = state.remote.my_answers(i.finding.id for i in items)
    slots: dict[str, ft.Container] = {}
    by_id = {i.finding.id: i for i in items}

    def redraw(finding_id: str) -> None:
        if finding_id not in slots:  # a card not built yet (further down than shown)
            return
        item = by_id[finding_id]
        slots[finding_id].content = _card_body(app, item, mine.get(finding_id), photos, ask)

    def ask(item: model.OpenFinding, kind: model.EventKind) -> Callable[[Any], Awaitable[None]]:
        # A real coroutine function per button: a lambda returning a coroutine would never run.
        async def handler(e: Any) -> None:
            await _ask_photo(app, item, kind, recorded)

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
            await app.work(_fetch_photos, app, wanted, got.append)
        for i in items:
            if set(card_photos(i)) & set(got):
                redraw(i.finding.id)
        app.page.update()

    pins = [
        mapview.Pin(i.finding.id, i.finding.latitude, i.finding.longitude, i.finding.category,
                    _pin_status(i, mine.get(i.finding.id)))
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


def _card_body(
    app: App,
    item: model.OpenFinding,
    mine: MyAnswer | None,
    photos: RemotePhotos,
    ask: Callable[[model.OpenFinding, model.EventKind], Callable[[Any], Awaitable[None]]],
) -> ft.Control:
    t, f = app.t, item.finding
    lines: list[ft.Control] = [
        ft.Row(
            [
                category_badge(f.category, 28),
                ft.Text(app.state.t.category(f.category), weight=ft.FontWeight.BOLD, expand=True),
                status_chip(status_text(app, item.status.value, f.category), item.status.value),
            ]
        )
    ]
    # The report's photo (to recognise the place) and the holder's photo of the fix, side by
    # side: two cards fit on a phone's screen.
    pictures = [
        _photo(app, photos, p.sha256, "original", t("followup.original_photo"))
        for p in f.photos[:1]
    ]
    if item.answer is not None:
        pictures += [
            _photo(app, photos, p.sha256, "answer", t("answers.fix_photo"))
            for p in item.answer.photos[:1]
        ]
    if pictures:
        lines.append(ft.Row(pictures, vertical_alignment=ft.CrossAxisAlignment.START))
    lines.append(ft.Text(f.note or "–"))
    if item.answer is not None:
        lines.append(_holder_answer(app, item))
    if mine is not None:
        what = _answer_word(app, mine.kind)
        if mine.photos:
            what += f" ({t('followup.with_photos', n=mine.photos)})"
        key = "followup.my_answer_sent" if mine.sent else "followup.my_answer_waiting"
        lines.append(tagged(f"my-answer-{f.id}", ft.Text(t(key, what=what), italic=True)))
    lines.append(
        ft.Row(
            [
                _answer_button(app, f.id, _STILL, mine, ask(item, _STILL)),
                _answer_button(app, f.id, _FIXED, mine, ask(item, _FIXED)),
            ],
            wrap=True,
        )
    )
    return ft.Container(ft.Column(lines, spacing=6), padding=12)


def _holder_answer(app: App, item: model.OpenFinding) -> ft.Control:
    """The holder's latest answer: who, what (with the planned date), the comment."""
    assert item.answer is not None
    t, f = app.t, item.finding
    a = answers.read_answer(item.answer)
    what = t(answers.event_key(a.event.kind.value, f.category))
    if a.planned is not None:
        day = answers.long_date(a.planned, t("answers.months"))
        what = t("answers.planned_for", date=day)
    who = who_answered(app, a.event, f.category) or t(f"answers.by.{answers.holder(f.category)}")
    text = t("followup.holder_answer", who=who, what=what)
    if a.comment:
        reason = a.event.kind is model.EventKind.NOT_OURS
        text += f"\n{t('answers.reason', reason=a.comment) if reason else a.comment}"
    return tagged(f"holder-answer-{f.id}", ft.Text(text))


def _photo(app: App, photos: RemotePhotos, sha: str, role: str, label: str) -> ft.Control:
    """A server photo's small copy (kept on the device), or a note that it comes with signal."""
    data = photos.read(sha)
    if data is None:
        content: ft.Control = tagged(
            f"{role}-photo-missing-{sha}",
            ft.Text(app.t("followup.photo_missing"), size=13, italic=True),
        )
    else:
        image = ft.Image(src=data, height=140, fit=ft.BoxFit.CONTAIN, semantics_label=label)
        content = tagged(f"{role}-photo-{sha}", image, label)
    return ft.Container(content, expand=1, alignment=ft.Alignment.TOP_LEFT)


def _answer_word(app: App, kind: model.EventKind) -> str:
    return app.t("followup.fixed" if kind is _FIXED else "followup.still_there")


def _answer_button(
    app: App,
    finding_id: str,
    kind: model.EventKind,
    mine: MyAnswer | None,
    on_click: Callable[[Any], Awaitable[None]],
) -> ft.Control:
    """Filled with a check when it is the walker's answer, outlined otherwise."""
    label = _answer_word(app, kind)
    chosen = mine is not None and mine.kind is kind
    if chosen:
        button: ft.Control = ft.FilledButton(
            label, icon=ft.Icons.CHECK, height=MIN_TARGET, on_click=on_click
        )
    else:
        icon = ft.Icons.TASK_ALT if kind is _FIXED else ft.Icons.REPORT
        button = ft.OutlinedButton(label, icon=icon, height=MIN_TARGET, on_click=on_click)
    prefix = "fixed" if kind is _FIXED else "still-there"
    spoken = f"{label}, {app.t('followup.chosen')}" if chosen else label
    wrapper = tagged(f"{prefix}-{finding_id}", button, spoken)
    wrapper.selected = chosen
    return wrapper


def _pin_status(item: model.OpenFinding, mine: MyAnswer | None) -> str:
    if mine is None:
        return item.status.value
    return "verified" if mine.kind is _FIXED else "reopened"


# ---- the walker's answer, with or without a photo ------------------------------------------------


async def _ask_photo(
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
            usable = await app.work(_record, app, item.finding.id, kind, raw)
        except Exception:  # e.g. a full disk: say so; the card is unchanged, the walker can retry
            log.exception("follow-up answer not recorded")
            done["yes"] = False
            app.snack(t("followup.answer_failed"), error=True)
            return
        recorded(item.finding.id)
        if not usable:
            app.snack(t("followup.photo_unusable"), error=True)
        else:
            app.snack(t("followup.marked", what=_answer_word(app, kind)))
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

    title = t("followup.photo_fixed" if kind is _FIXED else "followup.photo_still")
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


# ---- blocking work (worker threads) --------------------------------------------------------------


def _remember(app: App, chosen: dict[str, str]) -> None:
    app.state.store.set_meta(**{_CHOSEN_KEY: json.dumps(chosen)})


def _area_key(area: str) -> str:
    return f"area:{area.strip().lower()}"


@contextlib.contextmanager
def _client(app: App) -> Iterator[sync.SyncClient]:
    import httpx

    if not app.state.enrolled:
        raise sync.NotEnrolledError("not enrolled")
    with httpx.Client(timeout=httpx.Timeout(20, connect=5)) as http:
        yield sync.SyncClient(app.state.store, http, retry=sync.RetryPolicy(attempts=2))


def _fetch_list(app: App) -> None:
    with _client(app) as client:
        app.state.remote.save_followups(client.fetch_followups())


def _fetch_followup(app: App, followup_id: str | None, area: str | None) -> None:
    """A follow-up's findings, kept for the walk (the cards fetch their photos once shown)."""
    with _client(app) as client:
        client.fetch_followup(followup_id=followup_id, area=area)


def _fetch_photos(app: App, shas: list[str], on_arrival: Callable[[str], None]) -> None:
    with _client(app) as client:
        RemotePhotos(app.state.store).fetch_missing(client, shas, on_arrival)


def _record(app: App, finding_id: str, kind: model.EventKind, raw: list[bytes]) -> bool:
    """A follow-up answer (with its photo, processed now) queued for sync; False if a photo was
    unusable (the answer is saved all the same)."""
    from walkaudit import media

    photos = []
    usable = True
    for data in raw:
        try:
            photos.append(
                media.process_photo(data, name="foto", max_edge=app.state.settings.max_edge)
            )
        except Exception:  # a photo Pillow cannot use: the answer counts without it
            usable = False
    app.state.remote.answer(finding_id, kind, photos)
    return usable


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

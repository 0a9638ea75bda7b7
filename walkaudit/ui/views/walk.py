"""The walk: the map with findings, route and position; one big "new finding" button.

*Avsluta* asks first, showing what the walk holds and what still waits for sync; the end
screen can take the walk up again for a while (walk_end.py).
"""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING, Any

import flet as ft

from walkaudit.store import NoActiveWalkError
from walkaudit.ui import mapview, offline_map
from walkaudit.ui.views import common, walk_end
from walkaudit.ui.widgets import BIG_TARGET, MIN_TARGET, big_button, tagged

log = logging.getLogger("walkaudit.ui")
NEARBY_FETCH_M = 1500  # a walk's area, roughly

if TYPE_CHECKING:
    from walkaudit.ui.app import App
    from walkaudit.ui.state import AppState


def pins(state: AppState, walk_id: str | None) -> list[mapview.Pin]:
    """This walk's findings (and captures still being processed) as map pins."""
    result = [
        mapview.Pin(r["id"], r["latitude"], r["longitude"], r["category"], sync_status(r))
        for r in state.store.findings(walk_id)
    ]
    for c in state.inbox.items():
        if walk_id is None or c.finding.walk_id == walk_id:
            f = c.finding
            result.append(mapview.Pin(f.id, f.latitude, f.longitude, f.category, "waiting"))
    return result


def sync_status(row: dict[str, Any]) -> str:
    """What a pin's ring shows: conflict, refused, waiting, or the server's status."""
    if row["state"] in ("conflict", "refused"):
        return str(row["state"])
    # The server has the finding but refused every photo still here: no sync will move it.
    if (
        row["state"] == "confirmed"
        and row["photos_refused"]
        and (row["photos_waiting"] == row["photos_refused"])
    ):
        return "refused"
    if row["state"] != "confirmed" or row["photos_waiting"]:
        return "waiting"
    return str(row["server_status"] or "received")


def build(app: App, walk_id: str | None = None) -> ft.View:
    state, t = app.state, app.t
    walk = state.store.walk(walk_id) if walk_id else state.store.active_walk()
    if walk is None:
        return _no_walk(app)
    me0 = state.last_position
    start_pins = pins(state, walk.id)
    maps = offline_map.of(app)
    centre = (
        me0[:2]
        if me0
        else ((start_pins[-1].latitude, start_pins[-1].longitude) if start_pins else None)
    ) or maps.centre()  # no position yet: the walk's area, if its map is on the phone
    live = mapview.LiveMap(maps.map_tiles(centre), centre=centre)
    # The map switches to the area's package when it arrives; on every redraw the maps look
    # after themselves (a sync that got through, the walker leaving the maps, the tile server).
    maps.attach(live)
    live.set_pins(start_pins)
    holder = ft.Container(live.control, expand=True)
    position = ft.Text(size=13)

    def draw() -> None:
        # Called on every GPS fix and every sync: only what changed is sent to the client.
        me = state.last_position
        live.set_pins(pins(state, walk.id))
        live.set_route(state.store.route(walk.id))
        live.set_me(me)
        # Where the walker is decides the hint (a package here: a tile that failed lay elsewhere).
        live.set_tiles(maps.map_tiles(me[:2] if me else centre))
        maps.redraw_panels()
        position.value = (
            t("walk.position", accuracy=round(me[2] or 0)) if me else t("walk.no_position")
        )

    draw()
    app.on_refresh(draw)
    if walk.ended_at is None and app.location.tracking_walk != walk.id:
        app.page.run_task(_resume_route, app, walk.id)
    if walk.ended_at is None:
        # Online at the walk's start: the area's map comes to the phone for the rest of it.
        app.page.run_task(maps.walk_opened, walk.id)

    asking = {"open": False, "ending": False}

    async def ask_end(e: Any) -> None:
        # A second tap on *Avsluta* while the question is up (or being put) changes nothing.
        if asking["open"] or asking["ending"]:
            return
        asking["open"] = True
        try:
            s = await app.work(walk_end.summary, app, walk.id)
        except Exception:
            asking["open"] = False
            raise
        holds = t(
            "walk.end_ask.holds",
            findings=s["findings"],
            photos=s["photos"],
            minutes=s["minutes"],
            km=s["km"],
        )
        waiting = (
            t("walk.end_ask.waiting", n=s["waiting"]) if s["waiting"] else t("walk.end_ask.synced")
        )
        dialog = ft.AlertDialog(
            modal=True,
            title=ft.Text(t("walk.end_ask.title")),
            content=ft.Column(
                [
                    ft.Text(holds, size=16, weight=ft.FontWeight.W_600, key="walk-end-holds"),
                    ft.Text(waiting, key="walk-end-waiting"),
                    ft.Text(t("walk.end_ask.undo")),
                ],
                tight=True,
                spacing=8,
            ),
            actions=[
                tagged(
                    "walk-end-cancel",
                    ft.OutlinedButton(
                        t("walk.end_cancel"), on_click=keep_walking, height=MIN_TARGET
                    ),
                    t("walk.end_cancel"),
                ),
                tagged(
                    "walk-end-confirm",
                    ft.FilledButton(t("walk.end_confirm"), on_click=end_walk, height=MIN_TARGET),
                    t("walk.end_confirm"),
                ),
            ],
            on_dismiss=closed,
        )
        app.page.show_dialog(dialog)

    def closed(e: Any) -> None:
        # Gone some other way (the phone's back button): *Avsluta* must ask again next time.
        asking["open"] = False

    def keep_walking(e: Any) -> None:
        asking["open"] = False
        app.page.pop_dialog()

    async def end_walk(e: Any) -> None:
        if asking["ending"]:
            return
        asking["ending"] = True
        app.page.pop_dialog()
        try:
            ended = await app.work(state.store.end_walk)
        except NoActiveWalkError:  # ended meanwhile (the CLI on the same data): show its end
            ended = await app.work(state.store.walk, walk.id)
        app.forget_views()
        app.location.stop_route()
        app.go("walk_end", walk_id=ended.id)
        app.syncer.wake()  # the walk's end goes to the server now, not at the next look

    new = big_button(
        "new-finding",
        t("walk.new_finding"),
        ft.Icons.ADD_A_PHOTO,
        lambda e: app.go("new_finding", walk_id=walk.id),
        height=BIG_TARGET + 8,
    )
    actions = [
        tagged(
            "open-findings",
            ft.IconButton(
                ft.Icons.LIST,
                tooltip=t("walk.findings"),
                on_click=lambda e: app.go("findings", walk_id=walk.id),
            ),
        ),
    ]
    if walk.ended_at is None:
        actions.append(
            tagged(
                "walk-end",
                ft.TextButton(t("walk.end"), icon=ft.Icons.FLAG, on_click=ask_end, height=48),
            )
        )
    return ft.View(
        horizontal_alignment=ft.CrossAxisAlignment.STRETCH,
        route="/walk",
        appbar=common.app_bar(app, walk.name, back_to="start", actions=actions),
        # The big button sits below the map, where a thumb reaches it, never over a marker.
        bottom_appbar=ft.BottomAppBar(ft.Row([new]), height=BIG_TARGET + 32)
        if walk.ended_at is None
        else None,
        padding=0,
        controls=[
            common.sync_bar(app),
            ft.Container(position, padding=ft.Padding.only(left=12)),
            maps.panel(),
            holder,
        ],
    )


async def _resume_route(app: App, walk_id: str) -> None:
    """Continuing a walk (after a restart, say): the route and the position pick up again."""
    if await app.location.ensure_permission():
        app.location.start_route(walk_id)
        fix = await app.location.fix()
        app.refresh()
        if fix is not None and app.state.enrolled:
            # Open findings around here, so "the same thing?" can offer them without signal later.
            try:
                await app.work(_fetch_nearby, app, fix[0], fix[1])
            except Exception:  # offline: the copy fetched last time still serves
                log.info("could not fetch open findings nearby", exc_info=True)


def _fetch_nearby(app: App, lat: float, lon: float) -> None:
    import httpx

    from walkaudit import sync

    with httpx.Client(timeout=10) as http:
        client = sync.SyncClient(app.state.store, http, retry=sync.RetryPolicy(attempts=1))
        client.fetch_open(near=(lat, lon), radius_m=NEARBY_FETCH_M)


def _no_walk(app: App) -> ft.View:
    return ft.View(
        horizontal_alignment=ft.CrossAxisAlignment.STRETCH,
        route="/walk",
        appbar=common.app_bar(app, app.t("app.title"), back_to="start"),
        controls=[ft.Text(app.t("start.no_walks"))],
    )

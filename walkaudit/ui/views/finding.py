"""One finding: photo, place, where it stands and what its holder answered (comment, planned
date, a small copy of the fix photo); edit or delete before it has been sent.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import flet as ft

from walkaudit import answers, localtime, model
from walkaudit.remote import RemotePhotos
from walkaudit.store import FrozenError
from walkaudit.ui import mapview, offline_map
from walkaudit.ui.views import common
from walkaudit.ui.views.findings import status_text
from walkaudit.ui.views.walk import sync_status
from walkaudit.ui.widgets import MIN_TARGET, Choice, question, section_title, status_chip, tagged

if TYPE_CHECKING:
    from walkaudit.ui.app import App


def build(app: App, finding_id: str, walk_id: str | None = None) -> ft.View:
    state, t = app.state, app.t
    f = state.store.finding(finding_id)
    row = next(r for r in state.store.findings() if r["id"] == finding_id)
    status = sync_status(row)
    sent = row["pushed_at"] is not None or status != "waiting"
    photos = [
        ft.Image(
            src=state.store.photo_path(p.sha256).read_bytes(),
            height=220,
            fit=ft.BoxFit.CONTAIN,
            semantics_label=t("finding.photo_ready"),
        )
        for p in f.photos
    ]
    note = ft.TextField(label=t("finding.note"), value=f.note, multiline=True, max_length=4000)

    async def save_note(e: Any) -> None:
        text = (note.value or "").strip()
        if text != f.note:
            await app.work(lambda: state.store.revise_finding(f.id, note=text))
            app.snack(t("settings.saved"))
        app.go("finding", finding_id=f.id, walk_id=walk_id)

    def confirm_delete(e: Any) -> None:
        def really(ev: Any) -> None:
            app.page.pop_dialog()
            try:
                state.store.delete_unsent(f.id)
            except FrozenError:
                app.snack(t("finding.delete_frozen"), error=True)
                return
            app.go("findings", walk_id=walk_id)

        app.page.show_dialog(
            question(
                None,
                t("finding.delete_confirm"),
                quiet=Choice("delete-cancel", t("common.cancel"), lambda ev: app.page.pop_dialog()),
                loud=Choice("delete-confirm", t("finding.delete"), really, danger=True),
            )
        )

    events = state.store.history(f.id)
    history = [ft.Text(_history_line(app, e, f.category)) for e in events]
    answered = answer_cards(app, answers.answers_of(state.store, f.id), f.category)
    actions: list[Any] = [
        tagged(
            "finding-save-note",
            ft.FilledTonalButton(
                t("finding.edit"), icon=ft.Icons.EDIT, on_click=save_note, height=MIN_TARGET
            ),
        )
    ]
    if not sent:
        actions.append(
            tagged(
                "finding-delete",
                ft.OutlinedButton(
                    t("finding.delete"),
                    icon=ft.Icons.DELETE,
                    on_click=confirm_delete,
                    height=MIN_TARGET,
                ),
            )
        )
    pin = mapview.Pin(f.id, f.latitude, f.longitude, f.category, status)
    return ft.View(
        horizontal_alignment=ft.CrossAxisAlignment.STRETCH,
        route="/finding",
        appbar=common.app_bar(
            app, state.t.category(f.category), back_to="findings", walk_id=walk_id
        ),
        scroll=ft.ScrollMode.AUTO,
        padding=12,
        controls=[
            ft.Row(
                [
                    status_chip(status_text(app, status, f.category), status),
                    ft.Text(t(f"severity.{f.severity.value}")),
                ]
            ),
            *photos,
            # What the holder answered is the news: right under the photo, before the place.
            *([section_title(t("answers.title")), *answered] if answered else []),
            ft.Text(
                f"{f.latitude:.5f}, {f.longitude:.5f}"
                + (f" ±{round(f.accuracy)} m" if f.accuracy is not None else "")
            ),
            ft.Container(
                mapview.build_map(
                    offline_map.of(app).map_tiles((f.latitude, f.longitude)),
                    [pin],
                    centre=(f.latitude, f.longitude),
                    zoom=17,
                    height=180,
                    attach=offline_map.of(app).attach,  # a package arriving switches it
                ),
                height=180,
            ),
            tagged("finding-note", note, t("finding.note")),
            ft.Row(actions, wrap=True),
            section_title(t("finding.history")),
            *(history or [ft.Text("–")]),
        ],
    )


# Notes worth a line in the history: what a coordinator wrote (a sent event's note is only the
# recipient's address; an answer's note is shown in its card above).
_NOTED = frozenset({model.EventKind.COMMENT, model.EventKind.REOPENED, model.EventKind.CLOSED})


def _history_line(app: App, event: model.FindingEvent, category: str) -> str:
    line = f"{localtime.day_hm(event.at)} · {app.t(answers.event_key(event.kind.value, category))}"
    if event.kind in _NOTED and event.note.strip():
        line += f" · {event.note.strip()}"
    return line


def who_answered(app: App, event: model.FindingEvent, category: str) -> str:
    """Who made an event, in words ("Ägaren", "Polisen", a coordinator's name), or ''."""
    named = answers.actor_key(event.actor, category)
    return app.t(named[0], **named[1]) if named else ""


def answer_cards(app: App, found: list[answers.Answer], category: str) -> list[ft.Control]:
    """The holder's answers, newest first: who, what, when, the planned date, comment, photo."""
    t = app.t
    photos = RemotePhotos(app.state.store)
    cards: list[ft.Control] = []
    for a in found:
        e = a.event
        what = t(answers.event_key(e.kind.value, category))
        who = who_answered(app, e, category)
        head = f"{who} · {what}" if who else what
        lines: list[ft.Control] = [
            ft.Text(head, weight=ft.FontWeight.BOLD),
            ft.Text(localtime.day_hm(e.at), size=13),
        ]
        if a.planned is not None:
            day = answers.long_date(a.planned, t("answers.months"))
            lines.append(
                tagged(f"answer-planned-{e.id}", ft.Text(t("answers.planned_for", date=day)))
            )
        if a.comment:
            text = (
                t("answers.reason", reason=a.comment)
                if e.kind is model.EventKind.NOT_OURS
                else a.comment
            )
            lines.append(tagged(f"answer-comment-{e.id}", ft.Text(text)))
        for sha in a.photos:
            data = photos.read(sha)
            if data is None:
                lines.append(ft.Text(t("answers.photo_coming"), size=13, italic=True))
            else:
                lines.append(
                    tagged(
                        f"answer-photo-{sha}",
                        ft.Image(
                            src=data,
                            height=200,
                            fit=ft.BoxFit.CONTAIN,
                            semantics_label=t("answers.fix_photo"),
                        ),
                        t("answers.fix_photo"),
                    )
                )
        cards.append(
            tagged(
                f"answer-{e.id}",
                ft.Container(
                    ft.Column(lines, spacing=4),
                    padding=10,
                    border=ft.Border.all(1, ft.Colors.OUTLINE_VARIANT),
                    border_radius=8,
                ),
            )
        )
    return cards

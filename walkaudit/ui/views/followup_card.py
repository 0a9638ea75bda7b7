"""One finding's card on a follow-up walk: the report's photo and the holder's, what the holder
answered, the walker's own answer and the two buttons ("still there", "fixed").

Apart from the screen (walkaudit.ui.views.followup), which pages these cards in and redraws one
when its answer changes.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import TYPE_CHECKING, Any

import flet as ft

from walkaudit import answers, model
from walkaudit.remote import MyAnswer, RemotePhotos
from walkaudit.ui.views.finding import who_answered
from walkaudit.ui.views.findings import status_text
from walkaudit.ui.widgets import MIN_TARGET, category_badge, status_chip, tagged

if TYPE_CHECKING:
    from walkaudit.ui.app import App

STILL, FIXED = model.EventKind.STILL_THERE, model.EventKind.VERIFIED


def card_body(
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
        what = answer_word(app, mine.kind)
        if mine.photos:
            what += f" ({t('followup.with_photos', n=mine.photos)})"
        key = "followup.my_answer_sent" if mine.sent else "followup.my_answer_waiting"
        lines.append(tagged(f"my-answer-{f.id}", ft.Text(t(key, what=what), italic=True)))
    lines.append(
        ft.Row(
            [
                _answer_button(app, f.id, STILL, mine, ask(item, STILL)),
                _answer_button(app, f.id, FIXED, mine, ask(item, FIXED)),
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


def answer_word(app: App, kind: model.EventKind) -> str:
    return app.t("followup.fixed" if kind is FIXED else "followup.still_there")


def _answer_button(
    app: App,
    finding_id: str,
    kind: model.EventKind,
    mine: MyAnswer | None,
    on_click: Callable[[Any], Awaitable[None]],
) -> ft.Control:
    """Filled with a check when it is the walker's answer, outlined otherwise."""
    label = answer_word(app, kind)
    chosen = mine is not None and mine.kind is kind
    if chosen:
        button: ft.Control = ft.FilledButton(
            label, icon=ft.Icons.CHECK, height=MIN_TARGET, on_click=on_click
        )
    else:
        icon = ft.Icons.TASK_ALT if kind is FIXED else ft.Icons.REPORT
        button = ft.OutlinedButton(label, icon=icon, height=MIN_TARGET, on_click=on_click)
    prefix = "fixed" if kind is FIXED else "still-there"
    spoken = f"{label}, {app.t('followup.chosen')}" if chosen else label
    wrapper = tagged(f"{prefix}-{finding_id}", button, spoken)
    wrapper.selected = chosen
    return wrapper


def pin_status(item: model.OpenFinding, mine: MyAnswer | None) -> str:
    if mine is None:
        return item.status.value
    return "verified" if mine.kind is FIXED else "reopened"

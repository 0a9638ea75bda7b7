"""The follow-up screen's blocking work, run in worker threads: fetching the list of follow-ups,
one follow-up's findings and their photos, and recording the walker's answer.

Apart from the drawing (walkaudit.ui.views.followup) because it changes with the sync protocol
and the store, not with the screen. Everything fetched is kept on the device, so the walk works
without signal.
"""

from __future__ import annotations

import contextlib
import json
from collections.abc import Callable, Iterator
from typing import TYPE_CHECKING

from walkaudit import model, sync
from walkaudit.remote import RemotePhotos

if TYPE_CHECKING:
    from walkaudit.ui.app import App

CHOSEN_KEY = "ui.followup"  # what the walker chose last: {"id": …} or {"area": …}


def remember(app: App, chosen: dict[str, str]) -> None:
    app.state.store.set_meta(**{CHOSEN_KEY: json.dumps(chosen)})


def area_key(area: str) -> str:
    return f"area:{area.strip().lower()}"


@contextlib.contextmanager
def _client(app: App) -> Iterator[sync.SyncClient]:
    import httpx

    if not app.state.enrolled:
        raise sync.NotEnrolledError("not enrolled")
    with httpx.Client(timeout=httpx.Timeout(20, connect=5)) as http:
        yield sync.SyncClient(app.state.store, http, retry=sync.RetryPolicy(attempts=2))


def fetch_list(app: App) -> None:
    with _client(app) as client:
        app.state.remote.save_followups(client.fetch_followups())


def fetch_followup(app: App, followup_id: str | None, area: str | None) -> None:
    """A follow-up's findings, kept for the walk (the cards fetch their photos once shown)."""
    with _client(app) as client:
        client.fetch_followup(followup_id=followup_id, area=area)


def fetch_photos(app: App, shas: list[str], on_arrival: Callable[[str], None]) -> None:
    with _client(app) as client:
        RemotePhotos(app.state.store).fetch_missing(client, shas, on_arrival)


def record(app: App, finding_id: str, kind: model.EventKind, raw: list[bytes]) -> bool:
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

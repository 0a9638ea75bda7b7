"""What the device keeps from the server for walks without signal: open findings (follow-up walks,
the "same thing?" prompt), the list of planned follow-ups, and small copies of server photos;
and the walker's own answers on a follow-up (still there / fixed), which can be changed until sent.

Small copies of server photos (a follow-up finding's original photo, the owner's photo of a fix)
live in `DIR/remote_photos/<sha256>.jpg`, 480 px on the long edge — apart from `DIR/photos/`,
whose files no row refers to are removed at start-up. They are a cache: losing one costs a
download, never a record.
"""

from __future__ import annotations

import hashlib
import json
import logging
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from walkaudit import geo, model
from walkaudit.store import PhotoLike, Store, atomic_write, private_dir

if TYPE_CHECKING:
    from walkaudit.sync import SyncClient

log = logging.getLogger("walkaudit.remote")

REMOTE_PHOTO_DIR = "remote_photos"
SMALL_EDGE = 480  # enough for a card or a detail on a phone; a tenth of the upload copy's bytes
# The walker's answers on a follow-up walk.
FOLLOWUP_KINDS = (model.EventKind.STILL_THERE, model.EventKind.VERIFIED)
_FOLLOWUPS_KEY = "remote.followups"  # the last list of planned follow-ups (JSON)
_CHOSEN_KEY = "remote.followup."  # + id: the ids of that follow-up's findings (JSON)
_WANTED_KEY = "remote.photos_wanted"  # server photos a card needs and that are not here yet
MAX_WANTED = 500


@dataclass(frozen=True)
class MyAnswer:
    """The walker's latest answer on a follow-up finding, as this device holds it."""

    kind: model.EventKind
    sent: bool  # the server has it: a change now adds a new answer instead of replacing it
    photos: int


class RemoteFindings:
    """The device's copy of the server's open findings (refreshed whenever there is signal)."""

    def __init__(self, store: Store) -> None:
        self.store = store

    def save(self, items: Sequence[model.OpenFinding]) -> None:
        """Store or refresh pulled findings (idempotent by id)."""
        now = model.utcnow().isoformat()
        with self.store.transaction() as db:
            for item in items:
                f = item.finding
                db.execute(
                    "INSERT OR REPLACE INTO remote_findings(id, json, status, area, latitude,"
                    " longitude, category, fetched_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
                    [
                        f.id,
                        item.model_dump_json(),
                        item.status.value,
                        item.area,
                        f.latitude,
                        f.longitude,
                        f.category,
                        now,
                    ],
                )

    def in_area(self, area: str) -> list[model.OpenFinding]:
        """Open findings of an area (as last fetched), oldest first."""
        rows = self.store.query(
            "SELECT json FROM remote_findings WHERE lower(area) = lower(?) ORDER BY id",
            [area.strip()],
        )
        return [model.OpenFinding.model_validate_json(r["json"]) for r in rows]

    def by_ids(self, ids: Sequence[str]) -> list[model.OpenFinding]:
        """These findings as last fetched, in the order given (unknown ids are skipped)."""
        if not ids:
            return []
        marks = ", ".join("?" * len(ids))
        rows = self.store.query(f"SELECT id, json FROM remote_findings WHERE id IN ({marks})", ids)
        found = {r["id"]: model.OpenFinding.model_validate_json(r["json"]) for r in rows}
        return [found[i] for i in ids if i in found]

    def near(
        self, lat: float, lon: float, category: str, radius_m: float = geo.NEARBY_M
    ) -> list[tuple[float, model.OpenFinding]]:
        """Same-category open findings within radius_m, nearest first."""
        rows = self.store.query(
            "SELECT json, latitude, longitude FROM remote_findings WHERE category = ?", [category]
        )
        found = geo.nearby(rows, lat, lon, lambda r: (r["latitude"], r["longitude"]), radius_m)
        return [(d, model.OpenFinding.model_validate_json(r["json"])) for d, r in found]

    # ---- the planned follow-ups ------------------------------------------------------------

    def save_followups(self, items: Sequence[model.FollowupSummary]) -> None:
        """Keep the list of planned follow-ups for choosing one without signal."""
        data = {
            "fetched_at": model.utcnow().isoformat(),
            "followups": [json.loads(f.model_dump_json()) for f in items],
        }
        self.store.set_meta(**{_FOLLOWUPS_KEY: json.dumps(data)})

    def followups(self) -> tuple[list[model.FollowupSummary], str | None]:
        """The planned follow-ups as last fetched, and when (None: never fetched)."""
        raw = self.store.get_meta(_FOLLOWUPS_KEY)
        if not raw:
            return [], None
        data = json.loads(raw)
        items = [model.FollowupSummary.model_validate(f) for f in data["followups"]]
        return items, data["fetched_at"]

    def followup(self, followup_id: str) -> model.FollowupSummary | None:
        """One planned follow-up from the kept list."""
        return next((f for f in self.followups()[0] if f.id == followup_id), None)

    def save_followup(self, followup_id: str, items: Sequence[model.OpenFinding]) -> None:
        """Keep a chosen follow-up's findings, and which they are (the cards, offline)."""
        self.save(items)
        ids = [i.finding.id for i in items]
        self.store.set_meta(**{_CHOSEN_KEY + followup_id: json.dumps(ids)})

    def followup_findings(self, followup_id: str) -> list[model.OpenFinding]:
        """A chosen follow-up's findings as last fetched."""
        raw = self.store.get_meta(_CHOSEN_KEY + followup_id)
        return self.by_ids(json.loads(raw)) if raw else []

    # ---- the walker's answers ---------------------------------------------------------------

    def answer(
        self, finding_id: str, kind: model.EventKind, photos: Sequence[PhotoLike] = ()
    ) -> model.FindingEvent:
        """Record the walker's answer (still there / fixed) for sync.

        An earlier answer that never left the phone is replaced (the server never sees it); one
        that has gone out — confirmed, or on its way in a sync right now — stays in the history
        with its photos, and this one follows it (the latest counts).
        """
        if kind not in FOLLOWUP_KINDS:
            raise ValueError(f"not a follow-up answer: {kind}")
        event = model.FindingEvent(
            id=model.new_id(), finding_id=finding_id, kind=kind, at=model.utcnow()
        )
        kinds = [k.value for k in FOLLOWUP_KINDS]
        with self.store.transaction() as db:
            # One transaction: a crash leaves the old answer or the new one, never both or none.
            # (Photos of a replaced answer stay in the store: a sync in flight may have named
            # them to the server already.)
            db.execute(
                "DELETE FROM events WHERE finding_id = ? AND state = 'pending'"
                " AND pushed_at IS NULL AND json_extract(json, '$.kind') IN (?, ?)",
                [finding_id, *kinds],
            )
            self.store.add_event(event, photos)
        return event

    def my_answers(self, finding_ids: Iterable[str]) -> dict[str, MyAnswer]:
        """The walker's latest answer per finding (only findings that have one)."""
        ids = list(finding_ids)
        if not ids:
            return {}
        marks = ", ".join("?" * len(ids))
        rows = self.store.query(
            "SELECT finding_id, json, state FROM events"
            f" WHERE finding_id IN ({marks}) AND json_extract(json, '$.kind') IN (?, ?)"
            " ORDER BY id",  # UUIDv7: in the order they were made
            [*ids, *(k.value for k in FOLLOWUP_KINDS)],
        )
        answers: dict[str, MyAnswer] = {}
        for row in rows:
            event = model.FindingEvent.model_validate_json(row["json"])
            answers[row["finding_id"]] = MyAnswer(
                event.kind, row["state"] == "confirmed", len(event.photos)
            )
        return answers


class RemotePhotos:
    """Small copies of photos the server holds, fetched with the device token, kept for offline."""

    def __init__(self, store: Store) -> None:
        self.store = store
        self.folder = store.photo_dir.parent / REMOTE_PHOTO_DIR

    def path(self, sha256: str) -> Path:
        """Where the small copy of a server photo lives (whether or not it is there)."""
        return self.folder / f"{sha256}.jpg"

    def has(self, sha256: str) -> bool:
        """True when the small copy is on the device."""
        return self.path(sha256).is_file()

    def read(self, sha256: str) -> bytes | None:
        """The small copy's bytes, or None if it has not arrived (yet)."""
        try:
            return self.path(sha256).read_bytes()
        except OSError:
            return None

    def fetch(self, client: SyncClient, sha256: str) -> None:
        """Download one photo, check its hash, keep a small copy. Raises whatever went wrong."""
        from walkaudit import media

        data = client.fetch_photo(sha256)
        if hashlib.sha256(data).hexdigest() != sha256:
            raise ValueError(f"photo {sha256[:12]}: the server sent other bytes")
        small = media.process_photo(
            data, name=f"{sha256[:12]}.jpg", max_edge=SMALL_EDGE, thumb_edge=32
        )
        private_dir(self.folder)
        atomic_write(self.path(sha256), small.jpeg)

    def fetch_missing(
        self,
        client: SyncClient,
        shas: Iterable[str],
        on_arrival: Callable[[str], None] | None = None,
    ) -> tuple[int, list[str]]:
        """Fetch the photos not here yet; returns (how many arrived, which failed).

        One photo's failure is that photo's: the rest are still fetched, the failed ones are
        remembered and tried again after the next sync. A server that cannot be reached ends
        the pass (every other photo would fail the same way).
        """
        from walkaudit import sync

        missing = [s for s in dict.fromkeys(shas) if not self.has(s)]
        arrived, failed = 0, []
        for n, sha in enumerate(missing):
            try:
                self.fetch(client, sha)
            except (
                sync.ServerUnreachableError,
                sync.AuthError,
                sync.NotEnrolledError,
                sync.SyncStopped,  # the app's watchdog stopped this sync
            ):
                failed += missing[n:]
                break
            except Exception as exc:  # a 404, a damaged file: this photo only
                log.warning("server photo %s not kept: %s", sha[:12], exc)
                failed.append(sha)
                continue
            arrived += 1
            if on_arrival is not None:
                on_arrival(sha)
        self._remember_wanted(failed, done=set(missing) - set(failed))
        return arrived, failed

    def wanted(self) -> list[str]:
        """Photos a follow-up card needs that could not be fetched yet."""
        raw = self.store.get_meta(_WANTED_KEY)
        return json.loads(raw) if raw else []

    def _remember_wanted(self, failed: list[str], done: set[str]) -> None:
        before = self.wanted()
        # Bounded: a photo that never reaches the server must not make every sync longer.
        still = [s for s in dict.fromkeys([*before, *failed]) if s not in done][-MAX_WANTED:]
        if still != before:
            self.store.set_meta(**{_WANTED_KEY: json.dumps(still) if still else None})


def card_photos(item: model.OpenFinding) -> list[str]:
    """The server photos a follow-up card shows: the finding's first photo, the answer's photos."""
    shas = [p.sha256 for p in item.finding.photos[:1]]
    if item.answer is not None:
        shas += [p.sha256 for p in item.answer.photos]
    return shas

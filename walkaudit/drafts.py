"""Drafts: the finding being written, kept on disk as it changes (like ODK Collect's autosave).

The new-finding screen writes its draft here on every change, so a phone that dies, an app the
system kills in the background or a slip of the thumb loses nothing; the next visit to the screen
(or the next start of the app) offers it back.

    DIR/drafts/draft.json       category, severity, note, position, "same thing" target, and the
                                names of the photo files, in order
    DIR/drafts/<sha256>.raw     each photo's bytes as the camera or the picker gave them

Kill safety: every file is written with the store's `atomic_write` (temporary name, fsync,
rename), the photos before the JSON that names them, so a kill at any instant leaves either the
previous draft or the new one, whole. Photo files no draft names any more are removed after the
JSON that stopped naming them is in place. One draft at a time: the app has one new-finding screen.

No flet here: the core keeps drafts, the UI decides when to offer them.
"""

from __future__ import annotations

import hashlib
import itertools
import json
import logging
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

from walkaudit import model
from walkaudit.store import TMP_PREFIX, atomic_write, fsync_dir, private_dir

log = logging.getLogger("walkaudit.drafts")

DRAFTS_DIR = "drafts"
DRAFT_FILE = "draft.json"
PHOTO_SUFFIX = ".raw"
FORMAT = 1
# A temporary file younger than this may belong to a write in progress (a second browser tab on
# the same data directory); older ones are what a kill left behind.
TMP_GRACE_S = 60.0


@dataclass
class Draft:
    """A finding being recorded: what the new-finding screen has gathered so far."""

    # The id the finding is saved under: a draft that outlived its own save is recognised by it.
    id: str = field(default_factory=model.new_id)
    category: str | None = None
    severity: model.Severity = model.Severity.MEDIUM
    note: str = ""
    latitude: float | None = None
    longitude: float | None = None
    accuracy: float | None = None
    source: model.PositionSource = model.PositionSource.GPS
    raw_photos: list[bytes] = field(default_factory=list)
    add_to: str | None = None  # "same thing": the finding this photo belongs to
    walk_id: str | None = None

    def has_work(self) -> bool:
        """True when the walker has put something in it that would be lost by going back.

        The position and the default severity come by themselves and do not count.
        """
        return bool(
            self.raw_photos
            or self.category
            or self.note.strip()
            or self.add_to
            or self.severity is not model.Severity.MEDIUM
        )

    def snapshot(self) -> Draft:
        """A copy a worker thread can write while the screen goes on changing this one."""
        return replace(self, raw_photos=list(self.raw_photos))


class DraftError(Exception):
    """A draft file that cannot be read (it is moved aside, never deleted)."""


def photo_name(data: bytes) -> str:
    """The file name of a photo in the drafts folder: its content hash (written once)."""
    return hashlib.sha256(data).hexdigest() + PHOTO_SUFFIX


class DraftBox:
    """The drafts folder of one data directory. Thread-safe: the app writes from worker threads.

    Writes carry a sequence number from the screen; one older than the last applied is skipped, so
    a slow autosave that finishes after the finding was saved (and its draft cleared) cannot bring
    the draft back.
    """

    def __init__(self, data_dir: Path | str) -> None:
        self.dir = private_dir(Path(data_dir) / DRAFTS_DIR)  # 0700: the walker's notes
        self._lock = threading.Lock()
        self._seq = -1
        self._tickets = itertools.count()  # next() is atomic: no lock on the event loop's side

    def ticket(self) -> int:
        """The sequence number for a write of the draft as it is now (take it with the snapshot)."""
        return next(self._tickets)

    @property
    def path(self) -> Path:
        return self.dir / DRAFT_FILE

    def exists(self) -> bool:
        """Whether a draft is kept (cheap: one stat)."""
        return self.path.exists()

    def save(self, draft: Draft, seq: int | None = None) -> bool:
        """Keep the draft durably (photos first, then the JSON); False if `seq` is stale."""
        with self._lock:
            if not self._take(seq):
                return False
            names = []
            for data in draft.raw_photos:
                name = photo_name(data)
                target = self.dir / name
                if not target.exists():  # content-addressed: a photo is written once
                    atomic_write(target, data)
                names.append(name)
            if names:
                fsync_dir(self.dir)  # the photos' names are durable before the JSON names them
            atomic_write(self.path, json.dumps(_to_json(draft, names)).encode())
            fsync_dir(self.dir)
            self._sweep(keep=set(names))
            return True

    def clear(self, seq: int | None = None) -> bool:
        """Forget the draft (the finding was saved, or the walker threw it away)."""
        with self._lock:
            if not self._take(seq):
                return False
            self.path.unlink(missing_ok=True)
            fsync_dir(self.dir)
            self._sweep(keep=set())
            return True

    def load(self, saved: Callable[[str], bool] | None = None) -> Draft | None:
        """The kept draft, or None. `saved(id)` tells whether its finding was saved already
        (the app was killed between saving and clearing): such a draft is cleared, not offered.
        """
        with self._lock:
            try:
                raw = self.path.read_bytes()
            except FileNotFoundError:
                return None
            try:
                draft = _from_json(json.loads(raw), self.dir)
            except (ValueError, KeyError, TypeError, OSError) as exc:
                self._move_aside(exc)
                return None
        if saved is not None and saved(draft.id):
            self.clear()
            return None
        return draft

    def _take(self, seq: int | None) -> bool:
        if seq is None:
            return True
        if seq < self._seq:
            return False
        self._seq = seq
        return True

    def _sweep(self, keep: set[str]) -> None:
        """Remove photos no draft names, and temporary files a kill left behind."""
        cutoff = time.time() - TMP_GRACE_S
        for path in self.dir.iterdir():
            name = path.name
            if name.startswith(TMP_PREFIX):
                try:
                    if path.stat().st_mtime < cutoff:
                        path.unlink(missing_ok=True)
                except FileNotFoundError:
                    pass
            elif name.endswith(PHOTO_SUFFIX) and name not in keep:
                path.unlink(missing_ok=True)

    def _move_aside(self, exc: Exception) -> None:
        # Only a bug (or a disk error) can make an atomically written file unreadable; keep it
        # for a person to look at, and let the walker start afresh.
        broken = self.dir / f"draft-unreadable-{int(time.time())}.json"
        log.error("draft cannot be read (%s); kept as %s", exc, broken.name)
        try:
            self.path.replace(broken)
        except OSError:
            log.exception("could not move the unreadable draft aside")


def _to_json(draft: Draft, photo_names: list[str]) -> dict[str, Any]:
    return {
        "format": FORMAT,
        "id": draft.id,
        "walk_id": draft.walk_id,
        "category": draft.category,
        "severity": draft.severity.value,
        "note": draft.note,
        "latitude": draft.latitude,
        "longitude": draft.longitude,
        "accuracy": draft.accuracy,
        "source": draft.source.value,
        "add_to": draft.add_to,
        "photos": photo_names,
        "saved_at": model.utcnow().isoformat(),
    }


def _from_json(data: dict[str, Any], folder: Path) -> Draft:
    if data.get("format") != FORMAT:
        raise ValueError(f"unknown draft format {data.get('format')!r}")
    photos = []
    for name in data["photos"]:
        if "/" in name or not name.endswith(PHOTO_SUFFIX):
            raise ValueError(f"bad photo name {name!r}")
        photos.append((folder / name).read_bytes())
    return Draft(
        id=str(data["id"]),
        walk_id=data.get("walk_id"),
        category=data.get("category"),
        severity=model.Severity(data["severity"]),
        note=str(data.get("note") or ""),
        latitude=data.get("latitude"),
        longitude=data.get("longitude"),
        accuracy=data.get("accuracy"),
        source=model.PositionSource(data["source"]),
        raw_photos=photos,
        add_to=data.get("add_to"),
    )

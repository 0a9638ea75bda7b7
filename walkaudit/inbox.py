"""The inbox: a finding saved the instant the walker taps "save", before its photos are processed.

The raw photo bytes are written durably (temp, fsync, rename) and a row records the finding; the
photo pipeline then runs in the background and turns the capture into a normal finding in one
transaction with the capture's removal. A crash at any point leaves either the capture (processed
again at the next start) or the finished finding — never neither, never both.

The pipeline runs from several places (after a save, before a sync, at start-up): one pass at a
time per Inbox, and a capture is completed only by the transaction that removes its row, so two
passes can never save it twice. A capture that cannot be completed is set aside with its reason
(`captures.error`) and the others go on; it is tried again by the next pass.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import sqlite_utils

from walkaudit import model
from walkaudit.store import PhotoLike, Store, atomic_write, fsync_dir, private_dir

INBOX_DIR = "inbox"
log = logging.getLogger("walkaudit.inbox")


class _AlreadyCompleted(Exception):
    """Another pass completed this capture first: roll back, keep what that pass saved."""


@dataclass(frozen=True)
class Capture:
    finding: model.Finding  # without photos yet
    raw: list[Path]
    error: str | None


@dataclass(frozen=True)
class Processed:
    finding: model.Finding
    problems: list[str]  # photos that could not be used (the finding is saved without them)


class Inbox:
    """Captures waiting for the photo pipeline, in the store's data directory."""

    def __init__(self, store: Store) -> None:
        self.store = store
        self.dir = store.photo_dir.parent / INBOX_DIR
        private_dir(self.dir)
        self._pass = threading.Lock()  # one photo pipeline pass at a time

    def put(self, finding: model.Finding, raw_photos: Sequence[bytes]) -> None:
        """Keep the finding and its unprocessed photos durably (fast: no decoding here)."""
        names = []
        for i, data in enumerate(raw_photos):
            path = self.dir / f"{finding.id}-{i}.raw"
            atomic_write(path, data)
            names.append(path.name)
        fsync_dir(self.dir)
        with self.store.transaction() as db:
            db.execute(
                "INSERT OR REPLACE INTO captures(id, json, raw, created_at) VALUES (?, ?, ?, ?)",
                [
                    finding.id,
                    finding.model_dump_json(),
                    "\n".join(names),
                    model.utcnow().isoformat(),
                ],
            )

    def items(self) -> list[Capture]:
        """Captures not yet turned into findings, oldest first."""
        rows = self.store.query("SELECT * FROM captures ORDER BY created_at")
        return [
            Capture(
                model.Finding.model_validate_json(r["json"]),
                [self.dir / n for n in r["raw"].split("\n") if n],
                r["error"],
            )
            for r in rows
        ]

    def complete(self, capture: Capture, photos: Sequence[PhotoLike]) -> model.Finding:
        """Save the finding with its processed photos and drop the capture, atomically."""

        def drop(db: sqlite_utils.Database) -> None:
            gone = db.execute("DELETE FROM captures WHERE id = ?", [capture.finding.id]).rowcount
            if gone != 1:
                raise _AlreadyCompleted(capture.finding.id)

        target = capture.finding.duplicate_of
        try:
            if target and self.store.has_finding(target):
                # "Same thing — add my photo to it" on one of this device's own findings: a new
                # revision of that finding with the photo added, not a second finding.
                current = self.store.finding(target)
                if not photos:  # nothing to add: a new revision would change nothing
                    with self.store.transaction() as db:
                        drop(db)
                    saved = current
                else:
                    keep = [self.store.stored_photo(p.sha256) for p in current.photos]
                    saved = self.store.revise_finding(target, photos=[*keep, *photos], also=drop)
            else:
                saved = self.store.save_finding(capture.finding, photos, also=drop)
        except _AlreadyCompleted:
            saved = self.store.finding(target or capture.finding.id)
        for path in capture.raw:
            path.unlink(missing_ok=True)
        return saved

    def process(self, capture: Capture, max_edge: int = 2048) -> Processed:
        """Run the photo pipeline on one capture and complete it (a bad photo is left out)."""
        from walkaudit import media

        photos, problems = [], []
        for path in capture.raw:
            try:
                photos.append(media.process_photo(path, name="foto", max_edge=max_edge))
            except (media.PhotoError, OSError) as exc:
                problems.append(str(exc))
        target = capture.finding.duplicate_of
        if target and self.store.has_finding(target):
            # The wire holds at most MAX_PHOTOS per finding; a finding with more could never be
            # sent, and would hold back everything queued behind it.
            room = max(0, model.MAX_PHOTOS - len(self.store.finding(target).photos))
            if len(photos) > room:
                problems.append(
                    f"{len(photos) - room} photo(s) not added: a finding holds at most"
                    f" {model.MAX_PHOTOS}"
                )
                photos = photos[:room]
        return Processed(self.complete(capture, photos), problems)

    def process_all(self, max_edge: int = 2048) -> list[Processed]:
        """Process every waiting capture; one that fails is set aside with its reason."""
        done = []
        with self._pass:
            for capture in self.items():
                try:
                    done.append(self.process(capture, max_edge))
                except Exception as exc:  # that capture's problem: the others go on
                    log.exception("capture %s could not be completed", capture.finding.id)
                    self._set_aside(capture, f"{type(exc).__name__}: {exc}")
        return done

    def _set_aside(self, capture: Capture, reason: str) -> None:
        try:
            with self.store.transaction() as db:
                db.execute(
                    "UPDATE captures SET error = ? WHERE id = ?", [reason[:500], capture.finding.id]
                )
        except Exception:  # the disk may be what failed; the capture stays either way
            log.exception("could not record why capture %s failed", capture.finding.id)

    def clean(self) -> None:
        """Remove raw files no capture refers to (a crash between writing and the row)."""
        known = {p.name for c in self.items() for p in c.raw}
        for path in self.dir.iterdir():
            if path.name not in known and path.stat().st_mtime < time.time() - 600:
                path.unlink(missing_ok=True)

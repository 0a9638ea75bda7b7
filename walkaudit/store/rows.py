"""Rows ⇄ models: the one place where the database's shape and the wire models meet.

Every part of the store reads and writes walks, findings, route points and photos through these
functions, so a column added or renamed is changed here and nowhere else.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import sqlite_utils

from walkaudit import model
from walkaudit.store.files import PhotoLike


def insert_photo_rows(db: sqlite_utils.Database, photos: Sequence[PhotoLike]) -> None:
    """The photos' rows (once per hash; the files are written before, by files.py)."""
    now = model.utcnow().isoformat()
    for p in photos:
        db.execute(
            "INSERT OR IGNORE INTO photos(sha256, size, width, height, source_name, created_at)"
            " VALUES (?, ?, ?, ?, ?, ?)",
            [p.sha256, len(p.jpeg), p.width, p.height, p.source_name, now],
        )


def wire_photo(p: PhotoLike) -> model.Photo:
    """A processed photo as a finding or an answer names it."""
    return model.Photo(sha256=p.sha256, size=len(p.jpeg), width=p.width, height=p.height)


def photo_from_row(row: dict[str, Any]) -> model.Photo:
    return model.Photo(
        sha256=row["sha256"], size=row["size"], width=row["width"], height=row["height"]
    )


def walk_row(walk: model.Walk) -> dict[str, Any]:
    return {
        "id": walk.id,
        "name": walk.name,
        "area": walk.area,
        "started_at": walk.started_at.isoformat(),
        "ended_at": walk.ended_at.isoformat() if walk.ended_at else None,
        "state": "pending",
    }


def walk_from_row(row: dict[str, Any]) -> model.Walk:
    return model.Walk(
        id=row["id"],
        name=row["name"],
        area=row["area"] or "",
        started_at=row["started_at"],
        ended_at=row["ended_at"],
    )


def track_from_row(row: dict[str, Any]) -> model.TrackPoint:
    return model.TrackPoint(
        walk_id=row["walk_id"],
        t=row["t"],
        latitude=row["latitude"],
        longitude=row["longitude"],
        accuracy=row["accuracy"],
    )


FINDING_FIELDS = (
    "id",
    "revision",
    "walk_id",
    "category",
    "severity",
    "note",
    "latitude",
    "longitude",
    "accuracy",
    "position_source",
    "duplicate_of",
)


def finding_row(f: model.Finding) -> dict[str, Any]:
    row: dict[str, Any] = {k: getattr(f, k) for k in FINDING_FIELDS}
    row.update(
        severity=f.severity.value,
        position_source=f.position_source.value,
        captured_at=f.captured_at.isoformat(),
        created_at=model.utcnow().isoformat(),
        content_hash=f.content_hash(),
        state="pending",
    )
    return row


def finding_from_row(row: dict[str, Any], photos: list[model.Photo]) -> model.Finding:
    data = {k: row[k] for k in FINDING_FIELDS}
    data.update(captured_at=row["captured_at"], photos=photos, note=row["note"] or "")
    return model.Finding.model_validate(data)


def load_finding(db: sqlite_utils.Database, row: dict[str, Any]) -> model.Finding:
    """A finding's row with its revision's photos, in their order."""
    photos = db.query(
        "SELECT p.* FROM finding_photos fp JOIN photos p ON p.sha256 = fp.sha256"
        " WHERE fp.finding_id = ? AND fp.revision = ? ORDER BY fp.position",
        [row["id"], row["revision"]],
    )
    return finding_from_row(row, [photo_from_row(p) for p in photos])

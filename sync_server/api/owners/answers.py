"""An owner's answer as the form sent it: the event's note, and a photo of the fix.

Kept apart from the routes because these are the rules of what an answer may carry (a planned
date first in the note, a photo processed before it is stored) rather than how HTTP flows.
`PhotoRefused` carries the status and the message key the page shows at the form.
"""

from __future__ import annotations

from datetime import date
from pathlib import Path
from typing import Any

from fastapi.concurrency import run_in_threadpool
from starlette.datastructures import UploadFile

from sync_server.core.blobs import BlobBusy
from sync_server.owners import page
from walkaudit import i18n
from walkaudit.media import (
    HeifUnsupportedError,
    NotAnImageError,
    PhotoError,
    PhotoTooLargeError,
    process_photo,
)
from walkaudit.model import EventKind, Photo


def note(kind: EventKind, fields: dict[str, str], today: date) -> str:
    """The event's note: a planned answer starts with its ISO date (machine-readable)."""
    if kind is EventKind.PLANNED:
        day = page.planned_date(fields.get("date", ""), today)
        comment = page.checked_text(fields.get("comment", ""))
        return f"{day.isoformat()} – {comment}" if comment else day.isoformat()
    if kind is EventKind.NOT_OURS:
        reason = fields.get("reason", "")
        return page.checked_text(reason, required_key="owner.error.reason_missing")
    if kind is EventKind.FIXED:
        return page.checked_text(fields.get("comment", ""))
    return ""


class PhotoRefused(Exception):
    """The photo of a fix cannot be taken: `status` for the answer, `key` for the message."""

    def __init__(self, status: int, key: str, name: str, mb: float = 0) -> None:
        super().__init__(key)
        self.status, self.key, self.name, self.mb = status, key, name, mb

    def message(self, t: i18n.Translator, limit: int) -> str:
        """What the page says at the form, saying that nothing was saved."""
        if self.key == "owner.error.photo_too_large":
            return too_big(t, self.name, self.mb, limit)
        return f"{t(self.key, name=self.name)} {t('owner.error.nothing_saved')}"


async def fix_photo(services: Any, max_bytes: int, upload: UploadFile) -> Photo:
    """The uploaded photo, processed (upright, no metadata) and stored; PhotoRefused if not."""
    name = Path(upload.filename or "photo").name[:80]
    data = await upload.read(max_bytes + 1)
    if len(data) > max_bytes:
        size = upload.size if upload.size else len(data)
        raise PhotoRefused(413, "owner.error.photo_too_large", name, size / 2**20)
    try:
        processed = await run_in_threadpool(
            process_photo, data, name=name, max_input_bytes=max_bytes
        )
    except PhotoTooLargeError:
        raise PhotoRefused(413, "owner.error.photo_too_large", name, len(data) / 2**20) from None
    except NotAnImageError:
        raise PhotoRefused(415, "owner.error.photo_not_image", name) from None
    except HeifUnsupportedError:
        raise PhotoRefused(415, "owner.error.photo_heic", name) from None
    except PhotoError:  # BrokenPhotoError, or unreadable
        raise PhotoRefused(422, "owner.error.photo_broken", name) from None
    try:
        await run_in_threadpool(
            page.store_photo, services.db, services.blobs, processed.jpeg, processed.sha256
        )
    except BlobBusy:
        raise PhotoRefused(503, "owner.error.busy", name) from None
    return processed.to_photo()


def too_big(t: i18n.Translator, name: str, mb: float, limit: int) -> str:
    """The message for a photo (or a whole form) over the limit, in megabytes."""
    text = t("owner.error.photo_too_large", name=name or "?", mb=f"{mb:.0f}", max=limit // 2**20)
    return f"{text} {t('owner.error.nothing_saved')}"

"""The findings as a report shows them: numbered items with text, map link, address and photos.

Isolation: one finding must not hold back the others. A photo that cannot be read (a truncated
upload, a file lost from the store) is left out of its item and counted (`photos_missing`: the
email and the PDF say "1 foto kunde inte läsas och saknas här"). A finding whose data cannot be
shown is left out and named, for the caller to set aside.
"""

from __future__ import annotations

import logging
import os
from concurrent.futures import ThreadPoolExecutor
from datetime import date
from typing import Any

from sync_server.core import set_aside
from sync_server.core.blobs import BlobStore
from sync_server.core.db import Database
from sync_server.core.geocode import AddressLookup
from sync_server.core.time import local_time, parse_iso, swedish_date
from sync_server.reports.errors import ReportError
from sync_server.reports.pdf import ProtocolItem
from sync_server.reports.photos import shrink
from sync_server.texts import mail as texts_mail
from walkaudit import i18n

log = logging.getLogger(__name__)


def load_items(
    db: Database,
    blobs: BlobStore,
    finding_ids: tuple[str, ...],
    lang: str,
    link: str,
    photo_px: int,
    addresses: AddressLookup,
    geocode_deadline: float,
    problems: list[tuple[str, str]] | None = None,
) -> list[ProtocolItem]:
    """The findings as the email and PDF show them, numbered in order, photos shrunk.

    A photo that cannot be read is left out and counted (`photos_missing`, which the email and
    the PDF mention). A finding whose data cannot be shown is left out and named in `problems`
    as (id, what went wrong), logged once here; without `problems` it raises."""
    conn = db.conn()
    items: list[ProtocolItem] = []
    jobs: list[tuple[ProtocolItem, str]] = []
    for fid in finding_ids:
        try:
            item, shas = _item(conn, fid, len(items) + 1, lang, link)
        except Exception as exc:  # one finding's data must not cost the others their report
            if problems is None or set_aside.environmental(exc):
                raise
            log.exception("report: finding %s left out", fid)
            problems.append((fid, f"{type(exc).__name__}: {exc}"))
            continue
        item.address = _address(addresses, item, geocode_deadline)
        items.append(item)
        jobs.extend((item, sha) for sha in shas)

    def one(job: tuple[ProtocolItem, str]) -> tuple[bytes, bytes] | None:
        try:
            return shrink(blobs, job[0].finding_id, job[1], photo_px)
        except ReportError as exc:
            log.warning("report without a photo: %s", exc.message)
        except Exception:  # e.g. a decompression bomb: this photo only, not the report
            log.exception("report without photo %s of finding %s", job[1], job[0].finding_id)
        return None

    # Pillow lets go of the GIL while it decodes, scales and encodes: one thread per core.
    with ThreadPoolExecutor(max_workers=os.cpu_count() or 2) as pool:
        for (item, sha), shrunk in zip(jobs, pool.map(one, jobs), strict=True):
            if shrunk is None:
                item.photos_missing += 1
                item.photo_urls.remove(f"{link}/photos/{sha}")
                continue
            item.photos.append(shrunk[0])
            if item.pdf_photo is None:
                item.pdf_photo = shrunk[1]
    for item in items:
        if item.photos_missing:
            item.photos_missing_note = texts_mail.plural(
                "mail.photos_missing", item.photos_missing, lang
            )
    return items


def _item(conn: Any, fid: str, number: int, lang: str, link: str) -> tuple[ProtocolItem, list[str]]:
    """One finding as the report shows it (no address or photos yet) and its photos' hashes."""
    row = conn.execute(
        "SELECT f.category, f.severity, f.note, f.latitude, f.longitude, f.accuracy,"
        " f.captured_at, a.deadline FROM findings f JOIN assignments a ON a.finding_id = f.id"
        " WHERE f.id = ?",
        [fid],
    ).fetchone()
    if row is None:
        raise ReportError(f"finding {fid} or its assignment is gone")
    category, severity, note, lat, lon, accuracy, captured_at, deadline = row
    shas = [
        r[0]
        for r in conn.execute(
            "SELECT sha256 FROM finding_photos WHERE finding_id = ? ORDER BY position", [fid]
        )
    ]
    due = parse_deadline(deadline)
    lat, lon = float(lat), float(lon)
    item = ProtocolItem(
        number=number,
        finding_id=fid,
        category=i18n.category_label(category, lang),
        severity=severity,
        severity_label=i18n.t(f"severity.{severity}", lang),
        note=(note or "").strip(),
        latitude=lat,
        longitude=lon,
        accuracy=None if accuracy is None else float(accuracy),
        map_url=map_url(lat, lon),
        deadline=due.isoformat() if due else i18n.t("mail.no_deadline", lang),
        recorded=recorded_time(captured_at),
        page_url=f"{link}#f-{fid}",
        photo_urls=[f"{link}/photos/{sha}" for sha in shas],
        deadline_date=due,
    )
    return item, shas


def _address(addresses: AddressLookup, item: ProtocolItem, deadline: float) -> str | None:
    """The nearest address, or None: a courtesy that must never cost the report."""
    try:
        return addresses.address(item.latitude, item.longitude, deadline=deadline)
    except Exception:
        log.exception("report: no address for finding %s", item.finding_id)
        return None


def map_url(lat: float, lon: float) -> str:
    """An OpenStreetMap link with a marker at the position."""
    return (
        f"https://www.openstreetmap.org/?mlat={lat:.6f}&mlon={lon:.6f}#map=18/{lat:.6f}/{lon:.6f}"
    )


def parse_deadline(value: object) -> date | None:
    """assignments.deadline as a date: 'YYYY-MM-DD' or an ISO timestamp (its Swedish date)."""
    if not value:
        return None
    text = str(value)
    try:
        return date.fromisoformat(text) if len(text) == 10 else swedish_date(parse_iso(text))
    except ValueError:
        log.warning("unreadable deadline %r ignored", text)
        return None


def recorded_time(captured_at: object) -> str:
    """A stored capture time in Swedish time; the stored text itself if it is not a time this
    server can convert (the year 9999 in UTC is past the last date): shown as it came."""
    try:
        return local_time(parse_iso(str(captured_at)))
    except (ValueError, OverflowError):
        return str(captured_at)

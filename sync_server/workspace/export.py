"""The coordinator's filtered findings as CSV (FixMyStreet's columns first) or GeoJSON, streamed.

Columns, FixMyStreet's first and in its order (lessons-from-peers.md), then ours:
    id, category, created, sent, acknowledged, fixed, closed, status, latitude, longitude,
    owner, walk, link, | area, severity, priority, deadline, note, category_name, status_name
`category`, `status` and `severity` are codes (BEL, acknowledged, high): the same file whoever
exports it, good for pivot tables and joins; `category_name` and `status_name` are the labels in
the exporting user's language. `created` is when the walker captured the finding; `sent`,
`acknowledged`, `fixed`, `closed` come from finding_tracking (first sent and acknowledged, last
fixed and closed; a reopen clears the last two). `owner` and `walk` are names, `link` the
finding's page. `priority` is the coordinator's, or the default from the severity, as the list
shows it. Times are Europe/Stockholm, ISO 8601 with the offset (2026-11-25T18:03:12+01:00);
`deadline` is a Swedish calendar date.

Why a byte order mark: Excel opens a double-clicked .csv in the Windows code page (cp1252) unless
the file starts with the UTF-8 BOM, and "Åtgärdat" would read "Ã…tgÃ¤rdat". Other readers
(Python's csv with encoding="utf-8-sig", LibreOffice, pandas, QGIS) accept the BOM.
Why `delimiter=semicolon`: Excel with Swedish regional settings splits a double-clicked .csv on
semicolons (the decimal separator is the comma), so a comma file lands in one column. Comma is
the default (RFC 4180, what FixMyStreet and most tools expect).
Why the apostrophe: a cell that starts with = + - @ (or a tab or carriage return) is a formula to
a spreadsheet, and notes are typed by walkers; such text cells get a leading ' (OWASP's CSV
injection advice). Numbers this module formats itself (coordinates) are not text and not touched.
GeoJSON is not opened by spreadsheets: its values are left as they are.

Streaming: `rows()` reads with its own connection (one SELECT: one consistent snapshot, never
shared with a request's thread) and `fetchmany(CHUNK_ROWS)`; the writers turn each batch into
one chunk of bytes. Memory stays constant whatever the number of rows (bench/bench_export.py).
A failure in the middle ends the download early: the GeoJSON is then invalid JSON, the CSV short.
"""

from __future__ import annotations

import csv
import io
import json
import sqlite3
from collections.abc import Iterable, Iterator
from datetime import date
from typing import Any

from sync_server.core.db import Database
from sync_server.core.finding_filters import FROM_FINDINGS, Filters, where
from sync_server.core.time import SWEDEN, parse_iso
from sync_server.owners.policy import default_priority
from walkaudit import i18n

CHUNK_ROWS = 500
FMS_COLUMNS = ("id", "category", "created", "sent", "acknowledged", "fixed", "closed", "status",
               "latitude", "longitude", "owner", "walk", "link")  # fmt: skip
EXTRA_COLUMNS = ("area", "severity", "priority", "deadline", "note", "category_name",
                 "status_name")  # fmt: skip
COLUMNS = FMS_COLUMNS + EXTRA_COLUMNS
DELIMITERS = {"comma": ",", "semicolon": ";"}
FORMULA_START = ("=", "+", "-", "@", "\t", "\r")
BOM = "\ufeff"

_SELECT = (
    "SELECT f.id, f.category, f.captured_at, ft.sent_at, ft.acknowledged_at, ft.fixed_at,"
    " ft.closed_at, f.status, f.latitude, f.longitude, o.name, w.name, w.area, f.severity,"
    " ft.priority, a.deadline, f.note"
)
_TIMES = ("created", "sent", "acknowledged", "fixed", "closed")


def rows(db: Database, filters: Filters, today: date | None = None) -> Iterator[tuple[Any, ...]]:
    """The filtered findings, oldest first, read in batches on a connection of their own."""
    clause, params = where(filters, today)
    conn = sqlite3.connect(db.path, check_same_thread=False)  # next() may run on any thread
    try:
        conn.execute("PRAGMA query_only = ON")
        cursor = conn.execute(
            f"{_SELECT}{FROM_FINDINGS}{clause} ORDER BY f.captured_at, f.id", params
        )
        while batch := cursor.fetchmany(CHUNK_ROWS):
            yield from batch
    finally:
        conn.close()


def _local(value: str | None) -> str:
    if not value:
        return ""
    try:
        return parse_iso(value).astimezone(SWEDEN).isoformat(timespec="seconds")
    except (ValueError, OverflowError):  # an odd stored time: one cell as stored, not no export
        return value


def record(row: tuple[Any, ...], base_url: str, t: i18n.Translator) -> dict[str, Any]:
    """One finding as {column: value} (None for a blank)."""
    (fid, category, created, sent, acked, fixed, closed, status, lat, lon, owner, walk, area,
     severity, priority, deadline, note) = row  # fmt: skip
    values = dict(zip(_TIMES, map(_local, (created, sent, acked, fixed, closed)), strict=True))
    return {
        "id": fid, "category": category, **values, "status": status,
        "latitude": lat, "longitude": lon, "owner": owner, "walk": walk,
        "link": f"{base_url.rstrip('/')}/c/findings/{fid}",
        "area": area or None, "severity": severity,
        "priority": int(priority or default_priority(severity, category)), "deadline": deadline,
        "note": note, "category_name": t.category(category),
        "status_name": t(f"status.{status}"),
    }  # fmt: skip


def guard(value: str) -> str:
    """A text cell a spreadsheet will not run as a formula."""
    return "'" + value if value.startswith(FORMULA_START) else value


def _cell(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, float):
        return repr(value)
    if isinstance(value, int):
        return str(value)
    return guard(str(value))


def csv_chunks(found: Iterable[tuple[Any, ...]], base_url: str, lang: str = "sv",
               delimiter: str = ",") -> Iterator[bytes]:  # fmt: skip
    """UTF-8 CSV with a BOM and a header row, one chunk of bytes per CHUNK_ROWS rows."""
    t = i18n.Translator(lang)
    buffer = io.StringIO()
    writer = csv.writer(buffer, delimiter=delimiter, lineterminator="\r\n")
    buffer.write(BOM)
    writer.writerow(COLUMNS)
    for count, row in enumerate(found, 1):
        values = record(row, base_url, t)
        writer.writerow([_cell(values[c]) for c in COLUMNS])
        if count % CHUNK_ROWS == 0:
            yield _drain(buffer)
    yield _drain(buffer)


def _drain(buffer: io.StringIO) -> bytes:
    data = buffer.getvalue().encode("utf-8")
    buffer.seek(0)
    buffer.truncate()
    return data


def geojson_chunks(found: Iterable[tuple[Any, ...]], base_url: str,
                   lang: str = "sv") -> Iterator[bytes]:  # fmt: skip
    """A GeoJSON FeatureCollection of Points (RFC 7946: [longitude, latitude])."""
    t = i18n.Translator(lang)
    parts = ['{"type":"FeatureCollection","features":[']
    first = True
    for row in found:
        values = record(row, base_url, t)
        lat, lon = values.pop("latitude"), values.pop("longitude")
        feature = {
            "type": "Feature",
            "id": values["id"],
            "geometry": {"type": "Point", "coordinates": [lon, lat]},
            "properties": values,
        }
        parts.append(("" if first else ",") + json.dumps(feature, ensure_ascii=False))
        first = False
        if len(parts) >= CHUNK_ROWS:
            yield "".join(parts).encode("utf-8")
            parts = []
    parts.append("]}\n")
    yield "".join(parts).encode("utf-8")


def filename(extension: str, today: date) -> str:
    """The download's name, dated: walkaudit-findings-2026-11-25.csv."""
    return f"walkaudit-findings-{today.isoformat()}.{extension}"

"""Reading services and service requests, and the paging that updates share.

Services are the categories (service_code = category code, service_name = its label, Swedish
unless lang=en). A request is a finding; requested_datetime is when the walker captured it,
expected_datetime the end of its deadline day (while open), updated_datetime its latest event.
What a reader sees of them follows `visibility`; the statuses follow `statuses`; the query
string and paging, `params`.

Raises nothing of its own: a request that is not visible is simply not in the answer.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from datetime import date, datetime, time
from typing import Any

import sqlite_utils

from sync_server.core.db import Database
from sync_server.core.finding_filters import DONE, FROM_FINDINGS, OPEN
from sync_server.core.geocode import cache_key
from sync_server.core.time import SWEDEN
from sync_server.open311.keys import View
from sync_server.open311.media import media_url
from sync_server.open311.params import RequestQuery, Window, w3c
from sync_server.open311.statuses import SILENT_SQL, open311_statuses
from sync_server.open311.visibility import PUBLIC_DECIMALS, PUBLIC_HIDDEN, scope
from sync_server.texts import open311 as texts_open311
from walkaudit import i18n
from walkaudit.categories import CATEGORIES

# ---- paging ----------------------------------------------------------------------------------


def page(conn: sqlite_utils.Database, sql: str, params: list[object],
         window: Window) -> tuple[list[Any], bool]:  # fmt: skip
    """The keys (first column) of the window's page of `sql`, and whether more follow."""
    # The keys of one page first, then (by the caller) the rows: the columns of a row, with their
    # sub-queries, are never computed for the rows an OFFSET skips.
    offset = (window.page - 1) * window.size
    keys = [r[0] for r in conn.execute(sql + " LIMIT ? OFFSET ?",
                                       [*params, window.size + 1, offset]).fetchall()]  # fmt: skip
    return keys[: window.size], len(keys) > window.size


def in_order(conn: sqlite_utils.Database, sql: str, keys: list[Any]) -> list[Any]:
    """The rows of `sql` (with "IN ({})") for these keys (the first column), in the keys' order."""
    rows = {row[0]: row for row in chunked(conn, sql, keys)}
    return [rows[key] for key in keys if key in rows]


def chunked(conn: sqlite_utils.Database, sql: str, values: list[Any]) -> Iterator[Any]:
    """The rows of `sql` (with "IN ({})") for these values, 500 parameters at a time."""
    for i in range(0, len(values), 500):
        part = values[i : i + 500]
        yield from conn.execute(sql.format(", ".join("?" * len(part))), part).fetchall()


# ---- services --------------------------------------------------------------------------------


def services(lang: str, public: bool) -> list[dict[str, Any]]:
    """The categories as Open311 services."""
    t = i18n.Translator(lang)
    result = []
    for category in CATEGORIES:
        if public and category.code in PUBLIC_HIDDEN:
            continue
        group = "positive" if category.code == texts_open311.POSITIVE else (
            texts_open311.GROUPS.get(category.owner_kind, "environment"))  # fmt: skip
        result.append({
            "service_code": category.code,
            "service_name": t.category(category.code),
            "description": t(f"open311.service.{category.code}"),
            "metadata": False,
            "type": "realtime",
            "keywords": t(f"open311.keywords.{category.code}"),
            "group": t(f"open311.group.{group}"),
        })  # fmt: skip
    return result


# ---- requests --------------------------------------------------------------------------------

_REQUEST_COLUMNS = (
    "SELECT f.id, f.category, f.severity, f.note, f.latitude, f.longitude, f.status,"
    " f.captured_at, f.updated_at, a.deadline, o.name, o.kind, ft.merged_into,"
    " (SELECT max(e.at) FROM events e WHERE e.finding_id = f.id)"
)


def find_requests(db: Database, view: View, query: RequestQuery, lang: str,
                  base_url: str) -> tuple[list[dict[str, Any]], bool]:  # fmt: skip
    """One page of requests as Open311 dicts, newest first, and whether more follow."""
    conn, window = db.conn(), query.window
    clauses, params = scope(conn, view, window.page * window.size)
    if query.ids:
        clauses.append(f"f.id IN ({', '.join('?' * len(query.ids))})")
        params += query.ids
    if query.codes:
        clauses.append(f"f.category IN ({', '.join('?' * len(query.codes))})")
        params += query.codes
    if query.statuses == {"open"}:
        clauses.append(f"f.status IN ({', '.join('?' * len(OPEN))}) AND ft.merged_into IS NULL")
        params += OPEN
    elif query.statuses == {"closed"}:
        clauses.append(
            f"(f.status IN ({', '.join('?' * len(DONE))}) OR ft.merged_into IS NOT NULL)"
        )
        params += DONE
    if window.start:
        clauses.append("f.captured_at >= ?")
        params.append(window.start)
    if window.end:
        clauses.append("f.captured_at <= ?" if window.end_inclusive else "f.captured_at < ?")
        params.append(window.end)
    where = " WHERE " + " AND ".join(clauses) if clauses else ""
    # By capture time, then id: an index on (captured_at, id) gives the order without a sort.
    order = " ORDER BY f.captured_at DESC, f.id DESC"
    ids, more = page(conn, "SELECT f.id" + FROM_FINDINGS + where + order, params, window)
    rows = in_order(conn, _REQUEST_COLUMNS + FROM_FINDINGS + " WHERE f.id IN ({})", ids)
    extras = _Extras.load(conn, ids, rows, view.full)
    t = i18n.Translator(lang)
    return [_request(row, view, t, extras, base_url) for row in rows], more


@dataclass
class _Extras:
    """What a page of requests needs beyond its rows, fetched once for the whole page."""

    photos: dict[str, str]  # finding id -> its first stored photo
    notes: dict[str, str]  # finding id -> the note of its latest status change
    addresses: dict[str, str]  # cache key -> nearest address

    @classmethod
    def load(cls, conn: sqlite_utils.Database, ids: list[str], rows: list[Any],
             full: bool) -> _Extras:  # fmt: skip
        keys = list({cache_key(row[4], row[5]) for row in rows})
        addresses = dict(chunked(conn, "SELECT key, address FROM geocode_cache WHERE"
                                 " address IS NOT NULL AND key IN ({})", keys))  # fmt: skip
        if not full or not ids:
            return cls({}, {}, addresses)
        photos: dict[str, str] = {}
        for fid, sha in chunked(conn, "SELECT fp.finding_id, fp.sha256 FROM finding_photos fp"
                                " JOIN photos p ON p.sha256 = fp.sha256 WHERE fp.finding_id IN"
                                " ({}) ORDER BY fp.finding_id, fp.position", ids):  # fmt: skip
            photos.setdefault(fid, sha)
        notes = dict(chunked(conn, "SELECT finding_id, note FROM events WHERE finding_id IN ({})"
                             f" AND kind NOT IN ({SILENT_SQL}) ORDER BY seq", ids))  # fmt: skip
        return cls(photos, notes, addresses)


def _request(row: Any, view: View, t: i18n.Translator, extras: _Extras,
             base_url: str) -> dict[str, Any]:  # fmt: skip
    (fid, category, severity, note, lat, lon, status, captured_at, updated_at, deadline,
     owner_name, owner_kind, merged_into, last_event_at) = row  # fmt: skip
    open_closed, extended = open311_statuses(status, merged_into)
    label, notes = t(f"status.{status}"), extras.notes.get(fid, "")
    names = {"category": t.category(category), "severity": t(f"severity.{severity}").lower()}
    if view.full and note.strip():
        description = t("open311.description_note", note=note.strip(), **names)
    else:
        description = t("open311.description", **names)
    agency = owner_name if view.full or owner_kind in ("municipality", "police") else None
    expected = None
    if deadline and open_closed == "open":
        end_of_day = datetime.combine(date.fromisoformat(str(deadline)[:10]), time(23, 59, 59))
        expected = end_of_day.replace(tzinfo=SWEDEN).isoformat()
    if not view.full:
        lat, lon = round(lat, PUBLIC_DECIMALS), round(lon, PUBLIC_DECIMALS)
    photo = extras.photos.get(fid)
    return {
        "service_request_id": fid,
        "status": open_closed,
        "status_notes": f"{label}: {notes}" if view.full and notes else label,
        "service_name": t.category(category),
        "service_code": category,
        "description": description,
        "agency_responsible": agency or None,
        "service_notice": t("open311.deadline", date=str(deadline)[:10]) if expected else None,
        "requested_datetime": w3c(captured_at),
        "updated_datetime": w3c(max(updated_at, last_event_at or "")),
        "expected_datetime": expected,
        "address": extras.addresses.get(cache_key(row[4], row[5])),
        "address_id": None,
        "zipcode": None,
        "lat": lat,
        "long": lon,
        "media_url": media_url(view, base_url, fid, photo) if photo else None,
        "extended_attributes": {
            "extended_status": extended,
            "external_status_code": status,
            "severity": severity,
            "merged_into": merged_into,
        },
    }

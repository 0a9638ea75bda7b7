"""Service request updates: the findings' events read out, and the updates an owner's own
maintenance system posts back.

Reading, an update is an event: update_id is the event id, `status` the extended status after it
(see `statuses`); the public view lists status changes only, with their labels, never notes.

Posting, the posted status becomes an event as `statuses` says, recorded with the actor
`open311:<key name>`; a not_ours hands the finding back to the coordinator's triage. A posted
media_url is kept as a link in the note; the server never fetches it. Names, emails and phone
numbers that update clients send along are not stored.

Idempotence: update_id is unique per api key (`open311_updates`): the same update_id with the
same content records one event and answers the same update again; with other content it is an
UpdateConflict. The answer's update_id is the event id, which GET servicerequestupdates lists.

Raises InvalidValue (a form field), ApiKeyRequired, NotFound (a request this key does not see)
and UpdateConflict; see `errors`.
"""

from __future__ import annotations

import hashlib
import json
import re
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

import sqlite_utils

from sync_server.core.db import Database
from sync_server.core.history import add_server_event
from sync_server.core.time import iso, parse_iso
from sync_server.open311.errors import ApiKeyRequired, InvalidValue, NotFound, UpdateConflict
from sync_server.open311.keys import ApiKey, View
from sync_server.open311.media import media_url
from sync_server.open311.params import Window, w3c, w3c_in
from sync_server.open311.queries import chunked, in_order, page
from sync_server.open311.statuses import (
    POSTED_KIND,
    SAYS,
    SILENT_SQL,
    open311_statuses,
    recorded_kind,
)
from sync_server.open311.visibility import scope
from sync_server.owners.routing import reroute_to_triage
from walkaudit import i18n
from walkaudit.model import EventKind, FindingStatus, new_id, utcnow

MAX_UPDATE_ID, MAX_DESCRIPTION, MAX_MEDIA_URL = 200, 2000, 1000

# ---- reading ---------------------------------------------------------------------------------

_FROM_EVENTS = (
    " FROM events e JOIN findings f ON f.id = e.finding_id"
    " LEFT JOIN assignments a ON a.finding_id = f.id"
    " LEFT JOIN finding_tracking ft ON ft.finding_id = f.id"
)
_UPDATE_COLUMNS = (
    "SELECT e.seq, e.id, e.finding_id, e.kind, e.at, e.note, e.status_after, e.json,"
    " ft.merged_into" + _FROM_EVENTS
)


def find_updates(db: Database, view: View, window: Window, lang: str,
                 base_url: str) -> tuple[list[dict[str, Any]], bool]:  # fmt: skip
    """One page of updates (the findings' events) as Open311 dicts, newest first."""
    conn = db.conn()
    clauses, params = scope(conn, view, window.page * window.size)
    if not view.full:  # status changes only: comments are notes, and notes are not public
        clauses.append(f"e.kind NOT IN ({SILENT_SQL})")
    if window.start:
        clauses.append("e.at >= ?")
        params.append(window.start)
    if window.end:
        clauses.append("e.at <= ?" if window.end_inclusive else "e.at < ?")
        params.append(window.end)
    where = " WHERE " + " AND ".join(clauses) if clauses else ""
    order = " ORDER BY e.at DESC, e.seq DESC"
    seqs, more = page(conn, "SELECT e.seq" + _FROM_EVENTS + where + order, params, window)
    rows = in_order(conn, _UPDATE_COLUMNS + " WHERE e.seq IN ({})", seqs)
    return _updates(conn, rows, view, lang, base_url), more


def _updates(conn: sqlite_utils.Database, rows: list[Any], view: View, lang: str,
             base_url: str) -> list[dict[str, Any]]:  # fmt: skip
    t = i18n.Translator(lang)
    first_photo: dict[str, str] = {}
    if view.full:
        shas = {row[1]: [p["sha256"] for p in json.loads(row[7]).get("photos", [])] for row in rows}
        stored = {
            sha
            for (sha,) in chunked(
                conn,
                "SELECT sha256 FROM photos WHERE sha256 IN ({})",
                list({s for v in shas.values() for s in v}),
            )
        }
        first_photo = {eid: next(s for s in v if s in stored)
                       for eid, v in shas.items() if any(s in stored for s in v)}  # fmt: skip
    result = []
    for _seq, eid, fid, _kind, at, note, status_after, _json, merged_into in rows:
        duplicate = merged_into if status_after == FindingStatus.CLOSED.value else None
        _, extended = open311_statuses(status_after, duplicate)
        photo = first_photo.get(eid)
        result.append({
            "update_id": eid,
            "service_request_id": fid,
            "status": extended,
            "updated_datetime": w3c(at),
            "description": note if view.full and note else t(f"status.{status_after}"),
            "media_url": media_url(view, base_url, fid, photo) if photo else None,
            "external_status_code": status_after,
        })  # fmt: skip
    return result


# ---- posting ---------------------------------------------------------------------------------


@dataclass(frozen=True)
class PostedUpdate:
    """A POSTed update, checked; `content_hash` says whether a repeat is the same update."""

    update_id: str
    service_request_id: str
    status: str  # normalised: lowercase, underscores
    updated_at: str | None  # stored form
    description: str
    media_url: str

    def content_hash(self) -> str:
        """sha256 of what the update says (not who sent it along: names are not kept)."""
        data = [self.service_request_id, self.status, self.updated_at or "",
                self.description, self.media_url]  # fmt: skip
        return hashlib.sha256(json.dumps(data, ensure_ascii=False).encode()).hexdigest()


def parse_posted_update(form: Mapping[str, str]) -> PostedUpdate:
    """The fields of a POST servicerequestupdates form; InvalidValue names a bad one."""

    def text(name: str) -> str:
        return (form.get(name) or "").strip()

    update_id = text("update_id") or text("update_id_ext")
    if not update_id:
        raise InvalidValue("update_id is required: your system's id of this update")
    if len(update_id) > MAX_UPDATE_ID:
        raise InvalidValue(f"update_id: {MAX_UPDATE_ID} characters at most")
    request_id = text("service_request_id").lower()
    if not request_id:
        raise InvalidValue("service_request_id is required")
    status = re.sub(r"[\s-]+", "_", text("status").lower())
    if status not in POSTED_KIND:
        raise InvalidValue(f"status: use one of {', '.join(s.upper() for s in POSTED_KIND)}")
    updated_at = None
    if text("updated_datetime"):
        updated_at, _ = w3c_in(text("updated_datetime"), "updated_datetime")
        if parse_iso(updated_at) > utcnow() + timedelta(days=1):
            raise InvalidValue("updated_datetime is more than a day in the future")
    description = text("description").replace("\r\n", "\n")
    if len(description) > MAX_DESCRIPTION:
        raise InvalidValue(f"description: {MAX_DESCRIPTION} characters at most")
    media = text("media_url")
    if media and (not media.startswith(("http://", "https://")) or re.search(r"\s", media)
                  or len(media) > MAX_MEDIA_URL):  # fmt: skip
        raise InvalidValue(f"media_url: an http(s) URL of at most {MAX_MEDIA_URL} characters")
    return PostedUpdate(update_id, request_id, status, updated_at, description, media)


def post_update(db: Database, view: View, posted: PostedUpdate, lang: str,
                base_url: str) -> dict[str, Any]:  # fmt: skip
    """Record a posted update as an event (once per update_id and key); returns the update."""
    key = view.key
    if key is None:
        raise ApiKeyRequired("posting an update needs an api_key")
    digest = posted.content_hash()
    with db.write() as tx:
        known = tx.execute(
            "SELECT event_id, content_hash FROM open311_updates WHERE api_key_id = ?"
            " AND update_id = ?",
            [key.id, posted.update_id],
        ).fetchone()
        if known and known[1] != digest:
            raise UpdateConflict(
                f"update_id {posted.update_id} was already posted with other content; "
                "send a new update_id for a new update"
            )
        event_id = known[0] if known else _record(tx, key, posted, digest)
    row = db.conn().execute(_UPDATE_COLUMNS + " WHERE e.id = ?", [event_id]).fetchone()
    return _updates(db.conn(), [row], view, lang, base_url)[0]


def _record(tx: sqlite_utils.Database, key: ApiKey, posted: PostedUpdate, digest: str) -> str:
    sql = ("SELECT f.status, ft.merged_into, f.captured_at FROM findings f LEFT JOIN assignments a"
           " ON a.finding_id = f.id LEFT JOIN finding_tracking ft ON ft.finding_id = f.id"
           " WHERE f.id = ?")  # fmt: skip
    params: list[object] = [posted.service_request_id]
    if key.owner_id:
        sql += " AND a.owner_id = ?"
        params.append(key.owner_id)
    finding = tx.execute(sql, params).fetchone()
    if finding is None:
        raise NotFound(f"there is no service request {posted.service_request_id} for this key")
    if posted.updated_at and posted.updated_at < finding[2]:
        # An update dated before the finding existed would make "days to fix" negative (or 0).
        raise InvalidValue(
            f"updated_datetime is before the finding was reported ({w3c(finding[2])})"
        )
    kind = recorded_kind(POSTED_KIND[posted.status], FindingStatus(finding[0]), bool(finding[1]))
    note = posted.description
    if posted.status not in SAYS[kind]:
        note = f"[{posted.status.upper()}] {note}".strip()
    if posted.media_url:
        note = f"{note}\n{posted.media_url}".strip()
    event_id = new_id()
    at = parse_iso(posted.updated_at) if posted.updated_at else None
    add_server_event(tx, posted.service_request_id, kind, at=at, actor=key.actor, note=note,
                     event_id=event_id)  # fmt: skip
    if kind is EventKind.NOT_OURS:
        reroute_to_triage(tx, posted.service_request_id, "not_ours", note)
    tx.execute(
        "INSERT INTO open311_updates (api_key_id, update_id, event_id, content_hash, received_at)"
        " VALUES (?, ?, ?, ?, ?)",
        [key.id, posted.update_id, event_id, digest, iso(utcnow())],
    )
    return event_id

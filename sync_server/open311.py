"""Open311 GeoReport v2 with mySociety's extensions: findings as service requests, their history
as updates, API keys, and the updates an owner's own maintenance system posts back.

Services are the categories (service_code = category code, service_name = its label, Swedish
unless lang=en). A request is a finding; requested_datetime is when the walker captured it,
expected_datetime the end of its deadline day (while open), updated_datetime its latest event.
Dates go out in W3C form with the Europe/Stockholm offset; dates coming in need a zone (or are a
bare date, meaning that Swedish day).

Status. `status` is open|closed as the standard has it, with walkaudit's groups (open: someone
still has to act, which includes "not ours" waiting on the coordinator's triage). The detail is
mySociety's extended status (the values FixMyStreet and open311-adapter exchange, lowercase here;
uppercase is accepted coming in), in `extended_attributes.extended_status` of a request and in
`status` of an update, with walkaudit's own status as `external_status_code`:

    walkaudit status   status   extended status                walkaudit status   status  extended
    received, sent     open     open                           fixed, verified    closed  fixed
    acknowledged       open     investigating                  closed             closed  closed
    planned            open     action_scheduled               merged duplicate   closed  duplicate
    not_ours           open     not_councils_responsibility    reopened           open    reopen

A posted update's status becomes an event (actor `open311:<key name>`): investigating and
in_progress → acknowledged; action_scheduled (or planned) → planned; fixed → fixed; closed →
fixed as well (a system without extended statuses says CLOSED for "done"; a follow-up walk
verifies it); not_councils_responsibility and no_further_action → not_ours, which hands the
finding back to the coordinator's triage; reopen → reopened; open, internal_referral, duplicate →
comment. walkaudit's own names (acknowledged, not_ours, comment, …) are accepted too. A status the
finding cannot take now (fixed again, acknowledged after planned, anything but reopen once done)
is kept as a comment, so its text is never lost — as FixMyStreet does with its own updates. When
the event's kind does not say what was posted, the note starts with it: "[NO_FURTHER_ACTION] …".
A posted media_url is kept as a link in the note; the server never fetches it. Names, emails and
phone numbers that update clients send along are not stored.

Idempotence: update_id is unique per api key (`open311_updates`): the same update_id with the
same content records one event and answers the same update again; with other content it is an
UpdateConflict. The answer's update_id is the event id, which GET servicerequestupdates lists.

Who sees what. A key without owner (the municipality's system) reads and updates every finding;
a key bound to an owner only the findings assigned to that owner — anything else is NotFound, as
if it did not exist. Without a key, and only with Settings.open311_public_read, the public view
has no personal data: description = category and severity (never the walker's note), no event
notes (status labels only, no comments), no photos (a photo may show a person or a number plate),
agency_responsible only for municipalities and the police (a property owner may be a person),
coordinates to 5 decimals (about a metre), and no disorder (ORD) findings at all, nor its service.
media_url is a link signed for the key that read it (HMAC with the key's stored hash), so a client
that fetches photos without sending its key (FixMyStreet does) can; revoking the key ends it.
Served photos are stripped of any metadata segment on the way out (see `strip_jpeg_metadata`).

Paging: newest first, at most MAX_PAGE_SIZE (1000) per answer; `page_size` (or FixMyStreet's
`max_requests`) and `page` (from 1) go further, and a full page carries a Link rel="next". There
is no 90-day default window: deadlines run 6-12 months and an open finding must stay reachable.
As the standard says, service_request_id ignores every other filter.

    Open311Error (ServerError)
     ├── ApiKeyRequired   no api_key where one is needed                    → 403
     ├── InvalidApiKey    an unknown or revoked api_key                     → 403
     ├── NotFound         no such request or photo, or not visible to the key → 404
     ├── InvalidValue     a parameter or form value that cannot be used     → 400
     ├── UpdateConflict   an update_id already used for other content       → 409
     ├── NotSupported     POST requests: findings are made on walks         → 405
     └── UnknownApiKey    revoke_api_key of an id that does not exist       → 404 (CLI)
`create_api_key` also raises `owners.UnknownOwner`.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import re
import secrets
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from typing import IO, Any
from xml.sax.saxutils import escape
from zoneinfo import ZoneInfo

import sqlite_utils

from sync_server import texts_open311
from sync_server.db import Database, iso, parse_iso
from sync_server.errors import ServerError
from sync_server.finding_filters import DONE, FROM_FINDINGS, OPEN
from sync_server.geocode import cache_key
from sync_server.history import add_server_event
from sync_server.owners import UnknownOwner
from sync_server.routing import reroute_to_triage
from walkaudit import i18n
from walkaudit.categories import CATEGORIES, CODES
from walkaudit.model import STATUS_AFTER, EventKind, FindingStatus, new_id, utcnow

SWEDEN = ZoneInfo("Europe/Stockholm")
MAX_PAGE_SIZE = 1000
KEY_PREFIX = "o311_"
LAST_USED_EVERY = timedelta(minutes=10)  # last_used_at is a write: not on every request
MAX_NAME, MAX_UPDATE_ID, MAX_DESCRIPTION, MAX_MEDIA_URL = 100, 200, 2000, 1000
PUBLIC_HIDDEN = ("ORD",)  # disorder: police matters, never in the public view
PUBLIC_DECIMALS = 5

# walkaudit status -> (Open311 status, mySociety extended status); see the table above.
STATUS = {
    FindingStatus.RECEIVED: ("open", "open"),
    FindingStatus.SENT: ("open", "open"),
    FindingStatus.ACKNOWLEDGED: ("open", "investigating"),
    FindingStatus.PLANNED: ("open", "action_scheduled"),
    FindingStatus.FIXED: ("closed", "fixed"),
    FindingStatus.VERIFIED: ("closed", "fixed"),
    FindingStatus.NOT_OURS: ("open", "not_councils_responsibility"),
    FindingStatus.REOPENED: ("open", "reopen"),
    FindingStatus.CLOSED: ("closed", "closed"),
}
DUPLICATE = ("closed", "duplicate")
# A posted status -> the event it records, and the posted names each kind stands for exactly.
POSTED_KIND = {
    "open": EventKind.COMMENT, "comment": EventKind.COMMENT,
    "internal_referral": EventKind.COMMENT, "duplicate": EventKind.COMMENT,
    "investigating": EventKind.ACKNOWLEDGED, "in_progress": EventKind.ACKNOWLEDGED,
    "acknowledged": EventKind.ACKNOWLEDGED,
    "action_scheduled": EventKind.PLANNED, "planned": EventKind.PLANNED,
    "fixed": EventKind.FIXED, "closed": EventKind.FIXED,
    "not_councils_responsibility": EventKind.NOT_OURS, "not_ours": EventKind.NOT_OURS,
    "no_further_action": EventKind.NOT_OURS,
    "reopen": EventKind.REOPENED, "reopened": EventKind.REOPENED,
}  # fmt: skip
_SAYS = {
    EventKind.COMMENT: {"open", "comment"},
    EventKind.ACKNOWLEDGED: {"investigating", "acknowledged"},
    EventKind.PLANNED: {"action_scheduled", "planned"},
    EventKind.FIXED: {"fixed"},
    EventKind.NOT_OURS: {"not_councils_responsibility", "not_ours"},
    EventKind.REOPENED: {"reopen", "reopened"},
}
_FINISHED = frozenset({FindingStatus.FIXED, FindingStatus.VERIFIED, FindingStatus.CLOSED})
# Events that leave the status as it was (comment, still_there): notes, not status changes.
_SILENT_SQL = ", ".join(f"'{k.value}'" for k, after in STATUS_AFTER.items() if after is None)
_ACKNOWLEDGEABLE = frozenset({FindingStatus.RECEIVED, FindingStatus.SENT, FindingStatus.REOPENED,
                              FindingStatus.NOT_OURS})  # fmt: skip


class Open311Error(ServerError):
    """Base of what the Open311 API refuses; `status` is the HTTP code of its answer."""

    status = 400


class ApiKeyRequired(Open311Error):
    """This needs an api_key (reads too, unless the public view is switched on)."""

    status = 403


class InvalidApiKey(Open311Error):
    """The api_key is unknown or was revoked."""

    status = 403


class NotFound(Open311Error):
    """No such request or photo, or one this key may not see (the same answer on purpose)."""

    status = 404


class InvalidValue(Open311Error):
    """A parameter or form value that cannot be used; the message names it."""


class UpdateConflict(Open311Error):
    """This update_id was already posted by this key with different content."""

    status = 409


class NotSupported(Open311Error):
    """Something Open311 allows that this server does not do (new requests)."""

    status = 405


class UnknownApiKey(Open311Error):
    """No api key has this id."""

    status = 404


# ---- api keys --------------------------------------------------------------------------------


@dataclass(frozen=True)
class ApiKey:
    """An Open311 client: its name, the owner it is bound to (None: every finding)."""

    id: str
    name: str
    owner_id: str | None
    owner_name: str | None
    created_at: str
    last_used_at: str | None
    revoked_at: str | None

    @property
    def actor(self) -> str:
        """How this key is named in the events it records."""
        return f"open311:{self.name}"


@dataclass(frozen=True)
class View:
    """Who is reading: a key (the full view, scoped to its owner) or nobody (the public view)."""

    key: ApiKey | None = None
    signing_key: bytes = b""  # the key's stored hash: signs its media links

    @property
    def full(self) -> bool:
        """True when the reader has a key (notes, photos, owner names)."""
        return self.key is not None


_KEY_COLUMNS = (
    "SELECT k.id, k.name, k.owner_id, o.name, k.created_at, k.last_used_at, k.revoked_at,"
    " k.key_hash FROM api_keys k LEFT JOIN owners o ON o.id = k.owner_id"
)


def _hash(key: str) -> str:
    return hashlib.sha256(key.encode()).hexdigest()


def create_api_key(db: Database, name: str, owner_id: str | None = None) -> tuple[str, str]:
    """A new key: (its id, the key itself — shown this once; only its sha256 is stored)."""
    name = " ".join(name.split())
    if not name:
        raise InvalidValue("give the api key a name that says who uses it")
    if len(name) > MAX_NAME:
        raise InvalidValue(f"the api key's name is {len(name)} characters; {MAX_NAME} at most")
    key_id, key = new_id(), KEY_PREFIX + secrets.token_urlsafe(32)
    with db.write() as tx:
        if owner_id and not tx.execute("SELECT 1 FROM owners WHERE id = ?", [owner_id]).fetchone():
            raise UnknownOwner(f"there is no owner {owner_id}; see `owners list`")
        taken = tx.execute(
            "SELECT 1 FROM api_keys WHERE lower(name) = lower(?) AND revoked_at IS NULL", [name]
        ).fetchone()
        if taken:
            raise InvalidValue(f"an api key named {name!r} exists; choose another name")
        tx.execute(
            "INSERT INTO api_keys (id, key_hash, name, owner_id, created_at)"
            " VALUES (?, ?, ?, ?, ?)",
            [key_id, _hash(key), name, owner_id or None, iso(utcnow())],
        )
    return key_id, key


def list_api_keys(db: Database) -> list[ApiKey]:
    """Every api key, revoked ones too, oldest first."""
    rows = db.conn().execute(_KEY_COLUMNS + " ORDER BY k.created_at, k.id").fetchall()
    return [ApiKey(*row[:7]) for row in rows]


def revoke_api_key(db: Database, key_id: str) -> bool:
    """Revoke a key; False if it was revoked already. UnknownApiKey if there is no such id."""
    with db.write() as tx:
        row = tx.execute("SELECT revoked_at FROM api_keys WHERE id = ?", [key_id]).fetchone()
        if row is None:
            raise UnknownApiKey(f"there is no api key {key_id}; see the list of keys")
        if row[0] is not None:
            return False
        tx.execute("UPDATE api_keys SET revoked_at = ? WHERE id = ?", [iso(utcnow()), key_id])
    return True


def authenticate(db: Database, key: str) -> View:
    """The full view of a valid key; InvalidApiKey if it is unknown or revoked."""
    row = db.conn().execute(_KEY_COLUMNS + " WHERE k.key_hash = ?", [_hash(key.strip())]).fetchone()
    if row is None:
        raise InvalidApiKey("this api_key is not known here; check it, or ask for a new one")
    api_key = ApiKey(*row[:7])
    if api_key.revoked_at:
        raise InvalidApiKey(f"this api_key was revoked on {api_key.revoked_at[:10]}")
    now = utcnow()
    if not api_key.last_used_at or parse_iso(api_key.last_used_at) < now - LAST_USED_EVERY:
        with db.write() as tx:
            tx.execute("UPDATE api_keys SET last_used_at = ? WHERE id = ?", [iso(now), api_key.id])
    return View(api_key, bytes.fromhex(row[7]))


def read_view(db: Database, api_key: str | None, public_read: bool) -> View:
    """The view a GET gets: its key's, the public one, or ApiKeyRequired."""
    if api_key and api_key.strip():
        return authenticate(db, api_key)
    if public_read:
        return View()
    raise ApiKeyRequired("this server needs an api_key to read (ask the coordinator for one)")


# ---- parameters ------------------------------------------------------------------------------


@dataclass(frozen=True)
class Window:
    """A time range and a page of results, newest first."""

    start: str | None = None  # stored-form timestamp, inclusive
    end: str | None = None
    end_inclusive: bool = True
    page: int = 1
    size: int = MAX_PAGE_SIZE


@dataclass(frozen=True)
class RequestQuery:
    """GET requests: ids (which override the rest), service codes, open/closed, a window."""

    ids: tuple[str, ...] = ()
    codes: tuple[str, ...] = ()
    statuses: frozenset[str] = frozenset()
    window: Window = Window()


def _w3c_in(value: str, name: str, *, end: bool = False) -> tuple[str, bool]:
    # A '+' typed into a URL arrives as a space: "…T18:03:00 01:00" meant "+01:00".
    value = re.sub(r" (\d\d:?\d\d)$", r"+\1", value.strip())
    try:
        if len(value) == 10:  # a bare date: that day in Sweden (end: to its end)
            day = date.fromisoformat(value) + timedelta(days=1 if end else 0)
            return iso(datetime.combine(day, time(), SWEDEN)), not end
        moment = datetime.fromisoformat(value)
    except ValueError:
        raise InvalidValue(f"{name}: use W3C form, e.g. 2026-11-25T18:03:00+01:00") from None
    if moment.tzinfo is None:
        raise InvalidValue(f"{name}: give the time zone, e.g. 2026-11-25T18:03:00+01:00 or …Z")
    return iso(moment), True


def w3c(stored: str) -> str:
    """A stored UTC timestamp in W3C form with the Swedish offset, to the second."""
    return parse_iso(stored).astimezone(SWEDEN).isoformat(timespec="seconds")


def _int(params: Mapping[str, str], names: tuple[str, ...], default: int, top: int) -> int:
    name = next((n for n in names if (params.get(n) or "").strip()), None)
    if name is None:
        return default
    try:
        value = int(params[name].strip())
    except ValueError:
        raise InvalidValue(f"{name}: a whole number from 1 to {top}") from None
    if not 1 <= value <= top:
        raise InvalidValue(f"{name}: a whole number from 1 to {top} (got {value})")
    return value


def parse_window(params: Mapping[str, str]) -> Window:
    """start_date, end_date, page_size (or max_requests) and page from a query string."""
    start = end = None
    inclusive = True
    if (params.get("start_date") or "").strip():
        start, _ = _w3c_in(params["start_date"], "start_date")
    if (params.get("end_date") or "").strip():
        end, inclusive = _w3c_in(params["end_date"], "end_date", end=True)
    if start and end and start > end:
        raise InvalidValue("start_date is after end_date")
    size = _int(params, ("page_size", "max_requests"), MAX_PAGE_SIZE, MAX_PAGE_SIZE)
    return Window(start, end, inclusive, _int(params, ("page",), 1, 1_000_000), size)


def _csv(value: str | None) -> list[str]:
    return [part.strip() for part in (value or "").split(",") if part.strip()]


def parse_request_query(params: Mapping[str, str]) -> RequestQuery:
    """A GET requests query string; InvalidValue names what cannot be used."""
    ids = tuple(dict.fromkeys(i.lower() for i in _csv(params.get("service_request_id"))))
    if len(ids) > MAX_PAGE_SIZE:
        raise InvalidValue(f"service_request_id: {MAX_PAGE_SIZE} ids at most per request")
    if ids:  # the standard: "if this parameter is present, other parameters are ignored"
        return RequestQuery(ids=ids)
    codes = tuple(c.upper() for c in _csv(params.get("service_code")))
    unknown = [c for c in codes if c not in CODES]
    if unknown:
        valid = ", ".join(c.code for c in CATEGORIES)
        raise InvalidValue(f"service_code: {unknown[0]} is not a service; use one of {valid}")
    statuses = frozenset(s.lower() for s in _csv(params.get("status")))
    if statuses - {"open", "closed"}:
        raise InvalidValue("status: open or closed (or both, comma-separated)")
    return RequestQuery((), codes, statuses, parse_window(params))


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


def _scope(
    conn: sqlite_utils.Database, view: View, page_end: int
) -> tuple[list[str], list[object]]:
    # What a view may see of FROM_FINDINGS (aliases f, a, o, w, ft).
    if view.key is None:
        return [f"f.category NOT IN ({', '.join('?' * len(PUBLIC_HIDDEN))})"], [*PUBLIC_HIDDEN]
    if view.key.owner_id:
        return [_owner_clause(conn, view.key.owner_id, page_end)], [view.key.owner_id]
    return [], []


def _owner_clause(conn: sqlite_utils.Database, owner_id: str, page_end: int) -> str:
    # Two plans: the owner's assignments, all of them sorted by time (cheap for a small owner),
    # or the findings in time order, keeping the owner's until the page is full (cheap for a big
    # one: at 100,000 findings and an owner of 37,000, 2 ms instead of 80). The first costs the
    # owner's n, the second about page_end * total / n rows; '+' keeps SQLite off the index.
    owned = conn.execute("SELECT count(*) FROM assignments WHERE owner_id = ?", [owner_id])
    total = conn.execute("SELECT max(rowid) FROM findings").fetchone()[0] or 0
    n = owned.fetchone()[0]
    return "+a.owner_id = ?" if n * n > page_end * total else "a.owner_id = ?"


def _page(conn: sqlite_utils.Database, sql: str, params: list[object],
          window: Window) -> tuple[list[Any], bool]:  # fmt: skip
    # The keys of one page first, then (by the caller) the rows: the columns of a row, with their
    # sub-queries, are never computed for the rows an OFFSET skips.
    offset = (window.page - 1) * window.size
    keys = [r[0] for r in conn.execute(sql + " LIMIT ? OFFSET ?",
                                       [*params, window.size + 1, offset]).fetchall()]  # fmt: skip
    return keys[: window.size], len(keys) > window.size


def _in_order(conn: sqlite_utils.Database, sql: str, keys: list[Any]) -> list[Any]:
    # The rows for these keys (the first column), in the keys' order.
    rows = {row[0]: row for row in _chunked(conn, sql, keys)}
    return [rows[key] for key in keys if key in rows]


def _statuses(status: str, merged_into: object) -> tuple[str, str]:
    return DUPLICATE if merged_into else STATUS[FindingStatus(status)]


_REQUEST_COLUMNS = (
    "SELECT f.id, f.category, f.severity, f.note, f.latitude, f.longitude, f.status,"
    " f.captured_at, f.updated_at, a.deadline, o.name, o.kind, ft.merged_into,"
    " (SELECT max(e.at) FROM events e WHERE e.finding_id = f.id)"
)


def find_requests(db: Database, view: View, query: RequestQuery, lang: str,
                  base_url: str) -> tuple[list[dict[str, Any]], bool]:  # fmt: skip
    """One page of requests as Open311 dicts, newest first, and whether more follow."""
    conn, window = db.conn(), query.window
    clauses, params = _scope(conn, view, window.page * window.size)
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
    ids, more = _page(conn, "SELECT f.id" + FROM_FINDINGS + where + order, params, window)
    rows = _in_order(conn, _REQUEST_COLUMNS + FROM_FINDINGS + " WHERE f.id IN ({})", ids)
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
        addresses = dict(_chunked(conn, "SELECT key, address FROM geocode_cache WHERE"
                                  " address IS NOT NULL AND key IN ({})", keys))  # fmt: skip
        if not full or not ids:
            return cls({}, {}, addresses)
        photos: dict[str, str] = {}
        for fid, sha in _chunked(conn, "SELECT fp.finding_id, fp.sha256 FROM finding_photos fp"
                                 " JOIN photos p ON p.sha256 = fp.sha256 WHERE fp.finding_id IN"
                                 " ({}) ORDER BY fp.finding_id, fp.position", ids):  # fmt: skip
            photos.setdefault(fid, sha)
        notes = dict(_chunked(conn, "SELECT finding_id, note FROM events WHERE finding_id IN ({})"
                              f" AND kind NOT IN ({_SILENT_SQL}) ORDER BY seq", ids))  # fmt: skip
        return cls(photos, notes, addresses)


def _chunked(conn: sqlite_utils.Database, sql: str, values: list[Any]) -> Iterator[Any]:
    for i in range(0, len(values), 500):
        part = values[i : i + 500]
        yield from conn.execute(sql.format(", ".join("?" * len(part))), part).fetchall()


def _request(row: Any, view: View, t: i18n.Translator, extras: _Extras,
             base_url: str) -> dict[str, Any]:  # fmt: skip
    (fid, category, severity, note, lat, lon, status, captured_at, updated_at, deadline,
     owner_name, owner_kind, merged_into, last_event_at) = row  # fmt: skip
    open_closed, extended = _statuses(status, merged_into)
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


# ---- updates ---------------------------------------------------------------------------------

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
    clauses, params = _scope(conn, view, window.page * window.size)
    if not view.full:  # status changes only: comments are notes, and notes are not public
        clauses.append(f"e.kind NOT IN ({_SILENT_SQL})")
    if window.start:
        clauses.append("e.at >= ?")
        params.append(window.start)
    if window.end:
        clauses.append("e.at <= ?" if window.end_inclusive else "e.at < ?")
        params.append(window.end)
    where = " WHERE " + " AND ".join(clauses) if clauses else ""
    order = " ORDER BY e.at DESC, e.seq DESC"
    seqs, more = _page(conn, "SELECT e.seq" + _FROM_EVENTS + where + order, params, window)
    rows = _in_order(conn, _UPDATE_COLUMNS + " WHERE e.seq IN ({})", seqs)
    return _updates(conn, rows, view, lang, base_url), more


def _updates(conn: sqlite_utils.Database, rows: list[Any], view: View, lang: str,
             base_url: str) -> list[dict[str, Any]]:  # fmt: skip
    t = i18n.Translator(lang)
    first_photo: dict[str, str] = {}
    if view.full:
        shas = {row[1]: [p["sha256"] for p in json.loads(row[7]).get("photos", [])] for row in rows}
        stored = {
            sha
            for (sha,) in _chunked(
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
        _, extended = _statuses(status_after, duplicate)
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
        updated_at, _ = _w3c_in(text("updated_datetime"), "updated_datetime")
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


def _recorded_kind(kind: EventKind, status: FindingStatus, merged: bool) -> EventKind:
    # What the finding can take now; the rest is kept as a comment (see the module docstring).
    if kind is EventKind.REOPENED:
        return kind if status in _FINISHED and not merged else EventKind.COMMENT
    if kind is EventKind.COMMENT or status in _FINISHED:
        return EventKind.COMMENT
    if kind is EventKind.ACKNOWLEDGED and status not in _ACKNOWLEDGEABLE:
        return EventKind.COMMENT
    if kind is EventKind.NOT_OURS and status is FindingStatus.NOT_OURS:
        return EventKind.COMMENT
    return kind


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
    sql = ("SELECT f.status, ft.merged_into FROM findings f LEFT JOIN assignments a"
           " ON a.finding_id = f.id LEFT JOIN finding_tracking ft ON ft.finding_id = f.id"
           " WHERE f.id = ?")  # fmt: skip
    params: list[object] = [posted.service_request_id]
    if key.owner_id:
        sql += " AND a.owner_id = ?"
        params.append(key.owner_id)
    finding = tx.execute(sql, params).fetchone()
    if finding is None:
        raise NotFound(f"there is no service request {posted.service_request_id} for this key")
    kind = _recorded_kind(POSTED_KIND[posted.status], FindingStatus(finding[0]), bool(finding[1]))
    note = posted.description
    if posted.status not in _SAYS[kind]:
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


# ---- photos ----------------------------------------------------------------------------------


def _signature(signing_key: bytes, finding_id: str, sha256: str) -> str:
    return hmac.new(signing_key, f"{finding_id}/{sha256}".encode(), "sha256").hexdigest()[:32]


def media_url(view: View, base_url: str, finding_id: str, sha256: str) -> str:
    """The photo's link, signed for the view's key (only the full view has photos)."""
    assert view.key is not None
    sig = _signature(view.signing_key, finding_id, sha256)
    return (f"{base_url.rstrip('/')}/open311/v2/media/{finding_id}/{sha256}.jpg"
            f"?key={view.key.id}&sig={sig}")  # fmt: skip


def view_from_link(db: Database, key_id: str, sig: str, finding_id: str, sha256: str) -> View:
    """The view a signed media link was made for; NotFound if it is not valid (any more)."""
    row = db.conn().execute(_KEY_COLUMNS + " WHERE k.id = ?", [key_id]).fetchone()
    if row is None or row[6] is not None:
        raise NotFound("this photo link is not valid (any more); read the request again")
    view = View(ApiKey(*row[:7]), bytes.fromhex(row[7]))
    if not hmac.compare_digest(_signature(view.signing_key, finding_id, sha256), sig):
        raise NotFound("this photo link is not valid (any more); read the request again")
    return view


def check_photo(db: Database, view: View, finding_id: str, sha256: str) -> None:
    """NotFound unless the photo is stored and belongs to a finding (or event) this view sees."""
    if not view.full:
        raise NotFound("photos are not part of the public view")
    conn = db.conn()
    clauses, params = _scope(conn, view, 1)
    where = " AND ".join([*clauses, "f.id = ?"])
    if conn.execute("SELECT 1" + FROM_FINDINGS + " WHERE " + where,
                    [*params, finding_id]).fetchone() is None:  # fmt: skip
        raise NotFound(f"there is no photo {sha256} of request {finding_id}")
    belongs = conn.execute(
        "SELECT 1 FROM photos p WHERE p.sha256 = ? AND (EXISTS (SELECT 1 FROM finding_photos fp"
        " WHERE fp.finding_id = ? AND fp.sha256 = p.sha256) OR EXISTS (SELECT 1 FROM events e,"
        " json_each(e.json, '$.photos') j WHERE e.finding_id = ?"
        " AND json_extract(j.value, '$.sha256') = p.sha256))",
        [sha256, finding_id, finding_id],
    ).fetchone()
    if belongs is None:
        raise NotFound(f"there is no photo {sha256} of request {finding_id}")


_KEEP_MARKERS = {0xE0}  # APP0 (JFIF): no metadata; APP1-15 (EXIF, XMP, IPTC, ICC…) and COM go


def strip_jpeg_metadata(source: IO[bytes], chunk: int = 64 * 1024) -> Iterator[bytes]:
    """A JPEG without metadata segments, losslessly: the segments before the scan are filtered,
    the compressed data is copied as it is. (Walkers' photos arrive stripped already; this makes
    sure of it for whatever a client uploaded.)"""
    head = source.read(2)
    if head != b"\xff\xd8":
        raise NotFound("the stored photo is not a JPEG")
    yield head
    while True:
        marker = source.read(2)
        if len(marker) < 2 or marker[0] != 0xFF:
            yield marker
            break
        code = marker[1]
        while code == 0xFF:  # fill bytes before a marker
            code = (source.read(1) or b"\xd9")[0]
        marker = bytes((0xFF, code))
        if code in (0xD9, 0x01) or 0xD0 <= code <= 0xD7:  # standalone markers
            yield marker
            continue
        length_bytes = source.read(2)
        length = int.from_bytes(length_bytes, "big")
        body = source.read(max(length - 2, 0))
        if code == 0xDA:  # start of scan: everything from here is image data
            yield marker + length_bytes + body
            break
        if code == 0xFE or (0xE0 <= code <= 0xEF and code not in _KEEP_MARKERS):
            continue
        yield marker + length_bytes + body
    while data := source.read(chunk):
        yield data


# ---- answers in JSON and XML -----------------------------------------------------------------

ITEM = {"services": "service", "service_requests": "request",
        "service_request_updates": "request_update", "errors": "error"}  # fmt: skip
_NOT_XML = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ud800-\udfff\ufffe\uffff]")


def render(kind: str, items: list[dict[str, Any]], fmt: str) -> bytes:
    """A list answer: a JSON array, or XML with the standard's element names."""
    if fmt == "json":
        return json.dumps(items, ensure_ascii=False).encode()
    # Written as text (element names are ours, values escaped): ElementTree took 50 ms a page.
    parts = ['<?xml version="1.0" encoding="utf-8"?>\n', f"<{kind}>"]
    for item in items:
        parts.append(f"<{ITEM[kind]}>")
        _fill(parts, item)
        parts.append(f"</{ITEM[kind]}>")
    parts.append(f"</{kind}>")
    return "".join(parts).encode()


def _fill(parts: list[str], values: Mapping[str, Any]) -> None:
    for name, value in values.items():
        if isinstance(value, Mapping):
            parts.append(f"<{name}>")
            _fill(parts, value)
            parts.append(f"</{name}>")
        elif value is None or value == "":
            parts.append(f"<{name} />")
        else:
            if isinstance(value, bool):
                value = "true" if value else "false"
            # XML 1.0 cannot carry control characters: a walker's note must not break the answer.
            parts.append(f"<{name}>{escape(_NOT_XML.sub('', str(value)))}</{name}>")


def error_items(status: int, description: str) -> list[dict[str, Any]]:
    """The standard's error answer: [{code, description}]."""
    return [{"code": status, "description": description}]

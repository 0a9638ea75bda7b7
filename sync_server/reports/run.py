"""Reports to owners: which findings are due, the email (HTML + text + inline photos) and the PDF.

When a finding is due for its owner (`due_groups`):
  * it is routed to an owner (a finding on the triage list, owner_id NULL, never is), is not a
    duplicate, its status is received/reopened, and no report to this owner has carried it yet;
  * every photo it names is stored (an owner should see what the walker saw) — or the finding
    arrived more than `report_settle_hours` ago: a photo the server refused (it did not decode)
    or that a lost phone never sent is not coming, and the report goes without it, saying so;
  * its walk has synced: the walk is ended (walks.ended_at), or the finding has no walk, or it
    arrived more than `report_settle_hours` ago (a phone that died never ends its walk).
A due group (one owner, one recipient address) goes out when it holds a finding of a walk this
owner has had no report from yet — i.e. right after a walk —, of a walk that ended (again) after
the owner's last report — a walk reopened on the phone and ended once more is a walk just ended —,
or when the owner's last report is older than `report_batch_hours`: stragglers synced late are
batched into one mail a day.

The email is built once and handed to `mailer.enqueue`; the owner's personal link
(`links.create_link`) heads it. Photos are re-encoded small and metadata-free. If the photos
would push the email past `mail_max_bytes` they go by link to the owner page instead (the email
says so); if the PDF alone is still too large it goes without photos (also said).

Isolation: one finding must not hold back the others. A photo that cannot be read (a truncated
upload, a file lost from the store) is left out of its item, and the email and the PDF say so
("1 foto kunde inte läsas och saknas här"); the report goes. A finding whose data cannot be shown
is set aside (core.set_aside, step 'report': logged once with its id, on the coordinator's
triage page with *Try again*) and the report goes with the others. If a report still fails as a
whole, its findings are tried in halves, down to the one that fails, which is set aside: the
others go, in more than one mail if need be. Reminders and the weekly summary do the same with
their items; a set-aside item is skipped by later passes until the coordinator releases it.

Errors: ReportError (a ServerError) — a photo that cannot be read from the store (`shrink`);
`load_items` leaves the photo out and counts it.
"""

from __future__ import annotations

import asyncio
import hashlib
import io
import logging
import os
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field, replace
from datetime import date, datetime, timedelta
from email.message import EmailMessage
from functools import partial
from typing import Any

from PIL import Image, UnidentifiedImageError

from sync_server.config import Settings
from sync_server.core import set_aside
from sync_server.core.blobs import BlobError, BlobStore
from sync_server.core.db import Database, iso, parse_iso
from sync_server.core.errors import ServerError
from sync_server.core.geocode import AddressLookup, NoAddresses, cache_key, lookup_from_settings
from sync_server.core.time import SWEDEN, local_time, swedish_date
from sync_server.documents.pdf import ProtocolItem, render_protocol
from sync_server.mail import outbox as mailer
from sync_server.mail.outbox import sender
from sync_server.owners import links
from sync_server.owners.routing import RouterCache, route_pending
from sync_server.stats import week as stats_week
from sync_server.stats.pdf import render_summary
from sync_server.texts import mail as texts_mail
from sync_server.texts.mail import render
from walkaudit import i18n
from walkaudit.model import OFF_OWNERS_LIST, utcnow

log = logging.getLogger(__name__)

PDF_PHOTO_PX, PDF_QUALITY, MAIL_QUALITY = 640, 70, 75
GEOCODE_BUDGET_S = 20.0  # per report: addresses are a courtesy, the mail must not wait for them
MAX_LINK_DAYS = 5 * 366 + 60  # the latest deadline a coordinator can plan, plus two months
_PDF = "application/pdf"


class ReportError(ServerError):
    """A report that cannot be built right now; its findings stay due."""


@dataclass(frozen=True)
class Group:
    """Due findings of one owner for one recipient address."""

    owner_id: str
    owner_name: str
    language: str
    recipient: str
    finding_ids: tuple[str, ...]
    # Per finding, how often it was rerouted: a finding sent back to an owner who had it before
    # ("not ours", and the coordinator decided it is theirs after all) is a new report.
    rounds: tuple[int, ...] = ()

    def only(self, finding_ids: set[str] | tuple[str, ...]) -> Group:
        """The same group with only these findings (in the group's order)."""
        rounds = self.rounds or (0,) * len(self.finding_ids)
        keep = [(f, r) for f, r in zip(self.finding_ids, rounds, strict=True) if f in finding_ids]
        return replace(self, finding_ids=tuple(f for f, _ in keep),
                       rounds=tuple(r for _, r in keep))  # fmt: skip

    @property
    def dedupe_key(self) -> str:
        """report:{owner}:{hash of the sorted finding ids}: the same report is one message."""
        ids = [f"{fid}:{n}" if n else fid
               for fid, n in zip(self.finding_ids, self.rounds or [0] * len(self.finding_ids),
                                 strict=True)]  # fmt: skip
        digest = hashlib.sha256(",".join(sorted(ids)).encode()).hexdigest()[:20]
        return f"report:{self.owner_id}:{digest}"


_DUE_SQL = """
SELECT f.id, f.walk_id, f.received_at, w.ended_at, a.owner_id, o.name, o.language,
       COALESCE(NULLIF(a.email, ''), o.email) AS recipient,
       (SELECT count(*) FROM events e WHERE e.finding_id = f.id AND e.kind = 'rerouted') AS rounds
FROM assignments a
JOIN findings f ON f.id = a.finding_id
JOIN owners o ON o.id = a.owner_id
LEFT JOIN walks w ON w.id = f.walk_id
WHERE a.owner_id IS NOT NULL
  AND f.status IN ('received', 'reopened') AND f.duplicate_of IS NULL
  AND NOT EXISTS (SELECT 1 FROM report_items ri JOIN outbox m ON m.id = ri.outbox_id
                  WHERE ri.finding_id = f.id AND m.kind = 'report' AND m.owner_id = a.owner_id
                  AND m.created_at >= COALESCE((SELECT max(e.received_at) FROM events e
                      WHERE e.finding_id = f.id AND e.kind = 'rerouted'), ''))
  AND (f.received_at <= :settled
       OR NOT EXISTS (SELECT 1 FROM finding_photos fp WHERE fp.finding_id = f.id
                      AND NOT EXISTS (SELECT 1 FROM photos p WHERE p.sha256 = fp.sha256)))
  AND NOT EXISTS (SELECT 1 FROM set_aside s WHERE s.step = 'report' AND s.item = f.id)
ORDER BY a.owner_id, recipient, f.captured_at, f.id
"""


def due_groups(db: Database, settings: Settings, now: datetime) -> list[Group]:
    """The reports that should go out now (see the module docstring for the rules)."""
    conn = db.conn()
    settled = iso(now - timedelta(hours=settings.report_settle_hours))
    ready: dict[tuple[str, str], list[Any]] = {}
    for row in conn.execute(_DUE_SQL, {"settled": settled}).fetchall():
        fid, walk_id, received_at, ended_at, owner_id, name, language, recipient, _ = row
        if walk_id is None or ended_at is not None or received_at <= settled:
            ready.setdefault((owner_id, recipient), []).append(row)
    groups = []
    batch_since = iso(now - timedelta(hours=settings.report_batch_hours))
    for (owner_id, recipient), rows in ready.items():
        reported_walks = {
            r[0]
            for r in conn.execute(
                "SELECT DISTINCT f.walk_id FROM report_items ri"
                " JOIN outbox m ON m.id = ri.outbox_id JOIN findings f ON f.id = ri.finding_id"
                " WHERE m.kind = 'report' AND m.owner_id = ?",
                [owner_id],
            )
        }
        last = conn.execute(
            "SELECT MAX(created_at) FROM outbox WHERE kind = 'report' AND owner_id = ?", [owner_id]
        ).fetchone()[0]
        new_walk = any(r[1] is not None and r[1] not in reported_walks for r in rows)
        # Both are iso() strings (UTC, same width): text order is time order.
        ended_since = last is not None and any(r[3] is not None and r[3] > last for r in rows)
        if new_walk or ended_since or last is None or last <= batch_since:
            first = rows[0]
            groups.append(
                Group(
                    owner_id,
                    first[5],
                    first[6] or "sv",
                    recipient,
                    tuple(r[0] for r in rows),
                    tuple(r[8] for r in rows),
                )
            )
    return groups


def enqueue_reports(
    db: Database,
    blobs: BlobStore,
    settings: Settings,
    *,
    now: datetime,
    addresses: AddressLookup | None = None,
) -> tuple[list[str], list[str]]:
    """Build and enqueue every due report; returns (what was enqueued, what was set aside:
    see the module docstring)."""
    done: list[str] = []
    held: list[str] = []
    for group in due_groups(db, settings, now):
        if mailer.is_queued(db, group.dedupe_key):
            continue
        for sent in _enqueue_isolated(db, blobs, settings, group, now,
                                      addresses or NoAddresses(), held):  # fmt: skip
            done.append(f"{sent.owner_name} <{sent.recipient}>: {len(sent.finding_ids)} findings")
    return done, held


def _enqueue_isolated(
    db: Database,
    blobs: BlobStore,
    settings: Settings,
    group: Group,
    now: datetime,
    addresses: AddressLookup,
    held: list[str],
) -> list[Group]:
    """Enqueue one report; if it fails as a whole, its halves, down to the finding that fails
    (set aside). Returns the groups that were enqueued."""
    try:
        sent = build_and_enqueue(db, blobs, settings, group, now=now, addresses=addresses,
                                 held=held)  # fmt: skip
    except Exception as exc:  # bad data (or a bug) that only some of these findings reach
        if set_aside.environmental(exc):
            raise  # the database or the disk: the step fails, the next pass tries all again
        if len(group.finding_ids) == 1:
            fid = group.finding_ids[0]
            detail = exc.message if isinstance(exc, ServerError) else f"{type(exc).__name__}: {exc}"
            log.exception("report to %s: finding %s set aside", group.owner_name, fid)
            set_aside.hold(db, "report", fid, "error", detail, now=now)
            held.append(f"report to {group.owner_name}: finding {fid}: {detail}")
            return []
        log.info("report to %s failed as a whole (%s); trying its %d findings in halves",
                 group.owner_name, exc, len(group.finding_ids))  # fmt: skip
        half = len(group.finding_ids) // 2
        parts = (group.finding_ids[:half], group.finding_ids[half:])
        return [g for ids in parts for g in _enqueue_isolated(
            db, blobs, settings, group.only(ids), now, addresses, held)]  # fmt: skip
    return [sent] if sent is not None else []


def build_and_enqueue(
    db: Database,
    blobs: BlobStore,
    settings: Settings,
    group: Group,
    *,
    now: datetime,
    addresses: AddressLookup,
    held: list[str] | None = None,
) -> Group | None:
    """Build one report (link, photos, PDF, email) and enqueue it; returns the group that went
    (without the findings set aside while building, described in `held`), None if nothing went
    (it was enqueued before, or every finding was set aside)."""
    lang = group.language if group.language in i18n.LANGUAGES else i18n.DEFAULT_LANGUAGE
    token = links.create_link(db, group.owner_id, ttl_days=_link_days(db, group.finding_ids, now))
    link = f"{settings.url}/o/{token}"
    expires = links.resolve_link(db, token).expires_at
    problems: list[tuple[str, str]] = []
    items = load_items(
        db,
        blobs,
        group.finding_ids,
        lang,
        link,
        settings.mail_photo_px,
        addresses,
        time.monotonic() + GEOCODE_BUDGET_S,
        problems=problems,
    )
    for fid, detail in problems:
        set_aside.hold(db, "report", fid, "error", detail, now=now)
        if held is not None:
            held.append(f"report to {group.owner_name}: finding {fid}: {detail}")
    if problems:
        group = group.only({i.finding_id for i in items})
    if not items:
        return None
    areas = [
        str(r[0])
        for r in db.conn().execute(
            "SELECT geojson FROM owner_areas WHERE owner_id = ?", [group.owner_id]
        )
    ]
    today = local_date(now)
    message, raw = compose_report(
        settings,
        group,
        items,
        lang=lang,
        link=link,
        expires=expires,
        today=today,
        areas=areas,
        now=now,
    )
    with db.write() as tx:
        outbox_id = mailer.enqueue(
            tx,
            kind="report",
            dedupe_key=group.dedupe_key,
            recipient=group.recipient,
            message=message,
            raw=raw,
            owner_id=group.owner_id,
            finding_ids=group.finding_ids,
            now=now,
        )
    return group if outbox_id is not None else None


def _link_days(db: Database, finding_ids: tuple[str, ...], now: datetime) -> float:
    """A link that outlives the last deadline by two months: an owner marks a fix *at* the
    deadline, and a reminder after it must still open the page."""
    marks = ", ".join("?" * len(finding_ids))
    rows = db.conn().execute(
        f"SELECT deadline FROM assignments WHERE finding_id IN ({marks})", finding_ids
    )
    dates = [d for (value,) in rows if (d := parse_deadline(value)) is not None]
    days = (max(dates) - local_date(now)).days + 60 if dates else 0
    # A deadline in the year 9999 (bad data) must not make a link that cannot be dated.
    return min(max(float(links.DEFAULT_TTL_DAYS), float(days)), float(MAX_LINK_DAYS))


def compose_report(
    settings: Settings,
    group: Group,
    items: list[ProtocolItem],
    *,
    lang: str,
    link: str,
    expires: datetime,
    today: date,
    areas: list[str],
    now: datetime,
) -> tuple[EmailMessage, bytes]:
    """The email and its bytes, within mail_max_bytes: photos inline; else photos by link to
    the owner page; else also the PDF without photos (the smallest of them if even that is too
    big: a big mail is better than none). Each step is measured on the composed message."""
    deadlines = sorted(i.deadline_date for i in items if i.deadline_date)
    context: dict[str, Any] = dict(
        lang=lang,
        owner=group.owner_name,
        items=items,
        link=link,
        n=len(items),
        expires=local_date(expires).isoformat(),
        deadline=deadlines[0] if deadlines else None,
        subject=texts_mail.plural("mail.report.subject", len(items), lang, owner=group.owner_name),
        intro=texts_mail.plural("mail.report.intro", len(items), lang),
    )
    protocol = {"owner": group.owner_name, "date": today.isoformat(), "link": link}
    pdf = render_protocol(items, lang=lang, areas=areas, **protocol)
    inline = [(cid, jpeg) for item in items for cid, jpeg in _cids(item)]
    # Base64 makes every byte 4/3: don't even compose an inline version that cannot fit.
    fits_inline = sum(len(j) for _, j in inline) * 4 / 3 < settings.mail_max_bytes
    message, raw = EmailMessage(), b""
    for photos_inline, pdf_photos in ((True, True), (False, True), (False, False)):
        if photos_inline and not fits_inline:
            continue
        if not pdf_photos:
            bare = [replace(i, pdf_photo=None) for i in items]
            pdf = render_protocol(bare, lang=lang, areas=areas, **protocol)
        context.update(photos_inline=photos_inline, pdf_photos=pdf_photos)
        message = mailer.compose(
            sender=sender(settings),
            recipient=group.recipient,
            subject=str(context["subject"]),
            text=render("report.txt", context),
            html=render("report.html", context),
            reply_to=settings.coordinator_email,
            inline=inline if photos_inline else [],
            now=now,
            attachments=[(i18n.t("pdf.filename", lang, date=protocol["date"]), pdf, _PDF)],
        )
        raw = message.as_bytes()
        if len(raw) <= settings.mail_max_bytes:
            break
    return message, raw


def _cids(item: ProtocolItem) -> list[tuple[str, bytes]]:
    return [(f"f{item.number}p{k}@walkaudit", jpeg) for k, jpeg in enumerate(item.photos)]


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


def shrink(blobs: BlobStore, finding_id: str, sha: str, max_px: int) -> tuple[bytes, bytes]:
    """(email JPEG ≤ max_px, PDF JPEG ≤ 640 px): re-encoded from pixels only, so no metadata."""
    try:
        with blobs.open(sha) as stream, Image.open(stream) as im:
            # JPEG draft: decode at 1/2, 1/4 or 1/8 scale straight away — fast and small.
            im.draft("RGB", (max_px, max_px))
            rgb = im.convert("RGB")
    except (OSError, UnidentifiedImageError, BlobError) as exc:
        raise ReportError(
            f"photo {sha[:12]}… of finding {finding_id} cannot be read from the photo store "
            f"({exc}); check {getattr(blobs, 'root', 'the store')}"
        ) from None
    out = []
    for px, quality in ((max_px, MAIL_QUALITY), (PDF_PHOTO_PX, PDF_QUALITY)):
        rgb.thumbnail((px, px), Image.Resampling.LANCZOS)  # the PDF's from the email's: cheaper
        buffer = io.BytesIO()
        rgb.save(buffer, "JPEG", quality=quality, optimize=True)  # no exif=, no icc_profile=
        out.append(buffer.getvalue())
    return out[0], out[1]


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
        return date.fromisoformat(text) if len(text) == 10 else local_date(parse_iso(text))
    except ValueError:
        log.warning("unreadable deadline %r ignored", text)
        return None


local_date = swedish_date


def recorded_time(captured_at: object) -> str:
    """A stored capture time in Swedish time; the stored text itself if it is not a time this
    server can convert (the year 9999 in UTC is past the last date): shown as it came."""
    try:
        return local_time(parse_iso(str(captured_at)))
    except (ValueError, OverflowError):
        return str(captured_at)


# ---- reminders: overdue findings, one mail per owner per interval ----------------------------

_DONE = OFF_OWNERS_LIST
_OVERDUE_SQL = f"""
SELECT a.owner_id, o.name, o.language, o.email, f.id, f.category, f.note, f.latitude,
       f.longitude, a.deadline
FROM assignments a
JOIN findings f ON f.id = a.finding_id
JOIN owners o ON o.id = a.owner_id
WHERE a.owner_id IS NOT NULL AND a.deadline IS NOT NULL
  AND f.status NOT IN ({", ".join(f"'{s}'" for s in _DONE)})
  AND EXISTS (SELECT 1 FROM report_items ri JOIN outbox m ON m.id = ri.outbox_id
              WHERE ri.finding_id = f.id AND m.kind = 'report' AND m.owner_id = a.owner_id
              AND m.state = 'sent')
  AND NOT EXISTS (SELECT 1 FROM set_aside s WHERE s.step = 'reminder' AND s.item = f.id)
ORDER BY a.owner_id, a.deadline, f.captured_at
"""


def overdue(db: Database, now: datetime) -> dict[str, list[tuple[Any, ...]]]:
    """Per owner: their reported, unfinished findings whose deadline (a Swedish date) has passed."""
    today = local_date(now)
    found: dict[str, list[tuple[Any, ...]]] = {}
    for row in db.conn().execute(_OVERDUE_SQL).fetchall():
        due = parse_deadline(row[9])
        if due is not None and due < today:
            found.setdefault(row[0], []).append((*row[:9], due))
    return found


def enqueue_reminders(
    db: Database, settings: Settings, *, now: datetime, held: list[str] | None = None
) -> list[str]:
    """One reminder per owner with overdue findings, at most one per reminder interval.

    A finding that cannot be shown is set aside (step 'reminder', described in `held`) and the
    reminder goes with the others; a reminder that fails as a whole sets its findings aside."""
    interval = timedelta(days=settings.reminder_interval_days)
    # The key holds the interval's number (counted from the epoch), so a restart or a second
    # process cannot send one twice; the spacing rule below keeps two from landing a day apart
    # across an interval boundary.
    number = int(now.timestamp() // interval.total_seconds())
    done = []
    held = [] if held is None else held
    for owner_id, rows in overdue(db, now).items():
        key = f"reminder:{owner_id}:{number}"
        recent = db.query_one(
            "SELECT 1 FROM outbox WHERE kind = 'reminder' AND owner_id = ? AND created_at > ?",
            (owner_id, iso(now - interval)),
        )
        if recent is not None or mailer.is_queued(db, key):
            continue
        try:
            line = _enqueue_reminder(db, settings, key, rows, now, held)
        except Exception as exc:  # the message as a whole: set its findings aside, go on
            if set_aside.environmental(exc):
                raise
            log.exception("reminder to %s: its %d findings set aside", rows[0][1], len(rows))
            for r in rows:
                detail = f"reminder to {rows[0][1]}: {type(exc).__name__}: {exc}"
                set_aside.hold(db, "reminder", r[4], "error", detail, now=now)
                held.append(f"finding {r[4]}: {detail}")
            continue
        if line:
            done.append(line)
    return done


def _enqueue_reminder(
    db: Database,
    settings: Settings,
    key: str,
    rows: list[tuple[Any, ...]],
    now: datetime,
    held: list[str],
) -> str | None:
    owner_id, name, language, email = rows[0][0], rows[0][1], rows[0][2] or "sv", rows[0][3]
    lang = language if language in i18n.LANGUAGES else i18n.DEFAULT_LANGUAGE
    token = links.create_link(db, owner_id)
    link = f"{settings.url}/o/{token}"
    items, included = [], []
    for r in rows:
        try:
            items.append(
                dict(
                    category=i18n.category_label(r[5], lang),
                    note=(r[6] or "").strip(),
                    deadline=r[9].isoformat(),
                    days=(local_date(now) - r[9]).days,
                    map_url=map_url(float(r[7]), float(r[8])),
                    page_url=f"{link}#f-{r[4]}",
                    address=_cached_address(db, float(r[7]), float(r[8])),
                )
            )
        except Exception as exc:  # this finding only
            if set_aside.environmental(exc):
                raise
            log.exception("reminder to %s: finding %s set aside", name, r[4])
            detail = f"{type(exc).__name__}: {exc}"
            set_aside.hold(db, "reminder", r[4], "error", detail, now=now)
            held.append(f"reminder to {name}: finding {r[4]}: {detail}")
            continue
        included.append(r[4])
    if not items:
        return None
    subject = texts_mail.plural("mail.reminder.subject", len(items), lang, owner=name)
    context = dict(
        lang=lang,
        owner=name,
        items=items,
        link=link,
        subject=subject,
        expires=local_date(links.resolve_link(db, token).expires_at).isoformat(),
    )
    message = mailer.compose(
        sender=sender(settings),
        recipient=email,
        subject=subject,
        text=render("reminder.txt", context),
        html=render("reminder.html", context),
        reply_to=settings.coordinator_email,
        now=now,
    )
    with db.write() as tx:
        if mailer.enqueue(
            tx,
            kind="reminder",
            dedupe_key=key,
            recipient=email,
            message=message,
            owner_id=owner_id,
            finding_ids=included,
            now=now,
        ):
            return f"{name} <{email}>: {len(items)} overdue"
    return None


def _cached_address(db: Database, lat: float, lon: float) -> str | None:
    row = db.query_one("SELECT address FROM geocode_cache WHERE key = ?", (cache_key(lat, lon),))
    return None if row is None or row["address"] is None else str(row["address"])


# ---- the coordinator's weekly summary ---------------------------------------------------------


def enqueue_summary(
    db: Database, settings: Settings, *, now: datetime, held: list[str] | None = None
) -> str | None:
    """The lägesbild of the last full ISO week to the coordinator, once (on the first pass of
    a week); None if none was due. The same summary, PDF and dedupe key as /c/summary's send
    button, so the coordinator never gets two versions of one week.

    A summary that cannot be made is set aside (step 'summary', the week as the item; described
    in `held`) until the coordinator tries it again: not retried, and logged, every pass."""
    address = settings.coordinator_email
    if not address:
        return None
    today = now.astimezone(SWEDEN).date()
    week = stats_week.Week.last_full(today)
    if mailer.is_queued(db, stats_week.dedupe_key(week, address)):
        return None
    if set_aside.is_held(db, "summary", week.label):
        return None
    try:
        queued = _send_summary(db, settings, week, address, today, now)
    except Exception as exc:
        if set_aside.environmental(exc):
            raise
        log.exception("weekly summary of %s set aside", week.label)
        detail = f"{type(exc).__name__}: {exc}"
        set_aside.hold(db, "summary", week.label, "error", detail, finding=False, now=now)
        if held is not None:
            held.append(f"weekly summary {week.label}: {detail}")
        return None
    return f"week {week.number} to {address}" if queued else None


def _send_summary(db: Database, settings: Settings, week: stats_week.Week, address: str,
                  today: date, now: datetime) -> bool:  # fmt: skip
    lang = i18n.DEFAULT_LANGUAGE
    summary = stats_week.weekly_summary(db, week, today)
    url = f"{settings.url}/c/summary?week={week.label}"
    pdf = render_summary(summary, lang=lang, url=url, made=now.astimezone(SWEDEN))
    result = stats_week.send_summary(
        db, settings, summary, [address], pdf=pdf, lang=lang, page_url=url,
        sent_by="walkaudit", now=now, failed=mailer.failed_messages(db)[:50],
    )  # fmt: skip
    return bool(result.queued)


# ---- the pass: what `send-reports` and `serve` run ------------------------------------------


@dataclass
class PassResult:
    """What one pass did (for the CLI's and the log's summary)."""

    routed: int = 0
    reports: list[str] = field(default_factory=list)
    reminders: list[str] = field(default_factory=list)
    summary: str | None = None
    delivery: mailer.Delivery = field(default_factory=mailer.Delivery)
    pending: int = 0
    errors: list[str] = field(default_factory=list)  # a step that failed, a delivery error
    # Items this pass set aside (each logged once where it happened; on the triage page).
    set_aside: list[str] = field(default_factory=list)

    def lines(self) -> list[str]:
        """A human summary, one line per step."""
        d = self.delivery
        out = [
            f"routed: {self.routed} findings",
            f"reports enqueued: {len(self.reports)}",
            *(f"  {r}" for r in self.reports),
            f"reminders enqueued: {len(self.reminders)}",
            *(f"  {r}" for r in self.reminders),
            f"weekly summary: {self.summary or 'not due'}",
            *(["set aside (see the triage page):"] if self.set_aside else []),
            *(f"  {r}" for r in self.set_aside),
            f"delivered: {d.sent} sent, {d.deferred} to retry, {d.failed} failed; "
            f"{self.pending} pending",
        ]
        return out + [f"error: {e}" for e in self.errors]


def run_pass(
    db: Database,
    blobs: BlobStore,
    settings: Settings,
    *,
    now: datetime | None = None,
    transport: mailer.Transport | None = None,
    addresses: AddressLookup | None = None,
    routers: RouterCache | None = None,
) -> PassResult:
    """Route, build due reports, reminders and the weekly summary, then deliver what is due.

    Each step runs even if an earlier one failed: a broken routing table must not stop the
    reports already routed, nor the delivery of mail already queued. Inside each step one bad
    item is set aside and the others go on (see the module docstring).
    """
    now = now or utcnow()
    if addresses is None:
        addresses = lookup_from_settings(db, settings.geocoder_url, settings.geocoder_timeout_s)
    result = PassResult()
    held = result.set_aside
    steps: list[tuple[str, Callable[[], None]]] = [
        ("routing", lambda: setattr(result, "routed", _route(db, routers, now, held))),
        ("reports", lambda: _reports(result, db, blobs, settings, now, addresses)),
        (
            "reminders",
            lambda: result.reminders.extend(enqueue_reminders(db, settings, now=now, held=held)),
        ),
        (
            "summary",
            lambda: setattr(result, "summary", enqueue_summary(db, settings, now=now, held=held)),
        ),
    ]
    for name, step in steps:
        try:
            step()
        except Exception as exc:  # one step's failure is reported, the others still run
            log.exception("report pass: %s failed", name)
            result.errors.append(f"{name}: {exc}")
    smtp_url = settings.smtp_url.get_secret_value() if settings.smtp_url else None
    # A bad WALKAUDIT_SMTP_URL raises here: a setting to fix, not an item to set aside.
    transport = transport or mailer.transport_for(smtp_url, settings.outbox_dir)
    try:
        result.delivery = mailer.deliver_due(
            db,
            transport,
            envelope_from=sender(settings),
            max_attempts=settings.mail_max_attempts,
            now=now,
        )
    except Exception as exc:  # one bad message is set aside inside; this is the database
        log.exception("report pass: delivery failed")
        result.errors.append(f"delivery: {exc}")
    result.errors.extend(result.delivery.errors)
    result.pending = int(
        db.conn().execute("SELECT COUNT(*) FROM outbox WHERE state = 'pending'").fetchone()[0]
    )
    return result


def _reports(
    result: PassResult,
    db: Database,
    blobs: BlobStore,
    settings: Settings,
    now: datetime,
    addresses: AddressLookup | None,
) -> None:
    done, held = enqueue_reports(db, blobs, settings, now=now, addresses=addresses)
    result.reports.extend(done)
    result.set_aside.extend(held)


def _route(db: Database, routers: RouterCache | None, now: datetime, held: list[str]) -> int:
    # With serve's RouterCache the spatial index is rebuilt only when the registry changed.
    return route_pending(db, routers.get() if routers else None, now, held)


async def report_loop(
    db: Database, blobs: BlobStore, settings: Settings, stop: asyncio.Event
) -> None:
    """`serve`'s periodic pass: every report_interval_s (the first one interval after start).

    The pass runs in a worker thread (it blocks on SMTP and SQLite); `stop` ends the loop after
    the pass in progress, so a shutdown never cuts a delivery between SMTP and its COMMIT.
    """
    addresses = lookup_from_settings(db, settings.geocoder_url, settings.geocoder_timeout_s)
    routers = RouterCache(db)
    while not stop.is_set():
        try:
            await asyncio.wait_for(stop.wait(), timeout=settings.report_interval_s)
            return
        except TimeoutError:
            pass
        try:
            result = await asyncio.to_thread(
                partial(run_pass, addresses=addresses, routers=routers), db, blobs, settings
            )
        except Exception:  # the loop must outlive a bad pass; the next one tries again
            log.exception("report pass failed")
            continue
        if (result.reports or result.reminders or result.summary or result.delivery.sent
                or result.set_aside):  # fmt: skip
            log.info("report pass: %s", "; ".join(result.lines()))
        for error in result.errors:
            log.warning("report pass: %s", error)

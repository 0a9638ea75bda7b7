"""Building and queueing every due report: owner link, items, email; one finding's failure its own.

The email is built once and handed to the outbox (with the findings it carries:
`sent.enqueue_carrying`); the owner's personal link (`owners.links.create_link`) heads it, valid
until two months past the last deadline.

Isolation: a finding whose data cannot be shown is set aside (core.set_aside, step 'report':
logged once with its id, on the coordinator's triage page with *Try again*) and the report goes
with the others. If a report still fails as a whole, its findings are tried in halves, down to
the one that fails, which is set aside: the others go, in more than one mail if need be. A
set-aside item is skipped by later passes until the coordinator releases it.
"""

from __future__ import annotations

import logging
import time
from datetime import datetime

from sync_server.config import Settings
from sync_server.core import set_aside
from sync_server.core.blobs import BlobStore
from sync_server.core.db import Database
from sync_server.core.errors import ServerError
from sync_server.core.geocode import AddressLookup, NoAddresses
from sync_server.core.time import swedish_date
from sync_server.mail import is_queued
from sync_server.owners import links
from sync_server.reports.compose import compose_report
from sync_server.reports.due import Group, due_groups
from sync_server.reports.items import load_items, parse_deadline
from sync_server.reports.sent import enqueue_carrying
from walkaudit import i18n

log = logging.getLogger(__name__)

GEOCODE_BUDGET_S = 20.0  # per report: addresses are a courtesy, the mail must not wait for them
MAX_LINK_DAYS = 5 * 366 + 60  # the latest deadline a coordinator can plan, plus two months


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
        if is_queued(db, group.dedupe_key):
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
    today = swedish_date(now)
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
        outbox_id = enqueue_carrying(
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
    days = (max(dates) - swedish_date(now)).days + 60 if dates else 0
    # A deadline in the year 9999 (bad data) must not make a link that cannot be dated.
    return min(max(float(links.DEFAULT_TTL_DAYS), float(days)), float(MAX_LINK_DAYS))

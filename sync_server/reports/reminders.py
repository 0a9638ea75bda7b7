"""Reminders: an owner's reported, unfinished findings past their deadline, one mail per owner
per `reminder_interval_days`.

Isolation as for reports: a finding that cannot be shown is set aside (step 'reminder') and the
reminder goes with the others; a reminder that fails as a whole sets its findings aside.
"""

from __future__ import annotations

import logging
from datetime import datetime, timedelta
from typing import Any

from sync_server.config import Settings
from sync_server.core import set_aside
from sync_server.core.db import Database
from sync_server.core.geocode import cache_key
from sync_server.core.time import iso, swedish_date
from sync_server.mail import compose, is_queued, sender
from sync_server.owners import links
from sync_server.reports.items import map_url, parse_deadline
from sync_server.reports.sent import enqueue_carrying
from sync_server.texts import mail as texts_mail
from sync_server.texts.mail import render
from walkaudit import i18n
from walkaudit.model import OFF_OWNERS_LIST

log = logging.getLogger(__name__)

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
    today = swedish_date(now)
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
        if recent is not None or is_queued(db, key):
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
                    days=(swedish_date(now) - r[9]).days,
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
        expires=swedish_date(links.resolve_link(db, token).expires_at).isoformat(),
    )
    message = compose(
        sender=sender(settings),
        recipient=email,
        subject=subject,
        text=render("reminder.txt", context),
        html=render("reminder.html", context),
        reply_to=settings.coordinator_email,
        now=now,
    )
    with db.write() as tx:
        if enqueue_carrying(
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

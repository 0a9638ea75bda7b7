"""The coordinator's weekly summary (the lägesbild of the last full ISO week), queued by the
report pass on its first pass of a week.

The numbers, the mail and the PDF are the statistics' (`sync_server.stats`): this module only
decides when the automatic one is due, so the pass and /c/summary's send button share one
dedupe key and the coordinator never gets two versions of one week.
"""

from __future__ import annotations

import logging
from datetime import date, datetime

from sync_server.config import Settings
from sync_server.core import set_aside
from sync_server.core.db import Database
from sync_server.core.time import SWEDEN
from sync_server.mail import failed_messages, is_queued
from sync_server.stats import week as stats_week
from sync_server.stats.pdf import render_summary
from walkaudit import i18n

log = logging.getLogger(__name__)


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
    if is_queued(db, stats_week.dedupe_key(week, address)):
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
        sent_by="walkaudit", now=now, failed=failed_messages(db)[:50],
    )  # fmt: skip
    return bool(result.queued)

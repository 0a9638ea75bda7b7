"""The report pass: route, queue due reports, reminders and the weekly summary, then deliver.

`send-reports` runs one pass (`run_pass`); `serve` runs one every `report_interval_s`
(`report_loop`). Each step runs even if an earlier one failed, and inside each step one bad item
is set aside and the others go on (see `reports.enqueue`). Delivery is told to call
`sent.record_sent` for what it hands over, which records the reported findings' 'sent' event.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from functools import partial

from sync_server.config import Settings
from sync_server.core.blobs import BlobStore
from sync_server.core.db import Database
from sync_server.core.geocode import AddressLookup, lookup_from_settings
from sync_server.mail import Delivery, Transport, deliver_due, pending_count, sender, transport_for
from sync_server.owners.routing import RouterCache, route_pending
from sync_server.reports.enqueue import enqueue_reports
from sync_server.reports.reminders import enqueue_reminders
from sync_server.reports.sent import record_sent
from sync_server.reports.summary import enqueue_summary
from walkaudit.model import utcnow

log = logging.getLogger(__name__)


@dataclass
class PassResult:
    """What one pass did (for the CLI's and the log's summary)."""

    routed: int = 0
    reports: list[str] = field(default_factory=list)
    reminders: list[str] = field(default_factory=list)
    summary: str | None = None
    delivery: Delivery = field(default_factory=Delivery)
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
    transport: Transport | None = None,
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
    transport = transport or transport_for(smtp_url, settings.outbox_dir)
    try:
        result.delivery = deliver_due(
            db,
            transport,
            envelope_from=sender(settings),
            max_attempts=settings.mail_max_attempts,
            now=now,
            on_sent=record_sent,
        )
    except Exception as exc:  # one bad message is set aside inside; this is the database
        log.exception("report pass: delivery failed")
        result.errors.append(f"delivery: {exc}")
    result.errors.extend(result.delivery.errors)
    result.pending = pending_count(db)
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

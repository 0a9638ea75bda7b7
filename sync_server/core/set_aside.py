"""Items a background pass set aside: one bad finding or message must not stop the others.

Every pass (routing, reports, reminders, the weekly summary) handles its items one at a time.
When one fails — a capture time no deadline can be counted from, data no report can be built
from, a bug that only this item's data reaches — the pass logs it once with the item's id,
stores it here with a reason, and goes on with the rest. The next passes skip it (so the log
does not repeat it every few minutes), and the coordinator sees it on the triage page with the
reason and a *Try again* button (`release`), after which the next pass tries it again.

A row is (step, item): `step` is the pass that set it aside, `item` a finding id — or, for the
weekly summary, the week ('2026-W48'), with `finding_id` NULL. `reason` is a code the triage
page puts into words (texts.findings: `triage.set_aside.reason.*`); `detail` is what went wrong
in the log's words (the coordinator may need it to fix the data). The table is made by
migration 5 in sync_server.core.migrations. Messages that cannot be
delivered are not kept here: the outbox marks them failed with their error, and the triage page
lists those with their own *Try again* (mail.retry_failed).

What is set aside is what the item's own data causes. A fault of the surroundings — the database
locked or failing, the disk full — is not the item's (`environmental`): the pass's step fails
as a whole, is logged, and the next pass tries everything again; nothing is set aside for it.

Errors: none of its own (sqlite3 errors pass through).
"""

from __future__ import annotations

import sqlite3
from dataclasses import dataclass
from datetime import datetime

import sqlite_utils

from sync_server.core.db import Database
from sync_server.core.time import iso
from walkaudit.model import utcnow

STEPS = ("routing", "report", "reminder", "summary")
# Reasons the triage page words; anything else is shown as `error` with its detail.
REASONS = ("bad_time", "error")
MAX_DETAIL = 1000  # an exception's text can be long (a repr of the data): keep the page readable


def environmental(exc: BaseException) -> bool:
    """Whether an error is the surroundings' (database, disk), not one item's data."""
    return isinstance(exc, sqlite3.OperationalError | OSError)


@dataclass(frozen=True)
class SetAside:
    step: str
    item: str
    finding_id: str | None
    reason: str
    detail: str
    at: str


def hold(
    db: Database | sqlite_utils.Database,
    step: str,
    item: str,
    reason: str,
    detail: str,
    *,
    finding: bool = True,
    now: datetime | None = None,
) -> None:
    """Set an item aside (or update why); `finding`: the item is a finding's id.

    Pass a transaction to make it part of the caller's change (routing stores its batch so)."""
    values = [
        step,
        item,
        item if finding else None,
        reason if reason in REASONS else "error",
        detail[:MAX_DETAIL],
        iso(now or utcnow()),
    ]
    sql = (
        "INSERT INTO set_aside (step, item, finding_id, reason, detail, at)"
        " VALUES (?, ?, ?, ?, ?, ?) ON CONFLICT (step, item) DO UPDATE"
        " SET reason = excluded.reason, detail = excluded.detail, at = excluded.at"
    )
    if isinstance(db, Database):
        with db.write() as tx:
            tx.execute(sql, values)
    else:
        db.execute(sql, values)


def is_held(db: Database, step: str, item: str) -> bool:
    """Whether this item is set aside in this step."""
    row = db.conn().execute("SELECT 1 FROM set_aside WHERE step = ? AND item = ?", [step, item])
    return row.fetchone() is not None


def release(db: Database, step: str, item: str) -> bool:
    """The coordinator's *Try again*: the next pass takes the item again. False if it was not
    set aside (a second click)."""
    with db.write() as tx:
        cur = tx.execute("DELETE FROM set_aside WHERE step = ? AND item = ?", [step, item])
        return cur.rowcount == 1


def release_finding(tx: sqlite_utils.Database, finding_id: str, step: str) -> None:
    """Forget a finding's hold in a step (inside the caller's transaction): the coordinator
    routed it by hand, so routing has nothing left to try."""
    tx.execute("DELETE FROM set_aside WHERE step = ? AND finding_id = ?", [step, finding_id])


def for_finding(db: Database, finding_id: str) -> list[SetAside]:
    """A finding's holds, oldest first (its page shows them)."""
    rows = db.conn().execute(
        "SELECT step, item, finding_id, reason, detail, at FROM set_aside"
        " WHERE finding_id = ? ORDER BY at, step",
        [finding_id],
    )
    return [SetAside(*r) for r in rows]

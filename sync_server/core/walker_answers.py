"""What a walker's answer on a follow-up walk does to a finding's history.

A walker's `still_there` on a finding its owner (or the coordinator) called done reopens it and
flags it for the coordinator. This is a rule of the finding's history, not of the coordinator's
desk: field ingest applies it in the same write transaction that stores the walker's event, and
the coordinator's actions (sync_server.workspace.tracking) share `ensure_tracking` with it.
"""

from __future__ import annotations

import sqlite_utils

from sync_server.core.history import add_server_event
from sync_server.core.time import iso
from walkaudit.model import DONE_STATUSES, EventKind, FindingEvent, utcnow


def ensure_tracking(tx: sqlite_utils.Database, finding_id: str) -> None:
    """The finding's finding_tracking row exists (flags, merges and priorities are kept there)."""
    tx.execute("INSERT OR IGNORE INTO finding_tracking (finding_id) VALUES (?)", [finding_id])


def after_walker_event(tx: sqlite_utils.Database, event: FindingEvent) -> None:
    """A follow-up walk's answer: `still_there` on a finding called done reopens and flags it.

    The walker's phone knows the finding it captured, which may since have been merged into
    another: the answer goes to the one that remains. An observation older than the fix (a
    phone that was offline for days) does not undo it: it stays in the history only.
    """
    if event.kind is not EventKind.STILL_THERE:
        return
    target = event.finding_id
    for _ in range(100):  # follow merges to the finding that remains
        row = tx.execute(
            "SELECT f.status, ft.merged_into, coalesce(ft.closed_at, ft.fixed_at) FROM findings f"
            " LEFT JOIN finding_tracking ft ON ft.finding_id = f.id WHERE f.id = ?",
            [target],
        ).fetchone()
        if row is None or row[1] is None:
            break
        target = row[1]
    if row is None:
        return
    status, _, done_at = row
    if status not in DONE_STATUSES or (done_at is not None and iso(event.at) < done_at):
        return
    # Stored notes are shown to the walker too: Swedish, the product's first language.
    said = {"fixed": "åtgärdat enligt ägaren", "verified": "verifierat", "closed": "avslutat"}
    note = f"{said[status]}, men fanns kvar vid uppföljningsvandringen"
    add_server_event(tx, target, EventKind.REOPENED, note=note)
    ensure_tracking(tx, target)
    tx.execute(
        "UPDATE finding_tracking SET flagged_at = ?, flag_note = ? WHERE finding_id = ?",
        [iso(utcnow()), note, target],
    )

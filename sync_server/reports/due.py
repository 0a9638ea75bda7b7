"""Which findings are due for their owner, grouped into the reports that should go out now.

A finding is due for its owner (`due_groups`) when:
  * it is routed to an owner (a finding on the triage list, owner_id NULL, never is), is not a
    duplicate, its status is received/reopened, and no report to this owner has carried it yet;
  * every photo it names is stored (an owner should see what the walker saw) — or the finding
    arrived more than `report_settle_hours` ago: a photo the server refused (it did not decode)
    or that a lost phone never sent is not coming, and the report goes without it, saying so;
  * its walk has synced: the walk is ended (walks.ended_at), or the finding has no walk, or it
    arrived more than `report_settle_hours` ago (a phone that died never ends its walk);
  * it is not set aside (step 'report') waiting for the coordinator.
A due group (one owner, one recipient address) goes out when it holds a finding of a walk this
owner has had no report from yet — i.e. right after a walk —, of a walk that ended (again) after
the owner's last report — a walk reopened on the phone and ended once more is a walk just ended —,
or when the owner's last report is older than `report_batch_hours`: stragglers synced late are
batched into one mail a day.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, replace
from datetime import datetime, timedelta
from typing import Any

from sync_server.config import Settings
from sync_server.core.db import Database
from sync_server.core.time import iso


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

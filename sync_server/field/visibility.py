"""Which of other devices' findings a field device may see: the disorder rule.

Disorder findings (ORD: the categories whose holder is the police) may name or point at people,
so their notes and photos reach only the device that reported them and devices enrolled for the
police/EST. Every read that lists other devices' findings or serves their photos (the open
findings of `reads`, the coordinator's follow-ups, GET /v1/photos) applies this one rule, and
ingest uses POLICE_ONLY to answer a device that names a finding it may not know of. Kept apart
from the reads so the rule has one home and one reason to change.
"""

from __future__ import annotations

from sync_server.core.db import Database
from sync_server.field.devices import Device
from walkaudit.categories import CATEGORIES

# Findings only the police/EST handle (disorder): their notes and photos may point at people.
POLICE_ONLY: tuple[str, ...] = tuple(sorted(c.code for c in CATEGORIES if c.owner_kind == "police"))


def visible_findings(viewer: Device, alias: str = "f") -> tuple[str, list[object]]:
    """A WHERE clause (and its parameters) for the findings `viewer` may read: all for a
    police/EST device; for any other, all but other devices' police-only findings."""
    if viewer.police:
        return "1", []
    marks = ", ".join("?" * len(POLICE_ONLY))
    return (
        f"({alias}.category NOT IN ({marks}) OR {alias}.device_id = ?)",
        [*POLICE_ONLY, viewer.id],
    )


def photo_visible(db: Database, viewer: Device, sha256: str) -> bool:
    """False when the photo belongs to another device's police-only finding (or an event on one)
    and `viewer` is neither the police/EST nor a device that named the photo itself."""
    if viewer.police:
        return True
    conn = db.conn()
    own = conn.execute(
        "SELECT 1 FROM photo_refs WHERE sha256 = ? AND device_id = ?", [sha256, viewer.id]
    ).fetchone()
    if own is not None:
        return True
    marks = ", ".join("?" * len(POLICE_ONLY))
    hidden = conn.execute(
        "SELECT 1 FROM finding_photos fp JOIN findings f ON f.id = fp.finding_id"
        f" WHERE fp.sha256 = ? AND f.category IN ({marks}) AND f.device_id != ?"
        " UNION ALL"
        " SELECT 1 FROM findings f JOIN events e ON e.finding_id = f.id,"
        " json_each(e.json, '$.photos') p"
        f" WHERE f.category IN ({marks}) AND f.device_id != ?"
        " AND json_extract(p.value, '$.sha256') = ? LIMIT 1",
        [sha256, *POLICE_ONLY, viewer.id, *POLICE_ONLY, viewer.id, sha256],
    ).fetchone()
    return hidden is None

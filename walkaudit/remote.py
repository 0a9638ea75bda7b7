"""Open findings pulled from the server, kept on the device for follow-up walks without signal."""

from __future__ import annotations

import json
from collections.abc import Sequence

from walkaudit import geo, model
from walkaudit.store import Store


class RemoteFindings:
    """The device's copy of the server's open findings (refreshed whenever there is signal)."""

    def __init__(self, store: Store) -> None:
        self.store = store

    def save(self, items: Sequence[model.OpenFinding]) -> None:
        """Store or refresh pulled findings (idempotent by id)."""
        now = model.utcnow().isoformat()
        with self.store.transaction() as db:
            for item in items:
                f = item.finding
                db.execute(
                    "INSERT OR REPLACE INTO remote_findings(id, json, status, area, latitude,"
                    " longitude, category, fetched_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
                    [
                        f.id,
                        item.model_dump_json(),
                        item.status.value,
                        item.area,
                        f.latitude,
                        f.longitude,
                        f.category,
                        now,
                    ],
                )

    def in_area(self, area: str) -> list[model.OpenFinding]:
        """Open findings of an area (as last fetched), oldest first."""
        rows = self.store.query(
            "SELECT json FROM remote_findings WHERE lower(area) = lower(?) ORDER BY id",
            [area.strip()],
        )
        return [model.OpenFinding.model_validate_json(r["json"]) for r in rows]

    def near(
        self, lat: float, lon: float, category: str, radius_m: float = geo.NEARBY_M
    ) -> list[tuple[float, model.OpenFinding]]:
        """Same-category open findings within radius_m, nearest first."""
        rows = self.store.query(
            "SELECT json, latitude, longitude FROM remote_findings WHERE category = ?", [category]
        )
        found = geo.nearby(rows, lat, lon, lambda r: (r["latitude"], r["longitude"]), radius_m)
        return [(d, model.OpenFinding.model_validate_json(r["json"])) for d, r in found]

    def mark(self, finding_id: str, status: model.FindingStatus) -> None:
        """Show a follow-up answer at once (the server's answer comes with the next sync)."""
        rows = self.store.query("SELECT json FROM remote_findings WHERE id = ?", [finding_id])
        if not rows:
            return
        data = json.loads(rows[0]["json"]) | {"status": status.value}
        with self.store.transaction() as db:
            db.execute(
                "UPDATE remote_findings SET json = ?, status = ? WHERE id = ?",
                [json.dumps(data), status.value, finding_id],
            )

"""The owner registry: who can fix what, and where (tables owners, owner_contacts, owner_areas).

Kinds: `owner` (property owners, housing companies, a department managing land), `municipality`
(the 290 municipalities from `sync_server/data/`, loaded once by `owners.municipalities`: the
fallback for every Swedish point) and `police` (the police/EST contact for disorder, ORD).

This module reads the registry and stores areas. Filling it from a GeoJSON file is
`owners.importer`; its refusals (OwnerError, InvalidOwnerFile, UnknownOwner) are in
`owners.errors`.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

import shapely

from sync_server.core.db import Database

KINDS = ("owner", "municipality", "police")
LANGUAGES = ("sv", "en")


@dataclass(frozen=True)
class Area:
    feature: str  # the feature's GeoJSON id, else "feature N"; or "municipality 1880"
    categories: tuple[str, ...] | None
    geojson: str
    bounds: tuple[float, float, float, float]


@dataclass(frozen=True)
class OwnerSummary:
    id: str
    name: str
    kind: str
    email: str
    language: str
    municipality_code: str | None
    contacts: dict[str, str]
    areas: int


def list_owners(db: Database, kind: str | None = None) -> list[OwnerSummary]:
    """The registry, by kind and name: email, contacts and the number of areas of each owner."""
    contacts: dict[str, dict[str, str]] = {}
    for owner_id, category, email in db.conn().execute(
        "SELECT owner_id, category, email FROM owner_contacts ORDER BY category"
    ):
        contacts.setdefault(owner_id, {})[category] = email
    rows = db.conn().execute(
        "SELECT o.id, o.name, o.kind, o.email, o.language, o.municipality_code,"
        " (SELECT count(*) FROM owner_areas a WHERE a.owner_id = o.id) FROM owners o"
        " WHERE ? IS NULL OR o.kind = ? ORDER BY o.kind, o.name",
        [kind, kind],
    )
    return [
        OwnerSummary(oid, name, k, email, lang, code, contacts.get(oid, {}), n)
        for oid, name, k, email, lang, code, n in rows
    ]


def registry_version(db: Database) -> tuple[object, ...]:
    """Changes whenever the registry does (every write bumps updated_at or the counts)."""
    row = (
        db.conn()
        .execute(
            "SELECT (SELECT count(*) FROM owners), (SELECT max(updated_at) FROM owners),"
            " (SELECT count(*) FROM owner_areas), (SELECT max(id) FROM owner_areas),"
            " (SELECT count(*) FROM owner_contacts)"
        )
        .fetchone()
    )
    return tuple(row)


# ---- areas, as the import and the bundled municipalities store them ----


def area_of(label: str, codes: tuple[str, ...] | None, geom: shapely.Geometry) -> Area:
    """An area of this geometry, its GeoJSON and bounding box as the table stores them."""
    x0, y0, x1, y1 = (float(v) for v in geom.bounds)
    return Area(label, codes, shapely.to_geojson(geom), (x0, y0, x1, y1))


def insert_areas(tx: Any, owner_id: str, areas: list[Area]) -> None:
    """Add these areas to the owner, in the caller's transaction."""
    tx.conn.executemany(
        "INSERT INTO owner_areas (owner_id, feature, categories, geojson, min_lon, min_lat,"
        " max_lon, max_lat) VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
        [(owner_id, a.feature, json.dumps(a.categories) if a.categories else None, a.geojson,
          *a.bounds) for a in areas],
    )  # fmt: skip


def stored_areas(tx: Any, owner_id: str) -> list[Area]:
    """The owner's areas as stored, in the order they were added."""
    rows = tx.execute(
        "SELECT feature, categories, geojson, min_lon, min_lat, max_lon, max_lat"
        " FROM owner_areas WHERE owner_id = ? ORDER BY id",
        [owner_id],
    ).fetchall()
    return [
        Area(feature, tuple(json.loads(cats)) if cats else None, geojson, (x0, y0, x1, y1))
        for feature, cats, geojson, x0, y0, x1, y1 in rows
    ]

"""The 290 Swedish municipalities as owners: loaded once from the bundled boundaries, and found
by kommunkod or name (as an owner file or a police owner's `municipalities` names them).

Every Swedish point falls in one of them, so routing always has a fallback owner; a file that
sets a municipality's email only names it (its area stays the bundled boundary).
"""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path

import shapely

from sync_server.core.db import Database
from sync_server.core.files import DATA
from sync_server.core.time import iso
from sync_server.owners.registry import area_of, insert_areas
from walkaudit.model import new_id

MUNICIPALITIES_FILE = DATA / "swedish_municipalities.geojson"
_SUFFIXES = (" kommun", " stad", " municipality")


def ensure_municipalities(db: Database, path: Path = MUNICIPALITIES_FILE) -> int:
    """Load the bundled municipalities as owners once; returns how many were added (0 if loaded)."""
    if db.query_one("SELECT 1 FROM owners WHERE source = 'municipalities' LIMIT 1"):
        return 0  # the cheap check: every start pays only this query
    features = json.loads(path.read_text(encoding="utf-8"))["features"]
    geoms = shapely.from_geojson([json.dumps(f["geometry"]) for f in features])
    stamp = iso(datetime.now(UTC))
    with db.write() as tx:
        if tx.execute("SELECT 1 FROM owners WHERE source = 'municipalities' LIMIT 1").fetchone():
            return 0  # another process (the CLI, the server) got here first
        for feature, geom in zip(features, geoms, strict=True):
            owner_id, code = new_id(), str(feature["properties"]["id"])
            tx.execute(
                "INSERT INTO owners (id, name, kind, email, municipality_code, source,"
                " created_at, updated_at) VALUES (?, ?, 'municipality', '', ?, 'municipalities',"
                " ?, ?)",
                [owner_id, feature["properties"]["kom_namn"], code, stamp, stamp],
            )
            insert_areas(tx, owner_id, [area_of(f"municipality {code}", None, geom)])
    return len(features)


def find_municipality(index: dict[str, tuple[str, str]], text: str) -> tuple[str, str] | None:
    """By kommunkod or name: "Örebro", "Örebro kommun", "Lekebergs kommun", "Region Gotland"."""
    key = text.strip().casefold()
    for suffix in _SUFFIXES:
        if key.endswith(suffix):
            key = key.removesuffix(suffix)
            # The genitive of "Lekebergs kommun", "Stockholms stad"; "Västerås stad" keeps its s.
            return index.get(key) or index.get(key.removesuffix("s"))
    return index.get(key) or index.get(key.removeprefix("region "))


def municipality_index(db: Database) -> dict[str, tuple[str, str]]:
    """kommunkod and case-folded name -> (owner id, name)."""
    index: dict[str, tuple[str, str]] = {}
    for owner_id, name, code in db.conn().execute(
        "SELECT id, name, municipality_code FROM owners WHERE kind = 'municipality'"
    ):
        index[name.casefold()] = index[str(code)] = (owner_id, name)
    return index

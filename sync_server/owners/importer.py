"""Filling the owner registry from a GeoJSON file (`walkaudit-server owners import FILE`).

The file: a FeatureCollection, one feature per area,
WGS 84 [longitude, latitude]. Properties: `owner` (name; required), `kind` (owner | municipality |
police; default owner), `email` ("" allowed: its findings then wait on triage), `contacts`
({category code: email}, overriding `email`), `categories` (codes this area handles; kind owner
only; absent = all), `language` (sv | en), `municipalities` (police only: kommunkoder or names
whose bundled polygons become its areas). Unknown properties are ignored and reported.
Geometry: a valid, non-empty Polygon/MultiPolygon in Sweden, or null for a municipality (sets only
its email/contacts: its area is the bundled one) and for police (null and no `municipalities` =
the police/EST contact for all of Sweden; at most one such owner).

Identity is kind + name, case-insensitively: re-import updates, never duplicates; an owner's areas
are replaced by the file's; owners not in the file stay. All or nothing: a file with any problem
imports nothing, and the error lists every problem by feature index and owner. Invalid geometry is
refused, never repaired: make_valid/buffer(0) turn a bowtie into two triangles or drop a lobe,
so an owner would silently get an area nobody drew; the source (QGIS …) is where to fix it.

Errors: InvalidOwnerFile (sync_server.owners.errors), for an unreadable file or features with
problems (all of them listed).
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

import shapely
from shapely.errors import GEOSException

from sync_server.core.db import Database
from sync_server.core.time import iso
from sync_server.owners.errors import InvalidOwnerFile
from sync_server.owners.municipalities import (
    ensure_municipalities,
    find_municipality,
    municipality_index,
)
from sync_server.owners.registry import (
    KINDS,
    LANGUAGES,
    Area,
    area_of,
    insert_areas,
    stored_areas,
)
from walkaudit import categories
from walkaudit.model import new_id

PROPERTIES = {"owner", "kind", "email", "contacts", "categories", "language", "municipalities"}
# The municipalities' extent, padded ~10 km: an area outside it is misplaced (or lat/lon swapped).
SWEDEN_BOUNDS = (10.8, 55.2, 24.4, 69.2)
_EMAIL = re.compile(r"[^@\s,;<>\"]+@[^@\s,;<>\"]+\.[^@\s,;<>\".]{2,}")
MAX_SHOWN = 50  # problems in the message; `InvalidOwnerFile.problems` has them all


@dataclass
class _Draft:
    """One owner as the file describes it (merged over its features)."""

    kind: str
    name: str
    email: str
    language: str
    contacts: dict[str, str]
    first: int  # index of its first feature, for messages
    areas: list[Area] = field(default_factory=list)
    municipalities: list[str] = field(default_factory=list)  # owner ids (police only)
    has_null: bool = False


@dataclass(frozen=True)
class ImportResult:
    created: int
    updated: int
    unchanged: int
    areas: int
    ignored: tuple[str, ...]  # property names nobody reads (a typo shows up here)


def import_owners(db: Database, text: str) -> ImportResult:
    """Validate a GeoJSON owner file completely, then apply it in one transaction."""
    ensure_municipalities(db)
    municipalities = municipality_index(db)
    drafts, ignored = _parse(text, municipalities)
    stamp = iso(datetime.now(UTC))
    created = updated = unchanged = 0
    with db.write() as tx:
        existing = {
            (kind, name.casefold()): (oid, email, language)
            for oid, kind, name, email, language in tx.execute(
                "SELECT id, kind, name, email, language FROM owners"
            ).fetchall()
        }
        _check_one_global_police(tx, drafts)
        for draft in drafts:
            for owner_id in dict.fromkeys(draft.municipalities):  # each once, in order
                draft.areas += stored_areas(tx, owner_id)
            found = existing.get((draft.kind, draft.name.casefold()))
            if found is None:
                owner_id = new_id()
                tx.execute(
                    "INSERT INTO owners (id, name, kind, email, language, created_at, updated_at)"
                    " VALUES (?, ?, ?, ?, ?, ?, ?)",
                    [owner_id, draft.name, draft.kind, draft.email, draft.language, stamp, stamp],
                )
                _replace(tx, owner_id, draft, areas=True)
                created += 1
                continue
            owner_id, email, language = found
            keep_areas = draft.kind == "municipality"  # its area is the bundled boundary
            contacts = dict(tx.execute(
                "SELECT category, email FROM owner_contacts WHERE owner_id = ?", [owner_id]
            ).fetchall())  # fmt: skip
            stored = [] if keep_areas else stored_areas(tx, owner_id)
            same_areas = keep_areas or _area_keys(stored) == _area_keys(draft.areas)
            if (email, language, contacts) == (draft.email, draft.language, draft.contacts) and (
                same_areas
            ):
                unchanged += 1
                continue
            tx.execute(
                "UPDATE owners SET name = ?, email = ?, language = ?, updated_at = ? WHERE id = ?",
                [draft.name, draft.email, draft.language, stamp, owner_id],
            )
            _replace(tx, owner_id, draft, areas=not keep_areas)
            updated += 1
    total = sum(len(d.areas) for d in drafts)
    return ImportResult(created, updated, unchanged, total, tuple(sorted(ignored)))


# ---- parsing: every problem is collected, so one run of the import shows them all ----


def _parse(text: str, municipalities: dict[str, tuple[str, str]]) -> tuple[list[_Draft], set[str]]:
    try:
        data = json.loads(text)
    except json.JSONDecodeError as exc:
        raise InvalidOwnerFile(f"the file is not JSON: {exc}") from None
    if not isinstance(data, dict) or data.get("type") != "FeatureCollection":
        raise InvalidOwnerFile("the file is not a GeoJSON FeatureCollection")
    features = data.get("features")
    if not isinstance(features, list) or not features:
        raise InvalidOwnerFile("the FeatureCollection has no features")
    problems: list[str] = []
    drafts: dict[tuple[str, str], _Draft] = {}
    ignored: set[str] = set()
    for index, feature in enumerate(features):
        props = feature.get("properties") if isinstance(feature, dict) else None
        if not isinstance(props, dict):
            problems.append(f"feature {index}: not a GeoJSON Feature with properties")
            continue
        ignored |= set(props) - PROPERTIES
        name = props.get("owner")
        label = f"feature {index} (owner {name!r})"
        if not isinstance(name, str) or not name.strip():
            problems.append(f"feature {index}: property 'owner' (the owner's name) is missing")
            continue
        try:
            draft = _draft(index, feature, props, name.strip(), municipalities)
        except ValueError as exc:
            problems.append(f"{label}: {exc}")
            continue
        key = (draft.kind, draft.name.casefold())
        first = drafts.setdefault(key, draft)
        if first is not draft:
            for attr in ("email", "language", "contacts"):
                if getattr(first, attr) != getattr(draft, attr):
                    problems.append(
                        f"{label}: its {attr} differs from feature {first.first} of the same owner"
                    )
            first.areas += draft.areas
            first.municipalities += draft.municipalities
            first.has_null |= draft.has_null
    for draft in drafts.values():
        if draft.kind == "police" and draft.has_null and (draft.areas or draft.municipalities):
            problems.append(
                f"feature {draft.first} (owner {draft.name!r}): a police owner either has areas or "
                "covers all of Sweden (geometry null), not both"
            )
    if problems:
        shown = problems[:MAX_SHOWN] + [f"… and {len(problems) - MAX_SHOWN} more"] * (
            len(problems) > MAX_SHOWN
        )
        count = f"{len(problems)} problem{'s' * (len(problems) > 1)}"
        raise InvalidOwnerFile(f"nothing was imported; {count}:\n  " + "\n  ".join(shown), problems)
    return list(drafts.values()), ignored


def _draft(
    index: int, feature: dict[str, Any], props: dict[str, Any], name: str,
    municipalities: dict[str, tuple[str, str]],
) -> _Draft:  # fmt: skip
    kind = props.get("kind", "owner")
    if kind not in KINDS:
        raise ValueError(f"kind {kind!r} is not one of {', '.join(KINDS)}")
    language = props.get("language", "sv")
    if language not in LANGUAGES:
        raise ValueError(f"language {language!r} is not one of {', '.join(LANGUAGES)}")
    email = _email(props.get("email", ""), "email")
    contacts = props.get("contacts") or {}
    if not isinstance(contacts, dict):
        raise ValueError("contacts must be an object {category code: email}")
    contacts = {_code(k, kind): _email(v, f"contacts[{k}]") for k, v in contacts.items()}
    draft = _Draft(kind, name, email, language, contacts, index)
    if kind == "municipality":
        found = find_municipality(municipalities, name)
        if found is None:
            raise ValueError("no Swedish municipality has this name (see sync_server/data/)")
        draft.name = found[1]
    refs = props.get("municipalities")
    if refs is not None:
        if kind != "police":
            raise ValueError("'municipalities' is for police owners only")
        if not isinstance(refs, list):
            refs = [refs] if isinstance(refs, str | int) else None
        if not refs:
            raise ValueError('municipalities must be kommunkoder or names, e.g. ["1880"]')
        for ref in refs:
            found = find_municipality(municipalities, str(ref))
            if found is None:
                raise ValueError(f"municipalities: no Swedish municipality is called {ref!r}")
            draft.municipalities.append(found[0])
    cats = props.get("categories")
    raw = feature.get("geometry")
    if raw is None:
        if kind == "owner":
            raise ValueError("geometry is null; a property owner needs an area (Polygon)")
        if cats is not None:
            raise ValueError("'categories' restricts an area, and this feature has none")
        draft.has_null = refs is None
        return draft
    if kind == "municipality":
        raise ValueError("give geometry null: a municipality's area is the bundled boundary "
                         "(use kind owner for land a department manages)")  # fmt: skip
    if cats is not None and (kind != "owner" or not isinstance(cats, list) or not cats):
        raise ValueError("categories must be a non-empty list of codes, on kind owner only")
    codes = tuple(sorted({_code(c, kind) for c in cats})) if cats is not None else None
    feature_id = feature.get("id")
    label = str(feature_id) if feature_id not in (None, "") else f"feature {index}"
    draft.areas.append(area_of(label, codes, _geometry(raw)))
    return draft


def _geometry(raw: object) -> shapely.Geometry:
    kind = raw.get("type") if isinstance(raw, dict) else None
    if kind not in ("Polygon", "MultiPolygon"):
        raise ValueError(f"geometry is {kind or 'not a GeoJSON geometry'}; an area must be a "
                         "Polygon or MultiPolygon")  # fmt: skip
    try:
        geom = shapely.from_geojson(json.dumps(raw))
    except (GEOSException, ValueError, TypeError) as exc:
        raise ValueError(f"geometry cannot be read: {exc}") from None
    if geom.is_empty:
        raise ValueError("geometry is empty")
    x0, y0, x1, y1 = geom.bounds
    if not (-180 <= x0 <= x1 <= 180 and -90 <= y0 <= y1 <= 90):
        raise ValueError("coordinates are not WGS 84 longitude/latitude (projected, e.g. "
                         "SWEREF 99 TM? export as EPSG:4326)")  # fmt: skip
    if not shapely.intersects(geom, shapely.box(*SWEDEN_BOUNDS)):
        raise ValueError(f"the area (around {x0:.4f}, {y0:.4f}) is outside Sweden; GeoJSON is "
                         "[longitude, latitude]: are they swapped?")  # fmt: skip
    if not geom.is_valid:
        raise ValueError(f"geometry is invalid ({shapely.is_valid_reason(geom)}); fix it where "
                         "it was drawn: it is not repaired automatically")  # fmt: skip
    return geom


def _email(value: object, what: str) -> str:
    if not isinstance(value, str) or (value.strip() and not _EMAIL.fullmatch(value.strip())):
        raise ValueError(f"{what} {value!r} is not an email address")
    return value.strip()


def _code(value: object, kind: str) -> str:
    code = categories.get(str(value)).code  # UnknownCategoryError is a ValueError naming codes
    if code == "OVR":
        raise ValueError("OVR is sorted by the coordinator; it never goes to an owner")
    if code == "ORD" and kind == "owner":
        raise ValueError("ORD (disorder) goes to the police/EST, never to a property owner")
    return code


# ---- writing ----


def _check_one_global_police(tx: Any, drafts: list[_Draft]) -> None:
    mine = [d for d in drafts if d.kind == "police" and d.has_null]
    names = {d.name.casefold() for d in drafts if d.kind == "police"}
    others = [name for (name,) in tx.execute(
        "SELECT name FROM owners o WHERE kind = 'police'"
        " AND NOT EXISTS (SELECT 1 FROM owner_areas a WHERE a.owner_id = o.id)"
    ).fetchall() if name.casefold() not in names]  # fmt: skip
    if mine and len(mine) + len(others) > 1:
        who = ", ".join(repr(n) for n in [d.name for d in mine] + others)
        raise InvalidOwnerFile(
            f"nothing was imported: only one police owner may cover all of Sweden (geometry "
            f"null), and this would make {who}; give the others areas or 'municipalities'"
        )


def _replace(tx: Any, owner_id: str, draft: _Draft, *, areas: bool) -> None:
    tx.execute("DELETE FROM owner_contacts WHERE owner_id = ?", [owner_id])
    tx.conn.executemany(
        "INSERT INTO owner_contacts (owner_id, category, email) VALUES (?, ?, ?)",
        [(owner_id, code, email) for code, email in draft.contacts.items()],
    )
    if areas:
        tx.execute("DELETE FROM owner_areas WHERE owner_id = ?", [owner_id])
        insert_areas(tx, owner_id, draft.areas)


def _area_keys(areas: list[Area]) -> list[tuple[str, object, str]]:
    return sorted((a.feature, a.categories or (), a.geojson) for a in areas)

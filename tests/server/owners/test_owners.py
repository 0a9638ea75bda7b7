"""The owner registry: GeoJSON import (validated, all or nothing), municipalities, the CLI.

Real SQLite in a temporary data directory, the real bundled municipal polygons, the fixtures in
tests/data/geo/ (see its README).
"""

from __future__ import annotations

import copy
import json
import time
from pathlib import Path
from typing import Any

import pytest

from sync_server.cli import main
from sync_server.core.db import Database
from sync_server.owners.errors import InvalidOwnerFile
from sync_server.owners.importer import import_owners
from sync_server.owners.municipalities import MUNICIPALITIES_FILE, ensure_municipalities
from sync_server.owners.registry import list_owners, registry_version

GEO = Path(__file__).resolve().parents[2] / "data" / "geo"
OREBRO = GEO / "orebro_owners.geojson"
INVALID = GEO / "invalid_owners.geojson"


def counts(db: Database) -> dict[str, int]:
    tables = ("owners", "owner_contacts", "owner_areas")
    return {t: db.conn().execute(f"SELECT count(*) FROM {t}").fetchone()[0] for t in tables}


def owner(db: Database, name: str) -> Any:
    (found,) = [o for o in list_owners(db) if o.name == name]
    return found


def rect(x0: float, y0: float, x1: float, y1: float) -> dict[str, Any]:
    return {"type": "Polygon", "coordinates": [[[x0, y0], [x1, y0], [x1, y1], [x0, y1], [x0, y0]]]}


def collection(*features: dict[str, Any]) -> str:
    return json.dumps({"type": "FeatureCollection", "features": list(features)})


def feature(geometry: Any = None, **props: Any) -> dict[str, Any]:
    if geometry == "box":
        geometry = rect(15.2300, 59.2800, 15.2320, 59.2810)
    return {"type": "Feature", "properties": {"owner": "Ägaren AB"} | props, "geometry": geometry}


# ---- the municipalities ----


def test_the_290_municipalities_load_once(db: Database) -> None:
    start = time.perf_counter()
    assert ensure_municipalities(db) == 290
    first = time.perf_counter() - start
    assert counts(db) == {"owners": 290, "owner_contacts": 0, "owner_areas": 290}
    orebro = owner(db, "Örebro")
    assert (orebro.kind, orebro.municipality_code, orebro.email, orebro.areas) == (
        "municipality", "1880", "", 1,
    )  # fmt: skip
    start = time.perf_counter()
    assert ensure_municipalities(db) == 0  # the second start: one query, nothing re-inserted
    assert time.perf_counter() - start < first / 10
    assert counts(db)["owners"] == 290


def test_the_bundled_file_is_the_attributed_one() -> None:
    data = json.loads(MUNICIPALITIES_FILE.read_text(encoding="utf-8"))
    assert len(data["features"]) == 290
    attribution = (MUNICIPALITIES_FILE.parent / "ATTRIBUTION.md").read_text(encoding="utf-8")
    assert "okfse/sweden-geojson" in attribution and "Valmyndigheten" in attribution


# ---- importing ----


def test_import_creates_owners_areas_and_contacts(db: Database) -> None:
    result = import_owners(db, OREBRO.read_text(encoding="utf-8"))
    # Örebro merges into the bundled municipality; the other six are new.
    assert (result.created, result.updated, result.unchanged) == (6, 1, 0)
    assert counts(db) == {"owners": 296, "owner_contacts": 2, "owner_areas": 290 + 6}
    bostader = owner(db, "Örebrobostäder AB")
    assert (bostader.kind, bostader.areas, bostader.language) == ("owner", 2, "sv")
    assert bostader.contacts == {"KLO": "klotter@orebrobostader.example"}
    assert owner(db, "Fastighets AB Eken").language == "en"
    assert owner(db, "Tyst Fastighet AB").email == ""
    orebro = owner(db, "Örebro")  # "Örebro kommun" in the file: merged, not a 291st municipality
    assert (orebro.email, orebro.contacts, orebro.areas) == (
        "kontaktcenter@orebro.example", {"TRF": "trafik@orebro.example"}, 1,
    )  # fmt: skip
    # The police owner for Örebro got Örebro's polygon; the national one has no area at all.
    assert owner(db, "Lokalpolisområde Örebro").areas == 1
    national = owner(db, "Polisen, nationell EST")
    assert (national.kind, national.areas) == ("police", 0)
    categories = (
        db.conn()
        .execute(
            "SELECT a.categories FROM owner_areas a JOIN owners o ON o.id = a.owner_id"
            " WHERE o.name = 'Tekniska förvaltningen, parker'"
        )
        .fetchone()[0]
    )
    assert json.loads(categories) == ["BEL", "SKR", "VEG"]


def test_reimport_updates_in_place_and_never_duplicates(db: Database) -> None:
    text = OREBRO.read_text(encoding="utf-8")
    import_owners(db, text)
    before, version = counts(db), registry_version(db)
    ids = {o.name: o.id for o in list_owners(db)}
    again = import_owners(db, text)
    assert (again.created, again.updated, again.unchanged) == (0, 0, 7)
    assert counts(db) == before and registry_version(db) == version

    data = json.loads(text)
    first = data["features"][0]
    first["properties"]["owner"] = "ÖREBROBOSTÄDER ab"  # same owner: identity ignores case
    first["properties"]["email"] = "ny@orebrobostader.example"
    data["features"][1]["properties"] = copy.deepcopy(first["properties"])
    del data["features"][1]  # its second area is gone from the file: replaced, not kept
    changed = import_owners(db, json.dumps(data))
    assert (changed.created, changed.updated, changed.unchanged) == (0, 1, 6)
    bostader = owner(db, "ÖREBROBOSTÄDER ab")
    assert bostader.id == ids["Örebrobostäder AB"]  # the same row, renamed
    assert (bostader.email, bostader.areas) == ("ny@orebrobostader.example", 1)
    assert counts(db) == before | {"owner_areas": before["owner_areas"] - 1}
    assert registry_version(db) != version


def test_an_invalid_file_names_every_bad_feature_and_imports_nothing(db: Database) -> None:
    ensure_municipalities(db)
    before = counts(db)
    with pytest.raises(InvalidOwnerFile) as caught:
        import_owners(db, INVALID.read_text(encoding="utf-8"))
    problems = caught.value.problems
    assert len(problems) == 4
    assert problems[0].startswith("feature 1 (owner 'Fjärilen AB'): geometry is invalid")
    assert "Self-intersection" in problems[0] and "not repaired" in problems[0]
    assert problems[1].startswith("feature 2 (owner 'Punkten AB'): geometry is Point")
    assert problems[2].startswith("feature 3 (owner 'Felpost AB'): email 'felpost.example'")
    assert problems[3].startswith("feature 4 (owner 'Okänd Kategori AB'): unknown category 'XYZ'")
    assert "nothing was imported; 4 problems" in caught.value.message
    assert counts(db) == before  # not even the valid feature 0
    assert not [o for o in list_owners(db) if o.name == "Giltig AB"]


BAD_FEATURES = [
    (feature({"type": "Polygon", "coordinates": [[[15.2, 59.2], [15.3]]]}), "cannot be read"),
    (feature({"type": "Polygon", "coordinates": []}), "geometry is empty"),
    (feature({"type": "LineString", "coordinates": [[15.2, 59.2], [15.3, 59.3]]}), "LineString"),
    (feature([15.2, 59.2]), "not a GeoJSON geometry"),
    (feature(rect(59.2800, 15.2300, 59.2810, 15.2320)), "outside Sweden"),  # lat/lon swapped
    (feature(rect(515000, 6570000, 515100, 6570100)), "SWEREF 99 TM"),  # projected metres
    (feature("box", email="nej@"), "email 'nej@' is not an email address"),
    (feature("box", contacts={"BEL": "x y@z.se"}), "contacts[BEL]"),
    (feature("box", contacts={"ZZZ": "a@b.se"}), "unknown category 'ZZZ'"),
    (feature("box", categories=["VEG", "ORD"]), "ORD (disorder) goes to the police"),
    (feature("box", categories=["OVR"]), "OVR is sorted by the coordinator"),
    (feature("box", categories=[]), "non-empty list"),
    (feature("box", kind="bank"), "kind 'bank'"),
    (feature("box", language="de"), "language 'de'"),
    (feature(None), "a property owner needs an area"),
    (feature(None, owner="Atlantis", kind="municipality"), "no Swedish municipality"),
    (feature("box", owner="Örebro", kind="municipality"), "give geometry null"),
    (feature(None, kind="police", municipalities=["9999"]), "no Swedish municipality"),
    (feature("box", municipalities=["1880"]), "for police owners only"),
    (feature(None, kind="police", municipalities={"kod": 1880}), "kommunkoder or names"),
    (feature(None, kind="police", municipalities=[]), "kommunkoder or names"),
    ({"type": "Feature", "properties": {"email": "a@b.se"}, "geometry": None}, "'owner'"),
    ("not a feature", "not a GeoJSON Feature"),
]


@pytest.mark.parametrize(("bad", "message"), BAD_FEATURES)
def test_each_kind_of_bad_feature_is_named(db: Database, bad: Any, message: str) -> None:
    good = feature("box", owner="Giltig AB")
    ensure_municipalities(db)
    before = counts(db)
    with pytest.raises(InvalidOwnerFile) as caught:
        import_owners(db, collection(good, bad))
    (problem,) = caught.value.problems
    assert problem.startswith("feature 1") and message in problem, problem
    assert counts(db) == before


def test_features_of_one_owner_must_agree(db: Database) -> None:
    one = feature("box", email="a@agaren.example")
    other = feature(rect(15.24, 59.28, 15.25, 59.29), owner="ÄGAREN ab", email="b@agaren.example")
    with pytest.raises(InvalidOwnerFile, match="feature 1 .* email differs from feature 0"):
        import_owners(db, collection(one, other))


def test_a_police_owner_for_named_municipalities_gets_their_polygons(db: Database) -> None:
    police = feature(None, owner="Polisen Mitt", kind="police", email="a@b.se",
                     municipalities=[1880, "Lekebergs kommun", "1880"])  # fmt: skip
    assert import_owners(db, collection(police)).areas == 2  # Örebro once, and Lekeberg
    labels = [f for (f,) in db.conn().execute(
        "SELECT feature FROM owner_areas a JOIN owners o ON o.id = a.owner_id"
        " WHERE o.name = 'Polisen Mitt' ORDER BY a.id")]  # fmt: skip
    assert labels == ["municipality 1880", "municipality 1814"]


def test_only_one_police_owner_covers_all_of_sweden(db: Database) -> None:
    import_owners(db, collection(feature(None, owner="Polisen", kind="police", email="a@b.se")))
    second = feature(None, owner="Polisen Syd", kind="police", email="c@d.se")
    with pytest.raises(InvalidOwnerFile, match="only one police owner may cover all of Sweden"):
        import_owners(db, collection(second))
    # The same owner again is an update, not a second one.
    again = import_owners(db, collection(feature(None, owner="POLISEN", kind="police",
                                                 email="e@f.se")))  # fmt: skip
    assert again.updated == 1 and len(list_owners(db, "police")) == 1


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("{not json", "not JSON"),
        ('{"type": "Feature", "properties": {}, "geometry": null}', "not a GeoJSON Feature"),
        ('{"type": "FeatureCollection", "features": []}', "no features"),
    ],
)
def test_unusable_files(db: Database, text: str, message: str) -> None:
    with pytest.raises(InvalidOwnerFile, match=message):
        import_owners(db, text)


def test_unknown_properties_are_ignored_and_reported(db: Database) -> None:
    result = import_owners(db, collection(feature("box", emial="typo@x.se", fid=7)))
    assert result.ignored == ("emial", "fid") and result.created == 1


# ---- the CLI ----


def run(capsys: pytest.CaptureFixture[str], *argv: str | Path) -> tuple[int, str, str]:
    code = main([str(a) for a in argv])
    out, err = capsys.readouterr()
    return code, out, err


def test_cli_import_and_list(tmp_path: Path, capsys: Any) -> None:
    code, out, err = run(capsys, "--data", tmp_path, "owners", "import", OREBRO)
    assert code == 0 and out == ""
    assert "6 new, 1 updated, 0 unchanged" in err and "6 area(s)" in err
    code, out, _ = run(capsys, "--data", tmp_path, "owners", "list", "--json")
    assert code == 0
    listed = {o["name"]: o for o in json.loads(out)}
    assert len(listed) == 296
    assert listed["Örebrobostäder AB"] | {"id": ""} == {
        "id": "", "name": "Örebrobostäder AB", "kind": "owner", "language": "sv",
        "email": "felanmalan@orebrobostader.example", "municipality_code": None,
        "contacts": {"KLO": "klotter@orebrobostader.example"}, "areas": 2,
    }  # fmt: skip
    assert listed["Örebro"]["email"] == "kontaktcenter@orebro.example"
    code, out, _ = run(capsys, "--data", tmp_path, "owners", "list", "--kind", "police")
    lines = out.splitlines()
    assert code == 0 and lines[0].split()[:5] == ["NAME", "KIND", "EMAIL", "CONTACTS", "AREAS"]
    assert len(lines) == 3 and "Lokalpolisområde Örebro" in out


def test_cli_import_of_a_bad_file_says_why_and_imports_nothing(tmp_path: Path, capsys: Any) -> None:
    code, out, err = run(capsys, "--data", tmp_path, "owners", "import", INVALID)
    assert code == 1 and out == ""
    assert str(INVALID) in err and "feature 1 (owner 'Fjärilen AB')" in err
    code, out, _ = run(capsys, "--data", tmp_path, "owners", "list", "--json", "--kind", "owner")
    assert code == 0 and json.loads(out) == []
    code, _, err = run(capsys, "--data", tmp_path, "owners", "import", tmp_path / "nope.geojson")
    assert code == 1 and "cannot read" in err

"""CSV and GeoJSON exports of the filtered findings, read back the way their users read them:
the csv module (with the BOM Excel needs), json, and the same filters as the findings list.
"""

from __future__ import annotations

import csv
import io
import json
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import pytest

from sync_server.core.finding_filters import SWEDEN, Filters, parse
from sync_server.core.history import add_server_event
from sync_server.core.time import iso
from sync_server.owners import routing
from sync_server.workspace import export, finding_list, tracking
from tests.server.conftest import Server, finding_json
from tests.server.workspace_support import Staff
from walkaudit.model import EventKind, new_id, utcnow

FMS_HEADER = ["id", "category", "created", "sent", "acknowledged", "fixed", "closed", "status",
              "latitude", "longitude", "owner", "walk", "link"]  # fmt: skip
LAMP_NOTE = "Trasig lampa på gångvägen – mörkt under björkarna, ÅÄÖ"
FORMULAS = ['=HYPERLINK("http://evil.example","klicka")', "+46 70 123 45 67", "-kabel hänger ner",
            "@SUM(1+1)"]  # fmt: skip


@dataclass
class World:
    lamp: str
    graffiti: list[str]
    loose: str
    walk: str
    owner: str


def add_owner(server: Server, name: str) -> str:
    owner_id = new_id()
    now = iso(utcnow())
    with server.db.write() as tx:
        tx.execute(
            "INSERT INTO owners (id, name, kind, email, created_at, updated_at)"
            " VALUES (?, ?, 'owner', 'felanmalan@vasbyhem.example', ?, ?)",
            [owner_id, name, now, now],
        )
    return owner_id


@pytest.fixture
def world(staff: Staff) -> World:
    server = staff.server
    device = server.enrol("Telefon 1")
    walk = {"id": new_id(), "name": "Kvällsvandring Vivalla", "area": "Vivalla",
            "started_at": "2026-01-15T17:00:00+00:00"}  # fmt: skip
    lamp = finding_json(walk_id=walk["id"], category="BEL", severity="high", note=LAMP_NOTE,
                        latitude=59.27431, longitude=15.20662,
                        captured_at="2026-01-15T17:30:00+00:00")  # fmt: skip
    graffiti = [finding_json(walk_id=walk["id"], category="KLO", severity="low", note=note,
                             captured_at=f"2026-07-01T16:0{i}:00+00:00")
                for i, note in enumerate(FORMULAS)]  # fmt: skip
    loose = finding_json(category="SKR", severity="medium", note="Glas på lekplatsen\nrad två",
                         captured_at="2026-08-02T09:15:00+00:00")  # fmt: skip
    server.push(device, walks=[walk], findings=[lamp, *graffiti, loose])
    owner = add_owner(server, "Väsbyhem AB")
    routing.set_owner(server.db, lamp["id"], owner)
    with server.db.write() as tx:
        for kind, at in ((EventKind.SENT, datetime(2026, 1, 16, 8, 0, tzinfo=UTC)),
                         (EventKind.ACKNOWLEDGED, datetime(2026, 1, 20, 12, 5, tzinfo=UTC)),
                         (EventKind.FIXED, datetime(2026, 6, 30, 22, 30, tzinfo=UTC))):  # fmt: skip
            add_server_event(tx, lamp["id"], kind, at=at)
    routing.reroute_to_triage(server.db, loose["id"], reason="triage", detail="oklart vems")
    tracking.set_plan(server.db, lamp["id"], priority="2", deadline="2026-03-01",
                      actor="user:coordinator1", event_id=new_id())  # fmt: skip
    return World(lamp["id"], [g["id"] for g in graffiti], loose["id"], walk["id"], owner)


def read_csv(response: Any) -> list[dict[str, str]]:
    assert response.status_code == 200, response.text
    assert response.content.startswith(b"\xef\xbb\xbf")  # the BOM Excel looks for
    text = response.content.decode("utf-8-sig")
    reader = csv.reader(io.StringIO(text, newline=""))
    header = next(reader)
    assert header[: len(FMS_HEADER)] == FMS_HEADER
    assert header == list(export.COLUMNS)
    return [dict(zip(header, row, strict=True)) for row in reader]


def test_the_csv_has_fixmystreets_columns_and_the_right_values(staff: Staff, world: World) -> None:
    response = staff.coordinator.get("/c/export.csv")
    assert response.headers["content-type"] == "text/csv; charset=utf-8"
    day = datetime.now(SWEDEN).date().isoformat()
    disposition = response.headers["content-disposition"]
    assert disposition == f'attachment; filename="walkaudit-findings-{day}.csv"'
    rows = read_csv(response)
    assert [r["id"] for r in rows] == [world.lamp, *world.graffiti, world.loose]  # oldest first
    lamp = rows[0]
    url = staff.server.services.settings.url
    assert lamp == {
        "id": world.lamp, "category": "BEL",
        "created": "2026-01-15T18:30:00+01:00",  # Swedish winter time
        "sent": "2026-01-16T09:00:00+01:00", "acknowledged": "2026-01-20T13:05:00+01:00",
        "fixed": "2026-07-01T00:30:00+02:00",  # summer time, the next Swedish day
        "closed": "", "status": "fixed", "latitude": "59.27431", "longitude": "15.20662",
        "owner": "Väsbyhem AB", "walk": "Kvällsvandring Vivalla",
        "link": f"{url}/c/findings/{world.lamp}", "area": "Vivalla", "severity": "high",
        "priority": "2", "deadline": "2026-03-01", "note": LAMP_NOTE,
        "category_name": "Belysning", "status_name": "Åtgärdat",
    }  # fmt: skip
    loose = rows[-1]
    assert (loose["walk"], loose["area"], loose["owner"], loose["sent"]) == ("", "", "", "")
    assert loose["note"] == "Glas på lekplatsen\nrad två"  # a line break survives quoting
    assert loose["priority"] == "2"  # the default from the severity, as the list shows it


def test_formula_cells_are_neutralised(staff: Staff, world: World) -> None:
    rows = {r["id"]: r for r in read_csv(staff.viewer.get("/c/export.csv"))}
    notes = [rows[i]["note"] for i in world.graffiti]
    assert notes == ["'" + note for note in FORMULAS]
    assert all(not r["note"].startswith(("=", "+", "-", "@")) for r in rows.values())


def test_the_export_selects_what_the_findings_list_selects(staff: Staff, world: World) -> None:
    cases = {
        "category=KLO": world.graffiti,
        f"walk={world.walk}&severity=high": [world.lamp],
        "status=open": [*world.graffiti, world.loose],
        f"owner={world.owner}": [world.lamp],
        # nobody responsible: routed to nobody (loose), or not routed yet (the graffiti)
        "owner=triage": [*world.graffiti, world.loose],
        "area=vivalla": [world.lamp, *world.graffiti],
        "date_from=2026-07-01&date_to=2026-07-01": world.graffiti,
        "q=lekplatsen": [world.loose],
    }
    for query, expected in cases.items():
        ids = [r["id"] for r in read_csv(staff.coordinator.get(f"/c/export.csv?{query}"))]
        assert ids == expected, query
        params = dict(pair.split("=") for pair in query.split("&"))
        listed = finding_list.list_page(staff.server.db, parse(params), sort="oldest").rows
        assert [r["id"] for r in listed] == ids, query


@pytest.mark.parametrize(("query", "words"), [
    ("status=bogus", "status: use one of"),
    ("category=XYZ", "category: use one of"),
    ("date_from=igår", "date_from: a date like"),
    ("delimiter=tab", "delimiter: use one of comma, semicolon"),
])  # fmt: skip
def test_an_unusable_filter_is_a_422_with_a_sentence(staff: Staff, query: str, words: str) -> None:
    for url in (f"/c/export.csv?{query}", f"/c/export.geojson?{query}"):
        if "delimiter" in query and url.endswith(".geojson?" + query):
            continue  # the GeoJSON has no delimiter to get wrong
        response = staff.coordinator.get(url)
        assert response.status_code == 422 and words in response.text
        assert "Exporten kunde inte göras" in response.text


def test_semicolons_for_swedish_excel(staff: Staff, world: World) -> None:
    response = staff.coordinator.get("/c/export.csv?delimiter=semicolon&category=BEL")
    text = response.content.decode("utf-8-sig")
    rows = list(csv.reader(io.StringIO(text, newline=""), delimiter=";"))
    assert rows[0][:3] == ["id", "category", "created"] and rows[1][0] == world.lamp
    assert rows[1][export.COLUMNS.index("note")] == LAMP_NOTE


def test_the_geojson_is_a_feature_collection_with_the_same_rows(staff: Staff,
                                                                world: World) -> None:  # fmt: skip
    response = staff.viewer.get("/c/export.geojson")
    assert response.status_code == 200
    assert response.headers["content-type"] == "application/geo+json"
    assert response.headers["content-disposition"].endswith('.geojson"')
    body = json.loads(response.content.decode("utf-8"))
    assert body["type"] == "FeatureCollection"
    csv_rows = read_csv(staff.viewer.get("/c/export.csv"))
    assert len(body["features"]) == len(csv_rows) == 6
    lamp = body["features"][0]
    assert lamp["type"] == "Feature" and lamp["id"] == world.lamp
    assert lamp["geometry"] == {"type": "Point", "coordinates": [15.20662, 59.27431]}
    properties = lamp["properties"]
    assert set(properties) == set(export.COLUMNS) - {"latitude", "longitude"}
    assert properties["note"] == LAMP_NOTE and properties["owner"] == "Väsbyhem AB"
    assert properties["priority"] == 2 and properties["closed"] == ""
    assert properties["created"] == csv_rows[0]["created"]
    # Not a spreadsheet: the text is as the walker typed it.
    notes = {f["id"]: f["properties"]["note"] for f in body["features"]}
    assert [notes[i] for i in world.graffiti] == FORMULAS

    empty = json.loads(staff.viewer.get("/c/export.geojson?category=POS").content)
    assert empty == {"type": "FeatureCollection", "features": []}


def test_exports_need_a_signed_in_user(staff: Staff, world: World) -> None:
    for url in ("/c/export.csv", "/c/export.geojson"):
        response = staff.anonymous.get(url, follow_redirects=False)
        assert response.status_code == 303 and response.headers["location"].startswith("/c/login")


def test_many_rows_come_in_many_bounded_chunks(server: Server) -> None:
    device = server.enrol()
    count = export.CHUNK_ROWS * 2 + 7
    findings = [finding_json(note=f"Fynd {i} – å", captured_at=f"2026-02-01T10:{i // 60 % 60:02d}"
                             f":{i % 60:02d}+00:00") for i in range(count)]  # fmt: skip
    for start in range(0, count, 500):  # a push holds at most 500
        server.push(device, findings=findings[start : start + 500])
    chunks = list(export.csv_chunks(export.rows(server.db, Filters()), "http://x", "sv"))
    assert len(chunks) == count // export.CHUNK_ROWS + 1  # one per CHUNK_ROWS rows, the rest
    assert max(len(c) for c in chunks) < export.CHUNK_ROWS * 400
    text = b"".join(chunks).decode("utf-8-sig")
    assert len(list(csv.reader(io.StringIO(text, newline="")))) == count + 1
    parts = list(export.geojson_chunks(export.rows(server.db, Filters()), "http://x", "sv"))
    assert len(parts) >= 3 and len(json.loads(b"".join(parts))["features"]) == count

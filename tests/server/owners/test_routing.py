"""Routing on the real municipal polygons and the Örebro fixtures (tests/data/geo/README.md).

Distances in these tests are made with geopy's geodesic (Karney, on the WGS 84 ellipsoid), not
with the router's own local projection, so the 15 m rule is checked against an independent ruler.
"""

from __future__ import annotations

import json
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
import shapely
from geopy.distance import geodesic
from hypothesis import given, settings
from hypothesis import strategies as st

from sync_server.core.db import Database
from sync_server.owners.errors import NoContact, UnknownFinding, UnknownOwner, WrongOwner
from sync_server.owners.importer import import_owners
from sync_server.owners.policy import DEADLINE_DAYS, deadline
from sync_server.owners.registry import list_owners
from sync_server.owners.router import Owner, Route, Router, RouterCache
from sync_server.owners.routing import reroute_to_triage, route_pending, set_owner, triage
from tests.server.conftest import Device, Server, finding_json

GEO = Path(__file__).resolve().parents[2] / "data" / "geo"
EDGE_LON = 15.2066  # the edge Örebrobostäder's kv-bjorken shares with Fastighets AB Eken
MID_LAT = 59.2741  # halfway up that edge (which runs from 59.2721 to 59.2761)
PLACES = {
    "Örebro": (59.2741, 15.2066),  # the centre (where the fixtures put two properties)
    "Stockholm": (59.3293, 18.0686),
    "Malmö": (55.6050, 13.0038),
    "Kiruna": (67.8558, 20.2253),
    "Gotland": (57.6348, 18.2948),  # Visby
}
STREET = (59.2741, 15.2006)  # Örebro, 110 m west of the fixtures' properties: public land
ABROAD = {"Oslo": (59.9139, 10.7522), "Copenhagen": (55.6761, 12.5683),
          "the Baltic Sea": (58.0, 19.5), "Vänern": (58.9, 13.3)}  # fmt: skip


def moved(lat: float, lon: float, metres: float, bearing: float) -> tuple[float, float]:
    point = geodesic(meters=metres).destination((lat, lon), bearing)
    return point.latitude, point.longitude


@pytest.fixture
def orebro(db: Database) -> Database:
    import_owners(db, (GEO / "orebro_owners.geojson").read_text(encoding="utf-8"))
    return db


@pytest.fixture
def router(orebro: Database) -> Router:
    return Router.from_db(orebro)


def ids(db: Database) -> dict[str, str]:
    return {o.name: o.id for o in list_owners(db)}


def emails_for(db: Database, names: list[str]) -> None:
    features = [{"type": "Feature", "geometry": None, "properties": {
        "owner": name, "kind": "municipality", "email": f"info@{name.lower()}.example"}}
        for name in names]  # fmt: skip
    import_owners(db, json.dumps({"type": "FeatureCollection", "features": features}))


# ---- the municipalities ----


@pytest.mark.parametrize("name", PLACES)
def test_points_go_to_their_municipality(db: Database, name: str) -> None:
    emails_for(db, list(PLACES))
    route = Router.from_db(db).route(*PLACES[name], "BEL")
    assert route == Route(ids(db)[name], f"info@{name.lower()}.example", "municipality",
                          f"in {name}'s area municipality {route.detail.split()[-1]}")  # fmt: skip


@pytest.mark.parametrize("name", ABROAD)
def test_points_outside_every_municipality_are_no_match(db: Database, name: str) -> None:
    route = Router.from_db(db).route(*ABROAD[name], "BEL")
    assert (route.owner_id, route.email, route.reason) == (None, None, "no_match")
    assert "nearest municipality:" in route.detail


def test_a_municipality_without_email_is_no_contact_naming_it(db: Database) -> None:
    route = Router.from_db(db).route(*PLACES["Kiruna"], "BEL")
    assert (route.owner_id, route.reason) == (None, "no_contact")
    assert route.detail.startswith("Kiruna (municipality) has no email address for BEL")


def test_a_pin_in_two_overlapping_municipalities_is_a_boundary(db: Database) -> None:
    # The simplified polygons overlap in places; find such a spot and expect triage, not a guess.
    router = Router.from_db(db)
    rows = (
        db.conn()
        .execute("SELECT o.name, a.geojson FROM owner_areas a JOIN owners o ON o.id = a.owner_id")
        .fetchall()
    )
    assert len(rows) == 290
    names, geoms = [name for name, _ in rows], shapely.from_geojson([g for _, g in rows])
    pairs = shapely.STRtree(geoms).query(geoms, predicate="overlaps").T
    i, j = next((i, j) for i, j in pairs if i < j)
    pin = shapely.intersection(geoms[i], geoms[j]).representative_point()
    route = router.route(pin.y, pin.x, "BEL")
    assert (route.owner_id, route.reason) == (None, "boundary")
    assert f"{names[i]} (inside" in route.detail and f"{names[j]} (inside" in route.detail


# ---- properties ----


def test_inside_a_property_goes_to_its_owner(orebro: Database, router: Router) -> None:
    route = router.route(MID_LAT, EDGE_LON - 0.002, "BEL")
    assert route == Route(ids(orebro)["Örebrobostäder AB"], "felanmalan@orebrobostader.example",
                          "property", "in Örebrobostäder AB's area kv-bjorken")  # fmt: skip


@pytest.mark.parametrize(("metres", "bearing", "owner"), [
    (10, 270, None), (10, 90, None), (30, 270, "Örebrobostäder AB"), (30, 90, "Fastighets AB Eken"),
])  # fmt: skip
def test_near_the_shared_edge_is_triage(
    orebro: Database, router: Router, metres: float, bearing: float, owner: str | None
) -> None:
    route = router.route(*moved(MID_LAT, EDGE_LON, metres, bearing), "BEL")
    if owner is None:
        assert (route.owner_id, route.email, route.reason) == (None, None, "boundary")
        assert "Örebrobostäder AB (" in route.detail and "Fastighets AB Eken (" in route.detail
        assert f"inside, {metres:.1f} m from its edge" in route.detail  # the geodesic distance
        assert "no property owner" not in route.detail
    else:
        assert (route.owner_id, route.reason) == (ids(orebro)[owner], "property")


@pytest.mark.parametrize(("metres", "bearing", "reason"), [
    (10, 90, "boundary"), (10, 270, "boundary"), (30, 90, "property"), (30, 270, "municipality"),
])  # fmt: skip
def test_near_the_edge_of_property_and_street_is_triage(
    router: Router, metres: float, bearing: float, reason: str
) -> None:
    # kv-bjorken's west edge (15.2026) has no property beyond it: Örebro municipality's land.
    route = router.route(*moved(MID_LAT, 15.2026, metres, bearing), "BEL")
    assert route.reason == reason
    if reason == "boundary":
        assert "Örebrobostäder AB" in route.detail and "no property owner" in route.detail


def test_the_edge_between_two_areas_of_one_owner_is_no_boundary(
    orebro: Database, router: Router
) -> None:
    for bearing in (0, 180):  # kv-bjorken and kv-bjorken-syd meet at 59.2721
        route = router.route(*moved(59.2721, EDGE_LON - 0.002, 5, bearing), "BEL")
        assert (route.owner_id, route.reason) == (ids(orebro)["Örebrobostäder AB"], "property")


def test_category_restrictions(orebro: Database, router: Router) -> None:
    park = (59.2715, 15.2230)
    parks, kommun = ids(orebro)["Tekniska förvaltningen, parker"], ids(orebro)["Örebro"]
    assert router.route(*park, "VEG").owner_id == parks
    assert router.route(*park, "SKR").owner_id == parks
    klotter = router.route(*park, "KLO")  # not theirs: the municipality's
    assert (klotter.owner_id, klotter.email) == (kommun, "kontaktcenter@orebro.example")
    # 10 m inside the park's edge, for a category the park does not handle, no boundary either:
    # the other side of its edge is the municipality's land, as is the pin for this category.
    assert router.route(*moved(59.2715, 15.2200, 10, 90), "KLO").owner_id == kommun
    assert router.route(*moved(59.2715, 15.2200, 10, 90), "VEG").reason == "boundary"


def test_per_category_contacts_override_the_email(orebro: Database, router: Router) -> None:
    inside = (MID_LAT, EDGE_LON - 0.002)
    assert router.route(*inside, "KLO").email == "klotter@orebrobostader.example"
    assert router.route(*inside, "klo").detail.endswith("; KLO contact")
    assert router.route(*inside, "SKA").email == "felanmalan@orebrobostader.example"
    street = STREET
    assert router.route(*street, "TRF").email == "trafik@orebro.example"
    assert router.route(*street, "GAN").email == "kontaktcenter@orebro.example"


def test_disorder_goes_to_the_police_never_the_property_owner(
    orebro: Database, router: Router
) -> None:
    owners = ids(orebro)
    inside = router.route(MID_LAT, EDGE_LON - 0.002, "ORD")  # inside Örebrobostäder's area
    assert (inside.owner_id, inside.email, inside.reason) == (
        owners["Lokalpolisområde Örebro"], "est.orebro@polisen.example", "police",
    )  # fmt: skip
    # On the shared edge of two properties too: the property boundary is irrelevant to ORD.
    assert router.route(*moved(MID_LAT, EDGE_LON, 3, 90), "ORD").reason == "police"
    stockholm = router.route(*PLACES["Stockholm"], "ORD")
    assert (stockholm.owner_id, stockholm.email) == (owners["Polisen, nationell EST"],
                                                     "est@polisen.example")  # fmt: skip
    assert router.route(*ABROAD["Oslo"], "ORD").reason == "no_match"


def test_disorder_without_any_police_owner_waits_on_triage(db: Database) -> None:
    route = Router.from_db(db).route(*PLACES["Örebro"], "ORD")
    assert (route.owner_id, route.reason) == (None, "no_contact")
    assert "no police/EST owner covers this point" in route.detail


def test_an_owner_without_email_is_no_contact_naming_it(router: Router) -> None:
    route = router.route(59.2795, 15.1925, "BEL")
    assert (route.owner_id, route.email, route.reason) == (None, None, "no_contact")
    assert route.detail.startswith("Tyst Fastighet AB (owner) has no email address for BEL")


def test_to_be_sorted_unknown_and_impossible(router: Router) -> None:
    assert router.route(MID_LAT, EDGE_LON - 0.002, "OVR").reason == "triage"
    assert router.route(MID_LAT, EDGE_LON - 0.002, "XYZ").reason == "unknown_category"
    assert router.route(float("nan"), 15.2, "BEL").reason == "no_match"
    assert router.route(95.0, 15.2, "BEL").reason == "no_match"


@settings(max_examples=150, deadline=None)
@given(
    lat=st.floats(55.4, 68.9),
    lon=st.floats(11.5, 23.5),
    metres=st.floats(0.5, 40).filter(lambda m: abs(m - 15) > 0.1),
    inside=st.booleans(),
    side=st.sampled_from([90, 0]),  # a north-south edge, or an east-west one
)
def test_the_15_m_rule_is_metric_at_every_swedish_latitude(
    lat: float, lon: float, metres: float, inside: bool, side: int
) -> None:
    # A 1 km square whose west (or south) edge passes through (lat, lon).
    east, north = moved(lat, lon, 1000, 90), moved(lat, lon, 1000, 0)
    x0, y0 = (lon, lat - 0.0045) if side == 90 else (lon - 0.009, lat)
    x1, y1 = (east[1], lat + 0.0045) if side == 90 else (lon + 0.009, north[0])
    router = Router([Owner("a", "A", "owner", "a@a.se", {})],
                    [("a", "square", None, shapely.box(x0, y0, x1, y1))])  # fmt: skip
    pin = moved(lat, lon, metres, side if inside else side + 180)
    route = router.route(*pin, "BEL")
    if metres < 15:
        assert route.reason == "boundary", (pin, route)
    else:
        assert route.reason == ("property" if inside else "no_match"), (pin, route)


# ---- assignments ----


def push(server: Server, device: Device, **fields: Any) -> str:
    finding = finding_json(**fields)
    server.push(device, findings=[finding])
    return str(finding["id"])


def assignment(server: Server, finding_id: str) -> dict[str, Any]:
    row = server.db.query_one("SELECT * FROM assignments WHERE finding_id = ?", (finding_id,))
    assert row is not None
    return row


def test_route_pending_assigns_each_finding_once(server: Server, device: Device) -> None:
    import_owners(server.db, (GEO / "orebro_owners.geojson").read_text(encoding="utf-8"))
    owners = ids(server.db)
    captured = datetime(2026, 3, 31, 23, 30, tzinfo=UTC)  # 1 April in Sweden
    a = push(server, device, latitude=MID_LAT, longitude=EDGE_LON - 0.002, category="KLO",
             severity="urgent", captured_at=captured.isoformat())  # fmt: skip
    b = push(server, device, latitude=MID_LAT, longitude=EDGE_LON + 0.00008, category="BEL")
    c = push(server, device, latitude=ABROAD["Oslo"][0], longitude=ABROAD["Oslo"][1])
    now = datetime(2026, 4, 2, 12, tzinfo=UTC)
    assert route_pending(server.db, now=now) == 3
    first = assignment(server, a)
    assert first == {
        "finding_id": a,
        "owner_id": owners["Örebrobostäder AB"],
        "email": "klotter@orebrobostader.example",
        "reason": "property",
        "detail": "in Örebrobostäder AB's area kv-bjorken; KLO contact",
        "deadline": "2026-04-15",  # 1 April (Swedish date) + 14 days for urgent
        "routed_at": "2026-04-02T12:00:00.000000Z",
    }
    assert assignment(server, b)["reason"] == "boundary"
    assert assignment(server, c)["reason"] == "no_match"
    assert route_pending(server.db) == 0  # nothing new: nothing re-routed
    d = push(server, device, category="ORD")
    assert route_pending(server.db, RouterCache(server.db).get()) == 1
    assert assignment(server, d)["owner_id"] == owners["Lokalpolisområde Örebro"]
    assert [t.finding_id for t in triage(server.db)] == sorted([b, c], key=lambda f: (
        assignment(server, f)["deadline"], f))  # fmt: skip


def test_route_pending_in_batches(server: Server, device: Device) -> None:
    findings = [finding_json(latitude=59.2741 + i * 1e-5) for i in range(1203)]
    for start in range(0, len(findings), 500):
        server.push(device, findings=findings[start : start + 500])
    assert route_pending(server.db) == 1203
    assert server.rows("SELECT count(*) FROM assignments")[0][0] == 1203


@pytest.mark.parametrize("severity", DEADLINE_DAYS)
def test_deadlines_per_severity(severity: str) -> None:
    days = {"urgent": 14, "high": 90, "medium": 180, "low": 365}[severity]
    assert deadline(severity, "2026-06-30T22:30:00.000Z") == str(date(2026, 7, 1) + timedelta(days))


def test_not_ours_goes_to_triage_in_the_callers_transaction(server: Server, device: Device) -> None:
    import_owners(server.db, (GEO / "orebro_owners.geojson").read_text(encoding="utf-8"))
    fid = push(server, device, latitude=MID_LAT, longitude=EDGE_LON - 0.002, severity="high")
    route_pending(server.db)
    before = assignment(server, fid)
    with pytest.raises(RuntimeError), server.db.write() as tx:
        reroute_to_triage(tx, fid, "not_ours", "Vi äger inte den lampan")
        raise RuntimeError("the caller's change failed: the hand-back must roll back with it")
    assert assignment(server, fid) == before
    with server.db.write() as tx:
        reroute_to_triage(tx, fid, "not_ours", "Vi äger inte den lampan")
    after = assignment(server, fid)
    assert (after["owner_id"], after["email"], after["reason"]) == (None, None, "not_ours")
    assert after["detail"] == "Vi äger inte den lampan (was with Örebrobostäder AB)"
    assert after["deadline"] == before["deadline"]
    (item,) = triage(server.db)
    assert (item.finding_id, item.reason, item.severity) == (fid, "not_ours", "high")
    with pytest.raises(UnknownFinding):
        reroute_to_triage(server.db, "no-such-finding", "not_ours", "")


def test_the_coordinator_chooses_by_hand(server: Server, device: Device) -> None:
    import_owners(server.db, (GEO / "orebro_owners.geojson").read_text(encoding="utf-8"))
    owners = ids(server.db)
    fid = push(server, device, latitude=MID_LAT, longitude=EDGE_LON - 0.002, category="KLO")
    route_pending(server.db)
    reroute_to_triage(server.db, fid, "not_ours", "inte vår")
    route = set_owner(server.db, fid, owners["Fastighets AB Eken"], "grannen äger muren")
    assert route == Route(owners["Fastighets AB Eken"], "drift@eken.example", "manual",
                          "chosen by the coordinator: grannen äger muren")  # fmt: skip
    row = assignment(server, fid)
    assert (row["owner_id"], row["reason"]) == (owners["Fastighets AB Eken"], "manual")
    assert triage(server.db) == []
    kinds = [k for (k,) in server.rows("SELECT kind FROM events WHERE finding_id = ?", fid)]
    assert kinds[-1] == "rerouted"  # its status goes back to received, for the new owner
    with pytest.raises(NoContact, match="Tyst Fastighet AB has no email address for KLO"):
        set_owner(server.db, fid, owners["Tyst Fastighet AB"])
    with pytest.raises(UnknownOwner):
        set_owner(server.db, fid, "no-such-owner")
    with pytest.raises(UnknownFinding):
        set_owner(server.db, "no-such-finding", owners["Fastighets AB Eken"])
    ord_id = push(server, device, category="ORD")
    with pytest.raises(WrongOwner, match="ORD"):
        set_owner(server.db, ord_id, owners["Fastighets AB Eken"])
    assert assignment(server, fid)["owner_id"] == owners["Fastighets AB Eken"]  # unchanged


def test_the_router_cache_rebuilds_only_when_the_registry_changes(db: Database) -> None:
    cache = RouterCache(db)
    first = cache.get()
    assert cache.get() is first
    assert first.route(MID_LAT, EDGE_LON - 0.002, "BEL").reason == "no_contact"  # Örebro
    import_owners(db, (GEO / "orebro_owners.geojson").read_text(encoding="utf-8"))
    second = cache.get()
    assert second is not first and second.route(MID_LAT, EDGE_LON - 0.002, "BEL").reason == (
        "property"
    )
    assert cache.get() is second


def test_one_router_shared_by_threads_gives_the_same_answers(router: Router) -> None:
    # The app shares one Router between request threads and the report loop (see Router._lock).
    pins = [moved(MID_LAT, EDGE_LON, m, b) for m in range(0, 60, 3) for b in range(0, 360, 30)]
    expected = [router.route(lat, lon, "BEL") for lat, lon in pins]
    with ThreadPoolExecutor(8) as pool:
        runs = list(pool.map(lambda _: [router.route(la, lo, "BEL") for la, lo in pins], range(16)))
    assert all(run == expected for run in runs)

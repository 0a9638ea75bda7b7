"""Open311 GeoReport v2 under /open311/v2/, in-process against the real app and a real SQLite file.

Findings are pushed (and their photos uploaded) by an enrolled device; owners and assignments are
rows as the router writes them. Every answer is read the way a client reads it: JSON decoded,
XML parsed with xml.etree, field by field against the standard's names.
"""

from __future__ import annotations

import hashlib
import hmac
import io
import json
import random
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from typing import Any
from urllib.parse import parse_qs, urlsplit
from xml.etree import ElementTree as ET

import httpx
import pytest
from PIL import Image

from sync_server import open311
from sync_server.app import create_app
from sync_server.config import Settings
from sync_server.core.history import add_server_event
from sync_server.core.time import iso
from sync_server.field.photos import record_stored
from sync_server.workspace import tracking
from tests.server.conftest import (
    CHEAP_HASHER,
    Device,
    Server,
    TestClient,
    finding_json,
    make_jpeg,
    photo_json,
    sha,
)
from tests.support import ServerProcess
from walkaudit.categories import CATEGORIES
from walkaudit.model import EventKind, Photo, new_id, utcnow

BASE = "/open311/v2"
SERVICE_FIELDS = [
    "service_code",
    "service_name",
    "description",
    "metadata",
    "type",
    "keywords",
    "group",
]
REQUEST_FIELDS = [
    "service_request_id",
    "status",
    "status_notes",
    "service_name",
    "service_code",
    "description",
    "agency_responsible",
    "service_notice",
    "requested_datetime",
    "updated_datetime",
    "expected_datetime",
    "address",
    "address_id",
    "zipcode",
    "lat",
    "long",
    "media_url",
]
UPDATE_FIELDS = [
    "update_id",
    "service_request_id",
    "status",
    "updated_datetime",
    "description",
    "media_url",
]
ROOTS = {
    "services": ("services", "service"),
    "requests": ("service_requests", "request"),
    "servicerequestupdates": ("service_request_updates", "request_update"),
}
NOTE = "Trasig lampa vid Annas port, hon går hem här varje kväll"


# ---- reading answers as a client does ---------------------------------------------------------


def _element(element: ET.Element) -> Any:
    if len(element):
        return {child.tag: _element(child) for child in element}
    return element.text


def parse(body: bytes, fmt: str, resource: str) -> list[dict[str, Any]]:
    """The items of an answer: a JSON array, or the standard's XML root and item elements."""
    if fmt == "json":
        items = json.loads(body)
        assert isinstance(items, list)
        return items
    root, item = ROOTS[resource.split("/")[0]]
    tree = ET.fromstring(body)
    assert tree.tag == root
    assert [child.tag for child in tree] == [item] * len(tree)
    return [_element(child) for child in tree]


def text(value: Any) -> str | None:
    """A value as XML carries it (JSON's null and "" and XML's empty element are all None)."""
    if value is None or value == "":
        return None
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)


def errors(response: Any, fmt: str) -> list[dict[str, Any]]:
    """An Open311 error answer: [{code, description}] or <errors><error>…."""
    if fmt == "json":
        body = response.json()
        assert [sorted(e) for e in body] == [["code", "description"]]
        return [{"code": str(e["code"]), "description": e["description"]} for e in body]
    tree = ET.fromstring(response.content)
    assert tree.tag == "errors" and [c.tag for c in tree] == ["error"]
    return [_element(error) for error in tree]


def get(server: Server, resource: str, fmt: str = "json", **params: Any) -> list[dict[str, Any]]:
    response = server.client.get(f"{BASE}/{resource}.{fmt}", params=params)
    assert response.status_code == 200, response.text
    media_type = "application/json" if fmt == "json" else "text/xml"
    assert response.headers["content-type"].startswith(media_type)
    return parse(response.content, fmt, resource)


def refused(server: Server, resource: str, code: int, fmt: str = "json", **params: Any) -> str:
    response = server.client.get(f"{BASE}/{resource}.{fmt}", params=params)
    assert response.status_code == code, response.text
    (error,) = errors(response, fmt)
    assert error["code"] == str(code)
    return str(error["description"])


# ---- seeding ----------------------------------------------------------------------------------


def add_owner(server: Server, name: str, kind: str = "owner") -> str:
    owner_id, now = new_id(), iso(utcnow())
    with server.db.write() as tx:
        tx.execute(
            "INSERT INTO owners (id, name, kind, email, created_at, updated_at)"
            " VALUES (?, ?, ?, ?, ?, ?)",
            [owner_id, name, kind, f"drift-{owner_id[-6:]}@example.se", now, now],
        )
    return owner_id


def assign(
    server: Server, finding_id: str, owner_id: str | None, deadline: str = "2027-05-31"
) -> None:
    with server.db.write() as tx:
        tx.execute(
            "INSERT INTO assignments (finding_id, owner_id, email, reason, deadline, routed_at)"
            " VALUES (?, ?, 'x@example.se', 'area', ?, ?)",
            [finding_id, owner_id, deadline, iso(utcnow())],
        )


def push(
    server: Server,
    device: Device,
    *,
    jpeg: bytes | None = None,
    size: tuple[int, int] = (320, 240),
    **overrides: Any,
) -> str:
    """Push a finding (with its photo uploaded, if any); returns its id."""
    if jpeg is not None:
        overrides["photos"] = [photo_json(jpeg, *size)]
    # Found before the updates the tests post (dated 2026-11-20): an update cannot predate it.
    overrides.setdefault("captured_at", "2026-11-10T18:00:00+01:00")
    finding = finding_json(**overrides)
    receipt = server.push(device, findings=[finding])
    assert receipt["records"][0]["result"] == "created", receipt
    if jpeg is not None:
        assert server.upload(device, jpeg) in (200, 201)
    return str(finding["id"])


def post(server: Server, fmt: str = "json", **form: Any) -> Any:
    return server.client.post(f"{BASE}/servicerequestupdates.{fmt}", data=form)


def open311_events(server: Server, finding_id: str) -> list[tuple[Any, ...]]:
    return server.rows(
        "SELECT kind, note, actor FROM events WHERE finding_id = ? AND actor LIKE 'open311:%'"
        " ORDER BY seq",
        finding_id,
    )


def status_of(server: Server, finding_id: str) -> str:
    return str(server.rows("SELECT status FROM findings WHERE id = ?", finding_id)[0][0])


def jpeg_with_metadata(width: int = 64, height: int = 48) -> bytes:
    """A JPEG that carries what must never leave: a person's name, a camera, GPS, a comment."""
    rng = random.Random(7)
    image = Image.frombytes("RGB", (width, height), rng.randbytes(width * height * 3))
    exif = Image.Exif()
    exif[0x010F] = "Camera Maker"
    exif[0x013B] = "Anna Andersson"  # Artist
    gps = exif.get_ifd(0x8825)
    gps.update({1: "N", 2: (59.0, 16.0, 30.0), 3: "E", 4: (15.0, 12.0, 0.0)})
    buffer = io.BytesIO()
    image.save(buffer, "JPEG", exif=exif.tobytes(), comment=b"walker: Anna Andersson")
    data = buffer.getvalue()
    assert Image.open(io.BytesIO(data)).getexif()  # the test photo really has metadata
    return data


@pytest.fixture
def phone(server: Server) -> Device:
    return server.enrol("Annas telefon")


@pytest.fixture
def key(server: Server) -> str:
    """The municipality's system: a key without owner."""
    return open311.create_api_key(server.db, "Kommunens ärendesystem")[1]


@pytest.fixture
def public(tmp_path: Any) -> Iterator[Server]:
    """A server with WALKAUDIT_OPEN311_PUBLIC_READ=true."""
    settings = Settings(data_dir=tmp_path / "public", open311_public_read=True)
    app = create_app(settings, hasher=CHEAP_HASHER)
    with TestClient(app) as client:
        yield Server(app, client)


# ---- services ---------------------------------------------------------------------------------


@pytest.mark.parametrize("fmt", ["json", "xml"])
def test_services_are_the_categories_with_the_standard_fields(
    server: Server, key: str, fmt: str
) -> None:
    services = get(server, "services", fmt, api_key=key)
    assert [s["service_code"] for s in services] == [c.code for c in CATEGORIES]
    for service, category in zip(services, CATEGORIES, strict=True):
        assert list(service) == SERVICE_FIELDS
        assert service["service_name"] == category.sv
        assert text(service["metadata"]) == "false"
        assert service["type"] == "realtime"
        assert service["description"] and service["keywords"] and service["group"]
    english = get(server, "services", fmt, api_key=key, lang="en")
    assert [s["service_name"] for s in english] == [c.en for c in CATEGORIES]
    by_code = {s["service_code"]: s for s in english}
    assert by_code["ORD"]["group"] == "Order and safety"
    assert by_code["BEL"]["group"] == "Physical environment"


# ---- requests ---------------------------------------------------------------------------------


@pytest.mark.parametrize("fmt", ["json", "xml"])
def test_a_request_field_by_field(server: Server, phone: Device, key: str, fmt: str) -> None:
    jpeg = make_jpeg(seed=3)
    fid = push(
        server,
        phone,
        jpeg=jpeg,
        note=NOTE,
        category="BEL",
        severity="high",
        latitude=59.2743123,
        longitude=15.2066456,
        captured_at="2026-01-15T17:30:00+00:00",
    )
    owner = add_owner(server, "Örebro kommun, gatuenheten", "municipality")
    assign(server, fid, owner, deadline="2027-05-31")
    with server.db.write() as tx:
        tx.execute(
            "INSERT INTO geocode_cache (key, address, fetched_at) VALUES (?, ?, ?)",
            ["59.27431,15.20665", "Storgatan 5, Örebro", iso(utcnow())],
        )

    (request,) = get(server, "requests", fmt, api_key=key)
    assert list(request) == [*REQUEST_FIELDS, "extended_attributes"]
    assert request["service_request_id"] == fid
    assert request["status"] == "open"
    assert request["status_notes"] == "Mottaget"
    assert request["service_name"] == "Belysning"
    assert request["service_code"] == "BEL"
    assert request["description"] == f"Belysning. Allvar: hög. {NOTE}"
    assert request["agency_responsible"] == "Örebro kommun, gatuenheten"
    assert request["service_notice"] == "Ska vara åtgärdat senast 2027-05-31."
    assert request["requested_datetime"] == "2026-01-15T18:30:00+01:00"  # W3C, Swedish offset
    assert text(request["updated_datetime"]).endswith(("+01:00", "+02:00"))  # type: ignore[union-attr]
    assert request["expected_datetime"] == "2027-05-31T23:59:59+02:00"  # summer time in May
    assert request["address"] == "Storgatan 5, Örebro"
    assert text(request["address_id"]) is None and text(request["zipcode"]) is None
    assert text(request["lat"]) == "59.2743123" and text(request["long"]) == "15.2066456"
    extended = request["extended_attributes"]
    assert extended["extended_status"] == "open"
    assert extended["external_status_code"] == "received"
    assert extended["severity"] == "high"
    photo = server.client.get(str(request["media_url"]))
    assert photo.status_code == 200 and photo.headers["content-type"] == "image/jpeg"
    assert Image.open(io.BytesIO(photo.content)).tobytes() == Image.open(io.BytesIO(jpeg)).tobytes()

    (single,) = get(server, f"requests/{fid}", fmt, api_key=key)
    assert single == request
    (english,) = get(server, f"requests/{fid}", fmt, api_key=key, lang="en")
    assert english["service_name"] == "Lighting" and english["status_notes"] == "Received"
    assert english["description"] == f"Lighting. Severity: high. {NOTE}"


@pytest.mark.parametrize("fmt", ["json", "xml"])
def test_unknown_request_is_404_in_open311_form(server: Server, key: str, fmt: str) -> None:
    description = refused(server, f"requests/{new_id()}", 404, fmt, api_key=key)
    assert "no service request" in description
    assert "nothing at" in refused(server, "requests/nope/deeper", 404, fmt, api_key=key)


def test_a_format_other_than_json_or_xml_is_refused(server: Server, key: str) -> None:
    response = server.client.get(f"{BASE}/requests.csv", params={"api_key": key})
    assert response.status_code == 400
    assert "use .json or .xml" in errors(response, "json")[0]["description"]


@pytest.mark.parametrize("fmt", ["json", "xml"])
def test_new_requests_are_not_taken(server: Server, key: str, fmt: str) -> None:
    response = server.client.post(f"{BASE}/requests.{fmt}", data={"api_key": key})
    assert response.status_code == 405
    assert "safety walks" in errors(response, fmt)[0]["description"]


@pytest.fixture
def five(server: Server, phone: Device) -> dict[str, str]:
    """Five findings: BEL/KLO on different days; one fixed, one merged into another."""
    ids = {
        "bel_jan": push(server, phone, category="BEL", captured_at="2026-01-10T09:00:00+00:00"),
        "klo_feb": push(server, phone, category="KLO", captured_at="2026-02-10T09:00:00+00:00"),
        "bel_mar": push(server, phone, category="BEL", captured_at="2026-03-10T09:00:00+00:00"),
        "klo_apr": push(server, phone, category="KLO", captured_at="2026-04-10T09:00:00+00:00"),
        "bel_may": push(server, phone, category="BEL", captured_at="2026-05-10T09:00:00+00:00"),
    }
    with server.db.write() as tx:
        add_server_event(tx, ids["klo_feb"], EventKind.FIXED, note="Sanerat")
    tracking.merge(server.db, ids["bel_mar"], ids["bel_jan"], actor="user:test", event_id=new_id())
    return ids


def ids_of(items: list[dict[str, Any]], names: dict[str, str]) -> list[str]:
    by_id = {v: k for k, v in names.items()}
    return [by_id[i["service_request_id"]] for i in items]


@pytest.mark.parametrize("fmt", ["json", "xml"])
def test_every_request_filter(server: Server, key: str, five: dict[str, str], fmt: str) -> None:
    def ask(**params: Any) -> list[str]:
        return ids_of(get(server, "requests", fmt, api_key=key, **params), five)

    assert ask() == ["bel_may", "klo_apr", "bel_mar", "klo_feb", "bel_jan"]  # newest first
    # service_request_id (a comma list) overrides every other filter, as the standard says
    both = f"{five['klo_apr']}, {five['bel_jan']}"
    assert ask(service_request_id=both, service_code="KLO", status="closed") == [
        "klo_apr",
        "bel_jan",
    ]
    assert ask(service_code="KLO") == ["klo_apr", "klo_feb"]
    assert ask(service_code="bel,klo") == ["bel_may", "klo_apr", "bel_mar", "klo_feb", "bel_jan"]
    # start_date and end_date: W3C with a zone (inclusive), or a bare Swedish date
    assert ask(start_date="2026-02-10T10:00:00+01:00", end_date="2026-04-10T09:00:00Z") == [
        "klo_apr",
        "bel_mar",
        "klo_feb",
    ]
    assert ask(start_date="2026-02-10T10:00:01+01:00") == ["bel_may", "klo_apr", "bel_mar"]
    assert ask(start_date="2026-03-01", end_date="2026-04-10") == ["klo_apr", "bel_mar"]
    assert ask(end_date="2026-02-10T09:00:00 00:00") == ["klo_feb", "bel_jan"]  # '+' as a space
    # status: open, closed (fixed, and the merged duplicate), or both
    assert ask(status="open") == ["bel_may", "klo_apr", "bel_jan"]
    assert ask(status="closed") == ["bel_mar", "klo_feb"]
    assert len(ask(status="open,closed")) == 5
    assert ask(status="open", service_code="BEL", start_date="2026-02-01") == ["bel_may"]

    closed = {
        r["service_request_id"]: r
        for r in get(server, "requests", fmt, api_key=key, status="closed")
    }
    merged, fixed = closed[five["bel_mar"]], closed[five["klo_feb"]]
    assert merged["status"] == "closed"
    assert merged["extended_attributes"]["extended_status"] == "duplicate"
    assert merged["extended_attributes"]["merged_into"] == five["bel_jan"]
    assert fixed["extended_attributes"]["extended_status"] == "fixed"
    assert fixed["status_notes"] == "Åtgärdat: Sanerat"


@pytest.mark.parametrize(
    ("params", "says"),
    [
        ({"status": "pending"}, "status: open or closed"),
        ({"service_code": "XYZ"}, "XYZ is not a service"),
        ({"start_date": "last tuesday"}, "start_date: use W3C form"),
        ({"start_date": "2026-02-10T10:00:00"}, "start_date: give the time zone"),
        ({"start_date": "2026-03-01", "end_date": "2026-02-01"}, "start_date is after end_date"),
        ({"page_size": "0"}, "page_size: a whole number from 1 to 1000"),
        ({"page_size": "5000"}, "page_size: a whole number from 1 to 1000"),
        ({"page": "x"}, "page: a whole number"),
    ],
)
def test_unusable_filters_are_400_naming_the_parameter(
    server: Server, key: str, params: dict[str, str], says: str
) -> None:
    assert says in refused(server, "requests", 400, "xml", api_key=key, **params)


def test_pages_follow_the_link_and_never_overlap(
    server: Server, key: str, five: dict[str, str]
) -> None:
    seen: list[str] = []
    url = f"{BASE}/requests.json?page_size=2"
    while url:
        response = server.client.get(url, params={"api_key": key})
        assert response.status_code == 200
        seen += [r["service_request_id"] for r in response.json()]
        link = response.headers.get("link")
        if link:
            assert "api_key" not in link  # the key is never echoed into a URL
            url = link[1 : link.index(">")]
            assert parse_qs(urlsplit(url).query)["page"] in (["2"], ["3"])
        else:
            url = ""
    assert seen == [r["service_request_id"] for r in get(server, "requests", api_key=key)]
    assert len(seen) == len(set(seen)) == 5
    assert len(get(server, "requests", api_key=key, max_requests=3)) == 3  # FixMyStreet's name


# ---- updates: GET -----------------------------------------------------------------------------


@pytest.mark.parametrize("fmt", ["json", "xml"])
def test_events_are_listed_as_updates(server: Server, phone: Device, key: str, fmt: str) -> None:
    fid = push(server, phone)
    with server.db.write() as tx:
        add_server_event(tx, fid, EventKind.SENT, at=utcnow())
        add_server_event(
            tx, fid, EventKind.PLANNED, note="2027-01-10: byter armaturen", at=utcnow()
        )
    updates = get(server, "servicerequestupdates", fmt, api_key=key)
    assert [list(u) for u in updates] == [[*UPDATE_FIELDS, "external_status_code"]] * 3
    planned, sent, received = updates
    assert planned["service_request_id"] == fid
    assert planned["status"] == "action_scheduled"
    assert planned["external_status_code"] == "planned"
    assert planned["description"] == "2027-01-10: byter armaturen"
    assert text(planned["updated_datetime"]).endswith(("+01:00", "+02:00"))  # type: ignore[union-attr]
    assert sent["status"] == received["status"] == "open"
    assert sent["description"] == "Skickat till ägaren"  # no note: the status says it
    assert len({u["update_id"] for u in updates}) == 3
    assert get(server, "servicerequestupdates", fmt, api_key=key, start_date="2099-01-01") == []
    assert len(get(server, "servicerequestupdates", fmt, api_key=key, end_date="2099-01-01")) == 3


# ---- updates: POST ----------------------------------------------------------------------------


def update_form(key: str, fid: str, **changes: str) -> dict[str, str]:
    """A form as FixMyStreet's Open311 client sends one (with names that must not be kept)."""
    return {
        "api_key": key,
        "service_request_id": fid,
        "update_id": "MNT-4711",
        "status": "ACTION_SCHEDULED",
        "updated_datetime": "2026-11-20T10:15:00+01:00",
        "description": "Elektriker bokad vecka 48",
        "first_name": "Bertil",
        "last_name": "Berg",
        "email": "bertil.berg@mimer.example",
        "phone": "070-1234567",
        "jurisdiction_id": "orebro",
        **changes,
    }


@pytest.mark.parametrize("fmt", ["json", "xml"])
def test_an_update_posted_twice_counts_once(
    server: Server, phone: Device, key: str, fmt: str
) -> None:
    fid = push(server, phone)
    first = post(server, fmt, **update_form(key, fid))
    second = post(server, fmt, **update_form(key, fid))
    assert first.status_code == second.status_code == 200
    assert first.content == second.content  # the same answer
    (update,) = parse(first.content, fmt, "servicerequestupdates")
    assert update["service_request_id"] == fid
    assert update["status"] == "action_scheduled"
    assert update["updated_datetime"] == "2026-11-20T10:15:00+01:00"
    assert update["description"] == "Elektriker bokad vecka 48"
    assert open311_events(server, fid) == [
        ("planned", "Elektriker bokad vecka 48", "open311:Kommunens ärendesystem")
    ]
    assert status_of(server, fid) == "planned"
    (row,) = server.rows("SELECT update_id, event_id FROM open311_updates")
    assert row == ("MNT-4711", update["update_id"])
    listed = get(server, "servicerequestupdates", fmt, api_key=key)
    assert update["update_id"] in [u["update_id"] for u in listed]  # what GET lists
    dump = "\n".join(server.db.conn().iterdump())
    assert "Bertil" not in dump and "bertil.berg" not in dump and "070-1234567" not in dump


@pytest.mark.parametrize("fmt", ["json", "xml"])
def test_reusing_an_update_id_for_other_content_is_refused(
    server: Server, phone: Device, key: str, fmt: str
) -> None:
    fid = push(server, phone)
    assert post(server, fmt, **update_form(key, fid)).status_code == 200
    changed = post(server, fmt, **update_form(key, fid, description="Något annat"))
    assert changed.status_code == 409
    assert (
        "MNT-4711 was already posted with other content" in errors(changed, fmt)[0]["description"]
    )
    assert len(open311_events(server, fid)) == 1
    # another key may use the same update_id: ids are its own
    other = open311.create_api_key(server.db, "Bostadsbolagets system")[1]
    assert (
        post(server, fmt, **update_form(other, fid, description="Något annat")).status_code == 200
    )
    assert len(open311_events(server, fid)) == 2


@pytest.mark.parametrize(
    ("posted", "kind", "note", "status"),
    [
        ("INVESTIGATING", "acknowledged", "Text", "acknowledged"),
        ("in_progress", "acknowledged", "[IN_PROGRESS] Text", "acknowledged"),
        ("ACTION_SCHEDULED", "planned", "Text", "planned"),
        ("FIXED", "fixed", "Text", "fixed"),
        ("CLOSED", "fixed", "[CLOSED] Text", "fixed"),
        ("NOT_COUNCILS_RESPONSIBILITY", "not_ours", "Text", "not_ours"),
        ("NO_FURTHER_ACTION", "not_ours", "[NO_FURTHER_ACTION] Text", "not_ours"),
        ("OPEN", "comment", "Text", "received"),
        ("DUPLICATE", "comment", "[DUPLICATE] Text", "received"),
        ("INTERNAL_REFERRAL", "comment", "[INTERNAL_REFERRAL] Text", "received"),
    ],
)
def test_posted_statuses_become_events(
    server: Server, phone: Device, posted: str, kind: str, note: str, status: str
) -> None:
    owner = add_owner(server, "Bostads AB Mimer")
    owner_key = open311.create_api_key(server.db, "Mimer", owner)[1]
    fid = push(server, phone)
    assign(server, fid, owner)
    response = post(server, **update_form(owner_key, fid, status=posted, description="Text"))
    assert response.status_code == 200, response.text
    assert open311_events(server, fid) == [(kind, note, "open311:Mimer")]
    assert status_of(server, fid) == status
    (owner_now,) = server.rows("SELECT owner_id FROM assignments WHERE finding_id = ?", fid)[0]
    assert owner_now == (None if kind == "not_ours" else owner)  # not ours: back to triage
    # a retry of the same update, after the finding left this owner, still gets its answer
    assert (
        post(server, **update_form(owner_key, fid, status=posted, description="Text")).content
        == response.content
    )


def test_a_status_the_finding_cannot_take_is_kept_as_a_comment(
    server: Server, phone: Device, key: str
) -> None:
    fid = push(server, phone)
    for update_id, posted in [
        ("1", "FIXED"),
        ("2", "INVESTIGATING"),
        ("3", "FIXED"),
        ("4", "REOPEN"),
        ("5", "ACTION_SCHEDULED"),
    ]:
        form = update_form(key, fid, update_id=update_id, status=posted, description=posted)
        assert post(server, **form).status_code == 200
    assert [(k, n) for k, n, _ in open311_events(server, fid)] == [
        ("fixed", "FIXED"),
        ("comment", "[INVESTIGATING] INVESTIGATING"),
        ("comment", "[FIXED] FIXED"),
        ("reopened", "REOPEN"),
        ("planned", "ACTION_SCHEDULED"),
    ]
    assert status_of(server, fid) == "planned"


def test_a_media_url_is_kept_as_a_link_and_never_fetched(
    server: Server, phone: Device, key: str
) -> None:
    fid = push(server, phone)
    url = "https://drift.example.invalid/bilder/4711.jpg"  # .invalid: a fetch would fail
    assert post(server, **update_form(key, fid, status="FIXED", media_url=url)).status_code == 200
    assert open311_events(server, fid)[0][:2] == ("fixed", f"Elektriker bokad vecka 48\n{url}")


@pytest.mark.parametrize(
    ("changes", "says"),
    [
        ({"update_id": ""}, "update_id is required"),
        ({"update_id": "x" * 201}, "update_id: 200 characters at most"),
        ({"service_request_id": ""}, "service_request_id is required"),
        ({"status": "DONE_AND_DUSTED"}, "status: use one of OPEN, COMMENT"),
        ({"updated_datetime": "2026-11-20 10:15"}, "updated_datetime: give the time zone"),
        ({"updated_datetime": "2099-01-01T00:00:00Z"}, "more than a day in the future"),
        ({"description": "x" * 2001}, "description: 2000 characters at most"),
        ({"media_url": "file:///etc/passwd"}, "media_url: an http(s) URL"),
    ],
)
def test_unusable_update_forms_are_400(
    server: Server, phone: Device, key: str, changes: dict[str, str], says: str
) -> None:
    fid = push(server, phone)
    response = post(server, "xml", **update_form(key, fid, **changes))
    assert response.status_code == 400
    assert says in errors(response, "xml")[0]["description"]
    assert open311_events(server, fid) == []


def test_a_huge_form_is_refused_before_it_is_parsed(
    server: Server, phone: Device, key: str
) -> None:
    fid = push(server, phone)
    response = post(server, **update_form(key, fid, padding="x" * 100_000))
    assert response.status_code == 400
    assert "larger than 64 KiB" in errors(response, "json")[0]["description"]


def test_an_update_for_an_unknown_request_is_404(server: Server, key: str) -> None:
    response = post(server, **update_form(key, new_id()))
    assert response.status_code == 404
    assert server.rows("SELECT count(*) FROM open311_updates") == [(0,)]


# ---- api keys ---------------------------------------------------------------------------------


def test_api_keys_are_stored_as_hashes_listed_and_revoked(server: Server) -> None:
    owner = add_owner(server, "Bostads AB Mimer")
    key_id, key = open311.create_api_key(server.db, "  Mimer   drift ", owner)
    assert key.startswith("o311_") and len(key) > 40
    (stored,) = server.rows("SELECT key_hash, name, owner_id FROM api_keys WHERE id = ?", key_id)
    assert stored == (hashlib.sha256(key.encode()).hexdigest(), "Mimer drift", owner)
    assert key not in "\n".join(server.db.conn().iterdump())
    with pytest.raises(open311.InvalidValue, match="exists"):
        open311.create_api_key(server.db, "mimer DRIFT")
    with pytest.raises(open311.InvalidValue, match="name"):
        open311.create_api_key(server.db, "   ")
    with pytest.raises(open311.UnknownOwner):
        open311.create_api_key(server.db, "Ingen", owner_id=new_id())
    (listed,) = open311.list_api_keys(server.db)
    assert (listed.id, listed.name, listed.owner_name, listed.revoked_at) == (
        key_id,
        "Mimer drift",
        "Bostads AB Mimer",
        None,
    )
    assert open311.revoke_api_key(server.db, key_id) is True
    assert open311.revoke_api_key(server.db, key_id) is False
    assert open311.list_api_keys(server.db)[0].revoked_at is not None
    with pytest.raises(open311.UnknownApiKey):
        open311.revoke_api_key(server.db, new_id())
    open311.create_api_key(server.db, "Mimer drift")  # the name is free again once revoked


@pytest.mark.parametrize("fmt", ["json", "xml"])
def test_no_wrong_or_revoked_key_is_refused(server: Server, phone: Device, fmt: str) -> None:
    fid = push(server, phone)
    key_id, key = open311.create_api_key(server.db, "Kommunen")
    for resource in ("services", "requests", f"requests/{fid}", "servicerequestupdates"):
        assert "needs an api_key" in refused(server, resource, 403, fmt)
        assert "not known" in refused(server, resource, 403, fmt, api_key="o311_guess")
    assert (
        "needs an api_key"
        in errors(post(server, fmt, **update_form("", fid)), fmt)[0]["description"]
    )
    assert post(server, fmt, **update_form("o311_guess", fid)).status_code == 403
    assert get(server, "requests", fmt, api_key=key)
    open311.revoke_api_key(server.db, key_id)
    assert "revoked" in refused(server, "requests", 403, fmt, api_key=key)
    response = post(server, fmt, **update_form(key, fid))
    assert response.status_code == 403 and "revoked" in errors(response, fmt)[0]["description"]
    assert open311_events(server, fid) == []


def test_an_owner_key_sees_and_answers_only_its_own_findings(server: Server, phone: Device) -> None:
    mimer, hsb = add_owner(server, "Bostads AB Mimer"), add_owner(server, "HSB Örebro")
    mine, theirs, unrouted = push(server, phone), push(server, phone), push(server, phone)
    assign(server, mine, mimer)
    assign(server, theirs, hsb)
    mimer_key = open311.create_api_key(server.db, "Mimer", mimer)[1]

    assert [r["service_request_id"] for r in get(server, "requests", api_key=mimer_key)] == [mine]
    assert {
        u["service_request_id"] for u in get(server, "servicerequestupdates", api_key=mimer_key)
    } == {mine}
    # another owner's finding answers exactly as one that does not exist
    missing = new_id()
    for fid in (theirs, unrouted):
        for resource in (f"requests/{fid}", f"requests/{missing}"):
            response = server.client.get(f"{BASE}/{resource}.json", params={"api_key": mimer_key})
            assert response.status_code == 404
        answer = post(server, **update_form(mimer_key, fid, update_id=fid))
        unknown = post(server, **update_form(mimer_key, missing, update_id=missing))
        assert answer.status_code == unknown.status_code == 404
        assert answer.text.replace(fid, "ID") == unknown.text.replace(missing, "ID")
        assert open311_events(server, fid) == []
    assert post(server, **update_form(mimer_key, mine)).status_code == 200
    # the municipality's key (no owner) reads and answers every finding
    municipality = open311.create_api_key(server.db, "Kommunen")[1]
    assert len(get(server, "requests", api_key=municipality)) == 3
    assert post(server, **update_form(municipality, theirs, status="FIXED")).status_code == 200
    assert status_of(server, theirs) == "fixed"


# ---- the public view --------------------------------------------------------------------------


@pytest.mark.parametrize("fmt", ["json", "xml"])
def test_the_public_view_has_no_personal_data(public: Server, fmt: str) -> None:
    phone = public.enrol("Annas telefon")
    owner = add_owner(public, "Anders Andersson")  # a private property owner is a person
    municipality = add_owner(public, "Örebro kommun", "municipality")
    jpeg = make_jpeg(seed=5)
    fid = push(public, phone, jpeg=jpeg, note=NOTE, latitude=59.27431234, longitude=15.20664567)
    by_municipality = push(public, phone, category="KLO", note="Klotter, Bertil vet vem")
    disorder = push(public, phone, category="ORD", note="Langning vid kiosken")
    assign(public, fid, owner)
    assign(public, by_municipality, municipality)
    assign(public, disorder, municipality)
    key = open311.create_api_key(public.db, "Mimer", owner)[1]
    for update_id, posted, said in [
        ("1", "ACTION_SCHEDULED", "Bertil Berg byter lampan"),
        ("2", "OPEN", "Bertil ringer Anna"),
    ]:
        form = update_form(
            key, fid, update_id=update_id, status=posted, description=said, updated_datetime=""
        )
        assert post(public, **form).status_code == 200

    assert "ORD" not in [s["service_code"] for s in get(public, "services", fmt)]
    requests = {r["service_request_id"]: r for r in get(public, "requests", fmt)}
    assert set(requests) == {fid, by_municipality}  # no disorder in public
    mine = requests[fid]
    assert list(mine) == [*REQUEST_FIELDS, "extended_attributes"]
    assert mine["description"] == "Belysning. Allvar: hög."
    assert mine["status_notes"] == "Planerat"
    assert text(mine["media_url"]) is None
    assert text(mine["agency_responsible"]) is None  # a property owner may be a person
    assert requests[by_municipality]["agency_responsible"] == "Örebro kommun"
    assert text(mine["lat"]) == "59.27431" and text(mine["long"]) == "15.20665"
    (single,) = get(public, f"requests/{fid}", fmt)
    assert single == mine
    assert "no service request" in refused(public, f"requests/{disorder}", 404, fmt)

    updates = get(public, "servicerequestupdates", fmt)
    assert {u["service_request_id"] for u in updates} == {fid, by_municipality}
    assert [u["description"] for u in updates if u["service_request_id"] == fid] == [
        "Planerat",
        "Mottaget",
    ]  # status only: no owner's note, no comment

    bodies = b"".join(
        public.client.get(f"{BASE}/{resource}.{fmt}").content
        for resource in ("services", "requests", f"requests/{fid}", "servicerequestupdates")
    ).decode()
    for personal in (
        "Anna",
        "Bertil",
        "Anders",
        "@example.se",
        "telefon",
        "open311:",
        "Langning",
        "/media/",
    ):
        assert personal not in bodies
    # reading is open, writing is not; and a wrong key is an error, not the public view
    assert post(public, fmt, **update_form("", fid, update_id="3")).status_code == 403
    assert "not known" in refused(public, "requests", 403, fmt, api_key="o311_guess")
    full = get(public, f"requests/{fid}", fmt, api_key=key)[0]
    assert NOTE in full["description"] and text(full["media_url"])


# ---- photos -----------------------------------------------------------------------------------


def test_media_url_serves_the_photo_without_metadata(
    server: Server, phone: Device, key: str
) -> None:
    jpeg = jpeg_with_metadata()
    fid = push(server, phone, jpeg=jpeg, size=(64, 48))
    (request,) = get(server, f"requests/{fid}", api_key=key)
    response = server.client.get(request["media_url"])  # signed: no api_key needed
    assert response.status_code == 200 and response.headers["content-type"] == "image/jpeg"
    served = Image.open(io.BytesIO(response.content))
    assert served.format == "JPEG"
    assert dict(served.getexif()) == {}
    assert "comment" not in served.info and "exif" not in served.info
    assert b"Anna" not in response.content and b"Camera Maker" not in response.content
    assert served.tobytes() == Image.open(io.BytesIO(jpeg)).tobytes()  # the picture, unchanged
    # with the key instead of a signature, the same bytes
    path = urlsplit(request["media_url"]).path
    with_key = server.client.get(path, params={"api_key": key})
    assert with_key.content == response.content


def test_photos_that_are_not_visible_are_404(server: Server, phone: Device, key: str) -> None:
    mimer, hsb = add_owner(server, "Mimer"), add_owner(server, "HSB")
    mine_jpeg, theirs_jpeg = make_jpeg(seed=11), make_jpeg(seed=12)
    mine, theirs = push(server, phone, jpeg=mine_jpeg), push(server, phone, jpeg=theirs_jpeg)
    assign(server, mine, mimer)
    assign(server, theirs, hsb)
    key_id, mimer_key = open311.create_api_key(server.db, "Mimer", mimer)
    (request,) = get(server, "requests", api_key=mimer_key)
    url = request["media_url"]
    assert server.client.get(url).status_code == 200

    def media(fid: str, photo: str, **params: str) -> int:
        response = server.client.get(f"{BASE}/media/{fid}/{photo}.jpg", params=params)
        if response.status_code != 200:
            assert errors(response, "json")[0]["code"] == str(response.status_code)
        return response.status_code

    assert media(theirs, sha(theirs_jpeg), api_key=mimer_key) == 404  # another owner's
    assert media(mine, sha(theirs_jpeg), api_key=mimer_key) == 404  # not this finding's photo
    assert media(mine, sha(mine_jpeg), api_key=mimer_key) == 200
    assert media(mine, "0" * 64, api_key=key) == 404
    signature = parse_qs(urlsplit(url).query)
    assert media(theirs, sha(theirs_jpeg), key=key_id, sig=signature["sig"][0]) == 404
    assert media(mine, sha(mine_jpeg), key=key_id, sig="0" * 32) == 404
    assert media(mine, sha(mine_jpeg)) == 403  # no key, no public view
    open311.revoke_api_key(server.db, key_id)
    assert server.client.get(url).status_code == 404  # revoking ends the links too


def test_the_public_view_serves_no_photos(public: Server) -> None:
    phone = public.enrol()
    jpeg = make_jpeg(seed=21)
    fid = push(public, phone, jpeg=jpeg)
    assert public.client.get(f"{BASE}/media/{fid}/{sha(jpeg)}.jpg").status_code == 404


def test_an_owners_photo_of_the_fix_is_the_updates_media(
    server: Server, phone: Device, key: str
) -> None:
    fid = push(server, phone)
    fix = make_jpeg(seed=31)
    # The owner's answer is made on the server (a device may not push `fixed`), its photo stored
    # first, as the owner page does.
    blobs = server.services.blobs
    blobs.append(sha(fix), 0, [fix])
    blobs.finalize(sha(fix))
    record_stored(server.db, blobs, sha(fix))
    event_id = new_id()
    with server.db.write() as tx:
        add_server_event(tx, fid, EventKind.FIXED, actor="owner:x", note="Lagat",
                         event_id=event_id, photos=[Photo(**photo_json(fix))])  # fmt: skip
    update = next(
        u
        for u in get(server, "servicerequestupdates", "xml", api_key=key)
        if u["update_id"] == event_id
    )
    assert update["status"] == "fixed" and update["description"] == "Lagat"
    photo = server.client.get(update["media_url"])
    assert photo.status_code == 200
    assert Image.open(io.BytesIO(photo.content)).tobytes() == Image.open(io.BytesIO(fix)).tobytes()


def test_a_note_with_control_characters_still_makes_valid_xml(
    server: Server, phone: Device, key: str
) -> None:
    push(server, phone, note="Lampa\x07 trasig\x1b")
    (request,) = get(server, "requests", "xml", api_key=key)
    assert request["description"] == "Belysning. Allvar: hög. Lampa trasig"


def test_an_owner_scope_answers_the_same_whichever_query_plan(
    server: Server, phone: Device
) -> None:
    # A big owner is read in time order, a small one through its assignments (see _owner_clause):
    # with page_size=1 this owner of 2 of 3 findings counts as big, with 1000 as small.
    mimer = add_owner(server, "Mimer")
    first, _other, second = push(server, phone), push(server, phone), push(server, phone)
    assign(server, first, mimer)
    assign(server, second, mimer)
    key = open311.create_api_key(server.db, "Mimer", mimer)[1]
    small = [r["service_request_id"] for r in get(server, "requests", api_key=key)]
    big = [
        r["service_request_id"]
        for page in (1, 2, 3)
        for r in get(server, "requests", api_key=key, page_size=1, page=page)
    ]
    assert small == big == [second, first]
    updates = [u["update_id"] for u in get(server, "servicerequestupdates", api_key=key)]
    paged = [
        u["update_id"]
        for page in (1, 2, 3)
        for u in get(server, "servicerequestupdates", api_key=key, page_size=1, page=page)
    ]
    assert updates == paged and len(updates) == 2


def test_the_same_update_posted_at_once_from_several_threads_counts_once(
    server: Server, phone: Device, key: str
) -> None:
    fid = push(server, phone)
    with ThreadPoolExecutor(max_workers=5) as pool:
        answers = list(pool.map(lambda _: post(server, **update_form(key, fid)), range(5)))
    assert {a.status_code for a in answers} == {200}
    assert len({a.content for a in answers}) == 1
    assert len(open311_events(server, fid)) == 1


def test_api_keys_and_photo_signatures_never_reach_the_access_log() -> None:
    import logging

    from sync_server.api.redaction import RedactOwnerTokens

    path = "/open311/v2/requests.json?status=open&api_key=wa311_secret&page=2"
    record = logging.LogRecord(
        "uvicorn.access",
        logging.INFO,
        __file__,
        1,
        '%s - "%s %s HTTP/%s" %d',
        ("127.0.0.1:5", "GET", path, "1.1", 200),
        None,
    )
    assert RedactOwnerTokens().filter(record)
    message = record.getMessage()
    assert "wa311_secret" not in message and "api_key=[redacted]&page=2" in message
    signed = "/open311/v2/media/f/s.jpg?key=k1&sig=0123abcd"
    record.args = ("127.0.0.1:5", "GET", signed, "1.1", 200)
    assert RedactOwnerTokens().filter(record)
    assert "0123abcd" not in record.getMessage() and "key=k1&sig=[redacted]" in record.getMessage()


def test_an_update_dated_before_the_finding_is_refused(
    server: Server, phone: Device, key: str
) -> None:
    fid = push(server, phone)
    answer = post(
        server,
        **update_form(key, fid, status="FIXED", updated_datetime="1990-01-01T10:00:00+01:00"),
    )
    assert answer.status_code == 400 and "between 2000 and 2100" in answer.text
    answer = post(
        server,
        **update_form(key, fid, status="FIXED", updated_datetime="2026-11-01T10:00:00+01:00"),
    )
    assert answer.status_code == 400 and "before the finding was reported" in answer.text
    assert open311_events(server, fid) == []  # nothing recorded


@pytest.mark.parametrize(
    "params",
    [
        {"start_date": "0001-01-01"},
        {"end_date": "9999-12-31"},
        {"start_date": "0001-01-01T00:00:00+01:00"},
    ],
)
def test_dates_out_of_range_are_refused_in_open311_form(
    server: Server, key: str, params: dict[str, str]
) -> None:
    for resource in ("requests", "servicerequestupdates"):
        text = refused(server, resource, 400, api_key=key, **params)
        assert "between 2000 and 2100" in text


# ---- photo links expire -----------------------------------------------------------------------


def mac(key: str, message: str) -> str:
    """The link's HMAC as a client holding the key could compute it: keyed by sha256(key)."""
    digest = hmac.new(hashlib.sha256(key.encode()).digest(), message.encode(), "sha256")
    return digest.hexdigest()[:32]


def link(
    key: str, key_id: str, fid: str, photo: str, expires: int, signed: int | None = None
) -> str:
    """A media link valid until `expires` (signed for `signed`, if another time: a forgery)."""
    signature = mac(key, f"{fid}/{photo}/{expires if signed is None else signed}")
    return f"{BASE}/media/{fid}/{photo}.jpg?key={key_id}&sig={expires}.{signature}"


def test_a_photo_link_expires_after_a_week_with_410(server: Server, phone: Device) -> None:
    jpeg = make_jpeg(seed=31)
    fid, photo = push(server, phone, jpeg=jpeg), sha(jpeg)
    key_id, key = open311.create_api_key(server.db, "Kommunens ärendesystem")
    (request,) = get(server, f"requests/{fid}", api_key=key)
    [sig] = parse_qs(urlsplit(request["media_url"]).query)["sig"]
    days = (int(sig.partition(".")[0]) - time.time()) / 86400
    assert 7 <= days <= 7 + 1 / 24 + 0.01  # a week, rounded up to the hour
    assert server.client.get(request["media_url"]).status_code == 200

    past = int(time.time()) - 60
    response = server.client.get(link(key, key_id, fid, photo, past))
    assert response.status_code == 410
    [error] = errors(response, "json")
    assert "expired" in error["description"] and "read the request again" in error["description"]
    # A later expiry written into a link without the key to sign it: not a link at all.
    forged = link(key, key_id, fid, photo, past + 10**6, signed=past)
    assert server.client.get(forged).status_code == 404
    # A link of the old form (no expiry), genuinely signed: refused, and told why.
    old = f"{BASE}/media/{fid}/{photo}.jpg?key={key_id}&sig={mac(key, f'{fid}/{photo}')}"
    response = server.client.get(old)
    assert response.status_code == 410
    assert "before photo links expired" in errors(response, "json")[0]["description"]


def test_photo_links_on_a_real_server_expire(tmp_path: Any) -> None:
    """Against `walkaudit-server serve` on loopback: the link works, an expired one is 410."""
    served = ServerProcess(tmp_path / "server", env={"WALKAUDIT_REPORT_INTERVAL_S": "0"}).start()
    try:
        enrolled = httpx.post(f"{served.url}/v1/enrol", json={"code": served.enrol_code()})
        headers = {"Authorization": f"Bearer {enrolled.json()['token']}"}
        jpeg = make_jpeg(seed=32)
        finding = finding_json(photos=[photo_json(jpeg)], captured_at="2026-11-10T18:00:00+01:00")
        batch = {"findings": [finding]}
        pushed = httpx.post(f"{served.url}/v1/sync/push", json=batch, headers=headers)
        assert pushed.status_code == 200, pushed.text
        chunk = {"Content-Range": f"bytes 0-{len(jpeg) - 1}/{len(jpeg)}"}
        put = httpx.put(
            f"{served.url}/v1/photos/{sha(jpeg)}", content=jpeg, headers=headers | chunk
        )
        assert put.status_code == 201, put.text
        added = served.cli("api-keys", "add", "Kommunens ärendesystem")
        assert added.code == 0, added.err
        key = added.out.strip()
        [listed] = json.loads(served.cli("api-keys", "list", "--json").out)
        fid = finding["id"]
        answer = httpx.get(f"{served.url}{BASE}/requests/{fid}.json", params={"api_key": key})
        [request] = answer.json()
        assert httpx.get(request["media_url"]).content == jpeg  # noise: no metadata to strip

        expired = httpx.get(served.url + link(key, listed["id"], fid, sha(jpeg), int(time.time())))
        assert expired.status_code == 410
        assert "expired" in expired.json()[0]["description"]
    finally:
        served.stop()

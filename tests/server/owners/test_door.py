"""Validation at the door, and a device that can do only what a walker does (issue 10), in-process.

Times from devices lie between 2000-01-01 and a day after now; every integer is bounded (422,
never 500); a photo is stored only once it decodes to its end (415 otherwise, naming it); a device
pushes only a walker's event kinds (403 otherwise); disorder findings (ORD) reach only devices
enrolled for the police/EST. Each refusal of a batch stores nothing of it.
The same cases against a real server on loopback: test_door_live.py.
"""

from __future__ import annotations

import io
import logging
import random
import re
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from PIL import Image

from sync_server.field import devices
from sync_server.workspace import followups
from tests.server.conftest import (
    CHEAP_HASHER,
    Device,
    Server,
    event_json,
    finding_json,
    make_jpeg,
    photo_json,
    sha,
)
from tests.server.workspace_support import Staff
from walkaudit import remote
from walkaudit.model import DEVICE_EVENT_KINDS, EventKind, new_id, utcnow

FAR_FUTURE = "9999-12-31T23:59:59+14:00"
_CODE = re.compile(r'id="code">([2-9A-HJKMNP-Z]{4}-[2-9A-HJKMNP-Z]{4})<')


def push(server: Server, device: Device, **batch: Any) -> Any:
    return server.client.post("/v1/sync/push", json=batch, headers=device.headers)


def counts(server: Server) -> tuple[int, ...]:
    """Rows of everything a push can write: nothing may change when a batch is refused."""
    tables = ("walks", "findings", "finding_revisions", "events", "track_points", "photo_refs")
    return tuple(server.rows(f"SELECT count(*) FROM {t}")[0][0] for t in tables)  # noqa: S608


def walk_json(**overrides: Any) -> dict[str, Any]:
    return {"id": new_id(), "name": "Kvällsvandring", "area": "Vivalla",
            "started_at": utcnow().isoformat(), **overrides}  # fmt: skip


def no_tracebacks(caplog: pytest.LogCaptureFixture) -> None:
    problems = [r for r in caplog.records if r.levelno >= logging.ERROR or r.exc_info]
    assert not problems, [r.getMessage() for r in problems]


# ---- 1: times within 2000-01-01 … now + 1 day ---------------------------------------------------


def test_a_far_future_finding_is_refused_naming_it_and_nothing_of_the_batch_is_stored(
    server: Server, device: Device
) -> None:
    walk = walk_json()
    good = finding_json(walk_id=walk["id"])
    poisoned = finding_json(walk_id=walk["id"], captured_at=FAR_FUTURE)
    before = counts(server)
    response = push(server, device, walks=[walk], findings=[good, poisoned])
    assert response.status_code == 422
    tomorrow = (datetime.now(UTC) + timedelta(days=1)).date().isoformat()
    assert response.json()["detail"] == (
        f"finding {poisoned['id']} captured_at: 9999-12-31T09:59:59Z is not a plausible time "
        f"(must be between 2000-01-01 and {tomorrow}; check the device's date and time); "
        "nothing of this batch was stored"
    )
    assert counts(server) == before
    # Corrected on the phone, the same batch goes through.
    fixed = poisoned | {"captured_at": utcnow().isoformat()}
    assert push(server, device, walks=[walk], findings=[good, fixed]).status_code == 200


@pytest.mark.parametrize(
    ("where", "build"),
    [
        ("walk {walk} started_at", lambda w, f, t: {"walks": [w | {"started_at": t}]}),
        ("walk {walk} ended_at", lambda w, f, t: {"walks": [w | {"ended_at": t}]}),
        (
            "event {event} at",
            lambda w, f, t: {
                "findings": [f],
                "events": [event_json(f["id"], "comment", at=t, id="{event}")],
            },
        ),
        (
            "track point of walk {walk} t",
            lambda w, f, t: {
                "walks": [w],
                "track": [{"walk_id": w["id"], "t": t, "latitude": 59.27, "longitude": 15.2}],
            },
        ),
    ],
)
@pytest.mark.parametrize("when", ["1999-12-31T23:59:59+00:00", "2042-01-01T00:00:00+01:00"])
def test_every_device_time_is_checked_and_named(
    server: Server, device: Device, where: str, build: Any, when: str
) -> None:
    walk, finding, event_id = walk_json(), finding_json(), new_id()
    batch = build(walk, finding, when)
    for event in batch.get("events", []):
        event["id"] = event_id
    response = push(server, device, **batch)
    assert response.status_code == 422, response.text
    detail = response.json()["detail"]
    assert detail.startswith(where.format(walk=walk["id"], event=event_id) + ": ")
    assert "is not a plausible time" in detail and "nothing of this batch was stored" in detail
    assert counts(server) == (0, 0, 0, 0, 0, 0)


def test_the_window_edges_and_a_phone_clock_a_little_ahead(server: Server, device: Device) -> None:
    ahead = (datetime.now(UTC) + timedelta(hours=23)).isoformat()
    receipt = server.push(device, findings=[finding_json(captured_at="2000-01-01T00:00:00Z"),
                                            finding_json(captured_at=ahead)])  # fmt: skip
    assert [r["result"] for r in receipt["records"]] == ["created", "created"]
    too_far = (datetime.now(UTC) + timedelta(hours=25)).isoformat()
    assert push(server, device, findings=[finding_json(captured_at=too_far)]).status_code == 422


def test_a_time_beyond_the_calendar_in_utc_is_422_not_500(
    server: Server, device: Device, caplog: pytest.LogCaptureFixture
) -> None:
    # 9999-12-31T23:59:59-14:00 is in the year 10000 in UTC: it used to overflow (500).
    for when in ("9999-12-31T23:59:59-14:00", "0001-01-01T00:00:00+14:00"):
        response = push(server, device, findings=[finding_json(captured_at=when)])
        assert response.status_code == 422
        assert "outside the range of dates" in response.json()["detail"]
    no_tracebacks(caplog)


def test_the_phone_can_still_build_a_finding_with_a_wrong_clock() -> None:
    # The window is the server's door, not the shared model: the phone must keep its finding.
    from walkaudit.model import Finding

    finding = Finding.model_validate(finding_json(captured_at=FAR_FUTURE))
    assert finding.captured_at.year == 9999


# ---- 5: every integer bounded -------------------------------------------------------------------


@pytest.mark.parametrize(
    ("path", "field"),
    [
        ("/v1/sync/pull?since=9223372036854775808", "since"),
        ("/v1/sync/pull?limit=9223372036854775808", "limit"),
        ("/v1/findings/open?area=Vivalla&limit=9223372036854775808", "limit"),
        ("/v1/followups?limit=9223372036854775808", "limit"),
    ],
)
def test_huge_query_numbers_are_422_naming_the_parameter(
    server: Server, device: Device, caplog: pytest.LogCaptureFixture, path: str, field: str
) -> None:
    response = server.client.get(path, headers=device.headers)
    assert response.status_code == 422
    assert response.json()["detail"].startswith(f"{field}: must be ≤")
    no_tracebacks(caplog)


def test_the_largest_cursor_is_still_a_cursor(server: Server, device: Device) -> None:
    largest = 2**63 - 1
    response = server.client.get(f"/v1/sync/pull?since={largest}", headers=device.headers)
    assert response.status_code == 200
    assert response.json() == {"cursor": largest, "changes": [], "more": False}


JPEG = make_jpeg(320, 240, seed=11)


@pytest.mark.parametrize(
    ("change", "named"),
    [
        ({"revision": 2**63}, "findings[0].revision: must be ≤ 2147483647"),
        ({"photos": [photo_json(JPEG) | {"size": 2**63}]},
         "findings[0].photos[0].size: must be ≤ 2147483648"),
        ({"photos": [photo_json(JPEG, width=2**63)]},
         "findings[0].photos[0].width: must be ≤ 20000"),
        ({"photos": [photo_json(JPEG, height=20_001)]},
         "findings[0].photos[0].height: must be ≤ 20000 (got 20001)"),
    ],
)  # fmt: skip
def test_huge_numbers_in_a_push_are_422_naming_the_field(
    server: Server, device: Device, caplog: pytest.LogCaptureFixture, change: Any, named: str
) -> None:
    response = push(server, device, findings=[finding_json(**change)])
    assert response.status_code == 422
    assert response.json()["detail"].startswith(named)
    assert counts(server) == (0, 0, 0, 0, 0, 0)
    no_tracebacks(caplog)


def test_a_huge_protocol_number_is_422(server: Server, device: Device) -> None:
    response = push(server, device, protocol=2**63, findings=[finding_json()])
    assert response.status_code == 422 and response.json()["detail"].startswith("protocol: must")


def test_a_photo_above_the_servers_limit_is_refused_at_the_push(tmp_path: Any) -> None:
    from fastapi.testclient import TestClient

    from sync_server.app import create_app
    from sync_server.config import Settings

    app = create_app(Settings(data_dir=tmp_path, max_photo_bytes=10_000), hasher=CHEAP_HASHER)
    db = app.state.services.db
    _, token = devices.enrol(db, devices.create_enrol_code(db))
    finding = finding_json(photos=[photo_json(JPEG)])
    with TestClient(app) as client:
        response = client.post("/v1/sync/push", json={"findings": [finding]},
                               headers={"Authorization": f"Bearer {token}"})  # fmt: skip
    assert response.status_code == 422
    assert response.json()["detail"] == (
        f"finding {finding['id']} photos[0].size: {len(JPEG):,} bytes is more than the 10,000 "
        "bytes this server accepts per photo (shrink the photo); nothing of this batch was stored"
    )


# ---- 2: a photo is stored only once it decodes completely ---------------------------------------


def put_whole(server: Server, device: Device, data: bytes) -> Any:
    headers = device.headers | {"Content-Range": f"bytes 0-{len(data) - 1}/{len(data)}"}
    return server.client.put(f"/v1/photos/{sha(data)}", content=data, headers=headers)


def head(server: Server, device: Device, data: bytes) -> Any:
    return server.client.head(f"/v1/photos/{sha(data)}", headers=device.headers)


def garbage_body(jpeg: bytes) -> bytes:
    """The same headers (SOI … SOS), then random bytes where the picture's data was, then EOI."""
    sos = jpeg.index(b"\xff\xda")
    start = sos + 2 + int.from_bytes(jpeg[sos + 2 : sos + 4], "big")
    return jpeg[:start] + random.Random(3).randbytes(len(jpeg) - start - 2) + b"\xff\xd9"


@pytest.mark.parametrize(
    ("bad", "reason"),
    [
        (JPEG[: len(JPEG) // 2], "it does not decode to its end: image file is truncated"),
        # libjpeg decodes this one without an error (the picture data is all there): the
        # missing end marker is what shows that the file was cut.
        (JPEG[:-2], "it is cut off: it does not end with the JPEG end marker (FF D9)"),
        (garbage_body(JPEG), "it does not decode to its end: broken data stream"),
    ],
    ids=["half", "without-end-marker", "garbage-body"],
)
def test_a_photo_that_does_not_decode_is_415_naming_it_and_not_kept(
    server: Server, device: Device, bad: bytes, reason: str
) -> None:
    # The reporter's trick: the finding announces the sha256 of the broken bytes themselves.
    finding = finding_json(photos=[photo_json(bad)])
    server.push(device, findings=[finding])
    response = put_whole(server, device, bad)
    assert response.status_code == 415
    detail = response.json()["detail"]
    assert detail.startswith(f"photo {sha(bad)[:12]}… of finding {finding['id']} was refused (")
    assert reason in detail and "upload the complete JPEG again from offset 0" in detail
    assert response.headers["upload-offset"] == "0"
    assert not server.services.blobs.exists(sha(bad))
    assert server.rows("SELECT count(*) FROM photos") == [(0,)]
    state = head(server, device, bad)
    assert (state.headers["photo-state"], state.headers["upload-offset"]) == ("needed", "0")
    # Not marked stored: the same upload is checked again (and refused again), never "200 stored".
    assert put_whole(server, device, bad).status_code == 415


def test_a_png_is_415_saying_so(server: Server, device: Device) -> None:
    buffer = io.BytesIO()
    Image.new("RGB", (20, 20), "red").save(buffer, "PNG")
    png = buffer.getvalue()
    finding = finding_json(photos=[photo_json(png, 20, 20)])
    server.push(device, findings=[finding])
    response = put_whole(server, device, png)
    assert response.status_code == 415 and "it does not start like a JPEG" in response.text
    # With a JPEG's first bytes but a PNG inside, the decoder says what it is.
    disguised = b"\xff\xd8\xff" + png
    server.push(device, findings=[finding_json(photos=[photo_json(disguised, 20, 20)])])
    response = put_whole(server, device, disguised)
    assert response.status_code == 415 and "it is not an image" in response.text


def test_a_non_image_is_415_at_the_first_chunk_naming_its_finding(
    server: Server, device: Device
) -> None:
    text = "Det här är ingen bild, bara text.\n".encode() * 20
    finding = finding_json(photos=[photo_json(text)])
    server.push(device, findings=[finding])
    response = put_whole(server, device, text)
    assert response.status_code == 415
    assert response.json()["detail"] == (
        f"photo {sha(text)[:12]}… of finding {finding['id']} was refused (it does not start "
        "like a JPEG (FF D8 FF)); the server kept nothing of it — upload the complete JPEG "
        "again from offset 0"
    )
    assert head(server, device, text).headers["upload-offset"] == "0"


def test_an_event_photo_is_named_by_its_event(server: Server, device: Device) -> None:
    finding = finding_json()
    bad = JPEG[:1000]
    event = event_json(finding["id"], "still_there", photos=[photo_json(bad)])
    server.push(device, findings=[finding], events=[event])
    response = put_whole(server, device, bad)
    assert response.status_code == 415
    assert (
        f"of event {event['id']} on finding {finding['id']} was refused"
        in (response.json()["detail"])
    )


def test_a_complete_photo_is_stored_and_served(server: Server, device: Device) -> None:
    server.push(device, findings=[finding_json(photos=[photo_json(JPEG)])])
    assert put_whole(server, device, JPEG).status_code == 201
    assert server.rows("SELECT width, height FROM photos") == [(320, 240)]
    served = server.client.get(f"/v1/photos/{sha(JPEG)}", headers=device.headers)
    assert served.status_code == 200 and served.content == JPEG


def test_a_truncated_blob_left_by_a_crash_is_discarded_not_counted_as_stored(
    server: Server, device: Device
) -> None:
    # The server died after the blob was moved into the store but before it was checked.
    bad = JPEG[: len(JPEG) // 2]
    server.push(device, findings=[finding_json(photos=[photo_json(bad)])])
    blobs = server.services.blobs
    blobs.append(sha(bad), 0, [bad])
    blobs.finalize(sha(bad))
    served = server.client.get(f"/v1/photos/{sha(bad)}", headers=device.headers)
    assert served.status_code == 404  # never served while unchecked
    state = head(server, device, bad)
    assert (state.headers["photo-state"], state.headers["upload-offset"]) == ("needed", "0")
    assert not blobs.exists(sha(bad))
    receipt = server.push(device, findings=[finding_json(photos=[photo_json(bad)])])
    assert receipt["photos"] == [{"sha256": sha(bad), "state": "needed", "offset": 0}]


# ---- 3: a device pushes only a walker's event kinds ---------------------------------------------


def test_the_device_kinds_are_what_the_phone_sends() -> None:
    assert set(remote.FOLLOWUP_KINDS) <= DEVICE_EVENT_KINDS
    walker = {EventKind.STILL_THERE, EventKind.VERIFIED, EventKind.COMMENT}
    assert walker == DEVICE_EVENT_KINDS


@pytest.mark.parametrize("kind", sorted(k.value for k in set(EventKind) - DEVICE_EVENT_KINDS))
def test_an_owners_or_coordinators_event_from_a_device_is_403_and_changes_nothing(
    server: Server, kind: str
) -> None:
    reporter, other = server.enrol("reporter"), server.enrol("other")
    finding = finding_json()
    server.push(reporter, findings=[finding])
    with server.db.write() as tx:
        tx.execute("UPDATE findings SET status = 'sent' WHERE id = ?", [finding["id"]])
    before = counts(server)
    event = event_json(finding["id"], kind)
    mixed = {"findings": [finding_json()], "events": [event_json(finding["id"]), event]}
    response = push(server, other, **mixed)
    assert response.status_code == 403
    assert response.json()["detail"] == (
        f"event {event['id']} on finding {finding['id']} is of kind '{kind}', which only a "
        "coordinator or the finding's owner can set; a device may send only comment, "
        "still_there, verified — nothing of this batch was stored"
    )
    assert counts(server) == before
    assert server.rows("SELECT status FROM findings WHERE id = ?", finding["id"]) == [("sent",)]
    # Not even the finding's own reporter may close it.
    assert push(server, reporter, events=[event]).status_code == 403


@pytest.mark.parametrize("kind", sorted(k.value for k in DEVICE_EVENT_KINDS))
def test_a_walkers_event_kinds_are_accepted(server: Server, device: Device, kind: str) -> None:
    finding = finding_json()
    receipt = server.push(device, findings=[finding], events=[event_json(finding["id"], kind)])
    assert [r["result"] for r in receipt["records"]] == ["created", "created"]


# ---- 6: disorder findings reach only police/EST devices -----------------------------------------


def enrol(server: Server, name: str, police: bool = False) -> Device:
    code = devices.create_enrol_code(server.db, name, police=police)
    body = server.client.post("/v1/enrol", json={"code": code}).json()
    return Device(body["device_id"], body["token"], {"Authorization": f"Bearer {body['token']}"})


@pytest.fixture
def disorder(server: Server) -> dict[str, Any]:
    """A walker's walk in Vivalla with a disorder finding (with a photo) and a lamp finding."""
    walker = enrol(server, "walker")
    walk = walk_json()
    photo = make_jpeg(200, 150, seed=5)
    ord_ = finding_json(category="ORD", note="Langning vid kiosken", walk_id=walk["id"],
                        photos=[photo_json(photo, 200, 150)])  # fmt: skip
    lamp = finding_json(walk_id=walk["id"])
    server.push(walker, walks=[walk], findings=[ord_, lamp])
    assert server.upload(walker, photo) == 201
    return {"walker": walker, "ord": ord_, "lamp": lamp, "photo": photo}


def open_ids(server: Server, device: Device, query: str) -> list[str]:
    response = server.client.get(f"/v1/findings/open?{query}", headers=device.headers)
    assert response.status_code == 200, response.text
    return [f["finding"]["id"] for f in response.json()["findings"]]


def test_an_ordinary_device_never_sees_disorder(server: Server, disorder: dict[str, Any]) -> None:
    other = enrol(server, "another walker")
    ord_id, lamp_id = disorder["ord"]["id"], disorder["lamp"]["id"]
    fid = followups.create(server.db, "Uppföljning Vivalla", "Vivalla", [ord_id, lamp_id], "u:a")
    only_ord = followups.create(server.db, "Polisens runda", "Vivalla", [ord_id], "u:a")
    for query in ("area=Vivalla", "lat=59.2743&lon=15.2066&radius_m=100", f"followup={fid}",
                  "area=Uppf%C3%B6ljning%20Vivalla&answers=true"):  # fmt: skip
        assert open_ids(server, other, query) == [lamp_id], query
    listed = server.client.get("/v1/followups", headers=other.headers).json()["followups"]
    assert [(f["id"], f["findings"], f["open"]) for f in listed] == [(fid, 1, 1)]
    assert only_ord not in [f["id"] for f in listed]
    photo = server.client.get(f"/v1/photos/{sha(disorder['photo'])}", headers=other.headers)
    assert photo.status_code == 404
    pulled = server.client.get("/v1/sync/pull", headers=other.headers).json()
    assert pulled["changes"] == []


def test_the_reporter_and_a_police_device_see_it(server: Server, disorder: dict[str, Any]) -> None:
    police = enrol(server, "Kommunpolisen", police=True)
    ord_id, lamp_id = disorder["ord"]["id"], disorder["lamp"]["id"]
    for device in (police, disorder["walker"]):
        assert sorted(open_ids(server, device, "area=Vivalla")) == sorted([ord_id, lamp_id])
        got = server.client.get(f"/v1/photos/{sha(disorder['photo'])}", headers=device.headers)
        assert got.status_code == 200 and got.content == disorder["photo"]
    fid = followups.create(server.db, "Polisens runda", "Vivalla", [ord_id], "u:a")
    listed = server.client.get("/v1/followups", headers=police.headers).json()["followups"]
    assert [(f["id"], f["findings"]) for f in listed] == [(fid, 1)]


def test_an_event_photo_on_a_disorder_finding_is_hidden_too(
    server: Server, disorder: dict[str, Any]
) -> None:
    police, other = enrol(server, "EST", police=True), enrol(server, "walker 2")
    photo = make_jpeg(100, 100, seed=9)
    event = event_json(disorder["ord"]["id"], "still_there", photos=[photo_json(photo, 100, 100)])
    server.push(police, events=[event])
    assert server.upload(police, photo) == 201
    url = f"/v1/photos/{sha(photo)}"
    assert server.client.get(url, headers=other.headers).status_code == 404
    assert server.client.get(url, headers=disorder["walker"].headers).status_code == 200


# ---- the enrolment option in the coordinator's devices page -------------------------------------


def test_the_devices_page_makes_a_police_code(staff: Staff) -> None:
    server = staff.server
    page = staff.coordinator.get("/c/devices")
    assert 'name="police"' in page.text and "Polis/EST – ser ordningsstörningar" in page.text
    english = staff.coordinator.get("/c/devices?lang=en").text
    assert "Police/EST – sees disorder findings" in english
    made = staff.post("coordinator", "/c/devices/codes", {"name": "Kommunpolis", "police": "1"})
    assert made.status_code == 200 and 'id="police"' in made.text
    found = _CODE.search(made.text)
    assert found
    assert "Polis/EST" in staff.coordinator.get("/c/devices?lang=sv").text  # a pending code
    body = server.client.post("/v1/enrol", json={"code": found[1]}).json()
    assert devices.get_device(server.db, body["device_id"]).police
    plain = staff.post("coordinator", "/c/devices/codes", {"name": "Volontär"})
    plain_code = _CODE.search(plain.text)
    assert plain_code and 'id="police"' not in plain.text
    body = server.client.post("/v1/enrol", json={"code": plain_code[1]}).json()
    assert not devices.get_device(server.db, body["device_id"]).police


def test_a_refused_form_keeps_the_police_choice(staff: Staff) -> None:
    page = staff.post("coordinator", "/c/devices/codes", {"name": " ", "police": "1"})
    assert page.status_code == 422
    assert re.search(r'name="police" value="1"[^>]* checked', page.text)


# ---- what a device may not touch at all ---------------------------------------------------------


def test_a_comment_on_a_hidden_disorder_finding_is_answered_as_if_it_did_not_exist(
    server: Server, disorder: dict[str, Any]
) -> None:
    other = enrol(server, "another walker")
    receipt = server.push(other, events=[event_json(disorder["ord"]["id"], "comment")])
    [record] = receipt["records"]
    assert record["result"] == "conflict" and "is not on the server yet" in record["detail"]


def test_route_points_for_another_devices_walk_are_403(server: Server) -> None:
    walker, other = server.enrol("walker"), server.enrol("other")
    walk = walk_json()
    server.push(walker, walks=[walk])
    point = {"walk_id": walk["id"], "t": utcnow().isoformat(), "latitude": 59.27,
             "longitude": 15.2}  # fmt: skip
    response = push(server, other, track=[point])
    assert response.status_code == 403 and "another device walked" in response.json()["detail"]
    assert server.rows("SELECT count(*) FROM track_points") == [(0,)]
    assert server.push(walker, track=[point])["track_points"] == 1

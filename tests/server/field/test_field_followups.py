"""The follow-ups a device can choose from (GET /v1/followups), and a chosen follow-up's findings
with their holder's latest answer (GET /v1/findings/open?followup=ID&answers=true)."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest

from sync_server.core.history import add_server_event
from sync_server.workspace import followups
from tests.server.conftest import Device, Server, event_json, finding_json, make_jpeg, photo_json
from walkaudit.model import EventKind, FollowupsResponse, OpenFindingsResponse, new_id, utcnow


@pytest.fixture
def three(server: Server, device: Device) -> list[str]:
    """Three findings of a walk in Vivalla, pushed by the device."""
    walk = {"id": new_id(), "name": "Vår", "area": "Vivalla", "started_at": utcnow().isoformat()}
    found = [
        finding_json(
            walk_id=walk["id"],
            latitude=59.2743 + i / 10_000,
            captured_at=(utcnow() + timedelta(seconds=i)).isoformat(),
        )  # fmt: skip
        for i in range(3)
    ]
    server.push(device, walks=[walk], findings=found)
    return [f["id"] for f in found]


def listed(server: Server, device: Device, **params: Any) -> Any:
    return server.client.get("/v1/followups", params=params, headers=device.headers)


def test_only_open_followups_are_listed_newest_first_with_their_counts(
    server: Server, device: Device, three: list[str]
) -> None:
    db = server.db
    older = followups.create(db, "Uppföljning november", "Vivalla", three, "user:anna")
    newer = followups.create(db, "Uppföljning december", "Vivalla", three[:2], "user:anna")
    closed = followups.create(db, "Gammal runda", "Vivalla", three[:1], "user:anna")
    followups.close(db, closed)
    # One of the newer follow-up's findings has been verified on a walk since.
    server.push(device, events=[event_json(three[0], "verified")])

    r = listed(server, server.enrol("another walker"))
    assert r.status_code == 200
    body = FollowupsResponse.model_validate_json(r.content)
    assert [(f.id, f.name, f.area, f.findings, f.open) for f in body.followups] == [
        (newer, "Uppföljning december", "Vivalla", 2, 1),
        (older, "Uppföljning november", "Vivalla", 3, 2),
    ]
    assert body.more is False
    assert all(f.created_at.tzinfo is not None for f in body.followups)

    page = FollowupsResponse.model_validate_json(listed(server, device, limit=1).content)
    assert [f.id for f in page.followups] == [newer] and page.more is True


def test_the_list_needs_a_device_token(server: Server, three: list[str]) -> None:
    followups.create(server.db, "Uppföljning", "Vivalla", three, "user:anna")
    r = server.client.get("/v1/followups")
    assert r.status_code == 401 and "token" in r.json()["detail"]
    wrong = server.client.get("/v1/followups", headers={"Authorization": "Bearer wa_nope"})
    assert wrong.status_code == 401


@pytest.mark.parametrize("limit", ["0", "-3", "201", "many", ""])
def test_bad_list_parameters_are_422_with_a_reason(
    server: Server, device: Device, limit: str
) -> None:
    r = listed(server, device, limit=limit)
    assert r.status_code == 422
    assert "limit" in r.json()["detail"]


def test_no_followups_is_an_empty_list(server: Server, device: Device) -> None:
    assert listed(server, device).json() == {"followups": [], "more": False}


def test_a_chosen_followup_gives_all_its_findings_with_the_holders_latest_answer(
    server: Server, device: Device, three: list[str]
) -> None:
    lamp, graffiti, bench = three
    chosen = followups.create(server.db, "Uppföljning december", "Vivalla", three, "user:anna")
    fix_photo = make_jpeg(seed=5)
    server.push(device, findings=[finding_json(photos=[photo_json(fix_photo)])])
    assert server.upload(device, fix_photo) == 201
    photo = photo_json(fix_photo)
    with server.db.write() as tx:
        add_server_event(tx, lamp, EventKind.PLANNED, actor="owner:x",
                         note="2027-01-15 – Vi byter armaturen")  # fmt: skip
        add_server_event(tx, graffiti, EventKind.ACKNOWLEDGED, actor="owner:x")
        add_server_event(tx, graffiti, EventKind.FIXED, actor="owner:x", note="Sanerat",
                         photos=[photo])  # fmt: skip
        add_server_event(tx, bench, EventKind.FIXED, actor="owner:x", note="Lagad")
    # The bench was still there: reopened, so the owner's "fixed" is no longer the answer.
    server.push(device, events=[event_json(bench, "still_there")])
    # The graffiti is verified gone: still listed for the walker, with its status.
    server.push(device, events=[event_json(graffiti, "verified")])

    other = server.enrol("follow-up walker")
    r = server.client.get("/v1/findings/open", params={"followup": chosen, "answers": "true"},
                          headers=other.headers)  # fmt: skip
    assert r.status_code == 200, r.text
    body = OpenFindingsResponse.model_validate_json(r.content)
    by_id = {item.finding.id: item for item in body.findings}
    assert list(by_id) == [lamp, graffiti, bench]
    assert {item.area for item in body.findings} == {"Uppföljning december"}
    assert by_id[lamp].status.value == "planned"
    assert by_id[lamp].answer is not None
    assert (by_id[lamp].answer.kind, by_id[lamp].answer.note) == (
        EventKind.PLANNED,
        "2027-01-15 – Vi byter armaturen",
    )
    assert by_id[graffiti].status.value == "verified"
    assert by_id[graffiti].answer is not None
    assert by_id[graffiti].answer.kind is EventKind.FIXED
    assert [p.sha256 for p in by_id[graffiti].answer.photos] == [photo["sha256"]]
    assert by_id[bench].status.value == "reopened" and by_id[bench].answer is None
    # The fix photo is there for the device to fetch.
    got = server.client.get(f"/v1/photos/{photo['sha256']}", headers=other.headers)
    assert got.status_code == 200 and got.content == fix_photo


def test_without_asking_no_answer_field_is_sent(
    server: Server, device: Device, three: list[str]
) -> None:
    """An app from before answers refuses unknown fields: it must never see one."""
    chosen = followups.create(server.db, "Uppföljning", "Vivalla", three, "user:anna")
    with server.db.write() as tx:
        add_server_event(tx, three[0], EventKind.FIXED, actor="owner:x", note="Lagad")
    for params in ({"followup": chosen}, {"area": "uppföljning"}, {"area": "Vivalla"}):
        items = server.client.get("/v1/findings/open", params=params,
                                  headers=device.headers).json()["findings"]  # fmt: skip
        assert len(items) == 3
        assert all("answer" not in item for item in items), params


def test_the_name_typed_by_an_older_app_still_gives_the_open_findings(
    server: Server, device: Device, three: list[str]
) -> None:
    followups.create(server.db, "Uppföljning december", "Vivalla", three, "user:anna")
    server.push(device, events=[event_json(three[0], "verified")])
    items = server.client.get("/v1/findings/open", params={"area": "uppföljning december"},
                              headers=device.headers).json()["findings"]  # fmt: skip
    assert [i["finding"]["id"] for i in items] == three[1:]
    assert {i["area"] for i in items} == {"uppföljning december"}


def test_an_unknown_or_closed_followup_is_404_and_a_malformed_id_422(
    server: Server, device: Device, three: list[str]
) -> None:
    closed = followups.create(server.db, "Gammal", "Vivalla", three, "user:anna")
    followups.close(server.db, closed)
    get = server.client.get
    gone = get("/v1/findings/open", params={"followup": closed}, headers=device.headers)
    assert gone.status_code == 404 and "closed" in gone.json()["detail"]
    unknown = get("/v1/findings/open", params={"followup": new_id()}, headers=device.headers)
    assert unknown.status_code == 404
    bad = get("/v1/findings/open", params={"followup": "x' OR 1=1"}, headers=device.headers)
    assert bad.status_code == 422 and "followup" in bad.json()["detail"]
    flag = get("/v1/findings/open", params={"followup": closed, "answers": "perhaps"},
               headers=device.headers)  # fmt: skip
    assert flag.status_code == 422 and "answers" in flag.json()["detail"]

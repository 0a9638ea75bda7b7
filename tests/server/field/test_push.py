"""Push is idempotent by id; conflicts are reported and the server keeps what it has."""

from __future__ import annotations

import json
import threading
from typing import Any

from tests.server.conftest import Server, event_json, finding_json, make_jpeg, photo_json
from walkaudit.model import new_id, utcnow


def results(receipt: dict[str, Any]) -> list[tuple[str, str]]:
    return [(r["kind"], r["result"]) for r in receipt["records"]]


def test_the_same_batch_twice_changes_nothing(server: Server, device: Any) -> None:
    walk = {"id": new_id(), "name": "Kvällsvandring", "started_at": utcnow().isoformat()}
    finding = finding_json(walk_id=walk["id"])
    track = [{"walk_id": walk["id"], "t": f"2026-11-25T18:0{i}:00+01:00", "latitude": 59.27,
              "longitude": 15.2} for i in range(3)]  # fmt: skip
    batch = {"walks": [walk], "findings": [finding], "events": [event_json(finding["id"])],
             "track": track}  # fmt: skip
    first = server.push(device, **batch)
    assert results(first) == [("walk", "created"), ("finding", "created"), ("event", "created")]
    assert first["track_points"] == 3
    counts = [server.rows(f"SELECT count(*) FROM {t}") for t in ("findings", "events", "walks",
              "track_points", "finding_revisions")]  # fmt: skip

    second = server.push(device, **batch)
    assert results(second) == [("walk", "unchanged"), ("finding", "unchanged"),
                               ("event", "unchanged")]  # fmt: skip
    assert second["track_points"] == 3
    assert counts == [server.rows(f"SELECT count(*) FROM {t}") for t in ("findings", "events",
                      "walks", "track_points", "finding_revisions")]  # fmt: skip
    # one received event (made once) and the pushed comment
    assert server.rows("SELECT kind FROM events ORDER BY seq") == [("received",), ("comment",)]


def test_same_revision_with_different_content_is_a_conflict(server: Server, device: Any) -> None:
    finding = finding_json(note="original")
    server.push(device, findings=[finding])
    changed = finding | {"note": "edited without a new revision"}
    receipt = server.push(device, findings=[changed])
    (record,) = receipt["records"]
    assert record["result"] == "conflict" and record["revision"] == 1
    assert "new revision" in record["detail"]
    assert server.rows("SELECT note FROM findings") == [("original",)]


def test_a_new_revision_is_created_and_becomes_current(server: Server, device: Any) -> None:
    finding = finding_json(note="first")
    server.push(device, findings=[finding])
    receipt = server.push(device, findings=[finding | {"revision": 2, "note": "second"}])
    assert receipt["records"][0] | {"detail": ""} == {
        "kind": "finding", "id": finding["id"], "revision": 2, "result": "created", "detail": ""
    }  # fmt: skip
    assert server.rows("SELECT revision, note, status FROM findings") == [(2, "second", "received")]
    assert server.rows("SELECT revision FROM finding_revisions ORDER BY revision") == [(1,), (2,)]
    assert server.rows("SELECT count(*) FROM events WHERE kind = 'received'") == [(1,)]
    # an older revision arriving late is history, not the current state
    late = finding | {"revision": 1}
    assert results(server.push(device, findings=[late])) == [("finding", "unchanged")]
    old = finding_json(id=new_id(), note="v3")
    server.push(device, findings=[old | {"revision": 3}])
    receipt = server.push(device, findings=[old | {"revision": 2, "note": "v2"}])
    assert receipt["records"][0]["result"] == "created"
    assert server.rows("SELECT note FROM findings WHERE id = ?", old["id"]) == [("v3",)]


def test_a_finding_first_pushed_by_another_device_is_a_conflict(server: Server) -> None:
    a, b = server.enrol("a"), server.enrol("b")
    finding = finding_json()
    server.push(a, findings=[finding])
    receipt = server.push(b, findings=[finding | {"revision": 2, "note": "hijack"}])
    assert receipt["records"][0]["result"] == "conflict"
    assert "another device" in receipt["records"][0]["detail"]
    assert server.rows("SELECT revision, device_id FROM findings") == [(1, a.id)]


def test_walk_updates_and_conflicts(server: Server, device: Any) -> None:
    walk = {"id": new_id(), "name": "Vandring", "started_at": "2026-11-25T18:00:00+01:00"}
    assert results(server.push(device, walks=[walk])) == [("walk", "created")]
    ended = walk | {"ended_at": "2026-11-25T19:30:00+01:00", "area": "Vivalla"}
    assert results(server.push(device, walks=[ended])) == [("walk", "updated")]
    assert results(server.push(device, walks=[ended])) == [("walk", "unchanged")]
    moved = ended | {"started_at": "2026-11-25T17:00:00+01:00"}
    receipt = server.push(device, walks=[moved])
    assert results(receipt) == [("walk", "conflict")]
    assert server.rows("SELECT started_at, area FROM walks") == [
        ("2026-11-25T17:00:00.000000Z", "Vivalla")
    ]


def test_events_need_their_finding_and_are_idempotent(server: Server, device: Any) -> None:
    orphan = event_json(new_id())
    receipt = server.push(device, events=[orphan])
    assert results(receipt) == [("event", "conflict")]
    assert "not on the server yet" in receipt["records"][0]["detail"]

    finding = finding_json()
    fixed = event_json(finding["id"], "verified", note="lagad")
    receipt = server.push(device, findings=[finding], events=[fixed])  # same batch: order is free
    assert results(receipt) == [("finding", "created"), ("event", "created")]
    assert results(server.push(device, events=[fixed])) == [("event", "unchanged")]
    receipt = server.push(device, events=[fixed | {"note": "something else"}])
    assert results(receipt) == [("event", "conflict")]
    assert server.rows("SELECT status FROM findings") == [("verified",)]
    (actor,) = server.rows("SELECT actor FROM events WHERE id = ?", fixed["id"])[0]
    assert actor == f"device:{device.id}"


def test_track_points_are_idempotent_by_walk_and_time(server: Server, device: Any) -> None:
    walk_id = new_id()
    point = {"walk_id": walk_id, "t": "2026-11-25T18:00:00+01:00", "latitude": 59.2,
             "longitude": 15.2}  # fmt: skip
    same_instant = point | {"t": "2026-11-25T17:00:00Z", "latitude": 59.3}
    receipt = server.push(device, track=[point, same_instant])
    assert receipt["track_points"] == 1
    assert server.rows("SELECT latitude FROM track_points") == [(59.2,)]


def test_receipt_lists_every_photo_with_its_state(server: Server, device: Any) -> None:
    jpeg_a, jpeg_b = make_jpeg(seed=1), make_jpeg(seed=2)
    findings = [finding_json(photos=[photo_json(jpeg_a)]),
                finding_json(photos=[photo_json(jpeg_a), photo_json(jpeg_b)])]  # fmt: skip
    event = event_json(findings[0]["id"], photos=[photo_json(jpeg_b)])
    receipt = server.push(device, findings=findings, events=[event])
    assert [(p["sha256"], p["state"], p["offset"]) for p in receipt["photos"]] == [
        (photo_json(jpeg_a)["sha256"], "needed", 0),
        (photo_json(jpeg_b)["sha256"], "needed", 0),
    ]
    sha_a = photo_json(jpeg_a)["sha256"]
    assert server.upload(device, jpeg_a) == 201
    receipt = server.push(device, findings=findings)
    assert receipt["photos"][0] == {"sha256": sha_a, "state": "stored", "offset": len(jpeg_a)}
    assert receipt["photos"][1]["state"] == "needed"


def test_unsupported_protocol_version(server: Server, device: Any) -> None:
    response = server.client.post("/v1/sync/push", json={"protocol": 2}, headers=device.headers)
    assert response.status_code == 422
    assert "protocol" in response.json()["detail"]


def test_concurrent_devices_push_without_losing_anything(server: Server) -> None:
    devices = [server.enrol(f"phone {i}") for i in range(8)]
    errors: list[str] = []

    def walker(device: Any) -> None:
        for _ in range(5):
            batch = {"findings": [finding_json() for _ in range(40)]}
            response = server.client.post("/v1/sync/push", content=json.dumps(batch),
                                          headers=device.headers)  # fmt: skip
            if response.status_code != 200:
                errors.append(response.text)

    threads = [threading.Thread(target=walker, args=(d,)) for d in devices]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert errors == []
    assert server.rows("SELECT count(*) FROM findings") == [(8 * 5 * 40,)]
    assert server.rows("SELECT count(*) FROM events") == [(8 * 5 * 40,)]


def test_a_walk_ended_by_mistake_is_reopened_and_ended_again_by_its_own_device(
    server: Server, device: Any
) -> None:
    """The app's *Återuppta vandringen*: ended → ongoing → ended again, from the same phone."""
    from sync_server.walks.listing import list_walks

    walk = {"id": new_id(), "name": "Vandring", "started_at": "2026-11-25T18:00:00+01:00"}
    ended = walk | {"ended_at": "2026-11-25T19:30:00+01:00"}
    assert results(server.push(device, walks=[ended])) == [("walk", "created")]
    [listed] = list_walks(server.db).walks
    assert not listed.in_progress

    reopened = walk | {"ended_at": None}
    assert results(server.push(device, walks=[reopened])) == [("walk", "updated")]
    assert results(server.push(device, walks=[reopened])) == [("walk", "unchanged")]
    assert server.rows("SELECT ended_at FROM walks") == [(None,)]
    [listed] = list_walks(server.db).walks
    assert listed.in_progress  # /c/walks shows it as ongoing again

    # Another phone cannot take someone else's walk up (or end it): as for any other change.
    other = server.enrol("phone B")
    again = walk | {"ended_at": "2026-11-25T19:42:00+01:00"}
    receipt = server.push(other, walks=[again])
    assert results(receipt) == [("walk", "conflict")]
    assert "another device" in receipt["records"][0]["detail"]
    assert server.rows("SELECT ended_at FROM walks") == [(None,)]

    assert results(server.push(device, walks=[again])) == [("walk", "updated")]
    assert server.rows("SELECT ended_at FROM walks") == [("2026-11-25T18:42:00.000000Z",)]
    assert results(server.push(other, walks=[reopened])) == [("walk", "conflict")]
    [listed] = list_walks(server.db).walks
    assert not listed.in_progress and server.rows("SELECT count(*) FROM walks") == [(1,)]


def test_findings_added_after_a_reopen_are_reported_once_the_walk_ends_again(
    server: Server, device: Any
) -> None:
    """Reports wait for a walk's end: a reopened walk holds its new findings back until then."""
    from datetime import timedelta

    from sync_server import reports
    from sync_server.config import Settings
    from tests.server.mail_support import add_owner, assign, box

    settings: Settings = server.services.settings
    lon, lat = 15.2066, 59.2743
    bo = add_owner(server.db, "Örebrobostäder AB", "bo@example.se", area=box(lon, lat))
    kommun = add_owner(server.db, "Örebro kommun", "gata@example.se", area=box(lon + 0.004, lat))
    start = utcnow() - timedelta(hours=2)
    walk = {"id": new_id(), "name": "Vandring", "started_at": start.isoformat()}
    ended = walk | {"ended_at": (start + timedelta(hours=1)).isoformat()}

    def add(owner: str, longitude: float) -> str:
        finding = finding_json(walk_id=walk["id"], longitude=longitude)
        assert results(server.push(device, findings=[finding])) == [("finding", "created")]
        assign(server.db, finding["id"], owner)
        return str(finding["id"])

    def due(now: Any = None) -> dict[str, tuple[str, ...]]:
        groups = reports.due_groups(server.db, settings, now or utcnow())
        return {g.owner_id: g.finding_ids for g in groups}

    server.push(device, walks=[ended])
    first = add(bo, lon)
    assert due() == {bo: (first,)}
    done, errors = reports.enqueue_reports(server.db, server.services.blobs, settings,
                                           now=utcnow())  # fmt: skip
    assert errors == [] and len(done) == 1 and due() == {}

    server.push(device, walks=[walk | {"ended_at": None}])  # reopened on the phone
    late_bo, late_kommun = add(bo, lon + 0.0003), add(kommun, lon + 0.004)
    assert due() == {}  # the walk is ongoing again: nothing leaves mid-walk

    server.push(device, walks=[walk | {"ended_at": utcnow().isoformat()}])
    # Ended again: a walk just ended, so both owners get the new findings on the next pass —
    # also the one who already had this walk's first report.
    assert due() == {bo: (late_bo,), kommun: (late_kommun,)}
    done, errors = reports.enqueue_reports(server.db, server.services.blobs, settings,
                                           now=utcnow())  # fmt: skip
    assert errors == [] and len(done) == 2 and due() == {}
    # A straggler of that walk synced later still waits for the daily batch.
    straggler = add(bo, lon + 0.0006)
    assert due() == {}
    tomorrow = utcnow() + timedelta(hours=settings.report_batch_hours, minutes=1)
    assert due(tomorrow) == {bo: (straggler,)}

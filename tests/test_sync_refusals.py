"""One bad record stops nothing: what the server refuses for good is set aside on the phone.

A real `walkaudit-server` on loopback refuses a whole push batch when one record in it has an
implausible time (422) or is an event kind a device may not send (403), and a photo whose bytes do
not decode (415). The phone (the `walkaudit` CLI and SyncClient over a real socket) finds the
refused record by halving the batch, so every good record arrives in the same sync; the refused
one stays on the phone with the server's reason, shown by `walkaudit status`, and is not sent
again by the next sync.
"""

from __future__ import annotations

import hashlib
import json
import math
import sqlite3
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

import httpx
import pytest

from walkaudit import model
from walkaudit.store import Store
from walkaudit.sync import SyncClient, SyncReport

from .conftest import make_finding, make_photo
from .support import ServerProcess, run

pytestmark = pytest.mark.slow
YEAR_9999 = datetime(9999, 6, 1, 12, 0, tzinfo=UTC)


@pytest.fixture
def server(tmp_path: Path) -> Iterator[ServerProcess]:
    s = ServerProcess(tmp_path / "server").start()
    yield s
    s.stop()


@dataclass(frozen=True)
class BrokenPhoto:
    """The first half of a real JPEG, stored on the phone under the sha256 of those bytes (as a
    cut-off write or a failing memory card would leave it): it starts like a JPEG, hashes right,
    and does not decode."""

    jpeg: bytes
    thumbnail: bytes
    width: int
    height: int
    sha256: str
    source_name: str = "cut.jpg"


def broken_photo(seed: int) -> BrokenPhoto:
    whole = make_photo(seed, size=(800, 600), noise=True)
    half = whole.jpeg[: len(whole.jpeg) // 2]
    sha = hashlib.sha256(half).hexdigest()
    return BrokenPhoto(half, whole.thumbnail, whole.width, whole.height, sha)


def enrolled_phone(tmp_path: Path, server: ServerProcess) -> Path:
    data = tmp_path / "phone"
    r = run("walkaudit", "--data", data, "enrol", server.url, server.enrol_code())
    assert r.code == 0, r.err
    return data


def sync_once(data: Path) -> SyncReport:
    """One sync with the SyncClient over a real socket (it counts its push requests)."""
    store = Store.open(data)
    try:
        with httpx.Client(timeout=30) as http:
            return SyncClient(store, http).sync()
    finally:
        store.close()


def status(data: Path) -> tuple[dict, str]:
    as_json = run("walkaudit", "--data", data, "status", "--json")
    text = run("walkaudit", "--data", data, "status")
    assert as_json.code == 0 and text.code == 0, as_json.err + text.err
    return json.loads(as_json.out), text.out


def server_rows(server: ServerProcess, sql: str, params: tuple = ()) -> list[tuple]:
    conn = sqlite3.connect(server.data / "walkaudit.db", timeout=5)
    try:
        return list(conn.execute(sql, params))
    finally:
        conn.close()


def halving_bound(n: int, bad: int = 1) -> int:
    """The whole batch, the empty batch that checks the refusal is about records, and two
    requests per level of halving for each refused record."""
    return 2 + bad * 2 * math.ceil(math.log2(n))


def test_a_finding_from_the_year_9999_is_set_aside_and_the_five_good_ones_arrive(
    tmp_path: Path, server: ServerProcess
) -> None:
    phone = enrolled_phone(tmp_path, server)
    store = Store.open(phone)
    good = [store.save_finding(make_finding(note=f"Lampa {i}"), [make_photo(i)]) for i in range(3)]
    good += [store.save_finding(make_finding(category="VEG", note=f"Buske {i}")) for i in range(2)]
    # The phone's model builds it: only the server judges times (a wrong clock loses nothing).
    bad = store.save_finding(make_finding(note="Trasig lampa", captured_at=YEAR_9999))
    store.close()

    r = run("walkaudit", "--data", phone, "sync", "--quiet")
    assert r.code == 1, r.err  # not everything reached the server …
    assert f"refused by the server: finding {bad.id}" in r.err
    assert "9999-06-01T12:00:00Z is not a plausible time" in r.err
    assert "kept on this device" in r.err

    # … but every good finding did, with its photos, in that same sync.
    on_server = {f["id"]: f for f in server.findings()}
    assert sorted(on_server) == sorted(f.id for f in good)
    for f in good:
        assert [p["sha256"] for p in on_server[f.id]["photos"]] == [p.sha256 for p in f.photos]
        assert all(p["stored"] for p in on_server[f.id]["photos"])

    info, text = status(phone)
    assert info["pending"]["refused"] == 1 and info["pending"]["to_send"] == 0
    [refused] = info["refused"]
    assert (refused["kind"], refused["id"], refused["note"]) == ("finding", bad.id, "Trasig lampa")
    assert "captured_at" in refused["detail"] and "not a plausible time" in refused["detail"]
    [row] = [f for f in info["findings"] if f["id"] == bad.id]
    assert row["sync"] == "refused" and row["refused"] == refused["detail"]
    assert f"finding {bad.id} (BEL, 9999-06-01 14:00, 'Trasig lampa'): " in text
    assert "refused by the server" in text and "--retry-refused" in text
    # Kept on the phone, whole.
    store = Store.open(phone)
    assert store.finding(bad.id).captured_at == YEAR_9999
    store.close()

    # The next sync sends nothing again and does not spin: not one push request.
    again = sync_once(phone)
    assert again.push_requests == 0 and again.refused == [] and again.records_confirmed == 0
    assert bad.id not in {f["id"] for f in server.findings()}

    # Asked to, the phone sends it once more; still refused, still kept, and no loop.
    r = run("walkaudit", "--data", phone, "sync", "--quiet", "--retry-refused")
    assert r.code == 1 and f"refused by the server: finding {bad.id}" in r.err
    assert status(phone)[0]["pending"]["refused"] == 1


def test_halving_finds_one_bad_record_among_64_in_few_requests(
    tmp_path: Path, server: ServerProcess
) -> None:
    phone = enrolled_phone(tmp_path, server)
    store = Store.open(phone)
    for i in range(63):
        store.save_finding(make_finding(note=f"Fynd {i}"))
    bad = store.save_finding(make_finding(captured_at=datetime(1999, 12, 31, tzinfo=UTC)))
    store.close()

    report = sync_once(phone)
    assert [(r.kind, r.id) for r in report.refused] == [("finding", bad.id)]
    assert "1999-12-31T00:00:00Z is not a plausible time" in report.refused[0].detail
    assert report.records_confirmed == 63
    assert report.push_requests <= halving_bound(64)  # 14, not 64
    assert len(server.findings()) == 63


def test_an_event_kind_a_device_may_not_send_is_set_aside_and_the_comment_arrives(
    tmp_path: Path, server: ServerProcess
) -> None:
    phone = enrolled_phone(tmp_path, server)
    store = Store.open(phone)
    finding = store.save_finding(make_finding(note="Trasig lampa"))
    store.close()
    assert sync_once(phone).complete

    store = Store.open(phone)
    closing = model.FindingEvent(
        id=model.new_id(), finding_id=finding.id, kind="closed", at=model.utcnow()
    )
    comment = model.FindingEvent(
        id=model.new_id(),
        finding_id=finding.id,
        kind="comment",
        at=model.utcnow(),
        note="Fortfarande mörkt",
    )
    store.add_event(closing)
    store.add_event(comment)
    store.close()

    report = sync_once(phone)
    [refusal] = report.refused
    assert (refusal.kind, refusal.id) == ("event", closing.id)
    assert "'closed'" in refusal.detail and "a device may send only" in refusal.detail
    events = server_rows(server, "SELECT id, kind FROM events WHERE finding_id = ?", (finding.id,))
    assert (comment.id, "comment") in events and closing.id not in {e[0] for e in events}
    [status_row] = server_rows(server, "SELECT status FROM findings WHERE id = ?", (finding.id,))
    assert status_row[0] != "closed"

    info, text = status(phone)
    [held] = info["refused"]
    assert (held["kind"], held["id"], held["finding_id"]) == ("event", closing.id, finding.id)
    assert f"answer {closing.id} about finding {finding.id}" in text
    assert sync_once(phone).push_requests == 0


def test_a_truncated_photo_is_refused_naming_its_finding_and_not_uploaded_again(
    tmp_path: Path, server: ServerProcess
) -> None:
    phone = enrolled_phone(tmp_path, server)
    store = Store.open(phone)
    cut = broken_photo(3)
    broken = store.save_finding(make_finding(note="Trasig lampa"), [cut])
    fine = store.save_finding(make_finding(category="VEG", note="Buske"), [make_photo(4)])
    store.close()

    r = run("walkaudit", "--data", phone, "sync", "--quiet")
    assert r.code == 1
    assert f"refused by the server: photo {cut.sha256[:12]}… of finding {broken.id}" in r.err
    assert "'Trasig lampa'" in r.err

    # Both findings are on the server; the good photo is stored, the cut one is not.
    stored = {row[0] for row in server_rows(server, "SELECT sha256 FROM photos")}
    assert fine.photos[0].sha256 in stored and cut.sha256 not in stored
    assert {broken.id, fine.id} <= {f["id"] for f in server.findings()}

    info, text = status(phone)
    [held] = info["refused"]
    assert (held["kind"], held["id"], held["finding_id"]) == ("photo", cut.sha256, broken.id)
    assert info["pending"]["refused"] == 1 and info["pending"]["to_send"] == 0
    [row] = [f for f in info["findings"] if f["id"] == broken.id]
    assert row["sync"] == "refused" and row["photos_refused"] == 1
    assert f"photo {cut.sha256[:12]}… of finding {broken.id}" in text
    # The photo file is still on the phone, byte for byte.
    store = Store.open(phone)
    assert store.photo_path(cut.sha256).read_bytes() == cut.jpeg
    store.close()

    # The next sync does not upload it again.
    again = sync_once(phone)
    assert (again.photos_uploaded, again.bytes_uploaded, again.refused) == (0, 0, [])


def test_a_route_point_from_a_gps_rollover_is_set_aside_and_the_walk_arrives(
    tmp_path: Path, server: ServerProcess
) -> None:
    phone = enrolled_phone(tmp_path, server)
    store = Store.open(phone)
    walk = store.start_walk("Kvällsvandring Vivalla", area="Vivalla")
    t0 = model.utcnow()
    for i in range(5):
        store.add_track_point(
            model.TrackPoint(
                walk_id=walk.id, t=t0 + timedelta(seconds=i), latitude=59.27, longitude=15.2
            )
        )
    # A GPS receiver after a week-number rollover dates its fix 1024 weeks back.
    rolled = datetime(1999, 8, 22, 0, 0, 5, tzinfo=UTC)
    store.add_track_point(
        model.TrackPoint(walk_id=walk.id, t=rolled, latitude=59.2701, longitude=15.2)
    )
    store.end_walk()
    store.close()

    report = sync_once(phone)
    assert [(r.kind, r.id) for r in report.refused] == [("route", walk.id)]
    ended = server_rows(server, "SELECT ended_at FROM walks WHERE id = ?", (walk.id,))
    assert ended and ended[0][0] is not None
    points = server_rows(server, "SELECT t FROM track_points WHERE walk_id = ?", (walk.id,))
    assert len(points) == 5 and not any(p[0].startswith("1999") for p in points)

    info, text = status(phone)
    [waiting] = info["walks_waiting"]
    assert (waiting["record"], waiting["route_points_waiting"]) == ("synced", 0)
    assert waiting["route_points_refused"] == 1
    assert info["pending"]["refused"] == 1 and info["pending"]["to_send"] == 0
    assert f"1 route point(s) of walk {walk.id} (Kvällsvandring Vivalla" in text
    assert "1999-08-22T00:00:05Z is not a plausible time" in text
    assert sync_once(phone).push_requests == 0


def test_a_refusal_that_is_about_the_device_sets_nothing_aside(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A server speaking another protocol refuses every batch, the empty one too (422): that is
    no record's fault, so the phone stops and keeps everything waiting (in-process server)."""
    from fastapi.testclient import TestClient

    from sync_server.app import create_app
    from sync_server.config import Settings
    from sync_server.core.db import Database
    from sync_server.field import ingest
    from sync_server.field.devices import create_enrol_code
    from walkaudit.sync import ServerRejectedError, enrol

    settings = Settings(data_dir=tmp_path / "server")
    store = Store.open(tmp_path / "phone")
    with TestClient(create_app(settings)) as http:
        code = create_enrol_code(Database(settings.database_path), name="test")
        enrol(store, http, "http://testserver", code, "test phone")
        for i in range(4):
            store.save_finding(make_finding(note=f"Fynd {i}"))
        monkeypatch.setattr(ingest, "PROTOCOL_VERSION", 2)  # the server was updated, not the app
        client = SyncClient(store, http)
        with pytest.raises(ServerRejectedError, match="speaks sync protocol 2"):
            client.sync()
    counts = store.pending_counts()
    assert (counts.findings, counts.to_send, counts.refused) == (4, 4, 0)
    assert store.refused() == []
    store.close()

"""End to end: the real `walkaudit` CLI against a real uvicorn server on loopback.

Each test checks what the walker and the coordinator would check: every finding on the server
exactly once, at the recorded coordinates, with photos whose sha256 matches the phone's copy, and
nothing left waiting — whatever the network or the server did in between.
"""

from __future__ import annotations

import hashlib
import json
import random
import socket
import sqlite3
import subprocess
import time
from pathlib import Path

import httpx
import pytest
from PIL import Image

from walkaudit import model
from walkaudit.store import Store
from walkaudit.sync import ServerUnreachableError, SyncClient

from .support import BIN, ServerProcess, TcpProxy, run

pytestmark = pytest.mark.slow
PHOTOS = Path(__file__).parent / "data" / "photos"


@pytest.fixture
def server(tmp_path: Path):
    s = ServerProcess(tmp_path / "server").start()
    yield s
    s.stop()


def field(data: Path, *args: str | Path, timeout: float = 180):
    """The field CLI on a device data directory."""
    return run("walkaudit", "--data", data, *args, timeout=timeout)


def enrolled_device(tmp_path: Path, url: str, code: str, name: str = "device") -> Path:
    data = tmp_path / name
    r = field(data, "enrol", url, code, "--name", "Polis Örebro")
    assert r.code == 0, r.err
    model.Id  # noqa: B018 - documents that stdout is a device id
    assert len(r.out.strip()) == 36
    return data


def big_photo(path: Path, seed: int, size: tuple[int, int] = (2048, 1536)) -> Path:
    """A camera-sized photo of noise: it stays around 2 MB after the pipeline's re-encoding."""
    rng = random.Random(seed)
    Image.frombytes("RGB", size, rng.randbytes(size[0] * size[1] * 3)).save(path, quality=90)
    return path


def status(data: Path) -> dict:
    r = field(data, "status", "--json")
    assert r.code == 0, r.err
    return json.loads(r.out)


def assert_exactly_once(server: ServerProcess, data: Path) -> None:
    """Every local finding is on the server once, same place, same photo bytes; nothing waits."""
    local = Store.open(data)
    try:
        rows = local.findings()
        on_server = server.findings()
        ids = [f["id"] for f in on_server]
        assert len(ids) == len(set(ids)), "a finding arrived twice"
        assert sorted(ids) == sorted(r["id"] for r in rows)
        by_id = {f["id"]: f for f in on_server}
        for row in rows:
            mine = local.finding(row["id"])
            theirs = by_id[mine.id]
            assert (theirs["latitude"], theirs["longitude"]) == (mine.latitude, mine.longitude)
            assert theirs["category"] == mine.category
            assert [p["sha256"] for p in theirs["photos"]] == [p.sha256 for p in mine.photos]
            for p, q in zip(theirs["photos"], mine.photos, strict=True):
                assert p["stored"] is True
                assert p["size"] == q.size and (p["width"], p["height"]) == (q.width, q.height)
                blob = local.photo_path(q.sha256).read_bytes()
                assert hashlib.sha256(blob).hexdigest() == p["sha256"]
        assert local.pending_counts().total == 0
    finally:
        local.close()


def test_a_walk_recorded_in_the_field_reaches_the_server_exactly_once(
    server: ServerProcess, tmp_path: Path
) -> None:
    data = enrolled_device(tmp_path, server.url, server.enrol_code())
    walk = field(data, "walk", "start", "Kvällsvandring Vivalla", "--area", "Vivalla")
    assert walk.code == 0 and len(walk.out.strip()) == 36
    ids = []
    for i, (cat, photo) in enumerate(
        [
            ("BEL", PHOTOS / "phone" / "iphone_13_pro_max.HEIC"),
            ("VEG", PHOTOS / "orientation" / "portrait_6.jpg"),
            ("KLO", PHOTOS / "gps" / "DSCN0010.jpg"),
        ]
    ):
        r = field(
            data,
            "add",
            "--category",
            cat,
            "--lat",
            f"59.27{i}",
            "--lon",
            "15.2066",
            "--accuracy",
            "6",
            "--severity",
            "high",
            "--note",
            "Mörk gångväg",
            "--photo",
            photo,
        )
        assert r.code == 0, r.err
        ids.append(r.out.strip())
    assert field(data, "walk", "end").code == 0
    before = status(data)
    assert before["pending"]["findings"] == 3 and before["pending"]["photos"] == 3

    r = field(data, "sync")
    assert r.code == 0, r.err
    assert_exactly_once(server, data)
    after = status(data)
    assert {f["sync"] for f in after["findings"]} == {"synced"}
    assert {f["server_status"] for f in after["findings"]} == {"received"}
    assert after["last_sync_at"]

    again = field(data, "sync")  # a second tap of "sync" changes nothing
    assert again.code == 0, again.err
    assert_exactly_once(server, data)
    assert sorted(f["id"] for f in server.findings()) == sorted(ids)


def test_server_unreachable_loses_nothing_and_the_next_sync_delivers(
    server: ServerProcess, tmp_path: Path
) -> None:
    data = enrolled_device(tmp_path, server.url, server.enrol_code())
    server.stop()
    for i in range(2):
        r = field(
            data,
            "add",
            "--category",
            "SKR",
            "--lat",
            "59.2",
            "--lon",
            "15.1",
            "--photo",
            PHOTOS / "gps" / ("DSCN0010.jpg", "DSCN0042.jpg")[i],
        )
        assert r.code == 0, r.err
    r = field(data, "sync")
    assert r.code == 1
    assert "server unreachable" in r.err and "nothing lost" in r.err
    assert "2 findings and 2 photos" in r.err
    assert status(data)["pending"]["findings"] == 2
    server.start()
    r = field(data, "sync")
    assert r.code == 0, r.err
    assert_exactly_once(server, data)


def test_connections_cut_mid_upload_resume_where_they_stopped(
    server: ServerProcess, tmp_path: Path
) -> None:
    proxy = TcpProxy(server.port)
    data = enrolled_device(tmp_path, proxy.url, server.enrol_code())
    for i in range(3):
        photo = big_photo(tmp_path / f"noise{i}.jpg", seed=i)
        r = field(
            data, "add", "--category", "TRA", "--lat", "59.3", "--lon", f"18.0{i}", "--photo", photo
        )
        assert r.code == 0, r.err
    local = Store.open(data)
    photo_bytes = local.pending_counts().photo_bytes
    local.close()
    assert photo_bytes > 3 * 1_000_000

    proxy.cut_after(900_000, cuts=3)
    r = field(data, "sync")
    assert r.code == 0, r.err
    assert proxy.cuts_done == 3
    assert_exactly_once(server, data)
    # Resuming from the server's offset: what was cut is not sent again (at most one chunk each).
    resent = proxy.bytes_up - photo_bytes
    assert resent < proxy.cuts_done * (1 << 20) + 64_000, resent
    proxy.close()


def test_server_killed_mid_sync_and_restarted_loses_and_doubles_nothing(
    server: ServerProcess, tmp_path: Path
) -> None:
    data = enrolled_device(tmp_path, server.url, server.enrol_code())
    local = Store.open(data)
    rng = random.Random(7)
    for i in range(40):
        from tests.conftest import make_finding, make_photo

        local.save_finding(
            make_finding(latitude=59 + rng.random(), longitude=15 + rng.random()),
            [make_photo(100 + i, size=(900, 700), noise=True)],
        )
    local.close()
    sync = subprocess.Popen(
        [str(BIN / "walkaudit"), "--data", str(data), "sync"],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:  # kill once photos are flowing
        stored = len(list((server.data).rglob("*"))) if server.data.exists() else 0
        if any((server.data / "partial").glob("*")) or stored > 60:
            break
        time.sleep(0.02)
    assert sync.poll() is None, "the sync finished before the server could be killed"
    server.kill()
    time.sleep(1.0)
    server.start()
    out, err = sync.communicate(timeout=180)
    if sync.returncode != 0:  # the first sync may give up while the server is down…
        assert "nothing lost" in err, err
        r = field(data, "sync")  # …the next one finishes the job
        assert r.code == 0, r.err
    assert_exactly_once(server, data)


def test_replayed_batch_and_lost_receipt_change_nothing(
    server: ServerProcess, tmp_path: Path
) -> None:
    from tests.conftest import make_finding, make_photo

    data = enrolled_device(tmp_path, server.url, server.enrol_code())
    local = Store.open(data)
    for i in range(5):
        local.save_finding(make_finding(), [make_photo(200 + i)])
    batch = local.outbox_batch()
    with httpx.Client(timeout=30) as http:
        client = SyncClient(local, http)
        assert client.sync().complete
        token = local.get_meta("token")
        replay = http.post(
            server.url + "/v1/sync/push",
            content=batch.model_dump_json(),
            headers={"Authorization": f"Bearer {token}", "Content-Type": "application/json"},
        )
        receipt = model.PushReceipt.model_validate(replay.json())
        assert {r.result for r in receipt.records} == {model.RecordResult.UNCHANGED}
        assert receipt.photos_needed == []
        # The phone never heard the receipts (cut after the server committed): it sends again.
        local.db.execute("UPDATE findings SET state = 'pending'")
        local.db.execute("UPDATE photos SET uploaded_at = NULL")
        assert local.pending_counts().findings == 5
        assert client.sync().complete
    local.close()
    assert_exactly_once(server, data)


def test_same_id_with_different_content_is_kept_and_reported(
    server: ServerProcess, tmp_path: Path
) -> None:
    data = enrolled_device(tmp_path, server.url, server.enrol_code())
    r = field(data, "add", "--category", "BEL", "--lat", "59.1", "--lon", "15.1")
    finding_id = r.out.strip()
    assert field(data, "sync").code == 0
    # A buggy client (or a restored backup) rewrites a record the server already holds.
    conn = sqlite3.connect(data / "walkaudit.db")
    conn.execute(
        "UPDATE findings SET note = 'ändrad', state = 'pending' WHERE id = ?", [finding_id]
    )
    conn.commit()
    conn.close()
    r = field(data, "sync")
    assert r.code == 1
    assert "conflict" in r.err and finding_id in r.err
    mine = status(data)["findings"][0]
    assert mine["sync"] == "conflict" and mine["conflict"]
    server_copy = server.findings()[0]
    assert server_copy["id"] == finding_id
    local = Store.open(data)
    assert local.finding(finding_id).note == "ändrad"  # kept on the device, not dropped
    local.close()


def test_revoked_device_is_told_and_keeps_its_findings(
    server: ServerProcess, tmp_path: Path
) -> None:
    data = enrolled_device(tmp_path, server.url, server.enrol_code())
    device_id = status(data)["device_id"]
    assert server.cli("devices", "revoke", device_id).code == 0
    field(data, "add", "--category", "ORD", "--lat", "59.1", "--lon", "15.1")
    r = field(data, "sync")
    assert r.code == 3
    assert "enrol again" in r.err and "1 finding" in r.err
    assert status(data)["pending"]["findings"] == 1


def test_enrolment_code_works_once(server: ServerProcess, tmp_path: Path) -> None:
    code = server.enrol_code()
    enrolled_device(tmp_path, server.url, code, name="first")
    r = field(tmp_path / "second", "enrol", server.url, code)
    assert r.code == 3
    assert "refused" in r.err
    r = field(tmp_path / "third", "enrol", server.url, "NOPE-NOPE")
    assert r.code == 3


def test_import_photos_lists_what_it_could_not_use_and_is_idempotent(
    server: ServerProcess, tmp_path: Path
) -> None:
    folder = tmp_path / "camera"
    folder.mkdir()
    for name in ("DSCN0010.jpg", "DSCN0042.jpg"):
        (folder / name).write_bytes((PHOTOS / "gps" / name).read_bytes())
    (folder / "no_gps.jpg").write_bytes((PHOTOS / "orientation" / "landscape_1.jpg").read_bytes())
    (folder / "broken.jpg").write_bytes((PHOTOS / "gps" / "DSCN0010.jpg").read_bytes()[:20_000])
    (folder / "notes.txt").write_text("inte ett foto")
    data = enrolled_device(tmp_path, server.url, server.enrol_code())

    r = field(data, "import-photos", folder, "--category", "KLO")
    assert r.code == 1  # not everything could be imported: scripts must notice
    assert len(r.out.split()) == 2
    assert "no_gps.jpg" in r.err and "no GPS position" in r.err
    assert "broken.jpg" in r.err
    assert "notes.txt" in r.err
    again = field(data, "import-photos", folder, "--category", "KLO")
    assert again.out.strip() == "" and "already imported" in again.err
    assert field(data, "sync").code == 0
    on_server = server.findings()
    assert len(on_server) == 2
    assert {f["category"] for f in on_server} == {"KLO"}
    # The Nikon photos were taken in Italy, per their EXIF; the finding sits there.
    assert all(43 < f["latitude"] < 44 and 11 < f["longitude"] < 12 for f in on_server)


def test_bad_input_on_the_command_line_gets_a_message_and_saves_nothing(tmp_path: Path) -> None:
    data = tmp_path / "dev"
    truncated = tmp_path / "IMG_0042.jpg"
    truncated.write_bytes((PHOTOS / "gps" / "DSCN0010.jpg").read_bytes()[:60_000])
    cases = [
        (["add", "--category", "XYZ", "--lat", "59", "--lon", "15"], "unknown category"),
        (["add", "--category", "BEL", "--lat", "91", "--lon", "15"], "no such position"),
        (["add", "--category", "BEL", "--lat", "nan", "--lon", "15"], "no such position"),
        (["add", "--category", "BEL"], "no position"),
        (
            ["add", "--category", "BEL", "--lat", "59", "--lon", "15", "--photo", truncated],
            "IMG_0042.jpg: the photo is damaged",
        ),
        (
            [
                "add",
                "--category",
                "BEL",
                "--lat",
                "59",
                "--lon",
                "15",
                "--photo",
                tmp_path / "missing.jpg",
            ],
            "nothing was saved",
        ),
        (["walk", "end"], "no walk is active"),
        (["walk", "start", "  "], "needs a name"),
        (["sync"], "not enrolled"),
    ]
    for args, message in cases:
        r = field(data, *args)
        assert r.code == 2, (args, r.err)
        assert message in r.err, (args, r.err)
        assert r.out == ""
    assert status(data)["pending"]["total"] == 0


def _stall_upload(server: ServerProcess, token: str, sha: str, data: bytes) -> socket.socket:
    """Start a PUT of the whole photo, send half, then go silent (a phone in a tunnel)."""
    sock = socket.create_connection(("127.0.0.1", server.port))
    head = (
        f"PUT /v1/photos/{sha} HTTP/1.1\r\nHost: 127.0.0.1\r\nAuthorization: Bearer {token}\r\n"
        f"Content-Type: application/octet-stream\r\nContent-Length: {len(data)}\r\n"
        f"Content-Range: bytes 0-{len(data) - 1}/{len(data)}\r\n\r\n"
    )
    sock.sendall(head.encode() + data[: len(data) // 2])
    return sock


def test_a_dead_upload_holding_a_photo_makes_the_client_wait_not_spin(tmp_path: Path) -> None:
    from tests.conftest import make_finding, make_photo

    server = ServerProcess(tmp_path / "server").start()  # idle timeout: the default 30 s
    try:
        data_dir = enrolled_device(tmp_path, server.url, server.enrol_code())
        local = Store.open(data_dir)
        photo = make_photo(5, size=(1200, 900), noise=True)
        local.save_finding(make_finding(), [photo])
        waits: list[float] = []
        sent: list[int] = []
        with httpx.Client(timeout=30, event_hooks={"request": [
            lambda req: sent.append(int(req.headers["Content-Length"]))
            if req.method == "PUT" else None
        ]}) as http:  # fmt: skip
            client = SyncClient(local, http, sleep=waits.append)
            client.push()
            dead = _stall_upload(server, local.get_meta("token") or "", photo.sha256, photo.jpeg)
            time.sleep(0.3)
            with pytest.raises(ServerUnreachableError):
                client.sync()
        dead.close()
        assert len(waits) == client.retry.attempts - 1  # it waited between attempts…
        assert sum(sent) <= client.retry.attempts * len(photo.jpeg)  # …instead of resending
        local.close()
    finally:
        server.stop()


def test_a_stalled_upload_is_released_after_the_idle_timeout(tmp_path: Path) -> None:
    from tests.conftest import make_finding, make_photo

    server = ServerProcess(tmp_path / "server", env={"WALKAUDIT_UPLOAD_IDLE_TIMEOUT_S": "1"})
    server.start()
    try:
        data_dir = enrolled_device(tmp_path, server.url, server.enrol_code())
        local = Store.open(data_dir)
        photo = make_photo(6, size=(1200, 900), noise=True)
        local.save_finding(make_finding(), [photo])
        with httpx.Client(timeout=30) as http:
            client = SyncClient(local, http, sleep=lambda s: None)
            client.push()
            dead = _stall_upload(server, local.get_meta("token") or "", photo.sha256, photo.jpeg)
            time.sleep(2.0)  # longer than the idle timeout: the half that arrived is kept
            report = client.sync()
            dead.close()
        assert report.complete
        assert report.bytes_uploaded <= len(photo.jpeg) - len(photo.jpeg) // 2 + 1
        local.close()
        assert_exactly_once(server, data_dir)
    finally:
        server.stop()

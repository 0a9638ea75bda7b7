"""Backup and restore (sync_server.core.backup): a consistent copy while phones sync, and a restore
that verifies every byte before it writes anything.

The headline test runs the real server on loopback with 20 devices pushing findings and
uploading photos through the HTTP API, takes a backup in the middle of it, restores it into an
empty directory, starts a second server on the copy and compares what a coordinator and the
phones would see: every finding, event and photo of the backup's snapshot, byte for byte.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import sqlite3
import stat
import subprocess
import tempfile
import threading
from collections.abc import Iterator
from dataclasses import dataclass, field
from importlib import metadata
from pathlib import Path
from typing import Any

import httpx
import pytest

from sync_server.config import Settings
from sync_server.core.backup import (
    MANIFEST,
    BackupDamaged,
    BackupError,
    BackupTargetNotEmpty,
    BackupTooNew,
    Manifest,
    NotABackup,
    backup,
    restore,
    verify,
)
from sync_server.core.db import Database
from sync_server.core.migrations import MIGRATIONS
from sync_server.field import devices
from tests.server.conftest import (
    Device,
    Server,
    event_json,
    finding_json,
    make_jpeg,
    photo_json,
    sha,
)
from tests.support import ServerProcess, run

DEVICES = 20
PHOTO_PX = (480, 360)


# ---- the headline: a backup while 20 devices sync, restored and served again ----


@dataclass
class Walker:
    """One device syncing over HTTP: what the server confirmed to it, in order."""

    url: str
    token: str
    number: int
    confirmed_findings: list[str] = field(default_factory=list)
    confirmed_photos: list[str] = field(default_factory=list)
    rounds: int = 0
    error: BaseException | None = None

    @property
    def headers(self) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.token}"}

    def one_round(self, client: httpx.Client) -> None:
        """Push a finding with a photo and a comment on it, then upload the photo."""
        photo = make_jpeg(*PHOTO_PX, seed=self.number * 10_000 + self.rounds)
        finding = finding_json(
            note=f"walker {self.number} round {self.rounds}",
            photos=[photo_json(photo, *PHOTO_PX)],
        )
        batch = {"findings": [finding], "events": [event_json(finding["id"], note="still dark")]}
        pushed = client.post(f"{self.url}/v1/sync/push", json=batch, headers=self.headers)
        assert pushed.status_code == 200, pushed.text
        assert [r["result"] for r in pushed.json()["records"]] == ["created", "created"]
        self.confirmed_findings.append(finding["id"])
        headers = self.headers | {"Content-Range": f"bytes 0-{len(photo) - 1}/{len(photo)}"}
        put = client.put(f"{self.url}/v1/photos/{sha(photo)}", content=photo, headers=headers)
        assert put.status_code == 201, put.text
        self.confirmed_photos.append(sha(photo))
        self.rounds += 1

    def run(self, stop: threading.Event) -> None:
        try:
            with httpx.Client(timeout=60) as client:
                while not stop.is_set():
                    self.one_round(client)
        except BaseException as exc:  # reported by the test's main thread
            self.error = exc


def enrol_walkers(server: ServerProcess, count: int) -> list[Walker]:
    db = Database(server.data / "walkaudit.db")
    try:
        codes = [devices.create_enrol_code(db, f"walker {i}") for i in range(count)]
    finally:
        db.close()
    walkers = []
    for i, code in enumerate(codes):
        answer = httpx.post(f"{server.url}/v1/enrol", json={"code": code, "device_name": f"w{i}"})
        assert answer.status_code == 201, answer.text
        walkers.append(Walker(server.url, answer.json()["token"], i))
    return walkers


def rows(db: Path, sql: str, *params: Any) -> list[tuple[Any, ...]]:
    conn = sqlite3.connect(f"{db.as_uri()}?mode=ro", uri=True)
    try:
        return list(conn.execute(sql, params).fetchall())
    finally:
        conn.close()


def pull_all(url: str, walker: Walker) -> list[dict[str, Any]]:
    changes: list[dict[str, Any]] = []
    since = 0
    while True:
        answer = httpx.get(
            f"{url}/v1/sync/pull", params={"since": since}, headers=walker.headers, timeout=30
        )
        assert answer.status_code == 200, answer.text
        body = answer.json()
        changes += body["changes"]
        since = body["cursor"]
        if not body["more"]:
            return changes


def photo_sha_via_api(url: str, walker: Walker, sha256: str) -> str:
    answer = httpx.get(f"{url}/v1/photos/{sha256}", headers=walker.headers, timeout=30)
    assert answer.status_code == 200, f"{url}: photo {sha256}: {answer.status_code}"
    return hashlib.sha256(answer.content).hexdigest()


@pytest.fixture
def servers() -> Iterator[list[ServerProcess]]:
    started: list[ServerProcess] = []
    yield started
    for server in started:
        server.stop()


@pytest.mark.slow
@pytest.mark.timeout(600)
def test_a_backup_taken_while_20_devices_sync_restores_to_an_equal_server(
    tmp_path: Path, servers: list[ServerProcess]
) -> None:
    quiet = {"WALKAUDIT_REPORT_INTERVAL_S": "0"}  # nothing but the phones writes
    original = ServerProcess(tmp_path / "server", env=quiet).start()
    servers.append(original)
    walkers = enrol_walkers(original, DEVICES)
    with httpx.Client(timeout=60) as client:
        for walker in walkers:
            walker.one_round(client)  # something stored before the syncs below begin

    stop = threading.Event()
    threads = [threading.Thread(target=w.run, args=(stop,)) for w in walkers]
    for thread in threads:
        thread.start()
    try:
        _wait_for(lambda: sum(w.rounds for w in walkers) >= 3 * DEVICES, walkers)
        # What the server had confirmed to the phones before the backup began must be in it.
        before = {w.number: (list(w.confirmed_findings), list(w.confirmed_photos)) for w in walkers}
        manifest = backup(Settings(data_dir=original.data), tmp_path / "backup")
        after = sum(w.rounds for w in walkers)
        # The phones go on: at least one more round each, all after the snapshot.
        _wait_for(lambda: sum(w.rounds for w in walkers) >= after + DEVICES, walkers)
    finally:
        stop.set()
        for thread in threads:
            thread.join(120)
    assert [w.error for w in walkers if w.error] == []

    target = tmp_path / "restored"
    result = restore(tmp_path / "backup", target)
    copy = ServerProcess(target, env=quiet).start()
    servers.append(copy)

    old_db, new_db = original.data / "walkaudit.db", target / "walkaudit.db"
    restored_ids = {r[0] for r in rows(new_db, "SELECT id FROM findings")}
    assert result.findings == len(restored_ids) == manifest.counts["findings"]
    # Everything confirmed before the backup began is there; what came after the snapshot is
    # not (the phones kept pushing after the backup had finished).
    stored = {r[0] for r in rows(new_db, "SELECT sha256 FROM photos")}
    for walker in walkers:
        findings, photos = before[walker.number]
        assert set(findings) <= restored_ids, f"walker {walker.number} lost a finding"
        assert set(photos) <= stored, f"walker {walker.number} lost a photo"
    all_ids = {r[0] for r in rows(old_db, "SELECT id FROM findings")}
    assert restored_ids < all_ids

    # The restored database is the original as of one commit: events are a prefix by seq, and
    # each finding is there exactly when the event that recorded its arrival is.
    last_seq = rows(new_db, "SELECT max(seq) FROM events")[0][0]
    assert rows(new_db, "SELECT * FROM events ORDER BY seq") == rows(
        old_db, "SELECT * FROM events WHERE seq <= ? ORDER BY seq", last_seq
    )
    received = rows(old_db, "SELECT finding_id FROM events WHERE kind = 'received' AND seq <= ?",
                    last_seq)  # fmt: skip
    assert restored_ids == {r[0] for r in received}
    for table, key in [("findings", "id"), ("finding_revisions", "id"),
                       ("finding_photos", "finding_id")]:  # fmt: skip
        restored = rows(new_db, f"SELECT * FROM {table} ORDER BY {key}, 2")
        marks = ",".join("?" * len(restored_ids))
        expected = rows(old_db, f"SELECT * FROM {table} WHERE {key} IN ({marks}) ORDER BY {key}, 2",
                        *restored_ids)  # fmt: skip
        assert restored == expected, table
    old_photos = set(rows(old_db, "SELECT * FROM photos"))
    assert set(rows(new_db, "SELECT * FROM photos")) <= old_photos

    # Through the API of both servers, with the phones' own tokens: each phone's history is the
    # same up to the snapshot, and every photo the copy counts as stored has the original bytes.
    for walker in walkers:
        again = pull_all(copy.url, walker)
        assert again == [c for c in pull_all(original.url, walker) if c["seq"] <= last_seq]
    for (sha256,) in rows(new_db, "SELECT sha256 FROM photos"):
        assert photo_sha_via_api(copy.url, walkers[0], sha256) == sha256
        assert photo_sha_via_api(original.url, walkers[0], sha256) == sha256
        blob = target / "photos" / "blobs" / sha256[:2] / sha256[2:4] / sha256
        assert hashlib.sha256(blob.read_bytes()).hexdigest() == sha256
    assert manifest.damaged == ()


def _wait_for(condition: Any, walkers: list[Walker], timeout: float = 300) -> None:
    done = threading.Event()
    for _ in range(int(timeout * 10)):
        if condition():
            return
        errors = [w.error for w in walkers if w.error]
        assert errors == [], errors
        done.wait(0.1)
    raise AssertionError("the walkers made no progress")


# ---- the backup itself, in-process ----


def seed(server: Server, device: Device, count: int = 3) -> list[str]:
    """Findings with a photo each, stored through the API; the photos' sha256."""
    hashes = []
    for i in range(count):
        photo = make_jpeg(320, 240, seed=i)
        server.push(device, findings=[finding_json(photos=[photo_json(photo)])])
        assert server.upload(device, photo) == 201
        hashes.append(sha(photo))
    return hashes


def blob(root: Path, sha256: str) -> Path:
    return root / "photos" / "blobs" / sha256[:2] / sha256[2:4] / sha256


def files_under(root: Path) -> dict[str, Path]:
    return {p.relative_to(root).as_posix(): p for p in root.rglob("*") if p.is_file()}


def test_the_manifest_lists_every_file_with_its_size_and_sha256(
    server: Server, device: Device, settings: Settings, tmp_path: Path
) -> None:
    hashes = seed(server, device)
    manifest = backup(settings, tmp_path / "backup")

    on_disk = files_under(tmp_path / "backup")
    written = json.loads((tmp_path / "backup" / MANIFEST).read_text())
    assert sorted(on_disk) == sorted([f["path"] for f in written["files"]] + [MANIFEST])
    for entry in written["files"]:
        data = on_disk[entry["path"]].read_bytes()
        assert (len(data), hashlib.sha256(data).hexdigest()) == (entry["size"], entry["sha256"])
    assert {f"photos/blobs/{h[:2]}/{h[2:4]}/{h}" for h in hashes} <= set(on_disk)
    assert written["schema_version"] == len(MIGRATIONS)
    assert written["walkaudit_version"] == metadata.version("walkaudit")
    assert written["counts"]["findings"] == 3 and written["counts"]["photos"] == 3
    assert written["created_at"] <= written["finished_at"]
    assert Manifest.from_json(json.dumps(written)) == manifest
    assert verify(tmp_path / "backup") == manifest
    # the database copy is a whole SQLite file by itself (no -wal beside it)
    copy = tmp_path / "backup" / "walkaudit.db"
    assert rows(copy, "PRAGMA journal_mode") == [("delete",)]
    assert rows(copy, "SELECT count(*) FROM findings") == [(3,)]


def test_everything_in_a_backup_and_a_restore_is_the_owners_alone(
    server: Server, device: Device, settings: Settings, tmp_path: Path
) -> None:
    seed(server, device)
    old = os.umask(0o022)  # as a careless shell would have it
    try:
        backup(settings, tmp_path / "backup")
        restore(tmp_path / "backup", tmp_path / "restored")
    finally:
        os.umask(old)
    for root in (tmp_path / "backup", tmp_path / "restored"):
        modes = {
            p.relative_to(root).as_posix(): stat.S_IMODE(p.stat().st_mode)
            for p in [root, *root.rglob("*")]
        }
        assert {k: oct(m) for k, m in modes.items() if (root / k).is_dir() and m != 0o700} == {}
        assert {k: oct(m) for k, m in modes.items() if (root / k).is_file() and m != 0o600} == {}
        assert len(modes) > 8


def test_what_is_copied_and_what_is_left_out_on_purpose(
    server: Server, device: Device, settings: Settings, tmp_path: Path
) -> None:
    seed(server, device, 1)
    data = settings.data_dir
    (data / "outbox").mkdir()
    (data / "outbox" / "report-1.eml").write_bytes(b"Subject: Rapport\r\n\r\n/o/secret-link\r\n")
    (data / "outbox" / ".report-2.eml.tmp").write_bytes(b"half a mess")
    (data / "server-url").write_text("http://127.0.0.1:8470\n")
    (data / "thumbs").mkdir()
    (data / "thumbs" / "x-640.jpg").write_bytes(make_jpeg(64, 48))
    (data / "phone").mkdir()  # the demo's field device
    (data / "phone" / "walkaudit.db").write_bytes(b"not the server's")
    photo = make_jpeg(seed=99)
    server.push(device, findings=[finding_json(photos=[photo_json(photo)])])
    half = len(photo) // 2
    headers = device.headers | {"Content-Range": f"bytes 0-{half - 1}/{len(photo)}"}
    response = server.client.put(f"/v1/photos/{sha(photo)}", content=photo[:half], headers=headers)
    assert response.status_code == 202  # an upload in progress

    manifest = backup(settings, tmp_path / "backup")

    copied = set(files_under(tmp_path / "backup"))
    assert {"walkaudit.db", "server-url", "outbox/report-1.eml", MANIFEST} <= copied
    assert not {p for p in copied if p.startswith(("thumbs", "phone", "photos/partial"))}
    assert not {p for p in copied if "tmp" in p or p.startswith("walkaudit.db-")}
    assert {n.path for n in manifest.skipped} == {"thumbs", "phone", "photos/partial"}
    assert (tmp_path / "backup/outbox/report-1.eml").read_bytes().endswith(b"secret-link\r\n")
    text = "\n".join(manifest.lines())
    assert "Left out: thumbs" in text and str(tmp_path / "backup" / MANIFEST) in text


def test_a_photo_damaged_on_the_server_is_named_and_the_rest_is_backed_up(
    server: Server, device: Device, settings: Settings, tmp_path: Path
) -> None:
    first, second, third = seed(server, device)
    stored = blob(settings.data_dir, second)
    stored.write_bytes(stored.read_bytes()[:1000])  # a disk that lost the rest
    blob(settings.data_dir, third).unlink()

    manifest = backup(settings, tmp_path / "backup")

    damaged = {n.path.rsplit("/", 1)[1]: n.reason for n in manifest.damaged}
    assert damaged.keys() == {second, third}
    assert damaged[second].startswith("its 1,000 bytes hash to")
    assert damaged[third] == "the database counts it as stored, but the server has no such file"
    backed_up = {f.path.rsplit("/", 1)[1] for f in manifest.photo_files}
    assert backed_up == {first}  # not the wrong bytes under the photo's name
    assert any("DAMAGED" in line and second in line for line in manifest.lines())
    result = restore(tmp_path / "backup", tmp_path / "restored")
    assert result.findings == 3
    assert any(second in line for line in result.lines())


def test_a_backup_goes_only_into_a_new_or_empty_directory(
    server: Server, device: Device, settings: Settings, tmp_path: Path
) -> None:
    seed(server, device, 1)
    (tmp_path / "empty").mkdir()
    backup(settings, tmp_path / "empty")
    assert (tmp_path / "empty" / MANIFEST).is_file()
    with pytest.raises(BackupTargetNotEmpty, match="is not empty; give a new or empty"):
        backup(settings, tmp_path / "empty")
    with pytest.raises(BackupError, match="no server data in"):
        backup(tmp_path / "nowhere", tmp_path / "b2")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["empty", "server"]


# ---- restore ----


@pytest.fixture
def backed_up(server: Server, device: Device, settings: Settings, tmp_path: Path) -> Path:
    seed(server, device)
    backup(settings, tmp_path / "backup")
    return tmp_path / "backup"


def test_restore_refuses_a_directory_that_is_not_empty(backed_up: Path, tmp_path: Path) -> None:
    target = tmp_path / "live"
    target.mkdir()
    (target / "walkaudit.db").write_bytes(b"the data someone still needs")
    with pytest.raises(BackupTargetNotEmpty) as refused:
        restore(backed_up, target)
    assert f"{target} is not empty" in refused.value.message
    assert "move it aside" in refused.value.message
    assert [p.name for p in target.iterdir()] == ["walkaudit.db"]
    assert (target / "walkaudit.db").read_bytes() == b"the data someone still needs"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["backup", "live", "server"]


def test_restore_into_an_empty_directory_opens_with_this_server(
    backed_up: Path, tmp_path: Path
) -> None:
    target = tmp_path / "empty"
    target.mkdir()
    result = restore(backed_up, target)
    assert (result.findings, result.photos, result.schema_version) == (3, 3, len(MIGRATIONS))
    lines = result.lines("walkaudit-server")
    assert lines[0].startswith(f"Restored 3 findings, 3 photos into {target}")
    assert lines[-1] == f"Start the server with: walkaudit-server --data {target} serve"
    assert rows(target / "walkaudit.db", "SELECT count(*) FROM photos") == [(3,)]


@pytest.mark.parametrize("victim", ["a photo", "walkaudit.db"])
def test_a_backup_with_one_byte_changed_is_refused_naming_the_file(
    backed_up: Path, tmp_path: Path, victim: str
) -> None:
    manifest = verify(backed_up)
    path = manifest.photo_files[1].path if victim == "a photo" else "walkaudit.db"
    data = bytearray((backed_up / path).read_bytes())
    data[len(data) // 2] ^= 0x01
    (backed_up / path).write_bytes(bytes(data))

    with pytest.raises(BackupDamaged) as refused:
        restore(backed_up, tmp_path / "restored")
    assert f"{path} has sha256" in refused.value.message
    assert "restore from another backup" in refused.value.message
    assert not (tmp_path / "restored").exists()
    assert sorted(p.name for p in tmp_path.iterdir()) == ["backup", "server"]  # no leftovers


def test_a_backup_missing_a_file_is_refused_naming_it(backed_up: Path, tmp_path: Path) -> None:
    gone = verify(backed_up).photo_files[0].path
    (backed_up / gone).unlink()
    with pytest.raises(BackupDamaged, match=f"{gone} is missing"):
        restore(backed_up, tmp_path / "restored")
    assert not (tmp_path / "restored").exists()


def test_a_manifest_cannot_write_outside_the_data_directory(
    backed_up: Path, tmp_path: Path
) -> None:
    manifest = json.loads((backed_up / MANIFEST).read_text())
    manifest["files"][1]["path"] = "../../escaped"
    (backed_up / MANIFEST).write_text(json.dumps(manifest))
    with pytest.raises(NotABackup, match="not a file inside the backup"):
        restore(backed_up, tmp_path / "restored")
    assert not (tmp_path / "escaped").exists() and not (tmp_path / "restored").exists()


def test_a_backup_from_a_newer_server_or_no_backup_at_all_is_refused(
    backed_up: Path, tmp_path: Path
) -> None:
    manifest = json.loads((backed_up / MANIFEST).read_text())
    manifest["schema_version"] = len(MIGRATIONS) + 1
    (backed_up / MANIFEST).write_text(json.dumps(manifest))
    with pytest.raises(BackupTooNew, match="upgrade walkaudit-server, then restore"):
        restore(backed_up, tmp_path / "restored")
    with pytest.raises(NotABackup, match="holds no manifest.json"):
        restore(tmp_path / "server", tmp_path / "restored")
    assert not (tmp_path / "restored").exists()


# ---- the command line ----


@pytest.mark.slow
def test_backup_and_restore_from_the_command_line(backed_up: Path, tmp_path: Path) -> None:
    made = run("walkaudit-server", "--data", tmp_path / "server", "backup", tmp_path / "nightly")
    assert made.code == 0, made.err
    assert f"Manifest (sizes and sha256 of every file): {tmp_path / 'nightly' / MANIFEST}" in (
        made.err
    )
    assert "3 photo(s)" in made.err
    again = run("walkaudit-server", "--data", tmp_path / "server", "backup", tmp_path / "nightly")
    assert again.code == 1 and "is not empty" in again.err

    back = run("walkaudit-server", "--data", tmp_path / "new", "restore", tmp_path / "nightly")
    assert back.code == 0, back.err
    assert f"Restored 3 findings, 3 photos into {tmp_path / 'new'}" in back.err
    assert f"--data {tmp_path / 'new'} serve" in back.err
    refused = run("walkaudit-server", "--data", tmp_path / "new", "restore", backed_up)
    assert refused.code == 1 and "is not empty" in refused.err


# ---- restore into the directory the service's user was given, or a mount point ----


@pytest.fixture
def reachable() -> Iterator[Path]:
    """A root-owned 0755 directory that other users can reach (tmp_path's parents are root's)."""
    path = Path(tempfile.mkdtemp(prefix="walkaudit-restore-"))
    os.chmod(path, 0o755)
    yield path
    shutil.rmtree(path)


def tree_modes(root: Path) -> dict[str, int]:
    """The mode of root and everything under it, by relative path."""
    return {
        p.relative_to(root).as_posix(): stat.S_IMODE(p.stat().st_mode)
        for p in [root, *root.rglob("*")]
    }


@pytest.fixture
def read_only_parent(reachable: Path) -> Iterator[Path]:
    """srv/walkaudit where srv cannot be written (a read-only bind mount, which stops root too)
    and walkaudit is the service's own empty disk (a tmpfs): as /srv/walkaudit on a server."""
    srv = reachable / "srv"
    target = srv / "walkaudit"
    target.mkdir(parents=True)
    subprocess.run(["mount", "--bind", srv, srv], check=True)
    subprocess.run(["mount", "-o", "remount,bind,ro", srv], check=True)
    try:
        mount_tmpfs(target, 64 * 1024 * 1024)
        yield target
    finally:
        if os.path.ismount(target):
            subprocess.run(["umount", target], check=True)
        subprocess.run(["umount", srv], check=True)


def test_restore_into_its_empty_directory_in_a_parent_it_cannot_write(
    backed_up: Path, read_only_parent: Path
) -> None:
    # As in the README: `walkaudit-server --data /srv/walkaudit restore …` as the service's user,
    # who may write in /srv/walkaudit (made for it, empty) but not in /srv.
    srv = read_only_parent.parent
    with pytest.raises(OSError):
        (srv / "probe").write_text("x")  # the parent really cannot be written

    result = restore(backed_up, read_only_parent)

    assert (result.findings, result.photos) == (3, 3)
    assert [p.name for p in srv.iterdir()] == ["walkaudit"]  # nothing written beside it
    expected = {f.path for f in verify(backed_up).files}
    assert set(files_under(read_only_parent)) == expected  # every file, nothing hidden left
    assert [p.name for p in read_only_parent.iterdir() if p.name.startswith(".")] == []
    modes = tree_modes(read_only_parent)
    assert {k: oct(m) for k, m in modes.items()
            if (read_only_parent / k).is_dir() and m != 0o700} == {}  # fmt: skip
    assert {k: oct(m) for k, m in modes.items()
            if (read_only_parent / k).is_file() and m != 0o600} == {}  # fmt: skip
    # The server opens it: three findings, each with its photo in the blob store.
    listed = run("walkaudit-server", "--data", read_only_parent, "findings", "--json")
    assert listed.code == 0, listed.err
    findings = json.loads(listed.out)
    assert [[p["stored"] for p in f["photos"]] for f in findings] == [[True]] * 3


def mount_tmpfs(path: Path, size: int, remount: bool = False) -> None:
    options = f"{'remount,' if remount else ''}size={size},mode=0755"
    subprocess.run(["mount", "-t", "tmpfs", "-o", options, "tmpfs", path], check=True)


@pytest.fixture
def mount_point(reachable: Path) -> Iterator[Path]:
    """An empty directory that a test mounts a tmpfs on (unmounted afterwards)."""
    path = reachable / "data"
    path.mkdir()
    yield path
    if os.path.ismount(path):
        subprocess.run(["umount", path], check=True)


def test_restore_into_a_mount_point(backed_up: Path, mount_point: Path) -> None:
    # A data directory on its own disk cannot be renamed onto: the copy is built inside it.
    mount_tmpfs(mount_point, 64 * 1024 * 1024)

    result = restore(backed_up, mount_point)

    assert (result.findings, result.photos) == (3, 3)
    assert os.path.ismount(mount_point)
    assert set(files_under(mount_point)) == {f.path for f in result.manifest.files}
    assert [p.name for p in mount_point.iterdir() if p.name.startswith(".")] == []
    assert stat.S_IMODE(mount_point.stat().st_mode) == 0o700  # as a restore into a new one
    assert rows(mount_point / "walkaudit.db", "SELECT count(*) FROM findings") == [(3,)]


def test_a_disk_full_midway_leaves_the_directory_empty_and_a_retry_works(
    backed_up: Path, mount_point: Path
) -> None:
    files = verify(backed_up).files
    assert files[0].path == "walkaudit.db"  # copied first
    page = 4096
    # Room for the database and not much more: the restore fails while copying the photos.
    room = (files[0].size // page + 2) * page
    assert room < sum(f.size for f in files)
    mount_tmpfs(mount_point, room)

    with pytest.raises(BackupError) as failed:
        restore(backed_up, mount_point)

    assert "No space left on device" in failed.value.message
    assert f"cannot restore into {mount_point}" in failed.value.message
    assert list(mount_point.iterdir()) == []  # nothing half that `serve` could start on
    mount_tmpfs(mount_point, 64 * 1024 * 1024, remount=True)  # the disk made bigger
    assert restore(backed_up, mount_point).findings == 3
    assert set(files_under(mount_point)) == {f.path for f in files}

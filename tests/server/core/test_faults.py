"""A full disk says what it is (issue 10, case 7), on a real server whose disk really fills up.

`walkaudit-server serve` runs inside a user and mount namespace (`unshare -rm`) with its data
directory on a small tmpfs mounted there, so the disk that fills is its own and nothing else's.
The test reaches that tmpfs from outside through /proc/<server pid>/root/<data dir>: it fills it
with a file, and removes the file again as a person freeing space would. SQLite cannot be given
that path (it resolves the /proc link to "/" of the test's own namespace, and would open the
database underneath the tmpfs), so the CLI and the checkpoint run inside, through `nsenter`.

What must hold: every request that needs space answers 507 with one sentence (the coordinator web
a page, Swedish first), /healthz answers 503 naming the reason, the phone keeps everything and is
told why, a half-written photo keeps only bytes it really holds; once there is space the same
sync and the same upload go through and nothing is lost.
"""

from __future__ import annotations

import errno
import hashlib
import json
import os
import re
import shutil
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from sync_server.api.errors import STORAGE_FULL
from sync_server.app import create_app
from sync_server.config import Settings
from tests.server.conftest import CHEAP_HASHER, TestClient, finding_json, make_jpeg, photo_json, sha
from tests.support import BIN, Result, ServerProcess, field, run

PHOTO = Path(__file__).resolve().parents[2] / "data" / "photos" / "phone" / "HMD_Nokia_8.3_5G.jpg"
PASSWORD = "ett-långt-lösenord-för-test"
TMPFS_MB = 24


class TmpfsServer(ServerProcess):
    """`serve` in its own user+mount namespace, its data directory a tmpfs of `size_mb`."""

    name = "tmpfs-server"

    def __init__(self, data: Path, size_mb: int, env: dict[str, str]) -> None:
        super().__init__(data, env=env)
        self.size_mb = size_mb

    def command(self) -> list[str]:
        unshare = shutil.which("unshare")
        if unshare is None:
            pytest.fail(
                "this test needs util-linux's `unshare` to give the server a disk of its own"
            )
        script = (
            'mount -t tmpfs -o "size=$1m,mode=0700" tmpfs "$2" || exit 97; '
            'exec "$3" --data "$2" serve --host 127.0.0.1 --port "$4"'
        )
        server = str(BIN / "walkaudit-server")
        return [unshare, "-rm", "sh", "-c", script, "sh", str(self.size_mb), str(self.data),
                server, str(self.port)]  # fmt: skip

    def start(self) -> TmpfsServer:
        try:
            super().start()
        except RuntimeError as exc:
            pytest.fail(
                "the server could not be started on a tmpfs of its own: this test needs user and "
                "mount namespaces (`unshare -rm`, then `mount -t tmpfs`), which this machine or "
                f"container does not allow. What happened: {exc}"
            )
        return self

    @property
    def inside(self) -> Path:
        """The tmpfs as the server sees it, reached from outside its namespace (files only)."""
        assert self.proc is not None
        return Path(f"/proc/{self.proc.pid}/root") / self.data.relative_to("/")

    def enter(self, *command: str | Path, input: str | None = None) -> Result:
        """Run a command inside the server's namespaces (where the tmpfs is mounted)."""
        nsenter = shutil.which("nsenter")
        if nsenter is None:
            pytest.fail("this test needs util-linux's `nsenter` to reach the server's tmpfs")
        assert self.proc is not None
        done = subprocess.run(
            [nsenter, "-t", str(self.proc.pid), "-U", "-m", "--preserve-credentials",
             *map(str, command)],
            capture_output=True, text=True, timeout=120, input=input,
        )  # fmt: skip
        return Result(done.returncode, done.stdout, done.stderr)

    def cli(self, *args: str, input: str | None = None) -> Result:
        return self.enter(BIN / "walkaudit-server", "--data", self.data, *args, input=input)


@pytest.fixture
def server(tmp_path: Path) -> Iterator[TmpfsServer]:
    env = {"WALKAUDIT_REPORT_INTERVAL_S": "0", "WALKAUDIT_MIN_FREE_MB": "1"}
    served = TmpfsServer(tmp_path / "data", TMPFS_MB, env).start()
    try:
        yield served
    finally:
        served.stop()


def fill(path: Path) -> int:
    """Write `path` until the file system refuses a single page more; returns its size."""
    fd = os.open(path, os.O_WRONLY | os.O_CREAT, 0o600)
    try:
        for block in (1 << 20, 1 << 16, 1 << 12, 1):
            try:
                while True:
                    os.write(fd, b"\0" * block)
            except OSError as exc:
                assert exc.errno == errno.ENOSPC, exc
        return os.fstat(fd).st_size
    finally:
        os.close(fd)


def empty_wal(server: TmpfsServer) -> None:
    """Checkpoint the WAL and truncate it to nothing, as SQLite does now and then by itself.

    Without this the WAL's free space would take small commits even on a full disk (SQLite
    reuses its file), and whether a commit fails would depend on the WAL's history.
    """
    database = server.data / "walkaudit.db"
    script = (
        "import sqlite3, sys; c = sqlite3.connect(sys.argv[1]);"
        " print(c.execute('PRAGMA wal_checkpoint(TRUNCATE)').fetchone()[0])"
    )
    done = server.enter(sys.executable, "-c", script, database)
    assert done.code == 0 and done.out.strip() == "0", done.err  # 0: not busy, all checkpointed
    assert (server.inside / "walkaudit.db-wal").stat().st_size == 0


def sign_in(server: TmpfsServer, name: str) -> httpx.Response:
    """The coordinator's sign-in form, filled in and sent (it writes a session)."""
    with httpx.Client(base_url=server.url) as browser:
        form = browser.get("/c/login")
        [token] = re.findall(r'name="csrf" value="([^"]+)"', form.text)
        return browser.post("/c/login", data={"name": name, "password": PASSWORD, "csrf": token})


def upload(server: TmpfsServer, headers: dict[str, str], jpeg: bytes, start: int, end: int) -> Any:
    """PUT bytes start…end-1 of a photo."""
    chunk = {"Content-Range": f"bytes {start}-{end - 1}/{len(jpeg)}"}
    return httpx.put(f"{server.url}/v1/photos/{sha(jpeg)}", content=jpeg[start:end],
                     headers=headers | chunk, timeout=30)  # fmt: skip


def test_a_full_disk_is_507_says_so_and_loses_nothing(server: TmpfsServer, tmp_path: Path) -> None:
    inside = server.inside
    assert os.statvfs(inside).f_blocks * os.statvfs(inside).f_frsize <= TMPFS_MB * 2**20

    # Before the disk fills: a coordinator, a phone on a walk, and a device (over HTTP) whose
    # photo is half uploaded.
    added = server.cli("users", "add", "samordnare", "--role", "coordinator",
                       "--password-stdin", input=f"{PASSWORD}\n")  # fmt: skip
    assert added.code == 0, added.err
    phone = tmp_path / "phone"
    field(phone, "enrol", server.url, server.cli("enrol-code").out.strip())
    field(phone, "walk", "start", "Kvällsvandring Vivalla")
    field(phone, "add", "--category", "BEL", "--lat", "59.2743", "--lon", "15.2066",
          "--note", "Gatlampan vid gångtunneln är trasig", "--photo", PHOTO)  # fmt: skip

    enrolled = httpx.post(
        f"{server.url}/v1/enrol", json={"code": server.cli("enrol-code").out.strip()}
    )
    device = {"Authorization": f"Bearer {enrolled.json()['token']}"}
    jpeg = make_jpeg(640, 480, seed=7)
    first = finding_json(photos=[photo_json(jpeg, 640, 480)])
    pushed = httpx.post(f"{server.url}/v1/sync/push", json={"findings": [first]}, headers=device)
    assert pushed.status_code == 200, pushed.text
    half = len(jpeg) // 2
    assert upload(server, device, jpeg, 0, half).status_code == 202

    # The disk fills up.
    empty_wal(server)
    filler = inside / "filler"
    filled = fill(filler)

    health = httpx.get(f"{server.url}/healthz")
    assert health.status_code == 503
    assert (
        "MB free" in health.json()["detail"] and "WALKAUDIT_MIN_FREE_MB" in health.json()["detail"]
    )

    synced = run("walkaudit", "--data", phone, "sync")  # the walker's phone: told, keeps all
    assert synced.code != 0
    assert STORAGE_FULL in synced.err and "nothing lost" in synced.err

    second = finding_json(note="Klotter på elskåpet", category="KLO")
    refused = httpx.post(f"{server.url}/v1/sync/push", json={"findings": [second]}, headers=device)
    assert refused.status_code == 507
    assert refused.json() == {"detail": STORAGE_FULL}

    rest = upload(server, device, jpeg, half, len(jpeg))
    assert rest.status_code == 507 and rest.json() == {"detail": STORAGE_FULL}
    held = httpx.head(f"{server.url}/v1/photos/{sha(jpeg)}", headers=device)
    offset = int(held.headers["Upload-Offset"])
    assert half <= offset < len(jpeg)
    assert (inside / "photos" / "partial" / sha(jpeg)).read_bytes() == jpeg[:offset]

    page = sign_in(server, "samordnare")
    assert page.status_code == 507 and page.headers["content-type"].startswith("text/html")
    assert "Lagringen är full" in page.text and "Inget som redan var sparat" in page.text

    # Someone frees space: the same sync and the same upload go through.
    filler.unlink()
    assert httpx.get(f"{server.url}/healthz").status_code == 200

    synced = run("walkaudit", "--data", phone, "sync")
    assert synced.code == 0, synced.err
    assert "waiting:     nothing" in field(phone, "status")
    again = httpx.post(f"{server.url}/v1/sync/push", json={"findings": [second]}, headers=device)
    assert again.status_code == 200, again.text
    assert upload(server, device, jpeg, offset, len(jpeg)).status_code == 201
    assert sign_in(server, "samordnare").status_code == 303

    findings = json.loads(server.cli("findings", "--json").out)
    notes = sorted(f["note"] for f in findings)
    assert notes == sorted([first["note"], second["note"], "Gatlampan vid gångtunneln är trasig"])
    photos = [p for f in findings for p in f["photos"]]
    assert len(photos) == 2 and all(p["stored"] for p in photos)
    for photo in photos:
        blob = (
            inside
            / "photos"
            / "blobs"
            / photo["sha256"][:2]
            / photo["sha256"][2:4]
            / photo["sha256"]
        )
        assert hashlib.sha256(blob.read_bytes()).hexdigest() == photo["sha256"]
    assert filled > 1 << 20  # the filler really took the disk (more than a megabyte)


def test_healthz_warns_while_there_is_still_room(tmp_path: Path) -> None:
    """Below WALKAUDIT_MIN_FREE_MB /healthz is 503 before anything is refused (in-process)."""
    free_mb = os.statvfs(tmp_path).f_bavail * os.statvfs(tmp_path).f_frsize // 10**6
    for threshold, status in ((free_mb + 1000, 503), (max(free_mb - 1000, 0), 200)):
        settings = Settings(data_dir=tmp_path / str(threshold), min_free_mb=threshold)
        app = create_app(settings, hasher=CHEAP_HASHER)
        with TestClient(app) as client:
            answer = client.get("/healthz")
        assert answer.status_code == status, answer.text
        if status == 503:
            assert f"less than the {threshold} MB" in answer.json()["detail"]
        else:
            assert answer.json()["status"] == "ok"

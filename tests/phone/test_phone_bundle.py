"""The core walk in a simulated phone bundle, against the real server on loopback.

The bundle (tests/phone/bundle.py): a venv with only the base dependencies, the app as .pyc with
its sources removed, FLET_APP_STORAGE_DATA set and a home that cannot be written. The walk runs in
the bundle's own Python (tests/phone/walk_driver.py: enrol, start a walk, three findings with
camera photos, end, sync); what arrived is read back from the server's database and blob folder.
"""

from __future__ import annotations

import json
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.support import ServerProcess
from tests.ui.sync_support import ServerView
from walkaudit.store import Store

from . import bundle

pytestmark = [pytest.mark.slow, pytest.mark.timeout(900)]  # a cold build installs the runtime

PHOTOS = Path(__file__).resolve().parents[1] / "data" / "photos"
# Real camera JPEGs, all different: one per take_picture.
CAMERA = [PHOTOS / "phone" / "HMD_Nokia_8.3_5G.jpg", PHOTOS / "phone" / "45-gps_ifd.jpg",
          PHOTOS / "gps" / "DSCN0010.jpg", PHOTOS / "orientation" / "landscape_3.jpg",
          PHOTOS / "orientation" / "portrait_6.jpg"]  # fmt: skip
WALK_S = 300


@pytest.fixture(scope="module")
def phone_python() -> Path:
    return bundle.phone_python()


@pytest.fixture
def server(tmp_path: Path) -> Iterator[ServerProcess]:
    served = ServerProcess(tmp_path / "server").start()
    try:
        yield served
    finally:
        served.stop()


def test_the_phone_runtime_has_the_base_dependencies_only(phone_python: Path) -> None:
    found = bundle.importable(phone_python, (*bundle.NOT_ON_PHONE, "flet", "flet_map", "PIL"))
    assert [m for m in bundle.NOT_ON_PHONE if found[m]] == []
    assert found["flet"] and found["flet_map"] and found["PIL"]  # the check can see packages
    # [tool.flet.compile] packages: the packages too are .pyc only.
    [site] = bundle.site_packages(phone_python)
    assert [str(p) for p in site.rglob("*.py")] == []
    assert len(list(site.rglob("*.pyc"))) > 100


def test_the_app_bundle_holds_no_source(phone_python: Path, tmp_path: Path) -> None:
    app = bundle.build_app(phone_python, tmp_path)
    files = bundle.app_files(app)
    assert [f for f in files if f.endswith(".py")] == []
    assert {"main.pyc", "walkaudit/__init__.pyc", "walkaudit/ui/app.pyc"} <= set(files)
    assert not any("__pycache__" in f for f in files)


def test_core_walk_in_the_phone_bundle_reaches_the_server(
    phone_python: Path, tmp_path: Path, server: ServerProcess
) -> None:
    app = bundle.build_app(phone_python, tmp_path)
    support = bundle.build_support(tmp_path)
    env = bundle.phone_env(app, support, tmp_path / "phone")
    data = Path(env["FLET_APP_STORAGE_DATA"])
    before = bundle.app_files(app)

    # The phone's working directory is the app's storage.
    cmd = [str(phone_python), str(support / "walk_driver.py"), server.url, server.enrol_code()]
    try:
        done = subprocess.run(
            [*cmd, *map(str, CAMERA)],
            env=env, cwd=data, capture_output=True, text=True, timeout=WALK_S, check=False,
        )  # fmt: skip
    except subprocess.TimeoutExpired as exc:
        err = exc.stderr.decode() if isinstance(exc.stderr, bytes) else (exc.stderr or "")
        pytest.fail(f"the walk in the bundle took over {WALK_S} s:\n{err[-6000:]}")
    assert done.returncode == 0, f"the walk in the bundle failed:\n{done.stderr[-6000:]}"
    report = json.loads(done.stdout.strip().splitlines()[-1])
    assert report["bundle"] == str(app) and report["modules"] > 10  # the app ran from its .pyc

    assert bundle.app_files(app) == before  # the bundle is read-only on a phone: nothing written
    assert Path(env["HOME"]).read_text() == bundle.HOME_NOTE
    # The app kept its data where main.py's rule put it: FLET_APP_STORAGE_DATA.
    store = Store.open(data)
    try:
        [walk] = store.walks()
        findings = store.findings(walk.id)
        view = ServerView(server)
        assert view.missing(store) == []  # every walk, route, finding and photo is there
    finally:
        store.close()
    assert (walk.name, walk.ended_at is not None) == (report["walk"], True)
    assert sorted(f["category"] for f in findings) == ["BEL", "KLO", "VEG"]

    on_server = view.rows("SELECT name, ended_at FROM walks WHERE id = ?", (walk.id,))
    assert [(name, ended is not None) for name, ended in on_server] == [(walk.name, True)]
    held = view.rows(
        "SELECT f.category, count(p.sha256) FROM findings f"
        " LEFT JOIN finding_photos p ON p.finding_id = f.id WHERE f.walk_id = ?"
        " GROUP BY f.id ORDER BY f.category",
        (walk.id,),
    )
    assert held == [("BEL", 2), ("KLO", 2), ("VEG", 1)]
    shas = [r[0] for r in view.rows("SELECT sha256 FROM finding_photos")]
    assert len(set(shas)) == len(CAMERA)  # five different photos, each with its bytes stored
    assert all(view.blob_sha256(sha) == sha for sha in shas)

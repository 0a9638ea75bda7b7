"""The local store: atomic saves, frozen revisions, the outbox, migrations, crash leftovers."""

from __future__ import annotations

import hashlib
import os
import signal
import sqlite3
import subprocess
import sys
import textwrap
import time
from datetime import timedelta
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from walkaudit import model
from walkaudit.migrations import MigrationError
from walkaudit.store import FrozenError, NoActiveWalkError, Store

from .conftest import make_finding, make_photo


def test_saved_finding_comes_back_whole_with_its_photo_files(store: Store) -> None:
    photos = [make_photo(1), make_photo(2)]
    saved = store.save_finding(make_finding(), photos)
    again = store.finding(saved.id)
    assert again == saved
    assert [p.sha256 for p in again.photos] == [p.sha256 for p in photos]
    for p in photos:
        assert store.photo_path(p.sha256).read_bytes() == p.jpeg
        assert store.thumbnail_path(p.sha256).exists()
    assert store.pending_counts().findings == 1
    assert store.pending_counts().photos == 2


def test_failure_before_commit_leaves_no_finding_and_start_up_removes_the_files(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    s = Store.open(tmp_path, orphan_grace_s=0)
    photo = make_photo(3)
    original_insert = s.db.table("findings").__class__.insert

    def crash(*args: object, **kwargs: object) -> None:
        raise OSError("power cut")

    monkeypatch.setattr(s.db.table("findings").__class__, "insert", crash)
    with pytest.raises(OSError):
        s.save_finding(make_finding(), [photo])
    monkeypatch.setattr(s.db.table("findings").__class__, "insert", original_insert)
    assert s.findings() == []
    assert s.photo_path(photo.sha256).exists()  # written before the commit…
    s.close()
    s = Store.open(tmp_path, orphan_grace_s=0)
    assert not s.photo_path(photo.sha256).exists()  # …and cleaned up at the next start
    assert s.pending_counts().total == 0


def test_clean_up_spares_young_files_another_process_may_be_committing(tmp_path: Path) -> None:
    s = Store.open(tmp_path)
    orphan = s.photo_dir / ("f" * 64 + ".jpg")
    orphan.write_bytes(b"x")
    assert s.clean_leftovers(grace_s=600) == []
    assert s.clean_leftovers(grace_s=0) == [orphan]


KILL_SCRIPT = textwrap.dedent(
    """
    import sys
    sys.path.insert(0, {root!r})
    from tests.conftest import make_finding, make_photo
    from walkaudit.store import Store
    s = Store.open({data!r}, orphan_grace_s=3600)
    print("ready", flush=True)
    i = 0
    while True:
        i += 1
        s.save_finding(make_finding(note=f"n{{i}}"), [make_photo(i, size=(900, 700))])
    """
)


def test_sigkill_at_any_instant_leaves_whole_findings_or_nothing(tmp_path: Path) -> None:
    root = str(Path(__file__).resolve().parent.parent)
    data = str(tmp_path / "d")
    for delay in (0.3, 0.55, 0.8, 1.1):
        proc = subprocess.Popen(
            [sys.executable, "-c", KILL_SCRIPT.format(root=root, data=data)],
            stdout=subprocess.PIPE,
        )
        assert proc.stdout is not None and proc.stdout.readline().strip() == b"ready"
        time.sleep(delay)
        os.kill(proc.pid, signal.SIGKILL)
        proc.wait()
    s = Store.open(data, orphan_grace_s=0)
    rows = s.findings()
    assert len(rows) > 3
    for row in rows:
        f = s.finding(row["id"])
        assert len(f.photos) == 1
        blob = s.photo_path(f.photos[0].sha256).read_bytes()
        assert hashlib.sha256(blob).hexdigest() == f.photos[0].sha256
    names = {p.name for p in s.photo_dir.iterdir()}
    assert not [n for n in names if n.startswith(".tmp-")]
    referenced = {p.sha256 for r in rows for p in s.finding(r["id"]).photos}
    assert {n.split(".")[0] for n in names} == referenced


def test_an_edit_after_queueing_is_a_new_revision_and_the_old_one_stays(store: Store) -> None:
    first = store.save_finding(make_finding(note="gammal"), [make_photo(4)])
    second = store.revise_finding(first.id, note="ny text", severity="urgent")
    assert second.revision == 2 and second.id == first.id
    assert store.finding(first.id, revision=1) == first
    assert store.finding(first.id).note == "ny text"
    assert second.photos == first.photos
    batch = store.outbox_batch()
    assert [(f.id, f.revision) for f in batch.findings] == [(first.id, 1), (first.id, 2)]


def test_delete_is_allowed_only_before_anything_was_sent(store: Store) -> None:
    kept = store.save_finding(make_finding())
    gone = store.save_finding(make_finding())
    store.delete_unsent(gone.id)
    assert [r["id"] for r in store.findings()] == [kept.id]
    batch = store.outbox_batch()
    receipt = model.PushReceipt(
        records=[model.RecordReceipt(kind="finding", id=kept.id, result="created")],
        photos=[],
        track_points=0,
        server_time=model.utcnow(),
    )
    store.apply_receipt(batch, receipt)
    with pytest.raises(FrozenError):
        store.delete_unsent(kept.id)


def test_receipt_confirms_records_keeps_conflicts_and_waits_for_photos(store: Store) -> None:
    ok = store.save_finding(make_finding(), [make_photo(5)])
    clash = store.save_finding(make_finding())
    batch = store.outbox_batch()
    store.apply_receipt(
        batch,
        model.PushReceipt(
            records=[
                model.RecordReceipt(kind="finding", id=ok.id, result="created"),
                model.RecordReceipt(
                    kind="finding", id=clash.id, result="conflict", detail="different content"
                ),
            ],
            photos=[model.PhotoReceipt(sha256=ok.photos[0].sha256, state="needed")],
            track_points=0,
            server_time=model.utcnow(),
        ),
    )
    counts = store.pending_counts()
    assert counts.findings == 2  # one waits for its photo, one is in conflict
    assert counts.conflicts == 1
    assert [p.sha256 for p in store.photos_to_upload()] == [ok.photos[0].sha256]
    assert store.outbox_batch().findings == []  # a conflict is kept, not re-sent
    store.mark_uploaded(ok.photos[0].sha256)
    rows = {r["id"]: r for r in store.findings()}
    assert rows[clash.id]["conflict_detail"] == "different content"
    assert store.pending_counts().findings == 1


def test_walk_ended_while_its_start_was_in_flight_is_sent_again(store: Store) -> None:
    walk = store.start_walk("Kvällsvandring Vivalla", area="Vivalla")
    batch = store.outbox_batch()
    store.end_walk()
    store.apply_receipt(
        batch,
        model.PushReceipt(
            records=[model.RecordReceipt(kind="walk", id=walk.id, result="created")],
            photos=[],
            track_points=0,
            server_time=model.utcnow(),
        ),
    )
    again = store.outbox_batch()
    assert [w.id for w in again.walks] == [walk.id]
    assert again.walks[0].ended_at is not None


def test_walk_end_without_a_walk_says_so(store: Store) -> None:
    with pytest.raises(NoActiveWalkError, match="walk start"):
        store.end_walk()


def test_track_points_are_idempotent(store: Store) -> None:
    walk = store.start_walk("Rutt")
    t = model.utcnow()
    for _ in range(3):
        store.add_track_point(
            model.TrackPoint(walk_id=walk.id, t=t, latitude=59.27, longitude=15.2)
        )
    assert store.pending_counts().track_points == 1


def test_newer_schema_is_refused_not_damaged(tmp_path: Path) -> None:
    Store.open(tmp_path).close()
    conn = sqlite3.connect(tmp_path / "walkaudit.db")
    conn.execute("PRAGMA user_version = 99")
    conn.commit()
    conn.close()
    with pytest.raises(MigrationError, match="newer walkaudit"):
        Store.open(tmp_path)


def test_same_data_directory_opens_twice_like_the_app_and_the_cli(tmp_path: Path) -> None:
    a = Store.open(tmp_path)
    b = Store.open(tmp_path)
    saved = a.save_finding(make_finding(), [make_photo(6)])
    assert b.finding(saved.id) == saved


# ---- properties ---------------------------------------------------------------------------

finite = {"allow_nan": False, "allow_infinity": False}
findings = st.builds(
    model.Finding,
    id=st.builds(model.new_id),
    revision=st.integers(1, 50),
    category=st.sampled_from(sorted(model.categories.CODES)),
    severity=st.sampled_from(list(model.Severity)),
    note=st.text(max_size=300),
    latitude=st.floats(-90, 90, **finite),
    longitude=st.floats(-180, 180, **finite),
    accuracy=st.none() | st.floats(0, 5000, **finite),
    position_source=st.sampled_from(list(model.PositionSource)),
    captured_at=st.datetimes(timezones=st.timezones()).filter(lambda d: d.utcoffset() is not None),
    photos=st.just([]),
)


@given(findings)
def test_model_round_trip_through_json_keeps_content_and_hash(f: model.Finding) -> None:
    again = model.Finding.model_validate_json(f.model_dump_json())
    assert again == f
    assert again.content_hash() == f.content_hash()


@settings(max_examples=40, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(findings)
def test_store_round_trip_keeps_every_field(store: Store, f: model.Finding) -> None:
    store.save_finding(f)
    back = store.finding(f.id, revision=f.revision)
    assert back == f
    assert back.content_hash() == f.content_hash()


def test_minus_zero_coordinates_keep_their_hash_through_the_store(store: Store) -> None:
    """SQLite stores -0.0 as 0.0: the model makes them one value before anything is hashed."""
    f = model.Finding(id=model.new_id(), category="BEL", latitude=-0.0, longitude=-0.0,
                      accuracy=-0.0, captured_at=model.utcnow())  # fmt: skip
    store.save_finding(f)
    back = store.finding(f.id, revision=f.revision)
    assert back.content_hash() == f.content_hash()


# ---- one truth about what waits (issue 9) -------------------------------------------------------


def _receipt_for(batch: model.PushRequest) -> model.PushReceipt:
    """What the server answers when it keeps the whole batch."""
    records = [model.RecordReceipt(kind="walk", id=w.id, result="created") for w in batch.walks]
    records += [
        model.RecordReceipt(kind="finding", id=f.id, revision=f.revision, result="created")
        for f in batch.findings
    ]
    return model.PushReceipt(
        records=records, photos=[], track_points=len(batch.track), server_time=model.utcnow()
    )


def test_a_walk_counts_until_its_start_end_and_route_are_all_confirmed(store: Store) -> None:
    walk = store.start_walk("Kvällsvandring Vivalla")
    counts = store.pending_counts()
    assert (counts.walks, counts.total) == (1, 1)  # the walk's start waits
    store.apply_receipt(batch := store.outbox_batch(), _receipt_for(batch))
    assert store.pending_counts().total == 0

    t0 = model.utcnow()
    for i in range(200):  # a route of 200 points is one walk to the walker, not 200 items
        store.add_track_point(model.TrackPoint(
            walk_id=walk.id, t=t0 + timedelta(seconds=i), latitude=59.27 + i / 1e5,
            longitude=15.2))  # fmt: skip
    counts = store.pending_counts()
    assert (counts.walks, counts.track_points, counts.total) == (1, 200, 1)
    store.apply_receipt(batch := store.outbox_batch(), _receipt_for(batch))
    assert store.pending_counts().total == 0

    store.end_walk()  # the end is news for the server: the walk waits again
    counts = store.pending_counts()
    assert (counts.walks, counts.track_points, counts.total) == (1, 0, 1)
    assert [w["id"] for w in store.pending_walks()] == [walk.id]
    store.apply_receipt(batch := store.outbox_batch(), _receipt_for(batch))
    assert store.pending_counts().total == 0 and store.pending_walks() == []


def test_badge_total_is_walk_findings_photos_and_inbox_captures(store: Store) -> None:
    from walkaudit.inbox import Inbox

    walk = store.start_walk("Runda")
    store.save_finding(make_finding(walk_id=walk.id), [make_photo(1), make_photo(2)])
    Inbox(store).put(make_finding(walk_id=walk.id), [make_photo(3).jpeg, make_photo(4).jpeg])
    counts = store.pending_counts()
    assert (counts.walks, counts.findings, counts.photos) == (1, 1, 2)
    assert (counts.captures, counts.capture_photos) == (1, 2)
    assert counts.total == 1 + 1 + 2 + 1 + 2
    Inbox(store).process_all()  # the capture becomes a finding with two photos: same total
    after = store.pending_counts()
    assert (after.captures, after.findings, after.photos, after.total) == (0, 2, 4, 7)

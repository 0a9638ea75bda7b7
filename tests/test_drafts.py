"""Drafts on disk: what the new-finding screen keeps while a finding is written.

Real files in a temporary data directory and real JPEGs; the kill test kills a real writer process
with SIGKILL at random moments and reads what it left.
"""

from __future__ import annotations

import json
import os
import random
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from tests.conftest import make_photo
from walkaudit import model
from walkaudit.drafts import DRAFTS_DIR, Draft, DraftBox, photo_name


def full_draft(seed: int = 1, photos: int = 2) -> Draft:
    return Draft(
        walk_id=model.new_id(),
        category="BEL",
        severity=model.Severity.HIGH,
        note=f"Lampan vid gångtunneln är trasig ({seed})",
        latitude=59.2743,
        longitude=15.2066,
        accuracy=4.0,
        source=model.PositionSource.GPS,
        raw_photos=[make_photo(seed * 10 + i).jpeg for i in range(photos)],
        add_to=None,
    )


def test_a_draft_comes_back_as_it_was_kept(tmp_path: Path) -> None:
    box = DraftBox(tmp_path)
    assert box.load() is None and not box.exists()
    draft = full_draft()
    assert box.save(draft)
    again = DraftBox(tmp_path).load()  # another process start: a fresh box
    assert again == draft
    files = sorted(p.name for p in (tmp_path / DRAFTS_DIR).iterdir())
    assert files == sorted(["draft.json", *(photo_name(p) for p in draft.raw_photos)])


def test_a_removed_photo_leaves_the_folder_and_clear_leaves_nothing(tmp_path: Path) -> None:
    box = DraftBox(tmp_path)
    draft = full_draft(photos=3)
    box.save(draft)
    gone = draft.raw_photos.pop(1)
    box.save(draft)
    assert not (tmp_path / DRAFTS_DIR / photo_name(gone)).exists()
    assert box.load() == draft
    box.clear()
    assert box.load() is None and list((tmp_path / DRAFTS_DIR).iterdir()) == []


def test_a_late_write_cannot_bring_back_a_cleared_draft(tmp_path: Path) -> None:
    box = DraftBox(tmp_path)
    older, clearing = box.ticket(), box.ticket()
    assert box.clear(clearing)  # the finding was saved
    assert not box.save(full_draft(), older)  # an autosave that started before it
    assert box.load() is None
    assert box.save(full_draft(2), box.ticket())  # the next finding's draft is kept again


def test_a_draft_whose_finding_was_saved_is_not_offered(tmp_path: Path) -> None:
    box = DraftBox(tmp_path)
    draft = full_draft()
    box.save(draft)
    assert box.load(saved=lambda fid: fid == "someone else") == draft
    assert box.load(saved=lambda fid: fid == draft.id) is None  # killed after save, before clear
    assert not box.exists()


def test_an_unreadable_draft_is_moved_aside_not_deleted(tmp_path: Path) -> None:
    box = DraftBox(tmp_path)
    box.path.write_text("{not json")
    assert box.load() is None and not box.exists()
    [kept] = (tmp_path / DRAFTS_DIR).glob("draft-unreadable-*.json")
    assert kept.read_text() == "{not json"


def test_a_failed_write_leaves_the_previous_draft_whole(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    box = DraftBox(tmp_path)
    first = full_draft(1)
    box.save(first)
    real_replace = os.replace

    def dies_on_the_json(src: str | Path, dst: str | Path) -> None:
        if Path(dst).name == "draft.json":
            raise OSError(28, "No space left on device")
        real_replace(src, dst)

    monkeypatch.setattr(os, "replace", dies_on_the_json)
    with pytest.raises(OSError):
        box.save(full_draft(2, photos=3))
    monkeypatch.undo()
    assert DraftBox(tmp_path).load() == first


WRITER = """
import sys
from walkaudit import model
from walkaudit.drafts import Draft, DraftBox
from tests.conftest import make_photo

box = DraftBox(sys.argv[1])
drafts = [
    Draft(id=f"draft-{k}", category=cat, note=note * 200, latitude=59.27, longitude=15.2,
          raw_photos=[make_photo(k * 10 + i, size=(1200, 900), noise=True).jpeg
                      for i in range(k + 1)])
    for k, (cat, note) in enumerate([("BEL", "mörkt "), ("KLO", "klotter "), ("VEG", "buskar ")])
]
print("ready", flush=True)
n = 0
while True:
    box.save(drafts[n % 3], box.ticket())
    n += 1
"""


def test_a_kill_at_any_moment_leaves_a_whole_draft(tmp_path: Path) -> None:
    """SIGKILL a process that rewrites drafts without pause: what is left is always one whole
    draft (its note and every one of its photos), never a mixture or a half-written file."""
    root = Path(__file__).resolve().parent.parent
    rng = random.Random(9)
    seen = set()
    for _ in range(12):
        proc = subprocess.Popen(
            [sys.executable, "-c", WRITER, str(tmp_path)],
            cwd=root,
            stdout=subprocess.PIPE,
            text=True,
        )
        assert proc.stdout is not None and proc.stdout.readline().strip() == "ready"
        time.sleep(rng.uniform(0.05, 0.6))
        proc.send_signal(signal.SIGKILL)
        proc.wait()
        draft = DraftBox(tmp_path).load()
        assert draft is not None
        k = int(draft.id.removeprefix("draft-"))
        assert draft.category == ("BEL", "KLO", "VEG")[k]
        assert draft.note == ("mörkt ", "klotter ", "buskar ")[k] * 200
        assert len(draft.raw_photos) == k + 1
        assert [photo_name(p) for p in draft.raw_photos] == json.loads(
            DraftBox(tmp_path).path.read_text()
        )["photos"]
        seen.add(k)
    assert len(seen) > 1  # the kills landed on different drafts

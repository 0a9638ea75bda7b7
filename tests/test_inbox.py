"""The inbox under the ways the app really runs it: several passes at once, a finding that is
full, a capture that cannot be completed, and answers that may already be on their way."""

from __future__ import annotations

import threading
from pathlib import Path

from walkaudit import model
from walkaudit.inbox import Inbox
from walkaudit.remote import RemoteFindings
from walkaudit.store import Store

from .conftest import make_finding, make_photo


def test_two_passes_at_once_complete_each_capture_once(tmp_path: Path) -> None:
    """Saving the last finding and tapping *Avsluta* start two pipeline passes together."""
    store = Store.open(tmp_path)
    inbox = Inbox(store)
    own = make_finding()
    store.save_finding(own, [make_photo(1)])
    inbox.put(make_finding(duplicate_of=own.id), [make_photo(2).jpeg])  # "the same thing"
    plain = make_finding(category="KLO")
    inbox.put(plain, [make_photo(3).jpeg])
    errors: list[BaseException] = []

    def run() -> None:
        try:
            inbox.process_all()
        except BaseException as exc:  # what a handler would see
            errors.append(exc)

    threads = [threading.Thread(target=run) for _ in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert errors == [] and inbox.items() == []
    assert len(store.finding(own.id).photos) == 2  # the added photo once, not twice
    assert store.finding(own.id).revision == 2
    assert len(store.finding(plain.id).photos) == 1


def test_a_same_thing_photo_never_takes_a_finding_past_what_the_wire_allows(
    tmp_path: Path,
) -> None:
    store = Store.open(tmp_path)
    inbox = Inbox(store)
    own = make_finding()
    store.save_finding(own, [make_photo(i) for i in range(8)])
    inbox.put(make_finding(duplicate_of=own.id), [make_photo(20 + i).jpeg for i in range(4)])
    [done] = inbox.process_all()
    assert len(store.finding(own.id).photos) == model.MAX_PHOTOS
    assert any("at most 10" in p for p in done.problems)
    batch = store.outbox_batch()  # still a valid batch: the sync is not blocked
    assert [f.id for f in batch.findings] == [own.id, own.id]


def test_a_capture_that_cannot_be_completed_is_set_aside_and_the_rest_go_on(
    tmp_path: Path,
) -> None:
    store = Store.open(tmp_path)
    inbox = Inbox(store)
    first, second = make_finding(), make_finding(category="SKR")
    inbox.put(first, [make_photo(1).jpeg])
    inbox.put(second, [make_photo(2).jpeg])
    store.save_finding(first, [])  # the same id already saved another way: completing fails
    done = inbox.process_all()
    assert [p.finding.id for p in done] == [second.id]
    assert store.has_finding(second.id) and len(store.finding(second.id).photos) == 1
    [left] = inbox.items()  # kept, with a reason a person can read, for the next pass
    assert left.finding.id == first.id and "IntegrityError" in (left.error or "")
    assert store.pending_counts().captures == 1


def test_a_same_thing_capture_without_photos_adds_no_empty_revision(tmp_path: Path) -> None:
    store = Store.open(tmp_path)
    inbox = Inbox(store)
    own = make_finding()
    store.save_finding(own, [make_photo(1)])
    inbox.put(make_finding(duplicate_of=own.id), [])
    inbox.process_all()
    assert inbox.items() == [] and store.finding(own.id).revision == 1


def test_an_answer_that_went_out_is_followed_not_replaced(tmp_path: Path) -> None:
    """A changed answer replaces one that never left; one a sync has sent keeps its photo."""
    store = Store.open(tmp_path)
    remote = RemoteFindings(store)
    fid = model.new_id()
    remote.answer(fid, model.EventKind.STILL_THERE)
    remote.answer(fid, model.EventKind.VERIFIED, [make_photo(5)])  # not sent: replaces
    assert [e.kind for e in store.outbox_batch().events] == [model.EventKind.VERIFIED]
    # That batch is on its way (no receipt yet) when the walker changes the answer again.
    remote.answer(fid, model.EventKind.STILL_THERE)
    kinds = [e.kind for e in store.outbox_batch().events]
    assert kinds == [model.EventKind.VERIFIED, model.EventKind.STILL_THERE]
    assert remote.my_answers([fid])[fid].kind is model.EventKind.STILL_THERE
    assert store.pending_counts().photos == 1  # the photo of the sent answer still goes


def test_a_conflict_alone_gives_a_sync_nothing_to_do(tmp_path: Path) -> None:
    store = Store.open(tmp_path)
    finding = make_finding()
    store.save_finding(finding, [])
    assert store.pending_counts().to_send == 1
    batch = store.outbox_batch()
    receipt = model.PushReceipt(
        records=[model.RecordReceipt(kind="finding", id=finding.id, result="conflict", detail="x")],
        photos=[],
        track_points=0,
        server_time=model.utcnow(),
    )
    store.apply_receipt(batch, receipt)
    counts = store.pending_counts()
    assert counts.total == 1 and counts.conflicts == 1 and counts.to_send == 0

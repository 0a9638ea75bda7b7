"""The core pieces the app stands on: the inbox (instant save), geo, remote findings, i18n."""

from __future__ import annotations

import io
from pathlib import Path

import pytest
from PIL import Image

from walkaudit import categories, geo, i18n, model
from walkaudit.inbox import Inbox
from walkaudit.remote import RemoteFindings
from walkaudit.store import Store

from .conftest import make_finding

PHOTOS = Path(__file__).parent / "data" / "photos"


def test_inbox_keeps_the_capture_until_the_finding_is_whole(tmp_path: Path) -> None:
    store = Store.open(tmp_path)
    inbox = Inbox(store)
    raw = (PHOTOS / "orientation" / "portrait_6.jpg").read_bytes()
    finding = make_finding()
    inbox.put(finding, [raw])
    store.close()
    # The app died before the pipeline ran: at the next start the capture is still there.
    store = Store.open(tmp_path)
    inbox = Inbox(store)
    [capture] = inbox.items()
    assert capture.finding == finding and capture.raw[0].read_bytes() == raw
    [done] = inbox.process_all()
    assert done.problems == []
    saved = store.finding(finding.id)
    assert len(saved.photos) == 1
    upright = Image.open(io.BytesIO(store.photo_path(saved.photos[0].sha256).read_bytes()))
    assert upright.height > upright.width  # portrait_6 is stored sideways: turned upright
    assert inbox.items() == [] and not any(inbox.dir.iterdir())


def test_a_broken_photo_in_the_inbox_does_not_lose_the_finding(tmp_path: Path) -> None:
    store = Store.open(tmp_path)
    inbox = Inbox(store)
    finding = make_finding()
    inbox.put(finding, [b"\xff\xd8\xff" + b"\x00" * 100])
    [done] = inbox.process_all()
    assert len(done.problems) == 1 and done.problems[0].startswith("foto: ")
    assert store.finding(finding.id).photos == []
    assert store.pending_counts().findings == 1


def test_nearby_finds_only_close_same_place_items_nearest_first() -> None:
    here = (59.2743, 15.2066)
    pts = {"a": (59.27440, 15.2066), "b": (59.27450, 15.2066), "far": (59.2760, 15.2066)}
    found = geo.nearby(pts.items(), *here, position=lambda kv: kv[1], radius_m=25)
    assert [kv[0] for _, kv in found] == ["a", "b"]
    assert 10 < found[0][0] < 12 and 21 < found[1][0] < 23  # 0.0001° of latitude is ~11.1 m


def test_track_length_of_a_known_route() -> None:
    # 0.01° of latitude is 1,113 m on WGS-84 near 59° N (geodesic); there and back: twice that.
    route = [(59.27, 15.2), (59.28, 15.2), (59.27, 15.2)]
    assert geo.track_length_m(route) == pytest.approx(2 * 1113.6, rel=0.002)


def test_remote_findings_near_and_in_area(tmp_path: Path) -> None:
    store = Store.open(tmp_path)
    remote = RemoteFindings(store)
    f1 = make_finding(category="KLO", latitude=59.27430, longitude=15.2066)
    f2 = make_finding(category="BEL", latitude=59.27431, longitude=15.2066)
    remote.save([model.OpenFinding(finding=f, status="sent", area="Vivalla") for f in (f1, f2)])
    assert [o.finding.id for _, o in remote.near(59.2744, 15.2066, "KLO")] == [f1.id]
    assert {o.finding.id for o in remote.in_area("vivalla")} == {f1.id, f2.id}
    remote.answer(f1.id, model.EventKind.STILL_THERE)
    remote.answer(f1.id, model.EventKind.VERIFIED)  # changed before sync: replaces the first
    mine = remote.my_answers([f1.id, f2.id])
    assert list(mine) == [f1.id] and mine[f1.id].kind is model.EventKind.VERIFIED
    assert store.pending_counts().events == 1


def test_every_message_has_swedish_and_english_and_fills_its_placeholders() -> None:
    for key, (sv, en) in i18n.MESSAGES.items():
        assert sv.strip() and en.strip(), key
        assert sorted(_fields(sv)) == sorted(_fields(en)), key
    assert i18n.t("pending.some", "sv", n=3) == "3 väntar på synk"
    assert i18n.t("pending.some", "en", n=3) == "3 waiting to sync"
    assert i18n.Translator("en").category("ORD").startswith("Disorder")
    assert i18n.Translator("xx")("walk.start") == "Starta vandring"  # unknown: Swedish
    for c in categories.CATEGORIES:
        assert c.sv and c.en


def _fields(text: str) -> list[str]:
    import string

    return [f for _, f, _, _ in string.Formatter().parse(text) if f]

"""The coordinator's findings: filters, actions as events, merges, triage, follow-up walks."""

from __future__ import annotations

import io
import re
from datetime import timedelta
from typing import Any

import pytest
from PIL import Image

from sync_server.core.history import add_server_event
from sync_server.owners import routing
from sync_server.owners.policy import default_priority
from sync_server.workspace import tracking
from tests.server.conftest import event_json, finding_json, make_jpeg, photo_json
from tests.server.workspace_support import Staff
from walkaudit.model import EventKind, new_id, utcnow

VIVALLA = "Vivalla"


def walk(area: str = VIVALLA, name: str = "Kvällsvandring") -> dict[str, Any]:
    return {"id": new_id(), "name": name, "area": area, "started_at": utcnow().isoformat()}


@pytest.fixture
def seeded(staff: Staff) -> dict[str, Any]:
    """A walk in Vivalla with lamp (+photo), a near duplicate and graffiti; one in Baronbackarna."""
    s = staff.server
    phone = s.enrol("Polis Örebro")
    w1, w2 = walk(), walk("Baronbackarna", "Dagvandring")
    jpeg = make_jpeg(seed=3)
    old = (utcnow() - timedelta(days=400)).isoformat()
    lamp = finding_json(
        walk_id=w1["id"],
        note="Trasig gatlampa vid tunneln",
        photos=[photo_json(jpeg)],
        severity="urgent",
        captured_at=old,
    )
    dup = finding_json(
        walk_id=w1["id"], note="Mörkt vid tunneln", latitude=59.27433, longitude=15.20662
    )
    graffiti = finding_json(
        walk_id=w1["id"],
        category="KLO",
        note="Klotter på elskåpet",
        latitude=59.2760,
        severity="low",
    )
    other = finding_json(
        walk_id=w2["id"],
        category="VEG",
        note="Buskar skymmer entrén",
        latitude=59.2900,
        longitude=15.1800,
    )
    s.push(phone, walks=[w1, w2], findings=[lamp, dup, graffiti, other])
    assert s.upload(phone, jpeg) in (200, 201)
    routing.route_pending(s.db)
    return {
        "phone": phone,
        "lamp": lamp["id"],
        "dup": dup["id"],
        "graffiti": graffiti["id"],
        "other": other["id"],
        "jpeg": jpeg,
        "walk": w1["id"],
    }


def ids_on_page(html: str) -> set[str]:
    return set(re.findall(r'<tr data-id="([0-9a-f-]{36})"', html))


@pytest.mark.parametrize(
    ("query", "expected"),
    [
        ("", {"lamp", "dup", "graffiti", "other"}),
        ("category=BEL", {"lamp", "dup"}),
        ("severity=low", {"graffiti"}),
        ("area=vivalla", {"lamp", "dup", "graffiti"}),
        ("q=tunneln", {"lamp", "dup"}),
        ("q=100%25", set()),
        ("status=open", {"lamp", "dup", "graffiti", "other"}),
        ("status=done", set()),
        ("overdue=1", {"lamp"}),  # urgent, found 400 days ago: its deadline has passed
    ],
)
def test_the_list_shows_exactly_what_the_filters_select(
    staff: Staff, seeded: dict[str, Any], query: str, expected: set[str]
) -> None:
    page = staff.viewer.get(f"/c/findings?{query}")
    assert page.status_code == 200
    assert ids_on_page(page.text) == {seeded[k] for k in expected}
    assert f"{len(expected)} fynd" in page.text


def test_walk_owner_and_date_filters(staff: Staff, seeded: dict[str, Any]) -> None:
    owner = staff.server.rows(
        "SELECT owner_id FROM assignments WHERE finding_id = ?", seeded["other"]
    )[0][0]
    by_walk = staff.viewer.get(f"/c/findings?walk={seeded['walk']}")
    assert ids_on_page(by_walk.text) == {seeded[k] for k in ("lamp", "dup", "graffiti")}
    if owner:
        by_owner = staff.viewer.get(f"/c/findings?owner={owner}")
        assert seeded["other"] in ids_on_page(by_owner.text)
    today = utcnow().date().isoformat()
    recent = staff.viewer.get(f"/c/findings?date_from={today}")
    assert ids_on_page(recent.text) == {seeded[k] for k in ("dup", "graffiti", "other")}


@pytest.mark.parametrize(
    "query",
    ["status=broken", "category=XYZ", "date_from=igår", "date_from=2026-02-01&date_to=2026-01-01"],
)
def test_an_unusable_filter_says_why_and_shows_the_unfiltered_list(
    staff: Staff, seeded: dict[str, Any], query: str
) -> None:
    page = staff.viewer.get(f"/c/findings?{query}")
    assert page.status_code == 422 and "Filtret går inte att använda" in page.text
    assert staff.viewer.get(f"/c/map.json?{query}").status_code == 422


def test_the_map_gets_every_filtered_point(staff: Staff, seeded: dict[str, Any]) -> None:
    body = staff.viewer.get("/c/map.json?category=BEL").json()
    assert {p[2] for p in body["points"]} == {seeded["lamp"], seeded["dup"]}
    assert body["more"] is False and all(p[3] == "BEL" for p in body["points"])


def test_a_status_change_is_an_event_and_a_second_click_changes_nothing(
    staff: Staff, seeded: dict[str, Any]
) -> None:
    form = {"status": "planned", "note": "Byts vecka 50", "event_id": new_id()}
    first = staff.post("coordinator", f"/c/findings/{seeded['lamp']}/status", form)
    assert first.status_code == 303 and "findings.done.status" in first.headers["location"]
    second = staff.post("coordinator", f"/c/findings/{seeded['lamp']}/status", form)
    assert "findings.done.twice" in second.headers["location"]
    rows = staff.server.rows(
        "SELECT kind, actor, note FROM events WHERE finding_id = ? AND kind = 'planned'",
        seeded["lamp"],
    )
    assert rows == [("planned", "user:coordinator1", "Byts vecka 50")]
    page = staff.coordinator.get(f"/c/findings/{seeded['lamp']}")
    assert "Planerat" in page.text and "Byts vecka 50" in page.text
    same = staff.post(
        "coordinator",
        f"/c/findings/{seeded['lamp']}/status",
        {"status": "planned", "event_id": new_id(), "note": "igen"},
    )
    assert same.status_code == 409 and "redan det läget" in same.text
    assert "igen" in same.text  # what was typed is still in the form


def test_priority_and_deadline_have_defaults_and_can_be_set(
    staff: Staff, seeded: dict[str, Any]
) -> None:
    page = staff.coordinator.get(f"/c/findings/{seeded['graffiti']}")
    assert "prioritet 3" in page.text  # low severity
    answer = staff.post(
        "coordinator",
        f"/c/findings/{seeded['graffiti']}/plan",
        {"priority": "1", "deadline": "2027-01-15", "event_id": new_id()},
    )
    assert "findings.done.plan" in answer.headers["location"]
    assert staff.server.rows(
        "SELECT ft.priority, a.deadline FROM finding_tracking ft JOIN assignments a"
        " ON a.finding_id = ft.finding_id WHERE ft.finding_id = ?",
        seeded["graffiti"],
    ) == [("1", "2027-01-15")]
    bad = staff.post(
        "coordinator",
        f"/c/findings/{seeded['graffiti']}/plan",
        {"priority": "9", "deadline": "snart", "event_id": new_id()},
    )
    assert bad.status_code == 409 and "Prioritet ska vara 1, 2 eller 3" in bad.text


@pytest.mark.parametrize(
    ("severity", "category", "priority"),
    [
        ("high", "KLO", "1"),
        ("medium", "KLO", "2"),
        ("low", "SKR", "3"),
        ("medium", "BEL", "1"),
        ("low", "SKA", "2"),
        ("urgent", "POS", "3"),
    ],
)
def test_default_priority_reads_severity_and_category(
    severity: str, category: str, priority: str
) -> None:
    assert default_priority(severity, category) == priority


def test_merging_a_duplicate_folds_it_into_the_other_and_loses_nothing(
    staff: Staff, seeded: dict[str, Any]
) -> None:
    page = staff.coordinator.get(f"/c/findings/{seeded['dup']}")
    assert seeded["lamp"] in page.text  # offered as a similar finding nearby
    merged = staff.post(
        "coordinator",
        f"/c/findings/{seeded['dup']}/merge",
        {"into": seeded["lamp"], "event_id": new_id()},
    )
    assert merged.headers["location"].startswith(f"/c/findings/{seeded['lamp']}?")
    assert seeded["dup"] not in ids_on_page(staff.viewer.get("/c/findings").text)
    dup_page = staff.viewer.get(f"/c/findings/{seeded['dup']}")
    assert "dubblett" in dup_page.text and "Mörkt vid tunneln" in dup_page.text
    assert staff.server.rows("SELECT status FROM findings WHERE id = ?", seeded["dup"]) == [
        ("closed",)
    ]
    lamp_page = staff.viewer.get(f"/c/findings/{seeded['lamp']}")
    assert seeded["dup"][:8] in lamp_page.text
    # Merging it again, into itself, or into something that does not exist is refused.
    again = staff.post(
        "coordinator",
        f"/c/findings/{seeded['dup']}/merge",
        {"into": seeded["graffiti"], "event_id": new_id()},
    )
    assert again.status_code == 409
    self_merge = staff.post(
        "coordinator",
        f"/c/findings/{seeded['lamp']}/merge",
        {"into": seeded["dup"], "event_id": new_id()},
    )
    assert self_merge.status_code == 409 and "sig självt" in self_merge.text
    nowhere = staff.post(
        "coordinator",
        f"/c/findings/{seeded['graffiti']}/merge",
        {"into": new_id(), "event_id": new_id()},
    )
    assert nowhere.status_code == 409 and "Det finns inget fynd" in nowhere.text


def test_reopen_only_what_is_done(staff: Staff, seeded: dict[str, Any]) -> None:
    open_one = staff.post(
        "coordinator", f"/c/findings/{seeded['lamp']}/reopen", {"note": "x", "event_id": new_id()}
    )
    assert open_one.status_code == 409 and "redan öppet" in open_one.text
    staff.post(
        "coordinator",
        f"/c/findings/{seeded['lamp']}/status",
        {"status": "closed", "event_id": new_id()},
    )
    answer = staff.post(
        "coordinator",
        f"/c/findings/{seeded['lamp']}/reopen",
        {"note": "Lampan är trasig igen", "event_id": new_id()},
    )
    assert "findings.done.reopen" in answer.headers["location"]
    assert staff.server.rows("SELECT status FROM findings WHERE id = ?", seeded["lamp"]) == [
        ("reopened",)
    ]
    assert staff.server.rows(
        "SELECT fixed_at, closed_at FROM finding_tracking WHERE finding_id = ?", seeded["lamp"]
    ) == [(None, None)]


def test_triage_is_answered_by_choosing_an_owner(staff: Staff, seeded: dict[str, Any]) -> None:
    s = staff.server
    routing.reroute_to_triage(s.db, seeded["graffiti"], "not_ours", "owner said not ours")
    page = staff.viewer.get("/c/triage")
    assert seeded["graffiti"] in page.text and "inte vårt" in page.text
    assert "<select" not in page.text  # a viewer reads, cannot choose
    listed = staff.viewer.get("/c/findings")
    waiting = len(routing.triage(s.db))
    assert f'href="/c/triage">{waiting} att fördela' in listed.text  # what needs a person
    choose = staff.coordinator.get("/c/triage").text
    assert '<optgroup label="Kommuner">' in choose and "Örebro – saknar e-post" in choose
    owner = s.rows(
        "SELECT id, name FROM owners WHERE kind = 'municipality' AND name LIKE 'Örebro%'"
    )[0]
    with s.db.write() as tx:  # the municipality needs an address to receive it
        tx.execute("UPDATE owners SET email = 'trygg@orebro.example' WHERE id = ?", [owner[0]])
    answer = staff.post(
        "coordinator",
        f"/c/findings/{seeded['graffiti']}/owner",
        {"owner_id": owner[0], "next": "/c/triage"},
    )
    assert answer.headers["location"].startswith("/c/triage?notice=")
    assert seeded["graffiti"] not in staff.viewer.get("/c/triage").text
    nobody = staff.post("coordinator", f"/c/findings/{seeded['graffiti']}/owner", {})
    assert nobody.status_code == 422 and "Välj en ansvarig" in nobody.text


def test_an_empty_comment_is_refused_and_a_comment_lands_once(
    staff: Staff, seeded: dict[str, Any]
) -> None:
    empty = staff.post("coordinator", f"/c/findings/{seeded['lamp']}/comment", {"note": " "})
    assert empty.status_code == 422 and "Skriv en kommentar" in empty.text
    form = {"note": "Ringt Mimer", "event_id": new_id()}
    staff.post("coordinator", f"/c/findings/{seeded['lamp']}/comment", form)
    staff.post("coordinator", f"/c/findings/{seeded['lamp']}/comment", form)
    assert staff.server.rows("SELECT count(*) FROM events WHERE note = 'Ringt Mimer'") == [(1,)]


def test_a_planned_follow_up_reaches_the_field_app_and_its_answers_come_back(
    staff: Staff, seeded: dict[str, Any]
) -> None:
    s, phone = staff.server, seeded["phone"]
    # The owner says the lamp is fixed; the graffiti stays open.
    with s.db.write() as tx:
        add_server_event(tx, seeded["lamp"], EventKind.FIXED, actor="owner:x", note="bytt")
    choose = staff.coordinator.get("/c/followups?area=vivalla")
    assert seeded["lamp"] in choose.text and seeded["graffiti"] in choose.text
    form = {
        "name": "Uppföljning Vivalla dec",
        "area": VIVALLA,
        "followup_id": new_id(),
        "finding": [seeded["lamp"], seeded["graffiti"]],
    }
    created = staff.post("coordinator", "/c/followups", form)
    assert created.status_code == 303
    again = staff.post("coordinator", "/c/followups", form)  # a second click: the same one
    assert again.headers["location"] == created.headers["location"]
    assert s.rows("SELECT count(*) FROM followups") == [(1,)]

    # The walker types the follow-up's name in the app: these two findings, under that name.
    fetched = s.client.get(
        "/v1/findings/open", params={"area": "uppföljning vivalla dec"}, headers=phone.headers
    ).json()
    assert {f["finding"]["id"] for f in fetched["findings"]} == {seeded["lamp"], seeded["graffiti"]}
    assert {f["area"] for f in fetched["findings"]} == {"uppföljning vivalla dec"}

    # On the walk: the "fixed" lamp is still there, the graffiti is gone.
    s.push(
        phone,
        events=[
            event_json(seeded["lamp"], "still_there"),
            event_json(seeded["graffiti"], "verified"),
        ],
    )
    lamp = s.rows(
        "SELECT f.status, ft.flagged_at IS NOT NULL FROM findings f JOIN"
        " finding_tracking ft ON ft.finding_id = f.id WHERE f.id = ?",
        seeded["lamp"],
    )
    assert lamp == [("reopened", 1)]
    followup_id = created.headers["location"].split("/")[3].split("?")[0]
    page = staff.viewer.get(f"/c/followups/{followup_id}")
    assert "1 verifierade" in page.text and "1 fanns kvar" in page.text
    flagged = staff.viewer.get("/c/findings?flagged=1")
    assert ids_on_page(flagged.text) == {seeded["lamp"]}
    # A second follow-up with the same name while this one is open is refused, by name.
    taken = staff.post("coordinator", "/c/followups", form | {"followup_id": new_id()})
    assert taken.status_code == 422 and "redan det namnet" in taken.text


def test_staff_photos_are_served_and_unknown_ones_are_not(
    staff: Staff, seeded: dict[str, Any]
) -> None:
    sha = photo_json(seeded["jpeg"])["sha256"]
    ok = staff.viewer.get(f"/c/photos/{sha}.jpg")
    assert ok.status_code == 200 and ok.content == seeded["jpeg"]
    assert staff.viewer.get(f"/c/photos/{'0' * 64}.jpg").status_code == 404
    assert staff.viewer.get("/c/photos/..%2F..%2Fwalkaudit.db.jpg").status_code == 404
    assert staff.anonymous.get(f"/c/photos/{sha}.jpg", follow_redirects=False).status_code == 303


def test_pages_show_small_copies_and_link_the_whole_photo(
    staff: Staff, seeded: dict[str, Any]
) -> None:
    big = make_jpeg(1600, 1200, seed=4)
    phone = seeded["phone"]
    f = finding_json(photos=[photo_json(big, 1600, 1200)])
    staff.server.push(phone, findings=[f])
    assert staff.server.upload(phone, big) in (200, 201)
    sha = photo_json(big)["sha256"]
    page = staff.viewer.get(f"/c/findings/{f['id']}")
    assert f'src="/c/photos/{sha}.jpg?size=thumb"' in page.text
    assert f'href="/c/photos/{sha}.jpg"' in page.text
    thumb = staff.viewer.get(f"/c/photos/{sha}.jpg?size=thumb")
    with Image.open(io.BytesIO(thumb.content)) as im:
        assert max(im.size) == 640 and im.size[0] > im.size[1]
        assert not im.getexif() and "icc_profile" not in im.info
    again = staff.viewer.get(f"/c/photos/{sha}.jpg?size=thumb")
    assert again.content == thumb.content  # made once, served from the cache


def test_a_viewer_cannot_act(staff: Staff, seeded: dict[str, Any]) -> None:
    page = staff.viewer.get(f"/c/findings/{seeded['lamp']}")
    assert 'id="actions"' not in page.text
    refused = staff.post(
        "viewer", f"/c/findings/{seeded['lamp']}/status", {"status": "closed", "event_id": new_id()}
    )
    assert refused.status_code == 403 and "Din roll får inte" in refused.text
    assert staff.server.rows("SELECT status FROM findings WHERE id = ?", seeded["lamp"]) != [
        ("closed",)
    ]


def test_an_unknown_finding_is_a_clear_404(staff: Staff) -> None:
    page = staff.viewer.get(f"/c/findings/{new_id()}")
    assert page.status_code == 404 and "Det finns inget fynd med det id:t" in page.text
    gone = staff.post(
        "coordinator", f"/c/findings/{new_id()}/status", {"status": "closed", "event_id": new_id()}
    )
    assert gone.status_code == 404


def test_pages_fit_device_type(staff: Staff, seeded: dict[str, Any]) -> None:
    """Every page declares a phone viewport and the list's cells carry their labels."""
    page = staff.viewer.get("/c/findings")
    assert 'name="viewport" content="width=device-width' in page.text
    assert 'data-label="Ansvarig"' in page.text


def test_a_failed_email_is_shown_and_can_be_sent_again(
    staff: Staff, seeded: dict[str, Any]
) -> None:
    s = staff.server
    with s.db.write() as tx:
        tx.execute(
            "INSERT INTO outbox (kind, dedupe_key, recipient, subject, message, state, attempts,"
            " next_attempt_at, last_error, created_at) VALUES ('report', 'k1',"
            " 'fel@mimer.example', 'Fynd från trygghetsvandring', x'00', 'failed', 6,"
            " '2026-01-01', '550 mailbox unavailable', '2026-01-01T00:00:00Z')"
        )
    [(outbox_id,)] = s.rows("SELECT id FROM outbox WHERE dedupe_key = 'k1'")
    page = staff.viewer.get("/c/triage")
    assert "fel@mimer.example" in page.text and "550 mailbox unavailable" in page.text
    assert f"/c/outbox/{outbox_id}/retry" not in page.text  # a viewer cannot retry
    again = staff.post("coordinator", f"/c/outbox/{outbox_id}/retry")
    assert again.headers["location"] == "/c/triage?notice=triage.retried#failed"
    assert s.rows("SELECT state, attempts FROM outbox WHERE id = ?", outbox_id) == [("pending", 0)]
    twice = staff.post("coordinator", f"/c/outbox/{outbox_id}/retry")
    assert "triage.retried_already" in twice.headers["location"]


def test_a_deadline_set_before_routing_keeps_and_the_finding_is_still_routed(
    staff: Staff,
) -> None:
    s = staff.server
    phone = s.enrol("phone")
    f = finding_json(category="BEL", severity="medium")
    s.push(phone, findings=[f])  # not routed yet: the pass runs every few minutes
    answer = staff.post(
        "coordinator",
        f"/c/findings/{f['id']}/plan",
        {"priority": "1", "deadline": "2027-01-15", "event_id": new_id()},
    )
    assert "findings.done.plan" in answer.headers["location"]
    assert f["id"] not in {t.finding_id for t in routing.triage(s.db)}  # not "to assign" yet
    assert routing.route_pending(s.db) == 1
    [(reason, deadline)] = s.rows(
        "SELECT reason, deadline FROM assignments WHERE finding_id = ?", f["id"]
    )
    assert reason != routing.PENDING and deadline == "2027-01-15"


def test_default_deadlines_read_the_category_too() -> None:
    found = "2026-06-30T22:30:00.000Z"  # 1 July in Sweden
    assert routing.deadline("medium", found, "KLO") == "2026-12-28"  # 180 days
    assert routing.deadline("medium", found, "BEL") == "2026-09-29"  # lighting: 90 days
    assert routing.deadline("urgent", found, "POS") == "2027-07-01"  # positive: never urgent


@pytest.mark.parametrize("deadline", ["0001-01-01", "2099-12-31", "2020-01-01"])
def test_a_deadline_far_from_the_finding_is_refused(
    staff: Staff, seeded: dict[str, Any], deadline: str
) -> None:
    answer = staff.post(
        "coordinator",
        f"/c/findings/{seeded['dup']}/plan",
        {"priority": "2", "deadline": deadline, "event_id": new_id()},
    )
    assert answer.status_code == 409 and "fem år senare" in answer.text


def test_still_there_on_a_merged_duplicate_reopens_the_finding_that_remains(
    staff: Staff, seeded: dict[str, Any]
) -> None:
    s = staff.server
    tracking.merge(s.db, seeded["dup"], seeded["lamp"], actor="user:x", event_id=new_id())
    with s.db.write() as tx:
        add_server_event(tx, seeded["lamp"], EventKind.FIXED, actor="owner:x")
    later = (utcnow() + timedelta(seconds=1)).isoformat()  # the walk came after the fix
    s.push(seeded["phone"], events=[event_json(seeded["dup"], "still_there", at=later)])
    state = "SELECT f.status, ft.flagged_at IS NOT NULL FROM findings f JOIN finding_tracking ft"
    state += " ON ft.finding_id = f.id WHERE f.id = ?"
    assert s.rows(state, seeded["lamp"]) == [("reopened", 1)]
    assert s.rows(state, seeded["dup"]) == [("closed", 0)]  # still folded into the lamp


def test_an_old_still_there_does_not_undo_a_newer_fix(staff: Staff, seeded: dict[str, Any]) -> None:
    s = staff.server
    seen = (utcnow() - timedelta(days=2)).isoformat()  # the phone was offline for two days
    with s.db.write() as tx:
        add_server_event(tx, seeded["lamp"], EventKind.FIXED, actor="owner:x")
    s.push(seeded["phone"], events=[event_json(seeded["lamp"], "still_there", at=seen)])
    assert s.rows("SELECT status FROM findings WHERE id = ?", seeded["lamp"]) == [("fixed",)]
    kinds = s.rows("SELECT kind FROM events WHERE finding_id = ? ORDER BY seq", seeded["lamp"])
    assert ("still_there",) in kinds  # kept in the history all the same


def test_a_merge_made_by_mistake_can_be_undone(staff: Staff, seeded: dict[str, Any]) -> None:
    staff.post(
        "coordinator",
        f"/c/findings/{seeded['dup']}/merge",
        {"into": seeded["lamp"], "event_id": new_id()},
    )
    page = staff.coordinator.get(f"/c/findings/{seeded['dup']}")
    assert 'id="unmerge"' in page.text
    assert 'id="unmerge"' not in staff.viewer.get(f"/c/findings/{seeded['dup']}").text
    undone = staff.post(
        "coordinator", f"/c/findings/{seeded['dup']}/unmerge", {"event_id": new_id()}
    )
    assert "findings.done.unmerge" in undone.headers["location"]
    assert seeded["dup"] in ids_on_page(staff.viewer.get("/c/findings").text)
    assert staff.server.rows("SELECT status FROM findings WHERE id = ?", seeded["dup"]) == [
        ("reopened",)
    ]
    again = staff.post(
        "coordinator", f"/c/findings/{seeded['dup']}/unmerge", {"event_id": new_id()}
    )
    assert again.status_code == 409 and "inte sammanslaget" in again.text


def test_closing_from_triage_takes_it_off_the_list(staff: Staff, seeded: dict[str, Any]) -> None:
    routing.reroute_to_triage(staff.server.db, seeded["graffiti"], "not_ours", "")
    assert seeded["graffiti"] in staff.viewer.get("/c/triage").text
    staff.post(
        "coordinator",
        f"/c/findings/{seeded['graffiti']}/status",
        {"status": "closed", "event_id": new_id(), "next": "/c/triage"},
    )
    assert seeded["graffiti"] not in staff.viewer.get("/c/triage").text


def test_moving_a_fixed_finding_back_clears_its_fixed_time(
    staff: Staff, seeded: dict[str, Any]
) -> None:
    for status in ("fixed", "planned"):
        staff.post(
            "coordinator",
            f"/c/findings/{seeded['lamp']}/status",
            {"status": status, "event_id": new_id()},
        )
    assert staff.server.rows(
        "SELECT fixed_at FROM finding_tracking WHERE finding_id = ?", seeded["lamp"]
    ) == [(None,)]


@pytest.mark.parametrize(
    "url",
    [
        "/c/findings?date_from=0001-01-01",
        "/c/findings?date_to=9999-12-31",
        "/c/map.json?date_to=9999-12-31",
        "/c/export.csv?date_from=0001-01-01",
    ],
)
def test_dates_out_of_range_get_a_sentence_not_a_crash(staff: Staff, url: str) -> None:
    answer = staff.viewer.get(url)
    assert answer.status_code == 422, (answer.status_code, answer.text[:200])


def test_the_statistics_refuse_a_century_and_show_the_default(staff: Staff) -> None:
    page = staff.viewer.get("/c/stats?period=month&date_from=2001-01-01&date_to=2099-12-31")
    assert page.status_code == 200 and "at most 10 years" in page.text
    assert len(page.content) < 1_000_000  # not 1,200 months of columns

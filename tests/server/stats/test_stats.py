"""The lägesbild: statistics, heat map, weekly summary (page, PDF, email) on a hand-made world.

The world goes in through the real ingest (a device's push) and the real history
(history.add_server_event, tracking.merge); owners and deadlines as routing leaves them. Every
expected number below is counted by hand from the table in `world()`.
"""

from __future__ import annotations

import dataclasses
import re
import sqlite3
import subprocess
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from pathlib import Path
from typing import Any

import pytest
from defusedxml import ElementTree

from sync_server.config import Settings
from sync_server.core.finding_filters import FROM_FINDINGS, SWEDEN, Filters
from sync_server.core.finding_filters import where as list_where
from sync_server.core.history import add_server_event
from sync_server.owners import routing
from sync_server.stats import charts, numbers
from sync_server.stats import index as index_module
from sync_server.stats.index import StatsIndex
from sync_server.stats.week import BadWeek, Week, parse_recipients, weekly_summary
from sync_server.workspace import tracking
from tests.server.conftest import Device, Server, finding_json
from tests.server.mail_support import MailServer, add_owner, assign
from tests.server.workspace_support import Staff
from walkaudit.model import EventKind, new_id

SVG = "{http://www.w3.org/2000/svg}"
TODAY = datetime.now(SWEDEN).date()
WEEK = Week.last_full(TODAY)  # the week the summary is about
MON = WEEK.monday


@pytest.fixture
def settings(mail_settings: Settings) -> Settings:
    """This server sends mail, through `smtp_server` (both in conftest), as Upplands Väsby's."""
    return mail_settings.model_copy(
        update={
            "mail_from": "Trygghetsvandring <walkaudit@vasby.example>",
            "coordinator_email": "samordnare@vasby.example",
            "public_url": "https://trygg.vasby.example",
        }
    )


def at(day: date, hh: int, mm: int = 0) -> datetime:
    """A Swedish local time as an aware datetime."""
    return datetime.combine(day, time(hh, mm), SWEDEN)


@dataclass
class World:
    server: Server
    device: Device
    ids: dict[str, str]
    owners: dict[str, str]
    walks: dict[str, str]


def world(server: Server) -> World:
    """The hand-made data set; what each finding is, and the numbers it makes, in the table:

    | f  | cat | walk (area)  | captured      | owner    | deadline   | history (days after)  |
    | f1 | BEL | A (Vilunda)  | MON 18:10     | Åbyhem   | today - 5  | ack +2                |
    | f2 | BEL | A (Vilunda)  | MON 18:20     | Åbyhem   | today + 30 | ack +4, fixed +5      |
    | f3 | KLO | A (Vilunda)  | MON 18:30     | Kommunen | today - 1  | sent +1               |
    | f4 | KLO | B (Centrum)  | MON-14 19:00  | Kommunen | today + 10 | ack +1, fix +3, ver +5|
    | f5 | SKR | C (no area)  | MON-14 20:00  | (triage) | –          | –                     |
    | f6 | VEG | no walk      | MON-40 12:00  | Åbyhem   | today - 20 | ack +6                |
    | f7 | BEL | A (Vilunda)  | MON 18:40     | Åbyhem   | today + 30 | merged into f1        |
    open: f1 f3 f5 f6; overdue: f1 f3 f6; done: f2 f4; f7 never counts.
    """
    device = server.enrol("Telefon 1")
    walks = {"A": new_id(), "B": new_id(), "C": new_id()}
    started = {
        "A": at(MON, 18),
        "B": at(MON - timedelta(14), 18, 45),
        "C": at(MON - timedelta(14), 19, 30),
    }
    areas = {"A": "Vilunda", "B": "Centrum", "C": ""}
    server.push(
        device,
        walks=[
            {
                "id": walks[k],
                "name": f"Vandring {k}",
                "area": areas[k],
                "started_at": started[k].isoformat(),
                "ended_at": (started[k] + timedelta(hours=2)).isoformat(),
            }
            for k in walks
        ],
    )
    rows = {
        "f1": ("BEL", "A", at(MON, 18, 10)),
        "f2": ("BEL", "A", at(MON, 18, 20)),
        "f3": ("KLO", "A", at(MON, 18, 30)),
        "f4": ("KLO", "B", at(MON - timedelta(14), 19)),
        "f5": ("SKR", "C", at(MON - timedelta(14), 20)),
        "f6": ("VEG", None, at(MON - timedelta(40), 12)),
        "f7": ("BEL", "A", at(MON, 18, 40)),
    }
    ids = {name: new_id() for name in rows}
    server.push(
        device,
        findings=[
            finding_json(
                id=ids[name],
                category=cat,
                walk_id=walks[w] if w else None,
                captured_at=when.isoformat(),
                note=f"Fynd {name} – åäö",
                latitude=59.518 + k * 0.0001,
                longitude=17.912,
            )
            for k, (name, (cat, w, when)) in enumerate(rows.items())
        ],
    )
    db = server.db
    owners = {
        "aby": add_owner(db, "Åbyhem Förvaltning", "felanmalan@abyhem.example"),
        "kommun": add_owner(db, "Upplands Väsby kommun", "gata@vasby.example", kind="municipality"),
    }
    plan = {
        "f1": ("aby", -5),
        "f2": ("aby", 30),
        "f3": ("kommun", -1),
        "f4": ("kommun", 10),
        "f5": (None, None),
        "f6": ("aby", -20),
        "f7": ("aby", 30),
    }
    for name, (owner, days) in plan.items():
        deadline = (TODAY + timedelta(days)).isoformat() if days is not None else None
        assign(
            db,
            ids[name],
            owners[owner] if owner else None,
            deadline=deadline,
            reason="area" if owner else "triage",
        )
    history = {
        "f1": [(EventKind.ACKNOWLEDGED, 2)],
        "f2": [(EventKind.ACKNOWLEDGED, 4), (EventKind.FIXED, 5)],
        "f3": [(EventKind.SENT, 1)],
        "f4": [(EventKind.ACKNOWLEDGED, 1), (EventKind.FIXED, 3), (EventKind.VERIFIED, 5)],
        "f6": [(EventKind.ACKNOWLEDGED, 6)],
    }
    with db.write() as tx:
        for name, events in history.items():
            for kind, days in events:
                add_server_event(
                    tx, ids[name], kind, at=rows[name][2] + timedelta(days=days), actor="owner:test"
                )
    tracking.merge(db, ids["f7"], ids["f1"], actor="user:samordnare", event_id=new_id())
    return World(server, device, ids, owners, walks)


@pytest.fixture
def w(server: Server) -> World:
    return world(server)


EVERYTHING = numbers.Selection(MON - timedelta(60), TODAY, "month")


def plain(o: numbers.Overview) -> dict[str, Any]:
    return dataclasses.asdict(o)


# ---- the numbers -------------------------------------------------------------------------------


def test_counts_per_category_area_and_owner_medians_and_overdue(w: World) -> None:
    o = numbers.overview(w.server.db, EVERYTHING, TODAY)
    assert (o.total, o.open, o.overdue, o.done) == (6, 4, 3, 2)
    assert {code: sum(v) for code, v in o.by_category.items()} == {
        "BEL": 2,
        "KLO": 2,
        "SKR": 1,
        "VEG": 1,
    }
    assert [(a.name or "–", a.total, a.open) for a in o.areas] == [
        ("Vilunda", 3, 2),
        ("–", 2, 2),
        ("Centrum", 1, 0),
    ]
    owners = {(r.name or None): r for r in o.owners}
    aby, kommun, nobody = (
        owners["Åbyhem Förvaltning"],
        owners["Upplands Väsby kommun"],
        owners[None],
    )
    assert (aby.total, aby.open, aby.overdue) == (3, 2, 2)
    assert (aby.ack_median, aby.ack_n, aby.fix_median, aby.fix_n) == (4.0, 3, 5.0, 1)
    assert (kommun.total, kommun.open, kommun.overdue) == (2, 1, 1)
    assert (kommun.ack_median, kommun.ack_n, kommun.fix_median, kommun.fix_n) == (1.0, 1, 3.0, 1)
    assert (nobody.total, nobody.open, nobody.overdue, nobody.ack_median) == (1, 1, 0, None)
    assert [r.name for r in o.owners] == ["Åbyhem Förvaltning", "Upplands Väsby kommun", ""]
    assert (o.ack_median, o.ack_n, o.fix_median, o.fix_n) == (3.0, 4, 4.0, 2)


def test_filters_by_area_category_and_dates(w: World) -> None:
    db = w.server.db
    vilunda = numbers.overview(db, dataclasses.replace(EVERYTHING, area="VILUNDA"), TODAY)
    assert (vilunda.total, vilunda.open, vilunda.overdue) == (3, 2, 2)
    klo = numbers.overview(db, dataclasses.replace(EVERYTHING, category="KLO"), TODAY)
    assert (klo.total, klo.open) == (2, 1)
    just_the_week = numbers.overview(db, WEEK.selection(), TODAY)
    assert (just_the_week.total, len(just_the_week.periods)) == (3, 1)


@pytest.mark.parametrize(
    "changes",
    [
        {},
        {"area": "Vilunda"},
        {"area": "centrum"},
        {"category": "BEL"},
        {"first": MON, "last": MON + timedelta(6)},
        {"first": MON - timedelta(20), "last": MON - timedelta(1)},
    ],
)
def test_the_statistics_count_what_the_findings_list_shows(
    w: World, changes: dict[str, Any]
) -> None:
    """Same selection, same rows: the list's WHERE (finding_filters) and ours agree."""
    selection = dataclasses.replace(EVERYTHING, **changes)
    filters: Filters = selection.filters
    sql, params = list_where(filters, TODAY)
    listed = w.server.rows(
        f"SELECT count(*), sum(a.deadline < ? AND f.status IN ('received',"
        f" 'sent', 'acknowledged', 'planned', 'reopened', 'not_ours')){FROM_FINDINGS}"
        f"{sql}",
        TODAY.isoformat(),
        *params,
    )[0]
    o = numbers.overview(w.server.db, selection, TODAY)
    assert (o.total, o.overdue) == (listed[0], listed[1] or 0)


def test_swedish_days_summer_time_and_iso_weeks() -> None:
    # 22:30 UTC is 00:30 the next day in summer, 23:30 the same day in winter.
    assert numbers.day_of_key("2026-07-05T22") == date(2026, 7, 6)
    assert numbers.day_of_key("2026-01-04T22") == date(2026, 1, 4)
    assert numbers.day_of_key("2026-01-04T23") == date(2026, 1, 5)
    assert numbers.day_of_key("2026-01-04") == date(2026, 1, 4)
    sel = numbers.Selection(date(2025, 12, 28), date(2026, 1, 12), "week")
    assert numbers.periods(sel) == [
        date(2025, 12, 22),
        date(2025, 12, 29),
        date(2026, 1, 5),
        date(2026, 1, 12),
    ]
    assert numbers.periods(dataclasses.replace(sel, period="month")) == [
        date(2025, 12, 1),
        date(2026, 1, 1),
    ]
    assert Week.parse("2026-W05").monday == date(2026, 1, 26)
    assert Week.parse("2026w5") == Week(2026, 5)
    assert Week.last_full(date(2026, 1, 28)) == Week(2026, 4)
    assert Week(2026, 1).shifted(-1) == Week(2025, 52)
    for bad in ("", "2026-W54", "vecka 5", "2026-13"):
        with pytest.raises(BadWeek):
            Week.parse(bad)


def test_a_finding_late_on_a_summer_sunday_counts_in_the_next_week(server: Server) -> None:
    device = server.enrol()
    late = datetime(2026, 7, 5, 22, 30, tzinfo=UTC)  # Monday 6 July, 00:30 in Sweden
    server.push(device, findings=[finding_json(captured_at=late.isoformat())])
    sel = numbers.Selection(date(2026, 6, 29), date(2026, 7, 12), "week")
    o = numbers.overview(server.db, sel, date(2026, 7, 20))
    assert o.by_category["BEL"] == [0, 1]
    assert StatsIndex(server.db).overview(sel, date(2026, 7, 20)).by_category["BEL"] == [0, 1]


# ---- the in-memory index agrees with SQL, also after every kind of change ----------------------


SELECTIONS = [
    EVERYTHING,
    dataclasses.replace(EVERYTHING, period="week"),
    dataclasses.replace(EVERYTHING, area="vilunda"),
    dataclasses.replace(EVERYTHING, category="KLO"),
    WEEK.selection(),
]


def agree(index: StatsIndex, w: World) -> None:
    for selection in SELECTIONS:
        assert plain(index.overview(selection, TODAY)) == plain(
            numbers.overview(w.server.db, selection, TODAY)
        ), selection


def test_the_index_agrees_with_sql_after_each_kind_of_write(w: World) -> None:
    db, index = w.server.db, StatsIndex(w.server.db)
    agree(index, w)
    assert index.full_loads == 1
    # A new finding (ingest), and a new revision of one that moves it to another category.
    new = finding_json(category="TRA", walk_id=w.walks["B"], captured_at=at(MON, 19).isoformat())
    w.server.push(w.device, findings=[new])
    agree(index, w)
    w.server.push(w.device, findings=[{**new, "revision": 2, "category": "GAN"}])
    agree(index, w)
    assert index.overview(EVERYTHING, TODAY).by_category.get("TRA") is None
    # Routing it, then an owner's answers (events), then the coordinator's plan and owner choice.
    assert routing.route_pending(db) == 1
    agree(index, w)
    with db.write() as tx:
        add_server_event(tx, w.ids["f3"], EventKind.ACKNOWLEDGED, at=at(MON, 21))
        add_server_event(tx, w.ids["f1"], EventKind.FIXED, at=at(MON + timedelta(1), 9))
    agree(index, w)
    tracking.set_plan(
        db,
        w.ids["f5"],
        priority="1",
        deadline=(TODAY - timedelta(3)).isoformat(),
        actor="user:x",
        event_id=new_id(),
    )
    agree(index, w)
    routing.set_owner(db, w.ids["f5"], w.owners["kommun"])
    agree(index, w)
    routing.reroute_to_triage(db, w.ids["f2"])
    agree(index, w)
    tracking.merge(db, w.ids["f3"], w.ids["f1"], actor="user:x", event_id=new_id())
    agree(index, w)
    # A walk gets its area renamed on the phone: its findings move with it.
    w.server.push(
        w.device,
        walks=[
            {
                "id": w.walks["C"],
                "name": "Vandring C",
                "area": "Smedby",
                "started_at": at(MON - timedelta(14), 19, 30).isoformat(),
            }
        ],
    )
    agree(index, w)
    assert any(a.name == "Smedby" for a in index.overview(EVERYTHING, TODAY).areas)
    assert index.full_loads == 1  # everything above was caught up, not reloaded


def test_a_hand_edit_is_seen_at_once_however_old_its_timestamps(w: World) -> None:
    # Written as someone with sqlite3 would: another connection, no event, no new timestamp.
    index = StatsIndex(w.server.db)
    agree(index, w)
    edits = (
        ("UPDATE findings SET status = 'closed' WHERE id = ?", "f1"),
        ("UPDATE findings SET category = 'VEG', updated_at = '2000-01-01T00:00:00Z' WHERE id = ?",
         "f2"),
        ("UPDATE assignments SET owner_id = NULL, deadline = NULL WHERE finding_id = ?", "f3"),
        ("UPDATE finding_tracking SET acknowledged_at = NULL WHERE finding_id = ?", "f4"),
        ("DELETE FROM assignments WHERE finding_id = ?", "f6"),
        ("UPDATE finding_tracking SET merged_into = NULL WHERE finding_id = ?", "f7"),
    )  # fmt: skip
    for sql, name in edits:
        conn = sqlite3.connect(w.server.db.path)
        with conn:
            conn.execute(sql, [w.ids[name]])
        conn.close()
        agree(index, w)
    ov = index.overview(EVERYTHING, TODAY)
    assert (ov.total, sum(ov.by_category["VEG"]), index.full_loads) == (7, 2, 1)


def test_a_finding_deleted_by_hand_is_no_longer_counted(w: World) -> None:
    index = StatsIndex(w.server.db)
    before = index.overview(EVERYTHING, TODAY).total
    conn = sqlite3.connect(w.server.db.path)
    with conn:
        for table, column in (("assignments", "finding_id"), ("finding_tracking", "finding_id"),
                              ("events", "finding_id"), ("findings", "id")):  # fmt: skip
            conn.execute(f"DELETE FROM {table} WHERE {column} = ?", [w.ids["f1"]])
    conn.close()
    assert index.overview(EVERYTHING, TODAY).total == before - 1
    agree(index, w)


def test_a_catch_up_that_fails_half_way_loses_nothing(
    w: World, monkeypatch: pytest.MonkeyPatch
) -> None:
    index = StatsIndex(w.server.db)
    agree(index, w)
    conn = sqlite3.connect(w.server.db.path)
    with conn:
        conn.execute("UPDATE findings SET category = 'VEG' WHERE id = ?", [w.ids["f2"]])
    conn.close()
    store = index._store

    def fails_once(cursor: sqlite3.Cursor) -> None:
        monkeypatch.setattr(index, "_store", store)
        raise sqlite3.OperationalError("disk I/O error")  # the machine, for one moment

    monkeypatch.setattr(index, "_store", fails_once)
    with pytest.raises(sqlite3.OperationalError):
        index.overview(EVERYTHING, TODAY)
    agree(index, w)  # the next view has the change all the same


def test_nothing_changed_means_nothing_is_read_again(w: World) -> None:
    index = StatsIndex(w.server.db)
    index.overview(EVERYTHING, TODAY)
    refreshes = index.refreshes
    for _ in range(3):
        index.overview(EVERYTHING, TODAY)
    assert index.refreshes == refreshes


# ---- the heat map -------------------------------------------------------------------------------


def test_the_heat_map_sums_findings_on_a_grid(server: Server) -> None:
    device = server.enrol()
    same_spot = [finding_json(latitude=59.5180, longitude=17.9120) for _ in range(40)]
    elsewhere = [finding_json(latitude=59.5300, longitude=17.9400) for _ in range(3)]
    server.push(device, findings=same_spot + elsewhere)
    sel = numbers.Selection(TODAY - timedelta(2), TODAY)
    heat = StatsIndex(server.db).heat(sel)
    assert sorted(p[2] for p in heat["points"]) == [3, 40]
    assert heat["total"] == 43 and heat["cell_m"] == 50
    spot = max(heat["points"], key=lambda p: p[2])
    assert (spot[0], spot[1]) == (59.518, 17.912)
    # Many scattered findings stay at most max_points points.
    coarse = StatsIndex(server.db).heat(sel, cell_m=1, max_points=1)
    assert len(coarse["points"]) == 1 and coarse["points"][0][2] == 43


# ---- the pages ----------------------------------------------------------------------------------


def svg_of(html: str, ident: str) -> Any:
    found = re.search(rf'<svg [^>]*aria-labelledby="chart{ident}-t[^>]*>.*?</svg>', html, re.S)
    assert found, ident
    return ElementTree.fromstring(found.group(0))


def test_the_statistics_page_shows_the_numbers_and_accessible_charts(
    w: World, staff: Staff
) -> None:
    query = f"period=month&date_from={EVERYTHING.first}&date_to={TODAY}"
    page = staff.viewer.get(f"/c/stats?{query}")
    assert page.status_code == 200
    html = page.text
    for kpi, value in (("total", "6"), ("open", "4"), ("overdue", "3"), ("done", "2")):
        assert re.search(rf'id="kpi-{kpi}"><span>[^<]+</span><b[^>]*>{value}</b>', html), kpi
    assert "3,0 d" in html and "4,0 d" in html  # the overall medians, Swedish decimal comma
    chart = svg_of(html, "time-w")
    assert chart.attrib["role"] == "img"
    assert chart.find(f"{SVG}title").text.startswith("Fynd per månad")
    assert "6 fynd" in chart.find(f"{SVG}desc").text
    segments: dict[str, int] = {}
    for rect in chart.iter(f"{SVG}rect"):
        if "data-key" in rect.attrib:
            key = rect.attrib["data-key"]
            segments[key] = segments.get(key, 0) + int(rect.attrib["data-value"])
            assert rect.find(f"{SVG}title").text  # every segment names itself
    assert segments == {"BEL": 2, "KLO": 2, "SKR": 1, "VEG": 1}
    labels = [t.text for t in chart.iter(f"{SVG}text")]
    assert any(
        label
        and label.startswith(
            ("jan", "feb", "mar", "apr", "maj", "jun", "jul", "aug", "sep", "okt", "nov", "dec")
        )
        for label in labels
    )
    areas = svg_of(html, "areas-w")
    opens = [
        int(r.attrib["data-value"])
        for r in areas.iter(f"{SVG}rect")
        if r.attrib.get("data-key") == "open"
    ]
    assert sorted(opens) == [2, 2]  # Vilunda 2 open, "–" 2 open, Centrum none
    owner_row = re.search(
        r'<tr data-owner="[^"]+">\s*<td[^>]*><strong>Åbyhem Förvaltning</strong>'
        r".*?</tr>",
        html,
        re.S,
    ).group(0)
    assert re.findall(r">(\d+)</a>", owner_row) == ["3", "2", "2"]
    assert "4,0 d" in owner_row and "5,0 d" in owner_row
    # The owner's overdue number leads to exactly those findings in the list.
    link = re.search(r'href="(/c/findings\?[^"]*overdue=1[^"]*)"', owner_row).group(1)
    assert "owner=" in link and "date_from=" in link


def test_the_statistics_page_with_no_findings_and_a_bad_filter(
    server: Server, staff: Staff
) -> None:
    empty = staff.viewer.get("/c/stats")
    assert empty.status_code == 200 and "Inga fynd i urvalet" in empty.text
    bad = staff.viewer.get("/c/stats?period=week&date_from=2026-13-45")
    assert bad.status_code == 200
    assert "Filtret kunde inte användas" in bad.text and "date_from" in bad.text
    assert staff.viewer.get("/c/stats/heat.json?period=year").status_code == 422


def test_heat_json_for_the_pages_selection(w: World, staff: Staff) -> None:
    body = staff.viewer.get(
        f"/c/stats/heat.json?period=month&date_from={EVERYTHING.first}&date_to={TODAY}&area=Vilunda"
    ).json()
    assert body["total"] == 3 and sum(p[2] for p in body["points"]) == 3


# ---- the weekly summary -------------------------------------------------------------------------


def test_the_weekly_summary_numbers(w: World) -> None:
    s = weekly_summary(w.server.db, WEEK, TODAY)
    assert (s.new, s.new_previous) == (3, 0)
    assert s.new_by_category == [("BEL", 2), ("KLO", 1)]
    assert s.new_by_area == [("Vilunda", 3)]
    assert (s.sent, s.acknowledged, s.fixed) == (1, 2, 1)
    assert [(i.finding_id, i.days) for i in s.fixed_items] == [(w.ids["f2"], 5.0)]
    assert (s.open_now, s.overdue_now, s.triage_now) == (4, 3, 1)
    assert [(o.name, o.overdue, o.open, o.oldest_deadline) for o in s.overdue_by_owner] == [
        ("Åbyhem Förvaltning", 2, 2, (TODAY - timedelta(20)).isoformat()),
        ("Upplands Väsby kommun", 1, 1, (TODAY - timedelta(1)).isoformat()),
    ]
    assert [i.finding_id for i in s.oldest_open] == [w.ids[k] for k in ("f6", "f5", "f1", "f3")]
    assert [(p.name, p.new, p.open_now) for p in s.places] == [("Vilunda", 3, 2)]


def test_the_summary_page_and_its_pdf(w: World, staff: Staff, tmp_path: Path) -> None:
    page = staff.viewer.get("/c/summary")  # the last full week by default
    assert page.status_code == 200
    assert f"Lägesbild vecka {WEEK.number} {WEEK.year}" in page.text
    assert re.search(r'id="k-new"><span>Nya fynd</span><b>3</b>', page.text)
    assert re.search(r'id="k-overdue"><span>Försenade nu</span><b[^>]*>3</b>', page.text)
    assert "Åbyhem Förvaltning" in page.text and "Vilunda" in page.text
    assert 'name="recipients"' not in page.text  # a viewer cannot send it
    pdf = staff.viewer.get(f"/c/summary.pdf?week={WEEK.label}")
    assert pdf.status_code == 200 and pdf.headers["content-type"] == "application/pdf"
    assert f"lagesbild-{WEEK.year}-v{WEEK.number:02d}.pdf" in pdf.headers["content-disposition"]
    path = tmp_path / "lagesbild.pdf"
    path.write_bytes(pdf.content)
    text = subprocess.run(
        ["pdftotext", "-layout", str(path), "-"], capture_output=True, text=True, check=True
    ).stdout
    assert f"Lägesbild vecka {WEEK.number} {WEEK.year}" in text
    assert "Åbyhem Förvaltning" in text and "Upplands Väsby kommun" in text
    assert (
        "Nedskräpning" in text and "Åtgärdat under veckan" in text and "Äldsta öppna fynd" in text
    )
    assert re.search(r"^\s*3\s+1\s+2\s+1\s*$", text, re.M)  # new, sent, acknowledged, fixed
    assert re.search(r"^\s*4\s+3\s+1\s*$", text, re.M)  # open, overdue, without owner now
    assert re.search(rf"Åbyhem Förvaltning\s+2\s+2\s+{TODAY - timedelta(20)}", text)
    assert re.search(r"Belysning\s+Vilunda\s+Åbyhem Förvaltning\s+5,0", text)  # days to fix
    english = staff.viewer.get(f"/c/summary.pdf?week={WEEK.label}&lang=en")
    path.write_bytes(english.content)
    text = subprocess.run(
        ["pdftotext", str(path), "-"], capture_output=True, text=True, check=True
    ).stdout
    assert f"Situation report week {WEEK.number}" in text


def test_a_bad_week_shows_the_last_full_week_and_says_why(w: World, staff: Staff) -> None:
    page = staff.viewer.get("/c/summary?week=vecka-fem")
    assert page.status_code == 200
    assert "Veckan ska skrivas som 2026-W05" in page.text
    assert f"Lägesbild vecka {WEEK.number} {WEEK.year}" in page.text


def test_the_summary_is_emailed_once_per_week_and_address(
    w: World, staff: Staff, smtp_server: MailServer
) -> None:
    form = {"week": WEEK.label, "recipients": "strateg@vasby.example, Polis.Lokal@polisen.example"}
    sent = staff.post("coordinator", "/c/summary/send", form)
    assert (
        sent.status_code == 303 and "notice=stats.summary.notice.sent" in sent.headers["location"]
    )
    smtp_server.wait_for(2)
    [message] = smtp_server.to("strateg@vasby.example")
    assert (
        str(message["Subject"]) == f"Lägesbild trygghetsvandringar vecka {WEEK.number} {WEEK.year}"
    )
    text = message.get_body(preferencelist=("plain",)).get_content()
    assert "Nya fynd: 3" in text and "Försenade nu: 3" in text and "Åbyhem Förvaltning: 2" in text
    [pdf] = [p for p in message.iter_attachments() if p.get_content_type() == "application/pdf"]
    assert pdf.get_filename() == f"lagesbild-{WEEK.year}-v{WEEK.number:02d}.pdf"
    assert pdf.get_content()[:5] == b"%PDF-"
    # A second click (and the same address in other letters) sends nothing more, and says so.
    again = staff.post(
        "coordinator",
        "/c/summary/send",
        {**form, "recipients": "STRATEG@vasby.example\npolis.lokal@polisen.example"},
    )
    assert "notice=stats.summary.notice.already" in again.headers["location"]
    page = staff.coordinator.get(again.headers["location"])
    assert "har redan skickats" in page.text and "strateg@vasby.example" in page.text
    assert "levererat" in page.text
    assert len(smtp_server.received) == 2
    # One new address among old ones: only it gets the report.
    some = staff.post(
        "coordinator",
        "/c/summary/send",
        {**form, "recipients": "strateg@vasby.example, bid@vasby.example"},
    )
    assert "notice=stats.summary.notice.sent_some" in some.headers["location"]
    smtp_server.wait_for(3)
    assert len(smtp_server.to("bid@vasby.example")) == 1 and len(smtp_server.received) == 3


def test_an_empty_field_sends_to_the_coordinator_address(
    w: World, staff: Staff, smtp_server: MailServer
) -> None:
    staff.post("coordinator", "/c/summary/send", {"week": WEEK.label, "recipients": ""})
    smtp_server.wait_for(1)
    assert len(smtp_server.to("samordnare@vasby.example")) == 1


@pytest.mark.parametrize(
    "recipients, says",
    [
        ("strateg@vasby.example, inte-en-adress", "inte-en-adress"),
        (", ".join(f"p{k}@vasby.example" for k in range(21)), "Högst 20 mottagare"),
    ],
)
def test_bad_addresses_send_nothing_and_keep_what_was_typed(
    w: World, staff: Staff, smtp_server: MailServer, recipients: str, says: str
) -> None:
    answer = staff.post(
        "coordinator", "/c/summary/send", {"week": WEEK.label, "recipients": recipients}
    )
    assert answer.status_code == 422
    assert says in answer.text and "Inget skickades" in answer.text
    assert recipients.split(",")[0] in answer.text  # the field still holds what was typed
    assert w.server.rows("SELECT count(*) FROM outbox WHERE kind = 'lagesbild'") == [(0,)]
    assert smtp_server.received == []


def test_recipient_lists_are_read_generously() -> None:
    good, bad = parse_recipients(" a@b.se;\nC@D.example ,a@B.se  x@y ")
    assert good == ["a@b.se", "C@D.example"] and bad == ["x@y"]


# ---- who may do what ----------------------------------------------------------------------------


def test_a_viewer_reads_but_cannot_send_and_anonymous_must_sign_in(
    w: World, staff: Staff, smtp_server: MailServer
) -> None:
    for url in ("/c/stats", "/c/stats/heat.json", "/c/summary", "/c/summary.pdf"):
        assert staff.viewer.get(url).status_code == 200, url
        anonymous = staff.anonymous.get(url, follow_redirects=False)
        assert anonymous.status_code == 303 and anonymous.headers["location"].startswith(
            "/c/login?next="
        ), url
    refused = staff.post(
        "viewer", "/c/summary/send", {"week": WEEK.label, "recipients": "x@vasby.example"}
    )
    assert refused.status_code == 403
    no_token = staff.coordinator.post(
        "/c/summary/send", data={"week": WEEK.label, "recipients": "x@vasby.example"}
    )
    assert no_token.status_code == 403
    assert w.server.rows("SELECT count(*) FROM outbox") == [(0,)]


# ---- the charts on their own --------------------------------------------------------------------


def test_charts_are_valid_svg_with_their_numbers() -> None:
    series = [
        charts.Series("BEL", "Belysning", "#F9A825", [1, 0, 12_345]),
        charts.Series("KLO", "Klotter & skadegörelse", "#C62828", [0, 2, 3]),
    ]
    svg = ElementTree.fromstring(
        str(
            charts.stacked_bars(
                ["jan", "feb", "mar"],
                series,
                title="Fynd <per> månad",
                desc="Tre månader",
                ident="x",
            )
        )
    )
    assert svg.find(f"{SVG}title").text == "Fynd <per> månad"
    values = [
        (r.attrib["data-key"], int(r.attrib["data-value"]))
        for r in svg.iter(f"{SVG}rect")
        if "data-key" in r.attrib
    ]
    assert values == [("BEL", 1), ("KLO", 2), ("BEL", 12_345), ("KLO", 3)]
    assert "12\u2009345" in "".join(t.text or "" for t in svg.iter(f"{SVG}title"))
    assert [t.text for t in svg.iter(f"{SVG}text") if t.text in ("jan", "feb", "mar")] == [
        "jan",
        "feb",
        "mar",
    ]
    empty = ElementTree.fromstring(str(charts.stacked_bars([], [], title="Tomt", desc="-")))
    assert empty.find(f"{SVG}title").text == "Tomt"
    bars = ElementTree.fromstring(
        str(
            charts.area_bars(
                [("Östra Bollstanäs med ett mycket långt namn", 3, 1)],
                title="Områden",
                desc="d",
                open_label="Öppna",
                done_label="Åtgärdade",
            )
        )
    )
    assert [
        int(r.attrib["data-value"]) for r in bars.iter(f"{SVG}rect") if "data-key" in r.attrib
    ] == [3, 1]
    assert any((t.text or "").endswith("…") for t in bars.iter(f"{SVG}text"))


def test_every_column_the_index_reads_is_watched_by_the_change_log(w: World) -> None:
    """An update of a column the index reads but no trigger watches would go unseen for good."""
    conn = w.server.db.conn()
    watched = {
        table: sql.split(" UPDATE OF ", 1)[1].split(" ON ", 1)[0]
        for table, sql in conn.execute(
            "SELECT tbl_name, sql FROM sqlite_master"
            " WHERE type = 'trigger' AND name LIKE '%_update'"
        )
    }
    tables = {"f": "findings", "a": "assignments", "ft": "finding_tracking"}
    read = set(re.findall(r"\b(ft|f|a)\.(\w+)", index_module._ROWS))
    columns = {table: {c.strip() for c in listed.split(",")} for table, listed in watched.items()}
    missing = [f"{tables[t]}.{c}" for t, c in read if c != "rowid" and c not in columns[tables[t]]]
    assert read and not missing

"""Swedish local time on the phone's screens: winter (UTC+1), summer (UTC+2), any process zone.

The web workspace and the owner's mail show Swedish time; the app must say the same for the same
finding, whatever zone the Python side runs in (in web mode: the server's, often UTC).
"""

from __future__ import annotations

import asyncio
import time
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest

from tests.conftest import make_finding
from walkaudit import localtime, model
from walkaudit.store import Store

WINTER = "2026-01-15T07:19:00+00:00"  # 08:19 in Örebro
SUMMER = "2026-07-15T07:19:00Z"  # 09:19 in Örebro


@pytest.fixture
def new_york(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """The process runs in another zone: what `.astimezone()` would wrongly have used."""
    monkeypatch.setenv("TZ", "America/New_York")
    time.tzset()
    yield
    monkeypatch.undo()
    time.tzset()


def test_winter_and_summer_times_read_as_in_sweden(new_york: None) -> None:
    assert localtime.hm(WINTER) == "08:19"
    assert localtime.day_hm(WINTER) == "2026-01-15 08:19"
    assert localtime.hm(SUMMER) == "09:19"
    assert localtime.day_hm(datetime(2026, 7, 15, 23, 30, tzinfo=UTC)) == "2026-07-16 01:30"
    assert localtime.hm(datetime(2026, 1, 15, 7, 19)) == "08:19"  # naive: taken as UTC


def test_without_a_time_zone_database_the_eu_rule_gives_the_same_times(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    stockholm = ZoneInfo("Europe/Stockholm")
    monkeypatch.setattr(localtime, "_zone", lambda: None)
    at = datetime(2026, 1, 1, tzinfo=UTC)
    while at.year == 2026:  # every hour of a year, both changes of clock included
        assert localtime.local(at).utcoffset() == at.astimezone(stockholm).utcoffset(), at
        at += timedelta(hours=1)
    assert localtime.hm("2026-03-29T00:59:00Z") == "01:59"  # the last minute of winter time
    assert localtime.hm("2026-03-29T01:00:00Z") == "03:00"
    assert localtime.hm("2026-10-25T00:59:00Z") == "02:59"
    assert localtime.hm("2026-10-25T01:00:00Z") == "02:00"


def test_the_findings_list_and_the_walks_show_swedish_time(tmp_path: Path, new_york: None) -> None:
    from tests.ui.harness import Harness

    store = Store.open(tmp_path)
    store.set_meta(**{"ui.location_explained": "1", "ui.enrol_skipped": "1"})
    walk = store.start_walk("Vinterrunda")
    store.end_walk()
    with store.transaction() as db:  # started on a winter evening
        db.execute(
            "UPDATE walks SET started_at = ? WHERE id = ?", ["2026-01-15T17:05:00Z", walk.id]
        )
    winter = store.save_finding(make_finding(walk_id=walk.id, captured_at=WINTER, note="Mörk port"))
    summer = store.save_finding(make_finding(walk_id=walk.id, captured_at=SUMMER, note=""))
    store.close()

    async def scenario() -> None:
        h = await Harness.start(tmp_path)
        assert "2026-01-15 18:05 · 2 fynd" in h.texts()  # the walks on the start screen
        h.app.go("findings", walk_id=walk.id)
        texts = h.texts()
        assert "2026-01-15 08:19 · Mörk port" in texts  # not 07:19 (UTC) nor 02:19 (New York)
        assert "2026-07-15 09:19" in texts
        assert h.has(f"finding-{winter.id}") and h.has(f"finding-{summer.id}")
        await h.close()

    asyncio.run(scenario())


END_OF_TIME = "9999-12-31T23:59:00+00:00"  # a phone's clock gone wrong: no Swedish time exists


@pytest.mark.parametrize("zone_database", [True, False])
def test_a_time_past_the_end_of_the_calendar_reads_as_utc(
    monkeypatch: pytest.MonkeyPatch, zone_database: bool
) -> None:
    if not zone_database:
        monkeypatch.setattr(localtime, "_zone", lambda: None)
    with pytest.raises(OverflowError):  # what every screen that shows it used to die of
        localtime.local(localtime.parse(END_OF_TIME))
    assert localtime.day_hm(END_OF_TIME) == "9999-12-31 23:59 UTC"
    assert localtime.hm(END_OF_TIME) == "23:59 UTC"
    assert localtime.day_hm(datetime(9999, 12, 31, 23, 0)) == "9999-12-31 23:00 UTC"  # naive
    assert localtime.day_hm("9999-12-31T22:59:00Z") == "9999-12-31 23:59"  # the last that has one
    # Not even a UTC time exists: as the phone wrote it, with its zone.
    assert localtime.day_hm("9999-12-31T23:59:00-05:00") == "9999-12-31 23:59 UTC-05:00"


def test_the_findings_list_and_the_finding_show_a_time_at_the_end_of_the_calendar(
    tmp_path: Path,
) -> None:
    from tests.ui.harness import Harness

    store = Store.open(tmp_path)
    store.set_meta(**{"ui.location_explained": "1", "ui.enrol_skipped": "1"})
    walk = store.start_walk("Nyårsnatt")
    far = store.save_finding(
        make_finding(walk_id=walk.id, captured_at=END_OF_TIME, note="Mörk port")
    )
    # Its history as pulled from a server: a comment stamped with that same time.
    comment = model.FindingEvent(
        id=str(uuid.uuid4()),
        finding_id=far.id,
        kind=model.EventKind.COMMENT,
        at=datetime.fromisoformat(END_OF_TIME),
        note="Klockan går fel",
    )
    change = model.StatusChange(
        seq=1, finding_id=far.id, status=model.FindingStatus.RECEIVED, event=comment
    )
    store.apply_changes([change], cursor=1)
    store.close()

    async def scenario() -> None:
        h = await Harness.start(tmp_path)
        h.app.go("findings", walk_id=walk.id)
        assert "9999-12-31 23:59 UTC · Mörk port" in h.texts()
        await h.click(f"finding-{far.id}")
        assert h.app.current == "finding"
        [line] = [t for t in h.texts() if t.startswith("9999-12-31 23:59 UTC · ")]
        assert line.endswith(" · Klockan går fel"), line
        await h.close()

    asyncio.run(scenario())

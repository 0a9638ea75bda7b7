"""Reminders of overdue findings, one per owner per interval, and the coordinator's weekly summary,
as the report pass queues them."""

from __future__ import annotations

from datetime import datetime, timedelta

from sync_server.core.history import add_server_event
from sync_server.owners import links
from tests.server.mail_support import MailServer, assign
from tests.server.reports.support import World, owner_link, parts
from walkaudit.model import EventKind


def test_overdue_findings_get_one_reminder_per_interval(
    world: World, smtp_server: MailServer
) -> None:
    world.end_walk()
    world.pass_()
    assign(world.db, world.findings["lamp"], world.owners["bo"], deadline="2026-01-15")
    assign(world.db, world.findings["door"], world.owners["bo"], deadline="2026-01-20")
    start = datetime.fromisoformat("2026-02-01T09:00:00+01:00")
    first = world.pass_(now=start)
    assert first.reminders == ["Örebrobostäder AB <felanmalan@obo.example.se>: 2 overdue"]
    reminder = smtp_server.to("felanmalan@obo.example.se")[-1]
    assert reminder["Subject"] == "Påminnelse: 2 fynd har passerat sitt datum – Örebrobostäder AB"
    text = parts(reminder)["text"]
    assert "17 dagar efter sista dag (2026-01-15)" in text and "Porten till källaren" in text
    assert "Buskage" not in text  # not overdue
    token = owner_link(text)
    assert links.resolve_link(world.db, token, now=start).owner_id == world.owners["bo"]
    for days in (1, 7, 13):
        assert world.pass_(now=start + timedelta(days=days)).reminders == []
    with world.db.write() as tx:
        add_server_event(tx, world.findings["lamp"], EventKind.FIXED, actor="owner")
    second = world.pass_(now=start + timedelta(days=14, hours=1))
    assert second.reminders == ["Örebrobostäder AB <felanmalan@obo.example.se>: 1 overdue"]
    assert "Trasig lampa" not in parts(smtp_server.to("felanmalan@obo.example.se")[-1])["text"]
    kinds = world.server.rows(
        "SELECT kind FROM outbox WHERE owner_id = ? ORDER BY id", world.owners["bo"]
    )
    assert [k for (k,) in kinds] == ["report", "reminder", "reminder"]


def test_the_coordinator_gets_one_summary_a_week(world: World, smtp_server: MailServer) -> None:
    world.end_walk()
    monday = datetime.fromisoformat("2026-11-30T08:00:00+01:00")
    # On Monday of week 49 the lägesbild of week 48 (the last full week) goes out, once.
    assert world.pass_(now=monday).summary == "week 48 to samordnare@example.se"
    for later in (timedelta(hours=1), timedelta(days=3), timedelta(days=6, hours=15)):
        assert world.pass_(now=monday + later).summary is None
    assert world.pass_(now=monday + timedelta(days=7)).summary == "week 49 to samordnare@example.se"
    summaries = smtp_server.to("samordnare@example.se")
    assert [m["Subject"] for m in summaries] == [
        "Lägesbild trygghetsvandringar vecka 48 2026",
        "Lägesbild trygghetsvandringar vecka 49 2026",
    ]
    text = parts(summaries[0])["text"]
    assert "Utan ansvarig nu: 1" in text and "/c/summary?week=2026-W48" in text
    assert "Mejl som inte gick fram" not in text  # nothing failed
    [pdf] = [
        p for p in summaries[0].iter_attachments() if p.get_content_type() == "application/pdf"
    ]
    assert pdf.get_filename() == "lagesbild-2026-v48.pdf"
    # The same week sent by hand from /c/summary would not go out a second time.
    assert world.server.rows("SELECT count(*) FROM outbox WHERE dedupe_key LIKE 'lagesbild:%'") == [
        (2,)
    ]

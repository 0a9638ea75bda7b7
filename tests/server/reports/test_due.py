"""Which findings are due, for whom and when: real app, real SQLite, a real SMTP server.

Each owner gets exactly their findings; a report waits for its walk to end and for its photos,
but not for ever; late findings are batched daily; a finding sent back is reported again.
"""

from __future__ import annotations

from datetime import timedelta

from sync_server.core.history import add_server_event
from tests.server.mail_support import MailServer, assign
from tests.server.reports.support import World, parts
from walkaudit.model import EventKind, new_id, utcnow


def test_each_owner_gets_exactly_their_findings_and_triage_goes_to_nobody(
    world: World, smtp_server: MailServer
) -> None:
    world.end_walk()
    result = world.pass_()
    assert result.delivery.sent == 3 and not result.errors, result.lines()
    assert sorted(tuple(r.rcpt_tos) for r in smtp_server.received) == [
        ("felanmalan@obo.example.se",),
        ("gata@orebro.example.se",),
        ("samordnare@example.se",),
    ]  # two reports and the coordinator's weekly summary
    [bo] = smtp_server.to("felanmalan@obo.example.se")
    [kommun] = smtp_server.to("gata@orebro.example.se")
    mine = {"bo": ["lamp", "bush", "door", "two-photos"], "kommun": ["sign", "path"]}
    for message, owner in ((bo, "bo"), (kommun, "kommun")):
        body = parts(message)
        for key, note in world.notes.items():
            expected = key in mine[owner]
            assert (note in body["text"]) is expected, (owner, key)
            assert (note in body["html"]) is expected, (owner, key)
    assert "Oklart vem som äger muren" not in str(smtp_server.received)
    assert bo["Subject"] == "Trygghetsvandring: 4 fynd att åtgärda – Örebrobostäder AB"
    assert kommun["Subject"].startswith("Safety walk: 2 findings to act on – Örebro kommun")
    assert bo["From"].addresses[0].addr_spec == "trygghet@example.se"
    assert bo["Reply-To"].addresses[0].addr_spec == "samordnare@example.se"


def test_a_category_contact_gets_its_own_mail(world: World, smtp_server: MailServer) -> None:
    assign(
        world.db, world.findings["two-photos"], world.owners["bo"], email="klotter@obo.example.se"
    )
    world.end_walk()
    world.pass_()
    [graffiti] = smtp_server.to("klotter@obo.example.se")
    assert "Klotter på båda sidor" in parts(graffiti)["text"]
    assert "Klotter på båda" not in parts(smtp_server.to("felanmalan@obo.example.se")[0])["text"]


def test_nothing_goes_before_the_walk_ends_unless_it_was_left_open(
    world: World, smtp_server: MailServer
) -> None:
    assert world.pass_().reports == []
    later = utcnow() + timedelta(hours=world.settings.report_settle_hours, minutes=1)
    assert len(world.pass_(now=later).reports) == 2  # a walk never ended holds nothing for ever


def test_a_finding_waits_for_its_photos(world: World, smtp_server: MailServer) -> None:
    world.end_walk()
    world.pass_()
    walk_id = new_id()
    world.end_walk(walk_id)  # another walk, ended
    fid = world.push("late", upload=False, note="Sent synkat fynd", walk=walk_id)
    assign(world.db, fid, world.owners["bo"])
    assert world.pass_().reports == []  # its photo is not on the server yet
    assert world.server.upload(world.device, world.photos["late"][0]) == 201
    assert len(world.pass_().reports) == 1


def test_a_photo_that_never_arrives_holds_its_finding_only_until_the_settle_time(
    world: World, smtp_server: MailServer
) -> None:
    # The server refused the photo (it did not decode) or the phone was lost before uploading:
    # the owner still gets the finding, a day later, and the mail says a photo is missing.
    world.end_walk()
    world.pass_()
    walk_id = new_id()
    world.end_walk(walk_id)
    fid = world.push("late", upload=False, note="Foto kom aldrig fram", walk=walk_id)
    assign(world.db, fid, world.owners["bo"])
    assert world.pass_().reports == []  # waits for its photo at first
    later = utcnow() + timedelta(hours=world.settings.report_settle_hours, minutes=1)
    result = world.pass_(now=later)
    assert len(result.reports) == 1 and result.errors == [], result.lines()
    body = parts(smtp_server.to("felanmalan@obo.example.se")[-1])
    assert "Foto kom aldrig fram" in body["text"]
    assert "1 foto kunde inte läsas och saknas här." in body["text"]
    assert world.server.rows("SELECT status FROM findings WHERE id = ?", fid) == [("sent",)]


def test_late_findings_of_a_reported_walk_are_batched_daily(
    world: World, smtp_server: MailServer
) -> None:
    world.end_walk()
    world.pass_()
    fid = world.push("straggler", note="Synkades dagen efter")
    assign(world.db, fid, world.owners["bo"])
    assert world.pass_().reports == []
    tomorrow = utcnow() + timedelta(hours=world.settings.report_batch_hours, minutes=1)
    result = world.pass_(now=tomorrow)
    assert result.reports == ["Örebrobostäder AB <felanmalan@obo.example.se>: 1 findings"]
    latest = smtp_server.to("felanmalan@obo.example.se")[-1]
    assert "Synkades dagen efter" in parts(latest)["text"]
    assert "Trasig lampa" not in parts(latest)["text"]  # already reported


def test_an_owner_who_said_not_ours_gets_it_again_when_the_coordinator_sends_it_back(
    world: World, smtp_server: MailServer
) -> None:
    from sync_server.owners import routing

    world.end_walk()
    world.pass_()
    lamp = world.findings["lamp"]
    before = len(smtp_server.to("felanmalan@obo.example.se"))
    with world.db.write() as tx:  # the caretaker answers "not ours" on the owner page
        add_server_event(tx, lamp, EventKind.NOT_OURS, actor=f"owner:{world.owners['bo']}")
        routing.reroute_to_triage(tx, lamp, "not_ours", "inte vår mark")
    # The coordinator checks the map: it is theirs after all.
    routing.set_owner(world.db, lamp, world.owners["bo"], note="er mark enligt kartan")
    world.pass_(now=utcnow() + timedelta(days=2))
    after = smtp_server.to("felanmalan@obo.example.se")
    assert len(after) == before + 1 and world.notes["lamp"] in parts(after[-1])["text"]
    assert world.server.rows("SELECT status FROM findings WHERE id = ?", lamp) == [("sent",)]
    world.pass_(now=utcnow() + timedelta(days=3))  # and only once
    assert len(smtp_server.to("felanmalan@obo.example.se")) == before + 1

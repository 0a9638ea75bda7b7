"""Walks in the coordinator web: the list, a walk's map and participants, the protocol (page, PDF,
email to the participants). Real app, real SQLite, real routing over the Örebro fixtures, real
JPEGs, real PDFs read back with poppler, a real SMTP server.
"""

from __future__ import annotations

import re
import shutil
import subprocess
import warnings
from dataclasses import dataclass, field
from datetime import timedelta
from email.message import EmailMessage
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest

from sync_server import mail
from sync_server.config import Settings
from sync_server.owners.importer import import_owners
from sync_server.owners.policy import DEADLINE_DAYS, default_priority
from sync_server.owners.registry import list_owners
from sync_server.owners.routing import route_pending, set_owner
from sync_server.walks.protocol import load_protocol
from tests.server.conftest import Device, Server, finding_json, make_jpeg, sha
from tests.server.mail_support import MailServer
from tests.server.workspace_support import Staff
from walkaudit.model import new_id, utcnow

with warnings.catch_warnings():
    warnings.filterwarnings("ignore", message=r"Using `httpx` with `starlette.testclient`")

GEO = Path(__file__).resolve().parents[2] / "data" / "geo"
_CSRF = re.compile(r'name="csrf" value="([^"]+)"')
START = utcnow() - timedelta(hours=3)


@pytest.fixture
def settings(mail_settings: Settings) -> Settings:
    """This server sends mail, through `smtp_server` (both in conftest)."""
    return mail_settings


@pytest.fixture
def crew(staff: Staff) -> Staff:
    """Signed-in clients per role (the shared `staff` fixture)."""
    return staff


@dataclass
class Walk:
    """One walk in Örebro, routed over the fixture owners."""

    server: Server
    device: Device
    id: str
    findings: dict[str, str] = field(default_factory=dict)  # key -> finding id
    notes: dict[str, str] = field(default_factory=dict)
    photos: dict[str, bytes] = field(default_factory=dict)
    track: list[tuple[float, float]] = field(default_factory=list)

    def url(self, tail: str = "") -> str:
        return f"/c/walks/{self.id}{tail}"


# key, category, severity, note, (lat, lon); where the Örebro fixtures route each of them.
FINDINGS = [
    ("lamp", "BEL", "urgent", "Trasig lampa vid gångtunneln – helt mörkt", (59.2741, 15.2040)),
    ("door", "SKA", "medium", "Porten till källaren går inte att låsa", (59.2745, 15.2036)),
    ("bush", "VEG", "low", "Buskage skymmer sikten mot förskolan", (59.2741, 15.2090)),
    ("park", "VEG", "high", "Höga buskar längs parkstigen – ingen överblick", (59.2715, 15.2230)),
    ("edge", "KLO", "medium", "Klotter på muren mellan gårdarna", (59.2741, 15.2066)),
    ("street", "GAN", "medium", "Stora hål i gångvägen – risk för fall", (59.2741, 15.2006)),
]
ROUTED = {  # key -> owner name (None: on the triage list, a boundary between two owners)
    "lamp": "Örebrobostäder AB",
    "door": "Örebrobostäder AB",
    "bush": "Fastighets AB Eken",
    "park": "Tekniska förvaltningen, parker",
    "edge": None,
    "street": "Örebro",
}


@pytest.fixture
def walk(server: Server, device: Device) -> Walk:
    import_owners(server.db, (GEO / "orebro_owners.geojson").read_text(encoding="utf-8"))
    w = Walk(server, device, new_id())
    w.track = [(59.2741 + 0.00002 * i, 15.2006 + 0.00012 * i) for i in range(200)]
    track = [
        {
            "walk_id": w.id,
            "t": (START + timedelta(seconds=15 * i)).isoformat(),
            "latitude": lat,
            "longitude": lon,
        }
        for i, (lat, lon) in enumerate(w.track)
    ]
    body = []
    for i, (key, category, severity, note, (lat, lon)) in enumerate(FINDINGS):
        jpeg = make_jpeg(480, 360, seed=i)
        body.append(
            finding_json(
                walk_id=w.id,
                category=category,
                severity=severity,
                note=note,
                latitude=lat,
                longitude=lon,
                captured_at=(START + timedelta(minutes=5 * i)).isoformat(),
                photos=[{"sha256": sha(jpeg), "size": len(jpeg), "width": 480, "height": 360}],
            )
        )
        w.findings[key], w.notes[key], w.photos[key] = body[-1]["id"], note, jpeg
    walk_body = {
        "id": w.id,
        "name": "Kvällsvandring Vivalla",
        "area": "Vivalla",
        "started_at": START.isoformat(),
        "ended_at": (START + timedelta(hours=1)).isoformat(),
    }
    server.push(device, walks=[walk_body], findings=body, track=track)
    for key, jpeg in w.photos.items():
        if key != "street":  # this one's photo has not been uploaded yet
            assert server.upload(device, jpeg) == 201
    assert route_pending(server.db) == len(FINDINGS)
    return w


def owner_id(server: Server, name: str) -> str:
    return next(o.id for o in list_owners(server.db) if o.name == name)


def flash(html: str) -> list[str]:
    """The notice and error texts a page shows."""
    return re.findall(r'class="(?:notice|error)"[^>]*>([^<]*)<', html)


def pdf_text(data: bytes, tmp_path: Path) -> str:
    assert shutil.which("pdftotext"), "pdftotext (Debian: poppler-utils) is not installed"
    path = tmp_path / "protocol.pdf"
    path.write_bytes(data)
    out = subprocess.run(["pdftotext", "-layout", str(path), "-"], capture_output=True, check=True)
    return out.stdout.decode()


def pdf_images(data: bytes, tmp_path: Path) -> int:
    path = tmp_path / "images.pdf"
    path.write_bytes(data)
    out = subprocess.run(["pdfimages", "-list", str(path)], capture_output=True, check=True)
    return len(out.stdout.decode().splitlines()) - 2  # two header lines


# ---- priority ---------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("severity", "priority"), [("urgent", "1"), ("high", "1"), ("medium", "2"), ("low", "3")]
)
def test_default_priority_follows_severity(severity: str, priority: str) -> None:
    assert default_priority(severity) == priority


# ---- the list ---------------------------------------------------------------------------------


def test_the_list_shows_walks_newest_first_with_their_counts(walk: Walk, crew: Staff) -> None:
    other = new_id()
    walk.server.push(
        walk.device,
        walks=[
            {
                "id": other,
                "name": "Dagvandring Centrum",
                "area": "Centrum",
                "started_at": utcnow().isoformat(),
            }
        ],
    )
    page = crew.viewer.get("/c/walks")
    assert page.status_code == 200
    text = page.text
    assert text.index("Dagvandring Centrum") < text.index("Kvällsvandring Vivalla")
    row = text[text.index("Kvällsvandring Vivalla") :].split("</tr>")[0]
    assert "phone A" in row and "Avslutad" in row
    assert re.findall(r'class="num">(\d+)<', row) == ["6", "6"]  # findings, open
    centrum = text[text.index("Dagvandring Centrum") :].split("</tr>")[0]
    assert "Pågår" in centrum


def test_the_list_filters_by_area_and_text_and_pages(walk: Walk, crew: Staff) -> None:
    walks = [
        {
            "id": new_id(),
            "name": f"Vandring {i:02d}",
            "area": "Centrum",
            "started_at": (START - timedelta(days=i + 1)).isoformat(),
        }
        for i in range(30)
    ]
    walk.server.push(walk.device, walks=walks)
    by_area = crew.viewer.get("/c/walks", params={"area": "vivalla"}).text
    assert "Kvällsvandring Vivalla" in by_area and "Vandring 00" not in by_area
    by_text = crew.viewer.get("/c/walks", params={"q": "kvällsvandring"}).text
    assert "Kvällsvandring Vivalla" in by_text and "Vandring 05" not in by_text
    first = crew.viewer.get("/c/walks", params={"area": "Centrum"}).text
    assert "Sida 1 av 2" in first and "Vandring 00" in first and "Vandring 29" not in first
    assert 'href="/c/walks?area=Centrum&amp;page=2"' in first
    second = crew.viewer.get("/c/walks", params={"area": "Centrum", "page": "2"}).text
    assert "Vandring 29" in second and "Vandring 00" not in second
    nothing = crew.viewer.get("/c/walks", params={"q": "finns inte"}).text
    assert "Inga vandringar matchar filtret." in nothing
    assert crew.viewer.get("/c/walks", params={"page": "x" * 50}).status_code == 200


# ---- a walk's page and its map ----------------------------------------------------------------


def test_the_map_data_has_the_route_and_the_numbered_findings(walk: Walk, crew: Staff) -> None:
    page = crew.viewer.get(walk.url())
    assert page.status_code == 200
    assert f'data-src="{walk.url("/map.json")}"' in page.text
    assert '<script src="/static/coord-walk.js">' in page.text and "<script>" not in page.text
    data = crew.viewer.get(walk.url("/map.json")).json()
    assert data["route"] == [[lat, lon] for lat, lon in walk.track]
    by_id = {f["id"]: f for f in data["findings"]}
    assert set(by_id) == set(walk.findings.values())
    for key, _, _, note, (lat, lon) in FINDINGS:
        f = by_id[walk.findings[key]]
        assert (f["lat"], f["lon"], f["note"]) == (lat, lon, note)
        assert f["url"] == f"/c/findings/{walk.findings[key]}"
    assert sorted(f["n"] for f in data["findings"]) == list(range(1, len(FINDINGS) + 1))
    lamp = by_id[walk.findings["lamp"]]
    assert lamp["title"].endswith("Belysning – Akut") and lamp["owner"] == "Örebrobostäder AB"
    assert by_id[walk.findings["edge"]]["owner"] == "Att fördela"


def test_an_unknown_walk_is_404(crew: Staff) -> None:
    assert crew.viewer.get(f"/c/walks/{new_id()}").status_code == 404
    assert crew.viewer.get(f"/c/walks/{new_id()}/protocol").status_code == 404
    assert crew.viewer.get(f"/c/walks/{new_id()}/map.json").status_code == 404
    assert (
        crew.post(
            "coordinator", f"/c/walks/{new_id()}/participants", {"email": "a@example.se"}
        ).status_code
        == 404
    )


# ---- participants -----------------------------------------------------------------------------


def test_participants_are_added_and_removed(walk: Walk, crew: Staff) -> None:
    added = crew.post(
        "coordinator",
        walk.url("/participants"),
        {"name": "Åsa Öberg", "organisation": "Örebrobostäder", "email": "asa@obo.se"},
    )
    assert added.status_code == 303 and added.headers["location"].endswith("#participants")
    page = crew.coordinator.get(added.headers["location"]).text
    assert flash(page) == ["Deltagaren är tillagd."]
    assert "Åsa Öberg" in page and "Örebrobostäder" in page and "asa@obo.se" in page
    [pid] = re.findall(r"/participants/(\d+)/remove", page)
    removed = crew.post("coordinator", walk.url(f"/participants/{pid}/remove"))
    page = crew.coordinator.get(removed.headers["location"]).text
    assert flash(page) == ["Deltagaren är borttagen."] and "asa@obo.se" not in page
    again = crew.post("coordinator", walk.url(f"/participants/{pid}/remove"))
    assert flash(crew.coordinator.get(again.headers["location"]).text) == [
        "Deltagaren var redan borttagen."
    ]


@pytest.mark.parametrize(
    ("email", "message"),
    [
        ("", "Fyll i deltagarens e-postadress – protokollet skickas dit."),
        ("   ", "Fyll i deltagarens e-postadress – protokollet skickas dit."),
        ("bo.example.se", "”bo.example.se” är ingen e-postadress."),
        ("bo@example", "”bo@example” är ingen e-postadress."),
        ("bo@exa mple.se", "”bo@exa mple.se” är ingen e-postadress."),
        ("Bo <bo@example.se>", "”Bo &lt;bo@example.se&gt;” är ingen e-postadress."),
        ("bo@example.se\r\nBcc: x@evil.example", "är ingen e-postadress."),
    ],
)
def test_a_bad_email_is_explained_and_nothing_typed_is_lost(
    walk: Walk, crew: Staff, email: str, message: str
) -> None:
    typed = {"name": "Bo Ek", "organisation": "Polisen, lokalpolisområde Örebro", "email": email}
    answer = crew.post("coordinator", walk.url("/participants"), typed)
    assert answer.status_code == 422
    [shown] = flash(answer.text)
    assert message in answer.text and shown
    assert 'value="Bo Ek"' in answer.text
    assert 'value="Polisen, lokalpolisområde Örebro"' in answer.text
    if email.strip() and "\n" not in email:
        assert f'name="email" value="{email}"'.replace("<", "&lt;").replace(">", "&gt;") in (
            answer.text
        )
    assert walk.server.rows("SELECT * FROM walk_participants") == []


def test_a_huge_name_is_refused_with_its_length(walk: Walk, crew: Staff) -> None:
    answer = crew.post(
        "coordinator", walk.url("/participants"), {"name": "Å" * 250, "email": "a@example.se"}
    )
    assert answer.status_code == 422
    assert "Namn får vara högst 200 tecken (nu 250)." in answer.text
    assert 'value="a@example.se"' in answer.text and "Å" * 250 in answer.text


def test_a_duplicate_email_changes_nothing_and_says_so(walk: Walk, crew: Staff) -> None:
    crew.post("coordinator", walk.url("/participants"), {"name": "Åsa", "email": "asa@obo.se"})
    again = crew.post(
        "coordinator", walk.url("/participants"), {"name": "Åsa Öberg", "email": "  ASA@obo.SE "}
    )
    assert again.status_code == 303
    page = crew.coordinator.get(again.headers["location"]).text
    assert flash(page) == ["Den e-postadressen finns redan bland deltagarna – inget ändrades."]
    assert walk.server.rows("SELECT name, email FROM walk_participants") == [("Åsa", "asa@obo.se")]


# ---- the protocol -----------------------------------------------------------------------------


def test_the_protocol_groups_findings_by_owner(walk: Walk, crew: Staff) -> None:
    with walk.server.db.write() as tx:  # the coordinator raised the bush's priority
        tx.execute(
            "UPDATE finding_tracking SET priority = '1' WHERE finding_id = ?",
            [walk.findings["bush"]],
        )
    protocol = load_protocol(walk.server.db, walk.id)
    groups = [(g.owner_name, [e.finding_id for e in g.entries]) for g in protocol.groups]
    expected: dict[str, list[str]] = {}
    for key, owner in ROUTED.items():
        expected.setdefault(owner or "", []).append(walk.findings[key])
    # Owners in Swedish alphabetical order (Ö last), "to be assigned" after them all.
    assert [name for name, _ in groups] == [
        "Fastighets AB Eken",
        "Tekniska förvaltningen, parker",
        "Örebro",
        "Örebrobostäder AB",
        "",
    ]
    assert {name: sorted(ids) for name, ids in groups} == {
        k: sorted(v) for k, v in expected.items()
    }
    entries = {e.finding_id: e for e in protocol.entries}
    assert [e.number for e in protocol.entries] == list(range(1, 7))
    lamp, door, bush = (entries[walk.findings[k]] for k in ("lamp", "door", "bush"))
    assert (lamp.priority, lamp.priority_set) == (1, False)
    # The door (SKA, medium) is one step more urgent than its severity: entrances feel unsafe.
    assert (door.priority, bush.priority, bush.priority_set) == (1, 1, True)
    assert lamp.number < door.number  # priority first inside a group
    day = START.astimezone(ZoneInfo("Europe/Stockholm")).date()
    assert lamp.deadline == (day + timedelta(days=DEADLINE_DAYS["urgent"])).isoformat()
    assert entries[walk.findings["street"]].photos == ()
    assert entries[walk.findings["street"]].photos_pending == 1

    page = crew.viewer.get(walk.url("/protocol"))
    assert page.status_code == 200
    sections = page.text.split('<section class="owner-group"')[1:]
    assert len(sections) == 5
    for (name, ids), section in zip(groups, sections, strict=True):
        assert (name or "Att fördela") in section.split("</h2>")[0]
        for key, fid in walk.findings.items():
            assert (f'id="f-{fid}"' in section) == (fid in ids), key
    lamp_html = page.text.split(f'id="f-{walk.findings["lamp"]}"')[1].split("</article>")[0]
    assert f'src="/c/photos/{sha(walk.photos["lamp"])}.jpg?size=thumb"' in lamp_html
    assert "1 – hög" in lamp_html and "Akut" in lamp_html and "Mottaget" in lamp_html
    assert lamp.deadline in lamp_html and walk.notes["lamp"] in lamp_html
    street_html = page.text.split(f'id="f-{walk.findings["street"]}"')[1].split("</article>")[0]
    assert "Fotot har inte kommit fram än" in street_html
    english = crew.viewer.get(walk.url("/protocol"), params={"lang": "en"}).text
    assert "To be assigned" in english and "Protocol of a safety walk" in english


def test_unrouted_duplicate_and_merged_findings(walk: Walk, crew: Staff) -> None:
    late = finding_json(walk_id=walk.id, note="Synkad efter ruttningen", category="SKR")
    same = finding_json(
        walk_id=walk.id, note="Samma lampa igen", duplicate_of=walk.findings["lamp"]
    )
    walk.server.push(walk.device, findings=[late, same])
    with walk.server.db.write() as tx:  # the coordinator merged the door into the lamp
        tx.execute(
            "UPDATE finding_tracking SET merged_into = ? WHERE finding_id = ?",
            [walk.findings["lamp"], walk.findings["door"]],
        )
    protocol = load_protocol(walk.server.db, walk.id)
    ids = [e.finding_id for e in protocol.entries]
    assert late["id"] in ids and same["id"] not in ids and walk.findings["door"] not in ids
    assert protocol.groups[-1].owner_id is None
    assert {e.finding_id for e in protocol.groups[-1].entries} == {
        late["id"],
        walk.findings["edge"],
    }
    assert protocol.duplicates == 1
    page = crew.viewer.get(walk.url("/protocol")).text
    assert "1 fynd som vandraren markerade som samma sak som ett tidigare fynd visas inte." in page


def test_the_protocol_pdf_reads_back(walk: Walk, crew: Staff, tmp_path: Path) -> None:
    crew.post(
        "coordinator",
        walk.url("/participants"),
        {"name": "Åsa Öberg", "organisation": "Örebrobostäder", "email": "asa@obo.se"},
    )
    answer = crew.viewer.get(walk.url("/protocol.pdf"))
    assert answer.status_code == 200 and answer.headers["content-type"] == "application/pdf"
    assert "protokoll-kvallsvandring-vivalla-" in answer.headers["content-disposition"]
    text = pdf_text(answer.content, tmp_path)
    flat = " ".join(text.split())
    for name in [*filter(None, ROUTED.values()), "Att fördela", "Åsa Öberg (Örebrobostäder)"]:
        assert name in flat, name
    for note in walk.notes.values():
        assert note in flat, note
    assert "Kvällsvandring Vivalla" in flat and "Prioritet: 1 – hög" in flat
    # One photo per finding whose photo has arrived (five of six), and nothing else.
    assert pdf_images(answer.content, tmp_path) == 5
    assert "Fotot har inte kommit fram än" in flat


# ---- sending it ----------------------------------------------------------------------------


def send(crew: Staff, walk: Walk) -> list[str]:
    answer = crew.post("coordinator", walk.url("/protocol/send"))
    assert answer.status_code == 303, answer.text
    return flash(crew.coordinator.get(answer.headers["location"]).text)


def attachment(message: EmailMessage) -> tuple[str, bytes]:
    [part] = [p for p in message.walk() if p.get_content_disposition() == "attachment"]
    assert part.get_content_type() == "application/pdf"
    return str(part.get_filename()), part.get_content()


@pytest.fixture
def participants(walk: Walk, crew: Staff) -> list[str]:
    people = [
        ("Åsa Öberg", "Örebrobostäder", "asa@obo.example.se"),
        ("Bo Ek", "Polisen", "bo.ek@polisen.example.se"),
    ]
    for name, organisation, email in people:
        crew.post(
            "coordinator",
            walk.url("/participants"),
            {"name": name, "organisation": organisation, "email": email},
        )
    return [email for _, _, email in people]


def test_sending_mails_each_participant_once_with_the_pdf(
    walk: Walk, crew: Staff, participants: list[str], smtp_server: MailServer, tmp_path: Path
) -> None:
    assert send(crew, walk) == ["Protokollet skickas nu till 2 deltagare."]
    for email in participants:
        [message] = smtp_server.to(email)
        assert message["To"] == email
        assert message["Subject"].startswith("Protokoll från trygghetsvandringen Kvällsvandring")
        assert message["Reply-To"] == "samordnare@example.se"
        name, pdf = attachment(message)
        assert name.startswith("protokoll-kvallsvandring-vivalla-") and name.endswith(".pdf")
        flat = " ".join(pdf_text(pdf, tmp_path).split())
        assert walk.notes["lamp"] in flat and "Örebrobostäder AB" in flat
        text = message.get_body(("plain",)).get_content()  # type: ignore[union-attr]
        assert "=== Örebrobostäder AB – 2 fynd ===" in text and walk.notes["park"] in text
        html = message.get_body(("html",)).get_content()  # type: ignore[union-attr]
        assert "Att fördela" in html
    assert "Hej Åsa Öberg!" in smtp_server.to(participants[0])[0].get_body(("plain",)).get_content()  # type: ignore[union-attr]
    page = crew.viewer.get(walk.url("/protocol")).text
    assert "Den aktuella versionen har skickats till 2 av 2 deltagare." in page
    for email in participants:
        row = page.split(f'class="email">{email}<')[1].split("</li>")[0]
        assert "Skickat" in row and "Version: aktuell" in row

    # A second click: nothing new goes out, and the page says so.
    assert send(crew, walk) == [
        "Alla deltagare har redan fått den här versionen av protokollet – inget nytt skickades."
    ]
    mail.deliver_due(
        walk.server.db,
        mail.SmtpTransport(mail.parse_smtp_url(smtp_server.url)),
        envelope_from="trygghet@example.se",
        max_attempts=3,
        on_sent=None,  # protocols carry no findings' events
    )
    assert len(smtp_server.received) == 2


def test_a_changed_protocol_goes_out_again_and_a_late_participant_gets_it(
    walk: Walk, crew: Staff, participants: list[str], smtp_server: MailServer
) -> None:
    send(crew, walk)
    crew.post("coordinator", walk.url("/participants"), {"email": "cilla@bid.example.se"})
    assert send(crew, walk) == [
        "Protokollet skickas nu till 1 deltagare; 2 hade redan fått den här versionen."
    ]
    assert len(smtp_server.to("cilla@bid.example.se")) == 1
    assert (
        smtp_server.to("cilla@bid.example.se")[0]
        .get_body(("plain",))
        .get_content(  # type: ignore[union-attr]
        )
        .startswith("Hej!")
    )
    # The coordinator gives the boundary finding to an owner: the protocol has changed.
    set_owner(walk.server.db, walk.findings["edge"], owner_id(walk.server, "Örebrobostäder AB"))
    assert (
        "Protokollet har ändrats sedan det senast skickades."
        in crew.viewer.get(walk.url("/protocol")).text
    )
    assert send(crew, walk) == ["Protokollet skickas nu till 3 deltagare."]
    for email in [*participants, "cilla@bid.example.se"]:
        latest = smtp_server.to(email)[-1]
        assert latest["Subject"].startswith("Uppdaterat protokoll")
        text = latest.get_body(("plain",)).get_content()  # type: ignore[union-attr]
        assert "=== Örebrobostäder AB – 3 fynd ===" in text and "Att fördela" not in text
    assert len(smtp_server.received) == 2 + 1 + 3
    assert send(crew, walk)[0].startswith("Alla deltagare har redan fått")


def test_no_participants_is_a_clear_message_and_sends_nothing(
    walk: Walk, crew: Staff, smtp_server: MailServer
) -> None:
    assert send(crew, walk) == [
        "Vandringen har inga deltagare. Lägg till deltagare med e-post på vandringens sida först"
        " – inget skickades."
    ]
    assert walk.server.rows("SELECT * FROM outbox") == [] and smtp_server.received == []


def test_a_protocol_too_big_for_mail_goes_without_photos(
    walk: Walk,
    crew: Staff,
    participants: list[str],
    smtp_server: MailServer,
    settings: Settings,
    tmp_path: Path,
) -> None:
    settings.mail_max_bytes = 260_000  # the PDF with photos is larger than this
    send(crew, walk)
    message = smtp_server.to(participants[0])[0]
    assert len(message.as_bytes()) <= 260_000
    assert pdf_images(attachment(message)[1], tmp_path) == 0
    assert "PDF:en har inga foton" in message.get_body(("plain",)).get_content()  # type: ignore[union-attr]


# ---- who may do what --------------------------------------------------------------------------


def test_a_viewer_sees_the_pages_but_cannot_change_anything(
    walk: Walk, crew: Staff, participants: list[str], smtp_server: MailServer
) -> None:
    for url in [
        "/c/walks",
        walk.url(),
        walk.url("/map.json"),
        walk.url("/protocol"),
        walk.url("/protocol.pdf"),
    ]:
        assert crew.viewer.get(url).status_code == 200, url
    page = crew.viewer.get(walk.url()).text
    assert "/remove" not in page and 'id="add-participant"' not in page
    assert "/protocol/send" not in crew.viewer.get(walk.url("/protocol")).text
    [pid] = [r[0] for r in walk.server.rows("SELECT id FROM walk_participants LIMIT 1")]
    for url, data in [
        (walk.url("/participants"), {"email": "x@example.se"}),
        (walk.url(f"/participants/{pid}/remove"), {}),
        (walk.url("/protocol/send"), {}),
    ]:
        assert crew.post("viewer", url, data).status_code == 403, url
    assert len(walk.server.rows("SELECT * FROM walk_participants")) == 2
    assert walk.server.rows("SELECT * FROM outbox") == [] and smtp_server.received == []


def test_a_form_without_the_right_csrf_token_is_refused(walk: Walk, crew: Staff) -> None:
    answer = crew.coordinator.post(
        walk.url("/participants"),
        data={"csrf": "wrong", "email": "x@example.se"},
        follow_redirects=False,
    )
    assert answer.status_code == 403
    assert walk.server.rows("SELECT * FROM walk_participants") == []


def test_anonymous_is_sent_to_sign_in(walk: Walk, crew: Staff) -> None:
    for url in [
        "/c/walks",
        walk.url(),
        walk.url("/map.json"),
        walk.url("/protocol"),
        walk.url("/protocol.pdf"),
    ]:
        answer = crew.anonymous.get(url, follow_redirects=False)
        assert answer.status_code == 303 and answer.headers["location"].startswith("/c/login")
    answer = crew.anonymous.post(
        walk.url("/protocol/send"), data={"csrf": "x"}, follow_redirects=False
    )
    assert answer.status_code == 303 and answer.headers["location"].startswith("/c/login")


def test_disorder_findings_stay_out_of_what_participants_get(
    walk: Walk, crew: Staff, participants: list[str], smtp_server: MailServer, tmp_path: Path
) -> None:
    """Drug dealing spots go to the police/EST; residents and volunteers walk too."""
    note = "Langning vid cykelgaraget kvällstid"
    ord_finding = finding_json(
        walk_id=walk.id,
        category="ORD",
        severity="high",
        note=note,
        latitude=59.2742,
        longitude=15.2045,
        captured_at=(START + timedelta(minutes=50)).isoformat(),
    )
    walk.server.push(walk.device, findings=[ord_finding])
    route_pending(walk.server.db)
    page = crew.viewer.get(walk.url("/protocol")).text
    assert note in page and 'id="police-only"' in page  # staff see it, and what is left out
    send(crew, walk)
    for email in participants:
        [message] = smtp_server.to(email)
        text = message.get_body(("plain",)).get_content()  # type: ignore[union-attr]
        assert note not in text and "1 ordningsstörningar har gått direkt till polisen" in text
        _, pdf = attachment(message)
        flat = " ".join(pdf_text(pdf, tmp_path).split())
        assert note not in flat and walk.notes["lamp"] in flat
    assert "har ändrats sedan" not in crew.viewer.get(walk.url("/protocol")).text

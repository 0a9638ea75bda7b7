"""Commands run on their own never guess the server's address (issue 10, case 8).

A real `walkaudit-server serve` on a free port (never the default 8470), a walk sent by the real
`walkaudit` CLI, and `walkaudit-server send-reports` run as a separate process: the owner links in
the mails it writes point at the port the server really runs on, or at WALKAUDIT_PUBLIC_URL; with
neither known the command refuses and writes nothing.
"""

from __future__ import annotations

import email
import json
import re
import stat
from collections.abc import Iterator
from email import policy
from pathlib import Path

import httpx
import pytest

from tests.support import ServerProcess, field, free_port, owner_square, run

# A rectangle around the walk's finding (Vivalla, Örebro), with the owner's address.
AREA = owner_square()  # the walk's finding lies in it


@pytest.fixture(autouse=True)
def _no_public_url(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("WALKAUDIT_PUBLIC_URL", raising=False)


@pytest.fixture
def served(tmp_path: Path) -> Iterator[ServerProcess]:
    server = ServerProcess(tmp_path / "server", env={"WALKAUDIT_REPORT_INTERVAL_S": "0"}).start()
    try:
        yield server
    finally:
        server.stop()


def walk_with_a_finding(server: ServerProcess, tmp_path: Path) -> None:
    """An owner with an email, and one finding in their area sent from a finished walk."""
    geo = tmp_path / "owners.geojson"
    geo.write_text(json.dumps(AREA), encoding="utf-8")
    assert server.cli("owners", "import", str(geo)).code == 0
    phone = tmp_path / "phone"
    field(phone, "enrol", server.url, server.enrol_code())
    field(phone, "walk", "start", "Kvällsvandring Vivalla")
    field(phone, "add", "--category", "BEL", "--lat", "59.2743", "--lon", "15.2066",
          "--note", "Gatlampan vid gångtunneln är trasig")  # fmt: skip
    field(phone, "walk", "end")
    field(phone, "sync")


def owner_links(data: Path) -> list[str]:
    """Every owner-page link in the plain-text parts of the mails in the outbox."""
    links = []
    for path in sorted((data / "outbox").glob("*.eml")):
        message = email.message_from_bytes(path.read_bytes(), policy=policy.default)
        for part in message.walk():
            if part.get_content_type() == "text/plain":
                links += re.findall(r"https?://\S+/o/[A-Za-z0-9_\-]+", part.get_content())
    return links


def test_send_reports_links_to_the_port_serve_runs_on(
    served: ServerProcess, tmp_path: Path
) -> None:
    assert served.port != 8470  # the default the command used to guess
    walk_with_a_finding(served, tmp_path)
    remembered = served.data / "server-url"
    assert remembered.read_text().strip() == served.url
    assert stat.S_IMODE(remembered.stat().st_mode) == 0o600

    r = run("walkaudit-server", "--data", served.data, "send-reports")
    assert r.code == 0, r.err
    links = owner_links(served.data)
    assert links and all(link.startswith(f"{served.url}/o/") for link in links), links
    assert httpx.get(links[0]).status_code == 200  # and it opens the owner's page


def test_public_url_wins_over_the_remembered_address(served: ServerProcess, tmp_path: Path) -> None:
    walk_with_a_finding(served, tmp_path)
    public = "https://walkaudit.example.se"
    r = run("walkaudit-server", "--data", served.data, "send-reports",
            env={"WALKAUDIT_PUBLIC_URL": public + "/"})  # fmt: skip
    assert r.code == 0, r.err
    links = owner_links(served.data)
    assert links and all(link.startswith(f"{public}/o/") for link in links), links


def test_without_an_address_send_reports_refuses_and_sends_nothing(
    served: ServerProcess, tmp_path: Path
) -> None:
    walk_with_a_finding(served, tmp_path)
    served.stop()
    (served.data / "server-url").unlink()  # data from before addresses were remembered

    r = run("walkaudit-server", "--data", served.data, "send-reports")
    assert r.code == 1
    assert "set WALKAUDIT_PUBLIC_URL" in r.err and "start `serve` once" in r.err
    assert owner_links(served.data) == []
    assert not list((served.data / "outbox").glob("*.eml"))


def test_enrol_code_hint_names_the_known_address_or_none(tmp_path: Path) -> None:
    data = tmp_path / "server"
    r = run("walkaudit-server", "--data", data, "enrol-code")
    assert r.code == 0 and r.out.strip()  # the code itself is still made
    assert "enrol SERVER-ADDRESS" in r.err and "WALKAUDIT_PUBLIC_URL" in r.err
    assert "8470" not in r.err  # no guess

    server = ServerProcess(data, env={"WALKAUDIT_REPORT_INTERVAL_S": "0"}).start()
    server.stop()
    r = run("walkaudit-server", "--data", data, "enrol-code")
    assert r.code == 0 and f"enrol {server.url} " in r.err


def test_serve_believes_no_forwarded_for_by_itself(served: ServerProcess) -> None:
    """uvicorn's own proxy handling is off: a loopback client cannot pose as another address
    (which proxies are believed is WALKAUDIT_TRUSTED_PROXIES' business)."""
    spoofed = "203.0.113.77"
    response = httpx.get(f"{served.url}/no/such/page", headers={"X-Forwarded-For": spoofed})
    assert response.status_code == 404
    served.stop()  # flush the access log
    log = served.log.read_text()
    assert "/no/such/page" in log and spoofed not in log


def test_serve_on_every_interface_needs_the_public_address(tmp_path: Path) -> None:
    # Listening on 0.0.0.0 it cannot know which address people use: no guess goes into mails.
    r = run("walkaudit-server", "--data", tmp_path / "data", "serve", "--host", "0.0.0.0",
            "--port", str(free_port()), timeout=30)  # fmt: skip
    assert r.code != 0 and "set WALKAUDIT_PUBLIC_URL" in r.err
    assert not (tmp_path / "data" / "server-url").exists()

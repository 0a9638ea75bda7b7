"""The report pass as `send-reports` and `serve` run it: once only, the findings' 'sent' event
(delivery's `on_sent` callback), the command's summary and the periodic loop."""

from __future__ import annotations

from typing import Any

import pytest

from tests.server.mail_support import MailServer
from tests.server.reports.support import PUBLIC, World


def test_a_second_pass_sends_nothing_new_and_sent_is_in_the_history(
    world: World, smtp_server: MailServer
) -> None:
    world.end_walk()
    world.pass_()
    again = world.pass_()
    assert again.reports == [] and again.delivery.sent == 0
    assert len(smtp_server.received) == 3  # two reports, one weekly summary
    for key, fid in world.findings.items():
        events = world.server.rows(
            "SELECT kind, note FROM events WHERE finding_id = ? AND kind = 'sent'", fid
        )
        status = world.server.rows("SELECT status FROM findings WHERE id = ?", fid)[0][0]
        if key == "triage":
            assert events == [] and status == "received"
        else:
            assert len(events) == 1 and status == "sent", key
    [(note,)] = world.server.rows(
        "SELECT note FROM events WHERE finding_id = ? AND kind = 'sent'", world.findings["lamp"]
    )
    assert note == "felanmalan@obo.example.se"


def test_send_reports_command(
    world: World, smtp_server: MailServer, monkeypatch: pytest.MonkeyPatch, capsys: Any
) -> None:
    from sync_server.cli import main

    world.end_walk()
    for name, value in (
        ("SMTP_URL", smtp_server.url),
        ("MAIL_FROM", "trygghet@example.se"),
        ("PUBLIC_URL", PUBLIC),
    ):
        monkeypatch.setenv(f"WALKAUDIT_{name}", value)
    assert main(["--data", str(world.settings.data_dir), "send-reports"]) == 0
    err = capsys.readouterr().err
    assert "reports enqueued: 2" in err and "delivered: 2 sent, 0 to retry, 0 failed" in err
    assert len(smtp_server.received) == 2
    monkeypatch.setenv("WALKAUDIT_SMTP_URL", "smtp://user:hemligt@mail.example.se:25")
    assert main(["--data", str(world.settings.data_dir), "send-reports"]) == 2
    err = capsys.readouterr().err
    assert "unencrypted" in err and "hemligt" not in err


def test_serve_runs_the_pass_periodically(world: World, smtp_server: MailServer) -> None:
    from sync_server.app import create_app
    from tests.server.conftest import CHEAP_HASHER, TestClient

    world.end_walk()
    settings = world.settings.model_copy(update={"report_interval_s": 0.2})
    app = create_app(settings, hasher=CHEAP_HASHER)
    with TestClient(app):
        received = smtp_server.wait_for(3, timeout=20)  # two reports and the weekly summary
    assert len(received) == 3

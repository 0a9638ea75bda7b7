"""Pull: status changes of my findings after a cursor, ascending, paged with `more`."""

from __future__ import annotations

from typing import Any

from sync_server.core import history
from tests.server.conftest import Server, event_json, finding_json
from walkaudit.model import EventKind


def pull(server: Server, device: Any, since: int = 0, limit: int = 500) -> dict[str, Any]:
    response = server.client.get(
        "/v1/sync/pull", params={"since": since, "limit": limit}, headers=device.headers
    )
    assert response.status_code == 200, response.text
    result: dict[str, Any] = response.json()
    return result


def test_cursor_semantics(server: Server, device: Any) -> None:
    empty = pull(server, device)
    assert empty == {"cursor": 0, "changes": [], "more": False}

    findings = [finding_json() for _ in range(3)]
    server.push(device, findings=findings)
    first = pull(server, device)
    assert [c["status"] for c in first["changes"]] == ["received"] * 3
    assert [c["finding_id"] for c in first["changes"]] == [f["id"] for f in findings]
    seqs = [c["seq"] for c in first["changes"]]
    assert seqs == sorted(seqs) and first["cursor"] == seqs[-1] and not first["more"]

    assert pull(server, device, since=first["cursor"]) == {
        "cursor": first["cursor"], "changes": [], "more": False
    }  # fmt: skip

    with server.db.write() as tx:
        history.add_server_event(tx, findings[1]["id"], EventKind.ACKNOWLEDGED, actor="Kommunen")
    later = pull(server, device, since=first["cursor"])
    (change,) = later["changes"]
    assert change["status"] == "acknowledged" and change["event"]["actor"] == "Kommunen"
    assert later["cursor"] == change["seq"] > first["cursor"]


def test_paging_with_limit_and_more(server: Server, device: Any) -> None:
    server.push(device, findings=[finding_json() for _ in range(5)])
    seen, cursor, pages = [], 0, 0
    while True:
        page = pull(server, device, since=cursor, limit=2)
        seen += page["changes"]
        cursor, pages = page["cursor"], pages + 1
        if not page["more"]:
            break
    assert pages == 3 and len(seen) == 5


def test_only_my_findings_and_status_after_each_event(server: Server) -> None:
    mine, other = server.enrol("mine"), server.enrol("other")
    finding = finding_json()
    server.push(mine, findings=[finding])
    server.push(other, findings=[finding_json()])
    # another device's follow-up on my finding shows up in my pull, and a comment keeps the status
    server.push(other, events=[event_json(finding["id"], "verified")])
    server.push(other, events=[event_json(finding["id"], "comment", note="still looks ok")])
    changes = pull(server, mine)["changes"]
    assert [(c["event"]["kind"], c["status"]) for c in changes] == [
        ("received", "received"), ("verified", "verified"), ("comment", "verified")
    ]  # fmt: skip
    assert all(c["finding_id"] == finding["id"] for c in changes)
    assert len(pull(server, other)["changes"]) == 1  # its own finding's received event only

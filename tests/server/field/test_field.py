"""Open findings for follow-up walks and nearby prompts, and photo download, for devices."""

from __future__ import annotations

from typing import Any

from tests.server.conftest import Server, finding_json, make_jpeg, photo_json, sha


def test_open_findings_by_area_and_by_radius(server: Server, device: Any) -> None:
    other = server.enrol("phone B")
    walk = {"id": finding_json()["id"], "name": "Vandring", "area": "Vivalla",
            "started_at": finding_json()["captured_at"]}  # fmt: skip
    near = finding_json(walk_id=walk["id"], latitude=59.27430, longitude=15.20660)
    far = finding_json(latitude=59.30, longitude=15.30)
    server.push(device, walks=[walk], findings=[near, far])
    answer = server.client.get("/v1/findings/open", params={"area": "vivalla"},
                               headers=other.headers).json()  # fmt: skip
    assert [f["finding"]["id"] for f in answer["findings"]] == [near["id"]]
    assert answer["findings"][0]["status"] == "received"
    assert answer["findings"][0]["area"] == "Vivalla"
    around = server.client.get("/v1/findings/open",
                               params={"lat": 59.2744, "lon": 15.2066, "radius_m": 50},
                               headers=other.headers).json()  # fmt: skip
    assert [f["finding"]["id"] for f in around["findings"]] == [near["id"]]


def test_open_findings_need_a_device_and_a_place(server: Server, device: Any) -> None:
    assert server.client.get("/v1/findings/open", params={"area": "x"}).status_code == 401
    r = server.client.get("/v1/findings/open", headers=device.headers)
    assert r.status_code == 422 and "area" in r.json()["detail"]


def test_a_stored_photo_can_be_fetched_by_devices_only(server: Server, device: Any) -> None:
    data = make_jpeg(seed=3)
    server.push(device, findings=[finding_json(photos=[photo_json(data)])])
    assert server.upload(device, data) == 201
    other = server.enrol("phone B")
    r = server.client.get(f"/v1/photos/{sha(data)}", headers=other.headers)
    assert r.status_code == 200 and r.content == data
    assert server.client.get(f"/v1/photos/{sha(data)}").status_code == 401
    missing = server.client.get("/v1/photos/" + "0" * 64, headers=other.headers)
    assert missing.status_code == 404

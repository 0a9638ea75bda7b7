"""The reports' fixtures: a server that sends mail, and the world of two owners (support.World)."""

from __future__ import annotations

import pytest

from sync_server.config import Settings
from tests.server.conftest import Device, Server
from tests.server.mail_support import add_owner, assign, box
from tests.server.reports.support import LAT, LON, World, walk_json
from walkaudit.model import new_id


@pytest.fixture
def settings(mail_settings: Settings) -> Settings:
    """This server sends mail, through `smtp_server` (both in conftest)."""
    return mail_settings


@pytest.fixture
def world(server: Server, device: Device, settings: Settings) -> World:
    w = World(server, device, settings, new_id())
    server.push(device, walks=[walk_json(w.walk_id, ended=False)])
    w.owners["bo"] = add_owner(
        server.db, "Örebrobostäder AB", "felanmalan@obo.example.se", area=box(LON, LAT)
    )
    w.owners["kommun"] = add_owner(
        server.db,
        "Örebro kommun, Tekniska förvaltningen",
        "gata@orebro.example.se",
        language="en",
        area=box(LON + 0.004, LAT),
    )
    for key, owner, note, category, extra in [
        ("lamp", "bo", "Trasig lampa vid gångtunneln – helt mörkt", "BEL", {"severity": "urgent"}),
        ("bush", "bo", "Buskage skymmer sikten vid lekplatsen", "VEG", {"severity": "medium"}),
        ("door", "bo", "Porten till källaren går inte att låsa", "SKA", {}),
        ("sign", "kommun", "Skylt mot Vivallaskolan saknas", "ORI", {"severity": "low"}),
        ("path", "kommun", "Gångvägen har stora hål – risk för fall", "GAN", {}),
        ("triage", None, "Oklart vem som äger muren här", "KLO", {}),
    ]:
        lon = LON + (0.004 if owner == "kommun" else 0) + len(w.findings) * 0.0003
        fid = w.push(key, note=note, category=category, longitude=lon, **extra)
        assign(server.db, fid, w.owners[owner] if owner else None)
    w.push("two-photos", photos=2, note="Klotter på båda sidor om bron", category="KLO")
    assign(server.db, w.findings["two-photos"], w.owners["bo"])
    return w

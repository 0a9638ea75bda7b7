"""Offline map packages (issue 11), in-process: the pure functions — tile math at known points,
the package's identity, which sources allow packages, and how a 429's Retry-After is read.
"""

from __future__ import annotations

import email.utils

import pytest

from sync_server.field import tile_packages as tp
from tests.server.field.tile_packages_support import OREBRO, expected_tiles

# ---- the pure functions, in-process ---------------------------------------------------------


def test_tile_math_at_known_points() -> None:
    for z in (12, 16, 18):
        half = 2 ** (z - 1)
        assert (tp.tile_x(0.0001, z), tp.tile_y(0.0001, z)) == (half, half - 1)
        assert (tp.tile_x(-180, z), tp.tile_y(85.0511, z)) == (0, 0)
        assert (tp.tile_x(180, z), tp.tile_y(-85.0511, z)) == (2**z - 1, 2**z - 1)
        assert tp.tms_row(z, 0) == 2**z - 1
    box = tp.Box(**OREBRO)
    assert {t for r in tp.plan(box) for t in r.tiles()} == expected_tiles(**OREBRO)
    assert tp.Box(0, 0, 1, 1).area_km2 == pytest.approx(111.19**2, rel=1e-3)
    assert tp.Box(**OREBRO).area_km2 == pytest.approx(1.0, rel=0.02)


def test_the_package_id_is_the_rounded_area_and_the_source() -> None:
    box = tp.check_box(tp.Box(**OREBRO))
    template = "https://tiles.example.se/{z}/{x}/{y}.png"
    nudged = tp.check_box(tp.Box(*(v + 0.00003 for v in (box.south, box.west, box.north,
                                                          box.east))))  # fmt: skip
    assert tp.package_id(box, template) == tp.package_id(nudged, template)
    assert tp.package_id(box, template) != tp.package_id(box, template.replace("tiles", "maps"))
    moved = tp.check_box(tp.Box(box.south + 0.001, box.west, box.north + 0.001, box.east))
    assert tp.package_id(moved, template) != tp.package_id(box, template)


def test_which_sources_allow_packages() -> None:
    for allowed in ("https://tiles.orebro.se/{z}/{x}/{y}.png",
                    "http://127.0.0.1:8080/{z}/{x}/{y}.png",
                    "https://{s}.tiles.example.se/{z}/{x}/{-y}.jpg"):  # fmt: skip
        assert tp.check_source(allowed) == allowed
    for refused in ("", "  ", "https://tile.openstreetmap.org/{z}/{x}/{y}.png",
                    "https://c.tile.openstreetmap.org/{z}/{x}/{y}.png",
                    "https://TILE.OpenStreetMap.org./{z}/{x}/{y}.png",
                    "ftp://tiles.example.se/{z}/{x}/{y}.png",
                    "https://tiles.example.se/tiles.png"):  # fmt: skip
        with pytest.raises(tp.NoAllowedSource):
            tp.check_source(refused)
    url = tp.tile_url("https://{s}.t.se/{z}/{x}/{-y}{r}.png", 16, 35571, 18900)
    assert url == f"https://{'abc'[(35571 + 18900) % 3]}.t.se/16/35571/{2**16 - 1 - 18900}.png"


def test_retry_after_is_read_as_seconds_or_a_date_and_kept_within_a_minute() -> None:
    now = 1_800_000_000.0
    assert tp.retry_after_s("3") == 3
    assert tp.retry_after_s("120") == tp.MAX_PAUSE_S == 60  # a source's hour is not waited out
    assert tp.retry_after_s("0") == 1
    in_ten = email.utils.formatdate(now + 10, usegmt=True)
    assert tp.retry_after_s(in_ten, now=now) == pytest.approx(10)
    for unusable in (None, "", "soon", "-5"):
        assert tp.retry_after_s(unusable, now=now) == tp.DEFAULT_PAUSE_S

"""Fixtures the field package's tests share."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from tests.tile_source import TileSource


@pytest.fixture(scope="module")
def source() -> Iterator[TileSource]:
    """A tile source on loopback, one per test module (as each module had its own before)."""
    with TileSource() as tiles:
        yield tiles

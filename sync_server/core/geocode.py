"""Nearest street address of a finding: Nominatim's reverse endpoint via geopy, cached, polite.

An address is a courtesy in the email, never a reason to hold one back: every failure (timeout,
refused connection, an error answer, garbage) means "no address", logged once, and the report
goes out without it. Answers are cached in `geocode_cache` under the position rounded to 1e-5°
(~1 m), including "nothing there" (address NULL); failures are not cached, so the next pass asks
again. Requests are spaced at least `min_interval_s` apart (Nominatim's usage policy: 1/s), and
after a failure the server is left alone for `cooldown_s` so that one pass with a hundred
findings does not wait out a hundred timeouts.

One finding's position never costs the others their addresses: a position that is not one
(NaN, latitude beyond ±90°) is not asked for at all — geopy would refuse it and the cooldown
would then hold back every other finding's address — and an answer about one position that
cannot be made into an address is that position's "no address", not a reason to rest.

Errors: none escape `address()`; a bad `url` raises ValueError at construction.
"""

from __future__ import annotations

import logging
import math
import threading
import time
from collections.abc import Callable
from datetime import datetime
from typing import Any, Protocol
from urllib.parse import urlsplit

from geopy.adapters import URLLibAdapter
from geopy.exc import GeopyError
from geopy.geocoders import Nominatim

from sync_server.core.db import Database
from sync_server.core.time import iso
from walkaudit.model import utcnow

log = logging.getLogger(__name__)

USER_AGENT = "walkaudit-server (neighbourhood safety walks)"
_ROADS = ("road", "pedestrian", "footway", "path", "cycleway", "square", "place")
_TOWNS = ("city", "town", "village", "suburb", "municipality")


class AddressLookup(Protocol):
    """What a report needs: the nearest address, or None; `deadline` is a time.monotonic()."""

    def address(self, lat: float, lon: float, deadline: float | None = None) -> str | None: ...


class NoAddresses:
    """The lookup when no geocoder is configured (the default)."""

    def address(self, lat: float, lon: float, deadline: float | None = None) -> str | None:
        return None


def cache_key(lat: float, lon: float) -> str:
    """The cache key: the position rounded to 1e-5° (about a metre)."""
    return f"{lat:.5f},{lon:.5f}"


class NominatimAddresses:
    """Reverse geocoding against one Nominatim server, through the cache and a rate limiter."""

    def __init__(
        self,
        db: Database,
        url: str,
        *,
        timeout_s: float = 3.0,
        min_interval_s: float = 1.0,
        cooldown_s: float = 300.0,
        language: str = "sv",
        clock: Callable[[], float] = time.monotonic,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        parts = urlsplit(url.strip())
        if parts.scheme not in ("http", "https") or not parts.netloc:
            raise ValueError(
                f"the geocoder URL must look like https://nominatim.example.org, not {url!r}"
            )
        self._db = db
        # geopy appends /reverse to scheme://domain; a path prefix rides along in the domain.
        self._geocoder = Nominatim(
            domain=parts.netloc + parts.path.rstrip("/"),
            scheme=parts.scheme,
            user_agent=USER_AGENT,
            timeout=timeout_s,
            adapter_factory=URLLibAdapter,  # stdlib only: no `requests` needed on the server
        )
        self._timeout_s = timeout_s
        self._interval = min_interval_s
        self._cooldown = cooldown_s
        self._language = language
        self._clock, self._sleep = clock, sleep
        self._lock = threading.Lock()  # one request at a time, process-wide for this instance
        self._last_request = float("-inf")
        self._down_until = float("-inf")
        self.requests = 0  # how many requests went out (for tests and the pass's summary)

    def address(self, lat: float, lon: float, deadline: float | None = None) -> str | None:
        """The cached or fetched address; None if unknown, unreachable or out of time."""
        if not is_position(lat, lon):
            log.warning("no address for %r, %r: not a position", lat, lon)
            return None
        key = cache_key(lat, lon)
        row = self._db.query_one("SELECT address FROM geocode_cache WHERE key = ?", (key,))
        if row is not None:
            return None if row["address"] is None else str(row["address"])
        found, answered = self._fetch(lat, lon, deadline)
        if answered:
            try:
                self._store(key, found, utcnow())
            except Exception:  # the cache is a saving, not a condition for the address
                log.exception("address for %s not cached", key)
        return found

    def _fetch(self, lat: float, lon: float, deadline: float | None) -> tuple[str | None, bool]:
        with self._lock:
            now = self._clock()
            if now < self._down_until:
                return None, False
            start = max(now, self._last_request + self._interval)
            if deadline is not None and start + self._timeout_s > deadline:
                return None, False  # the report's time for addresses is used up
            if start > now:
                self._sleep(start - now)
            self._last_request = self._clock()
            self.requests += 1
            try:
                location = self._geocoder.reverse(
                    (lat, lon), exactly_one=True, language=self._language, zoom=18
                )
            except (GeopyError, OSError, ValueError) as exc:
                self._down_until = self._clock() + self._cooldown
                log.warning(
                    "no address for %.5f,%.5f (geocoder: %s); reports go out without "
                    "addresses for %.0f s",
                    lat, lon, exc or type(exc).__name__, self._cooldown,
                )  # fmt: skip
                return None, False
        if location is None:  # Nominatim answered: nothing there
            return None, True
        try:
            return format_address(location.raw), True
        except Exception:  # an odd answer about this position: its "no address", no rest
            log.exception("no address for %.5f,%.5f: the answer cannot be read", lat, lon)
            return None, False

    def _store(self, key: str, address: str | None, at: datetime) -> None:
        with self._db.write() as tx:
            tx.execute(
                "INSERT OR REPLACE INTO geocode_cache (key, address, fetched_at) VALUES (?, ?, ?)",
                [key, address, iso(at)],
            )


def is_position(lat: object, lon: object) -> bool:
    """Whether (lat, lon) are numbers on the globe."""
    try:
        la, lo = float(lat), float(lon)  # type: ignore[arg-type]
    except (TypeError, ValueError):
        return False
    return math.isfinite(la) and math.isfinite(lo) and abs(la) <= 90 and abs(lo) <= 180


def format_address(raw: dict[str, Any]) -> str | None:
    """'Storgatan 12, Örebro' from Nominatim's JSON; the first parts of display_name otherwise."""
    parts = raw.get("address")
    if isinstance(parts, dict):
        road = next((str(parts[k]) for k in _ROADS if parts.get(k)), "")
        number = str(parts.get("house_number") or "")
        town = next((str(parts[k]) for k in _TOWNS if parts.get(k)), "")
        street = f"{road} {number}".strip()
        text = ", ".join(p for p in (street, town) if p)
        if text:
            return text
    display = raw.get("display_name")
    if isinstance(display, str) and display.strip():
        return ", ".join(p.strip() for p in display.split(",")[:3])
    return None


def lookup_from_settings(db: Database, url: str | None, timeout_s: float) -> AddressLookup:
    """Nominatim when a URL is configured, else no addresses."""
    return NominatimAddresses(db, url, timeout_s=timeout_s) if url else NoAddresses()

"""Making guessing cost time: failures counted per key over a sliding window, in memory.

The counts live in this process's memory. That is enough for the one uvicorn process that
`walkaudit-server serve` runs; several worker processes would each count on their own (a limit
of N per window would become N per worker), and a restart forgets the counts. Sign-in keeps its
counts in the database instead (`workspace.accounts`: a few slow argon2 tries a minute, where a
write per try costs nothing); here the failures are cheap and can come by thousands a second.

The limits (each per address unless said; an IPv6 address counts as its /64, which is what one
subscriber usually gets, so a new address out of the same network does not reset a count):

    enrolment codes   10 wrong per address, 100 wrong from all addresses   api.field.enrol
    device tokens     30 unknown                                           sync_server.api.deps
    owner links       30 unknown                                           sync_server.api.owners
    Open311 api keys  30 wrong (and photo links with a wrong signature)    sync_server.api.open311

all in 15 minutes. A key with `most` failures in the last `window` is refused until the oldest of
them is a window old: that is the honest Retry-After, and one more try is allowed then. A limit
reached is logged once per window per key, with the refused tries since, never per request.
"""

from __future__ import annotations

import ipaddress
import logging
import math
import threading
import time
from collections import deque
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

log = logging.getLogger("walkaudit.server")

WINDOW = timedelta(minutes=15)
ALL = "all addresses"  # the key of a limit over every address
MAX_KEYS = 10_000  # per throttle; beyond it the oldest keys are forgotten (memory stays bounded)


@dataclass(frozen=True)
class Limit:
    """At most `most` failures per key in `window`; `what` and `failures` name them in the log."""

    what: str  # e.g. "enrolment"
    failures: str  # e.g. "wrong codes"
    most: int
    window: timedelta = WINDOW

    @property
    def minutes(self) -> int:
        """The window in whole minutes, for messages."""
        return max(1, round(self.window.total_seconds() / 60))


ENROL_PER_ADDRESS = Limit("enrolment", "wrong codes", 10)
ENROL_OVERALL = Limit("enrolment", "wrong codes", 100)
DEVICE_TOKENS = Limit("device tokens", "unknown device tokens", 30)
OWNER_LINKS = Limit("owner links", "unknown owner links", 30)
API_KEYS = Limit("open311", "wrong api keys or photo links", 30)


def address_key(address: str) -> str:
    """The key an address is counted under: itself, its /64 for IPv6, IPv4 for IPv4-mapped IPv6.

    Anything that is not an IP address (a test client's name, say) is its own key.
    """
    try:
        ip = ipaddress.ip_address(address.strip().strip("[]"))
    except ValueError:
        return address[:64]
    if isinstance(ip, ipaddress.IPv6Address):
        if ip.ipv4_mapped is not None:
            return str(ip.ipv4_mapped)
        return str(ipaddress.IPv6Network((ip, 64), strict=False))
    return str(ip)


def minutes(seconds: int) -> int:
    """Whole minutes to wait, rounded up (a person reads "1 minute", never "0 minutes")."""
    return max(1, math.ceil(seconds / 60))


def wait_text(seconds: int) -> str:
    """ "1 minute", "14 minutes": how long to wait, in an English sentence."""
    n = minutes(seconds)
    return f"{n} minute" if n == 1 else f"{n} minutes"


def _clock_time(seconds_from_now: float) -> str:
    return (datetime.now(UTC) + timedelta(seconds=seconds_from_now)).strftime("%H:%M UTC")


class OncePerWindow:
    """Logs a message for a key at most once per window (thread-safe, bounded)."""

    def __init__(self, window: timedelta = WINDOW, clock: Callable[[], float] = time.monotonic):
        self._window = window.total_seconds()
        self._clock = clock
        self._last: dict[str, float] = {}
        self._lock = threading.Lock()

    def due(self, key: str) -> bool:
        """True (and remembered) if nothing was logged for `key` in the last window."""
        now = self._clock()
        with self._lock:
            last = self._last.get(key)
            if last is not None and now - last < self._window:
                return False
            self._last.pop(key, None)  # re-inserted at the end: the dict stays oldest-first
            self._last[key] = now
            while len(self._last) > MAX_KEYS:
                del self._last[next(iter(self._last))]
            return True

    def warning(self, key: str, message: str) -> None:
        """Log `message` as a warning if it is due for `key`."""
        if self.due(key):
            log.warning("%s", message)


@dataclass
class _State:
    times: deque[float]  # monotonic times of the latest failures (at most `most`)
    refused: int = 0  # tries refused since the last log line
    refused_since: float | None = None  # wall-clock time of the first of those
    logged_at: float | None = None  # monotonic


@dataclass
class Throttle:
    """Failures per key for one Limit; thread-safe (sync routes run in a thread pool)."""

    limit: Limit
    clock: Callable[[], float] = time.monotonic
    max_keys: int = MAX_KEYS
    _states: dict[str, _State] = field(default_factory=dict, init=False, repr=False)
    _lock: threading.Lock = field(default_factory=threading.Lock, init=False, repr=False)
    _next_sweep: int = field(default=1024, init=False, repr=False)

    @property
    def _window(self) -> float:
        return self.limit.window.total_seconds()

    def attempt(self, key: str) -> int:
        """Reserve a try for `key`, counted as a failure until `forgive`n: 0 if it may go ahead,
        else the seconds until it may (the try is refused and counted for the log).

        Reserving first means parallel tries cannot all pass the check before any has failed.
        """
        with self._lock:
            now = self.clock()
            state = self._state(key, now)
            wait = self._wait(state, now)
            if wait:
                self._refused(key, state, now, wait)
                return wait
            state.times.append(now)
            return 0

    def reserve(self, key: str) -> bool:
        """Like `attempt`, but quietly: True if a try was reserved, False if `key` is full."""
        with self._lock:
            now = self.clock()
            state = self._state(key, now)
            if self._wait(state, now):
                return False
            state.times.append(now)
            return True

    def record(self, key: str) -> None:
        """Count a failure quietly (one that was let through past a full limit on purpose)."""
        with self._lock:
            now = self.clock()
            self._state(key, now).times.append(now)

    def forgive(self, key: str) -> None:
        """Take back the failure an `attempt` reserved: the try succeeded."""
        with self._lock:
            state = self._states.get(key)
            if state is not None and state.times:
                state.times.pop()

    def failed(self, key: str) -> int:
        """Count a failure that was checked anyway: 0 while `key` was under its limit, else the
        seconds until it is again (the caller answers 429 instead of its usual refusal)."""
        with self._lock:
            now = self.clock()
            state = self._state(key, now)
            over = len(state.times) >= self.limit.most
            state.times.append(now)  # the deque keeps the latest `most`: the wait moves on
            if not over:
                return 0
            wait = self._wait(state, now)
            self._refused(key, state, now, wait)
            return wait

    def retry_after(self, key: str) -> int:
        """Seconds until `key` is under its limit again; 0 if it is now."""
        with self._lock:
            now = self.clock()
            return self._wait(self._state(key, now), now)

    def count(self, key: str) -> int:
        """Failures (and reserved tries) of `key` in the last window."""
        with self._lock:
            return len(self._state(key, self.clock()).times)

    # ---- inside the lock ---------------------------------------------------------------------

    def _state(self, key: str, now: float) -> _State:
        state = self._states.get(key)
        if state is None:
            if len(self._states) >= self._next_sweep:
                self._sweep(now)
            state = self._states[key] = _State(deque(maxlen=self.limit.most))
        while state.times and state.times[0] <= now - self._window:
            state.times.popleft()
        return state

    def _wait(self, state: _State, now: float) -> int:
        if len(state.times) < self.limit.most:
            return 0
        return max(1, math.ceil(state.times[0] + self._window - now))

    def _refused(self, key: str, state: _State, now: float, wait: int) -> None:
        if state.refused == 0:
            state.refused_since = time.time()
        state.refused += 1
        if state.logged_at is not None and now - state.logged_at < self._window:
            return
        limit = self.limit
        message = (
            f"{limit.what}: {len(state.times)} {limit.failures} from {key} in the last "
            f"{limit.minutes} min; refusing until {_clock_time(wait)}"
        )
        if state.logged_at is not None:  # not the first line: say what was refused meanwhile
            since = datetime.fromtimestamp(state.refused_since or time.time(), UTC)
            message += f" ({state.refused} refused since {since:%H:%M UTC})"
        log.warning("%s", message)
        state.logged_at, state.refused, state.refused_since = now, 0, None

    def _sweep(self, now: float) -> None:
        # Forget keys with nothing left in the window; if an attack from very many addresses
        # still leaves too many, forget the oldest (the overall limits still bound what they do).
        old = now - self._window
        for key in list(self._stale(old)):
            del self._states[key]
        while len(self._states) >= self.max_keys:
            del self._states[next(iter(self._states))]
        self._next_sweep = min(self.max_keys, max(1024, 2 * len(self._states)))

    def _stale(self, old: float) -> Iterator[str]:
        for key, state in self._states.items():
            fresh_log = state.logged_at is not None and state.logged_at > old
            if not fresh_log and (not state.times or state.times[-1] <= old):
                yield key


@dataclass
class Throttles:
    """Every limit of one server (kept on its Services; see sync_server.api.deps)."""

    enrol_address: Throttle = field(default_factory=lambda: Throttle(ENROL_PER_ADDRESS))
    enrol_overall: Throttle = field(default_factory=lambda: Throttle(ENROL_OVERALL))
    device_tokens: Throttle = field(default_factory=lambda: Throttle(DEVICE_TOKENS))
    owner_links: Throttle = field(default_factory=lambda: Throttle(OWNER_LINKS))
    api_keys: Throttle = field(default_factory=lambda: Throttle(API_KEYS))
    # Sign-in counts in the database (workspace.accounts); only its log lines are kept here.
    sign_in_log: OncePerWindow = field(default_factory=OncePerWindow)

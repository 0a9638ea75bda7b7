"""The device's requests to the server: bearer token, retries with backoff, stop and activity.

Every request of a sync goes through `Transport`: a 401 becomes AuthError, a 507 ServerFullError,
5xx and 429 are retried (RetryPolicy: exponential backoff with full jitter), and the caller's
`should_stop` is asked before each request and between retries. `SyncClient` (client.py) is a
Transport; the functions below turn the server's answers into the sentences a walker reads.
"""

from __future__ import annotations

import random
import re
from collections.abc import Callable, Iterator
from dataclasses import dataclass

import httpx

from walkaudit.store import Store
from walkaudit.sync.errors import (
    AuthError,
    NotEnrolledError,
    ServerFullError,
    ServerRejectedError,
    ServerUnreachableError,
    SyncStopped,
)
from walkaudit.sync.report import Progress, ProgressCallback


@dataclass(frozen=True)
class RetryPolicy:
    """Exponential backoff with full jitter (AWS's recipe): waits spread out, never in lockstep."""

    attempts: int = 5
    base_s: float = 0.5
    cap_s: float = 30.0

    def delays(self, rng: random.Random) -> Iterator[float]:
        """The wait before each retry (attempts - 1 of them)."""
        for n in range(self.attempts - 1):
            yield rng.uniform(0, min(self.cap_s, self.base_s * 2**n))


class Transient(Exception):
    """A 5xx/429 answer: worth retrying."""


class Transport:
    """The requests of one data directory's sync (its store holds the server and the token)."""

    store: Store
    http: httpx.Client
    retry: RetryPolicy
    rng: random.Random
    sleep: Callable[[float], None]
    on_progress: ProgressCallback | None
    on_activity: Callable[[], None] | None
    should_stop: Callable[[], bool] | None

    def _headers(self, extra: dict[str, str] | None = None) -> dict[str, str]:
        token = self.store.get_meta("token")
        if not token:
            raise NotEnrolledError("this device is not enrolled — run `walkaudit enrol URL CODE`")
        return {"Authorization": f"Bearer {token}", **(extra or {})}

    def _url(self, path: str) -> str:
        server = self.store.get_meta("server_url")
        if not server:
            raise NotEnrolledError(
                "this device is not enrolled (no server address) — run `walkaudit enrol URL CODE`"
            )
        return server + path

    def _once(self, method: str, path: str, **kw: object) -> httpx.Response:
        """One request; 401 and 5xx/429 become exceptions, other answers are returned."""
        self._check_stop()
        headers = kw.pop("headers", None)
        r = self.http.request(method, self._url(path), headers=self._headers(headers), **kw)  # type: ignore[arg-type]
        self._active()
        if r.status_code == 401:
            raise AuthError(
                "the server no longer accepts this device (revoked or unknown) — nothing is lost;"
                " enrol again with a new code and sync"
            )
        if r.status_code == 507:
            raise ServerFullError(detail_of(r))
        if r.status_code == 429 or r.status_code >= 500:
            raise Transient(f"server answered {r.status_code}: {detail_of(r)}")
        return r

    def _request(self, method: str, path: str, **kw: object) -> httpx.Response:
        """A request with retries; returns the first answer that is not worth retrying."""
        delays = self.retry.delays(self.rng)
        while True:
            try:
                return self._once(method, path, **kw)
            except (httpx.TransportError, Transient) as exc:
                delay = next(delays, None)
                if delay is None:
                    raise ServerUnreachableError(why(exc)) from exc
                self._pause(delay)

    def _call(self, method: str, path: str, **kw: object) -> httpx.Response:
        """A request with retries; returns only a 2xx answer."""
        r = self._request(method, path, **kw)
        if r.is_success:
            return r
        raise ServerRejectedError(f"{method} {path}: {detail_of(r)}")

    def _tell(self, progress: Progress) -> None:
        self._active()
        if self.on_progress:
            self.on_progress(progress)

    def _active(self) -> None:
        if self.on_activity:
            self.on_activity()

    def _check_stop(self) -> None:
        if self.should_stop is not None and self.should_stop():
            raise SyncStopped("the sync was stopped; what did not arrive waits for the next one")

    def _pause(self, delay: float) -> None:
        """Wait before a retry, unless the sync is stopped meanwhile (then stop at once)."""
        self._check_stop()
        self.sleep(delay)
        self._check_stop()


def reason_of(r: httpx.Response) -> str:
    """The server's sentence alone (what the walker reads), or the status if it gave none."""
    try:
        detail = r.json().get("detail")
    except (ValueError, AttributeError):
        detail = None
    if not detail:
        return f"the server answered HTTP {r.status_code}"
    # The server adds that nothing of the (one-record) batch was stored; to the walker, whose
    # other records did arrive, that clause would say the opposite of what happened.
    return BATCH_CLAUSE.sub("", str(detail))


BATCH_CLAUSE = re.compile(r"\s*[;,—–-]+\s*nothing of this batch was stored\.?\s*$")


def detail_of(r: httpx.Response) -> str:
    try:
        detail = r.json().get("detail")
    except ValueError:
        detail = None
    return f"{detail} (HTTP {r.status_code})" if detail else f"HTTP {r.status_code}"


def why(exc: Exception) -> str:
    if isinstance(exc, httpx.ConnectError):
        return "connection refused or no network"
    if isinstance(exc, httpx.TimeoutException):
        return "the server did not answer in time"
    return str(exc) or type(exc).__name__

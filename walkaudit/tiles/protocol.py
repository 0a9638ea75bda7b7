"""How the phone talks with the server about a package: its status, the download's progress,
the device client, and how an answer is judged (worth another try, or given up on).

httpx is imported inside the functions that need it: the map screen loads the tiles package,
and httpx costs a cold start's time only when a package is really downloaded.
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from walkaudit.tiles.errors import (
    PackageFailedError,
    ServerBusyError,
    TileError,
    TileServerUnreachableError,
)

if TYPE_CHECKING:
    import httpx

RETRY_AFTER_MAX_S = 30.0  # the longest wait a server's Retry-After gets between two tries


@dataclass(frozen=True)
class PackageStatus:
    """The server's PackageStatus (the fields the phone uses)."""

    id: str
    state: str  # preparing | ready | failed
    tiles: int
    done: int
    estimated_bytes: int
    bytes: int | None
    max_bytes: int
    reason: str | None

    @classmethod
    def of(cls, body: dict[str, Any]) -> PackageStatus:
        return cls(
            id=str(body["id"]),
            state=str(body["state"]),
            tiles=int(body.get("tiles") or 0),
            done=int(body.get("done") or 0),
            estimated_bytes=int(body.get("estimated_bytes") or 0),
            bytes=int(body["bytes"]) if body.get("bytes") is not None else None,
            max_bytes=int(body.get("max_bytes") or 0),
            reason=body.get("reason"),
        )


@dataclass(frozen=True)
class Progress:
    """Where a download is: what the phone's progress bar shows."""

    phase: str  # asking | preparing | downloading | checking | done
    estimated_bytes: int = 0
    tiles: int = 0
    tiles_done: int = 0
    bytes_done: int = 0
    bytes_total: int = 0


ProgressCallback = Callable[[Progress], None]


def device_client(server_url: str, token: str) -> httpx.Client:
    """An httpx client for the device API (base URL and bearer token set, bounded timeouts)."""
    import httpx

    return httpx.Client(
        base_url=server_url.rstrip("/"),
        headers={"Authorization": f"Bearer {token}"},
        timeout=httpx.Timeout(15.0, connect=5.0),
    )


class Transient(Exception):
    """An answer worth another try (5xx, 429, an odd reply); `status` when the server sent one."""

    def __init__(
        self, message: str, status: int | None = None, retry_after: float | None = None
    ) -> None:
        super().__init__(message)
        self.status = status
        self.retry_after = retry_after


def retry_wait(exc: Exception, tries: int) -> float:
    """Backoff between two tries; a server's Retry-After (within reason) is honoured."""
    backoff = min(8.0, 0.5 * 2**tries)
    after = getattr(exc, "retry_after", None)
    return max(backoff, min(RETRY_AFTER_MAX_S, after)) if after else backoff


def gave_up(exc: Exception) -> TileError:
    """The error after the last try: a server that answered is busy or failing, not absent."""
    if isinstance(exc, Transient) and exc.status == 429:
        return ServerBusyError(str(exc))
    if isinstance(exc, Transient) and exc.status is not None:
        return PackageFailedError(f"{str(exc).rstrip('.')}; try again later")
    return TileServerUnreachableError(unreachable(exc))


def transport_errors() -> type[Exception]:
    import httpx

    return httpx.TransportError


def detail_of(r: httpx.Response) -> str:
    with contextlib.suppress(ValueError, AttributeError):
        detail = r.json().get("detail")
        if isinstance(detail, str):
            return detail
    return ""


def unreachable(exc: Exception) -> str:
    import httpx

    if isinstance(exc, httpx.ConnectError):
        return "the server cannot be reached (no network?); try again when you have a connection"
    if isinstance(exc, httpx.TimeoutException):
        return "the server did not answer in time; try again when the connection is better"
    return f"the map package could not be downloaded ({exc}); try again later"

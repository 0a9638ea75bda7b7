"""What a sync tells its caller: progress while it runs, and the report when it is done.

The CLI's bar and the app's sync bar read Progress; `walkaudit sync` and the app's syncer read
SyncReport (what arrived, what was refused for good, what still waits).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

from walkaudit.store import PendingCounts


@dataclass
class Progress:
    """What the CLI's bar and the app's indicator show."""

    phase: str  # push | upload | pull | done
    done_items: int = 0
    total_items: int = 0
    done_bytes: int = 0
    total_bytes: int = 0


@dataclass(frozen=True)
class Refusal:
    """Something the server refused for good in this sync; the store has set it aside."""

    kind: str  # walk | finding | event | route | photo
    id: str  # the record's id; for route points their walk's id; for a photo its sha256
    detail: str  # the server's reason, as it said it
    revision: int = 1


@dataclass
class SyncReport:
    """What one sync achieved and what still waits."""

    records_confirmed: int = 0
    photos_uploaded: int = 0
    bytes_uploaded: int = 0
    changes_pulled: int = 0
    conflicts: list[tuple[str, str]] = field(default_factory=list)
    # Photos that did not go this time and are tried again next sync (sha256, why).
    photo_errors: list[tuple[str, str]] = field(default_factory=list)
    # Records and photos refused for good in this sync (set aside, not sent again).
    refused: list[Refusal] = field(default_factory=list)
    push_requests: int = 0  # POST /v1/sync/push made (halving a refused batch adds to it)
    remaining: PendingCounts | None = None

    @property
    def complete(self) -> bool:
        """True when the server has confirmed everything this device holds."""
        return self.remaining is not None and self.remaining.total == 0


ProgressCallback = Callable[[Progress], None]

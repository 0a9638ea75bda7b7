"""The phone's sync with the server: enrol, push the outbox, upload photos, pull status changes.

    client.py     SyncClient (sync, push, pull, fetch_*, photo upload) and enrol
    transport.py  the device's requests: token, retries with backoff, stop, the server's reasons
    report.py     Progress while a sync runs, SyncReport when it is done
    errors.py     SyncError and its kinds

The protocol: sync_server/PROTOCOL.md.
"""

from walkaudit.sync.client import (
    BATCH_FINDINGS,
    CHUNK_SIZE,
    PHOTO_REFUSALS,
    PIECE_SIZE,
    RECORD_REFUSALS,
    SyncClient,
    enrol,
)
from walkaudit.sync.errors import (
    AuthError,
    EnrolError,
    NotEnrolledError,
    PhotoRefusedError,
    ServerFullError,
    ServerRejectedError,
    ServerUnreachableError,
    SyncError,
    SyncStopped,
)
from walkaudit.sync.report import Progress, ProgressCallback, Refusal, SyncReport
from walkaudit.sync.transport import RetryPolicy

__all__ = [
    "BATCH_FINDINGS",
    "CHUNK_SIZE",
    "PHOTO_REFUSALS",
    "PIECE_SIZE",
    "RECORD_REFUSALS",
    "AuthError",
    "EnrolError",
    "NotEnrolledError",
    "PhotoRefusedError",
    "Progress",
    "ProgressCallback",
    "Refusal",
    "RetryPolicy",
    "ServerFullError",
    "ServerRejectedError",
    "ServerUnreachableError",
    "SyncClient",
    "SyncError",
    "SyncReport",
    "SyncStopped",
    "enrol",
]

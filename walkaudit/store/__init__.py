"""The device's local store: one SQLite database and a folder of photos in one data directory.

    facade.py      Store: open a data directory; walks, route, findings, answers, their photos
    outbox.py      what waits for the server (PendingCounts), the next batch, the server's receipt
    refused.py     what the server refused for good, set aside with its reason (SetAside)
    connection.py  the database behind one lock, shared by the store's parts; settings (meta)
    rows.py        rows ⇄ models, the one place where the two shapes meet
    files.py       the data directory's layout and privacy (0700/0600), crash-safe photo files
    errors.py      StoreError and its kinds

`walkaudit.glance` reads the same database file with the standard library only, for the app's
first screen (before this package and its sqlite-utils and pydantic are imported).
"""

from walkaudit.store.errors import (
    FrozenError,
    NoActiveWalkError,
    NotFoundError,
    ReopenClosedError,
    StoreError,
)
from walkaudit.store.facade import REOPEN_WINDOW, Store
from walkaudit.store.files import (
    DB_NAME,
    DEFAULT_ORPHAN_GRACE_S,
    OWN_DIRS,
    PHOTO_DIR,
    PRIVATE_DIR_MODE,
    PRIVATE_FILE_MODE,
    TMP_PREFIX,
    PhotoLike,
    atomic_write,
    fsync_dir,
    private_dir,
)
from walkaudit.store.outbox import PendingCounts
from walkaudit.store.refused import SetAside

__all__ = [
    "DB_NAME",
    "DEFAULT_ORPHAN_GRACE_S",
    "OWN_DIRS",
    "PHOTO_DIR",
    "PRIVATE_DIR_MODE",
    "PRIVATE_FILE_MODE",
    "REOPEN_WINDOW",
    "TMP_PREFIX",
    "FrozenError",
    "NoActiveWalkError",
    "NotFoundError",
    "PendingCounts",
    "PhotoLike",
    "ReopenClosedError",
    "SetAside",
    "Store",
    "StoreError",
    "atomic_write",
    "fsync_dir",
    "private_dir",
]

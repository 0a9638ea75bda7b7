"""What the owner answered, as the walker sees it: comment, planned date and a small fix photo.

(Being written for issue 9: the sync loop calls fetch_answer_photos after each sync.)
"""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from walkaudit.store import Store
    from walkaudit.sync import SyncClient


def fetch_answer_photos(store: Store, client: SyncClient) -> int:
    """Fetch small copies of answer photos not yet on the device; returns how many arrived."""
    return 0

"""What building a report can fail at.

ReportError (ServerError)   a report, or a photo of it, that cannot be built right now
                            (a photo the store cannot read: `photos.shrink`; a finding or
                            its assignment gone: `items.load_items`); its findings stay due
"""

from __future__ import annotations

from sync_server.core.errors import ServerError


class ReportError(ServerError):
    """A report that cannot be built right now; its findings stay due."""

"""The server's core: what every domain package stands on, and nothing that knows a domain's rules.

    db               Database: one connection per thread, one writer at a time, migrate()
    migrations       the server's schema as append-only steps (the runner is walkaudit.migrations,
                     shared with the phone)
    errors           ServerError and the refusals under it; describe_validation_errors
    history          a finding's append-only events and the status they derive
    walker_answers   what a walker's answer on a follow-up walk does to a finding's history
    time             Sweden's zone and local dates; how times are stored (iso, parse_iso)
    files            where the server's own files are (templates, static, fonts, data, demo)
    templates        the one Jinja2 environment factory
    blobs            the photo store: its interface (BlobStore) and the disk store
    throttle         making guessing cost time (wrong codes, tokens, links, keys)
    set_aside        what a background pass set aside, and why
    finding_filters  the coordinator's finding filters: query string → SQL
    geocode          a finding's nearest street address (Nominatim, cached)
    backup/          backup, verify and restore a data directory while the server runs

Below: walkaudit.* (the model shared with the phone) and sync_server.config. Above: everything
else. Re-exported here are the names nearly every module needs; the rest is imported from its
module (`from sync_server.core import history`), so importing core stays light and acyclic
(backup reads the settings, geocode loads geopy, templates loads Jinja2).
"""

from __future__ import annotations

from sync_server.core.blobs import BlobError, BlobStore, DiskBlobStore
from sync_server.core.db import Database
from sync_server.core.errors import DatabaseTooNew, ServerError, describe_validation_errors
from sync_server.core.time import (
    SWEDEN,
    iso,
    local_day,
    local_time,
    parse_iso,
    swedish_date,
    today_in_sweden,
)

__all__ = [
    "SWEDEN",
    "BlobError",
    "BlobStore",
    "Database",
    "DatabaseTooNew",
    "DiskBlobStore",
    "ServerError",
    "describe_validation_errors",
    "iso",
    "local_day",
    "local_time",
    "parse_iso",
    "swedish_date",
    "today_in_sweden",
]

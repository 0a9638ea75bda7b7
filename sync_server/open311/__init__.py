"""Open311 GeoReport v2 with mySociety's extensions: findings as service requests, their history
as updates, API keys, and the updates an owner's own maintenance system posts back. The routes
are in `sync_server.api.open311`; the rules are in the modules here, each in its docstring:

    keys        api keys (create, list, revoke, authenticate) and the View a reader gets
    visibility  who sees what: a key bound to an owner, and the public view without personal data
    statuses    walkaudit's statuses ⇄ Open311 open|closed and mySociety's extended statuses
    params      query strings, W3C dates in and out, paging
    queries     services and service requests read out, and the paging SQL updates share
    updates     updates read out, updates posted back (idempotent per update_id and key)
    media       signed photo links, which photos a view may fetch, metadata stripped
    formats     answers in JSON and XML, and the standard's error list
    errors      Open311Error and the refusals under it, each with its HTTP status

In short: services are the categories, a request is a finding, an update is one of its events.
`status` is open|closed and the detail is the extended status; a posted status becomes an event,
or a comment where the finding cannot take it now. A key without owner sees every finding, a key
bound to an owner only that owner's; without a key, and only with Settings.open311_public_read,
the public view has no personal data. Pages are newest first, at most MAX_PAGE_SIZE each.

The names below are re-exported so that `from sync_server import open311` gives the whole API
(`open311.create_api_key(...)`, `open311.InvalidValue`, …) as it did when this was one module.
"""

from __future__ import annotations

from sync_server.open311.errors import (
    ApiKeyRequired,
    InvalidApiKey,
    InvalidValue,
    NotFound,
    NotSupported,
    Open311Error,
    UnknownApiKey,
    UpdateConflict,
)
from sync_server.open311.formats import ITEM, error_items, render
from sync_server.open311.keys import (
    KEY_PREFIX,
    LAST_USED_EVERY,
    MAX_NAME,
    ApiKey,
    View,
    authenticate,
    create_api_key,
    list_api_keys,
    read_view,
    revoke_api_key,
)
from sync_server.open311.media import check_photo, media_url, strip_jpeg_metadata, view_from_link
from sync_server.open311.params import (
    MAX_PAGE_SIZE,
    SWEDEN,
    RequestQuery,
    Window,
    parse_request_query,
    parse_window,
    w3c,
)
from sync_server.open311.queries import find_requests, services
from sync_server.open311.statuses import DUPLICATE, POSTED_KIND, STATUS
from sync_server.open311.updates import (
    MAX_DESCRIPTION,
    MAX_MEDIA_URL,
    MAX_UPDATE_ID,
    PostedUpdate,
    find_updates,
    parse_posted_update,
    post_update,
)
from sync_server.open311.visibility import PUBLIC_DECIMALS, PUBLIC_HIDDEN
from sync_server.owners.errors import UnknownOwner  # raised by create_api_key

__all__ = [
    # errors
    "Open311Error", "ApiKeyRequired", "InvalidApiKey", "NotFound", "InvalidValue",
    "UpdateConflict", "NotSupported", "UnknownApiKey", "UnknownOwner",
    # keys
    "KEY_PREFIX", "LAST_USED_EVERY", "MAX_NAME", "ApiKey", "View",
    "create_api_key", "list_api_keys", "revoke_api_key", "authenticate", "read_view",
    # visibility, statuses, params
    "PUBLIC_HIDDEN", "PUBLIC_DECIMALS", "STATUS", "DUPLICATE", "POSTED_KIND",
    "SWEDEN", "MAX_PAGE_SIZE", "Window", "RequestQuery", "w3c", "parse_window",
    "parse_request_query",
    # queries, updates, media, formats
    "services", "find_requests", "find_updates",
    "MAX_UPDATE_ID", "MAX_DESCRIPTION", "MAX_MEDIA_URL", "PostedUpdate", "parse_posted_update",
    "post_update", "media_url", "view_from_link", "check_photo", "strip_jpeg_metadata",
    "ITEM", "render", "error_items",
]  # fmt: skip

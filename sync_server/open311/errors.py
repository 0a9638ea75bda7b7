"""What the Open311 API refuses, one class per answer; `status` is the HTTP code it answers with.

    Open311Error (ServerError)
     ├── ApiKeyRequired   no api_key where one is needed                    → 403
     ├── InvalidApiKey    an unknown or revoked api_key                     → 403
     ├── NotFound         no such request or photo, or not visible to the key → 404
     ├── InvalidValue     a parameter or form value that cannot be used     → 400
     ├── UpdateConflict   an update_id already used for other content       → 409
     ├── NotSupported     POST requests: findings are made on walks         → 405
     └── UnknownApiKey    revoke_api_key of an id that does not exist       → 404 (CLI)
`create_api_key` also raises `owners.UnknownOwner`.
"""

from __future__ import annotations

from sync_server.core.errors import ServerError


class Open311Error(ServerError):
    """Base of what the Open311 API refuses; `status` is the HTTP code of its answer."""

    status = 400


class ApiKeyRequired(Open311Error):
    """This needs an api_key (reads too, unless the public view is switched on)."""

    status = 403


class InvalidApiKey(Open311Error):
    """The api_key is unknown or was revoked."""

    status = 403


class NotFound(Open311Error):
    """No such request or photo, or one this key may not see (the same answer on purpose)."""

    status = 404


class InvalidValue(Open311Error):
    """A parameter or form value that cannot be used; the message names it."""


class UpdateConflict(Open311Error):
    """This update_id was already posted by this key with different content."""

    status = 409


class NotSupported(Open311Error):
    """Something Open311 allows that this server does not do (new requests)."""

    status = 405


class UnknownApiKey(Open311Error):
    """No api key has this id."""

    status = 404

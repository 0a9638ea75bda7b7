"""What the walks refuse, shared by the walks list, the participants and the protocol's mail.

WalkError (ServerError)
 ├── UnknownWalk       no walk has this id
 ├── BadParticipant    an empty or malformed email, or a field that is too long
 │                     (`.key` and `.values`: the message in texts.walks, for the page)
 └── NoParticipants    the protocol cannot be sent: nobody to send it to
"""

from __future__ import annotations

from sync_server.core.errors import ServerError


class WalkError(ServerError):
    """Base of the walks' refusals."""


class UnknownWalk(WalkError):
    """No walk has this id."""


class BadParticipant(WalkError):
    """A participant that cannot be added; `key`/`values` give the message in texts_walks."""

    def __init__(self, message: str, key: str, **values: object) -> None:
        super().__init__(message)
        self.key = key
        self.values = values


class NoParticipants(WalkError):
    """The walk has no participants to send its protocol to."""

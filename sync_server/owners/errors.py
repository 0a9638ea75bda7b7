"""What the owner registry and routing refuse, in one place (every owners module raises them).

One module, so that the registry, its GeoJSON import, the router and the routing pass can share
the exceptions without importing each other for them.

    OwnerError (ServerError)
     ├── InvalidOwnerFile   unreadable import file, or features with problems (all listed)
     └── UnknownOwner       no owner with this id
    RoutingError (ServerError)
     ├── UnknownFinding     no finding with this id
     ├── NoContact          set_owner: the chosen owner has no email for the category
     ├── WrongOwner         set_owner: ORD (disorder) to a property owner
     └── BadCaptureTime     policy.capture_day: a capture time no deadline can be counted from
"""

from __future__ import annotations

from sync_server.core.errors import ServerError


class OwnerError(ServerError):
    """Base of the registry's refusals."""


class InvalidOwnerFile(OwnerError):
    """The import file cannot be used; `problems` lists each one, naming the feature."""

    def __init__(self, message: str, problems: list[str] | None = None) -> None:
        super().__init__(message)
        self.problems = problems or []


class UnknownOwner(OwnerError):
    """No owner has this id."""


class RoutingError(ServerError):
    """Base of routing's refusals."""


class UnknownFinding(RoutingError):
    """No finding has this id."""


class NoContact(RoutingError):
    """The owner has no email address for this finding's category."""


class WrongOwner(RoutingError):
    """This kind of owner may not receive this category."""


class BadCaptureTime(RoutingError):
    """A capture time that is unreadable or outside what a walk can have produced."""

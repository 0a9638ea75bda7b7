"""The owners: who can fix what and where, where each finding goes, and how soon it is due.

    errors          OwnerError, RoutingError and the refusals under them
    registry        the owners, their contacts and areas as stored; KINDS, list_owners
    municipalities  the 290 bundled municipalities as owners, found by kommunkod or name
    importer        filling the registry from a GeoJSON file (all or nothing)
    policy          deadline and default priority, per severity and category
    router          where a finding at this point of this category goes (decides, writes nothing)
    routing         the routing pass, the coordinator's choice of owner, the triage list
    links           the signed links that open an owner's page
    page            the owner page's logic: their findings, answers and photos

The names below are re-exported so that `from sync_server import owners` gives the main API
(`owners.import_owners(...)`, `owners.InvalidOwnerFile`, …); `page` is imported on its own (it
stores photos through sync_server.field).
"""

from __future__ import annotations

from sync_server.owners.errors import (
    BadCaptureTime,
    InvalidOwnerFile,
    NoContact,
    OwnerError,
    RoutingError,
    UnknownFinding,
    UnknownOwner,
    WrongOwner,
)
from sync_server.owners.importer import ImportResult, import_owners
from sync_server.owners.municipalities import MUNICIPALITIES_FILE, ensure_municipalities
from sync_server.owners.policy import DEADLINE_DAYS, capture_day, deadline, default_priority
from sync_server.owners.registry import (
    KINDS,
    LANGUAGES,
    OwnerSummary,
    list_owners,
    registry_version,
)
from sync_server.owners.router import Route, Router, RouterCache
from sync_server.owners.routing import (
    PENDING,
    TriageItem,
    reroute_to_triage,
    route_pending,
    set_owner,
    triage,
)

__all__ = [
    "DEADLINE_DAYS", "KINDS", "LANGUAGES", "MUNICIPALITIES_FILE", "PENDING", "BadCaptureTime",
    "ImportResult", "InvalidOwnerFile", "NoContact", "OwnerError", "OwnerSummary", "Route",
    "Router", "RouterCache", "RoutingError", "TriageItem", "UnknownFinding", "UnknownOwner",
    "WrongOwner", "capture_day", "deadline", "default_priority", "ensure_municipalities",
    "import_owners", "list_owners", "registry_version", "reroute_to_triage", "route_pending",
    "set_owner", "triage",
]  # fmt: skip

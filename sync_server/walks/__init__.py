"""The walks: the list a coordinator finds them in, who walked, and the walk's protocol.

    errors        WalkError and the refusals under it (UnknownWalk, BadParticipant, NoParticipants)
    listing       the walks list (filtered, paged), one walk with its counts, its route
    participants  who walked, and so who gets the protocol
    protocol      the walk's findings grouped by who must fix them, with a version hash
    pdf           the protocol as PDF (on the shared base in sync_server.documents.pdf)
    mail          the protocol by email to the participants, once per version each

The names below are re-exported so that `from sync_server import walks` gives the main API.
"""

from __future__ import annotations

from sync_server.walks.errors import BadParticipant, NoParticipants, UnknownWalk, WalkError
from sync_server.walks.listing import (
    WalkPage,
    WalkSummary,
    get_walk,
    list_walks,
    route_points,
    swedish_key,
)
from sync_server.walks.mail import Dispatch, SendResult, dispatches, send_protocol
from sync_server.walks.participants import (
    Participant,
    add_participant,
    participants,
    remove_participant,
)
from sync_server.walks.pdf import filename, pdf_photos, render_walk_protocol
from sync_server.walks.protocol import Entry, OwnerGroup, Protocol, load_protocol

__all__ = [
    "BadParticipant", "Dispatch", "Entry", "NoParticipants", "OwnerGroup", "Participant",
    "Protocol", "SendResult", "UnknownWalk", "WalkError", "WalkPage", "WalkSummary",
    "add_participant", "dispatches", "filename", "get_walk", "list_walks", "load_protocol",
    "participants", "pdf_photos", "remove_participant", "render_walk_protocol", "route_points",
    "send_protocol", "swedish_key",
]  # fmt: skip

"""Between walkaudit's statuses and Open311's, both ways.

Going out, `status` is open|closed as the standard has it, with walkaudit's groups (open: someone
still has to act, which includes "not ours" waiting on the coordinator's triage). The detail is
mySociety's extended status (the values FixMyStreet and open311-adapter exchange, lowercase here;
uppercase is accepted coming in), in `extended_attributes.extended_status` of a request and in
`status` of an update, with walkaudit's own status as `external_status_code`:

    walkaudit status   status   extended status                walkaudit status   status  extended
    received, sent     open     open                           fixed, verified    closed  fixed
    acknowledged       open     investigating                  closed             closed  closed
    planned            open     action_scheduled               merged duplicate   closed  duplicate
    not_ours           open     not_councils_responsibility    reopened           open    reopen

Coming in, a posted update's status becomes an event (actor `open311:<key name>`): investigating
and in_progress → acknowledged; action_scheduled (or planned) → planned; fixed → fixed; closed →
fixed as well (a system without extended statuses says CLOSED for "done"; a follow-up walk
verifies it); not_councils_responsibility and no_further_action → not_ours, which hands the
finding back to the coordinator's triage; reopen → reopened; open, internal_referral, duplicate →
comment. walkaudit's own names (acknowledged, not_ours, comment, …) are accepted too. A status the
finding cannot take now (fixed again, acknowledged after planned, anything but reopen once done)
is kept as a comment, so its text is never lost — as FixMyStreet does with its own updates. When
the event's kind does not say what was posted, the note starts with it: "[NO_FURTHER_ACTION] …"
(see `updates`).
"""

from __future__ import annotations

from walkaudit.model import STATUS_AFTER, EventKind, FindingStatus

# walkaudit status -> (Open311 status, mySociety extended status); see the table above.
STATUS = {
    FindingStatus.RECEIVED: ("open", "open"),
    FindingStatus.SENT: ("open", "open"),
    FindingStatus.ACKNOWLEDGED: ("open", "investigating"),
    FindingStatus.PLANNED: ("open", "action_scheduled"),
    FindingStatus.FIXED: ("closed", "fixed"),
    FindingStatus.VERIFIED: ("closed", "fixed"),
    FindingStatus.NOT_OURS: ("open", "not_councils_responsibility"),
    FindingStatus.REOPENED: ("open", "reopen"),
    FindingStatus.CLOSED: ("closed", "closed"),
}
DUPLICATE = ("closed", "duplicate")
# A posted status -> the event it records, and the posted names each kind stands for exactly.
POSTED_KIND = {
    "open": EventKind.COMMENT, "comment": EventKind.COMMENT,
    "internal_referral": EventKind.COMMENT, "duplicate": EventKind.COMMENT,
    "investigating": EventKind.ACKNOWLEDGED, "in_progress": EventKind.ACKNOWLEDGED,
    "acknowledged": EventKind.ACKNOWLEDGED,
    "action_scheduled": EventKind.PLANNED, "planned": EventKind.PLANNED,
    "fixed": EventKind.FIXED, "closed": EventKind.FIXED,
    "not_councils_responsibility": EventKind.NOT_OURS, "not_ours": EventKind.NOT_OURS,
    "no_further_action": EventKind.NOT_OURS,
    "reopen": EventKind.REOPENED, "reopened": EventKind.REOPENED,
}  # fmt: skip
SAYS = {
    EventKind.COMMENT: {"open", "comment"},
    EventKind.ACKNOWLEDGED: {"investigating", "acknowledged"},
    EventKind.PLANNED: {"action_scheduled", "planned"},
    EventKind.FIXED: {"fixed"},
    EventKind.NOT_OURS: {"not_councils_responsibility", "not_ours"},
    EventKind.REOPENED: {"reopen", "reopened"},
}
_FINISHED = frozenset({FindingStatus.FIXED, FindingStatus.VERIFIED, FindingStatus.CLOSED})
# Events that leave the status as it was (comment, still_there): notes, not status changes.
SILENT_SQL = ", ".join(f"'{k.value}'" for k, after in STATUS_AFTER.items() if after is None)
_ACKNOWLEDGEABLE = frozenset({FindingStatus.RECEIVED, FindingStatus.SENT, FindingStatus.REOPENED,
                              FindingStatus.NOT_OURS})  # fmt: skip


def open311_statuses(status: str, merged_into: object) -> tuple[str, str]:
    """A finding's (Open311 status, extended status); a merged finding is a closed duplicate."""
    return DUPLICATE if merged_into else STATUS[FindingStatus(status)]


def recorded_kind(kind: EventKind, status: FindingStatus, merged: bool) -> EventKind:
    """The event a posted kind records on a finding in `status`: what it can take now, the rest
    a comment (see the module docstring)."""
    if kind is EventKind.REOPENED:
        return kind if status in _FINISHED and not merged else EventKind.COMMENT
    if kind is EventKind.COMMENT or status in _FINISHED:
        return EventKind.COMMENT
    if kind is EventKind.ACKNOWLEDGED and status not in _ACKNOWLEDGEABLE:
        return EventKind.COMMENT
    if kind is EventKind.NOT_OURS and status is FindingStatus.NOT_OURS:
        return EventKind.COMMENT
    return kind

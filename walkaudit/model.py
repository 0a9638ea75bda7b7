"""The wire schema shared by the phone, the CLI and the sync server (pydantic; imports no flet).

Every record is identified by an id made on the device (UUIDv7, sortable by time), so a retry can
never duplicate anything. A finding is frozen once queued: an edit becomes a new *revision* of the
same id. The server keys findings by (id, revision) and compares a canonical content hash: the same
content again is a no-op, different content under the same (id, revision) is a conflict.

The protocol (see sync_server/PROTOCOL.md for the HTTP details):
  POST /v1/enrol            EnrolRequest -> EnrolResponse      (one-time code -> device token)
  POST /v1/sync/push        PushRequest  -> PushReceipt        (batch, idempotent by id)
  HEAD /v1/photos/{sha256}  -> Upload-Offset header            (resume point)
  PUT  /v1/photos/{sha256}  Content-Range chunk -> PhotoReceipt
  GET  /v1/sync/pull?since=CURSOR -> PullResponse              (status changes of my findings)
  GET  /v1/followups            -> FollowupsResponse           (open follow-ups to choose from)
  GET  /v1/findings/open?followup=ID|area=NAME -> OpenFindingsResponse
"""

from __future__ import annotations

import hashlib
import json
import math
import os
import time
import uuid
from datetime import UTC, datetime
from enum import StrEnum
from typing import Annotated, Literal

from pydantic import AfterValidator, BaseModel, ConfigDict, Field, field_validator

from walkaudit import categories

PROTOCOL_VERSION = 1
SHA256_PATTERN = r"^[0-9a-f]{64}$"
MAX_PHOTOS = 10  # per finding or event: what one owner report can show
# Bounds on every integer a device sends, far above any real value and below SQLite's 64-bit
# range: a number beyond them is a 422 naming the field, never an overflow deep in the server.
MAX_PHOTO_BYTES = 2**31  # a hard cap; the server refuses more than its own max_photo_bytes too
MAX_PHOTO_EDGE = 20_000  # pixels, width or height
MAX_REVISION = 2**31 - 1
MAX_PROTOCOL = 10_000


def new_id() -> str:
    """A UUIDv7 (RFC 9562): 48-bit Unix milliseconds, then random bits; sortable by creation."""
    ms = time.time_ns() // 1_000_000
    rand = int.from_bytes(os.urandom(10), "big")
    value = (ms & ((1 << 48) - 1)) << 80
    value |= 0x7 << 76  # version 7
    value |= ((rand >> 62) & 0xFFF) << 64  # rand_a, 12 bits
    value |= 0b10 << 62  # RFC 4122 variant
    value |= rand & ((1 << 62) - 1)  # rand_b, 62 bits
    return str(uuid.UUID(int=value))


def utcnow() -> datetime:
    """Now, in UTC, to the millisecond (what every timestamp on the wire carries)."""
    now = datetime.now(UTC)
    return now.replace(microsecond=now.microsecond // 1000 * 1000)


def _check_uuid(value: str) -> str:
    try:
        return str(uuid.UUID(value))
    except ValueError:
        raise ValueError(f"not a UUID: {value!r}") from None


def _aware_utc(value: datetime) -> datetime:
    # A timestamp without a zone is ambiguous between phone, server and owner; refuse it.
    if value.tzinfo is None:
        raise ValueError("timestamp must carry a time zone (e.g. 2026-11-25T18:03:00+01:00)")
    try:
        return value.astimezone(UTC)
    except OverflowError:  # e.g. 9999-12-31T23:59:59-14:00 is in the year 10000 in UTC
        raise ValueError(f"{value.isoformat()} is outside the range of dates") from None


def _check_category(value: str) -> str:
    return categories.get(value).code


Id = Annotated[str, AfterValidator(_check_uuid)]
Timestamp = Annotated[datetime, AfterValidator(_aware_utc)]
CategoryCode = Annotated[str, AfterValidator(_check_category)]
Sha256 = Annotated[str, Field(pattern=SHA256_PATTERN)]


def _no_negative_zero(value: float) -> float:
    # SQLite stores -0.0 as 0.0, and json.dumps writes them differently: without this a finding
    # on the prime meridian or the equator would change its content hash by being stored.
    return value + 0.0


Latitude = Annotated[
    float, Field(ge=-90, le=90, allow_inf_nan=False), AfterValidator(_no_negative_zero)
]
Longitude = Annotated[
    float, Field(ge=-180, le=180, allow_inf_nan=False), AfterValidator(_no_negative_zero)
]


class Severity(StrEnum):
    LOW = "low"
    MEDIUM = "medium"
    HIGH = "high"
    URGENT = "urgent"


class PositionSource(StrEnum):
    GPS = "gps"
    EXIF = "exif"  # read from the photo's EXIF GPS tags
    PIN = "pin"  # placed or moved by hand on the map
    MANUAL = "manual"  # typed in (CLI --lat/--lon)


class FindingStatus(StrEnum):
    """Where a finding stands, as the server reports it; derived from its events."""

    RECEIVED = "received"
    SENT = "sent"
    ACKNOWLEDGED = "acknowledged"
    PLANNED = "planned"
    FIXED = "fixed"
    NOT_OURS = "not_ours"
    VERIFIED = "verified"
    REOPENED = "reopened"
    CLOSED = "closed"


# The status groups: one home, one meaning each, wherever a finding is filtered, reported, listed
# or counted (plain strings, so they go into SQL as they are). `not_ours` is open: the owner has
# handed the finding back and it waits in triage for the one who can fix it.
OPEN_STATUSES: tuple[str, ...] = tuple(
    s.value
    for s in (
        FindingStatus.RECEIVED,
        FindingStatus.SENT,
        FindingStatus.ACKNOWLEDGED,
        FindingStatus.PLANNED,
        FindingStatus.REOPENED,
        FindingStatus.NOT_OURS,
    )
)
DONE_STATUSES: tuple[str, ...] = tuple(
    s.value for s in (FindingStatus.FIXED, FindingStatus.VERIFIED, FindingStatus.CLOSED)
)
# Done and confirmed (seen fixed on a walk, or closed): off the follow-up walks. A `fixed` is the
# owner's word and is still walked past to check.
CONFIRMED_STATUSES: tuple[str, ...] = (FindingStatus.VERIFIED.value, FindingStatus.CLOSED.value)
# What no longer waits on the owner it was sent to (their page, their reminders): done, or handed
# back as not theirs — which for everyone else is open, in triage.
OFF_OWNERS_LIST: tuple[str, ...] = (*DONE_STATUSES, FindingStatus.NOT_OURS.value)


class EventKind(StrEnum):
    RECEIVED = "received"
    SENT = "sent"
    ACKNOWLEDGED = "acknowledged"
    PLANNED = "planned"
    FIXED = "fixed"
    NOT_OURS = "not_ours"
    REROUTED = "rerouted"
    STILL_THERE = "still_there"  # a follow-up walk found it unfixed
    VERIFIED = "verified"  # a follow-up walk found it fixed
    REOPENED = "reopened"
    CLOSED = "closed"
    COMMENT = "comment"


class _Wire(BaseModel):
    # Unknown fields are refused so that a typo or a client from the future is an answer, not
    # silently lost data.
    model_config = ConfigDict(extra="forbid", frozen=True)


class Walk(_Wire):
    id: Id
    name: Annotated[str, Field(min_length=1, max_length=200)]
    area: Annotated[str, Field(max_length=200)] = ""
    started_at: Timestamp
    ended_at: Timestamp | None = None

    @field_validator("name")
    @classmethod
    def _name_not_blank(cls, value: str) -> str:
        if not value.strip():
            raise ValueError("walk name must not be blank")
        return value.strip()


class TrackPoint(_Wire):
    walk_id: Id
    t: Timestamp
    latitude: Latitude
    longitude: Longitude
    accuracy: Annotated[float, Field(ge=0, allow_inf_nan=False)] | None = None


class Photo(_Wire):
    """A photo as uploaded: always a metadata-free JPEG, addressed by its sha256."""

    sha256: Sha256
    size: Annotated[int, Field(gt=0, le=MAX_PHOTO_BYTES)]
    width: Annotated[int, Field(gt=0, le=MAX_PHOTO_EDGE)]
    height: Annotated[int, Field(gt=0, le=MAX_PHOTO_EDGE)]
    content_type: Literal["image/jpeg"] = "image/jpeg"


class Finding(_Wire):
    id: Id
    revision: Annotated[int, Field(ge=1, le=MAX_REVISION)] = 1
    walk_id: Id | None = None
    category: CategoryCode
    severity: Severity = Severity.MEDIUM
    note: Annotated[str, Field(max_length=4000)] = ""
    latitude: Latitude
    longitude: Longitude
    accuracy: (
        Annotated[float, Field(ge=0, allow_inf_nan=False), AfterValidator(_no_negative_zero)] | None
    ) = None
    position_source: PositionSource = PositionSource.GPS
    captured_at: Timestamp
    photos: Annotated[list[Photo], Field(max_length=MAX_PHOTOS)] = []
    # A follow-up finding added to an existing one ("same thing, add my photo to it").
    duplicate_of: Id | None = None

    def content_hash(self) -> str:
        """sha256 of the canonical JSON: equal content, equal hash, on every side."""
        return canonical_hash(self)


class FindingEvent(_Wire):
    """One entry in a finding's append-only history."""

    id: Id
    finding_id: Id
    kind: EventKind
    at: Timestamp
    note: Annotated[str, Field(max_length=4000)] = ""
    photos: Annotated[list[Photo], Field(max_length=MAX_PHOTOS)] = []
    actor: Annotated[str, Field(max_length=200)] = ""  # filled in by the server


def canonical_hash(model: BaseModel) -> str:
    """sha256 of a model's JSON with sorted keys; floats use Python's shortest round-trip repr."""
    data = model.model_dump(mode="json")
    text = json.dumps(data, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    return hashlib.sha256(text.encode()).hexdigest()


def is_finite_coordinate(lat: float, lon: float) -> bool:
    """True for a real position on Earth (used before building a Finding from user input)."""
    return math.isfinite(lat) and math.isfinite(lon) and -90 <= lat <= 90 and -180 <= lon <= 180


# ---- enrolment -----------------------------------------------------------------------------


class EnrolRequest(_Wire):
    code: Annotated[str, Field(min_length=4, max_length=100)]
    device_name: Annotated[str, Field(max_length=200)] = ""


class EnrolResponse(_Wire):
    device_id: Id
    token: str
    server_name: str = "walkaudit"


# ---- push -----------------------------------------------------------------------------------


class PushRequest(_Wire):
    """One batch from a device. Every list is idempotent by id; order within a list is free."""

    protocol: Annotated[int, Field(ge=1, le=MAX_PROTOCOL)] = PROTOCOL_VERSION
    walks: Annotated[list[Walk], Field(max_length=100)] = []
    findings: Annotated[list[Finding], Field(max_length=500)] = []
    events: Annotated[list[FindingEvent], Field(max_length=500)] = []
    track: Annotated[list[TrackPoint], Field(max_length=5000)] = []


class RecordResult(StrEnum):
    CREATED = "created"  # new on the server
    UNCHANGED = "unchanged"  # the server already had exactly this
    UPDATED = "updated"  # an allowed change (a walk that has now ended)
    CONFLICT = "conflict"  # same id (and revision), different content: kept by the client


class PhotoState(StrEnum):
    STORED = "stored"  # complete, hash verified
    NEEDED = "needed"  # upload (or resume) it


class PhotoReceipt(_Wire):
    sha256: Sha256
    state: PhotoState
    offset: int = 0  # bytes the server already holds (resume point)


class RecordReceipt(_Wire):
    kind: Literal["walk", "finding", "event"]
    id: Id
    revision: int = 1
    result: RecordResult
    detail: str = ""


class PushReceipt(_Wire):
    """The honest answer: what arrived, per record and per photo, and which photos are missing."""

    records: list[RecordReceipt]
    photos: list[PhotoReceipt]
    track_points: int  # how many of the batch's track points the server now holds
    server_time: Timestamp

    @property
    def photos_needed(self) -> list[str]:
        """Hashes the server still needs (upload or resume)."""
        return [p.sha256 for p in self.photos if p.state is PhotoState.NEEDED]


# ---- pull -----------------------------------------------------------------------------------


class StatusChange(_Wire):
    seq: int
    finding_id: Id
    status: FindingStatus
    event: FindingEvent


class PullResponse(_Wire):
    cursor: int  # pass back as ?since= next time
    changes: list[StatusChange]
    more: bool = False


# ---- follow-up --------------------------------------------------------------------------------


# What the finding's holder (owner, police/EST or the coordinator for them) answers. The latest
# such event is "the answer" a follow-up card shows; a later rerouted or reopened makes it stale.
ANSWER_KINDS: frozenset[EventKind] = frozenset(
    {EventKind.ACKNOWLEDGED, EventKind.PLANNED, EventKind.FIXED, EventKind.NOT_OURS}
)


class OpenFinding(_Wire):
    """A finding not yet verified or closed, for a follow-up walk or a nearby-duplicate prompt."""

    finding: Finding
    status: FindingStatus
    area: str = ""  # the area of the walk it was found on
    # The holder's latest answer (ANSWER_KINDS). Sent only to a client that asks for it
    # (?answers=true): an older app refuses fields it does not know.
    answer: FindingEvent | None = None


class OpenFindingsResponse(_Wire):
    findings: list[OpenFinding]
    more: bool = False


class FollowupSummary(_Wire):
    """A follow-up walk a coordinator planned, as the field app lists it to choose from."""

    id: Id
    name: str
    area: str = ""
    created_at: Timestamp
    findings: Annotated[int, Field(ge=0)]  # how many findings it holds
    open: Annotated[int, Field(ge=0)]  # how many of them nobody has verified or closed yet


class FollowupsResponse(_Wire):
    followups: list[FollowupSummary]
    more: bool = False


class ErrorBody(BaseModel):
    """Every error answer from the server: a sentence a person can act on."""

    detail: str


# What a walker's device may push: a follow-up walk's answers and a comment. Every other kind is
# the finding's holder's or the coordinator's word (made on the server) and is refused from a
# device (403), so that a device token cannot close, reroute or answer for anyone.
DEVICE_EVENT_KINDS: frozenset[EventKind] = frozenset(
    {EventKind.STILL_THERE, EventKind.VERIFIED, EventKind.COMMENT}
)


# What an event does to a finding's status (None: the status stays as it was).
STATUS_AFTER: dict[EventKind, FindingStatus | None] = {
    EventKind.RECEIVED: FindingStatus.RECEIVED,
    EventKind.SENT: FindingStatus.SENT,
    EventKind.ACKNOWLEDGED: FindingStatus.ACKNOWLEDGED,
    EventKind.PLANNED: FindingStatus.PLANNED,
    EventKind.FIXED: FindingStatus.FIXED,
    EventKind.NOT_OURS: FindingStatus.NOT_OURS,
    EventKind.REROUTED: FindingStatus.RECEIVED,
    EventKind.STILL_THERE: None,
    EventKind.VERIFIED: FindingStatus.VERIFIED,
    EventKind.REOPENED: FindingStatus.REOPENED,
    EventKind.CLOSED: FindingStatus.CLOSED,
    EventKind.COMMENT: None,
}

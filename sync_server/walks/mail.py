"""The walk protocol by email to the participants (the feedback step): one message each.

Each message (HTML + text, the protocol's PDF attached) goes through the outbox
(`sync_server.mail`) with the dedupe key `protocol:{walk}:{version}:{email}`: a second click
with nothing changed enqueues nothing; after a change (a finding rerouted, fixed, a photo
arrived…) the protocol has a new version and each participant gets it once. A participant added
later gets the current version on the next click. `dispatches()` reads the outbox back: who
got which version, when, and whether it was delivered.

The PDF is built once per send, with photos; if that would make the email larger than
`mail_max_bytes`, without photos (the email says so).

Errors: UnknownWalk, NoParticipants (sync_server.walks.errors).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from email.message import EmailMessage

from sync_server import mail
from sync_server.config import Settings
from sync_server.core.blobs import BlobStore
from sync_server.core.db import Database
from sync_server.core.time import local_day
from sync_server.texts import mail as texts_mail
from sync_server.walks.errors import NoParticipants
from sync_server.walks.listing import route_points
from sync_server.walks.participants import Participant
from sync_server.walks.pdf import filename, pdf_photos, render_walk_protocol
from sync_server.walks.protocol import Protocol, load_protocol
from walkaudit import i18n
from walkaudit.model import utcnow

KIND = "protocol"
_PDF = "application/pdf"
_MAIL_OVERHEAD = 200_000  # bytes of headers, text and HTML around the PDF, generously


@dataclass(frozen=True)
class Dispatch:
    """The latest protocol message to one recipient."""

    recipient: str
    version: str
    state: str  # pending, sent, failed
    created_at: str
    sent_at: str | None
    last_error: str


@dataclass
class SendResult:
    queued: list[str] = field(default_factory=list)  # recipients who get a message now
    already: list[str] = field(default_factory=list)  # recipients who have this version


def dedupe_key(walk_id: str, version: str, email: str) -> str:
    """protocol:{walk}:{version}:{email}: one message per participant and version."""
    return f"{KIND}:{walk_id}:{version}:{email.lower()}"


def dispatches(db: Database, walk_id: str) -> dict[str, Dispatch]:
    """The latest protocol message per recipient (lower-case address), from the outbox."""
    prefix = f"{KIND}:{walk_id}:"
    latest: dict[str, Dispatch] = {}
    for key, recipient, state, created_at, sent_at, error in db.conn().execute(
        "SELECT dedupe_key, recipient, state, created_at, sent_at, last_error FROM outbox"
        " WHERE kind = ? AND substr(dedupe_key, 1, ?) = ? ORDER BY id",
        [KIND, len(prefix), prefix],
    ):
        version = str(key)[len(prefix) :].partition(":")[0]
        latest[str(recipient).lower()] = Dispatch(
            recipient, version, state, created_at, sent_at, error or ""
        )
    return latest


def send_protocol(db: Database, blobs: BlobStore, settings: Settings, walk_id: str, *,
                  lang: str, now: datetime | None = None) -> SendResult:  # fmt: skip
    """Enqueue the current protocol for every participant who does not have this version."""
    now = now or utcnow()
    protocol = load_protocol(db, walk_id, for_participants=True)
    if not protocol.participants:
        raise NoParticipants(f"walk {walk_id} has no participants")
    result = SendResult()
    earlier = dispatches(db, walk_id)
    todo = []
    for person in protocol.participants:
        if mail.is_queued(db, dedupe_key(walk_id, protocol.version, person.email)):
            result.already.append(person.email)
        else:
            todo.append(person)
    if not todo:
        return result
    route = route_points(db, walk_id)
    pdf = render_walk_protocol(protocol, lang=lang, route=route, photos=pdf_photos(blobs, protocol))
    with_photos = len(pdf) * 4 / 3 + _MAIL_OVERHEAD <= settings.mail_max_bytes  # base64: 4/3
    if not with_photos:
        pdf = render_walk_protocol(protocol, lang=lang, route=route)
    messages = []
    for person in todo:
        updated = person.email.lower() in earlier
        message = compose(settings, protocol, person, pdf, lang=lang, updated=updated,
                          with_photos=with_photos, now=now)  # fmt: skip
        messages.append((person, message))
    with db.write() as tx:
        for person, message in messages:
            if mail.enqueue(
                tx,
                kind=KIND,
                recipient=person.email,
                message=message,
                now=now,
                dedupe_key=dedupe_key(walk_id, protocol.version, person.email),
            ):
                result.queued.append(person.email)  # fmt: skip
            else:  # another click got there first
                result.already.append(person.email)
    return result


def compose(
    settings: Settings,
    protocol: Protocol,
    person: Participant,
    pdf: bytes,
    *,
    lang: str,
    updated: bool,
    with_photos: bool,
    now: datetime,
) -> EmailMessage:
    """One participant's email: greeting, what was found per owner, the PDF attached."""
    walk = protocol.walk
    day = local_day(walk.started_at)
    subject_key = "walks.mail.subject_updated" if updated else "walks.mail.subject"
    context = dict(
        lang=lang,
        subject=i18n.t(subject_key, lang, walk=walk.name, date=day),
        walk=walk,
        date=day,
        name=person.name,
        updated=updated,
        with_photos=with_photos,
        groups=[
            (g.owner_name or i18n.t("walks.protocol.unassigned", lang), g.entries)
            for g in protocol.groups
        ],
        count=len(protocol.entries),
        duplicates=protocol.duplicates,
        police_only=protocol.police_only,
        category=lambda code: i18n.category_label(code, lang),
        plural=lambda key, n: texts_mail.plural(key, n, lang),
    )
    return mail.compose(
        sender=mail.sender(settings),
        recipient=person.email,
        subject=str(context["subject"]),
        text=texts_mail.render("protocol.txt", context),
        html=texts_mail.render("protocol.html", context),
        reply_to=settings.coordinator_email,
        attachments=[(filename(protocol, lang), pdf, _PDF)],
        now=now,
    )

"""A message's bytes: composing one (text + HTML + inline photos + attachments) and what of it
may be kept once it was delivered.

Once sent, the stored bytes keep no working owner link: in the same transaction that marks the
row sent (`mail.delivery`), every `/o/<token>` in its text and HTML becomes `/o/[länk borttagen]`,
and its attachments (a report's PDF prints the link in text that cannot be edited in place) are
replaced by a note that says so (`blank_owner_links`); inline photos stay. A leaked database then
holds no key to any owner's page. The .eml files of the demo transport are the delivered mail
(its "mailbox"), so they keep their link, as a mail in the owner's mailbox does.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Sequence
from datetime import datetime
from email.message import EmailMessage
from email.parser import BytesParser
from email.policy import SMTP
from email.utils import formatdate, make_msgid, parseaddr

from sync_server.config import Settings
from walkaudit.model import utcnow

log = logging.getLogger(__name__)

# An owner link's path: /o/ and its token (links.create_link: token_urlsafe(32), 43 characters).
_OWNER_LINK = re.compile(r"/o/[A-Za-z0-9_-]{20,}")
LINK_REMOVED = "/o/[länk borttagen]"
_BODY_REMOVED = b"[meddelandet togs bort efter leveransen / removed after delivery]\r\n"
_ATTACHMENT_REMOVED = (
    "Bilagan {name} togs bort ur den lagrade kopian efter leveransen: den innehöll ägarlänken.\n"
    "The attachment {name} was removed from the stored copy after delivery: it held the owner "
    "link.\n"
)


def sender(settings: Settings) -> str:
    """The From address (a placeholder for the .eml demo, where no SMTP is configured)."""
    return settings.mail_from or "Trygghetsvandring <walkaudit@localhost>"


def compose(
    *,
    sender: str,
    recipient: str,
    subject: str,
    text: str,
    html: str,
    reply_to: str | None = None,
    inline: Sequence[tuple[str, bytes]] = (),
    attachments: Sequence[tuple[str, bytes, str]] = (),
    now: datetime | None = None,
) -> EmailMessage:
    """multipart/mixed[alternative[text, related[html, inline JPEGs by cid]], attachments].

    `inline` holds (content-id without <>, JPEG bytes); `attachments` (filename, bytes, mime).
    """
    msg = EmailMessage(policy=SMTP)
    # A header is one line: a walk or owner name typed with a line break must not stop a mail.
    subject = " ".join(subject.split())
    msg["From"], msg["To"], msg["Subject"] = sender, recipient, subject
    if reply_to:
        msg["Reply-To"] = reply_to
    msg["Date"] = formatdate((now or utcnow()).timestamp(), localtime=False)
    domain = parseaddr(sender)[1].rpartition("@")[2] or "walkaudit.invalid"
    msg["Message-ID"] = make_msgid("walkaudit", domain=domain)
    msg.set_content(text)
    msg.add_alternative(html, subtype="html")
    html_part = msg.get_body(preferencelist=("html",))
    assert isinstance(html_part, EmailMessage)  # the part add_alternative just made
    for cid, jpeg in inline:
        html_part.add_related(
            jpeg,
            "image",
            "jpeg",
            cid=f"<{cid}>",
            disposition="inline",
            filename=f"{cid.partition('@')[0]}.jpg",
        )
    for filename, data, mime in attachments:
        maintype, _, subtype = mime.partition("/")
        msg.add_attachment(data, maintype=maintype, subtype=subtype, filename=filename)
    return msg


def blank_owner_links(message: bytes) -> bytes:
    """The message as it may be kept after delivery: no owner link that still opens a page
    (see the module docstring); the same bytes if it holds none."""
    try:
        return _blanked(message)
    except Exception:  # a message our own parser cannot take apart: keep its headers only
        log.exception("a delivered message could not be blanked; its body is not kept")
        head = message.split(b"\r\n\r\n", 1)[0].split(b"\n\n", 1)[0]
        return head + b"\r\n\r\n" + _BODY_REMOVED


def _blanked(message: bytes) -> bytes:
    parsed = BytesParser(policy=SMTP).parsebytes(message)
    parts = [p for p in parsed.walk() if not p.is_multipart()]
    texts = [p for p in parts if p.get_content_maintype() == "text"
             and p.get_content_disposition() != "attachment"]  # fmt: skip
    if not any(_OWNER_LINK.search(str(p.get_content())) for p in texts):
        return message
    for part in texts:
        text = str(part.get_content())
        blanked = _OWNER_LINK.sub(LINK_REMOVED, text)
        if blanked != text:
            part.set_content(blanked, subtype=part.get_content_subtype(), cte="quoted-printable")
    for part in parts:
        if part.get_content_disposition() == "attachment":
            name = part.get_filename() or "attachment"
            note = _ATTACHMENT_REMOVED.format(name=name)
            part.set_content(note, disposition="attachment", filename=f"{name}.txt")
    return parsed.as_bytes(policy=SMTP)

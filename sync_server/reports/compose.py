"""Composing an owner's report: the email (HTML + text + inline photos) with the PDF attached.

The email heads with the owner's personal link. If the photos would push the email past
`mail_max_bytes` they go by link to the owner page instead (the email says so); if the PDF alone
is still too large it goes without photos (also said). Each step is measured on the composed
message, so what is queued is what was measured.
"""

from __future__ import annotations

from dataclasses import replace
from datetime import date, datetime
from email.message import EmailMessage
from typing import Any

from sync_server.config import Settings
from sync_server.core.time import swedish_date
from sync_server.mail import compose, sender
from sync_server.reports.due import Group
from sync_server.reports.pdf import ProtocolItem, render_protocol
from sync_server.texts import mail as texts_mail
from sync_server.texts.mail import render
from walkaudit import i18n

_PDF = "application/pdf"


def compose_report(
    settings: Settings,
    group: Group,
    items: list[ProtocolItem],
    *,
    lang: str,
    link: str,
    expires: datetime,
    today: date,
    areas: list[str],
    now: datetime,
) -> tuple[EmailMessage, bytes]:
    """The email and its bytes, within mail_max_bytes: photos inline; else photos by link to
    the owner page; else also the PDF without photos (the smallest of them if even that is too
    big: a big mail is better than none). Each step is measured on the composed message."""
    deadlines = sorted(i.deadline_date for i in items if i.deadline_date)
    context: dict[str, Any] = dict(
        lang=lang,
        owner=group.owner_name,
        items=items,
        link=link,
        n=len(items),
        expires=swedish_date(expires).isoformat(),
        deadline=deadlines[0] if deadlines else None,
        subject=texts_mail.plural("mail.report.subject", len(items), lang, owner=group.owner_name),
        intro=texts_mail.plural("mail.report.intro", len(items), lang),
    )
    protocol = {"owner": group.owner_name, "date": today.isoformat(), "link": link}
    pdf = render_protocol(items, lang=lang, areas=areas, **protocol)
    inline = [(cid, jpeg) for item in items for cid, jpeg in _cids(item)]
    # Base64 makes every byte 4/3: don't even compose an inline version that cannot fit.
    fits_inline = sum(len(j) for _, j in inline) * 4 / 3 < settings.mail_max_bytes
    message, raw = EmailMessage(), b""
    for photos_inline, pdf_photos in ((True, True), (False, True), (False, False)):
        if photos_inline and not fits_inline:
            continue
        if not pdf_photos:
            bare = [replace(i, pdf_photo=None) for i in items]
            pdf = render_protocol(bare, lang=lang, areas=areas, **protocol)
        context.update(photos_inline=photos_inline, pdf_photos=pdf_photos)
        message = compose(
            sender=sender(settings),
            recipient=group.recipient,
            subject=str(context["subject"]),
            text=render("report.txt", context),
            html=render("report.html", context),
            reply_to=settings.coordinator_email,
            inline=inline if photos_inline else [],
            now=now,
            attachments=[(i18n.t("pdf.filename", lang, date=protocol["date"]), pdf, _PDF)],
        )
        raw = message.as_bytes()
        if len(raw) <= settings.mail_max_bytes:
            break
    return message, raw


def _cids(item: ProtocolItem) -> list[tuple[str, bytes]]:
    return [(f"f{item.number}p{k}@walkaudit", jpeg) for k, jpeg in enumerate(item.photos)]

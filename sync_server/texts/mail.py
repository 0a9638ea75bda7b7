"""What the emails and the PDF protocol say (sv, en), and `render()` for the mail templates.

The catalogue is registered with `walkaudit.i18n` by the package (`sync_server.texts`), so
`i18n.t(key, lang)` is the one way every template and the PDF get their words; the templates in
web/templates/mail hold markup only. Keys whose text depends on a count come in pairs
`….one`/`….many`; `plural()` picks one.
"""

from __future__ import annotations

from functools import cache
from typing import Any

import jinja2

from sync_server.core.files import TEMPLATES
from sync_server.core.templates import environment
from walkaudit import i18n

MESSAGES: dict[str, tuple[str, str]] = {
    # ---- the report to an owner ----
    "mail.report.subject.one": (
        "Trygghetsvandring: 1 fynd att åtgärda – {owner}",
        "Safety walk: 1 finding to act on – {owner}",
    ),
    "mail.report.subject.many": (
        "Trygghetsvandring: {n} fynd att åtgärda – {owner}",
        "Safety walk: {n} findings to act on – {owner}",
    ),
    "mail.report.heading": ("Fynd från trygghetsvandring", "Findings from a safety walk"),
    "mail.greeting": ("Hej {owner}!", "Hello {owner},"),
    "mail.report.intro.one": (
        "Vid en trygghetsvandring hittades 1 sak i utemiljön som ni ansvarar för. "
        "Här är den, med foto och plats.",
        "A safety walk found 1 thing in the outdoor environment that you are responsible for. "
        "Here it is, with photo and place.",
    ),
    "mail.report.intro.many": (
        "Vid en trygghetsvandring hittades {n} saker i utemiljön som ni ansvarar för. "
        "Här är de, med foto och plats.",
        "A safety walk found {n} things in the outdoor environment that you are responsible for. "
        "Here they are, with photo and place.",
    ),
    "mail.link.button": ("Öppna era fynd och svara", "Open your findings and respond"),
    "mail.link.help": (
        "Där svarar ni på varje fynd – ”vi tar det”, ”åtgärdat” eller ”inte vårt” – utan "
        "inloggning. Länken är personlig; dela den bara inom er organisation. Den gäller till "
        "{expires}.",
        "There you answer each finding – “on it”, “fixed” or “not ours” – without an "
        "account. The link is personal: share it only within your organisation. It is valid "
        "until {expires}.",
    ),
    "mail.link.plain": ("Er länk: {url}", "Your link: {url}"),
    "mail.deadline.summary": ("Åtgärda senast {date}.", "Please act by {date}."),
    "mail.photos_by_link": (
        "Fotona är för många för att få plats i e-posten. Ni ser dem via er länk.",
        "There are too many photos to fit in the email. You can see them via your link.",
    ),
    "mail.pdf_attached": (
        "Protokollet finns bifogat som PDF, för utskrift eller diarieföring.",
        "The protocol is attached as a PDF, for printing or filing.",
    ),
    "mail.pdf_without_photos": (
        "PDF-protokollet har inga foton, så att e-posten inte blir för stor.",
        "The PDF protocol has no photos, to keep the email small enough.",
    ),
    "mail.footer": (
        "Skickat av trygghetsvandringens samordnare. Svara på det här mejlet om något inte "
        "stämmer, till exempel om ett fynd inte är ert.",
        "Sent by the safety walk's coordinator. Reply to this email if something is wrong, for "
        "example if a finding is not yours.",
    ),
    "mail.finding.number": ("Fynd {i} av {n}", "Finding {i} of {n}"),
    "mail.label.category": ("Kategori", "Category"),
    "mail.label.severity": ("Allvar", "Severity"),
    "mail.label.note": ("Anteckning", "Note"),
    "mail.label.address": ("Närmaste adress", "Nearest address"),
    "mail.label.position": ("Position", "Position"),
    "mail.label.deadline": ("Åtgärda senast", "Act by"),
    "mail.label.recorded": ("Noterat", "Recorded"),
    "mail.label.photo": ("Foto", "Photo"),
    "mail.map_link": ("Visa på karta", "Show on map"),
    "mail.no_note": ("(ingen anteckning)", "(no note)"),
    "mail.no_deadline": ("inget datum satt", "no date set"),
    "mail.photo_alt": ("Foto av fynd {i}: {category}", "Photo of finding {i}: {category}"),
    "mail.photo_on_page": ("Foto: se er länk", "Photo: see your link"),
    "mail.photos_missing.one": (
        "1 foto kunde inte läsas och saknas här.",
        "1 photo could not be read and is missing here.",
    ),
    "mail.photos_missing.many": (
        "{n} foton kunde inte läsas och saknas här.",
        "{n} photos could not be read and are missing here.",
    ),
    # ---- the reminder ----
    "mail.reminder.subject.one": (
        "Påminnelse: 1 fynd har passerat sitt datum – {owner}",
        "Reminder: 1 finding is past its date – {owner}",
    ),
    "mail.reminder.subject.many": (
        "Påminnelse: {n} fynd har passerat sitt datum – {owner}",
        "Reminder: {n} findings are past their date – {owner}",
    ),
    "mail.reminder.heading": ("Påminnelse om fynd", "Reminder about findings"),
    "mail.reminder.intro": (
        "De här fynden från trygghetsvandringen skulle ha åtgärdats men är inte markerade som "
        "klara. Markera dem via länken när de är åtgärdade – eller svara ”inte vårt” om de hör "
        "till någon annan.",
        "These findings from the safety walk should have been dealt with but are not marked as "
        "done. Mark them via the link once fixed – or answer “not ours” if they belong to "
        "someone else.",
    ),
    "mail.reminder.overdue": (
        "{days} dagar efter sista dag ({date})",
        "{days} days past the date ({date})",
    ),
    # ---- the weekly summary to the coordinator ----
    "mail.summary.failed_list": (
        "Mejl som inte gick fram (kontrollera adressen):",
        "Emails that could not be delivered (check the address):",
    ),
    # ---- the PDF protocol ----
    "pdf.title": ("Protokoll – trygghetsvandring", "Protocol – safety walk"),
    "pdf.owner": ("Till: {owner}", "To: {owner}"),
    "pdf.date": ("Datum: {date}", "Date: {date}"),
    "pdf.count": ("Antal fynd: {n}", "Number of findings: {n}"),
    "pdf.link": ("Svara på fynden via: {url}", "Respond to the findings at: {url}"),
    "pdf.map": ("Karta över fynden", "Map of the findings"),
    "pdf.map_note": (
        "Siffrorna är fyndens nummer; den tonade ytan är ert område. Norr är uppåt.",
        "The numbers are the findings' numbers; the shaded area is yours. North is up.",
    ),
    "pdf.page": ("Sida {page} av {pages}", "Page {page} of {pages}"),
    "pdf.no_photo": ("Inget foto", "No photo"),
    "pdf.photo_unreadable": ("Fotot kunde inte läsas", "The photo could not be read"),
    "pdf.filename": ("protokoll-trygghetsvandring-{date}.pdf", "protocol-safety-walk-{date}.pdf"),
    "pdf.more_photos": ("+{n} foto till (se länken)", "+{n} more photos (see the link)"),
}


def plural(key: str, n: int, lang: str, **values: object) -> str:
    """`key.one` for one, `key.many` otherwise, with `n` and the other values filled in."""
    return i18n.t(f"{key}.{'one' if n == 1 else 'many'}", lang, n=n, **values)


@cache
def _environment() -> jinja2.Environment:
    return environment(TEMPLATES / "mail", for_mail=True)


def render(template: str, context: dict[str, Any]) -> str:
    """A mail template with `t(key, **values)` bound to the context's `lang`."""
    lang = str(context.get("lang", i18n.DEFAULT_LANGUAGE))

    def t(key: str, **values: object) -> str:
        return i18n.t(key, lang, **values)

    return _environment().get_template(template).render(context, t=t)

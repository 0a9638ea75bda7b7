"""The walks' texts (`walks.*`): the list, a walk's page, its protocol (page, PDF, email).

Swedish first, registered by the package (`sync_server.texts`). Status, severity and
category labels are the shared ones. Keys whose text depends on a count come in pairs
`….one`/`….many` (`sync_server.texts.mail.plural` picks one).
"""

from __future__ import annotations

MESSAGES: dict[str, tuple[str, str]] = {
    # ---- the list ----
    "walks.title": ("Vandringar", "Walks"),
    "walks.filter.area": ("Område", "Area"),
    "walks.filter.q": ("Sök i namn eller område", "Search name or area"),
    "walks.col.name": ("Vandring", "Walk"),
    "walks.col.area": ("Område", "Area"),
    "walks.col.date": ("Datum", "Date"),
    "walks.col.walker": ("Vandrare (enhet)", "Walker (device)"),
    "walks.col.findings": ("Fynd", "Findings"),
    "walks.col.open": ("Öppna", "Open"),
    "walks.col.state": ("Läge", "State"),
    "walks.state.ended": ("Avslutad", "Ended"),
    "walks.state.in_progress": ("Pågår", "In progress"),
    "walks.none": ("Inga vandringar har synkats än.", "No walks have been synced yet."),
    "walks.none_filtered": ("Inga vandringar matchar filtret.", "No walks match the filter."),
    "walks.total": ("Vandringar: {n}", "Walks: {n}"),
    "walks.page_of": ("Sida {page} av {pages}", "Page {page} of {pages}"),
    "walks.no_area": ("–", "–"),
    "walks.unknown_device": ("(okänd enhet)", "(unknown device)"),
    # ---- a walk's page ----
    "walks.walk.started": ("Start", "Started"),
    "walks.walk.ended": ("Slut", "Ended"),
    "walks.walk.device": ("Vandrare (enhet)", "Walker (device)"),
    "walks.walk.findings": ("Fynd", "Findings"),
    "walks.walk.findings_value": ("{n} fynd, varav {open} öppna", "{n} findings, {open} open"),
    "walks.walk.list_findings": ("Visa fynden i fyndlistan", "Show the findings in the list"),
    "walks.walk.protocol": ("Protokoll", "Protocol"),
    "walks.walk.open_protocol": ("Öppna protokollet", "Open the protocol"),
    "walks.walk.protocol_help": (
        "Protokollet samlar vandringens fynd per ansvarig, med foto, prioritet och sista dag – "
        "som sida, som PDF och som e-post till deltagarna.",
        "The protocol gathers the walk's findings by who is responsible, with photo, priority "
        "and deadline – as a page, as a PDF and as an email to the participants.",
    ),
    "walks.map.title": ("Karta", "Map"),
    "walks.map.legend": (
        "Linjen är den gångna rutten; siffrorna är fyndens nummer i protokollet.",
        "The line is the route walked; the numbers are the findings' numbers in the protocol.",
    ),
    "walks.map.empty": (
        "Ingen rutt och inga fynd att visa på kartan.",
        "No route and no findings to show on the map.",
    ),
    "walks.map.failed": (
        "Kartan kunde inte laddas. Ladda om sidan.",
        "The map could not be loaded. Reload the page.",
    ),
    "walks.map.open_finding": ("Öppna fyndet", "Open the finding"),
    "walks.participants.title": ("Deltagare", "Participants"),
    "walks.participants.help": (
        "Deltagarna får protokollet med e-post – återkopplingen i metodens tredje steg.",
        "The participants get the protocol by email – the feedback of the method's third step.",
    ),
    "walks.participants.none": ("Inga deltagare tillagda än.", "No participants added yet."),
    "walks.participants.name": ("Namn", "Name"),
    "walks.participants.organisation": ("Organisation", "Organisation"),
    "walks.participants.email": ("E-post", "Email"),
    "walks.participants.add": ("Lägg till deltagare", "Add participant"),
    "walks.participants.remove": ("Ta bort", "Remove"),
    "walks.participants.remove_label": ("Ta bort {who}", "Remove {who}"),
    # ---- messages after a form ----
    "walks.error.email_missing": (
        "Fyll i deltagarens e-postadress – protokollet skickas dit.",
        "Enter the participant's email address – the protocol is sent there.",
    ),
    "walks.error.email_bad": (
        "”{email}” är ingen e-postadress. Skriv den som namn@exempel.se.",
        "“{email}” is not an email address. Write it as name@example.se.",
    ),
    "walks.error.too_long": (
        "{field} får vara högst {n} tecken (nu {length}).",
        "{field} may be at most {n} characters (now {length}).",
    ),
    "walks.error.no_participants": (
        "Vandringen har inga deltagare. Lägg till deltagare med e-post på vandringens sida "
        "först – inget skickades.",
        "The walk has no participants. Add participants with an email address on the walk's "
        "page first – nothing was sent.",
    ),
    "walks.notice.added": ("Deltagaren är tillagd.", "The participant was added."),
    "walks.notice.duplicate": (
        "Den e-postadressen finns redan bland deltagarna – inget ändrades.",
        "That email address is already among the participants – nothing was changed.",
    ),
    "walks.notice.removed": ("Deltagaren är borttagen.", "The participant was removed."),
    "walks.notice.gone": (
        "Deltagaren var redan borttagen.",
        "The participant was already removed.",
    ),
    "walks.notice.sent": (
        "Protokollet skickas nu till {n} deltagare.",
        "The protocol is being sent to {n} participant(s).",
    ),
    "walks.notice.sent_some": (
        "Protokollet skickas nu till {n} deltagare; {m} hade redan fått den här versionen.",
        "The protocol is being sent to {n} participant(s); {m} already had this version.",
    ),
    "walks.notice.already_sent": (
        "Alla deltagare har redan fått den här versionen av protokollet – inget nytt skickades.",
        "Every participant already has this version of the protocol – nothing new was sent.",
    ),
    # ---- the protocol (page, PDF, email) ----
    "walks.protocol.title": ("Protokoll – {name}", "Protocol – {name}"),
    "walks.protocol.heading": ("Protokoll från trygghetsvandring", "Protocol of a safety walk"),
    "walks.protocol.walk": ("Vandring", "Walk"),
    "walks.protocol.area": ("Område", "Area"),
    "walks.protocol.date": ("Datum", "Date"),
    "walks.protocol.participants": ("Deltagare", "Participants"),
    "walks.protocol.no_participants": ("inga angivna", "none given"),
    "walks.protocol.count": ("Antal fynd", "Number of findings"),
    "walks.protocol.summary": ("Per ansvarig", "By who is responsible"),
    "walks.protocol.pdf": ("Ladda ner som PDF", "Download as PDF"),
    "walks.protocol.back": ("Till vandringen", "Back to the walk"),
    "walks.protocol.send": (
        "Skicka protokollet till deltagarna",
        "Send the protocol to the participants",
    ),
    "walks.protocol.send_help": (
        "Varje deltagare får ett mejl med protokollet som PDF. Ett nytt klick skickar bara om "
        "protokollet har ändrats sedan dess.",
        "Each participant gets an email with the protocol as a PDF. Clicking again sends only "
        "if the protocol has changed since.",
    ),
    "walks.protocol.sent_title": ("Utskick", "Sent"),
    "walks.protocol.sent_summary": (
        "Den aktuella versionen har skickats till {n} av {total} deltagare.",
        "The current version has been sent to {n} of {total} participants.",
    ),
    "walks.protocol.show_sent": ("Visa utskicken ({n})", "Show the messages ({n})"),
    "walks.protocol.never_sent": (
        "Protokollet har inte skickats än.",
        "The protocol has not been sent yet.",
    ),
    "walks.protocol.changed": (
        "Protokollet har ändrats sedan det senast skickades.",
        "The protocol has changed since it was last sent.",
    ),
    "walks.protocol.col.version": ("Version", "Version"),
    "walks.protocol.state.sent": ("Skickat {at}", "Sent {at}"),
    "walks.protocol.state.pending": ("Väntar på att skickas", "Waiting to be sent"),
    "walks.protocol.state.failed": ("Gick inte fram: {error}", "Not delivered: {error}"),
    "walks.protocol.version.current": ("aktuell", "current"),
    "walks.protocol.version.older": ("äldre", "older"),
    "walks.protocol.unassigned": ("Att fördela", "To be assigned"),
    "walks.protocol.group.one": ("1 fynd", "1 finding"),
    "walks.protocol.group.many": ("{n} fynd", "{n} findings"),
    "walks.protocol.priority": ("Prioritet", "Priority"),
    "walks.protocol.priority.1": ("1 – hög", "1 – high"),
    "walks.protocol.priority.2": ("2 – medel", "2 – medium"),
    "walks.protocol.priority.3": ("3 – låg", "3 – low"),
    "walks.protocol.deadline": ("Åtgärda senast", "Act by"),
    "walks.protocol.no_deadline": ("inget datum", "no date"),
    "walks.protocol.status": ("Status", "Status"),
    "walks.protocol.severity": ("Allvar", "Severity"),
    "walks.protocol.note": ("Anteckning", "Note"),
    "walks.protocol.no_note": ("(ingen anteckning)", "(no note)"),
    "walks.protocol.position": ("Position", "Position"),
    "walks.protocol.recorded": ("Noterat", "Recorded"),
    "walks.protocol.open_finding": ("Fyndets sida", "The finding's page"),
    "walks.protocol.empty": ("Vandringen har inga fynd.", "The walk has no findings."),
    "walks.protocol.duplicates": (
        "{n} fynd som vandraren markerade som samma sak som ett tidigare fynd visas inte.",
        "{n} finding(s) the walker marked as the same thing as an earlier finding are not shown.",
    ),
    "walks.protocol.police_only": (
        "{n} ordningsstörningar har gått direkt till polisen/EST och finns inte med här.",
        "{n} disorder finding(s) went straight to the police/EST and are not included here.",
    ),
    "walks.protocol.police_only_page": (
        "Deltagarnas protokoll (e-post och PDF) har inte med ordningsstörningar ({n} st): de går "
        "bara till polisen/EST.",
        "The participants' protocol (email and PDF) leaves out disorder findings ({n}): they go "
        "to the police/EST only.",
    ),
    "walks.protocol.photo_pending": (
        "Fotot har inte kommit fram än",
        "The photo has not arrived yet",
    ),
    "walks.protocol.more_photos": ("+{n} foto till", "+{n} more photo(s)"),
    # ---- the PDF ----
    "walks.pdf.title": ("Protokoll – trygghetsvandring", "Protocol – safety walk"),
    "walks.pdf.map": ("Rutt och fynd", "Route and findings"),
    "walks.pdf.map_note": (
        "Linjen är den gångna rutten; siffrorna är fyndens nummer. Norr är uppåt.",
        "The line is the route walked; the numbers are the findings' numbers. North is up.",
    ),
    "walks.pdf.footer": ("{walk} · sida {page} av {pages}", "{walk} · page {page} of {pages}"),
    "walks.pdf.no_photo": ("Inget foto", "No photo"),
    "walks.pdf.photo_unreadable": ("Fotot kunde inte läsas", "The photo could not be read"),
    "walks.pdf.entry_failed": (
        "Fynd {n} kunde inte ritas här; se fyndet i samordningsverktyget.",
        "Finding {n} could not be drawn here; see the finding in the coordination tool.",
    ),
    "walks.pdf.continued": ("(forts.)", "(continued)"),
    "walks.pdf.filename": ("protokoll-{slug}-{date}.pdf", "protocol-{slug}-{date}.pdf"),
    # ---- the email to the participants ----
    "walks.mail.subject": (
        "Protokoll från trygghetsvandringen {walk} ({date})",
        "Protocol of the safety walk {walk} ({date})",
    ),
    "walks.mail.subject_updated": (
        "Uppdaterat protokoll från trygghetsvandringen {walk} ({date})",
        "Updated protocol of the safety walk {walk} ({date})",
    ),
    "walks.mail.heading": ("Protokoll från trygghetsvandringen", "Protocol of the safety walk"),
    "walks.mail.greeting": ("Hej {name}!", "Hello {name},"),
    "walks.mail.greeting_anonymous": ("Hej!", "Hello,"),
    "walks.mail.intro": (
        "Tack för att du var med på trygghetsvandringen {walk} den {date}. Här är vad vi "
        "noterade och vem som ansvarar för att åtgärda det.",
        "Thank you for taking part in the safety walk {walk} on {date}. Here is what we noted "
        "and who is responsible for fixing it.",
    ),
    "walks.mail.updated": (
        "Protokollet har ändrats sedan du fick det senast: det här är den aktuella versionen.",
        "The protocol has changed since you last received it: this is the current version.",
    ),
    "walks.mail.pdf": (
        "Hela protokollet, med foto av varje fynd, finns bifogat som PDF.",
        "The whole protocol, with a photo of each finding, is attached as a PDF.",
    ),
    "walks.mail.pdf_without_photos": (
        "PDF:en har inga foton, så att e-posten inte blir för stor.",
        "The PDF has no photos, to keep the email small enough.",
    ),
    "walks.mail.footer": (
        "Skickat av trygghetsvandringens samordnare. Svara på det här mejlet om något saknas "
        "eller inte stämmer.",
        "Sent by the safety walk's coordinator. Reply to this email if something is missing or "
        "wrong.",
    ),
}

"""The owner page's texts (`owner.*`), Swedish first (registered by the package).

Status, severity and category labels are the shared ones (`status.*`, `severity.*`,
categories), so the owner reads the same words as the walker and the coordinator.
"""

from __future__ import annotations

MESSAGES: dict[str, tuple[str, str]] = {
    "owner.title": ("Fynd från trygghetsvandring", "Findings from a safety walk"),
    "owner.heading": ("Fynd för {name}", "Findings for {name}"),
    "owner.intro": (
        "Här är fynden från trygghetsvandringar som gäller er. Svara på varje fynd – "
        "samordnaren och de som gick vandringen ser ert svar.",
        "These are the findings from safety walks that concern you. Answer each one – the "
        "coordinator and the people who walked see your answer.",
    ),
    "owner.valid_until": (
        "Länken är personlig och gäller till {date}. Dela den inte vidare.",
        "This link is personal and valid until {date}. Do not pass it on.",
    ),
    "owner.switch_language": ("In English", "På svenska"),
    "owner.open_heading": ("Att åtgärda ({n})", "To do ({n})"),
    "owner.none_open": ("Inga öppna fynd just nu. Tack!", "No open findings right now. Thank you!"),
    "owner.done_heading": ("Klart ({n})", "Done ({n})"),
    "owner.deadline": ("Åtgärda senast", "Fix by"),
    "owner.overdue": ("försenat", "overdue"),
    "owner.no_deadline": ("ingen tidsgräns satt", "no deadline set"),
    "owner.position": ("Plats", "Position"),
    "owner.map_link": ("Visa på karta", "Show on map"),
    "owner.found": ("Hittat", "Found"),
    "owner.found_on_walk": ("{date}, vandringen «{walk}»", "{date}, walk “{walk}”"),
    "owner.severity": ("Allvar", "Severity"),
    "owner.status": ("Läge", "Status"),
    "owner.history": ("Historik", "History"),
    "owner.photo_alt": ("Foto av fyndet: {what}", "Photo of the finding: {what}"),
    "owner.photo_of_fix": ("Foto från {who}", "Photo from {who}"),
    "owner.no_photo": ("Inget foto", "No photo"),
    "owner.actor.walk": ("Vandringen", "The walk"),
    "owner.waiting": ("Väntar på ert svar", "Waiting for your answer"),
    "owner.show_done": ("visa", "show"),
    "owner.actor.other_owner": ("Tidigare ägare", "Previous owner"),
    "owner.event.received": ("Rapporterat", "Reported"),
    "owner.event.sent": ("Skickat till ägaren", "Sent to the owner"),
    "owner.event.acknowledged": ("Sett – tar hand om det", "Seen – on it"),
    "owner.event.planned": ("Planerat", "Planned"),
    "owner.event.fixed": ("Åtgärdat", "Fixed"),
    "owner.event.not_ours": ("Inte vårt ansvar", "Not ours"),
    "owner.event.rerouted": ("Skickat till annan ägare", "Sent to another owner"),
    "owner.event.still_there": ("Fanns kvar vid uppföljning", "Still there at a follow-up"),
    "owner.event.verified": ("Verifierat åtgärdat", "Verified fixed"),
    "owner.event.reopened": ("Återöppnat", "Reopened"),
    "owner.event.closed": ("Avslutat", "Closed"),
    "owner.event.comment": ("Kommentar", "Comment"),
    "owner.action.acknowledge": ("Vi har sett det", "We have seen it"),
    "owner.action.acknowledge_hint": (
        "Bekräfta att ni har tagit emot fyndet och tar hand om det.",
        "Confirm that you have received the finding and are on it.",
    ),
    "owner.action.planned": ("Planerat – ange datum", "Planned – set a date"),
    "owner.action.planned_date": ("Klart senast (datum)", "Done by (date)"),
    "owner.action.planned_submit": ("Spara datum", "Save the date"),
    "owner.action.fixed": ("Åtgärdat", "Fixed"),
    "owner.action.fixed_submit": ("Markera som åtgärdat", "Mark as fixed"),
    "owner.action.comment": ("Kommentar (valfritt)", "Comment (optional)"),
    "owner.action.photo": (
        "Foto av åtgärden (valfritt, högst {mb} MB)",
        "Photo of the fix (optional, at most {mb} MB)",
    ),
    "owner.action.not_ours": ("Inte vårt ansvar", "Not ours"),
    "owner.action.not_ours_reason": (
        "Varför? Vem äger platsen, om ni vet? (krävs)",
        "Why? Who owns the place, if you know? (required)",
    ),
    "owner.action.not_ours_hint": (
        "Fyndet försvinner från er lista och samordnaren letar upp rätt ägare.",
        "The finding leaves your list and the coordinator finds the right owner.",
    ),
    "owner.action.not_ours_submit": (
        "Skicka tillbaka till samordnaren",
        "Send back to the coordinator",
    ),
    "owner.thanks.acknowledged": (
        "Tack! Vi har noterat att ni har sett fyndet ({what}).",
        "Thank you! We have noted that you have seen the finding ({what}).",
    ),
    "owner.thanks.planned": (
        "Tack! Det planerade datumet är sparat ({what}).",
        "Thank you! The planned date is saved ({what}).",
    ),
    "owner.thanks.fixed": (
        "Tack! Fyndet är markerat som åtgärdat ({what}). Det finns nu under Klart.",
        "Thank you! The finding is marked as fixed ({what}). It is now under Done.",
    ),
    "owner.thanks.not_ours": (
        "Tack! Fyndet går tillbaka till samordnaren, som letar upp rätt ägare.",
        "Thank you! The finding goes back to the coordinator, who will find the right owner.",
    ),
    "owner.error.nothing_saved": ("Inget har sparats.", "Nothing was saved."),
    "owner.error.date_missing": (
        "Välj datumet då det ska vara åtgärdat.",
        "Choose the date by which it will be fixed.",
    ),
    "owner.error.date_invalid": (
        "Datumet «{value}» går inte att läsa. Skriv det som ÅÅÅÅ-MM-DD.",
        "The date “{value}” cannot be read. Write it as YYYY-MM-DD.",
    ),
    "owner.error.date_past": (
        "{date} har redan varit. Välj i dag eller ett senare datum.",
        "{date} is in the past. Choose today or a later date.",
    ),
    "owner.error.date_far": (
        "{date} är mer än fem år bort – kontrollera årtalet.",
        "{date} is more than five years away – check the year.",
    ),
    "owner.error.reason_missing": (
        "Skriv varför fyndet inte är ert, så att samordnaren kan skicka det rätt.",
        "Write why the finding is not yours, so that the coordinator can send it to the right "
        "owner.",
    ),
    "owner.error.text_too_long": (
        "Texten är för lång ({n} tecken, högst {max}). Korta den.",
        "The text is too long ({n} characters, at most {max}). Shorten it.",
    ),
    "owner.error.photo_too_large": (
        "Fotot «{name}» är för stort ({mb} MB, högst {max} MB). Välj en mindre bild eller ta "
        "den med lägre upplösning.",
        "The photo “{name}” is too large ({mb} MB, at most {max} MB). Choose a smaller picture "
        "or take it at a lower resolution.",
    ),
    "owner.error.photo_not_image": (
        "«{name}» är inte ett foto. Välj en bild (JPEG, PNG, WebP eller HEIC).",
        "“{name}” is not a photo. Choose a picture (JPEG, PNG, WebP or HEIC).",
    ),
    "owner.error.photo_broken": (
        "Fotot «{name}» är skadat och går inte att läsa. Ta bilden igen, eller välj en annan.",
        "The photo “{name}” is damaged and cannot be read. Take it again, or choose another.",
    ),
    "owner.error.photo_heic": (
        "«{name}» är en HEIC-bild som servern inte kan läsa. Spara den som JPEG och försök igen.",
        "“{name}” is a HEIC picture this server cannot read. Save it as JPEG and try again.",
    ),
    "owner.error.busy": (
        "Servern är upptagen med fotot «{name}» just nu. Försök igen om en stund.",
        "The server is busy with the photo “{name}” right now. Try again in a moment.",
    ),
    "owner.error.bad_form": (
        "Formuläret gick inte att läsa. Ladda om sidan och försök igen.",
        "The form could not be read. Reload the page and try again.",
    ),
    "owner.error.already_done": (
        "Fyndet är redan klart ({status}). Ladda om sidan för att se läget nu.",
        "The finding is already done ({status}). Reload the page to see where it stands.",
    ),
    "owner.error.already_acknowledged": (
        "Fyndet är redan bekräftat ({status}).",
        "The finding is already acknowledged ({status}).",
    ),
    "owner.link.unknown.title": ("Länken fungerar inte", "This link does not work"),
    "owner.link.unknown.text": (
        "Länken är inte giltig. Använd länken i det senaste mejlet om fynden, eller be "
        "samordnaren som skickade det om en ny länk.",
        "This link is not valid. Use the link in the latest email about the findings, or ask "
        "the coordinator who sent it for a new link.",
    ),
    "owner.link.expired.title": ("Länken har gått ut", "This link has expired"),
    "owner.link.expired.text": (
        "Länkarna gäller en begränsad tid. Be samordnaren som skickade mejlet om en ny länk.",
        "Links are valid for a limited time. Ask the coordinator who sent the email for a new "
        "link.",
    ),
    "owner.link.revoked.title": ("Länken är återkallad", "This link has been withdrawn"),
    "owner.link.revoked.text": (
        "Samordnaren har dragit tillbaka länken. Be samordnaren om en ny länk om ni fortfarande "
        "har fynd att svara på.",
        "The coordinator has withdrawn this link. Ask the coordinator for a new link if you "
        "still have findings to answer.",
    ),
    "owner.not_found.title": ("Finns inte här", "Not here"),
    "owner.not_found.text": (
        "Det finns inget sådant bland era fynd. Fyndet kan ha skickats vidare till någon annan.",
        "There is no such thing among your findings. The finding may have gone to someone else.",
    ),
    "owner.back": ("Till era fynd", "Back to your findings"),
    "owner.footer": (
        "Frågor om ett fynd? Kontakta samordnaren som skickade mejlet till er.",
        "Questions about a finding? Contact the coordinator who sent you the email.",
    ),
}

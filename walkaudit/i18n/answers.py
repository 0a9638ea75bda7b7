"""The field app's words for owners' answers, the findings' holders and follow-up walks."""

from __future__ import annotations

MESSAGES: dict[str, tuple[str, str]] = {
    # key: (Swedish, English)
    # ---- issue9-answers (owner answers, holders, follow-ups) ----
    "followup.answer_failed": (
        "Svaret kunde inte sparas på telefonen – försök igen.",
        "The answer could not be saved on the phone – try again.",
    ),
    # Disorder (ORD) goes to the police/EST, not to a property owner: the words say so.
    "answers.status.sent.police": ("Skickat till polisen", "Sent to the police"),
    "answers.status.not_ours.police": ("Inte polisens", "Not the police's"),
    "answers.kind.still_there": ("Finns kvar (uppföljning)", "Still there (follow-up)"),
    "answers.kind.rerouted": ("Skickat till ny mottagare", "Sent to someone else"),
    "answers.kind.comment": ("Kommentar", "Comment"),
    "answers.by.owner": ("Ägaren", "The owner"),
    "answers.by.police": ("Polisen", "The police"),
    "answers.by.user": ("{name}", "{name}"),
    "answers.by.walker": ("En vandrare", "A walker"),
    "answers.title": ("Svar", "Answers"),
    "answers.planned_for": ("Planerat till {date}", "Planned for {date}"),
    "answers.reason": ("Skäl: {reason}", "Reason: {reason}"),
    "answers.fix_photo": ("Foto av åtgärden", "Photo of the fix"),
    "answers.photo_coming": (
        "Fotot hämtas vid nästa synk.",
        "The photo is fetched with the next sync.",
    ),
    "answers.months": (
        "januari februari mars april maj juni juli augusti september oktober november december",
        "January February March April May June July August September October November December",
    ),
    "followup.choose": ("Välj en planerad uppföljning", "Choose a planned follow-up"),
    "followup.list_empty": (
        "Inga planerade uppföljningar på servern.",
        "No follow-ups planned on the server.",
    ),
    "followup.list_offline": (
        "Servern nås inte – listan är från {when}.",
        "Server unreachable – the list is from {when}.",
    ),
    "followup.list_never": (
        "Servern nås inte. Skriv områdets namn nedan när det finns signal.",
        "Server unreachable. Type the area's name below when there is signal.",
    ),
    "followup.list_loading": ("Hämtar uppföljningar…", "Fetching follow-ups…"),
    "followup.refresh": ("Uppdatera", "Refresh"),
    "followup.counts": ("{area} · {open} av {n} kvar", "{area} · {open} of {n} left"),
    "followup.other": ("Eller skriv ett område", "Or type an area"),
    "followup.change": ("Välj en annan uppföljning", "Choose another follow-up"),
    "followup.loading": ("Hämtar fynden…", "Fetching the findings…"),
    "followup.gone": (
        "Uppföljningen är avslutad eller borttagen. Välj en annan.",
        "The follow-up has been closed or removed. Choose another.",
    ),
    "followup.original_photo": ("Foto från rapporten", "Photo from the report"),
    "followup.photo_missing": (
        "Fotot hämtas när det finns signal.",
        "The photo is fetched when there is signal.",
    ),
    "followup.holder_answer": ("{who} svarade: {what}", "{who} answered: {what}"),
    "followup.my_answer_waiting": (
        "Ditt svar: {what} – väntar på synk, kan ändras",
        "Your answer: {what} – waiting to sync, can be changed",
    ),
    "followup.my_answer_sent": (
        "Ditt svar: {what} – skickat (ändras med ett nytt svar)",
        "Your answer: {what} – sent (a change is sent as a new answer)",
    ),
    "followup.with_photos": ("{n} foto", "{n} photo(s)"),
    "followup.photo_fixed": ("Ta ett foto av åtgärden?", "Take a photo of the fix?"),
    "followup.photo_still": ("Ta ett foto av hur det ser ut?", "Take a photo of how it looks?"),
    "followup.take": ("Ta foto", "Take photo"),
    "followup.gallery": ("Från galleriet", "From the gallery"),
    "followup.no_photo": ("Utan foto", "Without photo"),
    "followup.photo_unusable": (
        "Fotot gick inte att använda – svaret sparades utan foto.",
        "The photo could not be used – the answer was saved without it.",
    ),
    "followup.camera_unavailable": (
        "Kameran är inte tillgänglig – välj från galleriet eller spara utan foto.",
        "The camera is not available – choose from the gallery or save without a photo.",
    ),
    "followup.chosen": ("valt", "chosen"),
    "common.back": ("Tillbaka", "Back"),
    "common.cancel": ("Avbryt", "Cancel"),
    "common.ok": ("OK", "OK"),
    "common.settings": ("Inställningar", "Settings"),
}

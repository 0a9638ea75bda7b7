"""The field app's words for syncing, capturing a finding (camera, photos, drafts, the duplicate
prompt) and the walk's end, reopening, local time, contrast and the dark map (issue 9)."""

from __future__ import annotations

MESSAGES: dict[str, tuple[str, str]] = {
    # key: (Swedish, English)
    # ---- issue9-sync (pending, stalled server) ----
    "sync.stalled": (
        "Servern svarar inte – inget är förlorat, {n} väntar. Appen försöker igen av sig själv.",
        "The server does not answer – nothing lost, {n} wait. The app will try again by itself.",
    ),
    "sync.progress_items": ("{done}/{total} st", "{done}/{total} items"),
    "sync.done_more": (
        "Skickat. {n} nya sparades under tiden och går med nästa synk.",
        "Sent. {n} new were saved meanwhile and go with the next sync.",
    ),
    # ---- issue9-new-finding (camera, photos, drafts, duplicate prompt) ----
    "finding.same_thing_needs_photo": (
        'Ta ett foto att lägga till det liknande fyndet – eller välj bort "samma sak".',
        'Take a photo to add to the similar finding – or unselect "same thing".',
    ),
    "finding.save_failed": (
        "Fyndet kunde inte sparas ({reason}) – allt finns kvar på skärmen, försök igen.",
        "The finding could not be saved ({reason}) – everything is still here, try again.",
    ),
    "finding.camera_starting": ("Kameran startar…", "Starting the camera…"),
    "finding.camera_failed": (
        "Kameran kunde inte starta. Försök igen, eller välj ett foto från galleriet.",
        "The camera could not start. Try again, or choose a photo from the gallery.",
    ),
    "finding.camera_denied": (
        "Appen får inte använda kameran. Tillåt kameran i telefonens inställningar och försök "
        "igen, eller välj ett foto från galleriet.",
        "The app may not use the camera. Allow the camera in the phone's settings and try "
        "again, or choose a photo from the gallery.",
    ),
    "finding.camera_paused": (
        "Kameran är avstängd medan appen ligger i bakgrunden.",
        "The camera is off while the app is in the background.",
    ),
    "finding.camera_retry": ("Försök igen", "Try again"),
    "finding.photo_count_one": ("1 foto", "1 photo"),
    "finding.photo_count": ("{n} foton", "{n} photos"),
    "finding.photo_limit": (
        "Högst {n} foton per fynd – ta bort ett för att ta ett nytt.",
        "At most {n} photos per finding – remove one to take another.",
    ),
    "finding.photo_remove": ("Ta bort foto {n}", "Remove photo {n}"),
    "finding.same_thing_full": (
        "Det fyndet har redan så många foton att bara {n} till får plats – ta bort några först.",
        "That finding already has so many photos that only {n} more fit – remove some first.",
    ),
    "finding.no_photo_title": ("Spara utan foto?", "Save without a photo?"),
    "finding.no_photo_body": (
        "Ett foto hjälper den som ska åtgärda felet att hitta det och se vad det gäller.",
        "A photo helps whoever fixes it to find it and see what it is about.",
    ),
    "finding.no_photo_save": ("Spara ändå", "Save anyway"),
    "finding.discard_title": ("Släng fyndet?", "Discard the finding?"),
    "finding.discard_body": (
        "Det du har fotat och skrivit sparas inte.",
        "What you have photographed and written will not be saved.",
    ),
    "finding.discard": ("Släng", "Discard"),
    "finding.keep_writing": ("Fortsätt skriva", "Keep writing"),
    "draft.title": ("Ett fynd som inte sparades", "A finding that was not saved"),
    "draft.body": (
        "Du höll på med ett fynd när appen stängdes: {summary}",
        "You were recording a finding when the app closed: {summary}",
    ),
    "draft.no_category": ("ingen kategori", "no category"),
    "draft.resume": ("Fortsätt på utkastet", "Continue the draft"),
    # ---- issue9-walk (end, reopen, local time, contrast, dark map) ----
    "walk.end_ask.title": ("Avsluta vandringen?", "End the walk?"),
    "walk.end_ask.holds": (
        "Fynd: {findings} · Foton: {photos} · {minutes} min · {km:.1f} km",
        "Findings: {findings} · Photos: {photos} · {minutes} min · {km:.1f} km",
    ),
    "walk.end_ask.waiting": (
        "{n} väntar på synk – skickas så fort servern nås.",
        "{n} waiting to sync – sent as soon as the server can be reached.",
    ),
    "walk.end_ask.synced": ("Allt är synkat.", "Everything is synced."),
    "walk.end_ask.undo": (
        "Du kan återuppta vandringen i 15 minuter efteråt.",
        "You can take the walk up again for 15 minutes afterwards.",
    ),
    "walk.end_confirm": ("Avsluta vandringen", "End the walk"),
    "walk.end_cancel": ("Fortsätt gå", "Keep walking"),
    "end.reopen": ("Återuppta vandringen", "Resume the walk"),
    "end.reopen_until": (
        "Avslutad av misstag? Du kan återuppta den till kl. {time}.",
        "Ended by mistake? You can resume it until {time}.",
    ),
    "end.reopen_closed": (
        "Vandringen kan inte längre återupptas (mer än 15 minuter sedan, eller en ny har börjat).",
        "The walk can no longer be resumed (more than 15 minutes ago, or a new one has started).",
    ),
}

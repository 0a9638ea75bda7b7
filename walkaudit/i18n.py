"""The one translation mechanism: Swedish first, English second (UI now; emails and PDFs later).

Messages are keyed; each key has a Swedish and an English text with `{name}` placeholders.
Category and severity labels come from here too, so every front end says the same thing.
A missing key is a bug, not a blank button: `t()` raises KeyError (a test checks every key has
both languages).
"""

from __future__ import annotations

from walkaudit import categories

LANGUAGES = ("sv", "en")
DEFAULT_LANGUAGE = "sv"

MESSAGES: dict[str, tuple[str, str]] = {
    # key: (Swedish, English)
    "app.title": ("Trygghetsvandring", "Safety walk"),
    "enrol.title": ("Anslut till servern", "Connect to the server"),
    "enrol.intro": (
        "Skriv serverns adress och engångskoden från samordnaren.",
        "Enter the server address and the one-time code from your coordinator.",
    ),
    "enrol.server": ("Serveradress", "Server address"),
    "enrol.code": ("Engångskod", "One-time code"),
    "enrol.submit": ("Anslut", "Connect"),
    "enrol.skip": ("Fortsätt utan server – synka senare", "Continue offline – sync later"),
    "enrol.working": ("Ansluter…", "Connecting…"),
    "enrol.done": ("Ansluten till {server}", "Connected to {server}"),
    "enrol.failed": ("Kunde inte ansluta: {reason}", "Could not connect: {reason}"),
    "enrol.need_both": ("Fyll i både adress och kod.", "Fill in both address and code."),
    "enrol.bad_url": (
        "Adressen ska börja med http:// eller https://",
        "The address must start with http:// or https://",
    ),
    "start.walks": ("Vandringar", "Walks"),
    "start.no_walks": ("Inga vandringar än.", "No walks yet."),
    "start.new_walk": ("Ny vandring", "New walk"),
    "start.followup": ("Uppföljningsvandring", "Follow-up walk"),
    "walk.name": ("Vandringens namn", "Name of the walk"),
    "walk.area": ("Område (valfritt)", "Area (optional)"),
    "walk.start": ("Starta vandring", "Start walk"),
    "walk.name_missing": ("Ge vandringen ett namn.", "Give the walk a name."),
    "walk.end": ("Avsluta", "End walk"),
    "walk.active": ("Pågår", "In progress"),
    "walk.continue": ("Fortsätt vandringen", "Continue the walk"),
    "walk.findings": ("Fynd", "Findings"),
    "walk.new_finding": ("Nytt fynd", "New finding"),
    "walk.no_position": (
        "Söker position… (utan position sätter du en nål när du sparar ett fynd)",
        "Finding your position… (without one you drop a pin when you save a finding)",
    ),
    "walk.position": ("Din position ±{accuracy} m", "Your position ±{accuracy} m"),
    "pending.none": ("Allt är synkat", "Everything is synced"),
    "pending.some": ("{n} väntar på synk", "{n} waiting to sync"),
    "sync.now": ("Synka nu", "Sync now"),
    "photo.format_unsupported": (
        "{name} är en {format}-bild, som telefonen inte kan läsa. Ta fotot med kameran eller"
        " välj en JPEG-bild.",
        "{name} is a {format} picture, which this phone cannot read. Take the photo with the"
        " camera or choose a JPEG.",
    ),
    "photo.format_unsupported_more": (
        "{name} och {more} till är {format}-bilder eller liknande, som telefonen inte kan läsa."
        " Ta fotona med kameran eller välj JPEG-bilder.",
        "{name} and {more} more are {format} pictures or similar, which this phone cannot read."
        " Take the photos with the camera or choose JPEGs.",
    ),
    "sync.running": ("Synkar…", "Syncing…"),
    "sync.progress": (
        "{done}/{total} st · {mb_done:.1f}/{mb_total:.1f} MB",
        "{done}/{total} items · {mb_done:.1f}/{mb_total:.1f} MB",
    ),
    "sync.done": ("Allt finns nu på servern.", "Everything is on the server."),
    "sync.offline": (
        "Servern nås inte – inget är förlorat, {n} väntar till nästa synk.",
        "Server unreachable – nothing lost, {n} wait for the next sync.",
    ),
    "sync.auth": (
        "Servern godtar inte längre den här enheten. Anslut igen med en ny kod – "
        "inget är förlorat.",
        "The server no longer accepts this device. Connect again with a new code – nothing lost.",
    ),
    "sync.not_enrolled": (
        "Inte ansluten till någon server än – fynden sparas här tills du ansluter.",
        "Not connected to a server yet – findings are kept here until you connect.",
    ),
    "sync.conflicts": (
        "{n} fynd krockar med serverns version och sparas här.",
        "{n} findings conflict with the server's version and are kept here.",
    ),
    "finding.title": ("Nytt fynd", "New finding"),
    "finding.take_photo": ("Ta foto", "Take photo"),
    "finding.pick_photo": ("Välj foto", "Choose photo"),
    "finding.retake": ("Ta om", "Retake"),
    "finding.photo_missing": ("Inget foto (valfritt)", "No photo (optional)"),
    "finding.photo_working": ("Foto taget – bearbetas…", "Photo taken – processing…"),
    "finding.photo_ready": ("Foto klart", "Photo ready"),
    "finding.photo_error": (
        "Fotot kunde inte användas: {reason}",
        "The photo cannot be used: {reason}",
    ),
    "finding.camera_unavailable": (
        "Kameran är inte tillgänglig – välj ett foto i stället.",
        "The camera is not available – choose a photo instead.",
    ),
    "finding.category": ("Kategori", "Category"),
    "finding.severity": ("Allvar", "Severity"),
    "finding.note": ("Anteckning (valfritt)", "Note (optional)"),
    "finding.position": ("Position ±{accuracy} m ({source})", "Position ±{accuracy} m ({source})"),
    "finding.position_pin": ("Position satt med nål", "Position set with a pin"),
    "finding.position_missing": (
        "Ingen position – tryck på kartan för att sätta en nål.",
        "No position – tap the map to drop a pin.",
    ),
    "finding.accuracy_warning": (
        "Osäker position (±{accuracy} m) – flytta nålen om den hamnat fel.",
        "Uncertain position (±{accuracy} m) – move the pin if it is off.",
    ),
    "finding.move_pin": ("Flytta nålen", "Move the pin"),
    "finding.save": ("Spara", "Save"),
    "finding.saved": ("Fyndet är sparat.", "Finding saved."),
    "finding.choose_category": ("Välj en kategori först.", "Choose a category first."),
    "finding.nearby": (
        "Liknande fynd inom 25 m – samma sak?",
        "Similar findings within 25 m – the same thing?",
    ),
    "finding.same_thing": ("Samma sak – lägg till mitt foto", "Same thing – add my photo to it"),
    "finding.added_to": ("Ditt foto lades till fyndet.", "Your photo was added to the finding."),
    "finding.edit": ("Spara ändringen", "Save the change"),
    "finding.delete": ("Ta bort", "Delete"),
    "finding.delete_confirm": (
        "Ta bort fyndet? Det har inte skickats och kan inte återskapas.",
        "Delete the finding? It has not been sent and cannot be restored.",
    ),
    "finding.delete_frozen": (
        "Fyndet har skickats och kan bara ändras, inte tas bort.",
        "The finding has been sent: it can be edited, not deleted.",
    ),
    "finding.history": ("Historik", "History"),
    "finding.list_empty": ("Inga fynd ännu.", "No findings yet."),
    "finding.more": ("Visa fler ({n} till)", "Show more ({n} more)"),
    "state.waiting": ("Väntar på synk", "Waiting to sync"),
    "state.synced": ("Synkat", "Synced"),
    "state.conflict": ("Krock – sparat här", "Conflict – kept here"),
    "state.processing": ("Bearbetas", "Processing"),
    "status.received": ("Mottaget", "Received"),
    "status.sent": ("Skickat till ägaren", "Sent to the owner"),
    "status.acknowledged": ("Bekräftat", "Acknowledged"),
    "status.planned": ("Planerat", "Planned"),
    "status.fixed": ("Åtgärdat", "Fixed"),
    "status.not_ours": ("Inte ägarens", "Not the owner's"),
    "status.verified": ("Verifierat åtgärdat", "Verified fixed"),
    "status.reopened": ("Återöppnat", "Reopened"),
    "status.closed": ("Avslutat", "Closed"),
    "severity.low": ("Låg", "Low"),
    "severity.medium": ("Medel", "Medium"),
    "severity.high": ("Hög", "High"),
    "severity.urgent": ("Akut", "Urgent"),
    "source.gps": ("GPS", "GPS"),
    "source.exif": ("fotots GPS", "photo GPS"),
    "source.pin": ("nål", "pin"),
    "source.manual": ("inskriven", "typed"),
    "end.title": ("Vandringen är avslutad", "The walk has ended"),
    "end.summary": (
        "{n} fynd · {km:.1f} km · {minutes} min",
        "{n} findings · {km:.1f} km · {minutes} min",
    ),
    "end.per_category": ("Per kategori", "Per category"),
    "end.home": ("Till start", "Back to start"),
    "followup.title": ("Uppföljning", "Follow-up"),
    # A walk area, or the name of a follow-up the coordinator planned (the server knows both).
    "followup.area": ("Område eller uppföljningens namn", "Area or the follow-up's name"),
    "followup.load": ("Hämta öppna fynd", "Fetch open findings"),
    "followup.none": ("Inga öppna fynd i området.", "No open findings in the area."),
    "followup.still_there": ("Finns kvar", "Still there"),
    "followup.fixed": ("Åtgärdat", "Fixed"),
    "followup.marked": ("Markerat: {what}", "Marked: {what}"),
    "followup.offline": (
        "Servern nås inte – visar senast hämtade fynd.",
        "Server unreachable – showing the findings fetched last.",
    ),
    "settings.title": ("Inställningar", "Settings"),
    "settings.language": ("Språk", "Language"),
    "settings.theme": ("Tema", "Theme"),
    "settings.theme.light": ("Ljust", "Light"),
    "settings.theme.dark": ("Mörkt (kvällsvandring)", "Dark (night walks)"),
    "settings.theme.contrast": ("Hög kontrast", "High contrast"),
    "settings.photo_size": ("Fotostorlek (längsta sida)", "Photo size (long edge)"),
    "settings.tiles": ("Kartplattor (URL-mall)", "Map tiles (URL template)"),
    "settings.server": ("Server", "Server"),
    "settings.reconnect": ("Anslut igen", "Connect again"),
    "settings.saved": ("Sparat.", "Saved."),
    "perm.location": (
        "Appen behöver din position för att placera fynden på kartan. Utan den kan du sätta en "
        "nål för hand.",
        "The app needs your position to place findings on the map. Without it you can drop a pin "
        "by hand.",
    ),
    "perm.location_denied": (
        "Ingen platsåtkomst – tryck på kartan för att sätta en nål.",
        "No location access – tap the map to drop a pin.",
    ),
    "perm.camera": (
        "Appen behöver kameran för att fotografera fynden. Utan den kan du välja foton från "
        "galleriet.",
        "The app needs the camera to photograph findings. Without it you can choose photos from "
        "the gallery.",
    ),
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
    # ---- issue10-refusals ----
    # What the server refused for good (walkaudit.sync: set aside, kept, not sent again by
    # itself). {reason} is the server's own sentence, its final full stop removed.
    "sync.refused_finding": (
        "Fyndet ”{finding}” ({at}) godtogs inte av servern: {reason}. Det sparas här och "
        "skickas inte igen av sig självt.",
        "The finding “{finding}” ({at}) was not accepted by the server: {reason}. It is kept "
        "here and not sent again by itself.",
    ),
    "sync.refused_photo": (
        "Fotot till fyndet ”{finding}” ({at}) godtogs inte av servern: {reason}. Fyndet finns "
        "på servern utan fotot; fotot sparas här.",
        "The photo of the finding “{finding}” ({at}) was not accepted by the server: {reason}. "
        "The finding is on the server without the photo; the photo is kept here.",
    ),
    "sync.refused_answer": (
        "Ditt svar om fyndet ”{finding}” ({at}) godtogs inte av servern: {reason}. Det sparas "
        "här och skickas inte igen av sig självt.",
        "Your answer about the finding “{finding}” ({at}) was not accepted by the server: "
        "{reason}. It is kept here and not sent again by itself.",
    ),
    # The server's reason, when it is one of these (walkaudit.ui.syncer._KNOWN_REASONS).
    # The capture time is fixed when the finding is saved: setting the clock right afterwards
    # does not mend that finding, saving it again does.
    "sync.reason.time": (
        "telefonens klocka visade fel tid när fyndet sparades – ställ in rätt datum och tid och "
        "spara fyndet igen",
        "the phone's clock showed the wrong time when the finding was saved – set the right date "
        "and time and save the finding again",
    ),
    "sync.reason.photo": (
        "fotot är skadat och går inte att visa",
        "the photo is damaged and cannot be shown",
    ),
    "sync.reason.kind": (
        "bara samordnare och ägare kan ge fyndet den statusen",
        "only coordinators and owners can give the finding that status",
    ),
    "sync.refused_walk": (
        "Vandringen ”{walk}” godtogs inte av servern: {reason}. Den sparas här och skickas "
        "inte igen av sig själv.",
        "The walk “{walk}” was not accepted by the server: {reason}. It is kept here and not "
        "sent again by itself.",
    ),
    "sync.refused_route": (
        "{n} punkter av rutten för ”{walk}” godtogs inte av servern: {reason}. De sparas här.",
        "{n} points of the route of “{walk}” were not accepted by the server: {reason}. They "
        "are kept here.",
    ),
    "sync.refused_more": (
        "Servern tog inte emot {n} till; de sparas också här.",
        "The server did not take {n} more; they are kept here too.",
    ),
    "sync.refused_unnamed": ("ett fynd", "a finding"),
    "sync.held": (
        "Skickat. {n} som servern inte har tagit emot sparas här och skickas inte av sig själva.",
        "Sent. {n} the server has not taken are kept here and not sent by themselves.",
    ),
    "sync.server_full": (
        "Servern har inget lagringsutrymme kvar – inget är förlorat här. {n} väntar och skickas"
        " senare.",
        "The server's storage is full – nothing is lost here. {n} wait and go later.",
    ),
    "state.refused": ("Godtogs inte – sparat här", "Not accepted – kept here"),
    # The badge when some of what the server lacks was refused (PendingCounts.refused of total).
    "pending.some_refused": (
        "{n} väntar på synk, varav {k} som servern inte tog emot",
        "{n} waiting to sync, {k} of them not accepted by the server",
    ),
    # The sync bar's way to send the set-aside items again (the app's `sync --retry-refused`).
    "sync.retry_refused": (
        "Försök igen med det som inte togs emot",
        "Try again with what was not accepted",
    ),
    "sync.retry_refused_confirm": (
        "Skicka igen det som servern inte tog emot? Det kan bli nekat igen om inget har ändrats.",
        "Send again what the server did not accept? It may be refused again if nothing has "
        "changed.",
    ),
    "sync.retry_refused_send": ("Skicka igen", "Send again"),
    # ---- issue 11: maps without network (walkaudit.tiles, walkaudit.ui.offline_map) ----
    "map.hint": (
        "Ingen bakgrundskarta här – ladda ner kartan när du har nät",
        "No background map here – download the map when you have a connection",
    ),
    "map.download": ("Ladda ner karta", "Download map"),
    "map.asking": ("Frågar servern efter kartan för området…", "Asking the server for the map…"),
    "map.preparing": (
        "Servern gör i ordning kartan: {done}/{tiles} kartbitar · ca {mb:.1f} MB",
        "The server is preparing the map: {done}/{tiles} tiles · about {mb:.1f} MB",
    ),
    "map.downloading": (
        "Laddar ner kartan: {mb_done:.1f}/{mb_total:.1f} MB",
        "Downloading the map: {mb_done:.1f}/{mb_total:.1f} MB",
    ),
    "map.checking": ("Kontrollerar kartan…", "Checking the map…"),
    "map.done": (
        "Kartan för området finns nu i telefonen ({mb:.1f} MB) och fungerar utan nät.",
        "The area's map is now on the phone ({mb:.1f} MB) and works without a connection.",
    ),
    "map.done_other": (
        "Kartan kring {lat:.4f}, {lon:.4f} finns nu i telefonen ({mb:.1f} MB) – den täcker inte "
        "platsen där du står.",
        "The map around {lat:.4f}, {lon:.4f} is now on the phone ({mb:.1f} MB) – it does not "
        "cover where you are.",
    ),
    "map.no_room": (
        "Telefonen har inte plats för kartan: den behöver {mb:.1f} MB, {free_mb:.0f} MB är lediga "
        "och {keep_mb:.0f} MB hålls fria för foton. Frigör utrymme och försök igen.",
        "The phone has no room for the map: it needs {mb:.1f} MB, {free_mb:.0f} MB are free and "
        "{keep_mb:.0f} MB are kept free for photos. Free some space and try again.",
    ),
    "map.storage_full": (
        "Telefonens minne är fullt – kartan sparades inte. Frigör utrymme och försök igen; dina "
        "fynd och foton finns kvar.",
        "The phone's storage is full – the map was not kept. Free some space and try again; your "
        "findings and photos are still there.",
    ),
    "map.storage_error": (
        "Kartan kunde inte sparas i telefonen: {reason}",
        "The map could not be saved on the phone: {reason}",
    ),
    "map.busy": (
        "Servern gör i ordning andra kartor just nu. Försök igen om en stund – kartan visas "
        "online så länge.",
        "The server is preparing other maps right now. Try again in a while – the map shows "
        "online meanwhile.",
    ),
    "map.failed_unknown": (
        "Kartan kunde inte laddas ner. Försök igen senare – kartan visas online så länge.",
        "The map could not be downloaded. Try again later – the map shows online meanwhile.",
    ),
    "map.covered": (
        "Kartan för området finns redan i telefonen.",
        "The map of this area is on the phone already.",
    ),
    "map.too_large": (
        "Kartan för området blir för stor: ca {mb:.1f} MB, servern tillåter högst {max_mb:.0f} MB.",
        "The map of this area would be too large: about {mb:.1f} MB, the server allows at most "
        "{max_mb:.0f} MB.",
    ),
    "map.too_large_plain": (
        "Kartan för området blir större än servern tillåter.",
        "The map of this area would be larger than the server allows.",
    ),
    "map.no_source": (
        "Servern har ingen kartkälla som får laddas ner. Be samordnaren ställa in en (egen "
        "kartserver, kommunens eller Lantmäteriets) – kartan visas online så länge.",
        "The server has no map source that may be downloaded. Ask your coordinator to set one "
        "up (your own tile server, the municipality's or Lantmäteriet's) – the map shows online "
        "meanwhile.",
    ),
    "map.offline": (
        "Kartan kunde inte laddas ner – ingen kontakt med servern. Försök igen när du har nät.",
        "The map could not be downloaded – no contact with the server. Try again when you have "
        "a connection.",
    ),
    "map.failed": (
        "Kartan kunde inte laddas ner: {reason}",
        "The map could not be downloaded: {reason}",
    ),
    "map.corrupt": (
        "Kartan kom fram skadad och sparades inte. Tryck på Ladda ner karta för att försöka igen.",
        "The map arrived damaged and was not kept. Tap Download map to try again.",
    ),
    "map.not_enrolled": (
        "Anslut till servern först – kartan hämtas därifrån.",
        "Connect to the server first – the map comes from there.",
    ),
    "map.no_position": (
        "Ingen position än – kartan laddas ner för platsen där du står.",
        "No position yet – the map is downloaded for where you stand.",
    ),
    "settings.maps": ("Kartor utan nät", "Offline maps"),
    "settings.maps_none": ("Inga kartor i telefonen än.", "No maps on the phone yet."),
    "settings.map_item": (
        "Område kring {lat:.4f}, {lon:.4f} · {mb:.1f} MB",
        "Area around {lat:.4f}, {lon:.4f} · {mb:.1f} MB",
    ),
    "settings.map_delete": ("Ta bort", "Delete"),
    "settings.map_deleted": ("Kartan är borttagen.", "The map was deleted."),
    "settings.map_here": ("Ladda ner karta för här", "Download the map for here"),
}


def register(messages: dict[str, tuple[str, str]]) -> None:
    """Add a catalogue (the server's emails, the owner page) to the one set of messages.

    A key may be registered once only: two texts for one key would make it a matter of import
    order which one a person reads.
    """
    clash = sorted(k for k in messages if k in MESSAGES and MESSAGES[k] != messages[k])
    if clash:
        raise ValueError(f"message keys registered twice: {', '.join(clash)}")
    MESSAGES.update(messages)


def t(key: str, lang: str = DEFAULT_LANGUAGE, **values: object) -> str:
    """The message for `key` in `lang` (Swedish unless 'en'), with placeholders filled in."""
    sv, en = MESSAGES[key]
    text = en if lang == "en" else sv
    return text.format(**values) if values else text


def category_label(code: str, lang: str = DEFAULT_LANGUAGE) -> str:
    """A category's label in the language."""
    return categories.get(code).label(lang)


class Translator:
    """`t` bound to a language, for a front end that can switch language at run time."""

    def __init__(self, lang: str = DEFAULT_LANGUAGE) -> None:
        self.lang = lang if lang in LANGUAGES else DEFAULT_LANGUAGE

    def __call__(self, key: str, **values: object) -> str:
        return t(key, self.lang, **values)

    def category(self, code: str) -> str:
        """A category's label."""
        return category_label(code, self.lang)

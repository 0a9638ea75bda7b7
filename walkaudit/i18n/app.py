"""The field app's words: enrolment, the start screen, walks, findings, settings (Swedish first).

The app's first catalogue; the later ones (capture, answers, refusals, maps) came with issues 9-11.
"""

from __future__ import annotations

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
}

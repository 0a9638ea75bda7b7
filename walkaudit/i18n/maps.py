"""The field app's words for maps without network (walkaudit.tiles, walkaudit.ui.offline_map)."""

from __future__ import annotations

MESSAGES: dict[str, tuple[str, str]] = {
    # key: (Swedish, English)
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

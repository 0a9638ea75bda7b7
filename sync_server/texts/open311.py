"""Open311's texts (`open311.*`), Swedish first (registered by the package).

What an Open311 client shows people: each service's group, description and keywords, and the
descriptions the public view builds from category and severity. Category, status and severity
labels are the shared ones (categories, `status.*`, `severity.*`). Error descriptions are for the
integrator reading a log, in English like the rest of the API's errors.
"""

from __future__ import annotations

# Each category's group, a sentence describing it and search words (service_code = the code).
GROUPS = {"owner": "environment", "municipality": "environment", "police": "order",
          "triage": "unsorted"}  # fmt: skip
POSITIVE = "POS"  # the one category that is not a problem: a group of its own

MESSAGES: dict[str, tuple[str, str]] = {
    "open311.group.environment": ("Fysisk miljö", "Physical environment"),
    "open311.group.order": ("Ordning och trygghet", "Order and safety"),
    "open311.group.unsorted": ("Att sortera", "To be sorted"),
    "open311.group.positive": ("Positivt", "Positive"),
    "open311.description": ("{category}. Allvar: {severity}.", "{category}. Severity: {severity}."),
    "open311.description_note": (
        "{category}. Allvar: {severity}. {note}",
        "{category}. Severity: {severity}. {note}",
    ),
    "open311.deadline": ("Ska vara åtgärdat senast {date}.", "To be fixed by {date}."),
    "open311.service.BEL": (
        "Belysning som är trasig, saknas, bländar eller skyms av träd.",
        "Lighting that is broken, missing, glaring or blocked by trees.",
    ),
    "open311.keywords.BEL": ("lampa, gatubelysning, mörker", "lamp, street light, darkness"),
    "open311.service.VEG": (
        "Buskar och träd som skymmer sikten eller gångvägen.",
        "Bushes and trees that block the view or the path.",
    ),
    "open311.keywords.VEG": ("buskar, träd, sikt", "bushes, trees, sightlines"),
    "open311.service.OVB": (
        "Platser utan överblick: gömställen, tunnlar, skymda hörn.",
        "Places without overview: hiding places, tunnels, blind corners.",
    ),
    "open311.keywords.OVB": ("gömställe, tunnel, överblick", "hiding place, tunnel, openness"),
    "open311.service.KLO": (
        "Klotter, skadegörelse och vandalism.",
        "Graffiti, damage and vandalism.",
    ),
    "open311.keywords.KLO": ("klotter, skadegörelse", "graffiti, vandalism"),
    "open311.service.SKR": ("Nedskräpning och smuts.", "Litter and dirt."),
    "open311.keywords.SKR": ("skräp, städning", "litter, cleaning"),
    "open311.service.TRA": (
        "Trasig utrustning: staket, bänkar, lekredskap, skyltar.",
        "Broken fixtures: fences, benches, play equipment, signs.",
    ),
    "open311.keywords.TRA": ("staket, bänk, lekplats", "fence, bench, playground"),
    "open311.service.GAN": (
        "Gångvägens yta och tillgänglighet.",
        "The walk path's surface and accessibility.",
    ),
    "open311.keywords.GAN": ("gångväg, tillgänglighet, halka", "path, accessibility, surface"),
    "open311.service.ORI": (
        "Orientering och skyltning: svårt att hitta rätt.",
        "Wayfinding and signage: hard to find the way.",
    ),
    "open311.keywords.ORI": ("skylt, orientering", "sign, wayfinding"),
    "open311.service.SKA": (
        "Entréer, dörrar, trapphus och källare.",
        "Entrances, doors, stairwells and basements.",
    ),
    "open311.keywords.SKA": ("dörr, port, trapphus, källare", "door, entrance, stairwell"),
    "open311.service.TRF": (
        "Trafik och parkering, övergivna fordon.",
        "Traffic and parking, abandoned vehicles.",
    ),
    "open311.keywords.TRF": ("trafik, parkering, fordon", "traffic, parking, vehicle"),
    "open311.service.FOL": (
        "Folkliv och funktioner: öde platser utan aktivitet.",
        "People and activity: deserted places.",
    ),
    "open311.keywords.FOL": ("folkliv, öde plats", "activity, deserted place"),
    "open311.service.ORD": (
        "Ordningsstörning; går till polisen och EST, aldrig till en fastighetsägare.",
        "Disorder; goes to the police and EST, never to a property owner.",
    ),
    "open311.keywords.ORD": ("ordningsstörning, polis", "disorder, police"),
    "open311.service.POS": (
        "Något positivt att värna och förstärka.",
        "Something positive to keep and strengthen.",
    ),
    "open311.keywords.POS": ("positivt, värna", "positive, keep"),
    "open311.service.OVR": (
        "Övrigt, ännu inte sorterat av samordnaren.",
        "Other, not yet sorted by the coordinator.",
    ),
    "open311.keywords.OVR": ("övrigt", "other"),
}

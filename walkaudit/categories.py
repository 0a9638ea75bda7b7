"""The finding taxonomy: ASCII codes with Swedish and English labels.

Source: ../shared/notes/domain.md (Boverket/Brå, BoTryggt2030, Embrace's event types). The codes
are part of the wire format and of Open311's service codes later, so they never change meaning.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Category:
    code: str
    sv: str
    en: str
    icon: str  # a Material icon name, used by the field app
    colour: str  # one colour per category on every map, chart and badge (app and web alike)
    owner_kind: str = "owner"  # who normally has rådighet: owner, municipality, police

    def label(self, lang: str = "sv") -> str:
        """The label in the given language (Swedish unless 'en')."""
        return self.en if lang == "en" else self.sv


# fmt: off
CATEGORIES: tuple[Category, ...] = (
    Category("BEL", "Belysning", "Lighting", "LIGHTBULB", "#F9A825"),
    Category("VEG", "Vegetation och sikt", "Vegetation and sightlines", "PARK", "#2E7D32"),
    Category("OVB", "Överblick och gömställen", "Openness and hiding places", "VISIBILITY_OFF",
             "#6A1B9A"),
    Category("KLO", "Klotter och skadegörelse", "Graffiti and vandalism", "FORMAT_PAINT",
             "#C62828"),
    Category("SKR", "Nedskräpning", "Litter and cleanliness", "DELETE", "#795548"),
    Category("TRA", "Trasig utrustning", "Broken fixtures", "BUILD", "#EF6C00"),
    Category("GAN", "Gångväg och tillgänglighet", "Walk path and accessibility", "DIRECTIONS_WALK",
             "#0277BD"),
    Category("ORI", "Orientering och skyltning", "Wayfinding and signage", "SIGNPOST", "#00838F"),
    Category("SKA", "Entréer och skalskydd", "Entrances, doors, stairwells", "DOOR_FRONT",
             "#4527A0"),
    Category("TRF", "Trafik och parkering", "Traffic and parking", "DIRECTIONS_CAR", "#37474F"),
    Category("FOL", "Folkliv och funktioner", "People and activity", "GROUPS", "#AD1457"),
    Category("ORD", "Ordningsstörning", "Disorder (police/EST)", "LOCAL_POLICE", "#1A237E",
             "police"),
    Category("POS", "Positivt – värna", "Positive: keep and strengthen", "THUMB_UP", "#558B2F"),
    # Not in the national method: what a folder import gets before a person sorts it. The
    # coordinator's triage handles it; it is never sent to an owner as it is.
    Category("OVR", "Övrigt – att sortera", "Other – to be sorted", "HELP_OUTLINE", "#757575",
             "triage"),
)
# fmt: on

# Where it is dark, where someone can hide, at doors and stairwells, and where there is disorder,
# people feel least safe (Boverket/Brå, ../shared/notes/domain.md): such findings default to one
# step more urgent (priority and deadline) than their severity says.
FELT_UNSAFE: frozenset[str] = frozenset({"BEL", "OVB", "SKA", "ORD"})
# "Keep and strengthen" findings are not defects: never urgent.
NOT_A_DEFECT: frozenset[str] = frozenset({"POS"})

BY_CODE: dict[str, Category] = {c.code: c for c in CATEGORIES}
CODES: frozenset[str] = frozenset(BY_CODE)

# The one code → colour map: the app's badges and pins, the web's maps (handed to the JavaScript
# through the page's data-category-colours), the lägesbild's charts and PDF all read it.
COLOURS: dict[str, str] = {c.code: c.colour for c in CATEGORIES}
# A code outside the taxonomy (an older app's, a typo) is drawn in the grey of "to be sorted".
UNKNOWN_COLOUR = BY_CODE["OVR"].colour


class UnknownCategoryError(ValueError):
    """A category code that is not in the taxonomy."""


def get(code: str) -> Category:
    """The category for a code (case-insensitive); UnknownCategoryError names the valid codes."""
    try:
        return BY_CODE[code.strip().upper()]
    except KeyError:
        raise UnknownCategoryError(
            f"unknown category {code!r}; use one of {', '.join(c.code for c in CATEGORIES)}"
        ) from None


def colour(code: str) -> str:
    """The category's colour; UNKNOWN_COLOUR for a code outside the taxonomy."""
    return COLOURS.get(code, UNKNOWN_COLOUR)

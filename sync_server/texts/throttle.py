"""Texts of the throttles' pages (`throttle.*`), Swedish first (registered by the package).

The JSON answers of the device and Open311 APIs are English sentences like every other `detail`; the
sign-in page keeps its own `coord.login.throttled`.
"""

from __future__ import annotations

MESSAGES: dict[str, tuple[str, str]] = {
    "throttle.owner.title": ("För många felaktiga länkar", "Too many wrong links"),
    "throttle.owner.text": (
        "Från er adress har många länkar som inte finns öppnats på kort tid. Vänta {minutes} "
        "min och försök sedan igen med länken i det senaste mejlet om fynden.",
        "Many links that do not exist were opened from your address in a short time. Wait "
        "{minutes} min, then try again with the link in the latest email about the findings.",
    ),
}

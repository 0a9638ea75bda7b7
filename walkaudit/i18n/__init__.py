"""Words in Swedish first, English second: the one mechanism and the field app's catalogues.

    translate.py  the mechanism: MESSAGES, register, t, Translator, category_label
    app.py        the app's first catalogue: enrolment, start, walks, findings, settings
    capture.py    syncing, capturing a finding, the walk's end (issue 9)
    answers.py    owners' answers, holders, follow-up walks
    refusals.py   what the server refused for good
    maps.py       maps without network

The app's catalogues are registered here, once, when the package is first imported (as the
server's are by sync_server.texts), so `t()` never finds one of the app's keys missing.
"""

from walkaudit.i18n import answers, app, capture, maps, refusals
from walkaudit.i18n.translate import (
    DEFAULT_LANGUAGE,
    LANGUAGES,
    MESSAGES,
    Translator,
    category_label,
    register,
    t,
)

CATALOGUES = (app, capture, answers, refusals, maps)

for _catalogue in CATALOGUES:
    register(_catalogue.MESSAGES)

__all__ = [
    "CATALOGUES",
    "DEFAULT_LANGUAGE",
    "LANGUAGES",
    "MESSAGES",
    "Translator",
    "category_label",
    "register",
    "t",
]

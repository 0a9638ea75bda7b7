"""The server's words: one message catalogue per area, Swedish first, English second, all
registered with the one i18n mechanism (`walkaudit.i18n`) here, once, when this package is first
imported — so a page, a mail or a PDF never finds a key missing because some other module was not
imported. The modules hold their `MESSAGES` and register nothing themselves.

    workspace   the coordinator web's frame (`coord.*`)
    admin       devices, users, Open311 keys, export (`admin.*`)
    findings    findings pages, triage, follow-ups (`findings.*`, `triage.*`, `followups.*`)
    owners      the owner page (`owner.*`)
    mail        owners' emails and the PDF protocol (`mail.*`, `pdf.*`), the mail templates
    walks       walks and the walk protocol (`walks.*`)
    stats       the lägesbild (`stats.*`)
    open311     Open311 (`open311.*`)
    throttle    the throttles' pages (`throttle.*`)

A module that shows words imports this package (`from sync_server import texts`) or one of its
modules (which imports the package first).
"""

from sync_server.texts import (
    admin,
    findings,
    mail,
    open311,
    owners,
    stats,
    throttle,
    walks,
    workspace,
)
from walkaudit import i18n

CATALOGUES = (workspace, admin, findings, owners, mail, walks, stats, open311, throttle)

for _catalogue in CATALOGUES:
    i18n.register(_catalogue.MESSAGES)

__all__ = ["CATALOGUES", "admin", "findings", "mail", "open311", "owners", "stats", "throttle",
           "walks", "workspace"]  # fmt: skip

"""The server's words: one message catalogue per area, Swedish first, English second, all
registered with the one i18n mechanism (`walkaudit.i18n`) when this package is first imported —
so a page, a mail or a PDF never finds a key missing because some other module was not imported.

    workspace   the coordinator web's frame (`coord.*`), local-time filters
    admin       devices, users, Open311 keys, export (`admin.*`)
    findings    findings pages, triage, follow-ups (`findings.*`, `triage.*`)
    owners      the owner page (`owner.*`)
    mail        owners' emails and the PDF protocol (`mail.*`, `pdf.*`), the mail templates
    walks       walks and the walk protocol (`walks.*`)
    stats       the lägesbild (`stats.*`)
    open311     Open311 (`open311.*`)
    throttle    the throttles' pages (`throttle.*`)

A module that shows words imports this package (`from sync_server import texts`).
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

__all__ = ["admin", "findings", "mail", "open311", "owners", "stats", "throttle", "walks",
           "workspace"]  # fmt: skip

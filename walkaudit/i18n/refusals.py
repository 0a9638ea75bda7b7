"""The field app's words for what the server refused for good (set aside with its reason)."""

from __future__ import annotations

MESSAGES: dict[str, tuple[str, str]] = {
    # key: (Swedish, English)
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
}

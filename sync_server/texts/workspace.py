"""The coordinator web's texts (`coord.*`), Swedish first (registered by the package).

Status, severity and category labels are the shared ones (`status.*`, `severity.*`, categories),
so the coordinator, the walker and the owner read the same words.
"""

from __future__ import annotations

from walkaudit.categories import CATEGORIES

CATEGORY_ORDER = CATEGORIES


MESSAGES: dict[str, tuple[str, str]] = {
    "coord.brand": ("Trygghetsvandring – samordning", "Safety walks – coordination"),
    "coord.nav.findings": ("Fynd", "Findings"),
    "coord.nav.map": ("Karta", "Map"),
    "coord.nav.triage": ("Att fördela", "Triage"),
    "coord.nav.walks": ("Vandringar", "Walks"),
    "coord.nav.followups": ("Uppföljning", "Follow-up"),
    "coord.nav.stats": ("Lägesbild", "Overview"),
    "coord.nav.devices": ("Enheter", "Devices"),
    "coord.nav.users": ("Användare", "Users"),
    "coord.nav.signout": ("Logga ut", "Sign out"),
    "coord.nav.menu": ("Meny", "Menu"),
    "coord.switch_language": ("In English", "På svenska"),
    "coord.role.admin": ("Administratör", "Administrator"),
    "coord.role.coordinator": ("Samordnare", "Coordinator"),
    "coord.role.viewer": ("Läsbehörighet", "Read only"),
    # sign-in
    "coord.login.title": ("Logga in", "Sign in"),
    "coord.login.name": ("Användarnamn", "User name"),
    "coord.login.password": ("Lösenord", "Password"),
    "coord.login.submit": ("Logga in", "Sign in"),
    "coord.login.bad": ("Fel användarnamn eller lösenord.", "Wrong user name or password."),
    "coord.login.throttled": (
        "För många misslyckade försök. Försök igen om {minutes} minuter.",
        "Too many failed attempts. Try again in {minutes} minutes.",
    ),
    "coord.login.expired": (
        "Du har loggats ut. Logga in igen för att fortsätta.",
        "You have been signed out. Sign in again to continue.",
    ),
    "coord.login.missing": ("Fyll i användarnamn och lösenord.", "Enter user name and password."),
    "coord.signed_out": ("Du är utloggad.", "You are signed out."),
    # refusals
    "coord.refused.title": ("Inte tillåtet", "Not allowed"),
    "coord.refused.role": (
        "Din roll får inte göra detta. Be en samordnare eller administratör.",
        "Your role may not do this. Ask a coordinator or an administrator.",
    ),
    "coord.refused.csrf": (
        "Formuläret är för gammalt eller kom inte härifrån. Ladda om sidan och försök igen – "
        "inget har ändrats.",
        "The form is too old or did not come from here. Reload the page and try again – "
        "nothing was changed.",
    ),
    "coord.back_to_start": ("Till startsidan", "To the start page"),
    "coord.not_found.title": ("Finns inte", "Not found"),
    "coord.not_found.finding": (
        "Det finns inget fynd med det id:t.",
        "There is no finding with that id.",
    ),
    "coord.not_found.walk": (
        "Det finns ingen vandring med det id:t.",
        "There is no walk with that id.",
    ),
    "coord.not_found.followup": (
        "Det finns ingen uppföljning med det id:t.",
        "There is no follow-up with that id.",
    ),
    # common words
    "coord.all": ("Alla", "All"),
    "coord.none": ("–", "–"),
    "coord.save": ("Spara", "Save"),
    "coord.cancel": ("Avbryt", "Cancel"),
    "coord.filter": ("Filtrera", "Filter"),
    "coord.clear": ("Rensa", "Clear"),
    "coord.yes": ("Ja", "Yes"),
    "coord.no": ("Nej", "No"),
    "coord.previous": ("Föregående", "Previous"),
    "coord.next": ("Nästa", "Next"),
    "coord.photo_alt": ("Foto av fyndet", "Photo of the finding"),
    "coord.no_photo": ("Inget foto", "No photo"),
}

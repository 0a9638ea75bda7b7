"""Texts of the coordinator web's admin pages (`admin.*`): devices, users, Open311 keys, export.

Swedish first, English second; registered by the package (`sync_server.texts`).
Notices that travel in a redirect's `?notice=` are listed in NOTICES: a page shows only those,
so a crafted link cannot put arbitrary words on it.
"""

from __future__ import annotations

MESSAGES: dict[str, tuple[str, str]] = {
    # ---- devices ----
    "admin.devices.title": ("Enheter", "Devices"),
    "admin.devices.intro": (
        "Telefoner (och kommandoradsklienter) ansluter till servern med en engångskod. En "
        "återkallad enhet kan inte längre synka; det den redan har skickat finns kvar här.",
        "Phones (and command-line clients) connect to the server with a one-time code. A revoked "
        "device can no longer sync; what it has already sent stays here.",
    ),
    "admin.devices.new": ("Ny engångskod", "New enrolment code"),
    "admin.devices.walker": ("Vem ska använda enheten?", "Who will use the device?"),
    "admin.devices.walker_hint": (
        "Namnet visas i enhetslistan, t.ex. ”Anna Berg, kommunpolis”.",
        "The name is shown in the list of devices, e.g. “Anna Berg, community police”.",
    ),
    "admin.devices.police": (
        "Polis/EST – ser ordningsstörningar",
        "Police/EST – sees disorder findings",
    ),
    "admin.devices.police_hint": (
        "Bara för polisen eller EST: enheten får se andras fynd i kategorin Ordningsstörning "
        "(ORD), med anteckningar och foton. Andra enheter ser dem aldrig.",
        "Only for the police or EST: the device sees other walkers' disorder findings (ORD), "
        "with their notes and photos. Other devices never see them.",
    ),
    "admin.devices.police_badge": ("Polis/EST", "Police/EST"),
    "admin.devices.create": ("Skapa kod", "Create code"),
    "admin.devices.name_missing": (
        "Skriv vem koden är till, t.ex. ”Anna Berg, kommunpolis”.",
        "Enter who the code is for, e.g. “Anna Berg, community police”.",
    ),
    "admin.devices.name_too_long": (
        "Namnet får vara högst {n} tecken.",
        "The name may have at most {n} characters.",
    ),
    "admin.devices.list": ("Anslutna enheter", "Enrolled devices"),
    "admin.devices.none": (
        "Inga enheter ännu. Skapa en kod ovan och anslut den första telefonen.",
        "No devices yet. Create a code above and connect the first phone.",
    ),
    "admin.devices.col.name": ("Namn", "Name"),
    "admin.devices.col.enrolled": ("Ansluten", "Enrolled"),
    "admin.devices.col.last_seen": ("Senast sedd", "Last seen"),
    "admin.devices.col.state": ("Status", "State"),
    "admin.devices.col.created": ("Skapad", "Created"),
    "admin.devices.col.expires": ("Giltig till", "Valid until"),
    "admin.devices.active": ("Aktiv", "Active"),
    "admin.devices.revoked_at": ("Återkallad {when}", "Revoked {when}"),
    "admin.devices.never": ("aldrig", "never"),
    "admin.devices.revoke": ("Återkalla …", "Revoke …"),
    "admin.devices.revoke_explain": (
        "Enheten kan inte längre synka. Det den redan skickat finns kvar; fynd som ännu inte "
        "synkats ligger kvar på telefonen tills den ansluts igen med en ny kod.",
        "The device can no longer sync. What it has sent stays; findings not yet synced stay on "
        "the phone until it is connected again with a new code.",
    ),
    "admin.devices.revoke_confirm": ("Ja, återkalla {name}", "Yes, revoke {name}"),
    "admin.devices.revoked": (
        "Enheten är återkallad och kan inte längre synka.",
        "The device is revoked and can no longer sync.",
    ),
    "admin.devices.already_revoked": (
        "Enheten var redan återkallad – inget ändrades.",
        "The device was already revoked – nothing changed.",
    ),
    "admin.devices.unknown": (
        "Det finns ingen enhet med det id:t – listan nedan visar alla enheter.",
        "There is no device with that id – the list below shows every device.",
    ),
    "admin.devices.pending": ("Koder som inte har använts", "Codes not used yet"),
    "admin.devices.pending_explain": (
        "Varje kod ansluter en enhet och slutar gälla vid tiden som anges.",
        "Each code connects one device and stops working at the time shown.",
    ),
    # ---- the code, shown once ----
    "admin.code.title": ("Engångskod för {name}", "Enrolment code for {name}"),
    "admin.code.once": (
        "Koden visas bara nu. Låt personen skanna QR-koden eller skriv av koden innan du "
        "lämnar sidan.",
        "The code is shown only now. Let the person scan the QR code or copy the code before "
        "you leave this page.",
    ),
    "admin.code.police": (
        "Koden ansluter en enhet för polis/EST: den ser ordningsstörningar (ORD).",
        "This code enrols a police/EST device: it sees disorder findings (ORD).",
    ),
    "admin.code.code": ("Engångskod", "One-time code"),
    "admin.code.server": ("Serveradress", "Server address"),
    "admin.code.expires": (
        "Giltig till {when}, för en enda enhet.",
        "Valid until {when}, for one device.",
    ),
    "admin.code.steps": ("Så ansluter telefonen", "How the phone connects"),
    "admin.code.step1": (
        "Öppna appen Trygghetsvandring och välj ”{screen}”.",
        "Open the Safety walk app and choose “{screen}”.",
    ),
    "admin.code.step2": (
        "Skriv serveradressen och koden. Bindestreck och små bokstäver går också bra.",
        "Enter the server address and the code. Dashes and lower case work too.",
    ),
    "admin.code.qr_caption": (
        "Skanna med telefonens kamera: en sida öppnas med adressen och koden i stor stil, att "
        "skriva av i appen.",
        "Scan with the phone's camera: a page opens with the address and the code in large "
        "type, to copy into the app.",
    ),
    "admin.code.qr_label": (
        "QR-kod: länk till en sida med serveradressen och koden",
        "QR code: a link to a page with the server address and the code",
    ),
    "admin.code.cli": ("Med kommandoradsklienten:", "With the command-line client:"),
    "admin.code.back": ("Tillbaka till enheterna", "Back to the devices"),
    # ---- the public page the QR code opens ----
    "admin.enrol.title": ("Anslut telefonen", "Connect the phone"),
    "admin.enrol.intro": (
        "Skriv in de här uppgifterna i appen Trygghetsvandring under ”{screen}”.",
        "Enter these in the Safety walk app under “{screen}”.",
    ),
    "admin.enrol.once": (
        "Koden fungerar en gång, för en enhet, och bara en begränsad tid.",
        "The code works once, for one device, and only for a limited time.",
    ),
    "admin.enrol.no_code": (
        "Länken saknar en giltig kod. Skanna QR-koden igen, eller be samordnaren om en ny kod.",
        "The link has no valid code. Scan the QR code again, or ask the coordinator for a new "
        "code.",
    ),
    "admin.enrol.noscript": (
        "Koden står i länken, efter tecknet #.",
        "The code is in the link, after the # sign.",
    ),
    # ---- users ----
    "admin.users.title": ("Användare", "Users"),
    "admin.users.list": ("Användare av samordningswebben", "Users of the coordination web"),
    "admin.users.col.name": ("Användarnamn", "User name"),
    "admin.users.col.role": ("Roll", "Role"),
    "admin.users.col.email": ("E-post", "Email"),
    "admin.users.col.created": ("Skapad", "Created"),
    "admin.users.col.state": ("Status", "State"),
    "admin.users.active": ("Aktiv", "Active"),
    "admin.users.disabled_at": ("Avstängd {when}", "Disabled {when}"),
    "admin.users.you": ("(du)", "(you)"),
    "admin.users.disable": ("Stäng av", "Disable"),
    "admin.users.enable": ("Aktivera", "Enable"),
    "admin.users.not_self": (
        "Du kan inte stänga av dig själv. Be en annan administratör om det behövs.",
        "You cannot disable yourself. Ask another administrator if it is needed.",
    ),
    "admin.users.disabled": (
        "Användaren är avstängd och utloggad.",
        "The user is disabled and signed out.",
    ),
    "admin.users.enabled": ("Användaren kan logga in igen.", "The user can sign in again."),
    "admin.users.already_disabled": (
        "Användaren var redan avstängd – inget ändrades.",
        "The user was already disabled – nothing changed.",
    ),
    "admin.users.already_enabled": (
        "Användaren var redan aktiv – inget ändrades.",
        "The user was already active – nothing changed.",
    ),
    "admin.users.unknown": (
        "Det finns ingen användare med det id:t – listan nedan visar alla användare.",
        "There is no user with that id – the list below shows every user.",
    ),
    "admin.users.add": ("Ny användare", "New user"),
    "admin.users.name": ("Användarnamn", "User name"),
    "admin.users.name_hint": ("Utan mellanslag, t.ex. anna.berg", "No spaces, e.g. anna.berg"),
    "admin.users.role": ("Roll", "Role"),
    "admin.users.role_hint": (
        "Administratör: allt, även användare och nycklar. Samordnare: enheter, vandringar och "
        "fynd. Läsbehörighet: ser allt, ändrar inget.",
        "Administrator: everything, users and keys too. Coordinator: devices, walks and "
        "findings. Read only: sees everything, changes nothing.",
    ),
    "admin.users.choose_role": ("Välj roll …", "Choose a role …"),
    "admin.users.email": ("E-post (valfri)", "Email (optional)"),
    "admin.users.password": ("Lösenord (minst {n} tecken)", "Password (at least {n} characters)"),
    "admin.users.password2": ("Samma lösenord igen", "The same password again"),
    "admin.users.submit": ("Lägg till användaren", "Add the user"),
    "admin.users.added": (
        "Användaren är tillagd och kan logga in.",
        "The user is added and can sign in.",
    ),
    "admin.users.password_cleared": (
        "Lösenordet fylls av säkerhetsskäl inte i igen – skriv det på nytt.",
        "For security the password is not filled in again – type it anew.",
    ),
    "admin.users.err.name": (
        "Användarnamnet ska vara 1–100 tecken utan mellanslag.",
        "The user name must be 1–100 characters without spaces.",
    ),
    "admin.users.err.taken": (
        "Det finns redan en användare som heter {name}.",
        "There is already a user called {name}.",
    ),
    "admin.users.err.role": ("Välj en roll.", "Choose a role."),
    "admin.users.err.email": (
        "E-postadressen ser inte ut som en adress (namn@exempel.se).",
        "The email address does not look like an address (name@example.org).",
    ),
    "admin.users.err.short": (
        "Lösenordet ska ha minst {n} tecken.",
        "The password must have at least {n} characters.",
    ),
    "admin.users.err.long": (
        "Lösenordet får ha högst {n} tecken.",
        "The password may have at most {n} characters.",
    ),
    "admin.users.err.blank": (
        "Lösenordet får inte bestå av bara mellanslag.",
        "The password must not be only spaces.",
    ),
    "admin.users.err.mismatch": (
        "Lösenorden är inte lika. Skriv samma lösenord i båda fälten.",
        "The passwords differ. Type the same password in both fields.",
    ),
    # ---- Open311 API keys ----
    "admin.keys.title": ("Open311-nycklar", "Open311 API keys"),
    "admin.keys.intro": (
        "Ett annat system, t.ex. en fastighetsägares felanmälningssystem, läser fynden och "
        "svarar på dem via Open311 (/open311/v2/) med en nyckel. En nyckel som hör till en "
        "ägare ser och besvarar bara den ägarens fynd; en nyckel utan ägare (kommunens eget "
        "system) ser alla.",
        "Another system, such as a property owner's maintenance system, reads the findings and "
        "answers them over Open311 (/open311/v2/) with a key. A key that belongs to an owner "
        "sees and answers only that owner's findings; a key without an owner (the "
        "municipality's own system) sees them all.",
    ),
    "admin.keys.none": ("Inga nycklar ännu.", "No keys yet."),
    "admin.keys.col.name": ("Namn", "Name"),
    "admin.keys.col.owner": ("Ägare", "Owner"),
    "admin.keys.col.created": ("Skapad", "Created"),
    "admin.keys.col.last_used": ("Senast använd", "Last used"),
    "admin.keys.col.state": ("Status", "State"),
    "admin.keys.no_owner": ("ingen ägare – ser alla fynd", "no owner – sees every finding"),
    "admin.keys.kind.owner": ("Fastighetsägare och förvaltare", "Property owners and managers"),
    "admin.keys.kind.municipality": ("Kommuner", "Municipalities"),
    "admin.keys.kind.police": ("Polisen", "The police"),
    "admin.keys.taken": (
        "Det finns redan en aktiv nyckel som heter {name}. Välj ett annat namn.",
        "There is already an active key called {name}. Choose another name.",
    ),
    "admin.keys.active": ("Aktiv", "Active"),
    "admin.keys.revoked_at": ("Återkallad {when}", "Revoked {when}"),
    "admin.keys.new": ("Ny nyckel", "New key"),
    "admin.keys.name": ("Vem eller vilket system använder nyckeln?", "Who or what uses the key?"),
    "admin.keys.owner": ("Ägare (valfri)", "Owner (optional)"),
    "admin.keys.create": ("Skapa nyckel", "Create key"),
    "admin.keys.name_missing": (
        "Skriv vem nyckeln är till, t.ex. ”Bostadsbolagets felanmälan”.",
        "Enter who the key is for, e.g. “The housing company's maintenance system”.",
    ),
    "admin.keys.unknown_owner": (
        "Den ägaren finns inte i ägarregistret. Välj en i listan.",
        "That owner is not in the owner registry. Choose one from the list.",
    ),
    "admin.keys.created": ("Ny nyckel för {name}", "New key for {name}"),
    "admin.keys.once": (
        "Nyckeln visas bara nu. Kopiera den till systemet som ska använda den; servern sparar "
        "bara ett fingeravtryck av den.",
        "The key is shown only now. Copy it into the system that will use it; the server keeps "
        "only a fingerprint of it.",
    ),
    "admin.keys.revoke": ("Återkalla …", "Revoke …"),
    "admin.keys.revoke_confirm": ("Ja, återkalla {name}", "Yes, revoke {name}"),
    "admin.keys.revoked": (
        "Nyckeln är återkallad och fungerar inte längre.",
        "The key is revoked and no longer works.",
    ),
    "admin.keys.already_revoked": (
        "Nyckeln var redan återkallad – inget ändrades.",
        "The key was already revoked – nothing changed.",
    ),
    "admin.keys.unknown": (
        "Det finns ingen nyckel med det id:t – listan visar alla nycklar.",
        "There is no key with that id – the list shows every key.",
    ),
    # ---- export ----
    "admin.export.title": ("Export", "Export"),
    "admin.export.bad_filter": (
        "Exporten kunde inte göras: ett filter går inte att använda. Ändra filtret i fyndlistan "
        "och exportera igen.",
        "The export could not be made: a filter cannot be used. Change the filter in the list of "
        "findings and export again.",
    ),
}

# Keys a page may show from `?notice=` (see the module docstring).
NOTICES = frozenset(
    {
        "admin.devices.revoked",
        "admin.devices.already_revoked",
        "admin.users.disabled",
        "admin.users.enabled",
        "admin.users.already_disabled",
        "admin.users.already_enabled",
        "admin.users.added",
        "admin.keys.revoked",
        "admin.keys.already_revoked",
    }
)

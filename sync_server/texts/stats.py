"""The lägesbild's texts (`stats.*`): the statistics page, the weekly summary, its PDF and email.

Swedish first, English second, registered by the package (`sync_server.texts`);
categories, statuses and severities use the shared labels.
"""

from __future__ import annotations

MONTHS = (
    ("jan", "Jan"), ("feb", "Feb"), ("mar", "Mar"), ("apr", "Apr"), ("maj", "May"),
    ("jun", "Jun"), ("jul", "Jul"), ("aug", "Aug"), ("sep", "Sep"), ("okt", "Oct"),
    ("nov", "Nov"), ("dec", "Dec"),
)  # fmt: skip

MESSAGES: dict[str, tuple[str, str]] = {
    **{f"stats.month.{k + 1}": pair for k, pair in enumerate(MONTHS)},
    # ---- the statistics page ----
    "stats.title": ("Lägesbild och statistik", "Situation and statistics"),
    "stats.intro": (
        "Fynd per kategori och område över tid, hur ansvariga svarar och åtgärdar, och var "
        "fynden ligger. Siffrorna följer filtret – samma urval som fyndlistan.",
        "Findings per category and area over time, how owners answer and fix, and where the "
        "findings are. The numbers follow the filter – the same selection as the findings list.",
    ),
    "stats.filter.period": ("Period", "Period"),
    "stats.period.month": ("Per månad", "Per month"),
    "stats.period.week": ("Per vecka", "Per week"),
    "stats.filter.from": ("Från", "From"),
    "stats.filter.to": ("Till", "To"),
    "stats.filter.area": ("Område", "Area"),
    "stats.filter.category": ("Kategori", "Category"),
    "stats.filter.apply": ("Visa", "Show"),
    "stats.filter.reset": ("Återställ", "Reset"),
    "stats.filter.error": (
        "Filtret kunde inte användas ({reason}). Visar standardurvalet.",
        "The filter could not be used ({reason}). Showing the default selection.",
    ),
    "stats.weeks_too_many": (
        "Perioden är för lång för att visas per vecka ({n} veckor); visas per månad.",
        "The range is too long to show per week ({n} weeks); shown per month.",
    ),
    "stats.range": ("{first} – {last}", "{first} – {last}"),
    "stats.kpi.findings": ("Fynd i urvalet", "Findings selected"),
    "stats.kpi.open": ("Öppna nu", "Open now"),
    "stats.kpi.overdue": ("Försenade nu", "Overdue now"),
    "stats.kpi.done": ("Åtgärdade eller avslutade", "Fixed or closed"),
    "stats.kpi.ack": ("Median dagar till bekräftelse", "Median days to acknowledge"),
    "stats.kpi.fix": ("Median dagar till åtgärd", "Median days to fix"),
    "stats.days": ("{days} d", "{days} d"),
    "stats.no_value": ("–", "–"),
    "stats.empty": (
        "Inga fynd i urvalet. Ändra filtret eller vänta på nästa vandring.",
        "No findings in this selection. Change the filter or wait for the next walk.",
    ),
    "stats.h.time": ("Fynd över tid per kategori", "Findings over time by category"),
    "stats.h.areas": ("Fynd per område", "Findings by area"),
    "stats.h.area_time": ("Områden över tid", "Areas over time"),
    "stats.h.owners": (
        "Ansvariga: öppna, försenade och svarstider",
        "Owners: open, overdue and response times",
    ),
    "stats.h.heat": ("Var fynden finns", "Where the findings are"),
    "stats.show_table": ("Visa som tabell", "Show as a table"),
    "stats.chart.time.title": (
        "Fynd per {period} och kategori",
        "Findings per {period} and category",
    ),
    "stats.chart.time.desc": (
        "Staplade staplar: en stapel per {period} från {first} till {last}, uppdelad på "
        "kategori. Totalt {total} fynd; flest {max_label} med {max}.",
        "Stacked bars: one bar per {period} from {first} to {last}, split by category. "
        "{total} findings in all; most in {max_label} with {max}.",
    ),
    "stats.chart.areas.title": ("Fynd per område", "Findings by area"),
    "stats.chart.areas.desc": (
        "Liggande staplar: ett område per rad, mörk del öppna fynd, ljus del åtgärdade eller "
        "avslutade. Flest i {top} med {n}.",
        "Horizontal bars: one area per row, dark part open findings, light part fixed or "
        "closed. Most in {top} with {n}.",
    ),
    "stats.unit.month": ("månad", "month"),
    "stats.unit.week": ("vecka", "week"),
    "stats.week_label": ("v{week}", "w{week}"),
    "stats.week_label_year": ("v{week} {year}", "w{week} {year}"),
    "stats.legend": ("Kategorier", "Categories"),
    "stats.legend.open": ("Öppna", "Open"),
    "stats.legend.done": ("Åtgärdade/avslutade", "Fixed/closed"),
    "stats.col.period": ("Period", "Period"),
    "stats.col.category": ("Kategori", "Category"),
    "stats.col.area": ("Område", "Area"),
    "stats.col.total": ("Totalt", "Total"),
    "stats.col.open": ("Öppna", "Open"),
    "stats.col.overdue": ("Försenade", "Overdue"),
    "stats.col.owner": ("Ansvarig", "Owner"),
    "stats.col.ack": ("Median dagar till bekräftelse", "Median days to acknowledge"),
    "stats.col.fix": ("Median dagar till åtgärd", "Median days to fix"),
    "stats.col.n": ("(av {n})", "(of {n})"),
    "stats.no_area": ("–", "–"),
    "stats.no_area_note": (
        "”–” är fynd utan vandring eller från en vandring utan område.",
        "“–” are findings without a walk or from a walk without an area.",
    ),
    "stats.owner.none": ("Utan ansvarig (att fördela)", "No owner (to be sorted)"),
    "stats.owners.note": (
        "Öppna och försenade är läget i dag ({today}) för fynden i urvalet; försenad = öppen "
        "och sista dag passerad. Dagar räknas från att fyndet noterades till första "
        "bekräftelsen respektive senaste åtgärden; siffran i parentes är hur många fynd "
        "medianen bygger på. Klicka på en siffra för att se fynden.",
        "Open and overdue are as of today ({today}) for the findings selected; overdue = open "
        "with its date passed. Days are counted from when the finding was noted to the first "
        "acknowledgement and to the latest fix; the number in brackets is how many findings "
        "the median rests on. Click a number to see the findings.",
    ),
    "stats.heat.note": (
        "Färgen visar hur många fynd som ligger nära varandra, från få (blått) till många "
        "(rött). Punkterna är sammanslagna i rutor om cirka {cell} m.",
        "The colour shows how many findings lie close together, from few (blue) to many "
        "(red). The points are merged in squares of about {cell} m.",
    ),
    "stats.heat.label": ("Värmekarta över fynden i urvalet", "Heat map of the findings selected"),
    "stats.heat.noscript": (
        "Värmekartan behöver JavaScript. Tabellerna ovan visar samma urval.",
        "The heat map needs JavaScript. The tables above show the same selection.",
    ),
    "stats.to_summary": ("Veckans lägesbild →", "This week's situation report →"),
    "stats.to_findings": ("Visa fynden i listan", "Show the findings in the list"),
    # ---- the weekly summary (page, PDF, email) ----
    "stats.summary.title": ("Lägesbild vecka {week} {year}", "Situation report week {week} {year}"),
    "stats.summary.nav": ("Veckans lägesbild", "Weekly situation report"),
    "stats.summary.period": ("{start} – {end}", "{start} – {end}"),
    "stats.summary.intro": (
        "Underlag för kommunens lägesbild och åtgärdsplan: vad som noterats under veckan, vad "
        "som åtgärdats och vad som väntar. Läget för öppna och försenade fynd gäller {today}.",
        "Input for the municipality's situation report and action plan: what was noted during "
        "the week, what was fixed and what is waiting. Open and overdue findings are as of "
        "{today}.",
    ),
    "stats.summary.week": ("Vecka", "Week"),
    "stats.summary.choose": ("Visa veckan", "Show the week"),
    "stats.summary.previous": ("← Föregående vecka", "← Previous week"),
    "stats.summary.next": ("Nästa vecka →", "Next week →"),
    "stats.summary.bad_week": (
        "Veckan ska skrivas som 2026-W05. Visar senaste hela veckan.",
        "Write the week like 2026-W05. Showing the last full week.",
    ),
    "stats.summary.k.new": ("Nya fynd", "New findings"),
    "stats.summary.k.new_previous": ("förra veckan {n}", "previous week {n}"),
    "stats.summary.k.sent": ("Skickade till ansvarig", "Sent to the owner"),
    "stats.summary.k.acknowledged": ("Bekräftade av ansvarig", "Acknowledged by the owner"),
    "stats.summary.k.fixed": ("Åtgärdade", "Fixed"),
    "stats.summary.k.open": ("Öppna nu", "Open now"),
    "stats.summary.k.overdue": ("Försenade nu", "Overdue now"),
    "stats.summary.k.triage": ("Utan ansvarig nu", "Without owner now"),
    "stats.summary.h.new": ("Nya fynd under veckan", "New findings this week"),
    "stats.summary.h.new_category": ("Per kategori", "By category"),
    "stats.summary.h.new_area": ("Per område", "By area"),
    "stats.summary.h.fixed": ("Åtgärdat under veckan", "Fixed this week"),
    "stats.summary.h.overdue": ("Försenat per ansvarig", "Overdue by owner"),
    "stats.summary.h.oldest": ("Äldsta öppna fynd", "Oldest open findings"),
    "stats.summary.h.places": ("Platser med flest nya fynd", "Places with the most new findings"),
    "stats.summary.none_new": ("Inga nya fynd under veckan.", "No new findings this week."),
    "stats.summary.none_fixed": ("Inget åtgärdades under veckan.", "Nothing was fixed this week."),
    "stats.summary.none_overdue": ("Inget är försenat.", "Nothing is overdue."),
    "stats.summary.none_open": ("Inga öppna fynd.", "No open findings."),
    "stats.summary.col.count": ("Antal", "Count"),
    "stats.summary.col.days_to_fix": ("Dagar till åtgärd", "Days to fix"),
    "stats.summary.col.oldest_deadline": ("Äldsta sista dag", "Oldest date"),
    "stats.summary.col.noted": ("Noterat", "Noted"),
    "stats.summary.col.age": ("Ålder (dagar)", "Age (days)"),
    "stats.summary.col.deadline": ("Sista dag", "Date to act by"),
    "stats.summary.col.finding": ("Fynd", "Finding"),
    "stats.summary.col.open_now": ("Öppna nu i området", "Open now in the area"),
    "stats.summary.overdue_badge": ("Försenad", "Overdue"),
    "stats.summary.more_fixed": ("… och {n} till.", "… and {n} more."),
    "stats.summary.pdf": ("Ladda ner som PDF", "Download as PDF"),
    "stats.summary.h.send": ("Skicka lägesbilden med e-post", "Send the report by email"),
    "stats.summary.recipients": (
        "Mottagare (en eller flera adresser)",
        "Recipients (one or more addresses)",
    ),
    "stats.summary.recipients_help": (
        "Skilj adresserna åt med komma eller radbrytning. Varje adress får veckans lägesbild "
        "en gång, med PDF:en bifogad.",
        "Separate the addresses with commas or line breaks. Each address gets the week's "
        "report once, with the PDF attached.",
    ),
    "stats.summary.send": ("Skicka", "Send"),
    "stats.summary.sent_log": ("Skickat för veckan", "Sent for this week"),
    "stats.summary.state.pending": ("i kö", "queued"),
    "stats.summary.state.sent": ("levererat", "delivered"),
    "stats.summary.state.failed": ("misslyckades", "failed"),
    "stats.summary.notice.sent": (
        "Lägesbilden skickas nu – se listan under Skickat.",
        "The report is being sent now – see the list under Sent.",
    ),
    "stats.summary.notice.already": (
        "Veckans lägesbild har redan skickats till de adresserna – inget skickades igen.",
        "This week's report was already sent to those addresses – nothing was sent again.",
    ),
    "stats.summary.notice.sent_some": (
        "Lägesbilden skickas till de nya adresserna. De övriga hade redan fått den – till dem "
        "skickades inget igen.",
        "The report is being sent to the new addresses. The others already had it – nothing "
        "was sent to them again.",
    ),
    "stats.summary.no_recipients": (
        "Skriv minst en e-postadress.",
        "Enter at least one email address.",
    ),
    "stats.summary.bad_address": (
        "Det här ser inte ut som e-postadresser: {bad}. Inget skickades.",
        "These do not look like email addresses: {bad}. Nothing was sent.",
    ),
    "stats.summary.too_many": (
        "Högst {n} mottagare åt gången. Inget skickades.",
        "At most {n} recipients at a time. Nothing was sent.",
    ),
    "stats.summary.mail.subject": (
        "Lägesbild trygghetsvandringar vecka {week} {year}",
        "Safety walks situation report week {week} {year}",
    ),
    "stats.summary.mail.heading": ("Lägesbild vecka {week}", "Situation report week {week}"),
    "stats.summary.mail.open_page": ("Öppna lägesbilden", "Open the report"),
    "stats.summary.mail.pdf": (
        "Hela lägesbilden finns bifogad som PDF.",
        "The whole report is attached as a PDF.",
    ),
    "stats.summary.mail.footer": (
        "Skickad från walkaudit av {user}.",
        "Sent from walkaudit by {user}.",
    ),
    "stats.summary.pdf.filename": (
        "lagesbild-{year}-v{week}.pdf",
        "situation-report-{year}-w{week}.pdf",
    ),
    "stats.summary.pdf.page": ("Sida {page} av {pages}", "Page {page} of {pages}"),
    "stats.summary.pdf.made": ("Skapad {when}", "Made {when}"),
}

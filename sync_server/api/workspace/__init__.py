"""The coordinator web under /c/: server-rendered pages for viewers, coordinators and admins.

    pages            the plumbing: who is signed in, roles, CSRF-checked forms, language,
                     rendering a page (`render`), `install(app)` for templates and refusals
    session          signing in and out, the start page
    findings         the filtered list, the map, one finding's page, staff photos
    finding_actions  a coordinator's actions on one finding (assign, status, priority, …)
    followups        triage and follow-up walks, failed mails
    devices          enrolment codes with a QR code, the device list, revoking
    users            users and Open311 API keys (admins)
    export           the filtered findings as CSV or GeoJSON

Each area's logic lives in the domain packages (`sync_server.workspace`, `owners`, `walks`, …);
these modules read the request, call it and render the answer. The walks and the lägesbild
pages are `sync_server.api.walks` and `sync_server.api.stats`, named after their domains.
"""

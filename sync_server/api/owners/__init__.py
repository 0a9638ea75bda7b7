"""The owner page: `/o/{token}` — an owner's findings and answers, with no account.

    GET  /o/{token}                              the page (?lang=sv|en; after an answer ?done=…&f=…)
    GET  /o/{token}/photos/{sha256}              a photo of one of this owner's findings, else 404
    POST /o/{token}/findings/{id}/acknowledge    "we have seen it"
    POST /o/{token}/findings/{id}/planned        date (required, not in the past), comment
    POST /o/{token}/findings/{id}/fixed          comment, photo (multipart, optional)
    POST /o/{token}/findings/{id}/not-ours       reason (required) → coordinator's triage
    GET  /o/{token}/findings/{id}/{action}       303 to the page (a reload after a POST)

    routes    the routes above, `install(app)`, opening a link (throttled per address)
    answers   an answer's note and the photo of a fix, as the form sent them
    pages     rendering: the page, the message pages, the "Tack!" redirect, the headers

Server-rendered HTML, no JavaScript, CSS from /static. Every answer is an event in the finding's
history (`sync_server.owners.page`), then 303 back to the page with a "Tack!" (post/redirect/get).
Link errors are pages in Swedish and English: 404 unknown, 410 expired or withdrawn. A finding or
photo of another owner is 404, exactly like one that does not exist. Unknown links are counted per
address (`core.throttle`): past 30 in 15 minutes the address gets 429 pages instead of 404
with Retry-After. A real link from that address still opens (its lookup costs what the unknown
one's does, and people behind one office NAT must not be locked out by a guesser among them).

Why no CSRF token: the only credential is the token in the URL path. The browser attaches nothing
by itself (no cookie, no HTTP auth), so a foreign site can only post to a link it already knows —
and whoever knows the link can use it anyway. Keep it that way: never authorise by cookie here.
What a form does carry is an event id made at render time: a double submit records one event.

Why the token stays out of logs and Referer headers: it is a bearer credential. Logs see
`/o/[link 1a2b3c4d]` (`sync_server.api.redaction`, installed by the app for every logger that
sees paths); every answer carries `Referrer-Policy: no-referrer`, so the map link does not hand
the token on.
"""

from sync_server.api.owners.routes import MAX_FIX_PHOTO_BYTES, install, router

__all__ = ["MAX_FIX_PHOTO_BYTES", "install", "router"]

"""The owner page: `/o/{token}` — an owner's findings and answers, with no account.

    GET  /o/{token}                              the page (?lang=sv|en; after an answer ?done=…&f=…)
    GET  /o/{token}/photos/{sha256}              a photo of one of this owner's findings, else 404
    POST /o/{token}/findings/{id}/acknowledge    "we have seen it"
    POST /o/{token}/findings/{id}/planned        date (required, not in the past), comment
    POST /o/{token}/findings/{id}/fixed          comment, photo (multipart, optional)
    POST /o/{token}/findings/{id}/not-ours       reason (required) → coordinator's triage
    GET  /o/{token}/findings/{id}/{action}       303 to the page (a reload after a POST)

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

Why the token stays out of logs and Referer headers: it is a bearer credential. Access and error
logs see `/o/[link 1a2b3c4d]` (the first hex digits of the sha256 that `owner_links` stores, so an
operator can still find the link) via `RedactOwnerTokens` on uvicorn's and the server's loggers;
every answer carries `Referrer-Policy: no-referrer`, so the map link does not hand the token on.
"""

from __future__ import annotations

import hashlib
import logging
import re
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date, datetime
from pathlib import Path
from typing import Annotated, Any

from fastapi import APIRouter, FastAPI, Query, Request
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import FileResponse, HTMLResponse, RedirectResponse, Response
from fastapi.staticfiles import StaticFiles
from jinja2 import Environment, FileSystemLoader, StrictUndefined, select_autoescape
from starlette.datastructures import UploadFile
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.formparsers import MultiPartException

from sync_server import texts as _catalogues  # noqa: F401 - every catalogue, registered once
from sync_server.api.client import client_address
from sync_server.api.deps import ServicesDep
from sync_server.core.blobs import BlobBusy
from sync_server.core.files import STATIC, TEMPLATES
from sync_server.core.history import SERVER_ACTOR
from sync_server.core.throttle import address_key, minutes
from sync_server.core.time import SWEDEN, today_in_sweden
from sync_server.owners import page as core
from sync_server.owners.links import (
    ExpiredLink,
    LinkError,
    OwnerLink,
    RevokedLink,
    UnknownLink,
    resolve_link,
)
from walkaudit import i18n
from walkaudit.media import (
    HeifUnsupportedError,
    NotAnImageError,
    PhotoError,
    PhotoTooLargeError,
    process_photo,
)
from walkaudit.model import SHA256_PATTERN, EventKind, new_id

router = APIRouter(tags=["owner page"], include_in_schema=False)

MAX_FIX_PHOTO_BYTES = 20 * 1024 * 1024
_FORM_SLACK = 64 * 1024  # multipart boundaries, headers and the text fields around the photo
_DRAIN_LIMIT_FACTOR = 4  # read (and drop) an oversized body up to this × the limit: see _too_big
ACTIONS = {"acknowledge": EventKind.ACKNOWLEDGED, "planned": EventKind.PLANNED,
           "fixed": EventKind.FIXED, "not-ours": EventKind.NOT_OURS}  # fmt: skip
_SHA256 = re.compile(SHA256_PATTERN)
_HEADERS = {
    "Referrer-Policy": "no-referrer",  # the token is in the URL: never send it on
    "Cache-Control": "no-store",  # a shared or lost phone must not keep the owner's findings
    "X-Robots-Tag": "noindex, nofollow",
    "X-Content-Type-Options": "nosniff",
    "Content-Security-Policy": "default-src 'none'; img-src 'self'; style-src 'self'; "
    "form-action 'self'; frame-ancestors 'none'; base-uri 'none'",
}


@dataclass(frozen=True)
class OwnerPageConfig:
    """What the owner page needs besides the services (kept on `app.state.owner_page`)."""

    templates: Environment
    max_photo_bytes: int = MAX_FIX_PHOTO_BYTES
    today: Callable[[], date] = today_in_sweden


def install(app: FastAPI, max_photo_bytes: int = MAX_FIX_PHOTO_BYTES,
            today: Callable[[], date] = today_in_sweden) -> None:  # fmt: skip
    """Add the owner page to an app: its routes, /static, and token-free logs."""
    templates = Environment(
        loader=FileSystemLoader(TEMPLATES),
        autoescape=select_autoescape(["html"]),
        undefined=StrictUndefined,  # a misspelt variable is an error, not an empty string
        trim_blocks=True,
        lstrip_blocks=True,
    )
    app.state.owner_page = OwnerPageConfig(templates, max_photo_bytes, today)
    app.include_router(router)
    app.mount("/static", StaticFiles(directory=STATIC), name="static")
    for name in ("uvicorn.access", "uvicorn.error", "walkaudit.server"):
        logger = logging.getLogger(name)
        if not any(isinstance(f, RedactOwnerTokens) for f in logger.filters):
            logger.addFilter(RedactOwnerTokens())


# ---- tokens out of the logs -------------------------------------------------------------------

_TOKEN_IN_PATH = re.compile(r"/o/([A-Za-z0-9_\-%]+)")
# Open311 puts its api_key in the query string (the standard's GETs), and photo links carry a
# signature: neither may reach a log file.
_SECRET_IN_QUERY = re.compile(r"([?&](?:api_key|sig)=)[^&\s\"]*")


def redact(text: str) -> str:
    """`/o/<token>…` → `/o/[link <first 8 hex of sha256(token)>]…`; api_key=/sig= blanked."""
    text = _TOKEN_IN_PATH.sub(
        lambda m: f"/o/[link {hashlib.sha256(m[1].encode()).hexdigest()[:8]}]", text
    )
    return _SECRET_IN_QUERY.sub(r"\1[redacted]", text)


class RedactOwnerTokens(logging.Filter):
    """Rewrites owner tokens in a record's message and arguments (uvicorn's access log passes
    the path as an argument and formats it later, so the arguments must be redacted one by one)."""

    def filter(self, record: logging.LogRecord) -> bool:
        if isinstance(record.msg, str):
            record.msg = redact(record.msg)
        if isinstance(record.args, tuple):
            record.args = tuple(redact(a) if isinstance(a, str) else a for a in record.args)
        return True


# ---- routes -----------------------------------------------------------------------------------

Lang = Annotated[str | None, Query(max_length=5)]


@router.get("/o/{token}", response_class=HTMLResponse)
def page(token: str, request: Request, services: ServicesDep, lang: Lang = None,
         done: Annotated[str | None, Query(max_length=20)] = None,
         f: Annotated[str | None, Query(max_length=40)] = None) -> Response:  # fmt: skip
    """The owner's findings, with a confirmation after an answer."""
    opened = _open(request, services, token)
    if isinstance(opened, Response):
        return opened
    owner, link = opened
    kind = EventKind(done) if done in {k.value for k in ACTIONS.values()} else None
    return _render_page(request, services, token, owner, link, _language(lang, owner),
                        thanks=(kind, f) if kind else None)  # fmt: skip


@router.get("/o/{token}/photos/{sha256}")
def photo(token: str, sha256: str, request: Request, services: ServicesDep) -> Response:
    """A photo of this owner's findings (or of an event on one); 404 for every other hash."""
    opened = _open(request, services, token)
    if isinstance(opened, Response):
        return opened
    owner, _link = opened
    if not (_SHA256.match(sha256) and core.may_see_photo(services.db, owner.id, sha256)
            and services.blobs.exists(sha256)):  # fmt: skip
        return _not_found(request, token, _language(None, owner))
    headers = _HEADERS | {"Cache-Control": "private, max-age=3600"}
    return FileResponse(services.blobs.path(sha256), media_type="image/jpeg", headers=headers)


@router.get("/o/{token}/findings/{finding_id}/{action}")
def action_get(token: str, request: Request, services: ServicesDep, lang: Lang = None) -> Response:
    """A reload or bookmark of an action's address: back to the page, nothing recorded."""
    opened = _open(request, services, token)
    if isinstance(opened, Response):
        return opened
    lang = _language(lang, opened[0])
    return RedirectResponse(f"/o/{token}?lang={lang}", status_code=303, headers=_HEADERS)


@router.post("/o/{token}/findings/{finding_id}/{action}")
async def act(token: str, finding_id: str, action: str, request: Request,
              services: ServicesDep, lang: Lang = None) -> Response:  # fmt: skip
    """Record one answer; 303 to the page, or the page again with a message at the form."""
    opened = await run_in_threadpool(_open, request, services, token)
    if isinstance(opened, Response):
        return opened
    owner, link = opened
    lang = _language(lang, owner)
    kind = ACTIONS.get(action)
    if kind is None or not _is_uuid(finding_id):
        return _not_found(request, token, lang)
    config: OwnerPageConfig = request.app.state.owner_page
    t = i18n.Translator(lang)

    async def again(status: int, message: str, values: dict[str, str] | None = None,
                    event_id: str | None = None) -> Response:  # fmt: skip
        """The page once more, the message at the form, what was typed and its event id kept."""
        error = FormError(finding_id, action, message, values or {}, event_id or new_id())
        return await run_in_threadpool(_render_page, request, services, token, owner, link,
                                       lang, error=error, status=status)  # fmt: skip

    declared = request.headers.get("content-length", "")
    if not declared.isdigit():  # browsers always send it; a body without one cannot be bounded
        return await again(411, t("owner.error.bad_form"))
    if int(declared) > config.max_photo_bytes + _FORM_SLACK:
        await _drain(request, int(declared), config.max_photo_bytes * _DRAIN_LIMIT_FACTOR)
        mb = int(declared) / 2**20
        return await again(413, _too_big(t, "", mb, config.max_photo_bytes))
    try:
        form = await request.form(max_files=1, max_fields=20, max_part_size=64 * 1024)
    except (MultiPartException, StarletteHTTPException, UnicodeDecodeError):
        return await again(400, t("owner.error.bad_form"))
    try:
        fields = {k: v for k, v in form.items() if isinstance(v, str)}
        event_id = fields.get("event_id", "")
        if not _is_uuid(event_id):
            return await again(400, t("owner.error.bad_form"))
        db = services.db
        try:
            seen = core.already_answered
            if await run_in_threadpool(seen, db, owner, event_id, finding_id, kind):
                return _thanks(token, lang, kind, finding_id)  # a double submit's second click
        except core.EventIdReused:
            return await again(409, t("owner.error.bad_form"))
        views = await run_in_threadpool(core.owner_findings, db, owner.id, finding_id)
        if not views:
            return _not_found(request, token, lang)
        refused = core.refusal(views[0].status, kind)  # checked again when recording
        if refused:  # before a photo is processed and stored for nothing
            status = t(f"status.{refused.status.value}").lower()
            return await again(409, t(refused.key, status=status), fields, event_id)
        upload = form.get("photo")
        try:
            note = _note(kind, fields, config.today())
            photos = []
            if isinstance(upload, UploadFile) and upload.filename:
                photos = [await _fix_photo(services, config, upload)]
        except core.InvalidAnswer as exc:
            return await again(422, t(exc.key, **exc.values), fields, event_id)
        except _PhotoRefused as exc:
            return await again(exc.status, exc.message(t, config.max_photo_bytes), fields, event_id)
        try:
            answer = (db, owner, finding_id, event_id, kind, note, photos)
            await run_in_threadpool(core.answer, *answer)
        except core.NotYours:
            return _not_found(request, token, lang)
        except core.AlreadyDone as exc:
            status = t(f"status.{exc.status.value}").lower()
            return await again(409, t(exc.key, status=status), fields, event_id)
        return _thanks(token, lang, kind, finding_id)
    finally:
        await form.close()


# ---- answers ----------------------------------------------------------------------------------


def _note(kind: EventKind, fields: dict[str, str], today: date) -> str:
    """The event's note: a planned answer starts with its ISO date (machine-readable)."""
    if kind is EventKind.PLANNED:
        day = core.planned_date(fields.get("date", ""), today)
        comment = core.checked_text(fields.get("comment", ""))
        return f"{day.isoformat()} – {comment}" if comment else day.isoformat()
    if kind is EventKind.NOT_OURS:
        reason = fields.get("reason", "")
        return core.checked_text(reason, required_key="owner.error.reason_missing")
    if kind is EventKind.FIXED:
        return core.checked_text(fields.get("comment", ""))
    return ""


class _PhotoRefused(Exception):
    def __init__(self, status: int, key: str, name: str, mb: float = 0) -> None:
        super().__init__(key)
        self.status, self.key, self.name, self.mb = status, key, name, mb

    def message(self, t: i18n.Translator, limit: int) -> str:
        if self.key == "owner.error.photo_too_large":
            return _too_big(t, self.name, self.mb, limit)
        return f"{t(self.key, name=self.name)} {t('owner.error.nothing_saved')}"


async def _fix_photo(services: Any, config: OwnerPageConfig, upload: UploadFile) -> Any:
    """The uploaded photo, processed (upright, no metadata) and stored; _PhotoRefused if not."""
    name = Path(upload.filename or "photo").name[:80]
    data = await upload.read(config.max_photo_bytes + 1)
    if len(data) > config.max_photo_bytes:
        size = upload.size if upload.size else len(data)
        raise _PhotoRefused(413, "owner.error.photo_too_large", name, size / 2**20)
    try:
        processed = await run_in_threadpool(
            process_photo, data, name=name, max_input_bytes=config.max_photo_bytes
        )
    except PhotoTooLargeError:
        raise _PhotoRefused(413, "owner.error.photo_too_large", name, len(data) / 2**20) from None
    except NotAnImageError:
        raise _PhotoRefused(415, "owner.error.photo_not_image", name) from None
    except HeifUnsupportedError:
        raise _PhotoRefused(415, "owner.error.photo_heic", name) from None
    except PhotoError:  # BrokenPhotoError, or unreadable
        raise _PhotoRefused(422, "owner.error.photo_broken", name) from None
    try:
        await run_in_threadpool(
            core.store_photo, services.db, services.blobs, processed.jpeg, processed.sha256
        )
    except BlobBusy:
        raise _PhotoRefused(503, "owner.error.busy", name) from None
    return processed.to_photo()


def _too_big(t: i18n.Translator, name: str, mb: float, limit: int) -> str:
    text = t("owner.error.photo_too_large", name=name or "?", mb=f"{mb:.0f}", max=limit // 2**20)
    return f"{text} {t('owner.error.nothing_saved')}"


async def _drain(request: Request, declared: int, limit: int) -> None:
    # A browser that is cut off mid-upload shows a connection error, not our page; so an
    # oversized body is read and dropped when that is cheap enough, then the page answers.
    if declared > limit:
        return
    async for _chunk in request.stream():
        pass


def _thanks(token: str, lang: str, kind: EventKind, finding_id: str) -> Response:
    # A finding handed back is gone from the list: its "Tack!" goes to the top of the page.
    anchor = "" if kind is EventKind.NOT_OURS else f"#f-{finding_id}"
    url = f"/o/{token}?lang={lang}&done={kind.value}&f={finding_id}{anchor}"
    return RedirectResponse(url, status_code=303, headers=_HEADERS)


# ---- rendering --------------------------------------------------------------------------------


@dataclass(frozen=True)
class FormError:
    """An answer that was refused: shown at its form, with what was typed and the same event id."""

    finding_id: str
    action: str
    message: str
    values: dict[str, str]
    event_id: str


def _open(request: Request, services: Any, token: str) -> tuple[core.Owner, OwnerLink] | Response:
    try:
        link = resolve_link(services.db, token)
    except LinkError as exc:
        if isinstance(exc, UnknownLink):  # expired and withdrawn links were real: not guesses
            wait = services.throttles.owner_links.failed(address_key(client_address(request)))
            if wait:
                return _throttled(request, wait)
        return _link_error(request, exc)
    return core.get_owner(services.db, link.owner_id), link


def _language(asked: str | None, owner: core.Owner) -> str:
    if asked in i18n.LANGUAGES:
        return str(asked)
    return owner.language if owner.language in i18n.LANGUAGES else i18n.DEFAULT_LANGUAGE


def _is_uuid(value: str) -> bool:
    try:
        return str(uuid.UUID(value)) == value
    except ValueError:
        return False


def _templates(request: Request) -> Environment:
    config: OwnerPageConfig = request.app.state.owner_page
    return config.templates


def _html(templates: Environment, name: str, status: int, **context: Any) -> HTMLResponse:
    body = templates.get_template(name).render(**context)
    return HTMLResponse(body, status_code=status, headers=_HEADERS)


def _link_error(request: Request, exc: LinkError) -> Response:
    # The owner is unknown (or should not be told apart): both languages, Swedish first.
    which = "expired" if isinstance(exc, ExpiredLink) else (
        "revoked" if isinstance(exc, RevokedLink) else "unknown")  # fmt: skip
    status = 404 if which == "unknown" else 410
    texts = [(lang, i18n.t(f"owner.link.{which}.title", lang),
              i18n.t(f"owner.link.{which}.text", lang)) for lang in i18n.LANGUAGES]  # fmt: skip
    return _html(_templates(request), "owner/message.html", status, texts=texts, back=None,
                 lang=i18n.DEFAULT_LANGUAGE)  # fmt: skip


def _throttled(request: Request, wait: int) -> Response:
    # Whose link it was is unknown: both languages, the one asked for (?lang=) first.
    asked = request.query_params.get("lang")
    langs = sorted(i18n.LANGUAGES, key=lambda lang: lang != asked)
    texts = [
        (lang, i18n.t("throttle.owner.title", lang),
         i18n.t("throttle.owner.text", lang, minutes=minutes(wait)))
        for lang in langs
    ]  # fmt: skip
    response = _html(_templates(request), "owner/message.html", 429, texts=texts, back=None,
                     lang=langs[0])  # fmt: skip
    response.headers["Retry-After"] = str(wait)
    return response


def _not_found(request: Request, token: str, lang: str) -> Response:
    t = i18n.Translator(lang)
    texts = [(lang, t("owner.not_found.title"), t("owner.not_found.text"))]
    back = (f"/o/{token}?lang={lang}", t("owner.back"))
    return _html(_templates(request), "owner/message.html", 404, texts=texts, back=back,
                 lang=lang)  # fmt: skip


def _render_page(request: Request, services: Any, token: str, owner: core.Owner,
                 link: OwnerLink, lang: str, *, thanks: tuple[EventKind, str | None] | None = None,
                 error: FormError | None = None, status: int = 200) -> Response:  # fmt: skip
    config: OwnerPageConfig = request.app.state.owner_page
    t = i18n.Translator(lang)
    findings = core.owner_findings(services.db, owner.id)
    thanks_text, thanks_at = None, None
    if thanks:
        kind, fid = thanks
        shown = next((v for v in findings if v.id == fid), None)
        what = t.category(shown.category) if shown else ""
        thanks_text = t(f"owner.thanks.{kind.value}", what=what)
        thanks_at = shown.id if shown and kind is not EventKind.NOT_OURS else None
    today = config.today()
    base = f"/o/{token}"
    open_findings = [v for v in findings if v.is_open]
    # A refused answer is shown at its form; if that finding is no longer open, at the top.
    error_at = error.finding_id if error and any(v.id == error.finding_id
                                                 for v in open_findings) else None  # fmt: skip
    return _html(
        config.templates, "owner/page.html", status,
        t=t, lang=lang, other_lang="en" if lang == "sv" else "sv", owner=owner, base=base,
        expires=link.expires_at.astimezone(SWEDEN).date().isoformat(),
        open_findings=open_findings, error_at=error_at,
        done_findings=[v for v in findings if not v.is_open],
        thanks_text=thanks_text, thanks_at=thanks_at,
        open_done=bool(thanks and thanks[0] is EventKind.FIXED), error=error,
        today=today, new_id=new_id, max_mb=config.max_photo_bytes // 2**20,
        local_time=_local_time, actor=lambda a: _actor(a, owner, t), map_url=_map_url,
    )  # fmt: skip


def _local_time(value: datetime) -> str:
    try:
        return value.astimezone(SWEDEN).strftime("%Y-%m-%d %H:%M")
    except OverflowError:  # a time past the calendar's end (year 9999 UTC): shown as stored
        return value.strftime("%Y-%m-%d %H:%M UTC")


def _actor(actor: str, owner: core.Owner, t: i18n.Translator) -> str:
    if actor == owner.actor:
        return owner.name
    if actor.startswith("owner:"):  # the finding was someone else's before: not their name
        return t("owner.actor.other_owner")
    if actor.startswith("device:"):
        return t("owner.actor.walk")
    if actor == SERVER_ACTOR:  # e.g. "received": the walk is named on the card already
        return ""
    return actor  # a name the coordinator's side wrote


def _map_url(lat: float, lon: float) -> str:
    return (
        f"https://www.openstreetmap.org/?mlat={lat:.6f}&mlon={lon:.6f}#map=18/{lat:.6f}/{lon:.6f}"
    )

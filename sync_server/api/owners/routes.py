"""The owner page's routes: open the link, show the page or a photo, take one answer.

Each route first resolves the token (`open_link`): an unknown, expired or withdrawn link is a
message page, never the owner's data. An answer is read and checked here and in `answers`, then
recorded by `sync_server.owners.page`, then 303 back to the page (post/redirect/get).
"""

from __future__ import annotations

import re
import uuid
from collections.abc import Callable
from datetime import date
from typing import Annotated, Any

from fastapi import APIRouter, FastAPI, Query, Request
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import FileResponse, HTMLResponse, RedirectResponse, Response
from starlette.datastructures import UploadFile
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.formparsers import MultiPartException

from sync_server.api.body import declared_length, discard
from sync_server.api.client import client_address
from sync_server.api.deps import ServicesDep
from sync_server.api.owners.answers import PhotoRefused, fix_photo, note, too_big
from sync_server.api.owners.pages import (
    HEADERS,
    FormError,
    OwnerPageConfig,
    language,
    link_error,
    not_found,
    render_page,
    thanks,
    throttled,
)
from sync_server.core.templates import environment
from sync_server.core.throttle import address_key
from sync_server.core.time import today_in_sweden
from sync_server.owners import page
from sync_server.owners.links import LinkError, OwnerLink, UnknownLink, resolve_link
from walkaudit import i18n
from walkaudit.model import SHA256_PATTERN, EventKind, new_id

router = APIRouter(tags=["owner page"], include_in_schema=False)

MAX_FIX_PHOTO_BYTES = 20 * 1024 * 1024
_FORM_SLACK = 64 * 1024  # multipart boundaries, headers and the text fields around the photo
_DISCARD_LIMIT_FACTOR = 4  # read (and drop) an oversized body up to this × the limit
ACTIONS = {"acknowledge": EventKind.ACKNOWLEDGED, "planned": EventKind.PLANNED,
           "fixed": EventKind.FIXED, "not-ours": EventKind.NOT_OURS}  # fmt: skip
_SHA256 = re.compile(SHA256_PATTERN)


def install(app: FastAPI, max_photo_bytes: int = MAX_FIX_PHOTO_BYTES,
            today: Callable[[], date] = today_in_sweden) -> None:  # fmt: skip
    """Add the owner page to an app: its routes, and what they need on `app.state.owner_page`."""
    app.state.owner_page = OwnerPageConfig(environment(), max_photo_bytes, today)
    app.include_router(router)


Lang = Annotated[str | None, Query(max_length=5)]


@router.get("/o/{token}", response_class=HTMLResponse)
def owner_page(token: str, request: Request, services: ServicesDep, lang: Lang = None,
               done: Annotated[str | None, Query(max_length=20)] = None,
               f: Annotated[str | None, Query(max_length=40)] = None) -> Response:  # fmt: skip
    """The owner's findings, with a confirmation after an answer."""
    opened = open_link(request, services, token)
    if isinstance(opened, Response):
        return opened
    owner, link = opened
    kind = EventKind(done) if done in {k.value for k in ACTIONS.values()} else None
    return render_page(request, services, token, owner, link, language(lang, owner),
                       thanks=(kind, f) if kind else None)  # fmt: skip


@router.get("/o/{token}/photos/{sha256}")
def photo(token: str, sha256: str, request: Request, services: ServicesDep) -> Response:
    """A photo of this owner's findings (or of an event on one); 404 for every other hash."""
    opened = open_link(request, services, token)
    if isinstance(opened, Response):
        return opened
    owner, _link = opened
    if not (_SHA256.match(sha256) and page.may_see_photo(services.db, owner.id, sha256)
            and services.blobs.exists(sha256)):  # fmt: skip
        return not_found(request, token, language(None, owner))
    headers = HEADERS | {"Cache-Control": "private, max-age=3600"}
    return FileResponse(services.blobs.path(sha256), media_type="image/jpeg", headers=headers)


@router.get("/o/{token}/findings/{finding_id}/{action}")
def action_get(token: str, request: Request, services: ServicesDep, lang: Lang = None) -> Response:
    """A reload or bookmark of an action's address: back to the page, nothing recorded."""
    opened = open_link(request, services, token)
    if isinstance(opened, Response):
        return opened
    lang = language(lang, opened[0])
    return RedirectResponse(f"/o/{token}?lang={lang}", status_code=303, headers=HEADERS)


@router.post("/o/{token}/findings/{finding_id}/{action}")
async def act(token: str, finding_id: str, action: str, request: Request,
              services: ServicesDep, lang: Lang = None) -> Response:  # fmt: skip
    """Record one answer; 303 to the page, or the page again with a message at the form."""
    opened = await run_in_threadpool(open_link, request, services, token)
    if isinstance(opened, Response):
        return opened
    owner, link = opened
    lang = language(lang, owner)
    kind = ACTIONS.get(action)
    if kind is None or not _is_uuid(finding_id):
        return not_found(request, token, lang)
    config: OwnerPageConfig = request.app.state.owner_page
    t = i18n.Translator(lang)

    async def again(status: int, message: str, values: dict[str, str] | None = None,
                    event_id: str | None = None) -> Response:  # fmt: skip
        """The page once more, the message at the form, what was typed and its event id kept."""
        error = FormError(finding_id, action, message, values or {}, event_id or new_id())
        return await run_in_threadpool(render_page, request, services, token, owner, link,
                                       lang, error=error, status=status)  # fmt: skip

    declared = declared_length(request)
    if declared is None:  # browsers always send it; a body without one cannot be bounded
        return await again(411, t("owner.error.bad_form"))
    if declared > config.max_photo_bytes + _FORM_SLACK:
        await discard(request, declared, config.max_photo_bytes * _DISCARD_LIMIT_FACTOR)
        return await again(413, too_big(t, "", declared / 2**20, config.max_photo_bytes))
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
            seen = page.already_answered
            if await run_in_threadpool(seen, db, owner, event_id, finding_id, kind):
                return thanks(token, lang, kind, finding_id)  # a double submit's second click
        except page.EventIdReused:
            return await again(409, t("owner.error.bad_form"))
        views = await run_in_threadpool(page.owner_findings, db, owner.id, finding_id)
        if not views:
            return not_found(request, token, lang)
        refused = page.refusal(views[0].status, kind)  # checked again when recording
        if refused:  # before a photo is processed and stored for nothing
            status = t(f"status.{refused.status.value}").lower()
            return await again(409, t(refused.key, status=status), fields, event_id)
        upload = form.get("photo")
        try:
            text = note(kind, fields, config.today())
            photos = []
            if isinstance(upload, UploadFile) and upload.filename:
                photos = [await fix_photo(services, config.max_photo_bytes, upload)]
        except page.InvalidAnswer as exc:
            return await again(422, t(exc.key, **exc.values), fields, event_id)
        except PhotoRefused as exc:
            return await again(exc.status, exc.message(t, config.max_photo_bytes), fields, event_id)
        try:
            answer = (db, owner, finding_id, event_id, kind, text, photos)
            await run_in_threadpool(page.answer, *answer)
        except page.NotYours:
            return not_found(request, token, lang)
        except page.AlreadyDone as exc:
            status = t(f"status.{exc.status.value}").lower()
            return await again(409, t(exc.key, status=status), fields, event_id)
        return thanks(token, lang, kind, finding_id)
    finally:
        await form.close()


def open_link(
    request: Request, services: Any, token: str
) -> tuple[page.Owner, OwnerLink] | Response:
    """The owner and link a token names, or the page that says why not (or 429 to a guesser)."""
    try:
        link = resolve_link(services.db, token)
    except LinkError as exc:
        if isinstance(exc, UnknownLink):  # expired and withdrawn links were real: not guesses
            wait = services.throttles.owner_links.failed(address_key(client_address(request)))
            if wait:
                return throttled(request, wait)
        return link_error(request, exc)
    return page.get_owner(services.db, link.owner_id), link


def _is_uuid(value: str) -> bool:
    try:
        return str(uuid.UUID(value)) == value
    except ValueError:
        return False

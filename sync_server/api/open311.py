"""Open311 GeoReport v2 under /open311/v2/ (the rules: the package `sync_server.open311`).

    GET  services.{json,xml}                     the categories
    GET  requests.{json,xml}                     findings; service_request_id, service_code,
                                                 start_date, end_date, status, page, page_size
    GET  requests/{id}.{json,xml}                one finding
    GET  servicerequestupdates.{json,xml}        their events; start_date, end_date, page, …
    POST servicerequestupdates.{json,xml}        an update from an owner's system (form-encoded)
    GET  media/{id}/{sha256}.jpg                 a photo, without metadata (signed link or key)

Reads take `api_key` as a query parameter (or none, with WALKAUDIT_OPEN311_PUBLIC_READ=true);
a POST takes it in the form. `lang=en` (or `locale=en…`) gives English labels. Every refusal is
in Open311's error form, in the format asked for: JSON `[{"code": 400, "description": "…"}]`,
XML `<errors><error><code>…</code><description>…</description></error></errors>`. A full page
carries `Link: <…&page=N>; rel="next"` (without the api_key: add yours, as to any request).
A wrong api_key is refused even where reads are public: a client with a broken key should learn
so, not quietly get the public view. `jurisdiction_id` is accepted and ignored (one jurisdiction).
Wrong api keys and photo links with a wrong signature are counted per address
(`core.throttle`): past 30 in 15 minutes they get 429 with Retry-After instead of 403/404.
A right key from that address still works: a municipality's systems often share one address.
"""

from __future__ import annotations

import dataclasses
import logging
import re
from collections.abc import AsyncGenerator, Callable, Iterator
from typing import IO, Any
from urllib.parse import parse_qsl

from fastapi import APIRouter, Request
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import Response, StreamingResponse
from starlette.formparsers import MultiPartException, MultiPartParser

from sync_server.api.body import BodyTooLarge, read_bounded
from sync_server.api.client import client_address
from sync_server.api.deps import Services, ServicesDep
from sync_server.core.blobs import BlobNotFound
from sync_server.core.throttle import address_key, wait_text
from sync_server.open311 import errors, formats, keys, media, params, queries, updates
from walkaudit.model import SHA256_PATTERN

router = APIRouter(include_in_schema=False)
log = logging.getLogger("walkaudit.server")

BASE = "/open311/v2"
MEDIA_TYPES = {"json": "application/json; charset=utf-8", "xml": "text/xml; charset=utf-8"}
MAX_FORM_BYTES = 64 * 1024  # an update is a few short fields; the description ≤ 2000 characters
_SHA = re.compile(SHA256_PATTERN)


def _answer(fmt: str, kind: str, items: list[dict[str, Any]],
            headers: dict[str, str] | None = None) -> Response:  # fmt: skip
    return Response(
        formats.render(kind, items, fmt),
        media_type=MEDIA_TYPES[fmt],
        headers={"Cache-Control": "no-store", **(headers or {})},
    )


def _refusal(request: Request, fmt: str, exc: errors.Open311Error) -> Response:
    # The path only: the query string may hold an api_key, which stays out of the log.
    log.warning("%s %s -> %d: %s", request.method, request.url.path, exc.status, exc.message)
    return _error_answer(fmt, exc.status, exc.message)


def _error_answer(fmt: str, status: int, message: str,
                  headers: dict[str, str] | None = None) -> Response:  # fmt: skip
    fmt = fmt if fmt in MEDIA_TYPES else "json"
    return Response(
        formats.render("errors", formats.error_items(status, message), fmt),
        status_code=status,
        media_type=MEDIA_TYPES[fmt],
        headers={"Cache-Control": "no-store", **(headers or {})},
    )


def _wrong_credential(request: Request, services: Services, fmt: str,
                      exc: errors.Open311Error) -> Response:  # fmt: skip
    """The refusal of a wrong api_key or photo-link signature, or 429 once an address has sent
    too many (not logged per request: the throttle logs the address once per window)."""
    wait = services.throttles.api_keys.failed(address_key(client_address(request)))
    if not wait:
        return _refusal(request, fmt, exc)
    message = (
        "too many wrong api keys or photo links came from your address lately; try again in "
        f"{wait_text(wait)} with a key you were given"
    )
    return _error_answer(fmt, 429, message, {"Retry-After": str(wait)})


def _format(fmt: str) -> str:
    if fmt not in MEDIA_TYPES:
        raise errors.InvalidValue(f"unknown format .{fmt[:20]}; use .json or .xml")
    return fmt


def _lang(request: Request) -> str:
    asked = request.query_params.get("lang") or request.query_params.get("locale") or "sv"
    return "en" if asked.strip().lower().startswith("en") else "sv"


def _base_url(request: Request, services: Services) -> str:
    return services.settings.public_url or str(request.base_url)


def _read_view(request: Request, services: Services) -> keys.View:
    view = keys.read_view(
        services.db, request.query_params.get("api_key"), services.settings.open311_public_read
    )
    return dataclasses.replace(view, link_days=services.settings.open311_media_link_days)


def _next_link(request: Request, services: Services, page: int) -> dict[str, str]:
    url = request.url.remove_query_params("api_key").include_query_params(page=page + 1)
    public = services.settings.public_url  # behind a proxy: the address clients use
    link = f"{public.rstrip('/')}{url.path}?{url.query}" if public else str(url)
    return {"Link": f'<{link}>; rel="next"'}


def _read(request: Request, fmt: str, kind: str,
          produce: Callable[[keys.View], tuple[list[dict[str, Any]], int | None]],
          services: Services) -> Response:  # fmt: skip
    """Authorise a GET, produce its items (and the page, if more follow), answer or refuse."""
    try:
        fmt = _format(fmt)
        items, more_after_page = produce(_read_view(request, services))
    except errors.InvalidApiKey as exc:
        return _wrong_credential(request, services, fmt, exc)
    except errors.Open311Error as exc:
        return _refusal(request, fmt, exc)
    headers = _next_link(request, services, more_after_page) if more_after_page else None
    return _answer(fmt, kind, items, headers)


@router.get(BASE + "/services.{fmt}")
def get_services(request: Request, fmt: str, services: ServicesDep) -> Response:
    """The categories as services."""
    return _read(request, fmt, "services",
                 lambda view: (queries.services(_lang(request), not view.full), None),
                 services)  # fmt: skip


@router.get(BASE + "/requests.{fmt}")
def get_requests(request: Request, fmt: str, services: ServicesDep) -> Response:
    """Findings as service requests, filtered, newest first."""

    def produce(view: keys.View) -> tuple[list[dict[str, Any]], int | None]:
        query = params.parse_request_query(request.query_params)
        items, more = queries.find_requests(
            services.db, view, query, _lang(request), _base_url(request, services)
        )
        return items, query.window.page if more else None

    return _read(request, fmt, "service_requests", produce, services)


@router.get(BASE + "/requests/{request_id}.{fmt}")
def get_request(request: Request, request_id: str, fmt: str, services: ServicesDep) -> Response:
    """One finding (a list of one, as the standard has it)."""

    def produce(view: keys.View) -> tuple[list[dict[str, Any]], int | None]:
        query = params.RequestQuery(ids=(request_id.strip().lower(),))
        items, _ = queries.find_requests(
            services.db, view, query, _lang(request), _base_url(request, services)
        )
        if not items:
            raise errors.NotFound(f"there is no service request {request_id[:60]}")
        return items, None

    return _read(request, fmt, "service_requests", produce, services)


@router.post(BASE + "/requests.{fmt}")
def post_request(request: Request, fmt: str) -> Response:
    """Refused: findings are made on walks, not over Open311."""
    error = errors.NotSupported("this server takes no new service requests over Open311; "
                              "findings are made on safety walks")  # fmt: skip
    return _refusal(request, fmt, error)


@router.get(BASE + "/servicerequestupdates.{fmt}")
def get_updates(request: Request, fmt: str, services: ServicesDep) -> Response:
    """The findings' events as updates, newest first."""

    def produce(view: keys.View) -> tuple[list[dict[str, Any]], int | None]:
        window = params.parse_window(request.query_params)
        items, more = updates.find_updates(
            services.db, view, window, _lang(request), _base_url(request, services)
        )
        return items, window.page if more else None

    return _read(request, fmt, "service_request_updates", produce, services)


@router.post(BASE + "/servicerequestupdates.{fmt}")
async def post_update(request: Request, fmt: str, services: ServicesDep) -> Response:
    """An update from an owner's system: an event in the finding's history, once per update_id."""
    try:
        fmt = _format(fmt)
        form = await _form(request)
        api_key = form.get("api_key") or request.query_params.get("api_key")
        if not api_key or not api_key.strip():
            raise errors.ApiKeyRequired("posting an update needs an api_key")
        view = await run_in_threadpool(keys.authenticate, services.db, api_key)
        posted = updates.parse_posted_update(form)
        update = await run_in_threadpool(
            updates.post_update, services.db, view, posted, _lang(request),
            _base_url(request, services),
        )  # fmt: skip
    except errors.InvalidApiKey as exc:
        return _wrong_credential(request, services, fmt, exc)
    except errors.Open311Error as exc:
        return _refusal(request, fmt, exc)
    return _answer(fmt, "service_request_updates", [update])


async def _form(request: Request) -> dict[str, str]:
    """The posted fields (urlencoded or multipart; text only, first value wins), size-limited."""
    try:
        body = await read_bounded(request, MAX_FORM_BYTES)
    except BodyTooLarge:
        raise errors.InvalidValue(f"the form is larger than {MAX_FORM_BYTES // 1024} KiB") from None

    async def stream() -> AsyncGenerator[bytes, None]:
        yield body
        yield b""

    content_type = request.headers.get("content-type", "")
    try:
        if content_type.startswith("multipart/form-data"):
            parsed = await MultiPartParser(request.headers, stream(), max_files=0,
                                           max_fields=100).parse()  # fmt: skip
            pairs = [(k, v) for k, v in parsed.multi_items() if isinstance(v, str)]
        elif content_type.startswith("application/x-www-form-urlencoded") or not content_type:
            pairs = parse_qsl(body.decode("utf-8", "replace"), keep_blank_values=True)
        else:
            raise errors.InvalidValue("send the update form-encoded (x-www-form-urlencoded)")
    except MultiPartException as exc:
        raise errors.InvalidValue(f"the form cannot be read: {exc.message}") from None
    form: dict[str, str] = {}
    for name, value in pairs:
        form.setdefault(name, value)
    return form


@router.get(BASE + "/media/{finding_id}/{name}")
def get_media(request: Request, finding_id: str, name: str, services: ServicesDep) -> Response:
    """A photo of a finding this key sees, without metadata; 404 for any other."""
    finding_id, sha256 = finding_id.strip().lower(), name.removesuffix(".jpg")
    query = request.query_params
    try:
        if not name.endswith(".jpg") or not _SHA.match(sha256):
            raise errors.NotFound(f"there is no photo {name[:80]}")
        if not query.get("api_key") and query.get("key") and query.get("sig"):
            try:
                view = media.view_from_link(services.db, query["key"], query["sig"], finding_id,
                                            sha256)  # fmt: skip
            except errors.NotFound as exc:  # an unknown key id or a wrong signature
                return _wrong_credential(request, services, "json", exc)
        else:
            view = _read_view(request, services)
        media.check_photo(services.db, view, finding_id, sha256)
        handle = services.blobs.open(sha256)
    except errors.InvalidApiKey as exc:
        return _wrong_credential(request, services, "json", exc)
    except errors.Open311Error as exc:
        return _refusal(request, "json", exc)
    except BlobNotFound:
        return _refusal(request, "json", errors.NotFound(f"photo {sha256} is not stored"))
    return StreamingResponse(_stripped(handle), media_type="image/jpeg",
                             headers={"Cache-Control": "private, max-age=3600"})  # fmt: skip


def _stripped(handle: IO[bytes]) -> Iterator[bytes]:
    with handle:
        yield from media.strip_jpeg_metadata(handle)


@router.api_route(BASE + "/{rest:path}", methods=["GET", "POST"])
def not_here(request: Request, rest: str) -> Response:
    """Anything else under /open311/v2/: 404 in Open311's form."""
    fmt = "xml" if rest.endswith(".xml") else "json"
    error = errors.NotFound(f"there is nothing at {BASE}/{rest[:100]}; see {BASE}/services.xml")
    return _refusal(request, fmt, error)

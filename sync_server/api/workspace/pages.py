"""The coordinator web's plumbing: who is signed in, roles, CSRF, language, rendering a page.

Every coordinator route takes one of `ViewerDep`, `CoordinatorDep`, `AdminDep`: anonymous
requests are sent to /c/login (303, with ?next=), a signed-in user without the role gets a 403
page. Every POST takes `FormDep` as well, which reads the form and refuses it (403) unless its
`csrf` field is the session's token. Pages are Jinja2 templates under web/templates/coord/,
rendered with `render(request, signed, name, **context)`, which adds the user, the CSRF token,
the language and the translator `t`.
"""

from __future__ import annotations

import secrets
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Annotated, Any
from urllib.parse import quote, urlsplit

from fastapi import Depends, FastAPI, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from jinja2 import Environment
from starlette.datastructures import FormData

from sync_server import texts  # noqa: F401 - the coordinator web's words, registered once
from sync_server.api.deps import Services, get_services
from sync_server.core.templates import environment
from sync_server.core.time import local_day, local_time
from sync_server.workspace import accounts
from walkaudit import i18n
from walkaudit.categories import CATEGORIES, COLOURS

SESSION_COOKIE = "wa_session"
LANG_COOKIE = "wa_lang"
MAX_FORM_FIELDS = 2000  # a follow-up may pick many findings; more is not a person's form


class LoginRequired(Exception):
    """No usable session: the handler redirects to the login page."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


class Refused(Exception):
    """Signed in, but this user may not do this, or the form's CSRF token is wrong."""

    def __init__(self, key: str) -> None:
        super().__init__(key)
        self.key = key  # a message key in sync_server.texts.workspace


@dataclass(frozen=True)
class SignedIn:
    """The signed-in user of a request, their session's CSRF token and their language."""

    user: accounts.User
    csrf: str
    lang: str

    @property
    def t(self) -> i18n.Translator:
        """The translator in this user's language."""
        return i18n.Translator(self.lang)


def language(request: Request) -> str:
    """?lang= if given, else the language cookie, else Swedish."""
    asked = request.query_params.get("lang") or request.cookies.get(LANG_COOKIE)
    return asked if asked in i18n.LANGUAGES else i18n.DEFAULT_LANGUAGE


def _signed_in(request: Request, services: Services) -> SignedIn:
    try:
        found = accounts.session(services.db, request.cookies.get(SESSION_COOKIE))
    except accounts.NoSession as exc:
        raise LoginRequired(exc.message) from None
    request.state.user = found.user.name  # for the error log
    return SignedIn(found.user, found.csrf_token, language(request))


def require(role: str) -> Callable[..., SignedIn]:
    """A dependency: the signed-in user, who must have `role` (or a higher one)."""

    def dependency(
        request: Request, services: Annotated[Services, Depends(get_services)]
    ) -> SignedIn:
        signed = _signed_in(request, services)
        if not signed.user.can(role):
            raise Refused("coord.refused.role")
        return signed

    return dependency


ViewerDep = Annotated[SignedIn, Depends(require("viewer"))]
CoordinatorDep = Annotated[SignedIn, Depends(require("coordinator"))]
AdminDep = Annotated[SignedIn, Depends(require("admin"))]


async def checked_form(
    request: Request, services: Annotated[Services, Depends(get_services)]
) -> FormData:
    """The POSTed form, if its `csrf` field matches the session (after the role check)."""
    signed = _signed_in(request, services)
    form = await request.form(max_files=10, max_fields=MAX_FORM_FIELDS)
    sent = form.get("csrf")
    if not isinstance(sent, str) or not secrets.compare_digest(sent, signed.csrf):
        raise Refused("coord.refused.csrf")
    return form


FormDep = Annotated[FormData, Depends(checked_form)]


def form_text(form: FormData, name: str, limit: int = 4000) -> str:
    """A text field of a form, stripped ('' when missing or a file)."""
    value = form.get(name)
    return value.strip()[:limit] if isinstance(value, str) else ""


# ---- rendering --------------------------------------------------------------------------------


def templates(request: Request) -> Environment:
    """The coordinator web's Jinja2 environment."""
    env: Environment = request.app.state.workspace_templates
    return env


def security_headers(tile_url: str) -> dict[str, str]:
    """No framing, no sniffing, scripts and styles from this server only; tiles from tile_url."""
    tiles = ""
    if tile_url.startswith(("http://", "https://")):
        parts = urlsplit(tile_url.replace("{s}", "a"))
        host = parts.netloc.replace("a.", "*.", 1) if "{s}" in tile_url else parts.netloc
        tiles = f" {parts.scheme}://{host}"
    return {
        "Cache-Control": "no-store",
        "X-Content-Type-Options": "nosniff",
        "Referrer-Policy": "same-origin",
        "Content-Security-Policy": "default-src 'self'; script-src 'self'; "
        f"style-src 'self' 'unsafe-inline'; img-src 'self' data:{tiles}; "
        "form-action 'self'; frame-ancestors 'none'; base-uri 'none'",
    }


def render(
    request: Request, signed: SignedIn | None, template: str, /, status: int = 200, **context: Any
) -> HTMLResponse:
    """A coordinator page: the template with the user, CSRF token, language and `t` added."""
    lang = signed.lang if signed else language(request)
    services: Services = get_services(request)
    body = (
        templates(request)
        .get_template(template)
        .render(
            user=signed.user if signed else None,
            csrf=signed.csrf if signed else "",
            lang=lang,
            t=i18n.Translator(lang),
            path=request.url.path,
            query=str(request.url.query),
            settings=services.settings,
            **context,
        )
    )
    return HTMLResponse(
        body, status_code=status, headers=security_headers(services.settings.tile_url)
    )


def not_found(request: Request, signed: SignedIn, key: str) -> HTMLResponse:
    """A 404 page saying what was not found (`key`: a `coord.not_found.*` message)."""
    return render(request, signed, "coord/message.html", status=404,
                  status_title="coord.not_found.title", key=key)  # fmt: skip


def redirect(url: str, notice: str | None = None) -> RedirectResponse:
    """303 to a page of this site (never elsewhere), optionally with a notice key to show."""
    if not url.startswith("/") or url.startswith("//"):
        url = "/c/"
    if notice:
        url, hash_, fragment = url.partition("#")  # the query goes before a #fragment
        url += ("&" if "?" in url else "?") + "notice=" + quote(notice) + hash_ + fragment
    return RedirectResponse(url, status_code=303)


def install(app: FastAPI) -> None:
    """The coordinator web's templates and its handlers for LoginRequired and Refused."""
    env = environment()
    env.globals["category_codes"] = [c.code for c in CATEGORIES]
    env.globals["category_colours"] = COLOURS
    env.globals["known_keys"] = i18n.MESSAGES  # to fall back when a key does not exist
    env.filters["local"] = local_time
    env.filters["day"] = local_day
    app.state.workspace_templates = env

    async def _login(request: Request, exc: Exception) -> Response:
        target = request.url.path + (f"?{request.url.query}" if request.url.query else "")
        if request.method != "GET":
            target = (
                request.headers.get("referer", "")
                and urlsplit(request.headers["referer"]).path
                or "/c/"
            )
        return RedirectResponse(f"/c/login?next={quote(target)}", status_code=303)

    async def _refused(request: Request, exc: Exception) -> Response:
        assert isinstance(exc, Refused)
        return render(request, None, "coord/message.html", status=403, key=exc.key)

    handlers: dict[type[Exception], Callable[[Request, Exception], Awaitable[Response]]] = {
        LoginRequired: _login,
        Refused: _refused,
    }
    for exc_type, handler in handlers.items():
        app.add_exception_handler(exc_type, handler)

    @app.middleware("http")
    async def _remember_language(request: Request, call_next: Any) -> Response:
        # ?lang= on any coordinator page switches the language for the following pages too.
        response: Response = await call_next(request)
        asked = request.query_params.get("lang")
        if asked in i18n.LANGUAGES and request.url.path.startswith("/c/"):
            response.set_cookie(LANG_COOKIE, asked, samesite="lax", max_age=365 * 86400, path="/")
        return response

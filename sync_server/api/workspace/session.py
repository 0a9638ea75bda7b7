"""Signing in and out of the coordinator web, and its start page."""

from __future__ import annotations

import secrets
from typing import Annotated

from fastapi import APIRouter, Form, Request
from fastapi.responses import RedirectResponse, Response

from sync_server.api.client import client_address, request_scheme
from sync_server.api.deps import ServicesDep
from sync_server.api.workspace.pages import (
    SESSION_COOKIE,
    FormDep,
    ViewerDep,
    language,
    redirect,
    render,
)
from sync_server.core.throttle import address_key, minutes
from sync_server.workspace import accounts
from walkaudit.i18n import Translator

router = APIRouter(tags=["coordinator"], include_in_schema=False)


def _safe_next(value: str | None) -> str:
    # Only a path on this site: never an open redirect to somewhere else.
    if value and value.startswith("/c/") and not value.startswith("//"):
        return value
    return "/c/findings"


@router.get("/")
def root() -> RedirectResponse:
    """The server's address opens the coordinator web."""
    return RedirectResponse("/c/", status_code=303)


@router.get("/c/")
def home(signed: ViewerDep) -> Response:
    """The start page is the findings list."""
    return redirect("/c/findings")


LOGIN_COOKIE = "wa_login"  # the sign-in form's CSRF token, before there is a session


def _login_form(request: Request, status: int = 200, **context: object) -> Response:
    # Double submit: the same random token in a cookie and in the form. A page elsewhere can
    # post a form here but cannot read or set the cookie, so it cannot sign a browser in to an
    # account of its choosing (login CSRF).
    token = secrets.token_urlsafe(24)
    context.setdefault("name", "")
    context.setdefault("notice", None)
    response = render(request, None, "coord/login.html", status=status, login_csrf=token,
                      **context)  # fmt: skip
    response.set_cookie(LOGIN_COOKIE, token, httponly=True, samesite="strict", path="/c/login",
                        max_age=3600, secure=request_scheme(request) == "https")  # fmt: skip
    return response


@router.get("/c/login")
def login_page(request: Request, next: str | None = None, signed_out: bool = False) -> Response:
    """The sign-in form."""
    t = Translator(language(request))
    notice = t("coord.signed_out") if signed_out else None
    return _login_form(request, next=_safe_next(next), notice=notice)


@router.post("/c/login")
def login(
    request: Request,
    services: ServicesDep,
    name: Annotated[str, Form(max_length=200)] = "",
    password: Annotated[str, Form(max_length=4096)] = "",
    next: Annotated[str, Form(max_length=2000)] = "",
    csrf: Annotated[str, Form(max_length=200)] = "",
) -> Response:
    """Check the form's token and the password (throttled) and set the session cookie."""
    target = _safe_next(next)
    t = Translator(language(request))

    def again(status: int, message: str) -> Response:
        return _login_form(request, status, next=target, name=name[:100], error=message)

    expected = request.cookies.get(LOGIN_COOKIE, "")
    if not expected or not secrets.compare_digest(csrf, expected):
        return again(403, t("coord.refused.csrf"))
    if not name.strip() or not password:
        return again(422, t("coord.login.missing"))
    address = address_key(client_address(request))
    try:
        _, token = accounts.login(services.db, name, password, address, hasher=services.hasher)
    except accounts.Throttled as exc:
        # Once per window and limit, not per refused try (a guesser sends thousands).
        services.throttles.sign_in_log.warning(exc.limit, f"sign-in: {exc.message}")
        response = again(429, t("coord.login.throttled", minutes=minutes(exc.retry_after)))
        response.headers["Retry-After"] = str(exc.retry_after)
        return response
    except accounts.BadCredentials:
        return again(401, t("coord.login.bad"))
    response = RedirectResponse(target, status_code=303)
    response.delete_cookie(LOGIN_COOKIE, path="/c/login")
    response.set_cookie(
        SESSION_COOKIE,
        token,
        httponly=True,
        samesite="lax",
        path="/",
        secure=request_scheme(request) == "https",
        max_age=int(accounts.LIFETIME.total_seconds()),
    )
    return response


@router.post("/c/logout")
def logout(request: Request, services: ServicesDep, signed: ViewerDep, form: FormDep) -> Response:
    """End the session."""
    accounts.end_session(services.db, request.cookies.get(SESSION_COOKIE, ""))
    response = RedirectResponse("/c/login?signed_out=1", status_code=303)
    response.delete_cookie(SESSION_COOKIE, path="/")
    return response

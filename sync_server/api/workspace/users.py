"""Users and Open311 API keys in the coordinator web (administrators only).

    GET  /c/users                          users, the form for a new one, the Open311 keys
    POST /c/users                          add a user (name, role, email, password twice)
    POST /c/users/{id}/disable | enable    an administrator cannot disable themself
    POST /c/users/api-keys                 a new key (name, optional owner), shown once
    POST /c/users/api-keys/{id}/revoke     revoke (a second time is a no-op with a notice)

A refused form comes back with what was typed, except the passwords (they are never echoed into
a page). The checks mirror workspace.accounts' so that the message is in the user's language;
anything accounts still refuses is shown as its own sentence.
"""

from __future__ import annotations

import re
from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import RedirectResponse, Response

from sync_server import open311, texts
from sync_server.api.deps import ServicesDep
from sync_server.api.workspace.pages import AdminDep, FormDep, SignedIn, form_text, redirect, render
from sync_server.core.errors import ServerError
from sync_server.owners import registry
from sync_server.workspace import accounts

router = APIRouter(include_in_schema=False)

_EMAIL = re.compile(r"[^@\s]+@[^@\s]+\.[^@\s]+")


def _page(request: Request, services: ServicesDep, signed: SignedIn, *, status: int = 200,
          **context: Any) -> Response:  # fmt: skip
    asked = request.query_params.get("notice", "")
    context.setdefault("form", {"name": "", "role": "", "email": ""})
    context.setdefault("form_error", None)
    context.setdefault("key_form", {"name": "", "owner": ""})
    context.setdefault("key_error", None)
    context.setdefault("new_key", None)
    context.setdefault("error", None)
    owner_list = registry.list_owners(services.db)
    groups = {kind: [o for o in owner_list if o.kind == kind] for kind in registry.KINDS}
    return render(
        request, signed, "coord/users.html", status=status,
        users=accounts.list_users(services.db), roles=accounts.ROLES,
        min_password=accounts.MIN_PASSWORD, max_password=accounts.MAX_PASSWORD,
        keys=open311.list_api_keys(services.db), owner_groups=groups, key_max=open311.MAX_NAME,
        notice=signed.t(asked) if asked in texts.admin.NOTICES else None,
        **context,
    )  # fmt: skip


@router.get("/c/users")
def users_page(request: Request, services: ServicesDep, signed: AdminDep) -> Response:
    """Every user and every Open311 key, with the forms to add them."""
    return _page(request, services, signed)


def _check_new_user(services: ServicesDep, signed: SignedIn, name: str, role: str, email: str,
                    password: str, password2: str) -> str | None:  # fmt: skip
    """The first problem with the new user's form, in the user's language; None if none."""
    t = signed.t
    if not name or len(name) > 100 or any(ch.isspace() for ch in name):
        return t("admin.users.err.name")
    try:
        accounts.get_user(services.db, name)
        return t("admin.users.err.taken", name=name)
    except accounts.UnknownUser:
        pass
    if role not in accounts.ROLES:
        return t("admin.users.err.role")
    if email and (len(email) > 254 or not _EMAIL.fullmatch(email)):
        return t("admin.users.err.email")
    if len(password) < accounts.MIN_PASSWORD:
        return t("admin.users.err.short", n=accounts.MIN_PASSWORD)
    if len(password) > accounts.MAX_PASSWORD:
        return t("admin.users.err.long", n=accounts.MAX_PASSWORD)
    if not password.strip():
        return t("admin.users.err.blank")
    if password != password2:
        return t("admin.users.err.mismatch")
    return None


def _password(form: Any, name: str) -> str:
    # Not stripped: spaces are part of a password. Cut far above MAX_PASSWORD so "too long"
    # is still reported as such.
    value = form.get(name)
    return value[: accounts.MAX_PASSWORD * 4] if isinstance(value, str) else ""


@router.post("/c/users")
def add_user(request: Request, services: ServicesDep, signed: AdminDep,
             form: FormDep) -> Response:  # fmt: skip
    """Add a user; a refusal keeps everything typed but the passwords."""
    typed = {"name": form_text(form, "name", 200), "role": form_text(form, "role", 50),
             "email": form_text(form, "email", 400)}  # fmt: skip
    password, password2 = _password(form, "password"), _password(form, "password2")
    problem = _check_new_user(services, signed, typed["name"], typed["role"], typed["email"],
                              password, password2)  # fmt: skip
    if problem is None:
        try:
            accounts.add_user(services.db, typed["name"], typed["role"], password, typed["email"],
                              hasher=services.hasher)  # fmt: skip
        except accounts.InvalidAccount as exc:  # e.g. the same name added a moment ago
            problem = exc.message
    if problem is not None:
        return _page(request, services, signed, status=422, form=typed, form_error=problem)
    return redirect("/c/users", notice="admin.users.added")


def _target(services: ServicesDep, user_id: str) -> accounts.User | None:
    return next((u for u in accounts.list_users(services.db) if u.id == user_id), None)


@router.post("/c/users/{user_id}/{action}")
def set_disabled(user_id: str, action: str, request: Request, services: ServicesDep,
                 signed: AdminDep, form: FormDep) -> Response:  # fmt: skip
    """Disable (their sessions end at once) or enable a user; never oneself."""
    if action not in ("disable", "enable"):
        return _page(request, services, signed, status=404, error=signed.t("admin.users.unknown"))
    user = _target(services, user_id)
    if user is None:
        return _page(request, services, signed, status=404, error=signed.t("admin.users.unknown"))
    disable = action == "disable"
    if disable and user.id == signed.user.id:
        return _page(request, services, signed, status=409, error=signed.t("admin.users.not_self"))
    if (user.disabled_at is not None) == disable:
        return redirect("/c/users", notice=f"admin.users.already_{action}d")
    accounts.set_disabled(services.db, user.name, disable)
    return redirect("/c/users", notice=f"admin.users.{action}d")


@router.post("/c/users/api-keys")
def create_key(request: Request, services: ServicesDep, signed: AdminDep,
               form: FormDep) -> Response:  # fmt: skip
    """A new Open311 key, shown once on the page that answers."""
    t = signed.t
    typed = {"name": form_text(form, "name"), "owner": form_text(form, "owner", 100)}
    problem = None
    if not typed["name"]:
        problem = t("admin.keys.name_missing")
    elif len(typed["name"]) > open311.MAX_NAME:
        problem = t("admin.devices.name_too_long", n=open311.MAX_NAME)
    elif typed["owner"] and typed["owner"] not in {o.id for o in registry.list_owners(services.db)}:
        problem = t("admin.keys.unknown_owner")
    elif any(k.name.lower() == " ".join(typed["name"].split()).lower() and not k.revoked_at
             for k in open311.list_api_keys(services.db)):  # fmt: skip
        problem = t("admin.keys.taken", name=typed["name"])
    if problem is None:
        try:
            _, key = open311.create_api_key(services.db, typed["name"], typed["owner"] or None)
        except ServerError as exc:  # what the checks above did not foresee, in its own words
            problem = exc.message
    if problem is not None:
        return _page(request, services, signed, status=422, key_form=typed, key_error=problem)
    return _page(request, services, signed, new_key={"name": typed["name"], "key": key})


@router.get("/c/users/api-keys")
def create_key_get(signed: AdminDep) -> RedirectResponse:
    """A reloaded form address leads back to the page."""
    return redirect("/c/users")


@router.post("/c/users/api-keys/{key_id}/revoke")
def revoke_key(key_id: str, request: Request, services: ServicesDep, signed: AdminDep,
               form: FormDep) -> Response:  # fmt: skip
    """Revoke an Open311 key; again changes nothing and says so."""
    try:
        revoked = open311.revoke_api_key(services.db, key_id[:100])
    except open311.UnknownApiKey:
        return _page(request, services, signed, status=404, error=signed.t("admin.keys.unknown"))
    return redirect("/c/users", notice="admin.keys.revoked" if revoked else
                    "admin.keys.already_revoked")  # fmt: skip

"""Devices in the coordinator web: enrolment codes with a QR code, the device list, revoking.

    GET  /c/devices                    the list, the codes not used yet, the form for a new code
    POST /c/devices/codes              a new code for a named walker, shown once (not a redirect);
                                       `police=1` makes it a police/EST device's code (it sees
                                       disorder findings, which no other device does)
    POST /c/devices/{id}/revoke        revoke (a second time is a no-op with a notice)
    GET  /enrol#CODE                   public: the server address and the code, large, for a phone

What the QR code holds: `{settings.url}/enrol#K7QM-2XPD`. Scanned with any phone camera it opens
a small page that shows the server address and the code in large type, to copy into the app's
"Connect to the server" screen. The code is in the URL's *fragment*, which a browser never sends:
it stays out of access logs, proxies and Referer headers, and the page cannot become an oracle
for guessing codes, because the server never sees which code is asked about (a script from
/static reads the fragment and shows it). The page lists nothing else; it needs no sign-in.

Why the code page is the POST's answer and not a redirect: only the code's hash is stored, so it
cannot be shown again. Reloading it asks the browser to send the form again, which makes a second
code (the first stays valid until it expires; both are listed as not used yet).
"""

from __future__ import annotations

from datetime import timedelta

from fastapi import APIRouter, Request
from fastapi.responses import RedirectResponse, Response
from markupsafe import Markup

from sync_server import texts
from sync_server.api.deps import ServicesDep
from sync_server.api.workspace.pages import (
    CoordinatorDep,
    FormDep,
    SignedIn,
    form_text,
    redirect,
    render,
)
from sync_server.core.errors import UnknownDevice
from sync_server.core.time import iso
from sync_server.documents import qr
from sync_server.field import devices
from walkaudit.model import utcnow

router = APIRouter(include_in_schema=False)

MAX_NAME = 200  # what devices.enrol keeps of a name
MAX_PENDING_LISTED = 100


def enrol_url(base_url: str, code: str) -> str:
    """What the QR code encodes: the public page, with the code in the fragment."""
    return f"{base_url.rstrip('/')}/enrol#{code}"


def _pending_codes(services: ServicesDep) -> list[dict[str, object]]:
    """Codes neither used nor expired, newest first (their names and times; never the code)."""
    return list(
        services.db.conn().query(
            "SELECT name, created_at, expires_at, police FROM enrol_codes"
            " WHERE used_at IS NULL AND expires_at > ? ORDER BY created_at DESC LIMIT ?",
            [iso(utcnow()), MAX_PENDING_LISTED],
        )
    )


def _page(request: Request, services: ServicesDep, signed: SignedIn, *, status: int = 200,
          error: str | None = None, form_error: str | None = None, name: str = "",
          police: bool = False) -> Response:  # fmt: skip
    asked = request.query_params.get("notice", "")
    listed = sorted(devices.list_devices(services.db), key=lambda d: d.created_at, reverse=True)
    return render(
        request, signed, "coord/devices.html", status=status,
        devices=listed, pending=_pending_codes(services), name=name, error=error,
        form_error=form_error, police=police,
        notice=signed.t(asked) if asked in texts.admin.NOTICES else None,
        max_name=MAX_NAME,
    )  # fmt: skip


@router.get("/c/devices")
def devices_page(request: Request, services: ServicesDep, signed: CoordinatorDep) -> Response:
    """Every device, the codes not used yet, and the form for a new code."""
    return _page(request, services, signed)


@router.post("/c/devices/codes")
def create_code(request: Request, services: ServicesDep, signed: CoordinatorDep,
                form: FormDep) -> Response:  # fmt: skip
    """A new one-time code for a named walker, shown once with its QR code."""
    t = signed.t
    name = form_text(form, "name")
    police = bool(form_text(form, "police"))  # a checkbox: sent only when ticked
    if not name:
        return _page(request, services, signed, status=422, police=police,
                     form_error=t("admin.devices.name_missing"))  # fmt: skip
    if len(name) > MAX_NAME:
        return _page(request, services, signed, status=422, name=name, police=police,
                     form_error=t("admin.devices.name_too_long", n=MAX_NAME))  # fmt: skip
    settings = services.settings
    now = utcnow()
    code = devices.create_enrol_code(
        services.db, name, settings.enrol_code_ttl_hours, now=now, police=police
    )
    url = enrol_url(settings.url, code)
    return render(
        request, signed, "coord/enrol_code.html",
        code=code, name=name, server_url=settings.url, enrol_url=url, police=police,
        expires_at=now + timedelta(hours=settings.enrol_code_ttl_hours),
        qr_svg=Markup(qr.svg(url, t("admin.code.qr_label"))),
    )  # fmt: skip


@router.get("/c/devices/codes")
def create_code_get(signed: CoordinatorDep) -> RedirectResponse:
    """A bookmarked or reloaded form address leads back to the devices."""
    return redirect("/c/devices")


@router.post("/c/devices/{device_id}/revoke")
def revoke(device_id: str, request: Request, services: ServicesDep, signed: CoordinatorDep,
           form: FormDep) -> Response:  # fmt: skip
    """Revoke a device; revoking it again changes nothing and says so."""
    try:
        before = devices.get_device(services.db, device_id[:100])
    except UnknownDevice:
        return _page(request, services, signed, status=404,
                     error=signed.t("admin.devices.unknown"))  # fmt: skip
    if before.revoked_at is not None:
        return redirect("/c/devices", notice="admin.devices.already_revoked")
    devices.revoke(services.db, before.id)
    return redirect("/c/devices", notice="admin.devices.revoked")


@router.get("/enrol")
def enrol_page(request: Request, services: ServicesDep) -> Response:
    """Public: the server address; the code comes from the URL's fragment (see the docstring)."""
    response = render(request, None, "coord/enrol.html", server_url=services.settings.url)
    response.headers["Referrer-Policy"] = "no-referrer"
    return response

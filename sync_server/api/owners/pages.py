"""What the owner page shows: the page of findings, the message pages, the redirect after an answer.

Every answer carries `HEADERS`: the token is in the URL, so no Referer may hand it on and no
cache may keep it; the content security policy allows this server's images and styles only.
Link errors and throttling are shown in both languages (whose link it was is not known);
everything else in the owner's language.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

from fastapi import Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from jinja2 import Environment

from sync_server.core.history import SERVER_ACTOR
from sync_server.core.throttle import minutes
from sync_server.core.time import SWEDEN, today_in_sweden
from sync_server.owners import page
from sync_server.owners.links import ExpiredLink, LinkError, OwnerLink, RevokedLink
from walkaudit import i18n
from walkaudit.model import EventKind, new_id

HEADERS = {
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
    max_photo_bytes: int
    today: Callable[[], date] = today_in_sweden


@dataclass(frozen=True)
class FormError:
    """An answer that was refused: shown at its form, with what was typed and the same event id."""

    finding_id: str
    action: str
    message: str
    values: dict[str, str]
    event_id: str


def language(asked: str | None, owner: page.Owner) -> str:
    """?lang= if it is one we speak, else the owner's language, else Swedish."""
    if asked in i18n.LANGUAGES:
        return str(asked)
    return owner.language if owner.language in i18n.LANGUAGES else i18n.DEFAULT_LANGUAGE


def thanks(token: str, lang: str, kind: EventKind, finding_id: str) -> Response:
    """303 to the page with its "Tack!" for this answer."""
    # A finding handed back is gone from the list: its "Tack!" goes to the top of the page.
    anchor = "" if kind is EventKind.NOT_OURS else f"#f-{finding_id}"
    url = f"/o/{token}?lang={lang}&done={kind.value}&f={finding_id}{anchor}"
    return RedirectResponse(url, status_code=303, headers=HEADERS)


def _config(request: Request) -> OwnerPageConfig:
    config: OwnerPageConfig = request.app.state.owner_page
    return config


def _html(templates: Environment, name: str, status: int, **context: Any) -> HTMLResponse:
    body = templates.get_template(name).render(**context)
    return HTMLResponse(body, status_code=status, headers=HEADERS)


def link_error(request: Request, exc: LinkError) -> Response:
    """404 for an unknown link, 410 for an expired or withdrawn one: both languages."""
    # The owner is unknown (or should not be told apart): both languages, Swedish first.
    which = "expired" if isinstance(exc, ExpiredLink) else (
        "revoked" if isinstance(exc, RevokedLink) else "unknown")  # fmt: skip
    status = 404 if which == "unknown" else 410
    texts = [(lang, i18n.t(f"owner.link.{which}.title", lang),
              i18n.t(f"owner.link.{which}.text", lang)) for lang in i18n.LANGUAGES]  # fmt: skip
    return _html(_config(request).templates, "owner/message.html", status, texts=texts,
                 back=None, lang=i18n.DEFAULT_LANGUAGE)  # fmt: skip


def throttled(request: Request, wait: int) -> Response:
    """429 with Retry-After to an address that tried too many unknown links."""
    # Whose link it was is unknown: both languages, the one asked for (?lang=) first.
    asked = request.query_params.get("lang")
    langs = sorted(i18n.LANGUAGES, key=lambda lang: lang != asked)
    texts = [
        (lang, i18n.t("throttle.owner.title", lang),
         i18n.t("throttle.owner.text", lang, minutes=minutes(wait)))
        for lang in langs
    ]  # fmt: skip
    response = _html(_config(request).templates, "owner/message.html", 429, texts=texts,
                     back=None, lang=langs[0])  # fmt: skip
    response.headers["Retry-After"] = str(wait)
    return response


def not_found(request: Request, token: str, lang: str) -> Response:
    """404 for a finding or photo that is not this owner's, with a way back to the page."""
    t = i18n.Translator(lang)
    texts = [(lang, t("owner.not_found.title"), t("owner.not_found.text"))]
    back = (f"/o/{token}?lang={lang}", t("owner.back"))
    return _html(_config(request).templates, "owner/message.html", 404, texts=texts, back=back,
                 lang=lang)  # fmt: skip


def render_page(request: Request, services: Any, token: str, owner: page.Owner,
                link: OwnerLink, lang: str, *, thanks: tuple[EventKind, str | None] | None = None,
                error: FormError | None = None, status: int = 200) -> Response:  # fmt: skip
    """The page of this owner's findings, with a "Tack!" or a refused answer at its form."""
    config = _config(request)
    t = i18n.Translator(lang)
    findings = page.owner_findings(services.db, owner.id)
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


def _actor(actor: str, owner: page.Owner, t: i18n.Translator) -> str:
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

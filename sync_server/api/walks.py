"""The coordinator's walks: the list, a walk's page (map, participants), its protocol.

    GET  /c/walks                                    list (viewer)
    GET  /c/walks/{id}                               route and findings on a map, participants
    GET  /c/walks/{id}/map.json                      the map's data (route, numbered findings)
    POST /c/walks/{id}/participants                  add one (coordinator)
    POST /c/walks/{id}/participants/{pid}/remove     remove one (coordinator)
    GET  /c/walks/{id}/protocol                      the protocol page
    GET  /c/walks/{id}/protocol.pdf                  the protocol as PDF
    POST /c/walks/{id}/protocol/send                 email it to the participants (coordinator)

After a POST the page is shown again through a redirect with `?notice=walks.notice.…` (or
`walks.error.…`): only keys of this module's catalogue are shown, never text from the URL.
A form with a bad value is answered with the page itself (422), its fields as they were typed.
"""

from __future__ import annotations

from typing import Any
from urllib.parse import urlencode

from fastapi import APIRouter, BackgroundTasks, Request
from fastapi.responses import JSONResponse, Response

from sync_server import texts
from sync_server.api.deps import Services, ServicesDep
from sync_server.api.workspace.pages import (
    CoordinatorDep,
    FormDep,
    SignedIn,
    ViewerDep,
    form_text,
    not_found,
    redirect,
    render,
)
from sync_server.reports import deliver_queued
from sync_server.walks import (
    BadParticipant,
    NoParticipants,
    Protocol,
    UnknownWalk,
    add_participant,
    get_walk,
    list_walks,
    load_protocol,
    participants,
    remove_participant,
    route_points,
)
from sync_server.walks.mail import dispatches, send_protocol
from sync_server.walks.pdf import filename, pdf_photos, render_walk_protocol

router = APIRouter(tags=["coordinator"], include_in_schema=False)
PER_PAGE = 25


def _not_found(request: Request, signed: SignedIn) -> Response:
    return not_found(request, signed, "coord.not_found.walk")


def _messages(request: Request, signed: SignedIn) -> dict[str, Any]:
    """The notice or error a redirect asked for (a key of texts.walks only), translated."""
    key = request.query_params.get("notice", "")
    if key not in texts.walks.MESSAGES or not key.startswith(("walks.notice.", "walks.error.")):
        return {}
    values = {}
    for name in ("n", "m"):
        raw = request.query_params.get(name, "0")
        values[name] = int(raw) if raw.isdigit() and len(raw) < 7 else 0
    text = signed.t(key, **values)
    return {"error": text} if key.startswith("walks.error.") else {"notice": text}


@router.get("/c/walks")
def walks_list(
    request: Request,
    signed: ViewerDep,
    services: ServicesDep,
    area: str = "",
    q: str = "",
    page: str = "1",
) -> Response:
    """Walks newest first, paged, filtered by area and text."""
    area, q = area.strip()[:200], q.strip()[:200]
    number = int(page) if page.isdigit() and len(page) < 7 else 1
    found = list_walks(services.db, area=area, q=q, page=number, per_page=PER_PAGE)

    def page_url(n: int) -> str:
        pairs = [(k, v) for k, v in (("area", area), ("q", q), ("page", str(n))) if v]
        return "/c/walks?" + urlencode(pairs)

    return render(
        request,
        signed,
        "coord/walks.html",
        found=found,
        area=area,
        q=q,
        filtered=bool(area or q),
        page_url=page_url,
    )


def _walk_page(
    request: Request,
    signed: SignedIn,
    services: Services,
    walk_id: str,
    status: int = 200,
    **extra: Any,
) -> Response:
    walk = get_walk(services.db, walk_id)
    form = extra.pop("form", {"name": "", "organisation": "", "email": ""})
    extra.setdefault("form_error", "")
    return render(
        request,
        signed,
        "coord/walk.html",
        status=status,
        walk=walk,
        people=participants(services.db, walk_id),
        form=form,
        **(_messages(request, signed) | extra),
    )


@router.get("/c/walks/{walk_id}")
def walk_page(request: Request, walk_id: str, signed: ViewerDep, services: ServicesDep) -> Response:
    """A walk: its facts, its route and findings on a map, its participants."""
    try:
        return _walk_page(request, signed, services, walk_id)
    except UnknownWalk:
        return _not_found(request, signed)


@router.get("/c/walks/{walk_id}/map.json")
def walk_map(walk_id: str, signed: ViewerDep, services: ServicesDep) -> Response:
    """The walk map's data: the route as [lat, lon] pairs and the findings, numbered as in the
    protocol, with their texts in the user's language."""
    try:
        protocol = load_protocol(services.db, walk_id)
    except UnknownWalk as exc:
        return JSONResponse({"detail": exc.message}, status_code=404)
    t = signed.t
    findings = [
        {
            "id": e.finding_id,
            "n": e.number,
            "lat": e.latitude,
            "lon": e.longitude,
            "severity": e.severity,
            "title": f"{e.number}. {t.category(e.category)} – {t(f'severity.{e.severity}')}",
            "note": e.note[:300],
            "owner": g.owner_name or t("walks.protocol.unassigned"),
            "status": t(f"status.{e.status}"),
            "url": f"/c/findings/{e.finding_id}",
        }
        for g in protocol.groups
        for e in g.entries
    ]
    body = {
        "route": [[lat, lon] for lat, lon in route_points(services.db, walk_id)],
        "findings": findings,
        "labels": {"open": t("walks.map.open_finding")},
    }
    return JSONResponse(body, headers={"Cache-Control": "no-store"})


@router.post("/c/walks/{walk_id}/participants")
def participant_add(
    request: Request, walk_id: str, signed: CoordinatorDep, form: FormDep, services: ServicesDep
) -> Response:
    """Add a participant; a bad email is answered with the page and the fields as typed."""
    typed = {k: form_text(form, k) for k in ("name", "organisation", "email")}
    url = f"/c/walks/{walk_id}"
    try:
        added = add_participant(
            services.db,
            walk_id,
            name=typed["name"],
            organisation=typed["organisation"],
            email=typed["email"],
        )
    except UnknownWalk:
        return _not_found(request, signed)
    except BadParticipant as exc:
        values = dict(exc.values)
        if "field" in values:
            values["field"] = signed.t(f"walks.participants.{values['field']}")
        return _walk_page(
            request,
            signed,
            services,
            walk_id,
            status=422,
            form=typed,
            form_error=signed.t(exc.key, **values),
        )
    notice = "walks.notice.added" if added else "walks.notice.duplicate"
    return _to_participants(redirect(url, notice=notice))


@router.post("/c/walks/{walk_id}/participants/{participant_id}/remove")
def participant_remove(
    request: Request,
    walk_id: str,
    participant_id: str,
    signed: CoordinatorDep,
    form: FormDep,
    services: ServicesDep,
) -> Response:
    """Remove a participant (a second click says it is already gone)."""
    try:
        get_walk(services.db, walk_id)
    except UnknownWalk:
        return _not_found(request, signed)
    number = int(participant_id) if participant_id.isdigit() and len(participant_id) < 19 else 0
    removed = number > 0 and remove_participant(services.db, walk_id, number)
    notice = "walks.notice.removed" if removed else "walks.notice.gone"
    return _to_participants(redirect(f"/c/walks/{walk_id}", notice=notice))


def _to_participants(response: Response) -> Response:
    # The fragment goes after the query `redirect` added: the page opens at the list.
    response.headers["location"] += "#participants"
    return response


@router.get("/c/walks/{walk_id}/protocol")
def protocol_page(
    request: Request, walk_id: str, signed: ViewerDep, services: ServicesDep
) -> Response:
    """The protocol: header, findings by owner, and who it was sent to when."""
    try:
        protocol = load_protocol(services.db, walk_id)
    except UnknownWalk:
        return _not_found(request, signed)
    latest = dispatches(services.db, walk_id)
    sent = sorted(latest.values(), key=lambda d: d.created_at, reverse=True)
    # What was sent is the participants' version (without disorder findings): compare with it.
    mailed = load_protocol(services.db, walk_id, for_participants=True)
    # The participants' latest messages (one removed since keeps its line in the list).
    theirs = [d for p in protocol.participants if (d := latest.get(p.email.lower()))]
    current = [d for d in theirs if d.version == mailed.version and d.state == "sent"]
    return render(
        request,
        signed,
        "coord/protocol.html",
        protocol=protocol,
        sent=sent,
        changed=any(d.version != mailed.version for d in theirs),
        police_only=mailed.police_only,
        current=len(current),
        open_sent=any(d.state == "failed" for d in sent) or len(sent) <= 3,
        owner_label=lambda g: g.owner_name or signed.t("walks.protocol.unassigned"),
        **_messages(request, signed),
    )


@router.get("/c/walks/{walk_id}/protocol.pdf")
def protocol_pdf(
    request: Request, walk_id: str, signed: ViewerDep, services: ServicesDep
) -> Response:
    """The protocol as a PDF, with photos."""
    try:
        protocol = load_protocol(services.db, walk_id)
    except UnknownWalk:
        return _not_found(request, signed)
    pdf = _pdf(services, protocol, signed.lang)
    name = filename(protocol, signed.lang)
    return Response(
        pdf,
        media_type="application/pdf",
        headers={"Content-Disposition": f'inline; filename="{name}"', "Cache-Control": "no-store"},
    )


def _pdf(services: Services, protocol: Protocol, lang: str) -> bytes:
    route = route_points(services.db, protocol.walk.id)
    photos = pdf_photos(services.blobs, protocol)
    return render_walk_protocol(protocol, lang=lang, route=route, photos=photos)


@router.post("/c/walks/{walk_id}/protocol/send")
def protocol_send(
    request: Request,
    walk_id: str,
    signed: CoordinatorDep,
    form: FormDep,
    services: ServicesDep,
    background: BackgroundTasks,
) -> Response:
    """Email the protocol to every participant who does not have this version yet."""
    url = f"/c/walks/{walk_id}/protocol"
    try:
        result = send_protocol(
            services.db, services.blobs, services.settings, walk_id, lang=signed.lang
        )
    except UnknownWalk:
        return _not_found(request, signed)
    except NoParticipants:
        return redirect(url, notice="walks.error.no_participants")
    if not result.queued:
        return redirect(url, notice="walks.notice.already_sent")
    # Hand it to the mail server now rather than at the next report pass (minutes away); what
    # fails here is retried by the passes, as every message in the outbox is.
    background.add_task(deliver_queued, services.db, services.settings)
    if result.already:
        return redirect(
            f"{url}?n={len(result.queued)}&m={len(result.already)}", notice="walks.notice.sent_some"
        )
    return redirect(f"{url}?n={len(result.queued)}", notice="walks.notice.sent")

"""Triage and follow-up walks in the coordinator web."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Path, Request
from fastapi.responses import Response

from sync_server.api.deps import ServicesDep
from sync_server.api.workspace.findings import notice_text
from sync_server.api.workspace.pages import (
    CoordinatorDep,
    FormDep,
    ViewerDep,
    form_text,
    not_found,
    redirect,
    render,
)
from sync_server.mail import outbox
from sync_server.owners import routing
from sync_server.owners.registry import list_owners
from sync_server.workspace import followups
from walkaudit.model import new_id

router = APIRouter(tags=["coordinator"], include_in_schema=False)


@router.get("/c/triage")
def triage_page(request: Request, signed: ViewerDep, services: ServicesDep) -> Response:
    """Findings without a responsible owner, each with a choice of owner."""
    items = routing.triage(services.db)
    owners = list_owners(services.db) if signed.user.can("coordinator") else []
    failed = outbox.failed_messages(services.db)[:200]
    return render(
        request,
        signed,
        "coord/triage.html",
        items=items,
        failed=failed,
        owners=owners,
        event_id=new_id(),
        notice=notice_text(signed, request.query_params.get("notice")),
    )


@router.post("/c/outbox/{outbox_id}/retry")
def retry_message(outbox_id: Annotated[int, Path(ge=1, le=2**63 - 1)], signed: CoordinatorDep,
                  form: FormDep,
                  services: ServicesDep) -> Response:  # fmt: skip
    """Send a failed message again (after the address or the mail settings were fixed)."""
    again = outbox.retry_failed(services.db, outbox_id)
    return redirect("/c/triage#failed", "triage.retried" if again else "triage.retried_already")


@router.get("/c/followups")
def followups_page(
    request: Request, signed: ViewerDep, services: ServicesDep, area: str = ""
) -> Response:
    """Follow-ups so far, and (for coordinators) a new one from an area's open findings."""
    candidates: list[dict[str, object]] = []
    if area and signed.user.can("coordinator"):
        candidates = followups.candidates(services.db, area)
    return render(
        request,
        signed,
        "coord/followups.html",
        followups=followups.list_followups(services.db),
        areas=followups.areas_with_open(services.db),
        area=area.strip()[:200],
        candidates=candidates,
        followup_id=new_id(),
        values={},
        notice=notice_text(signed, request.query_params.get("notice")),
    )


@router.post("/c/followups")
def create_followup(
    request: Request, signed: CoordinatorDep, form: FormDep, services: ServicesDep
) -> Response:
    """Create a follow-up of the chosen findings (idempotent by the form's id)."""
    area, name = form_text(form, "area", 200), form_text(form, "name", 200)
    ids = [v for v in form.getlist("finding") if isinstance(v, str)]
    try:
        followup_id = followups.create(
            services.db,
            name,
            area,
            ids,
            signed.user.actor,
            form_text(form, "followup_id", 40) or None,
        )
    except followups.InvalidFollowup as exc:
        return render(
            request,
            signed,
            "coord/followups.html",
            status=422,
            error=signed.t(exc.key),
            followups=followups.list_followups(services.db),
            areas=followups.areas_with_open(services.db),
            area=area,
            candidates=[],
            followup_id=new_id(),
            values={"name": name},
        )
    return redirect(f"/c/followups/{followup_id}", "followups.created")


@router.get("/c/followups/{followup_id}")
def followup_page(
    followup_id: str, request: Request, signed: ViewerDep, services: ServicesDep
) -> Response:
    """One follow-up: its findings and what the walk answered."""
    try:
        followup = followups.get(services.db, followup_id)
    except followups.NoSuchFollowup:
        return not_found(request, signed, "coord.not_found.followup")
    return render(
        request,
        signed,
        "coord/followup.html",
        followup=followup,
        items=followups.items(services.db, followup_id),
        notice=notice_text(signed, request.query_params.get("notice")),
    )


@router.post("/c/followups/{followup_id}/close")
def close_followup(
    followup_id: str, signed: CoordinatorDep, form: FormDep, services: ServicesDep
) -> Response:
    """Close a follow-up (walkers no longer get it by name)."""
    try:
        followups.close(services.db, followup_id)
    except followups.NoSuchFollowup:
        return redirect("/c/followups")
    return redirect(f"/c/followups/{followup_id}")

"""The coordinator's actions on one finding (POST, coordinators only, CSRF-checked), and
*Try again* for what a background pass set aside.

Each answers with a redirect to the finding's page and a notice (so a reload does not post
again), or the page again with the error and what was typed. Forms carry an event id made when
the page was drawn: a second click finds it recorded and changes nothing.
"""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.responses import Response
from starlette.datastructures import FormData

from sync_server.api.deps import ServicesDep
from sync_server.api.workspace.findings import finding_response
from sync_server.api.workspace.pages import CoordinatorDep, FormDep, SignedIn, form_text, redirect
from sync_server.core import set_aside
from sync_server.core.history import add_server_event
from sync_server.owners import routing
from sync_server.owners.errors import UnknownOwner
from sync_server.workspace import tracking
from sync_server.workspace.tracking import AlreadyRecorded, InvalidAction, NoSuchFinding
from walkaudit.model import EventKind, new_id

router = APIRouter(tags=["coordinator"], include_in_schema=False)


def _event_id(form: FormData) -> str:
    # Made when the page was drawn: the same form posted twice names the same event.
    return form_text(form, "event_id", 40) or new_id()


def _back(finding_id: str, notice: str, form: object = None) -> Response:
    target = f"/c/findings/{finding_id}"
    if form is not None:
        nxt = form_text(form, "next", 500)  # type: ignore[arg-type]
        if nxt.startswith("/c/") and not nxt.startswith("//"):
            target = nxt
    return redirect(target, notice)


def _refused(
    request: Request,
    signed: SignedIn,
    services: ServicesDep,
    finding_id: str,
    exc: Exception,
    values: dict[str, str],
) -> Response:
    if isinstance(exc, NoSuchFinding):
        return finding_response(request, signed, services, finding_id, status=404)
    if isinstance(exc, AlreadyRecorded):
        return _back(finding_id, "findings.done.twice")
    if isinstance(exc, InvalidAction) and exc.key:
        message = signed.t(exc.key, **exc.values)
    else:
        message = signed.t("findings.error.owner", reason=getattr(exc, "message", str(exc)))
    return finding_response(
        request, signed, services, finding_id, status=409, error=message, values=values
    )


@router.post("/c/findings/{finding_id}/owner")
def set_owner(
    finding_id: str, request: Request, signed: CoordinatorDep, form: FormDep, services: ServicesDep
) -> Response:
    """Set the responsible owner by hand (also how triage is answered)."""
    owner_id, note = form_text(form, "owner_id", 100), form_text(form, "note", 1000)
    if not owner_id:
        message = signed.t("findings.error.owner_missing")
        return finding_response(request, signed, services, finding_id, status=422, error=message)
    try:
        routing.set_owner(
            services.db,
            finding_id,
            owner_id,
            note=f"{signed.user.name}: {note}" if note else signed.user.name,
        )
    except (routing.RoutingError, UnknownOwner) as exc:
        if isinstance(exc, routing.UnknownFinding):
            return finding_response(request, signed, services, finding_id, status=404)
        key = "findings.error.unknown_owner"
        if isinstance(exc, routing.NoContact):
            key = "findings.error.no_contact"
        elif isinstance(exc, routing.WrongOwner):
            key = "findings.error.wrong_owner"
        return _refused(
            request,
            signed,
            services,
            finding_id,
            InvalidAction(exc.message, key),
            {"owner_note": note},
        )
    tracking.set_flag(services.db, finding_id, False)
    return _back(finding_id, "findings.done.owner_plain", form)


@router.post("/c/findings/{finding_id}/plan")
def set_plan(
    finding_id: str, request: Request, signed: CoordinatorDep, form: FormDep, services: ServicesDep
) -> Response:
    """Priority (1-3) and deadline."""
    values = {
        "priority": form_text(form, "priority", 5),
        "deadline": form_text(form, "deadline", 20),
    }
    try:
        changed = tracking.set_plan(
            services.db,
            finding_id,
            actor=signed.user.actor,
            event_id=_event_id(form),
            **values,
        )
    except tracking.TrackingError as exc:
        return _refused(request, signed, services, finding_id, exc, values)
    return _back(finding_id, "findings.done.plan" if changed else "findings.done.plan_same")


@router.post("/c/findings/{finding_id}/status")
def change_status(
    finding_id: str, request: Request, signed: CoordinatorDep, form: FormDep, services: ServicesDep
) -> Response:
    """Change the status (an event with the coordinator's comment)."""
    values = {"status": form_text(form, "status", 20), "status_note": form_text(form, "note")}
    try:
        tracking.change_status(
            services.db,
            finding_id,
            values["status"],
            actor=signed.user.actor,
            note=values["status_note"],
            event_id=_event_id(form),
        )
    except tracking.TrackingError as exc:
        return _refused(request, signed, services, finding_id, exc, values)
    return _back(finding_id, "findings.done.status", form)


@router.post("/c/findings/{finding_id}/reopen")
def reopen(
    finding_id: str, request: Request, signed: CoordinatorDep, form: FormDep, services: ServicesDep
) -> Response:
    """Reopen a finding that was done (or called not ours)."""
    values = {"reopen_note": form_text(form, "note")}
    try:
        tracking.reopen(
            services.db,
            finding_id,
            actor=signed.user.actor,
            note=values["reopen_note"],
            event_id=_event_id(form),
        )
    except tracking.TrackingError as exc:
        return _refused(request, signed, services, finding_id, exc, values)
    return _back(finding_id, "findings.done.reopen")


@router.post("/c/findings/{finding_id}/merge")
def merge(
    finding_id: str, request: Request, signed: CoordinatorDep, form: FormDep, services: ServicesDep
) -> Response:
    """Merge this finding (a duplicate) into another; shows the one that remains."""
    values = {"into": form_text(form, "into", 100)}
    if not values["into"]:
        exc = InvalidAction("no target", "findings.error.no_target", target="–")
        return _refused(request, signed, services, finding_id, exc, values)
    try:
        target = tracking.merge(
            services.db,
            finding_id,
            values["into"],
            actor=signed.user.actor,
            event_id=_event_id(form),
        )
    except tracking.TrackingError as exc:
        return _refused(request, signed, services, finding_id, exc, values)
    return _back(target, "findings.done.merge")


@router.post("/c/findings/{finding_id}/unmerge")
def unmerge(
    finding_id: str, request: Request, signed: CoordinatorDep, form: FormDep, services: ServicesDep
) -> Response:
    """Undo a merge made by mistake: the duplicate is listed again, reopened."""
    try:
        tracking.unmerge(
            services.db,
            finding_id,
            actor=signed.user.actor,
            event_id=_event_id(form),
        )
    except tracking.TrackingError as exc:
        return _refused(request, signed, services, finding_id, exc, {})
    return _back(finding_id, "findings.done.unmerge")


@router.post("/c/findings/{finding_id}/flag")
def flag(
    finding_id: str, request: Request, signed: CoordinatorDep, form: FormDep, services: ServicesDep
) -> Response:
    """Set or clear the attention flag."""
    try:
        tracking.set_flag(
            services.db, finding_id, form_text(form, "flag") == "1", note=f"{signed.user.name}"
        )
    except tracking.TrackingError as exc:
        return _refused(request, signed, services, finding_id, exc, {})
    return _back(finding_id, "findings.done.flag")


@router.post("/c/findings/{finding_id}/comment")
def comment(
    finding_id: str, request: Request, signed: CoordinatorDep, form: FormDep, services: ServicesDep
) -> Response:
    """A comment in the finding's history."""
    note = form_text(form, "note")
    if not note:
        message = signed.t("findings.error.comment_empty")
        return finding_response(request, signed, services, finding_id, status=422, error=message)
    try:
        with services.db.write() as tx:
            recorded = add_server_event(
                tx,
                finding_id,
                EventKind.COMMENT,
                actor=signed.user.actor,
                note=note,
                event_id=form_text(form, "event_id", 40) or None,
            )
    except LookupError:
        return finding_response(request, signed, services, finding_id, status=404)
    return _back(finding_id, "findings.done.comment" if recorded else "findings.done.twice")


@router.post("/c/set-aside/retry")
def retry_set_aside(signed: CoordinatorDep, form: FormDep, services: ServicesDep) -> Response:
    """*Try again* on the triage page: the next pass takes the set-aside item up again."""
    step, item = form_text(form, "step", 20), form_text(form, "item", 100)
    released = step in set_aside.STEPS and set_aside.release(services.db, step, item)
    notice = "triage.set_aside.retried" if released else "triage.set_aside.retried_already"
    target = form_text(form, "next", 500)
    if not target.startswith("/c/") or target.startswith("//"):
        target = "/c/triage#set-aside"
    return redirect(target, notice)

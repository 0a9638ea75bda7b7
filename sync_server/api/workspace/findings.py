"""The coordinator's findings: the filtered list, the map, one finding's page, staff photos."""

from __future__ import annotations

import re
from datetime import datetime
from typing import Annotated, Any

from fastapi import APIRouter, Query, Request
from fastapi.responses import FileResponse, Response

from sync_server import texts  # noqa: F401 - the findings pages' words, registered once
from sync_server.api.deps import ServicesDep
from sync_server.api.workspace.pages import SignedIn, ViewerDep, not_found, render
from sync_server.core import finding_filters
from sync_server.documents import thumbnails
from sync_server.owners import policy
from sync_server.owners.registry import list_owners
from sync_server.workspace import finding_list
from sync_server.workspace.tracking import STATUS_EVENTS
from walkaudit import i18n
from walkaudit.categories import CATEGORIES
from walkaudit.model import SHA256_PATTERN, FindingStatus, new_id

router = APIRouter(tags=["coordinator"], include_in_schema=False)

PageNo = Annotated[int, Query(ge=1, le=100_000)]


def notice_text(signed: SignedIn, key: str | None) -> str | None:
    """The notice a redirect asked for (`?notice=KEY`), if it names one of our messages."""
    if (
        key
        and key in i18n.MESSAGES
        and key.startswith(("findings.", "followups.", "walks.", "admin.", "stats.", "triage."))
    ):
        return signed.t(key)
    return None


def _filters_or_error(
    request: Request, signed: SignedIn
) -> tuple[finding_filters.Filters, str | None]:
    try:
        return finding_filters.parse(request.query_params), None
    except finding_filters.FilterError as exc:
        return finding_filters.Filters(), signed.t("findings.bad_filter", reason=str(exc))


@router.get("/c/findings")
def findings_page(
    request: Request,
    signed: ViewerDep,
    services: ServicesDep,
    page: PageNo = 1,
    sort: str = "newest",
) -> Response:
    """The filtered, paged list of findings."""
    filters, error = _filters_or_error(request, signed)
    sort = sort if sort in finding_list.SORTS else "newest"
    result = finding_list.list_page(services.db, filters, page, sort)
    return render(
        request,
        signed,
        "coord/findings.html",
        status=422 if error else 200,
        error=error,
        filters=filters,
        result=result,
        sort=sort,
        sorts=finding_list.SORTS,
        choices=finding_list.choices(services.db),
        statuses=finding_filters.STATUS_CHOICES,
        severities=finding_filters.SEVERITIES,
        today=finding_filters_today(),
        attention=finding_list.attention(services.db),
        notice=notice_text(signed, request.query_params.get("notice")),
    )


def finding_filters_today() -> str:
    """Today's Swedish date, ISO (what deadlines are compared with)."""
    return datetime.now(finding_filters.SWEDEN).date().isoformat()


@router.get("/c/map")
def map_page(request: Request, signed: ViewerDep, services: ServicesDep) -> Response:
    """The findings on a clustered map, with the list's filters."""
    filters, error = _filters_or_error(request, signed)
    return render(
        request,
        signed,
        "coord/map.html",
        status=422 if error else 200,
        error=error,
        filters=filters,
        choices=finding_list.choices(services.db),
        statuses=finding_filters.STATUS_CHOICES,
        severities=finding_filters.SEVERITIES,
        sort="newest",
        sorts=finding_list.SORTS,
        max_points=finding_list.MAX_MAP_POINTS,
        category_labels={
            "categories": {c.code: signed.t.category(c.code) for c in CATEGORIES},
            "statuses": {s.value: signed.t(f"status.{s.value}") for s in FindingStatus},
        },
    )


@router.get("/c/map.json")
def map_json(request: Request, signed: ViewerDep, services: ServicesDep) -> Response:
    """Map points of the filtered findings (compact arrays)."""
    try:
        filters = finding_filters.parse(request.query_params)
    except finding_filters.FilterError as exc:
        return Response(f'{{"detail": "{exc}"}}', status_code=422, media_type="application/json")
    body = finding_list.map_points(services.db, filters)
    return Response(body, media_type="application/json", headers={"Cache-Control": "no-store"})


@router.get("/c/findings/{finding_id}")
def finding_page(
    finding_id: str, request: Request, signed: ViewerDep, services: ServicesDep
) -> Response:
    """One finding: photos, position, history and (for coordinators) the actions."""
    return finding_response(
        request,
        signed,
        services,
        finding_id,
        notice=notice_text(signed, request.query_params.get("notice")),
    )


def finding_response(
    request: Request,
    signed: SignedIn,
    services: Any,
    finding_id: str,
    *,
    status: int = 200,
    notice: str | None = None,
    error: str | None = None,
    values: dict[str, str] | None = None,
) -> Response:
    """The finding's page (also after a refused action, with the error and what was typed)."""
    finding = finding_list.detail(services.db, finding_id.strip().lower())
    if finding is None:
        return not_found(request, signed, "coord.not_found.finding")
    owners = list_owners(services.db) if signed.user.can("coordinator") else []
    return render(
        request,
        signed,
        "coord/finding.html",
        status=status,
        notice=notice,
        error=error,
        f=finding,
        owners=owners,
        values=values or {},
        event_id=new_id(),
        statuses=list(STATUS_EVENTS),
        actor_label=actor_label,
        suggested_deadline=policy.deadline(finding["severity"], finding["captured_at"]),
    )


def actor_label(t: i18n.Translator, actor: str, names: dict[str, str] | None = None) -> str:
    """Who made an event, in words: the system, a walker, an owner, a coordinator."""
    kind, _, who = actor.partition(":")
    if kind == "device":
        return t("findings.actor.walker", name=who[:8])
    if kind == "owner":
        return t("findings.actor.owner", name=(names or {}).get(who, who[:8]))
    if kind in ("user", "open311"):
        return t("findings.actor.user", name=who)
    return t("findings.actor.server")


@router.get("/c/photos/{sha256}.jpg")
def photo(sha256: str, signed: ViewerDep, services: ServicesDep, size: str = "") -> Response:
    """A stored photo (the metadata-free upload copy) for signed-in staff; `?size=thumb` for a
    640 px copy (a protocol of 50 findings on a phone should not load 50 full photos)."""
    if (
        not re.fullmatch(SHA256_PATTERN, sha256)
        or not services.blobs.exists(sha256)
        or not finding_list.photo_is_known(services.db, sha256)
    ):
        return Response("no such photo", status_code=404, media_type="text/plain")
    path = services.blobs.path(sha256)
    if size == "thumb":
        path = thumbnails.thumbnail(services.settings.data_dir / "thumbs", path, sha256)
    return FileResponse(
        path, media_type="image/jpeg", headers={"Cache-Control": "private, max-age=86400"}
    )

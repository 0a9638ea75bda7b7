"""Exports of the filtered findings: /c/export.csv and /c/export.geojson (every role may read).

The query string is the findings list's (core.finding_filters), so the file holds exactly
the rows the coordinator saw; `delimiter=semicolon` gives Excel with Swedish settings its CSV
(see workspace.export). A filter that cannot be used answers 422 with a page that says which.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import datetime

from fastapi import APIRouter, Request
from fastapi.responses import Response, StreamingResponse

from sync_server import texts  # noqa: F401 - every catalogue, registered once
from sync_server.api.deps import ServicesDep
from sync_server.api.workspace.pages import SignedIn, ViewerDep, render
from sync_server.core import finding_filters
from sync_server.core.finding_filters import FilterError
from sync_server.core.time import SWEDEN
from sync_server.workspace import export

router = APIRouter(include_in_schema=False)


def _selected(request: Request, services: ServicesDep, signed: SignedIn
              ) -> Iterator[tuple[object, ...]] | Response:  # fmt: skip
    try:
        filters = finding_filters.parse(request.query_params)
    except FilterError as exc:
        return _refuse(request, signed, str(exc))
    return export.rows(services.db, filters)


def _refuse(request: Request, signed: SignedIn, reason: str) -> Response:
    return render(request, signed, "coord/message.html", status=422,
                  key="admin.export.bad_filter", status_title="admin.export.title",
                  error=reason)  # fmt: skip


def _download(chunks: Iterator[bytes], media_type: str, extension: str) -> StreamingResponse:
    name = export.filename(extension, datetime.now(SWEDEN).date())
    return StreamingResponse(chunks, media_type=media_type, headers={
        "Content-Disposition": f'attachment; filename="{name}"',
        "Cache-Control": "no-store",
        "X-Content-Type-Options": "nosniff",
    })  # fmt: skip


@router.get("/c/export.csv")
def export_csv(request: Request, services: ServicesDep, signed: ViewerDep) -> Response:
    """The filtered findings as CSV (UTF-8 with BOM), streamed."""
    asked = request.query_params.get("delimiter", "comma").strip().lower() or "comma"
    if asked not in export.DELIMITERS:
        return _refuse(request, signed, f"delimiter: use one of {', '.join(export.DELIMITERS)}")
    found = _selected(request, services, signed)
    if isinstance(found, Response):
        return found
    chunks = export.csv_chunks(found, services.settings.url, signed.lang,
                               export.DELIMITERS[asked])  # fmt: skip
    return _download(chunks, "text/csv; charset=utf-8", "csv")


@router.get("/c/export.geojson")
def export_geojson(request: Request, services: ServicesDep, signed: ViewerDep) -> Response:
    """The filtered findings as a GeoJSON FeatureCollection, streamed."""
    found = _selected(request, services, signed)
    if isinstance(found, Response):
        return found
    chunks = export.geojson_chunks(found, services.settings.url, signed.lang)
    return _download(chunks, "application/geo+json", "geojson")

"""The lägesbild pages: statistics, heat map data, and the weekly summary (page, PDF, email).

    GET  /c/stats               counts over time per category and area, owners, heat map (viewer)
    GET  /c/stats/heat.json     the selection's findings summed on a grid: [lat, lon, n] (viewer)
    GET  /c/summary?week=…      one ISO week's lägesbild; default the last full week (viewer)
    GET  /c/summary.pdf?week=…  the same as a PDF (viewer)
    POST /c/summary/send        email it to a list of addresses, each once per week (coordinator)

The numbers come from `stats.index.StatsIndex` (one per app, made on first use and kept on
app.state) and `stats.week`; the charts are SVG drawn by `charts`.
"""

from __future__ import annotations

from dataclasses import replace
from datetime import date, datetime
from typing import Any

from fastapi import APIRouter, BackgroundTasks, Request
from fastapi.responses import JSONResponse, Response
from markupsafe import Markup

from sync_server import texts  # noqa: F401 - every catalogue, registered once
from sync_server.api.deps import Services, ServicesDep
from sync_server.api.workspace.pages import (
    CoordinatorDep,
    FormDep,
    SignedIn,
    ViewerDep,
    form_text,
    redirect,
    render,
)
from sync_server.core.finding_filters import FilterError
from sync_server.core.time import SWEDEN, today_in_sweden
from sync_server.mail import is_queued
from sync_server.reports import deliver_queued
from sync_server.stats import charts, numbers
from sync_server.stats.index import StatsIndex
from sync_server.stats.pdf import render_summary
from sync_server.stats.week import (
    MAX_RECIPIENTS,
    BadWeek,
    Week,
    dedupe_key,
    dispatches,
    parse_recipients,
    send_summary,
    weekly_summary,
)
from sync_server.texts.workspace import CATEGORY_ORDER
from walkaudit import categories, i18n

router = APIRouter(tags=["coordinator"], include_in_schema=False)
NOTICES = (
    "stats.summary.notice.sent",
    "stats.summary.notice.already",
    "stats.summary.notice.sent_some",
)
_NO_STORE = {"Cache-Control": "no-store", "X-Content-Type-Options": "nosniff"}


def stats_index(request: Request, services: Services) -> StatsIndex:
    """The app's statistics index (create_app makes it; an app built otherwise gets one here)."""
    index: StatsIndex | None = getattr(request.app.state, "stats_index", None)
    if index is None:
        index = request.app.state.stats_index = StatsIndex(services.db)
    return index


# ---- statistics ---------------------------------------------------------------------------------


def _selection(
    request: Request, signed: SignedIn, services: Services, today: date
) -> tuple[numbers.Selection, str | None, str | None]:
    """(selection, notice, error) from the query string; a bad value falls back to the default."""
    t, notice, error = signed.t, None, None
    try:
        selection = numbers.parse_selection(
            request.query_params, today, numbers.earliest_day(services.db)
        )
    except FilterError as exc:
        selection, error = numbers.default_selection(today), t("stats.filter.error", reason=exc)
    if selection.period == "week" and (n := numbers.week_count(selection)) > numbers.MAX_WEEKS:
        selection, notice = replace(selection, period="month"), t("stats.weeks_too_many", n=n)
    return selection, notice, error


def period_labels(
    t: i18n.Translator, starts: list[date], period: str
) -> tuple[list[str], list[str]]:
    """(short axis labels, full names) of the periods: 'jan 26'/'jan 2026', 'v5'/'v5 2026'."""
    short, full = [], []
    for k, start in enumerate(starts):
        if period == "week":
            year, week, _ = start.isocalendar()
            short.append(t("stats.week_label", week=week))
            full.append(f"{t('stats.week_label_year', week=week, year=year)} ({start.isoformat()})")
        else:
            name = t(f"stats.month.{start.month}")
            short.append(f"{name} {start.year % 100:02d}" if k == 0 or start.month == 1 else name)
            full.append(f"{name} {start.year}")
    return short, full


def _charts(t: i18n.Translator, ov: numbers.Overview) -> dict[str, Any]:
    """The two charts, each drawn wide (desktop) and narrow (phone), and their table data."""
    short, full = period_labels(t, ov.periods, ov.selection.period)
    series = [
        charts.Series(c.code, t.category(c.code), categories.colour(c.code), ov.by_category[c.code])
        for c in CATEGORY_ORDER
        if c.code in ov.by_category
    ]
    totals = [sum(s.values[i] for s in series) for i in range(len(ov.periods))]
    busiest = max(range(len(totals)), key=lambda i: totals[i]) if totals else 0
    unit = t(f"stats.unit.{ov.selection.period}")
    title = t("stats.chart.time.title", period=unit)
    desc = t(
        "stats.chart.time.desc",
        period=unit,
        first=ov.selection.first.isoformat(),
        last=ov.selection.last.isoformat(),
        total=ov.total,
        max_label=full[busiest] if full else "–",
        max=totals[busiest] if totals else 0,
    )
    rows = [(a.name or t("stats.no_area"), a.open, a.total - a.open) for a in ov.areas]
    top, top_n = (rows[0][0], rows[0][1] + rows[0][2]) if rows else ("–", 0)
    area_title, area_desc = (
        t("stats.chart.areas.title"),
        t("stats.chart.areas.desc", top=top, n=top_n),
    )
    legend = {"open_label": t("stats.legend.open"), "done_label": t("stats.legend.done")}

    def bars(width: int, ident: str) -> Markup:
        return charts.stacked_bars(
            short, series, tips=full, width=width, ident=ident, title=title, desc=desc
        )

    def areas(width: int, ident: str) -> Markup:
        return charts.area_bars(
            rows, width=width, ident=ident, title=area_title, desc=area_desc, **legend
        )

    return {
        "time_wide": bars(1120, "time-w"),
        "time_narrow": bars(350, "time-n"),
        "area_wide": areas(480, "areas-w"),
        "area_narrow": areas(350, "areas-n"),
        "series": series,
        "short": short,
        "full": full,
        "totals": totals,
    }


@router.get("/c/stats")
def stats_page(request: Request, signed: ViewerDep, services: ServicesDep) -> Response:
    """The statistics: KPIs, charts, the area and owner tables, the heat map."""
    today = today_in_sweden()
    selection, notice, error = _selection(request, signed, services, today)
    ov = stats_index(request, services).overview(selection, today)
    return render(
        request,
        signed,
        "coord/stats.html",
        ov=ov,
        sel=selection,
        today=today,
        notice=notice,
        error=error,
        colours=categories.COLOURS,
        **_charts(signed.t, ov),
    )


@router.get("/c/stats/heat.json")
def heat_json(request: Request, signed: ViewerDep, services: ServicesDep) -> Response:
    """The heat map's points for the page's selection (a bad filter answers 422)."""
    today = today_in_sweden()
    selection, _, error = _selection(request, signed, services, today)
    if error:
        return JSONResponse({"detail": error}, status_code=422, headers=_NO_STORE)
    return JSONResponse(stats_index(request, services).heat(selection), headers=_NO_STORE)


# ---- the weekly summary -------------------------------------------------------------------------


def _week(text: str | None, today: date, t: i18n.Translator) -> tuple[Week, str | None]:
    if not text:
        return Week.last_full(today), None
    try:
        return Week.parse(text), None
    except BadWeek:
        return Week.last_full(today), t("stats.summary.bad_week")


def _summary_page(
    request: Request,
    signed: SignedIn,
    services: Services,
    week: Week,
    today: date,
    status: int = 200,
    **context: Any,
) -> Response:
    summary = weekly_summary(services.db, week, today)
    asked = request.query_params.get("notice", "")
    context.setdefault("notice", signed.t(asked) if asked in NOTICES else None)
    context.setdefault("error", None)
    context.setdefault("recipients", services.settings.coordinator_email or "")
    return render(
        request,
        signed,
        "coord/summary.html",
        status=status,
        s=summary,
        today=today,
        this_week=Week.containing(today),
        colours=categories.COLOURS,
        dispatches=dispatches(services.db, week),
        max_new=max((n for _, n in summary.new_by_category), default=1),
        **context,
    )


@router.get("/c/summary")
def summary_page(request: Request, signed: ViewerDep, services: ServicesDep) -> Response:
    """One week's lägesbild (default: the last full ISO week)."""
    today = today_in_sweden()
    week, error = _week(request.query_params.get("week"), today, signed.t)
    return _summary_page(request, signed, services, week, today, error=error)


def _pdf(services: Services, week: Week, today: date, lang: str) -> bytes:
    summary = weekly_summary(services.db, week, today)
    url = f"{services.settings.url}/c/summary?week={week.label}"
    return render_summary(summary, lang=lang, url=url, made=datetime.now(SWEDEN))


@router.get("/c/summary.pdf")
def summary_pdf(request: Request, signed: ViewerDep, services: ServicesDep) -> Response:
    """The week's lägesbild as a PDF."""
    today = today_in_sweden()
    week, _ = _week(request.query_params.get("week"), today, signed.t)
    name = signed.t("stats.summary.pdf.filename", year=week.year, week=f"{week.number:02d}")
    return Response(
        _pdf(services, week, today, signed.lang),
        media_type="application/pdf",
        headers={**_NO_STORE, "Content-Disposition": f'inline; filename="{name}"'},
    )


@router.post("/c/summary/send")
def summary_send(
    request: Request,
    signed: CoordinatorDep,
    form: FormDep,
    services: ServicesDep,
    background: BackgroundTasks,
) -> Response:
    """Email the week's lägesbild to each address that has not had it; a repeat sends nothing."""
    t, today = signed.t, today_in_sweden()
    typed = form_text(form, "recipients", 4000)
    try:
        week = Week.parse(form_text(form, "week", 20))
    except BadWeek:
        return _summary_page(
            request,
            signed,
            services,
            Week.last_full(today),
            today,
            status=422,
            error=t("stats.summary.bad_week"),
            recipients=typed,
        )
    # An empty field means the default address (the form shows it filled in, but may be cleared).
    good, bad = parse_recipients(typed or services.settings.coordinator_email or "")
    problem = None
    if bad:
        problem = t("stats.summary.bad_address", bad=", ".join(bad[:5]))
    elif not good:
        problem = t("stats.summary.no_recipients")
    elif len(good) > MAX_RECIPIENTS:
        problem = t("stats.summary.too_many", n=MAX_RECIPIENTS)
    if problem:  # the page again, with what was typed: nothing is lost
        return _summary_page(
            request, signed, services, week, today, status=422, error=problem, recipients=typed
        )
    back = f"/c/summary?week={week.label}"
    db = services.db
    if all(is_queued(db, dedupe_key(week, a)) for a in good):
        return redirect(back, notice="stats.summary.notice.already")
    summary = weekly_summary(db, week, today)
    pdf = render_summary(
        summary, lang=signed.lang, made=datetime.now(SWEDEN), url=f"{services.settings.url}{back}"
    )
    result = send_summary(
        db,
        services.settings,
        summary,
        good,
        pdf=pdf,
        lang=signed.lang,
        page_url=f"{services.settings.url}{back}",
        sent_by=signed.user.name,
    )
    if not result.queued:
        return redirect(back, notice="stats.summary.notice.already")
    # Hand it to the mail server now rather than at the next report pass (minutes away); what
    # fails here is retried by the passes, as every message in the outbox is.
    background.add_task(deliver_queued, db, services.settings)
    notice = "stats.summary.notice.sent_some" if result.already else "stats.summary.notice.sent"
    return redirect(back, notice=notice)

"""The lägesbild: the coordinator's numbers over all findings, and the weekly summary.

    numbers   what a selection is (dates, area, category; weeks or months) and the overview
              computed in SQL: the reference, and what the weekly summary uses for one week
    index     StatsIndex: the same overview from numpy columns in memory, for the statistics page
              (any selection well under 300 ms at 100,000 findings); kept exact from the
              `finding_changes` log that triggers write in every write transaction
    heat      the heat map's grid: positions summed into cells
    charts    the page's charts as accessible SVG, and the category colours
    week      one ISO week's summary (Week, weekly_summary) and sending it by mail
    pdf       the weekly summary as a PDF

    StatsError (ServerError)
     └── BadWeek        a week that is not like 2026-W05 (also a ValueError)

The HTTP pages are `sync_server.api.stats`; the weekly mail pass runs from `sync_server.reports`.
"""

from sync_server.stats.index import StatsIndex
from sync_server.stats.numbers import (
    Overview,
    Selection,
    default_selection,
    overview,
    parse_selection,
)
from sync_server.stats.pdf import render_summary
from sync_server.stats.week import (
    BadWeek,
    StatsError,
    Summary,
    Week,
    send_summary,
    weekly_summary,
)

__all__ = [
    "BadWeek",
    "Overview",
    "Selection",
    "StatsError",
    "StatsIndex",
    "Summary",
    "Week",
    "default_selection",
    "overview",
    "parse_selection",
    "render_summary",
    "send_summary",
    "weekly_summary",
]

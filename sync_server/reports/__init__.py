"""Reports to owners: which findings are due, the email and PDF, reminders, and the pass.

Follow one finding: routed to an owner (`sync_server.owners`), it becomes *due* here once its
walk has synced; the pass builds the owner's report, queues it in the outbox (`sync_server.mail`)
and, when delivery hands it over, records the finding's 'sent' event.

    due         which findings are due, grouped per owner and address (`Group`, `due_groups`)
    items       the findings as a report shows them (`load_items`, `parse_deadline`, `map_url`)
    photos      photos re-encoded small and metadata-free (`shrink`; the walk PDF uses it too)
    compose     an owner's email: HTML + text + inline photos + the PDF, within mail_max_bytes
    pdf         the PDF protocol of one owner's findings (`render_protocol`, `ProtocolItem`)
    enqueue     build and queue every due report, one finding's failure set aside on its own
    sent        the findings a message carries (report_items) and their 'sent' event:
                `record_sent`, the `on_sent` callback every delivery of the outbox needs
    reminders   overdue findings, one mail per owner per interval
    summary     the coordinator's weekly summary, when the pass should queue it
    run         the pass (`run_pass`, `send-reports`) and `serve`'s loop (`report_loop`)
    errors      ReportError (a ServerError): a report or photo that cannot be built now
"""

from sync_server.reports.compose import compose_report
from sync_server.reports.due import Group, due_groups
from sync_server.reports.enqueue import build_and_enqueue, enqueue_reports
from sync_server.reports.errors import ReportError
from sync_server.reports.items import load_items, map_url, parse_deadline, recorded_time
from sync_server.reports.pdf import ProtocolItem, render_protocol
from sync_server.reports.photos import PDF_PHOTO_PX, shrink
from sync_server.reports.reminders import enqueue_reminders, overdue
from sync_server.reports.run import PassResult, report_loop, run_pass
from sync_server.reports.sent import deliver_queued, enqueue_carrying, record_sent
from sync_server.reports.summary import enqueue_summary

__all__ = [
    "PDF_PHOTO_PX",
    "Group",
    "PassResult",
    "ProtocolItem",
    "ReportError",
    "build_and_enqueue",
    "compose_report",
    "due_groups",
    "enqueue_carrying",
    "enqueue_reminders",
    "enqueue_reports",
    "enqueue_summary",
    "load_items",
    "map_url",
    "overdue",
    "parse_deadline",
    "record_sent",
    "deliver_queued",
    "recorded_time",
    "render_protocol",
    "report_loop",
    "run_pass",
    "shrink",
]

"""`walkaudit sync`: send everything waiting, fetch status changes, and say what is left.

The progress bar is drawn on stderr only when it is a terminal.
"""

from __future__ import annotations

import argparse
import sys

from walkaudit.cli.common import say
from walkaudit.cli.status import describe_refused, waiting
from walkaudit.store import Store


def cmd_sync(store: Store, args: argparse.Namespace) -> int:
    import httpx

    from walkaudit import sync

    if args.retry_refused:
        n = store.retry_refused()
        say(f"{n} item(s) the server had refused are sent once more")
    bar = ProgressBar(enabled=sys.stderr.isatty() and not args.quiet)
    with httpx.Client(timeout=httpx.Timeout(30, connect=10)) as http:
        client = sync.SyncClient(store, http, on_progress=bar.update)
        try:
            report = client.sync()
        except sync.NotEnrolledError as exc:
            bar.close()
            say(str(exc))
            return 2
        except sync.AuthError as exc:
            bar.close()
            say(f"{exc}. {waiting(store.pending_counts())}")
            return 3
        except sync.SyncError as exc:
            bar.close()
            what = (
                "server unreachable"
                if isinstance(exc, sync.ServerUnreachableError)
                else "sync stopped"
            )
            say(f"{what} ({exc}) — nothing lost, {waiting(store.pending_counts())}")
            return 1
    bar.close()
    for finding_id, detail in report.conflicts:
        say(f"conflict: finding {finding_id}: {detail} — kept on this device")
    for _sha, detail in report.photo_errors:
        say(f"photo not accepted: {detail}")
    if report.refused:
        new = {(r.kind, r.id) for r in report.refused}
        for item in store.refused():
            if (item.kind, item.id) in new:
                say(f"refused by the server: {describe_refused(item)}: {item.detail}")
        say(
            "  — kept on this device and not sent again by itself;"
            " `walkaudit sync --retry-refused` sends it once more"
        )
    assert report.remaining is not None
    if report.complete:
        say(
            f"everything is on the server ({report.records_confirmed} records, "
            f"{report.photos_uploaded} photos sent, {report.changes_pulled} status changes)"
        )
        return 0
    say(f"not everything reached the server — nothing lost, {waiting(report.remaining)}")
    return 1


class ProgressBar:
    """A one-line bar on stderr: items and megabytes."""

    def __init__(self, enabled: bool) -> None:
        self.enabled = enabled
        self.drawn = False

    def update(self, p: object) -> None:
        from walkaudit.sync import Progress

        if not self.enabled or not isinstance(p, Progress):
            return
        share = (
            p.done_bytes / p.total_bytes
            if p.total_bytes
            else (p.done_items / p.total_items if p.total_items else 1.0)
        )
        share = min(max(share, 0.0), 1.0)
        bar = "#" * int(share * 30)
        sys.stderr.write(
            f"\r{p.phase:<6} [{bar:<30}] {share:4.0%}  {p.done_items}/{p.total_items}"
            f" items  {p.done_bytes / 1e6:.1f}/{p.total_bytes / 1e6:.1f} MB "
        )
        sys.stderr.flush()
        self.drawn = True

    def close(self) -> None:
        if self.drawn:
            sys.stderr.write("\n")
            self.drawn = False

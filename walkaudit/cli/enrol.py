"""`walkaudit enrol`: trade a one-time enrolment code for this device's token."""

from __future__ import annotations

import argparse

from walkaudit.cli.common import UsageError, say
from walkaudit.store import Store


def cmd_enrol(store: Store, args: argparse.Namespace) -> int:
    # httpx and the sync client only when a command talks to the server
    import httpx

    from walkaudit import sync

    if not args.server_url.startswith(("http://", "https://")):
        raise UsageError(
            f"the server address must start with http:// or https://, not {args.server_url!r}"
        )
    with httpx.Client(timeout=30) as http:
        try:
            answer = sync.enrol(store, http, args.server_url, args.code, args.name)
        except sync.SyncError as exc:
            say(f"enrolment failed: {exc}")
            return 3 if isinstance(exc, sync.EnrolError) else 1
    say(f"enrolled with {args.server_url} as device {answer.device_id}")
    print(answer.device_id)
    return 0

"""`walkaudit` — the field client on the command line (same core and data format as the app).

A command that creates something prints only its id (or code) on stdout; every message goes to
stderr, so scripts can use the output. Exit codes: 0 done, 1 not everything reached the server
(or not every photo could be imported), 2 bad input, 3 the server refuses this device.

    __init__.py  the argument parser and `main` (the console script `walkaudit`)
    common.py    UsageError (exit 2) and `say` (messages on stderr)
    enrol.py     enrol
    walks.py     walk start|end|list
    capture.py   add, import-photos
    sync.py      sync, with its progress bar
    status.py    status, and the words for what waits and what was refused (shared with sync)

The phone's start (main.py, walkaudit.paths) imports none of this; httpx, the sync client, the
photo pipeline and the UI are imported only by the command that needs them.
"""

from __future__ import annotations

import argparse
from collections.abc import Callable, Sequence
from pathlib import Path

from walkaudit import categories, model
from walkaudit.cli.capture import cmd_add, cmd_import
from walkaudit.cli.common import UsageError, say
from walkaudit.cli.enrol import cmd_enrol
from walkaudit.cli.status import cmd_status
from walkaudit.cli.sync import cmd_sync
from walkaudit.cli.walks import cmd_walk
from walkaudit.paths import default_data_dir
from walkaudit.store import Store, StoreError, private_dir

__all__ = ["COMMANDS", "UsageError", "main", "parser"]


def parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="walkaudit", description=__doc__.splitlines()[0])
    p.add_argument(
        "--data",
        type=Path,
        default=None,
        help="data directory (default: $WALKAUDIT_DATA or ~/.local/share/walkaudit)",
    )
    sub = p.add_subparsers(dest="command", required=True, metavar="COMMAND")

    e = sub.add_parser("enrol", help="trade a one-time enrolment code for this device's token")
    e.add_argument("server_url")
    e.add_argument("code")
    e.add_argument("--name", default="", help="a name for this device (shown to the coordinator)")

    w = sub.add_parser("walk", help="start or end a walk")
    wsub = w.add_subparsers(dest="walk_command", required=True, metavar="start|end|list")
    ws = wsub.add_parser("start", help="start a walk (prints its id)")
    ws.add_argument("name")
    ws.add_argument("--area", default="")
    wsub.add_parser("end", help="end the active walk")
    wsub.add_parser("list", help="list walks")

    a = sub.add_parser("add", help="record a finding (prints its id)")
    a.add_argument(
        "--category", required=True, help="BEL, VEG, OVB, KLO, … (see --help-categories)"
    )
    a.add_argument("--lat", type=float)
    a.add_argument("--lon", type=float)
    a.add_argument("--accuracy", type=float, help="position accuracy in metres")
    a.add_argument("--severity", default="medium", choices=[s.value for s in model.Severity])
    a.add_argument("--note", default="")
    a.add_argument("--photo", type=Path, action="append", default=[])

    i = sub.add_parser("import-photos", help="one finding per geotagged photo in a folder")
    i.add_argument("folder", type=Path)
    i.add_argument("--category", default="OVR", help="category for all (default OVR: to be sorted)")

    s = sub.add_parser("sync", help="send everything waiting and fetch status changes")
    s.add_argument("--quiet", action="store_true", help="no progress bar")
    s.add_argument(
        "--retry-refused",
        action="store_true",
        help="send what the server refused once more (after the record or the server changed)",
    )

    st = sub.add_parser("status", help="what waits for sync, and each finding's status")
    st.add_argument("--json", action="store_true")

    ap = sub.add_parser("app", help="start the field app on this data directory")
    ap.add_argument("--web", action="store_true", help="serve the Flet web client (no CDN)")
    ap.add_argument("--port", type=int, default=8550)
    ap.add_argument("--host", default="127.0.0.1")

    sub.add_parser("categories", help="list the finding categories")
    return p


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of the `walkaudit` command."""
    args = parser().parse_args(argv)
    data = args.data or default_data_dir()
    if args.command == "categories":
        for c in categories.CATEGORIES:
            print(f"{c.code}\t{c.sv}\t{c.en}")
        return 0
    if args.command == "app":
        from walkaudit.ui import run

        private_dir(data)
        say(f"walkaudit app on {data}" + (f": http://{args.host}:{args.port}/" if args.web else ""))
        run(data, web=args.web, port=args.port, host=args.host)
        return 0
    try:
        store = Store.open(data)
    except (OSError, StoreError) as exc:
        say(f"cannot open the data directory {data}: {exc}")
        return 2
    try:
        return COMMANDS[args.command](store, args)
    except (UsageError, StoreError, categories.UnknownCategoryError) as exc:
        say(f"error: {exc}")
        return 2
    finally:
        store.close()


COMMANDS: dict[str, Callable[[Store, argparse.Namespace], int]] = {
    "enrol": cmd_enrol,
    "walk": cmd_walk,
    "add": cmd_add,
    "import-photos": cmd_import,
    "sync": cmd_sync,
    "status": cmd_status,
}

"""`walkaudit walk start|end|list`: the walk the findings belong to."""

from __future__ import annotations

import argparse

from walkaudit import localtime
from walkaudit.cli.common import UsageError, say
from walkaudit.store import Store


def cmd_walk(store: Store, args: argparse.Namespace) -> int:
    if args.walk_command == "start":
        if not args.name.strip():
            raise UsageError("the walk needs a name")
        active = store.active_walk()
        walk = store.start_walk(args.name, args.area)
        if active:
            say(f"ended the walk still active: {active.name}")
        say(f"walk started: {walk.name}")
        print(walk.id)
    elif args.walk_command == "end":
        walk = store.end_walk()
        n = len(store.findings(walk.id))
        say(f"walk ended: {walk.name} ({n} findings) — run `walkaudit sync` when you have signal")
    else:
        for w in store.walks():
            end = localtime.day_hm(w.ended_at) if w.ended_at else "active"
            print(f"{w.id}\t{localtime.day_hm(w.started_at)}\t{end}\t{w.name}")
    return 0

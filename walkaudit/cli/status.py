"""`walkaudit status`, and the words for what waits and what the server refused.

`waiting()` and `describe_refused()` are shared with `walkaudit sync`, so that both commands name
the same things in the same way (and count as the app's badge does: PendingCounts).
"""

from __future__ import annotations

import argparse
import json

from walkaudit import localtime
from walkaudit.store import PendingCounts, SetAside, Store


def cmd_status(store: Store, args: argparse.Namespace) -> int:
    """What waits (the app's badge counts the same: PendingCounts), then each finding."""
    counts = store.pending_counts()
    rows = store.findings()
    refused = store.refused()
    active = store.active_walk()
    findings = [
        {
            "id": r["id"],
            "revision": r["revision"],
            "category": r["category"],
            "severity": r["severity"],
            "captured_at": r["captured_at"],
            "latitude": r["latitude"],
            "longitude": r["longitude"],
            "sync": _sync_state(r),
            "conflict": r["conflict_detail"] if r["state"] == "conflict" else None,
            "refused": r["conflict_detail"] if r["state"] == "refused" else None,
            "photos_refused": r["photos_refused"],
            "server_status": r["server_status"],
            "photos": r["photo_count"],
            "photos_waiting": r["photos_waiting"],
        }
        for r in rows
    ]
    walks = [
        {
            "id": w["id"],
            "name": w["name"],
            "started_at": w["started_at"],
            "ended_at": w["ended_at"],
            # what of the walk waits: its record (start, end or reopening) and/or its route
            "record": {"pending": "waiting", "conflict": "conflict", "refused": "refused"}.get(
                w["state"], "synced"
            ),
            "conflict": w["conflict_detail"],
            "route_points_waiting": w["route_points_waiting"],
            "route_points_refused": w["route_points_refused"],
        }
        for w in store.pending_walks()
    ]
    info = {
        "server": store.get_meta("server_url"),
        "device_id": store.get_meta("device_id"),
        "last_sync_at": store.get_meta("last_sync_at"),
        "last_contact_at": store.get_meta("last_contact_at"),
        "active_walk": active.model_dump(mode="json") if active else None,
        "pending": counts.__dict__ | {"total": counts.total},
        "walks_waiting": walks,
        "findings": findings,
        # what the server refused for good: kept here, not sent again by itself
        "refused": [item.__dict__ for item in refused],
    }
    if args.json:
        print(json.dumps(info, indent=2, ensure_ascii=False))
        return 0
    print(f"server:      {info['server'] or 'not enrolled'}")
    print(f"last sync:   {info['last_sync_at'] or 'never complete'}")
    if active:
        print(f"active walk: {active.name} (since {localtime.day_hm(active.started_at)})")
    print(f"waiting:     {waiting(counts) if counts.total else 'nothing — all on the server'}")
    for w in walks:
        what = []
        if w["record"] == "refused":
            what.append("the walk itself (refused by the server)")
        elif w["record"] != "synced":
            what.append(("its end" if w["ended_at"] else "its start") + f" ({w['record']})")
        if w["route_points_waiting"]:
            what.append(f"{w['route_points_waiting']} route points")
        if w["route_points_refused"]:
            what.append(f"{w['route_points_refused']} route points (refused)")
        print(f"walk {w['id']}  {w['name']}  waits: {' and '.join(what)}")
    for f in findings:
        status = f["server_status"] or "-"
        print(
            f"{f['id']}  {f['category']}  {_day_hm(f['captured_at'])}  {f['sync']:<9}  "
            f"{status:<12}  {f['photos']} photo(s)"
        )
    if refused:
        print(
            "refused by the server (kept on this device, not sent again by itself;"
            " `walkaudit sync --retry-refused` sends them once more):"
        )
        for item in refused:
            print(f"  {describe_refused(item)}: {item.detail}")
    return 0


def describe_refused(item: SetAside) -> str:
    """What a refused item is, so that the walker recognises it: 'finding 0190… (BEL, …)'."""
    if item.kind in ("walk", "route"):
        what = "walk" if item.kind == "walk" else f"{item.count} route point(s) of walk"
        return f"{what} {item.id} ({item.name}, started {_day_hm(item.at)})"
    named = f"finding {item.finding_id or '?'}"
    if item.category:
        note = f", {item.note[:40]!r}" if item.note else ""
        named += f" ({item.category}, {_day_hm(item.at)}{note})"
    if item.kind == "event":
        return f"answer {item.id} about {named}"
    if item.kind == "photo":
        return f"photo {item.id[:12]}… of {named}"
    return named + (f" revision {item.revision}" if item.revision > 1 else "")


def _day_hm(value: str | None) -> str:
    """Swedish time, or the stored text itself when it cannot be shown (a date near year 9999)."""
    if not value:
        return "-"
    try:
        return localtime.day_hm(value)
    except (ValueError, OverflowError):
        return value


def _sync_state(row: dict[str, object]) -> str:
    if row["state"] in ("conflict", "refused"):
        return str(row["state"])
    if row["state"] == "confirmed" and not row["photos_waiting"]:
        return "synced"
    if row["state"] == "confirmed" and row["photos_waiting"] == row["photos_refused"]:
        return "refused"  # on the server, but a photo of it was refused
    return "waiting"


def waiting(c: PendingCounts) -> str:
    """'1 walk (with 212 route points), 12 findings and 30 photos (41.2 MB) wait for the next sync'.

    Names only what waits, in the units of PendingCounts (a walk with its route counts once).
    """

    def n(k: int, word: str) -> str:
        return f"{k} {word}{'s' * (k != 1)}"

    parts = []
    if c.walks:
        route = f" (with {c.track_points} route points)" if c.track_points else ""
        parts.append(n(c.walks, "walk") + route)
    if c.findings:
        parts.append(n(c.findings, "finding"))
    if c.photos:
        parts.append(n(c.photos, "photo") + f" ({c.photo_bytes / 1e6:.1f} MB)")
    if c.events:
        parts.append(n(c.events, "follow-up answer"))
    if c.captures:
        parts.append(
            n(c.captures, "finding") + " still being processed in the app"
            f" ({n(c.capture_photos, 'photo')})"
        )
    if not parts:
        return "nothing waits for the next sync"
    listed = ", ".join(parts[:-1]) + " and " + parts[-1] if len(parts) > 1 else parts[0]
    if c.to_send == 0 and (c.conflicts or c.refused):
        # Nothing of it goes by itself: "waits for the next sync" would promise what no sync does.
        text = listed + (" is" if c.total == 1 else " are") + " not on the server"
    else:
        text = listed + (" waits" if c.total == 1 else " wait") + " for the next sync"
    if c.conflicts:
        text += f" ({c.conflicts} in conflict with the server: see `walkaudit status`)"
    if c.refused:
        text += (
            f" ({c.refused} refused by the server and kept here, not sent again by itself:"
            " see `walkaudit status`)"
        )
    return text

"""`walkaudit` — the field client on the command line (same core and data format as the app).

A command that creates something prints only its id (or code) on stdout; every message goes to
stderr, so scripts can use the output. Exit codes: 0 done, 1 not everything reached the server
(or not every photo could be imported), 2 bad input, 3 the server refuses this device.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import math
import sys
from collections.abc import Sequence
from datetime import datetime
from pathlib import Path

from walkaudit import categories, localtime, model
from walkaudit.paths import default_data_dir
from walkaudit.store import PendingCounts, SetAside, Store, StoreError, private_dir

IMAGE_SUFFIXES = {".jpg", ".jpeg", ".png", ".webp", ".heic", ".heif"}


class UsageError(Exception):
    """Bad input on the command line: exit 2 with the message."""


def say(message: str) -> None:
    """A message for the person at the terminal (stderr)."""
    print(message, file=sys.stderr, flush=True)


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


# ---- commands ----------------------------------------------------------------------------


def cmd_enrol(store: Store, args: argparse.Namespace) -> int:
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


def cmd_add(store: Store, args: argparse.Namespace) -> int:
    from walkaudit import media

    category = categories.get(args.category).code
    try:
        photos = [media.process_photo(p) for p in args.photo]
    except (media.PhotoError, OSError) as exc:
        raise UsageError(f"{exc} — nothing was saved") from None
    captured = model.utcnow()
    source = model.PositionSource.MANUAL
    if args.lat is not None or args.lon is not None:
        if args.lat is None or args.lon is None:
            raise UsageError("give both --lat and --lon")
        if not model.is_finite_coordinate(args.lat, args.lon):
            raise UsageError(
                f"no such position: latitude {args.lat}, longitude {args.lon}"
                " (latitude -90…90, longitude -180…180)"
            )
        lat, lon, accuracy = args.lat, args.lon, args.accuracy
    else:
        fix = next((p for p in photos if p.gps), None)
        if fix is None or fix.gps is None:
            raise UsageError("no position: give --lat and --lon (the photos carry no GPS)")
        lat, lon, accuracy = fix.gps.latitude, fix.gps.longitude, fix.gps.accuracy
        source = model.PositionSource.EXIF
        captured = fix.captured_at or captured
    if accuracy is not None and (not math.isfinite(accuracy) or accuracy < 0):
        raise UsageError("--accuracy is metres, zero or more")
    walk = store.active_walk()
    finding = model.Finding(
        id=model.new_id(),
        walk_id=walk.id if walk else None,
        category=category,
        severity=args.severity,
        note=args.note.strip(),
        latitude=lat,
        longitude=lon,
        accuracy=accuracy,
        position_source=source,
        captured_at=captured,
    )
    finding = store.save_finding(finding, photos)
    say(f"saved {categories.get(category).sv} with {len(photos)} photo(s); waiting for sync")
    print(finding.id)
    return 0


def cmd_import(store: Store, args: argparse.Namespace) -> int:
    from walkaudit import media

    category = categories.get(args.category).code
    folder: Path = args.folder
    if not folder.is_dir():
        raise UsageError(f"{folder} is not a folder")
    files = sorted(p for p in folder.iterdir() if p.is_file() and not p.name.startswith("."))
    imported, known, no_position, broken, skipped = 0, 0, [], [], []
    walk = store.active_walk()
    for path in files:
        if path.suffix.lower() not in IMAGE_SUFFIXES:
            skipped.append(path.name)
            continue
        source_sha = hashlib.sha256(path.read_bytes()).hexdigest()
        if existing := store.has_source(source_sha):
            known += 1
            say(f"{path.name}: already imported as {existing}")
            continue
        try:
            photo = media.process_photo(path)
        except (media.PhotoError, OSError) as exc:
            broken.append(f"{path.name}: {exc}")
            continue
        if photo.gps is None:
            no_position.append(path.name)
            continue
        captured = photo.captured_at or datetime.fromtimestamp(path.stat().st_mtime).astimezone()
        finding = model.Finding(
            id=model.new_id(),
            walk_id=walk.id if walk else None,
            category=category,
            latitude=photo.gps.latitude,
            longitude=photo.gps.longitude,
            accuracy=photo.gps.accuracy,
            position_source=model.PositionSource.EXIF,
            captured_at=captured,
            note="",
        )
        store.save_finding(finding, [photo])
        store.mark_source(photo.sha256, source_sha)
        imported += 1
        print(finding.id, flush=True)
    say(
        f"imported {imported} finding(s) from {folder}"
        + (f"; {known} already imported" if known else "")
    )
    if no_position:
        say(
            f"{len(no_position)} photo(s) have no GPS position and were NOT imported "
            "(add them with `walkaudit add --lat … --lon … --photo FILE`):"
        )
        for name in no_position:
            say(f"  {name}")
    if broken:
        say(f"{len(broken)} photo(s) could not be read and were NOT imported:")
        for line in broken:
            say(f"  {line}")
    if skipped:
        say(f"{len(skipped)} file(s) are not photos and were skipped: {', '.join(skipped)}")
    return 1 if (no_position or broken) else 0


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


COMMANDS = {
    "enrol": cmd_enrol,
    "walk": cmd_walk,
    "add": cmd_add,
    "import-photos": cmd_import,
    "sync": cmd_sync,
    "status": cmd_status,
}

if __name__ == "__main__":
    sys.exit(main())

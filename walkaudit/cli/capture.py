"""`walkaudit add` and `walkaudit import-photos`: findings recorded from the command line.

`add` records one finding (its position given, or read from a photo's GPS); `import-photos` makes
one finding per geotagged photo in a folder, and never imports the same file twice.
"""

from __future__ import annotations

import argparse
import hashlib
import math
from datetime import datetime
from pathlib import Path

from walkaudit import categories, model
from walkaudit.cli.common import UsageError, say
from walkaudit.store import Store

IMAGE_SUFFIXES = {".jpg", ".jpeg", ".png", ".webp", ".heic", ".heif"}


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

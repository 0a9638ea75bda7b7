"""Report benchmark: one owner's report (email + PDF) with 100 findings and realistic photos.

Usage: python bench/bench_reports.py [--quick]

Each case runs in its own process (so that peak RSS belongs to that case alone) on a fresh data
directory: a device pushes a walk of N findings through the server's ingest, each with its own
~2048 px phone JPEG (made from the real phone photos in tests/data/photos/phone by the field app's
pipeline, each crop different so nothing is deduplicated), stored in the blob store. Timed:
`reports.build_and_enqueue` — the owner link, decoding and shrinking every photo, the PDF, the
MIME message and the outbox row. Cases, in the same run:
  100        the goal: 100 findings, photos shrunk to 800 px (the default)
  10         scaling baseline: 10 findings
  100-full   baseline without shrinking: photos at 2048 px, no size cap
Goals for `100`: < 5 s, < 300 MB peak, the email <= 10 MB (photos by link beyond that).
"""

from __future__ import annotations

import argparse
import hashlib
import io
import json
import resource
import statistics
import subprocess
import sys
import tempfile
import time
import tracemalloc
from datetime import timedelta
from email import policy
from email.parser import BytesParser
from pathlib import Path
from typing import Any

import _report
from PIL import Image, ImageOps

ROOT = Path(__file__).resolve().parent.parent
PHONE = ROOT / "tests" / "data" / "photos" / "phone"
MiB = 1024 * 1024
HEADER = (
    "| case | findings | photos (long edge → email) | in store | seconds | tracemalloc MB |"
    " peak RSS MB | email | inline photos | PDF |\n"
    "|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|"
)
CASES = {
    "100": (100, 800, 10 * MiB),
    "10": (10, 800, 10 * MiB),
    "100-full": (100, 2048, 1024 * MiB),
}


def phone_photos(n: int) -> list[bytes]:
    """n different ~2048 px JPEGs as the phone uploads them (walkaudit.media.process_photo)."""
    from walkaudit.media import process_photo

    base = Image.open(PHONE / "HMD_Nokia_8.3_5G.jpg").convert("RGB")  # 4608 x 1976
    sources = [base, base.rotate(90, expand=True)]
    out = []
    for i in range(n):
        source = sources[i % 3 == 2]
        w, h = source.size
        dx, dy = (i * 37) % (w // 8), (i * 53) % (h // 8)
        crop = source.crop((dx, dy, w - (w // 8) + dx, h - (h // 8) + dy))
        if i % 2:
            crop = ImageOps.mirror(crop)
        buffer = io.BytesIO()
        crop.save(buffer, "JPEG", quality=92)
        out.append(process_photo(buffer.getvalue()).jpeg)
    return out


def settings_for(name: str, data_dir: Path) -> Any:
    from sync_server.config import Settings

    _, photo_px, max_bytes = CASES[name]
    return Settings(
        data_dir=data_dir,
        public_url="https://trygg.example.se",
        mail_photo_px=photo_px,
        mail_max_bytes=max_bytes,
    )


def seed(name: str, data_dir: Path) -> None:
    """A data directory with one ended walk of N findings, photos stored, all for one owner."""
    from sync_server.core.blobs import DiskBlobStore
    from sync_server.core.db import Database
    from sync_server.field import ingest
    from sync_server.field.devices import register_device
    from sync_server.field.photos import record_stored
    from walkaudit.model import Finding, PushRequest, Walk, new_id, utcnow

    photos = phone_photos(CASES[name][0])
    settings = settings_for(name, data_dir)
    db = Database(settings.database_path)
    db.migrate()
    blobs = DiskBlobStore(settings.photos_dir)
    device = register_device(db, new_id(), "bench phone")
    start = utcnow() - timedelta(hours=3)
    walk = Walk(
        id=new_id(),
        name="Kvällsvandring Vivalla",
        started_at=start,
        ended_at=start + timedelta(hours=1),
    )
    findings = []
    for i, data in enumerate(photos):
        with Image.open(io.BytesIO(data)) as im:
            width, height = im.size
        sha = hashlib.sha256(data).hexdigest()
        blobs.append(sha, 0, [data])
        blobs.finalize(sha)
        findings.append(
            Finding.model_validate(
                {
                    "id": new_id(),
                    "walk_id": walk.id,
                    "category": ["BEL", "VEG", "KLO", "SKA"][i % 4],
                    "severity": ["low", "medium", "high", "urgent"][i % 4],
                    "note": f"Fynd {i + 1}: trasig belysning vid gångvägen – mörkt och otryggt",
                    "latitude": 59.2743 + (i % 10) * 0.0004,
                    "longitude": 15.2066 + (i // 10) * 0.0007,
                    "accuracy": 5.0,
                    "captured_at": start + timedelta(minutes=i % 60),
                    "photos": [
                        {"sha256": sha, "size": len(data), "width": width, "height": height}
                    ],
                }
            )
        )
    ingest.push(db, blobs, device, PushRequest(walks=[walk], findings=findings))
    for data in photos:
        record_stored(db, blobs, hashlib.sha256(data).hexdigest())
    owner_id = new_id()
    with db.write() as tx:
        tx.execute(
            "INSERT INTO owners (id, name, kind, email, created_at, updated_at)"
            " VALUES (?, 'Örebrobostäder AB', 'owner', 'obo@example.se', ?, ?)",
            [owner_id, start.isoformat(), start.isoformat()],
        )
        for f in findings:
            tx.execute(
                "INSERT INTO assignments (finding_id, owner_id, reason, deadline,"
                " routed_at) VALUES (?, ?, 'area', '2027-05-31', ?)",
                [f.id, owner_id, start.isoformat()],
            )
    db.close()


def run_case(name: str, data_dir: Path, reps: int) -> dict[str, Any]:
    """In a fresh process on a seeded directory: build_and_enqueue `reps` times."""
    from sync_server import reports
    from sync_server.core.blobs import DiskBlobStore
    from sync_server.core.db import Database
    from sync_server.core.geocode import NoAddresses
    from walkaudit.model import utcnow

    settings = settings_for(name, data_dir)
    db = Database(settings.database_path)
    blobs = DiskBlobStore(settings.photos_dir)
    [group] = reports.due_groups(db, settings, utcnow())
    photo_rows = db.conn().execute("SELECT SUM(size), MAX(MAX(width, height)) FROM photos")
    blob_bytes, long_edge = photo_rows.fetchone()
    rss_before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    times, peak = [], 0.0
    for rep in range(reps):
        traced = rep == reps - 1  # the last run under tracemalloc, the others clean
        if traced:
            tracemalloc.start()
        t0 = time.perf_counter()
        reports.build_and_enqueue(db, blobs, settings, group, now=utcnow(), addresses=NoAddresses())
        elapsed = time.perf_counter() - t0
        if traced:
            peak = tracemalloc.get_traced_memory()[1] / MiB
            tracemalloc.stop()
        else:
            times.append(elapsed)
    rss_peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    raw = bytes(db.conn().execute("SELECT message FROM outbox").fetchone()[0])
    message = BytesParser(policy=policy.default).parsebytes(raw)
    images = sum(1 for p in message.walk() if p.get_content_type() == "image/jpeg")
    pdf = next(p for p in message.walk() if p.get_content_type() == "application/pdf")
    db.close()
    return {
        "case": name,
        "findings": len(group.finding_ids),
        "photo_px": CASES[name][1],
        "blob_mb": blob_bytes / 1e6,
        "long_edge": long_edge,
        "seconds": statistics.median(times),
        "tracemalloc_mb": peak,
        "rss_before_mb": rss_before,
        "rss_peak_mb": rss_peak,
        "email_mb": len(raw) / 1e6,
        "inline_photos": images,
        "pdf_mb": len(pdf.get_content()) / 1e6,
    }


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--quick", action="store_true", help="fewer repetitions")
    parser.add_argument("--seed", nargs=2, help=argparse.SUPPRESS)  # internal: NAME DIR
    parser.add_argument("--case", nargs=2, help=argparse.SUPPRESS)  # internal: NAME DIR
    args = parser.parse_args()
    reps = 2 if args.quick else 4  # one of them under tracemalloc
    if args.seed:
        seed(args.seed[0], Path(args.seed[1]))
        return 0
    if args.case:
        print(json.dumps(run_case(args.case[0], Path(args.case[1]), reps)))
        return 0
    results = []
    for name in CASES:
        with tempfile.TemporaryDirectory() as tmp:
            extra = ["--quick"] if args.quick else []
            subprocess.run([sys.executable, __file__, "--seed", name, tmp], check=True)
            out = subprocess.run(
                [sys.executable, __file__, "--case", name, tmp, *extra],
                capture_output=True,
                text=True,
                check=True,
            )
        results.append(json.loads(out.stdout.strip().splitlines()[-1]))
        print(results[-1], flush=True)
    goal = results[0]
    met = goal["seconds"] < 5 and goal["rss_peak_mb"] < 300 and goal["email_mb"] <= 10 * MiB / 1e6
    rows = "\n".join(
        f"| {r['case']} | {r['findings']} | {r['long_edge']} → {r['photo_px']} px |"
        f" {r['blob_mb']:.1f} MB |"
        f" {r['seconds']:.2f} | {r['tracemalloc_mb']:.0f} | {r['rss_peak_mb']:.0f}"
        f" (+{r['rss_peak_mb'] - r['rss_before_mb']:.0f}) | {r['email_mb']:.2f} MB |"
        f" {r['inline_photos'] or 'by link'} | {r['pdf_mb']:.2f} MB |"
        for r in results
    )
    ten, hundred = results[1]["seconds"], goal["seconds"]
    markdown = f"""## Reports (`bench/bench_reports.py`)

Machine: {_report.machine(("pillow", "fpdf2"))}

`reports.build_and_enqueue` for one owner: owner link, decode + shrink every photo (JPEG draft
decode, LANCZOS, q75 for the email / 640 px q70 for the PDF), the PDF protocol (fpdf2, DejaVu),
the MIME message, the outbox row. Photos: ~2048 px JPEGs from the field app's pipeline, one per
finding. Each case in its own process; time = median of {reps - 1} clean runs; *tracemalloc* =
Python-level peak (one extra run); *RSS* = the process's peak (in brackets: above the same
process just before building). {"Goals met" if met else "Goals NOT met"}: < 5 s, < 300 MB, email
≤ 10 MiB (beyond it photos go by link to the owner page).

{HEADER}
{rows}

Scaling: 10 → 100 findings takes {hundred / ten:.1f}× the time (linear would be 10×).
*100-full* is the baseline without shrinking: the same report with the stored 2048 px photos
inline and in the PDF — what a mail would weigh if photos went as they are."""
    _report.write_section("reports", markdown)
    print(markdown)
    return 0


if __name__ == "__main__":
    sys.exit(main())

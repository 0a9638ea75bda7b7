"""Export benchmark: CSV and GeoJSON of every finding, streamed, against building it in memory.

Usage: python bench/bench_export.py [--quick]

Two data directories are seeded by `_workspace_seed.seed_findings` (10,000 and 100,000 findings
with walks, owners, assignments and history; --quick: 2,000 and 20,000). Then, in the same run:

Core (each case in a fresh child process, so its peak RSS is its own): the export of every
finding, the bytes counted and dropped.
  stream-csv       workspace.export.csv_chunks over export.rows (fetchmany, chunks of bytes)
  stream-geojson   export.geojson_chunks over export.rows
  baseline-csv     the obvious way: fetchall(), the whole CSV in one StringIO, then encoded —
                   the same row formatting, only the memory strategy differs
Timed 3 times without tracemalloc (median); a 4th run under tracemalloc gives the peak of
Python allocations. "RSS growth" is the process's peak RSS during the exports (VmHWM, reset just
before) minus its RSS before them.

End to end: `walkaudit-server serve` on the seeded directory, a signed-in coordinator downloads
/c/export.csv with httpx (streamed, dropped); the server's RSS before and its peak RSS (VmHWM,
reset just before) during the download, and the time to the first byte and to the last.
"""

from __future__ import annotations

import argparse
import csv
import io
import json
import os
import re
import statistics
import subprocess
import sys
import tempfile
import time
import tracemalloc
from pathlib import Path
from typing import Any

import _report
import httpx
from _servers import ROOT, ServerProcess, proc_status

MiB = 1024 * 1024
PASSWORD = "bench-lösenord-123"  # noqa: S105 - a throwaway user in a temporary directory
CASES = ("stream-csv", "stream-geojson", "baseline-csv")


def reset_peak(pid: int) -> float:
    """Reset a process's peak RSS (VmHWM) to its RSS now (Linux: clear_refs 5); the RSS, MB.

    Why not ru_maxrss: Linux keeps it across exec, so a child forked from a big parent starts
    with the parent's peak.
    """
    Path(f"/proc/{pid}/clear_refs").write_text("5")
    return proc_status(pid, "VmRSS") / MiB


def _export(case: str, db: Any) -> int:
    """Run one export to the end; the number of bytes it made."""
    from sync_server.core.finding_filters import FROM_FINDINGS, Filters, where
    from sync_server.workspace import export
    from walkaudit import i18n

    url = "https://trygghet.example.se"
    if case == "stream-csv":
        return sum(len(c) for c in export.csv_chunks(export.rows(db, Filters()), url, "sv"))
    if case == "stream-geojson":
        return sum(len(c) for c in export.geojson_chunks(export.rows(db, Filters()), url, "sv"))
    # baseline-csv: everything in memory at once.
    clause, params = where(Filters())
    rows = (
        db.conn()
        .execute(f"{export._SELECT}{FROM_FINDINGS}{clause} ORDER BY f.captured_at, f.id", params)
        .fetchall()
    )
    t = i18n.Translator("sv")
    buffer = io.StringIO()
    buffer.write(export.BOM)
    writer = csv.writer(buffer, lineterminator="\r\n")
    writer.writerow(export.COLUMNS)
    for row in rows:
        values = export.record(row, url, t)
        writer.writerow([export._cell(values[c]) for c in export.COLUMNS])
    return len(buffer.getvalue().encode("utf-8"))


def run_case(case: str, db_path: Path, reps: int = 3) -> dict[str, Any]:
    """In this (fresh) process: `reps` clean timed runs and one under tracemalloc."""
    from sync_server.core.db import Database

    db = Database(db_path)
    rows = db.conn().execute("SELECT count(*) FROM findings").fetchone()[0]
    rss_before = reset_peak(os.getpid())
    times, size = [], 0
    for _ in range(reps):
        t0 = time.perf_counter()
        size = _export(case, db)
        times.append(time.perf_counter() - t0)
    rss_peak = proc_status(os.getpid(), "VmHWM") / MiB
    tracemalloc.start()
    _export(case, db)
    traced = tracemalloc.get_traced_memory()[1] / MiB
    tracemalloc.stop()
    db.close()
    return {
        "case": case,
        "rows": rows,
        "seconds": statistics.median(times),
        "mb": size / 1e6,
        "tracemalloc_mb": traced,
        "rss_growth_mb": rss_peak - rss_before,
    }


def end_to_end(data_dir: Path) -> dict[str, Any]:
    """The real server streaming /c/export.csv to a real HTTP client."""
    add = subprocess.run(
        [
            str(Path(sys.executable).parent / "walkaudit-server"),
            "--data",
            str(data_dir),
            "users",
            "add",
            "bench",
            "--role",
            "viewer",
        ],
        input=PASSWORD + "\n",
        capture_output=True,
        text=True,
    )
    assert add.returncode == 0, add.stderr
    server = ServerProcess(data_dir, env={"WALKAUDIT_REPORT_INTERVAL_S": "0"}).start()
    try:
        assert server.proc is not None
        pid = server.proc.pid
        with httpx.Client(base_url=server.url, timeout=300) as http:
            token = re.search(r'name="csrf" value="([^"]+)"', http.get("/c/login").text)[
                1
            ]  # the form's own
            login = http.post(
                "/c/login",
                data={"name": "bench", "password": PASSWORD, "next": "/c/findings", "csrf": token},
            )
            assert login.status_code == 303, login.text[:300]
            warm = http.get("/c/export.csv", params={"category": "POS", "status": "received"})
            assert warm.status_code == 200
            rss_before = reset_peak(pid)
            t0 = time.perf_counter()
            first = None
            size = 0
            with http.stream("GET", "/c/export.csv") as response:
                assert response.status_code == 200
                for chunk in response.iter_raw():
                    first = first or time.perf_counter() - t0
                    size += len(chunk)
            seconds = time.perf_counter() - t0
            peak = proc_status(pid, "VmHWM") / MiB
    finally:
        server.stop()
    return {
        "seconds": seconds,
        "first_byte_s": first or 0.0,
        "mb": size / 1e6,
        "rss_before_mb": rss_before,
        "peak_mb": peak,
    }


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="2,000 and 20,000 findings")
    parser.add_argument("--case", help=argparse.SUPPRESS)  # child process: one case
    parser.add_argument("--db", type=Path, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.case:
        print(json.dumps(run_case(args.case, args.db)))
        return 0

    import _workspace_seed

    sizes = (2_000, 20_000) if args.quick else (10_000, 100_000)
    results: dict[int, dict[str, dict[str, Any]]] = {}
    e2e: dict[int, dict[str, Any]] = {}
    with tempfile.TemporaryDirectory(prefix="bench-export-") as tmp:
        for n in sizes:
            data_dir = Path(tmp) / f"data-{n}"
            data_dir.mkdir()
            t0 = time.perf_counter()
            _workspace_seed.seed_findings(data_dir / "walkaudit.db", n)
            print(f"seeded {n} findings in {time.perf_counter() - t0:.1f} s", flush=True)
            results[n] = {}
            for case in CASES:
                db_file = str(data_dir / "walkaudit.db")
                out = subprocess.run(
                    [sys.executable, __file__, "--case", case, "--db", db_file],
                    capture_output=True,
                    text=True,
                    cwd=ROOT,
                    check=True,
                ).stdout
                results[n][case] = json.loads(out)
                print(n, results[n][case], flush=True)
            e2e[n] = end_to_end(data_dir)
            print(n, "end to end", e2e[n], flush=True)

    small, large = sizes
    lines = [
        "## Export (CSV and GeoJSON, streamed)",
        "",
        f"Machine: {_report.machine(('fastapi', 'starlette', 'uvicorn'))}.",
        "",
        "Every finding of a seeded database (`_workspace_seed`: walks, owners, assignments,"
        " history) exported by the core, each case in its own process; seconds are the median"
        " of 3 runs, tracemalloc the peak of Python allocations in a 4th run, RSS growth the"
        " process's peak RSS (VmHWM) above its RSS before the export. The baseline formats the rows"
        " the same way but reads them with fetchall() and builds the whole file in memory.",
        "",
        "| findings | case | seconds | rows/s | output MB | tracemalloc peak MB | RSS growth MB |",
        "|---:|---|---:|---:|---:|---:|---:|",
    ]
    for n in sizes:
        for case in CASES:
            r = results[n][case]
            lines.append(
                f"| {n:,} | {case} | {r['seconds']:.2f} | {r['rows'] / r['seconds']:,.0f} |"
                f" {r['mb']:.1f} | {r['tracemalloc_mb']:.1f} | {r['rss_growth_mb']:.1f} |"
            )
    s_small, s_large = results[small]["stream-csv"], results[large]["stream-csv"]
    b_small, b_large = results[small]["baseline-csv"], results[large]["baseline-csv"]
    lines += [
        "",
        f"Memory from {small:,} to {large:,} findings (tracemalloc peak): streamed CSV"
        f" {s_small['tracemalloc_mb']:.1f} → {s_large['tracemalloc_mb']:.1f} MB"
        f" (×{s_large['tracemalloc_mb'] / s_small['tracemalloc_mb']:.1f}); baseline"
        f" {b_small['tracemalloc_mb']:.1f} → {b_large['tracemalloc_mb']:.1f} MB"
        f" (×{b_large['tracemalloc_mb'] / b_small['tracemalloc_mb']:.1f}). At {large:,} the"
        f" baseline needs ×{b_large['tracemalloc_mb'] / s_large['tracemalloc_mb']:.0f} the"
        f" memory of the stream; time ratio stream/baseline"
        f" {s_large['seconds'] / b_large['seconds']:.2f}.",
        "",
        "End to end: `walkaudit-server serve`, a signed-in user downloads /c/export.csv"
        " (httpx, streamed); the server's RSS before the download and its peak RSS during it"
        " (VmHWM, reset just before).",
        "",
        "| findings | seconds | first byte s | MB | server RSS before → peak during MB |",
        "|---:|---:|---:|---:|---:|",
    ]
    for n in sizes:
        r = e2e[n]
        lines.append(
            f"| {n:,} | {r['seconds']:.2f} | {r['first_byte_s']:.3f} | {r['mb']:.1f} |"
            f" {r['rss_before_mb']:.0f} → {r['peak_mb']:.0f} |"
        )
    path = _report.write_section("workspace_export", "\n".join(lines))
    print(f"wrote {path}")
    return 0


if __name__ == "__main__":
    sys.exit(main())

"""Throttle benchmark: wrong enrolment codes one client gets checked per minute (issue 10, case 4).

Usage: python bench/bench_throttle.py [--quick] [--seconds N] [--workers N] [--url URL]
                                       [--no-record]

One client (one source address, WORKERS keep-alive connections in parallel, as a guessing script
would) posts random wrong codes to POST /v1/enrol for SECONDS and counts the answers: every
answer that is not 429 is a code the server looked up, i.e. a guess. Reported: those per minute
over the run, and the 429s. Without --url it starts `walkaudit-server serve` on loopback with a
fresh data directory and writes its section of bench/RESULTS.md (not with --quick or
--no-record). With --url it measures that server instead (e.g. the old commit's, for "before")
and only prints: the code space and window are the same, so the two runs compare directly.
"""

from __future__ import annotations

import argparse
import os
import secrets
import subprocess
import sys
import tempfile
import threading
import time
from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import _report
import httpx
from _servers import ServerProcess

# The baseline, measured in the same run: the server as it was before the throttles (issue 10),
# extracted with `git archive` and served from there (PYTHONPATH puts it before the checkout).
BASELINE_COMMIT = "26da3f7"
ROOT = Path(__file__).resolve().parent.parent
ALPHABET = "23456789ABCDEFGHJKMNPQRSTUVWXYZ"  # the server's code alphabet: well-formed guesses


def guess() -> str:
    raw = "".join(secrets.choice(ALPHABET) for _ in range(8))
    return f"{raw[:4]}-{raw[4:]}"


def hammer(url: str, seconds: float, workers: int) -> tuple[Counter[int], float]:
    """Wrong codes from `workers` connections for `seconds`: (answers by status, elapsed s)."""
    answers: Counter[int] = Counter()
    lock = threading.Lock()
    deadline = time.monotonic() + seconds

    def worker() -> None:
        mine: Counter[int] = Counter()
        with httpx.Client(base_url=url, timeout=30) as http:
            while time.monotonic() < deadline:
                r = http.post("/v1/enrol", json={"code": guess(), "device_name": "bench"})
                mine[r.status_code] += 1
        with lock:
            answers.update(mine)

    start = time.monotonic()
    with ThreadPoolExecutor(workers) as pool:
        for future in [pool.submit(worker) for _ in range(workers)]:
            future.result()
    return answers, time.monotonic() - start


def report(url: str, answers: Counter[int], elapsed: float, workers: int) -> tuple[str, float]:
    checked = sum(n for status, n in answers.items() if status != 429)
    per_minute = checked / elapsed * 60
    statuses = ", ".join(f"{status}: {n:,}" for status, n in sorted(answers.items()))
    text = (
        f"{url}: {sum(answers.values()):,} wrong codes in {elapsed:.1f} s from one client "
        f"({workers} connections); answers {statuses}\n"
        f"  checked (not 429): {checked:,} = {per_minute:,.1f} per minute over the run"
    )
    return text, per_minute


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="a 10 s run")
    parser.add_argument("--seconds", type=float, help="how long to send (default 60)")
    parser.add_argument("--workers", type=int, default=4, help="parallel connections")
    parser.add_argument("--url", help="measure this server instead of starting one")
    parser.add_argument("--no-record", action="store_true", help="do not write RESULTS.md")
    args = parser.parse_args()
    seconds = args.seconds or (10 if args.quick else 60)
    if args.url:
        answers, elapsed = hammer(args.url.rstrip("/"), seconds, args.workers)
        print(report(args.url, answers, elapsed, args.workers)[0])
        return 0
    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        for label, env in (("before (" + BASELINE_COMMIT + ")", _baseline(Path(tmp))),
                           ("now", {})):  # fmt: skip
            server = ServerProcess(
                Path(tmp) / f"server-{len(rows)}", env={"WALKAUDIT_REPORT_INTERVAL_S": "0", **env}
            )
            server.start()
            try:
                answers, elapsed = hammer(server.url, seconds, args.workers)
            finally:
                server.stop()
            text, per_minute = report(f"{label} {server.url}", answers, elapsed, args.workers)
            print(text)
            rows.append((label, answers, elapsed, per_minute))
    if not (args.quick or args.no_record):
        _report.write_section("throttle", _markdown(rows, args.workers))
    return 0


def _baseline(tmp: Path) -> dict[str, str]:
    """The environment that serves the baseline commit's server (its sources in `tmp`)."""
    source = tmp / "baseline"
    source.mkdir()
    archive = subprocess.run(["git", "-C", str(ROOT), "archive", BASELINE_COMMIT],
                             capture_output=True, check=True).stdout  # fmt: skip
    subprocess.run(["tar", "-x", "-C", str(source)], input=archive, check=True)
    path = [str(source), os.environ.get("PYTHONPATH", "")]
    return {"PYTHONPATH": os.pathsep.join(p for p in path if p)}


def _markdown(rows: list[tuple[str, Counter[int], float, float]], workers: int) -> str:
    table = "\n".join(
        f"| {label} | {sum(answers.values()):,} | "
        f"{sum(n for s, n in answers.items() if s != 429):,} | {per_minute:,.1f} | "
        f"{answers.get(429, 0):,} |"
        for label, answers, _, per_minute in rows
    )
    ratio = rows[0][3] / rows[1][3] if rows[1][3] else float("inf")
    elapsed = rows[-1][2]
    return f"""## Guessing enrolment codes (`bench/bench_throttle.py`)

Machine: {_report.machine(("fastapi", "uvicorn", "httpx"))}

One client, {workers} keep-alive connections from one address, posts random well-formed wrong
codes to `POST /v1/enrol` of `walkaudit-server serve` on loopback for {elapsed:.0f} s, first
against the server before the throttles (the baseline, in the same run), then against today's.

| server | answers | wrong codes checked (not 429) | per minute over the run | refused (429) |
|---|---:|---:|---:|---:|
{table}

Guesses checked per minute: {ratio:,.0f}× fewer than before.

After the first 10 the address gets one more try each time its oldest failure is 15 minutes old:
at most 10 per 15 minutes, 0.67 per minute, however long it goes on.
"""


if __name__ == "__main__":
    sys.exit(main())

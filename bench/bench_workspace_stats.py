"""Statistics benchmark: the lägesbild pages' server time at 100,000 findings.

Usage: python bench/bench_workspace_stats.py [--quick] [--n 100000]

A data directory seeded by `_workspace_seed.seed_findings` (n findings over two years, 30
areas, 14 categories, owners, deadlines, events and tracking through the real schema). The real
app (`create_app`) in this process, driven by a signed-in Starlette TestClient (ASGI, no
socket). Interleaved round by round, each case once a round:

  floor            GET /c/ : the session check and a redirect, the framework's own cost
  stats default    GET /c/stats as first opened (last 12 months, per month)
  stats filters    GET /c/stats with another selection every time (period, range, area,
                   category): what a coordinator clicking through filters asks for
  heat.json        GET /c/stats/heat.json (the default selection)
  summary          GET /c/summary (the last full week) — fewer rounds, with the PDF

Then the numbers behind the page without HTTP, for the default selection and for the forty
selections: the in-memory index (`StatsIndex.overview`, what the page uses), the same numbers
straight from SQL (`numbers.overview`: could plain SQL do without the index?) and a naive version
reading each finding's acknowledgement and fix from its events (what one writes first). Also: the
first view after a start (the index loads) and views right after a change (an owner acknowledges
a finding: the index catches up from `finding_changes`).
Goal: /c/stats p95 under 300 ms at 100,000 findings. Wall time and CPU time (this process) are
both given: the machine is shared, so wall time includes waiting for a core.
"""

from __future__ import annotations

import argparse
import os
import re
import statistics
import sys
import tempfile
import time
import warnings
from collections.abc import Callable
from dataclasses import asdict
from pathlib import Path
from urllib.parse import parse_qsl, urlsplit

import _report
import _workspace_seed

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from sync_server.app import create_app  # noqa: E402
from sync_server.config import Settings  # noqa: E402
from sync_server.core.history import add_server_event  # noqa: E402
from sync_server.core.time import today_in_sweden  # noqa: E402
from sync_server.stats import numbers  # noqa: E402
from sync_server.stats.index import StatsIndex  # noqa: E402
from sync_server.workspace import accounts  # noqa: E402
from walkaudit.model import OPEN_STATUSES, EventKind  # noqa: E402

with warnings.catch_warnings():
    warnings.filterwarnings("ignore", message=r"Using `httpx` with `starlette.testclient`")
    from fastapi.testclient import TestClient

PASSWORD = "bänk-hästbatteri-häftklammer"  # noqa: S105 - the benchmark's own user
GOAL_MS = 300.0


def percentile(values: list[float], share: float) -> float:
    """The nearest-rank percentile (p95 of 40 values is the 38th)."""
    ordered = sorted(values)
    return ordered[max(0, min(len(ordered) - 1, round(share * len(ordered) + 0.5) - 1))]


def signed_in(app: object) -> TestClient:
    client = TestClient(app)
    token = re.search(r'name="csrf" value="([^"]+)"', client.get("/c/login").text)[
        1
    ]  # the form's own
    answer = client.post(
        "/c/login",
        data={"name": "bench", "password": PASSWORD, "next": "/c/stats", "csrf": token},
        follow_redirects=False,
    )
    assert answer.status_code == 303, answer.text
    return client


def timed(fn: Callable[[], object]) -> tuple[float, float]:
    """(wall ms, CPU ms of this process) of one call."""
    wall, cpu = time.perf_counter(), time.process_time()
    fn()
    return (time.perf_counter() - wall) * 1000, (time.process_time() - cpu) * 1000


def filter_urls(areas: tuple[str, ...], today: object) -> list[str]:
    """Forty different selections, as the filter form sends them."""
    urls = []
    for k in range(40):
        period = ("month", "week")[k % 2]
        months = (3, 6, 12, 24)[k % 4]
        first = numbers.add_months(today.replace(day=1), -months)  # type: ignore[attr-defined]
        query = f"period={period}&date_from={first}&date_to={today}"
        if k % 3 == 1:
            query += f"&area={areas[k % len(areas)]}"
        if k % 5 == 2:
            query += f"&category={('BEL', 'KLO', 'VEG', 'SKR')[k % 4]}"
        urls.append(f"/c/stats?{query}")
    return urls


def naive_overview(db: object, selection: numbers.Selection, today: object) -> dict[str, object]:
    """The per-owner numbers as one writes them first: each finding's events read one by one."""
    where, params = numbers.where(selection)
    owners: dict[object, dict[str, list[float] | int]] = {}
    for owner, status, deadline, captured, ack, fix in db.conn().execute(  # type: ignore[attr-defined]
        "SELECT a.owner_id, f.status, a.deadline, julianday(f.captured_at),"
        " (SELECT julianday(min(at)) FROM events e WHERE e.finding_id = f.id"
        "  AND e.kind = 'acknowledged'),"
        " (SELECT julianday(max(at)) FROM events e WHERE e.finding_id = f.id AND e.kind = 'fixed')"
        f" FROM findings f LEFT JOIN assignments a ON a.finding_id = f.id{where}",
        params,
    ):
        row = owners.setdefault(owner, {"total": 0, "open": 0, "overdue": 0, "ack": [], "fix": []})
        row["total"] += 1  # type: ignore[operator]
        if status in OPEN_STATUSES:
            row["open"] += 1  # type: ignore[operator]
            row["overdue"] += bool(deadline and deadline < str(today))  # type: ignore[operator]
        if ack is not None:
            row["ack"].append(max(0.0, ack - captured))  # type: ignore[union-attr]
        if fix is not None:
            row["fix"].append(max(0.0, fix - captured))  # type: ignore[union-attr]
    return {
        str(k): (
            v["total"],
            v["open"],
            v["overdue"],
            statistics.median(v["ack"]) if v["ack"] else None,  # type: ignore[arg-type]
            statistics.median(v["fix"]) if v["fix"] else None,
        )  # type: ignore[arg-type]
        for k, v in owners.items()
    }


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--quick", action="store_true", help="fewer rounds")
    parser.add_argument("--n", type=int, default=100_000, help="findings to seed")
    args = parser.parse_args()
    rounds = 12 if args.quick else 40
    load_before = os.getloadavg()
    with tempfile.TemporaryDirectory(prefix="bench-stats-") as tmp:
        data = Path(tmp)
        started = time.perf_counter()
        seeded = _workspace_seed.seed_findings(data / "walkaudit.db", args.n)
        seed_s = time.perf_counter() - started
        db_mb = (data / "walkaudit.db").stat().st_size / 1e6
        settings = Settings(data_dir=data, report_interval_s=0, tile_url="")
        results = run(settings, seeded, rounds, args.quick)
    load_after = os.getloadavg()
    markdown = report(results, seeded, args.n, seed_s, db_mb, rounds, load_before, load_after)
    _report.write_section("workspace_stats", markdown)
    print(markdown)
    return 0 if results["met"] else 1


def run(settings: Settings, seeded: _workspace_seed.Seeded, rounds: int, quick: bool) -> dict:
    results: dict[str, object] = {}
    today = today_in_sweden()

    # First views after a start: the index loads (one joined pass over every finding).
    first = []
    for _ in range(1 if quick else 3):
        app = create_app(settings)
        with TestClient(app):
            if not results.get("user"):
                services = app.state.services
                accounts.add_user(
                    services.db, "bench", "coordinator", PASSWORD, hasher=services.hasher
                )
                results["user"] = True
            client = signed_in(app)
            first.append(timed(lambda c=client: c.get("/c/stats"))[0])
    results["first_view"] = first

    app = create_app(settings)
    with TestClient(app):
        client = signed_in(app)
        db = app.state.services.db
        assert client.get("/c/stats").status_code == 200  # warm the index: that is measured above
        urls = filter_urls(seeded.areas, today)
        cases: dict[str, Callable[[int], str]] = {
            "floor: GET /c/ (session check, redirect)": lambda k: "/c/",
            "GET /c/stats (as first opened)": lambda k: "/c/stats",
            "GET /c/stats (another selection each time)": lambda k: urls[k % len(urls)],
            "GET /c/stats/heat.json": lambda k: "/c/stats/heat.json",
        }
        samples: dict[str, list[tuple[float, float]]] = {name: [] for name in cases}
        for k in range(rounds):
            for name, url in cases.items():
                u = url(k)
                answers: list[int] = []

                def get(u: str = u, answers: list[int] = answers) -> None:
                    answers.append(client.get(u, follow_redirects=False).status_code)

                samples[name].append(timed(get))
                assert answers[0] in (200, 303), (u, answers)
        for name, url in (
            ("GET /c/summary (last full week)", "/c/summary"),
            ("GET /c/summary.pdf", "/c/summary.pdf"),
        ):
            samples[name] = [
                timed(lambda url=url: client.get(url)) for _ in range(max(3, rounds // 4))
            ]
        results["pages"] = samples

        # Right after a change: an owner acknowledges one open finding, then the page is opened.
        open_ids = [
            r[0]
            for r in db.conn().execute(
                "SELECT id FROM findings WHERE status = 'sent' LIMIT ?", [rounds]
            )
        ]
        after, writes = [], []
        for fid in open_ids:

            def acknowledge(fid: str = fid) -> None:
                with db.write() as tx:  # the triggers log the change in this transaction
                    add_server_event(tx, fid, EventKind.ACKNOWLEDGED, actor="owner:bench")

            writes.append(timed(acknowledge)[0])
            after.append(timed(lambda: client.get("/c/stats")))
        results["after_change"] = after
        results["writes"] = writes

        # The numbers behind the page, without HTTP: index, SQL, naive.
        selection = numbers.default_selection(today)
        index = StatsIndex(db)
        index.overview(selection, today)
        same = asdict(index.overview(selection, today)) == asdict(
            numbers.overview(db, selection, today)
        )
        assert same, "the index and SQL disagree on the benchmark's data"
        reps = 3 if quick else 7
        results["functions"] = {
            "StatsIndex.overview (in memory, what the page uses)": [
                timed(lambda: index.overview(selection, today))[0] for _ in range(reps)
            ],
            "numbers.overview (straight from SQL)": [
                timed(lambda: numbers.overview(db, selection, today))[0] for _ in range(reps)
            ],
            "naive: each finding's events by subquery (owners only)": [
                timed(lambda: naive_overview(db, selection, today))[0]
                for _ in range(max(2, reps // 2))
            ],
        }
        # The forty selections, index and SQL interleaved: the same answer, and how fast.
        selections = [
            numbers.parse_selection(dict(parse_qsl(urlsplit(u).query)), today, None) for u in urls
        ]
        by_selection: dict[str, list[float]] = {"index": [], "sql": []}
        for sel in selections:
            assert asdict(index.overview(sel, today)) == asdict(numbers.overview(db, sel, today))
            by_selection["index"].append(timed(lambda sel=sel: index.overview(sel, today))[0])
            by_selection["sql"].append(timed(lambda sel=sel: numbers.overview(db, sel, today))[0])
        results["by_selection"] = by_selection
        shown = index.overview(selection, today)
        results["shown"] = (
            shown.total,
            shown.open,
            shown.overdue,
            shown.ack_median,
            shown.fix_median,
        )
    page = [w for w, _ in results["pages"]["GET /c/stats (as first opened)"]]  # type: ignore[index]
    other = [w for w, _ in results["pages"]["GET /c/stats (another selection each time)"]]  # type: ignore[index]
    results["met"] = percentile(page, 0.95) < GOAL_MS and percentile(other, 0.95) < GOAL_MS
    return results


def report(
    results: dict,
    seeded: _workspace_seed.Seeded,
    n: int,
    seed_s: float,
    db_mb: float,
    rounds: int,
    load_before: tuple[float, ...],
    load_after: tuple[float, ...],
) -> str:
    pages = results["pages"]
    floor = statistics.median(w for w, _ in pages["floor: GET /c/ (session check, redirect)"])
    rows = []
    for name, samples in pages.items():
        wall = [w for w, _ in samples]
        cpu = [c for _, c in samples]
        rows.append(
            f"| {name} | {len(wall)} | {statistics.median(wall):.1f} |"
            f" {percentile(wall, 0.95):.1f} | {statistics.median(cpu):.1f} |"
            f" {statistics.median(wall) / floor:.1f}× |"
        )
    after = [w for w, _ in results["after_change"]]
    rows.append(
        f"| GET /c/stats right after a change (an owner acknowledges) | {len(after)} |"
        f" {statistics.median(after):.1f} | {percentile(after, 0.95):.1f} |"
        f" {statistics.median(c for _, c in results['after_change']):.1f} |"
        f" {statistics.median(after) / floor:.1f}× |"
    )
    first = results["first_view"]
    functions = results["functions"]
    index_ms = statistics.median(next(iter(functions.values())))
    frows = [
        f"| {name} | {len(v)} | {statistics.median(v):.1f} |"
        f" {statistics.median(v) / index_ms:.0f}× |"
        for name, v in functions.items()
    ]
    by_selection = results["by_selection"]
    index_p50 = statistics.median(by_selection["index"])
    srows = [
        f"| {name} | {len(v)} | {statistics.median(v):.1f} | {percentile(v, 0.95):.1f} |"
        f" {statistics.median(v) / index_p50:.0f}× |"
        for name, v in (
            ("StatsIndex.overview (in memory)", by_selection["index"]),
            ("numbers.overview (plain SQL)", by_selection["sql"]),
        )
    ]
    writes = results["writes"]
    page = [w for w, _ in pages["GET /c/stats (as first opened)"]]
    other = [w for w, _ in pages["GET /c/stats (another selection each time)"]]
    total, open_n, overdue, ack, fix = results["shown"]
    verdict = "**met**" if results["met"] else "**NOT met**"
    return f"""## Statistics and lägesbild (`bench/bench_workspace_stats.py`)

Machine: {_report.machine(("fastapi", "starlette", "numpy"))}. Load average before/after:
{load_before[0]:.1f} / {load_after[0]:.1f} (a shared 2-core machine: wall times include waiting).

Data: {n:,} findings seeded in {seed_s:.0f} s by `_workspace_seed.seed_findings` ({seeded.walks:,}
walks, {seeded.events:,} events, {seeded.owners} owners, 30 areas, two years; {db_mb:.0f} MB).
The page as first opened counts {total:,} findings (last 12 months): {open_n:,} open,
{overdue:,} overdue, median {ack} days to acknowledge and {fix} days to fix.

Requests through the real app in-process (Starlette TestClient, signed in), {rounds} rounds,
the cases interleaved; wall ms per request, CPU = this process's CPU ms per request (median);
× floor = median against the floor's median.

| request | n | p50 ms | p95 ms | CPU ms | × floor |
|---|---:|---:|---:|---:|---:|
{chr(10).join(rows)}

Goal: /c/stats p95 < {GOAL_MS:.0f} ms at {n:,} findings — {verdict} (as first opened
{percentile(page, 0.95):.0f} ms, another selection each time {percentile(other, 0.95):.0f} ms).

First view after a start, when the index loads (one joined pass over every finding into numpy
columns): {", ".join(f"{v:.0f}" for v in first)} ms. Later writes are caught up, not reloaded:
`PRAGMA data_version`, then only the findings in `finding_changes` after the last seq read (the
log that triggers write in each writer's own transaction, so the index is exact, never a guess).
The acknowledgements above, each its own write transaction with the triggers: median
{statistics.median(writes):.1f} ms, p95 {percentile(writes, 0.95):.1f} ms (mostly the fsync).

The page's numbers for the default selection without HTTP (median ms, × the index):

| computation | n | ms | × index |
|---|---:|---:|---:|
{chr(10).join(frows)}

The forty selections of the filter case, index and plain SQL interleaved (each answer checked
equal; ms):

| computation | n | p50 ms | p95 ms | × index |
|---|---:|---:|---:|---:|
{chr(10).join(srows)}

Could plain SQL replace the index (issue 12)? Not at this size: the SQL version alone, before
any HTTP or HTML, is near or over the 300 ms goal. It is the reference the tests hold the index
to (and the same answer here); it needs a pass joining findings, assignments and tracking on
their TEXT uuid keys, ~1 µs a row per join. The naive version reads each finding's
acknowledgement and fix from its events (two correlated subqueries per finding)."""


if __name__ == "__main__":
    sys.exit(main())

"""Findings list benchmark: the coordinator's filtered list (and map points) at 100,000 findings.

Usage: python bench/bench_workspace_list.py [--quick]

Real parts: a SQLite database migrated by the server and filled by `_workspace_seed.seed_findings`
(100,000 findings over two years, 30 areas, owners, assignments, histories), the real app from
`create_app`, a viewer signed in through the login form, and requests through the ASGI app
in-process (Starlette's TestClient: no network, so the time is the server's, plus the client's
small share). Each case is requested `REPEAT` times in interleaved rounds; p50 and p95 are
reported. Measured in the same run:
  baseline   GET /c/login: the same stack (routing, session middleware, Jinja2, headers)
             with no query — what a page costs before it asks the database anything
  list/*     GET /c/findings with the filters a coordinator uses (page 1 of 50 rows, the
             total counted); goal: p95 < 100 ms at 100,000 findings
  map        GET /c/map.json of the open findings (every point; not a goal, for the record)
  naive      the first version's count, in SQL alone: every filter through LEFT JOINs of
             assignments, owners, walks and finding_tracking (what the page did before)
"""

from __future__ import annotations

import argparse
import re
import statistics
import sys
import tempfile
import time
import warnings
from pathlib import Path

import _report
import _workspace_seed

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from sync_server.app import create_app  # noqa: E402
from sync_server.config import Settings  # noqa: E402
from sync_server.workspace import accounts  # noqa: E402

with warnings.catch_warnings():
    warnings.filterwarnings("ignore", message=r"Using `httpx` with `starlette.testclient`")
    from fastapi.testclient import TestClient  # noqa: E402

PASSWORD = "bench-lösenord-123"
REPEAT = 30
GOAL_MS = 100


def cases(owner_id: str) -> dict[str, str]:
    return {
        "baseline (login page, no query)": "/c/login",
        "list: no filter": "/c/findings",
        "list: open": "/c/findings?status=open",
        "list: open lighting": "/c/findings?status=open&category=BEL",
        "list: area": "/c/findings?area=Centrum",
        "list: owner, open": f"/c/findings?owner={owner_id}&status=open",
        "list: overdue": "/c/findings?overdue=1",
        "list: triage": "/c/findings?owner=triage",
        "list: dates (one month)": "/c/findings?date_from=2026-01-01&date_to=2026-01-31",
        "list: text search": "/c/findings?q=tunneln",
        "list: deadline order": "/c/findings?status=open&sort=deadline",
        "list: page 200": "/c/findings?page=200",
        "map: open findings": "/c/map.json?status=open",
    }


def _naive_counts(db: object) -> dict[str, tuple[str, list[object]]]:
    """The count as first written: through four LEFT JOINs, reading every wide findings row."""
    joins = (
        "SELECT count(*) FROM findings f LEFT JOIN assignments a ON a.finding_id = f.id"
        " LEFT JOIN owners o ON o.id = a.owner_id LEFT JOIN walks w ON w.id = f.walk_id"
        " LEFT JOIN finding_tracking ft ON ft.finding_id = f.id WHERE ft.merged_into IS NULL"
    )
    open_ = ("received", "sent", "acknowledged", "planned", "reopened", "not_ours")
    marks = ", ".join("?" * len(open_))
    return {
        "naive SQL count: open": (f"{joins} AND f.status IN ({marks})", list(open_)),
        "naive SQL count: overdue": (
            f"{joins} AND a.deadline < date('now') AND f.status IN ({marks})",
            list(open_),
        ),
    }


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--quick", action="store_true", help="10,000 findings, 5 repetitions")
    args = parser.parse_args()
    n, repeat = (10_000, 5) if args.quick else (100_000, REPEAT)
    with tempfile.TemporaryDirectory() as tmp:
        data = Path(tmp)
        t0 = time.perf_counter()
        _workspace_seed.seed_findings(data / "walkaudit.db", n)
        seeded_s = time.perf_counter() - t0
        app = create_app(Settings(data_dir=data, report_interval_s=0))
        db = app.state.services.db
        accounts.add_user(db, "polis", "viewer", PASSWORD, hasher=app.state.services.hasher)
        owner_id = (
            db.conn()
            .execute(
                "SELECT owner_id FROM assignments WHERE owner_id IS NOT NULL"
                " GROUP BY owner_id ORDER BY count(*) DESC LIMIT 1"
            )
            .fetchone()[0]
        )
        client = TestClient(app)
        token = re.search(r'name="csrf" value="([^"]+)"', client.get("/c/login").text)[
            1
        ]  # the form's own
        answer = client.post(
            "/c/login", data={"name": "polis", "password": PASSWORD, "csrf": token}
        )
        assert answer.status_code == 200 and "Fynd" in answer.text, answer.status_code
        urls = cases(owner_id)
        times: dict[str, list[float]] = {name: [] for name in urls}
        counts: dict[str, str] = {}
        for name, url in urls.items():  # warm-up, and check each answer is a real page
            response = client.get(url)
            assert response.status_code == 200, (url, response.status_code, response.text[:300])
            found = re.search(r'id="count">([^<]+)<', response.text)
            counts[name] = found.group(1) if found else "–"
            if url.startswith("/c/map.json"):
                counts[name] = f"{len(response.json()['points']):,} points"
        naive = _naive_counts(db)
        for _ in range(repeat):  # interleaved rounds: noise hits every case alike
            for name, url in urls.items():
                start = time.perf_counter()
                client.get(url)
                times[name].append((time.perf_counter() - start) * 1000)
            for name, (sql, params) in naive.items():
                times.setdefault(name, [])
                start = time.perf_counter()
                db.conn().execute(sql, params).fetchone()
                times[name].append((time.perf_counter() - start) * 1000)
                counts[name] = "count only"
    rows, worst = [], 0.0
    base = statistics.median(times["baseline (login page, no query)"])
    for name, values in times.items():
        values.sort()
        p50 = statistics.median(values)
        p95 = values[min(len(values) - 1, round(0.95 * (len(values) - 1)))]
        if name.startswith("list"):
            worst = max(worst, p95)
        counts.setdefault(name, "–")
        rows.append(f"| {name} | {counts[name]} | {p50:.1f} | {p95:.1f} | {p50 / base:.1f}× |")
    met = "yes" if worst < GOAL_MS else "**no**"
    quick = " (quick run: 10,000 findings)" if args.quick else ""
    markdown = f"""## Findings list (`bench/bench_workspace_list.py`)

Machine: {_report.machine(("fastapi", "jinja2"))}

{n:,} findings seeded by `_workspace_seed` in {seeded_s:.0f} s; a signed-in viewer; {repeat}
interleaved requests per case through the ASGI app in-process. Milliseconds.

| case | rows | p50 ms | p95 ms | p50 / baseline |
|---|---:|---:|---:|---:|
{chr(10).join(rows)}

Goal: the filtered list under {GOAL_MS} ms p95 at 100,000 findings.
Worst list p95: **{worst:.0f} ms** — met: {met}.{quick}
"""
    print(markdown)
    if not args.quick:
        _report.write_section("workspace_list", markdown)
    return 0


if __name__ == "__main__":
    sys.exit(main())

"""Open311 benchmark: requests and updates at 100,000 findings (server time, in-process).

Usage: python bench/bench_open311.py [--quick]

Real parts: the SQLite database filled by `_workspace_seed.seed_findings` (100,000 findings with
owners, assignments, histories), the real app, a real api key, requests through the ASGI app
in-process. Measured in the same run:
  baseline   GET services.json: key check, rendering, no finding query
  requests/* GET requests.json with the standard filters (a full page = 1000 requests)
  updates/*  GET servicerequestupdates.json
Each case is requested REPEAT times in interleaved rounds; p50 and p95 reported.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import time
import tracemalloc
import warnings
from datetime import timedelta
from pathlib import Path

import _report
import _workspace_seed

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from sync_server import open311  # noqa: E402
from sync_server.app import create_app  # noqa: E402
from sync_server.config import Settings  # noqa: E402

with warnings.catch_warnings():
    warnings.filterwarnings("ignore", message=r"Using `httpx` with `starlette.testclient`")
    from fastapi.testclient import TestClient  # noqa: E402

REPEAT = 20


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--quick", action="store_true")
    args = parser.parse_args()
    n, repeat = (10_000, 5) if args.quick else (100_000, REPEAT)
    with tempfile.TemporaryDirectory() as tmp:
        data = Path(tmp)
        t0 = time.perf_counter()
        info = _workspace_seed.seed_findings(data / "walkaudit.db", n)
        seeded = f"{n:,} findings seeded in {time.perf_counter() - t0:.0f} s"
        month_ago = (info.now - timedelta(days=30)).date().isoformat()
        today = info.now.date().isoformat()
        two_hours = (info.now - timedelta(hours=2)).strftime("%Y-%m-%dT%H:%M:%SZ")
        app = create_app(Settings(data_dir=data, report_interval_s=0))
        db = app.state.services.db
        owner_id = (
            db.conn()
            .execute(
                "SELECT owner_id FROM assignments WHERE owner_id IS NOT NULL"
                " GROUP BY owner_id ORDER BY count(*) DESC LIMIT 1"
            )
            .fetchone()[0]
        )
        key = open311.create_api_key(db, "Kommunen")[1]
        owner_key = open311.create_api_key(db, "Största ägaren", owner_id)[1]
        some = [r[0] for r in db.conn().execute("SELECT id FROM findings LIMIT 50")]
        B = "/open311/v2"
        cases = {
            "baseline: services.json": (f"{B}/services.json", key),
            "requests: no filter (page 1)": (f"{B}/requests.json", key),
            "requests: status=open": (f"{B}/requests.json?status=open", key),
            "requests: status=closed": (f"{B}/requests.json?status=closed", key),
            "requests: service_code=ORI (rare)": (f"{B}/requests.json?service_code=ORI", key),
            "requests: open, last month": (
                f"{B}/requests.json?status=open&start_date={month_ago}&end_date={today}",
                key,
            ),
            "requests: 50 ids": (f"{B}/requests.json?service_request_id={','.join(some)}", key),
            "requests: page 90": (f"{B}/requests.json?page=90", key),
            "requests: owner key, open": (f"{B}/requests.json?status=open", owner_key),
            "requests: xml, open": (f"{B}/requests.xml?status=open", key),
            "updates: no filter (page 1)": (f"{B}/servicerequestupdates.json", key),
            "updates: last 2 hours": (
                f"{B}/servicerequestupdates.json?start_date={two_hours}",
                key,
            ),
            "updates: owner key": (f"{B}/servicerequestupdates.json", owner_key),
        }
        client = TestClient(app)
        counts = {}
        for name, (url, k) in cases.items():
            r = client.get(url + ("&" if "?" in url else "?") + "api_key=" + k)
            assert r.status_code == 200, (url, r.text[:300])
            counts[name] = len(r.json()) if url.endswith("json") or ".json?" in url else "xml"
        times = {name: [] for name in cases}
        for _ in range(repeat):
            for name, (url, k) in cases.items():
                s = time.perf_counter()
                client.get(url + ("&" if "?" in url else "?") + "api_key=" + k)
                times[name].append((time.perf_counter() - s) * 1000)
        tracemalloc.start()
        client.get(f"{B}/requests.json", params={"api_key": key})
        peak = tracemalloc.get_traced_memory()[1]
        tracemalloc.stop()
    base = statistics.median(times["baseline: services.json"])
    rows = []
    for name, values in times.items():
        values.sort()
        p50 = statistics.median(values)
        p95 = values[min(len(values) - 1, round(0.95 * (len(values) - 1)))]
        rows.append(f"| {name} | {counts[name]} | {p50:.1f} | {p95:.1f} | {p50 / base:.1f}× |")
    markdown = f"""## Open311 GeoReport v2 (`bench/bench_open311.py`)

Machine: {_report.machine(("fastapi",))}

{seeded}; a municipality's key and the largest owner's key; {repeat} interleaved requests per case
through the ASGI app in-process. A full page is 1000 requests. Milliseconds.

| case | items | p50 ms | p95 ms | p50 / baseline |
|---|---:|---:|---:|---:|
{chr(10).join(rows)}

Peak Python memory (tracemalloc) for one 1000-request page: {peak / 1e6:.1f} MB — a page is built
from its own rows only, whatever the number of findings.
"""
    print(markdown)
    if not args.quick:
        _report.write_section("open311", markdown)
    return 0


if __name__ == "__main__":
    sys.exit(main())

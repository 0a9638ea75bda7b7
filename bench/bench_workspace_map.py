"""Findings map benchmark: the clustered map in Debian's chromium with up to 100,000 findings.

Usage: python bench/bench_workspace_map.py [--quick]

Real parts: a database seeded by `_workspace_seed` (100,000 findings), a real `walkaudit-server
serve` process, a viewer signed in through the form, and the real /c/map page (Leaflet +
markercluster served by the app) in headless chromium driven by Playwright. Tiles are off
(WALKAUDIT_TILE_URL=""), so only the points are measured. Measured in the same run:
  clustered  /c/map?…: from navigation until every point is in the cluster layer
             (data-loaded), then a zoom-in step until the map is idle again
  baseline   the same points as plain Leaflet markers, no clustering (what the page would do
             without markercluster), drawn by a script in the same page: at 2,000 and 5,000
             points — beyond that it takes minutes or the tab runs out of memory
Median of REPEAT runs each, fresh page per run.
"""

from __future__ import annotations

import argparse
import re
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import _report
import _workspace_seed

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from tests.support import BIN, ServerProcess  # noqa: E402

PASSWORD = "bench-lösenord-123"
REPEAT = 3
ARGS = ["--no-sandbox", "--disable-background-networking", "--disable-component-update",
        "--headless=new", "--disable-quic", "--no-first-run", "--disable-sync"]  # fmt: skip
LAPTOP = {"width": 1366, "height": 900}
NAIVE = """async (n) => {
  const body = await (await fetch('/c/map.json?status=open')).json();
  const pts = body.points.slice(0, n);
  const el = document.createElement('div');
  el.style.height = '600px';
  document.body.appendChild(el);
  const start = performance.now();
  const map = L.map(el).setView([pts[0][0], pts[0][1]], 13);
  for (const p of pts) { L.marker([p[0], p[1]]).addTo(map); }
  await new Promise(r => requestAnimationFrame(() => requestAnimationFrame(r)));
  return performance.now() - start;
}"""


def sign_in(page: Any, url: str) -> None:
    page.goto(f"{url}/c/login")
    page.locator("input[name=name]").fill("polis")
    page.locator("input[name=password]").fill(PASSWORD)
    page.locator("button[type=submit]").click()
    page.wait_for_url(re.compile(r".*/c/findings.*"))


def clustered(browser: Any, url: str, query: str) -> tuple[float, float, int]:
    """(ms until every point is loaded, ms for one zoom step, points)."""
    context = browser.new_context(viewport=LAPTOP)
    page = context.new_page()
    sign_in(page, url)
    start = time.perf_counter()
    page.goto(f"{url}/c/map?{query}")
    page.wait_for_selector("#map[data-loaded]", timeout=300_000)
    loaded = (time.perf_counter() - start) * 1000
    points = int(page.locator("#map").get_attribute("data-loaded") or 0)
    zoom = page.evaluate("""() => new Promise(resolve => {
        const el = document.querySelector('#map .leaflet-control-zoom-in');
        const t0 = performance.now();
        el.click();
        setTimeout(() => requestAnimationFrame(() => resolve(performance.now() - t0)), 300);
    })""")
    context.close()
    return loaded, float(zoom) - 300, points


def naive(browser: Any, url: str, n: int) -> float:
    context = browser.new_context(viewport=LAPTOP)
    page = context.new_page()
    sign_in(page, url)
    page.goto(f"{url}/c/map?category=ORI")  # the page's scripts, few points of its own
    page.wait_for_selector("#map[data-loaded]", timeout=60_000)
    ms = float(page.evaluate(NAIVE, n))
    context.close()
    return ms


def main() -> int:
    from playwright.sync_api import sync_playwright

    parser = argparse.ArgumentParser()
    parser.add_argument("--quick", action="store_true", help="10,000 findings, one run")
    args = parser.parse_args()
    n, repeat = (10_000, 1) if args.quick else (100_000, REPEAT)
    with tempfile.TemporaryDirectory() as tmp:
        data = Path(tmp) / "server"
        data.mkdir()
        _workspace_seed.seed_findings(data / "walkaudit.db", n)
        add = subprocess.run([str(BIN / "walkaudit-server"), "--data", str(data), "users", "add",
                              "polis", "--role", "viewer", "--password-stdin"],
                             input=PASSWORD + "\n", text=True, capture_output=True)  # fmt: skip
        assert add.returncode == 0, add.stderr
        env = {"WALKAUDIT_TILE_URL": "", "WALKAUDIT_REPORT_INTERVAL_S": "0"}
        server = ServerProcess(data, env=env).start()
        rows = []
        try:
            with sync_playwright() as p:
                browser = p.chromium.launch(executable_path="/usr/bin/chromium", args=ARGS)
                for label, query in (("all findings", ""), ("open", "status=open"),
                                     ("open lighting", "status=open&category=BEL")):  # fmt: skip
                    runs = [clustered(browser, server.url, query) for _ in range(repeat)]
                    load = statistics.median(r[0] for r in runs)
                    zoom = statistics.median(r[1] for r in runs)
                    rows.append(f"| clustered: {label} | {runs[0][2]:,} | {load:,.0f} | "
                                f"{zoom:,.0f} |")  # fmt: skip
                for count in (2_000, 5_000):
                    ms = statistics.median(naive(browser, server.url, count) for _ in range(repeat))
                    rows.append(f"| baseline: plain markers, no clustering | {count:,} | "
                                f"{ms:,.0f} | – |")  # fmt: skip
                browser.close()
        finally:
            server.stop()
    markdown = f"""## Findings map in a browser (`bench/bench_workspace_map.py`)

Machine: {_report.machine(("playwright",))}; Debian chromium, headless.

{n:,} findings seeded by `_workspace_seed`; a real server; /c/map in chromium at 1366×900,
tiles off. Median of {repeat} runs, each on a fresh page. Milliseconds.

| case | points | until all points are on the map | one zoom step |
|---|---:|---:|---:|
{chr(10).join(rows)}

"Until all points are on the map" runs from navigation (page, scripts, /c/map.json, clustering)
to the page marking itself loaded. The baseline adds plain markers to a Leaflet map, one DOM
element each; clustering keeps a few hundred on screen whatever the number of findings.
"""
    print(markdown)
    if not args.quick:
        _report.write_section("workspace_map", markdown)
    return 0


if __name__ == "__main__":
    sys.exit(main())

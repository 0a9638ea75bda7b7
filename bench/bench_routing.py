"""Routing benchmark: Router.route and route_pending on 100,000 property polygons in real Sweden.

Usage: python bench/bench_routing.py [--quick]

Real parts: a SQLite database migrated by the server, the 290 bundled municipal polygons, and
100,000 synthetic property areas (rectangles of 20-200 m a side, a third of them rotated) at
random points inside real municipalities (Gaussian around each one's representative point,
σ 3 km, kept only if inside), owned by 10,000 owners and imported with `owners.import_owners`;
the municipalities get an email and one police owner covers all of Sweden, as in a real registry.
Measured in the same run:
  build     Router.from_db (load + parse + STRtree + prepare): median of 3; the RSS it adds
  lookup    Router.route per call (perf_counter_ns): half the pins inside a random property,
            half at random around municipal centres; p50/p99 of each of 3 rounds, the median
  baseline  brute force on a sample of the same pins: a Python loop `g.contains(point)` over all
            100,290 polygons, and shapely.contains_xy over all of them at once (vectorised, no
            index). Each router answer is checked against the brute-force containing set.
  bulk      route_pending on 10,000 findings inserted directly into `findings`: median of 3
            (assignments deleted between runs), with a router already built.
"""

from __future__ import annotations

import argparse
import gc
import json
import math
import os
import random
import statistics
import sys
import tempfile
import time
from collections import Counter
from pathlib import Path
from typing import Any

import _report
import numpy as np
import shapely

from sync_server.core.db import Database
from sync_server.core.time import iso
from sync_server.owners.importer import import_owners
from sync_server.owners.municipalities import ensure_municipalities
from sync_server.owners.router import Router, metres_per_degree
from sync_server.owners.routing import route_pending
from walkaudit.categories import CODES
from walkaudit.model import new_id, utcnow

PROPERTIES = 100_000
OWNERS = 10_000
FINDINGS = 10_000
PACKAGES = ("shapely", "numpy")
SEED = 2026


def rss_mib() -> float:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return float("nan")


def synthetic_properties(db: Database, rng: random.Random) -> list[dict[str, Any]]:
    """GeoJSON features: PROPERTIES rectangles of 20-200 m inside real municipalities."""
    munis = [shapely.from_geojson(g) for (g,) in db.conn().execute(
        "SELECT geojson FROM owner_areas ORDER BY id")]  # fmt: skip
    shapely.prepare(munis)
    features: list[dict[str, Any]] = []
    while len(features) < PROPERTIES:
        muni = munis[len(features) % len(munis)]
        centre = muni.representative_point()
        mx, my = metres_per_degree(centre.y)
        x = centre.x + rng.gauss(0, 3000) / mx
        y = centre.y + rng.gauss(0, 3000) / my
        if not shapely.contains_xy(muni, x, y):
            continue
        w, h = rng.uniform(20, 200), rng.uniform(20, 200)
        corners = np.array([(-w, -h), (w, -h), (w, h), (-w, h), (-w, -h)]) / 2
        if len(features) % 3 == 0:
            a = rng.uniform(0, math.pi)
            corners = corners @ np.array([[math.cos(a), math.sin(a)], [-math.sin(a), math.cos(a)]])
        ring = (corners / (mx, my) + (x, y)).round(7).tolist()
        owner = len(features) % OWNERS
        properties = {"owner": f"Fastighetsägare {owner:05d} AB", "email": f"d{owner}@example.se"}
        geometry = {"type": "Polygon", "coordinates": [ring]}
        features.append(
            {"type": "Feature", "id": f"p{len(features)}", "geometry": geometry,
             "properties": properties}
        )  # fmt: skip
    return features


def pins(features: list[dict[str, Any]], n: int, rng: random.Random) -> list[tuple[float, float]]:
    """Half inside a random property (its representative point), half around municipal centres."""
    out = []
    for i in range(n):
        if i % 2 == 0:
            f = features[rng.randrange(len(features))]
            p = shapely.geometry.shape(f["geometry"]).representative_point()
            out.append((p.y, p.x))
        else:
            f = features[rng.randrange(len(features))]
            x, y = f["geometry"]["coordinates"][0][0]
            out.append((y + rng.gauss(0, 0.02), x + rng.gauss(0, 0.04)))
    return out


def measure_lookups(router: Router, points: list[tuple[float, float]], codes: list[str],
                    rounds: int) -> tuple[float, float, float, Counter[str]]:  # fmt: skip
    p50s, p99s, means = [], [], []
    reasons: Counter[str] = Counter()
    for r in range(rounds):
        times = []
        for (lat, lon), code in zip(points, codes, strict=True):
            start = time.perf_counter_ns()
            route = router.route(lat, lon, code)
            times.append(time.perf_counter_ns() - start)
            if r == 0:
                reasons[route.reason] += 1
        times.sort()
        p50s.append(times[len(times) // 2] / 1000)
        p99s.append(times[int(len(times) * 0.99)] / 1000)
        means.append(statistics.fmean(times) / 1000)
        print(f"  lookup round {r + 1}/{rounds}", file=sys.stderr, flush=True)
    return statistics.median(p50s), statistics.median(p99s), statistics.median(means), reasons


def brute_force(db: Database, router: Router, points: list[tuple[float, float]],
                codes: list[str]) -> tuple[float, float]:  # fmt: skip
    """ms per lookup: a Python loop of contains(), and contains_xy over all; checks the router."""
    rows = (
        db.conn()
        .execute("SELECT a.owner_id, a.geojson FROM owner_areas a ORDER BY a.id")
        .fetchall()
    )
    owners = [o for o, _ in rows]
    geoms = shapely.from_geojson([g for _, g in rows])
    loop, vector = [], []
    for (lat, lon), code in zip(points, codes, strict=True):
        start = time.perf_counter()
        point = shapely.Point(lon, lat)
        found = {owners[i] for i, g in enumerate(geoms) if g.contains(point)}
        loop.append(time.perf_counter() - start)
        start = time.perf_counter()
        mask = shapely.contains_xy(geoms, lon, lat)
        vector.append(time.perf_counter() - start)
        assert found == {owners[i] for i in np.flatnonzero(mask)}
        route = router.route(lat, lon, code)
        if route.reason in ("property", "municipality"):
            assert route.owner_id in found, (lat, lon, route)
        if route.reason == "no_match":
            assert not found, (lat, lon, route)
    return statistics.median(loop) * 1000, statistics.median(vector) * 1000


def insert_findings(db: Database, points: list[tuple[float, float]], codes: list[str]) -> None:
    stamp = iso(utcnow())
    severities = ["low", "medium", "high", "urgent"]
    with db.write() as tx:
        device = new_id()
        tx.execute("INSERT INTO devices (id, token_hash, created_at) VALUES (?, ?, ?)",
                   [device, device, stamp])  # fmt: skip
        tx.conn.executemany(
            "INSERT INTO findings (id, revision, device_id, category, severity, note, latitude,"
            " longitude, position_source, captured_at, received_at, updated_at, status,"
            " content_hash, json) VALUES (?, 1, ?, ?, ?, '', ?, ?, 'gps', ?, ?, ?, 'received',"
            " '', '{}')",
            [(new_id(), device, code, severities[i % 4], lat, lon, stamp, stamp, stamp)
             for i, ((lat, lon), code) in enumerate(zip(points, codes, strict=True))],
        )  # fmt: skip


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="fewer lookups and repetitions")
    args = parser.parse_args()
    lookups, sample, rounds = (2_000, 20, 2) if args.quick else (20_000, 100, 3)
    rng = random.Random(SEED)
    codes_all = sorted(CODES - {"OVR"})

    with tempfile.TemporaryDirectory() as folder:
        db = Database(Path(folder) / "walkaudit.db")
        db.migrate()
        ensure_municipalities(db)
        contacts = [
            {
                "type": "Feature",
                "geometry": None,
                "properties": {
                    "owner": name,
                    "kind": "municipality",
                    "email": f"kommun{code}@example.se",
                },
            }
            for name, code in db.conn().execute("SELECT name, municipality_code FROM owners")
        ]
        contacts.append({"type": "Feature", "geometry": None, "properties": {
            "owner": "Polisen", "kind": "police", "email": "est@example.se"}})  # fmt: skip
        import_owners(db, json.dumps({"type": "FeatureCollection", "features": contacts}))
        features = synthetic_properties(db, rng)
        text = json.dumps({"type": "FeatureCollection", "features": features})
        start = time.perf_counter()
        imported = import_owners(db, text)
        import_s = time.perf_counter() - start
        assert (imported.created, imported.areas) == (OWNERS, PROPERTIES), imported
        print(f"imported {PROPERTIES:,} areas in {import_s:.1f} s", file=sys.stderr)

        builds = []
        for _ in range(3):
            gc.collect()
            before = rss_mib()
            start = time.perf_counter()
            router = Router.from_db(db)
            builds.append(time.perf_counter() - start)
            gc.collect()
            added = rss_mib() - before  # the last one's: the others were freed (mostly)
            if len(builds) < 3:
                del router
        build_s = statistics.median(builds)

        points = pins(features, lookups, rng)
        codes = [rng.choice(codes_all) for _ in points]
        p50, p99, mean, reasons = measure_lookups(router, points, codes, rounds)
        loop_ms, vector_ms = brute_force(db, router, points[:sample], codes[:sample])
        print("  brute force done", file=sys.stderr, flush=True)

        bulk_points = pins(features, FINDINGS, rng)
        insert_findings(db, bulk_points, [rng.choice(codes_all) for _ in bulk_points])
        bulk = []
        for _ in range(3):
            db.conn().execute("DELETE FROM assignments")
            db.conn().commit()
            start = time.perf_counter()
            assert route_pending(db, router) == FINDINGS
            bulk.append(time.perf_counter() - start)
        bulk_s = statistics.median(bulk)
        db_mib = os.path.getsize(db.path) / 2**20
        db.close()

    median_ms = p50 / 1000
    share = ", ".join(f"{k} {v / lookups:.0%}" for k, v in reasons.most_common())
    rows = [
        "| measure | result |",
        "|---|---:|",
        f"| import of {PROPERTIES:,} areas / {OWNERS:,} owners (`owners import`) | "
        f"{import_s:.1f} s |",
        f"| index build (`Router.from_db`, {PROPERTIES + 290:,} areas), median of 3 | "
        f"{build_s:.2f} s |",
        f"| memory added by the router (RSS) | {added:.0f} MiB |",
        f"| `Router.route` p50 | **{p50:.0f} µs** |",
        f"| `Router.route` p99 (goal < 1 ms) | **{p99:.0f} µs** "
        f"({'met' if p99 < 1000 else 'missed'}) |",
        f"| `Router.route` mean | {mean:.0f} µs |",
        f"| brute force, Python loop of `contains` ({sample} lookups), median | {loop_ms:.0f} ms |",
        f"| brute force, `contains_xy` over all ({sample} lookups), median | {vector_ms:.1f} ms |",
        f"| speed-up of the index over the loop / the vectorised scan (p50) | "
        f"{loop_ms / median_ms:,.0f}× / {vector_ms / median_ms:,.0f}× |",
        f"| `route_pending`, {FINDINGS:,} findings, median of 3 | {bulk_s:.2f} s "
        f"({FINDINGS / bulk_s:,.0f} findings/s) |",
    ]  # fmt: skip
    markdown = "\n".join([
        "## Routing (`bench/bench_routing.py`)",
        "",
        f"Machine: {_report.machine(PACKAGES)}",
        "",
        f"{PROPERTIES:,} synthetic property rectangles (20–200 m, a third rotated) inside the 290"
        f" real municipal polygons, {OWNERS:,} owners; {lookups:,} lookups per round"
        f" ({rounds} rounds{', --quick' * args.quick}), half inside a property, half around"
        " municipal centres, random categories. Every brute-force answer was checked against"
        f" the router's. Outcomes: {share}. Database: {db_mib:.0f} MiB.",
        "",
        *rows,
        "",
        "One shapely STRtree over every area with prepared geometries: a lookup is one tree"
        " query with the 15 m disk, then `intersects`/`contains_xy` on the few candidates;"
        " the municipality is usually the one big candidate. The brute-force loop is what a"
        " per-polygon check costs without an index; the vectorised scan is the fastest"
        " index-free answer. `route_pending` includes reading the findings, the deadline and one"
        " write transaction per 500.",
    ])  # fmt: skip
    print(markdown)
    print(f"wrote {_report.write_section('routing', markdown)}", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())

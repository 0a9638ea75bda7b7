"""Offline map packages (issue 11): size and preparation time of a 1 km² area at zoom 12–18.

Usage: python bench/bench_tile_packages.py [--quick] [--rounds N] [--latency-ms MS] [--no-record]

A loopback tile source (tests/tile_source.py) with tiles about as large as real ones (~20 KB of
PNG) and a per-request latency standing in for a tile server across the internet (30 ms) feeds
`walkaudit-server serve`. Each round starts a server on a fresh data directory and measures:

- preparation: POST /v1/tiles/packages until the status says ready (the server fetches 4 tiles at
  a time into its cache and writes the MBTiles file);
- cached preparation: the package file removed, the same POST again: every tile from the cache;
- the baseline, in the same run: the same tiles fetched one by one with httpx from the source,
  which is what a phone would do without the server.

Reported: medians over the rounds, the package's size and its tile count. Writes its section of
bench/RESULTS.md (not with --quick or --no-record).
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import _report
import httpx
from _servers import ServerProcess

from sync_server.field import tile_packages as tp
from tests.tile_source import TileSource

# About 1 km² around Örebro (59.27 N, 15.21 E).
AREA = {"south": 59.2655, "west": 15.2012, "north": 59.2745, "east": 15.2188}
EXTRA_BYTES = 20_000  # noise per tile: real town tiles weigh 15–40 KB


def tiles_of(area: dict[str, float]) -> list[tuple[int, int, int]]:
    box = tp.check_box(tp.Box(**area))
    return [t for r in tp.plan(box) for t in r.tiles()]


def enrolled(server: ServerProcess) -> httpx.Client:
    code = server.enrol_code("bench")
    answer = httpx.post(f"{server.url}/v1/enrol", json={"code": code, "device_name": "bench"})
    answer.raise_for_status()
    token = answer.json()["token"]
    return httpx.Client(base_url=server.url, headers={"Authorization": f"Bearer {token}"},
                        timeout=60)  # fmt: skip


def prepare(http: httpx.Client) -> tuple[float, dict[str, Any]]:
    """POST the area and poll until ready: (seconds, final status)."""
    start = time.perf_counter()
    answer = http.post("/v1/tiles/packages", json=AREA)
    answer.raise_for_status()
    status = answer.json()
    while status["state"] == "preparing":
        time.sleep(0.02)
        status = http.get(f"/v1/tiles/packages/{status['id']}").json()
    elapsed = time.perf_counter() - start
    if status["state"] != "ready":
        raise RuntimeError(f"the package failed: {status['reason']}")
    return elapsed, status


def one_by_one(source: TileSource, tiles: list[tuple[int, int, int]]) -> tuple[float, int]:
    """The phone without the server: every tile in turn over one keep-alive connection."""
    start = time.perf_counter()
    total = 0
    with httpx.Client(timeout=30) as http:
        for z, x, y in tiles:
            answer = http.get(source.template.format(z=z, x=x, y=y))
            answer.raise_for_status()
            total += len(answer.content)
    return time.perf_counter() - start, total


def one_round(source: TileSource, tiles: list[tuple[int, int, int]], root: Path) -> dict[str, Any]:
    server = ServerProcess(root, env={"WALKAUDIT_REPORT_INTERVAL_S": "0",
                                      "WALKAUDIT_TILE_URL": source.template}).start()  # fmt: skip
    try:
        with enrolled(server) as http:
            cold, status = prepare(http)
            asked = len(source.requests)
            (root / "tiles" / "packages" / f"{status['id']}.mbtiles").unlink()
            cached, again = prepare(http)
            refetched = len(source.requests) - asked
            if again["bytes"] != status["bytes"]:
                raise RuntimeError("the cached preparation made another package")
    finally:
        server.stop()
    phone, tile_bytes = one_by_one(source, tiles)
    return {"cold": cold, "cached": cached, "phone": phone, "bytes": status["bytes"],
            "again_bytes": again["bytes"], "tile_bytes": tile_bytes, "tiles": status["tiles"],
            "estimated": status["estimated_bytes"], "refetched": refetched}  # fmt: skip


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="one round")
    parser.add_argument("--rounds", type=int, help="rounds (default 3)")
    parser.add_argument("--latency-ms", type=float, default=30, help="per tile request")
    parser.add_argument("--no-record", action="store_true", help="do not write RESULTS.md")
    args = parser.parse_args()
    rounds = args.rounds or (1 if args.quick else 3)
    tiles = tiles_of(AREA)
    with TileSource(latency_s=args.latency_ms / 1000, extra_bytes=EXTRA_BYTES) as source:
        for z, x, y in tiles:  # the source draws each tile once, before anything is timed
            source.tile(z, x, y, extra_bytes=EXTRA_BYTES)
        results = []
        with tempfile.TemporaryDirectory() as tmp:
            for n in range(rounds):
                result = one_round(source, tiles, Path(tmp) / f"server-{n}")
                results.append(result)
                print(f"round {n + 1}: {len(tiles)} tiles, package {result['bytes'] / 2**20:.2f}"
                      f" MiB; server {result['cold']:.2f} s, cached {result['cached']:.2f} s "
                      f"(refetched {result['refetched']}), one by one {result['phone']:.2f} s",
                      flush=True)  # fmt: skip
    median = {key: statistics.median(r[key] for r in results)
              for key in ("cold", "cached", "phone")}  # fmt: skip
    text = _markdown(results, median, args.latency_ms, rounds)
    print(text)
    if not (args.quick or args.no_record):
        _report.write_section("tile_packages", text)
    return 0


def _markdown(
    results: list[dict[str, Any]], median: dict[str, float], latency_ms: float, rounds: int
) -> str:
    first = results[0]
    mib = 2**20
    return f"""## Offline map package of a walk area (`bench/bench_tile_packages.py`)

Machine: {_report.machine(("httpx", "fastapi", "uvicorn", "pillow"))}

About 1 km² around Örebro (59.27 N, 15.21 E), zoom {tp.MIN_ZOOM}–{tp.MAX_ZOOM}: {first["tiles"]}
tiles. The tile source is tests/tile_source.py on loopback with tiles of about 20 KB of PNG and
{latency_ms:.0f} ms per request (a tile server across the internet); `walkaudit-server serve`
fetches {tp.FETCH_CONCURRENCY} at a time. Medians of {rounds} round(s), each on a fresh data
directory; the baseline is measured in the same run. (The source's Nagle delay is switched off:
with it, http.server adds ~40 ms to every keep-alive request, on top of the latency asked for.)

| | time (s) |
|---|---:|
| the same tiles fetched one by one with httpx (a phone without the server; baseline) | {median["phone"]:.2f} |
| server: prepare the package (POST until ready) | {median["cold"]:.2f} |
| server: prepare it again from its tile cache (package file removed) | {median["cached"]:.2f} |

Package: {first["bytes"] / mib:.2f} MiB MBTiles for {first["tile_bytes"] / mib:.2f} MiB of tiles
(estimate before preparing: {first["estimated"] / mib:.2f} MiB); the cached preparation asked the
source for {first["refetched"]} tiles. Preparing on the server is
{median["phone"] / median["cold"]:.1f}× faster than the phone fetching the tiles itself, and the
phone then downloads one file instead of making {first["tiles"]} requests.
"""  # noqa: E501


if __name__ == "__main__":
    sys.exit(main())

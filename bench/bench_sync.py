"""Sync benchmark: bytes on the wire, resume after a cut, server ingest rate and peak memory.

Usage: python bench/bench_sync.py [--quick]

Real parts only: `walkaudit-server serve` (uvicorn) in its own process on loopback, real SQLite
files on both sides, real JPEG bytes; devices enrol with codes from the `enrol-code` CLI. Each
measurement has its baseline from the same run:
  1 wire     one SyncClient.sync() per finding (push, HEAD, 1 MiB PUTs, pull) through a
             byte-counting TCP proxy; client->server bytes against the photo's own size.
  2 resume   the proxy cuts the photo upload part-way; bytes SyncClient sends again when resuming,
             against what a restart-from-zero upload (ODK/Kobo) would send again.
  3 ingest   20 devices push pre-serialised 100-finding batches (no photos) at once with httpx;
             against one device pushing the same findings alone, and 20 devices in batches of 10.
  4 memory   the server's RSS (/proc/PID/status every 10 ms, and VmHWM) while 20 devices upload a
             ~5 MB photo each at once; against its RSS after start-up and after the pushes.
"""

from __future__ import annotations

import argparse
import asyncio
import hashlib
import math
import os
import statistics
import sys
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import _report
import _servers as s
import httpx
from _servers import ServerProcess, TcpProxy, make_finding, make_photo

from walkaudit import model
from walkaudit.media import process_photo
from walkaudit.sync import CHUNK_SIZE, Progress, SyncClient

PHONE = s.ROOT / "tests" / "data" / "photos" / "phone"
DEVICES = 20
CAMERA = (2048, 1536)  # noise JPEG of ~2.4 MB (the pipeline's output is at most 2048 px)
BIG = (2960, 2220)  # noise JPEG of ~5 MB
PACKAGES = ("fastapi", "uvicorn", "httptools", "uvloop", "httpx")
Row = dict[str, Any]


# ---- 1. bytes on the wire per photo ---------------------------------------------------------


def measure_wire(server: ServerProcess, tmp: Path, photos: list[tuple[str, Any]]) -> list[Row]:
    proxy = TcpProxy(server.port)
    store = s.enrolled_store(tmp / "wire", server, proxy.url)
    rows = []
    with httpx.Client(timeout=60) as http:
        client = SyncClient(store, http)
        for name, photo in photos:
            store.save_finding(make_finding(), [photo])
            push_json = len(store.outbox_batch().model_dump_json())
            before = proxy.bytes_up
            report = client.sync()
            assert report.complete and report.photos_uploaded == 1, report
            size = len(photo.jpeg)
            requests = 3 + math.ceil(size / CHUNK_SIZE)  # push, HEAD, PUTs, pull
            up = proxy.bytes_up - before
            rows.append(dict(name=name, size=size, up=up, json=push_json, requests=requests))
    store.close()
    proxy.close()
    return rows


# ---- 2. resume after a cut ------------------------------------------------------------------


def measure_resume(
    server: ServerProcess, tmp: Path, fractions: list[float], overhead: float
) -> list[Row]:
    """Cut each upload after `fraction` of the photo's bytes; `overhead`: an uncut sync's."""
    proxy = TcpProxy(server.port)
    store = s.enrolled_store(tmp / "resume", server, proxy.url)
    auth = {"Authorization": f"Bearer {store.get_meta('token')}"}
    rows = []
    with httpx.Client(timeout=60) as http:
        for i, fraction in enumerate(fractions):
            photo = make_photo(500 + i, CAMERA, noise=True)
            size = len(photo.jpeg)
            store.save_finding(make_finding(), [photo])
            probe: dict[str, int] = {}

            def on_progress(p: Progress, probe: dict = probe, budget: int = int(fraction * size)):
                if p.phase == "push" and "pre" not in probe:  # pushed: the upload comes next
                    probe["pre"] = proxy.bytes_up
                    proxy.cut_after(budget)

            def sleep(delay: float, probe: dict = probe, sha: str = photo.sha256) -> None:
                if "cut" not in probe:  # the client's first back-off, right after the cut
                    probe["cut"] = proxy.bytes_up
                    time.sleep(0.2)  # let the server finish with the cut request
                    head = httpx.head(f"{server.url}/v1/photos/{sha}", headers=auth)
                    probe["held"] = int(head.headers["Upload-Offset"])
                time.sleep(delay)

            start = proxy.bytes_up
            report = SyncClient(store, http, on_progress=on_progress, sleep=sleep).sync()
            assert report.complete and proxy.cuts_done == i + 1, (report, probe)
            assert s.stored_ok(server, photo.sha256)
            before_cut = probe["cut"] - probe["pre"]  # HEAD + PUT bytes
            resent = proxy.bytes_up - start - size - overhead
            row = dict(fraction=fraction, size=size, held=probe["held"], before_cut=before_cut)
            rows.append(row | {"resent": resent})
    store.close()
    proxy.close()
    return rows


# ---- 3. server ingest throughput ------------------------------------------------------------


def bodies(devices: int, per_device: int, batch: int, photo_refs: bool) -> list[list[bytes]]:
    """Per device, its new findings as serialised PushRequest bodies of `batch` findings."""
    out = []
    for d in range(devices):
        findings = []
        for i in range(per_device):
            photos = []
            if photo_refs:  # a photo the server does not have: a photo_refs row, `needed`
                sha = hashlib.sha256(os.urandom(16)).hexdigest()
                photos = [model.Photo(sha256=sha, size=2_000_000, width=2048, height=1536)]
            position = dict(latitude=59.27 + d / 1000, longitude=15.2 + i / 1e5)
            findings.append(make_finding(photos=photos, **position))
        out.append(
            [
                model.PushRequest(findings=findings[i : i + batch]).model_dump_json().encode()
                for i in range(0, per_device, batch)
            ]
        )
    return out


async def push_all(url: str, tokens: list[str], work: list[list[bytes]], pid: int):
    """Every device POSTs its bodies one after another, all devices at once.

    Returns wall seconds, latencies, answers, and the server's and this process's CPU seconds.
    """
    latencies: list[float] = []
    answers: list[httpx.Response] = []
    headers = {"Content-Type": "application/json"}
    clients = [
        httpx.AsyncClient(
            base_url=url, timeout=600, headers=headers | {"Authorization": f"Bearer {t}"}
        )
        for t in tokens
    ]

    async def device(client: httpx.AsyncClient, mine: list[bytes]) -> None:
        for body in mine:
            t0 = time.perf_counter()
            answers.append(await client.post("/v1/sync/push", content=body))
            latencies.append(time.perf_counter() - t0)

    try:  # connect before the clock starts
        await asyncio.gather(*(c.get("/healthz") for c in clients))
        t0, cpu0, mine0 = time.perf_counter(), s.proc_cpu(pid), time.process_time()
        await asyncio.gather(*(device(c, b) for c, b in zip(clients, work, strict=True)))
        wall = time.perf_counter() - t0
        cpu, mine = s.proc_cpu(pid) - cpu0, time.process_time() - mine0
    finally:
        await asyncio.gather(*(c.aclose() for c in clients))
    return wall, latencies, answers, cpu, mine


def measure_ingest(server: ServerProcess, per_device: int, rounds: int) -> dict[str, Row]:
    tokens = s.enrol_tokens(server, DEVICES)
    total = DEVICES * per_device
    variants = {  # name: (devices, findings per device, batch, photo refs)
        "1 device, batches of 100 (baseline)": (1, total, 100, False),
        "20 devices, batches of 100": (DEVICES, per_device, 100, False),
        "20 devices, batches of 10": (DEVICES, per_device, 10, False),
        "20 devices, batches of 100, 1 photo ref each": (DEVICES, per_device, 100, True),
    }
    results = {name: dict(rate=[], lat=[], cpu=[], client=[]) for name in variants}
    pid = s.pid_of(server)
    for _ in range(rounds):  # interleaved: drift and neighbours' load hit every variant alike
        for name, (devices, n, batch, refs) in variants.items():
            work = bodies(devices, n, batch, refs)  # serialised before timing
            before = s.count_findings(server)
            run = push_all(server.url, tokens[:devices], work, pid)
            wall, lat, answers, cpu, mine = asyncio.run(run)
            assert all(r.status_code == 200 for r in answers), answers[0].text
            records = [
                rec
                for r in answers
                for rec in model.PushReceipt.model_validate_json(r.content).records
            ]
            assert len(records) == total, len(records)
            assert {rec.result for rec in records} == {model.RecordResult.CREATED}
            assert s.count_findings(server) - before == total, "the server lost or doubled some"
            for key, value in dict(rate=total / wall, cpu=cpu / wall, client=mine / wall).items():
                results[name][key].append(value)
            results[name]["lat"] += lat
    return results


# ---- 4. server peak memory ------------------------------------------------------------------


async def upload_all(url: str, tokens: list[str], photos: list, chunk: int) -> list[int]:
    """Each device PUTs its photo in `chunk`-byte pieces, all devices at once; final statuses."""

    async def device(token: str, data: bytes) -> int:
        sha, size = hashlib.sha256(data).hexdigest(), len(data)
        headers = {"Authorization": f"Bearer {token}", "Content-Type": "application/octet-stream"}
        async with httpx.AsyncClient(base_url=url, timeout=600, headers=headers) as client:
            for start in range(0, size, chunk):
                piece = data[start : start + chunk]
                content_range = f"bytes {start}-{start + len(piece) - 1}/{size}"
                r = await client.put(
                    f"/v1/photos/{sha}", content=piece, headers={"Content-Range": content_range}
                )
                assert r.status_code in (201, 202), r.text
            return r.status_code

    return await asyncio.gather(*(device(t, p.jpeg) for t, p in zip(tokens, photos, strict=True)))


def measure_memory(tmp: Path, photos: list, chunk: int) -> Row:
    server = ServerProcess(tmp / f"memory-{chunk}").start()
    try:
        pid = s.pid_of(server)
        started = s.proc_status(pid, "VmRSS")
        tokens = s.enrol_tokens(server, DEVICES)
        with httpx.Client(base_url=server.url) as http:
            for token, photo in zip(tokens, photos, strict=True):
                wire = model.Photo(sha256=photo.sha256, size=len(photo.jpeg), width=photo.width,
                                   height=photo.height)  # fmt: skip
                body = model.PushRequest(findings=[make_finding(photos=[wire])]).model_dump_json()
                headers = {"Authorization": f"Bearer {token}", "Content-Type": "application/json"}
                r = http.post("/v1/sync/push", content=body, headers=headers)
                assert r.status_code == 200, r.text
        pushed = s.proc_status(pid, "VmRSS")
        sampler = s.RssSampler(pid)
        sampler.start()
        t0 = time.perf_counter()
        statuses = asyncio.run(upload_all(server.url, tokens, photos, chunk))
        wall = time.perf_counter() - t0
        samples = sampler.stop()
        hwm = s.proc_status(pid, "VmHWM")
        assert statuses == [201] * DEVICES, statuses
        assert all(s.stored_ok(server, p.sha256) for p in photos), "a photo is missing or wrong"
    finally:
        server.stop()
    rate = sum(len(p.jpeg) for p in photos) / wall / 1e6
    return dict(started=started, pushed=pushed, peak=max(samples), hwm=hwm, mb_s=rate)


# ---- report ---------------------------------------------------------------------------------


def mb(n: float) -> str:
    return f"{n / 1e6:.1f} MB"


def pct(part: float, whole: float) -> str:
    return f"{100 * part / whole:.2f} %"


def report(
    wire: list[Row], resume: list[Row], ingest: dict[str, Row], pushed: int, memory: Row
) -> list[str]:
    size, up = sum(r["size"] for r in wire), sum(r["up"] for r in wire)
    worst_resent = max(r["resent"] for r in resume)
    rates = {name: statistics.median(r["rate"]) for name, r in ingest.items()}
    base, rate20 = rates["1 device, batches of 100 (baseline)"], rates["20 devices, batches of 100"]
    peak = max(max(m["hwm"], m["peak"]) for m in memory["runs"].values())
    out = [
        "| goal | measured | met |",
        "|---|---|---|",
        f"| wire overhead ≤ 2 % per photo | {pct(up - size, size)} over all; worst photo "
        f"{max(100 * (r['up'] - r['size']) / r['size'] for r in wire):.2f} % | "
        f"{'yes' if all(r['up'] - r['size'] <= 0.02 * r['size'] for r in wire) else '**no**'} |",
        f"| resume re-sends ≤ 1 MiB | at most {worst_resent:,.0f} B (restart from zero: up to "
        f"{max(r['before_cut'] for r in resume):,} B) | "
        f"{'yes' if worst_resent <= CHUNK_SIZE else '**no**'} |",
        f"| ≥ 1,000 findings/s, 20 devices | {rate20:,.0f} /s ({rate20 / base:.2f}× one "
        f"device) | {'yes' if rate20 >= 1000 else '**no**'} |",
        f"| server peak < 250 MB, 20 × 5 MB uploads | {mb(peak)} | "
        f"{'yes' if peak < 250e6 else '**no**'} |",
        "\n### 1. Bytes on the wire per photo\n",
        "One `SyncClient.sync()` per finding with one photo (push, HEAD, 1 MiB PUTs, pull) "
        "through the byte-counting TCP proxy; *up* = client→server bytes incl. HTTP headers "
        "and the push JSON. Baseline = the photo's own size (the ideal).\n",
        "| photo | photo bytes | up bytes | overhead | push JSON | requests |",
        "|---|---:|---:|---:|---:|---:|",
    ]
    for r in wire:
        extra = r["up"] - r["size"]
        out.append(
            f"| {r['name']} | {r['size']:,} | {r['up']:,} | {extra:,} B "
            f"({pct(extra, r['size'])}) | {r['json']:,} | {r['requests']} |"
        )
    out += [
        f"| **all {len(wire)}** | {size:,} | {up:,} | {up - size:,} B "
        f"(**{pct(up - size, size)}**) | | |",
        "\n### 2. Resume after a cut\n",
        "The proxy resets the connection once the given share of a ~2.4 MB photo's size has "
        "gone up (HEAD and PUT headers included); *held* = the server's Upload-Offset right "
        "after the cut; *re-sent* = up bytes − photo − the uncut sync's overhead from (1), so "
        "it includes the extra HEAD and PUT headers. Baseline: a restart-from-zero upload "
        "(ODK/Kobo) sends again everything sent before the cut.\n",
        "| cut at | sent before cut | held by server | re-sent (resume) | re-sent (restart) |",
        "|---:|---:|---:|---:|---:|",
    ]
    for r in resume:
        out.append(
            f"| {100 * r['fraction']:.0f} % | {r['before_cut']:,} | {r['held']:,} | "
            f"{r['resent']:,.0f} B | {r['before_cut']:,} B |"
        )
    rounds = len(next(iter(ingest.values()))["rate"])
    out += [
        "\n### 3. Server ingest throughput\n",
        f"Findings without photos unless said, serialised before the clock starts; "
        f"{DEVICES} `httpx.AsyncClient`s in one asyncio process, each POSTing its batches "
        f"one after another; findings/s = findings / wall time; median of {rounds} "
        f"interleaved rounds, each pushing {pushed:,} new findings per run. After "
        f"every run each receipt record is `created` and the server's SQLite holds exactly "
        f"that many more findings. CPU = the server's and this client's CPU seconds / wall "
        f"time (100 % = one of the 2 cores).\n",
        "| run | findings/s | min – max | × baseline | push p50 / p95 | server CPU | client CPU |",
        "|---|---:|---:|---:|---:|---:|---:|",
    ]
    for name, r in ingest.items():
        lat, cpu, client = r["lat"], statistics.median(r["cpu"]), statistics.median(r["client"])
        out.append(
            f"| {name} | **{rates[name]:,.0f}** | {min(r['rate']):,.0f} – "
            f"{max(r['rate']):,.0f} | {rates[name] / base:.2f}× | "
            f"{1000 * statistics.median(lat):.0f} / {1000 * s.p95(lat):.0f} ms | "
            f"{100 * cpu:.0f} % | {100 * client:.0f} % |"
        )
    out += [
        "\n### 4. Server peak memory, 20 devices uploading a ~5 MB photo each at once\n",
        f"Server RSS from /proc/PID/status: VmRSS sampled every 10 ms, VmHWM (the process's "
        f"peak) read at the end; baseline = RSS after start-up and after the 20 pushes. "
        f"Photos: {memory['photos']}. Every photo checked stored with the right sha256.\n",
        "| upload | RSS after start-up | after pushes | peak RSS (sampled) | VmHWM | "
        "peak − after pushes | upload rate |",
        "|---|---:|---:|---:|---:|---:|---:|",
    ]
    for name, m in memory["runs"].items():
        out.append(
            f"| {name} | {mb(m['started'])} | {mb(m['pushed'])} | {mb(m['peak'])} | "
            f"**{mb(m['hwm'])}** | {mb(m['peak'] - m['pushed'])} | "
            f"{m['mb_s']:.0f} MB/s |"
        )
    return out


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="fewer photos, cuts and rounds")
    quick = parser.parse_args().quick
    with tempfile.TemporaryDirectory(prefix="bench-sync-") as folder:
        tmp = Path(folder)
        phone = [(p.name, process_photo(p)) for p in sorted(PHONE.iterdir())]
        noise = [
            (f"noise {CAMERA[0]}×{CAMERA[1]} #{i}", make_photo(100 + i, CAMERA, noise=True))
            for i in range(2 if quick else 5)
        ]
        server = ServerProcess(tmp / "server").start()
        try:
            print("1. wire", flush=True)
            wire = measure_wire(server, tmp, phone + noise)
            overhead = statistics.median(r["up"] - r["size"] for r in wire[len(phone) :])
            print("2. resume", flush=True)
            cuts = [0.6] if quick else [0.25, 0.44, 0.6, 0.75, 0.95]
            resume = measure_resume(server, tmp, cuts, overhead)
        finally:
            server.stop()
        print("3. ingest", flush=True)
        server = ServerProcess(tmp / "ingest").start()
        per_device = 100 if quick else 500
        try:
            ingest = measure_ingest(server, per_device, 2 if quick else 5)
        finally:
            server.stop()
        print("4. memory", flush=True)
        with ThreadPoolExecutor(2) as pool:
            big = list(pool.map(lambda i: make_photo(900 + i, BIG, noise=True), range(DEVICES)))
        sizes = [len(p.jpeg) for p in big]
        runs = {
            "1 MiB chunks (the client's way)": measure_memory(tmp, big, CHUNK_SIZE),
            "one PUT of the whole photo": measure_memory(tmp, big, max(sizes)),
        }
    photos = f"{DEVICES} noise JPEGs {BIG[0]}×{BIG[1]}, {mb(min(sizes))} – {mb(max(sizes))} each"
    memory = {"runs": runs, "photos": photos}
    lines = report(wire, resume, ingest, DEVICES * per_device, memory)
    head = [f"## Sync (`bench/bench_sync.py`)\n\nMachine: {_report.machine(PACKAGES)}\n"]
    if quick:
        head.append("Quick run (`--quick`): fewer photos, cuts and rounds.\n")
    markdown = "\n".join(head + lines)
    print(markdown)
    print(f"\nwrote {_report.write_section('sync', markdown)}", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())

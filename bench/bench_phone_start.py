"""Phone bundle start-up: the app's first screen against a bare Flet page, in the same bundle.

Usage: python bench/bench_phone_start.py [--quick]

The bundle is tests/phone/bundle.py's (the walk test's): a venv with only the base dependencies,
the app and its packages as .pyc without sources, FLET_APP_STORAGE_DATA set and a home that
cannot be written. Each child is a fresh interpreter of that bundle, started the way the phone
starts the app: main.pyc is imported and what it hands to `flet.run` runs in the headless harness
(the Flutter client's stand-in, tests/ui/harness.py). Timed from just before the process is
spawned to
  first view  the first patch sent to the client that shows a screen (a view with content);
  ready       the control a walker taps first is on the screen (found by its key).
The floor is the same harness in the same bundle with a bare Flet page (one view, one text;
walkaudit not imported). Runs are interleaved; medians and p95. Also: which heavy modules were
imported when the first view was sent.
"""

from __future__ import annotations

import argparse
import json
import math
import re
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import _report

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))  # tests.phone.bundle

from bench_app import explained, fill_walk  # noqa: E402

from tests.phone import bundle  # noqa: E402

GOAL = 2.0  # first screen within this many times the floor
# The packages the first screen should not need (the list), and the rest of the usual
# suspects for a slow cold start.
HEAVY = ("pydantic", "sqlite_utils", "PIL", "httpx", "geopy", "flet_map")
WATCH = (*HEAVY, "flet_camera", "flet_geolocator", "flet_permission_handler", "numpy")
BUNDLE_PACKAGES = ("flet", "pydantic", "sqlite-utils", "pillow", "httpx", "geopy")

# Run as scripts from the support folder (sys.path[0]); argv[1]: the key a walker taps first.
CHILD_COMMON = f"""
import time
T_CODE = time.time()
import asyncio, json, os, sys
KEY = sys.argv[1]
WATCH = {WATCH!r}
STAMPS = {{"code": T_CODE}}
def loaded():
    return [m for m in WATCH if m in sys.modules]
def shows_a_screen(page):
    return any(v.controls or v.appbar is not None for v in page.views)
def watch(harness):
    send = harness.FakeClient.send_message
    def send_message(self, message):
        send(self, message)
        if "first" not in STAMPS and self.session and shows_a_screen(self.session.page):
            STAMPS.update(first=time.time(), first_mods=loaded())
    harness.FakeClient.send_message = send_message
    harness.default_results = lambda: {{
        ("Geolocator", "request_permission"): "whileInUse",
        ("Geolocator", "get_current_position"): harness.OREBRO_FIX,
        ("PermissionHandler", "request"): "granted",
    }}
async def start_until_ready(harness):
    h = await harness.Harness.start(None)
    deadline = time.monotonic() + 60
    while not h.has(KEY):
        h.raise_crash()
        if time.monotonic() > deadline:
            raise SystemExit(f"{{KEY}} never came on screen: {{h.texts()[:20]}}")
        await asyncio.sleep(0.002)
    STAMPS.update(ready=time.time(), ready_mods=loaded())
    print(json.dumps(STAMPS), flush=True)
    os._exit(0)  # the phone's start-up is measured; tearing the app down is not
"""
CHILD_APP = (
    CHILD_COMMON
    + """
import importlib.machinery
import flet
import harness
watch(harness)
handed = {}
flet.run = lambda main, **kwargs: handed.update(main=main)
import main
loader = main.__spec__.loader
assert isinstance(loader, importlib.machinery.SourcelessFileLoader), loader
STAMPS["imported"] = time.time()
harness.make_main = lambda data_dir: handed["main"]
asyncio.run(start_until_ready(harness))
"""
)
CHILD_FLOOR = (
    CHILD_COMMON
    + """
import types
import flet as ft
async def floor_main(page):
    page.views.clear()
    page.views.append(ft.View(route="/", controls=[ft.Text("Trygghetsvandring", key=KEY)]))
    page.update()
stub = types.ModuleType("walkaudit.ui.app")  # the harness without the app
stub.App, stub.make_main = object, lambda data_dir: floor_main
sys.modules["walkaudit.ui.app"] = stub
import harness
watch(harness)
STAMPS["imported"] = time.time()
assert not [m for m in sys.modules if m.startswith("walkaudit") and m != "walkaudit.ui.app"]
asyncio.run(start_until_ready(harness))
"""
)
CHILD_IMPORT = """
import time
T_CODE = time.time()
{imports}
import json
print(json.dumps(dict(code=T_CODE, first=time.time(), ready=time.time())))
"""
FLOOR = "floor: bare Flet page in the harness"
DAILY = "app: walker's phone (start screen)"
FIRST_RUN = "app: first start (enrol screen)"
# name -> (script, key, fresh data directory for each run)
RUNS: dict[str, tuple[str, str, bool]] = {
    "python, an empty script": (CHILD_IMPORT.format(imports="pass"), "-", False),
    "import flet": (CHILD_IMPORT.format(imports="import flet"), "-", False),
    FLOOR: (CHILD_FLOOR, "floor-ready", False),
    DAILY: (CHILD_APP, "walk-continue", False),
    FIRST_RUN: (CHILD_APP, "enrol-server", True),
}


def median(values: Sequence[float]) -> float:
    return statistics.median(values)


def p95(values: Sequence[float]) -> float:
    """Nearest-rank 95th percentile (with few samples: close to the maximum)."""
    ordered = sorted(values)
    return ordered[max(0, math.ceil(0.95 * len(ordered)) - 1)]


class Bundle:
    """The phone bundle in a folder: its python, the app, the support folder, the environment."""

    def __init__(self, folder: Path) -> None:
        self.python = bundle.phone_python()
        self.app = bundle.build_app(self.python, folder)
        self.support = bundle.build_support(folder)
        self.env = bundle.phone_env(self.app, self.support, folder / "phone")
        self.data = Path(self.env["FLET_APP_STORAGE_DATA"])
        self.fresh = folder / "fresh"
        self.scripts: dict[str, Path] = {}
        for i, (name, (code, _, _)) in enumerate(RUNS.items()):
            self.scripts[name] = self.support / f"bench_child_{i}.py"
            self.scripts[name].write_text(code)
        self.failures: list[str] = []

    def run(self, name: str, n: int) -> dict[str, Any]:
        """One start in a fresh interpreter; a failure is retried once, then raised."""
        _, key, fresh = RUNS[name]
        env = dict(self.env)
        cwd = self.data
        if fresh:  # a first start: an empty app storage every time
            cwd = self.fresh / f"{n}"
            cwd.mkdir(parents=True)
            env["FLET_APP_STORAGE_DATA"] = str(cwd)
        cmd = [str(self.python), str(self.scripts[name]), key]
        for attempt in (1, 2):
            launch = time.time()
            done = subprocess.run(cmd, env=env, cwd=cwd, capture_output=True, text=True)
            if done.returncode == 0:
                result: dict[str, Any] = json.loads(done.stdout.strip().splitlines()[-1])
                result["launch"] = launch
                return result
            message = f"{name} failed (exit {done.returncode}): {done.stderr[-3000:]}"
            print(f"  {message} (attempt {attempt})", file=sys.stderr, flush=True)
            self.failures.append(name)
            if fresh:
                cwd = self.fresh / f"{n}-again"
                cwd.mkdir(parents=True)
                env["FLET_APP_STORAGE_DATA"] = str(cwd)
        raise RuntimeError(message)

    def import_chains(self, packages: Sequence[str]) -> dict[str, str]:
        """Who imports each package on the way to the walker's start screen (-X importtime)."""
        _, key, _ = RUNS[DAILY]
        cmd = [str(self.python), "-X", "importtime", str(self.scripts[DAILY]), key]
        done = subprocess.run(cmd, env=self.env, cwd=self.data, capture_output=True, text=True)
        if done.returncode != 0:
            raise RuntimeError(f"{DAILY} under -X importtime failed: {done.stderr[-3000:]}")
        return import_chains(done.stderr, packages)

    def versions(self) -> str:
        code = (
            "import sys; from importlib import metadata\n"
            "print(', '.join(f'{p} {metadata.version(p)}' for p in sys.argv[1:]))"
        )
        done = subprocess.run(
            [str(self.python), "-c", code, *BUNDLE_PACKAGES],
            env=self.env, cwd=self.data, capture_output=True, text=True, check=True,
        )  # fmt: skip
        return done.stdout.strip()


IMPORT_LINE = re.compile(r"^import time:\s+(\d+) \|\s+(\d+) \| ( *)(\S+)$")


def import_chains(stderr: str, packages: Sequence[str]) -> dict[str, str]:
    """For each package, the chain of imports that first brought it in ("pydantic ← … ← main")."""
    lines = [(m[4], len(m[3]) // 2) for m in map(IMPORT_LINE.match, stderr.splitlines()) if m]
    # Children are printed before their parent: walking backwards, a module's parent is the last
    # module seen one level up.
    parent: list[int | None] = [None] * len(lines)
    last_at: dict[int, int] = {}
    for i in range(len(lines) - 1, -1, -1):
        depth = lines[i][1]
        parent[i] = last_at.get(depth - 1) if depth else None
        last_at[depth] = i
    chains: dict[str, str] = {}
    for i, (name, _) in enumerate(lines):
        if name in packages and name not in chains:
            chain, j = [], parent[i]
            while j is not None:
                chain.append(lines[j][0])
                j = parent[j]
            chains[name] = " ← ".join([name, *chain])
    return chains


def walkers_phone(data: Path) -> None:
    """As bench_app's start-up: an active walk and 5 finished walks of 20 findings each."""
    store = explained(data)
    for i in range(5):
        fill_walk(store, f"Runda {i}", 20, seed=i, route=20)
        store.end_walk()
    fill_walk(store, "Kvällsvandring", 20, seed=9, route=20)
    store.close()


def measure(b: Bundle, rounds: int) -> dict[str, list[dict[str, Any]]]:
    names = list(RUNS)
    for name in names:  # warm the page cache and the support folder's .pyc
        b.run(name, -1)
    stamps: dict[str, list[dict[str, Any]]] = {name: [] for name in names}
    for rep in range(rounds):
        for name in names[rep % len(names) :] + names[: rep % len(names)]:
            stamps[name].append(b.run(name, rep))
        print(f"  round {rep + 1}/{rounds}", file=sys.stderr, flush=True)
    return stamps


def commit() -> str:
    """The commit measured, and whether the app's files had uncommitted changes."""
    head = subprocess.run(
        ["git", "-C", str(ROOT), "rev-parse", "--short", "HEAD"], capture_output=True, text=True
    ).stdout.strip()
    dirty = subprocess.run(
        ["git", "-C", str(ROOT), "status", "--porcelain", "--", "main.py", "walkaudit"],
        capture_output=True,
        text=True,
    ).stdout.strip()
    return f"`{head or 'unknown'}`" + (" with uncommitted changes in the app" if dirty else "")


def tables(stamps: dict[str, list[dict[str, Any]]], rounds: int) -> tuple[str, dict[str, Any]]:
    def span(name: str, mark: str) -> list[float]:
        return [(r[mark] - r["launch"]) * 1000 for r in stamps[name]]

    floor_first, floor_ready = median(span(FLOOR, "first")), median(span(FLOOR, "ready"))
    rows = [
        "| run | launch → first view ms | p95 | × floor | launch → ready ms | p95 | × floor |"
        " interpreter start | imports (harness, main.pyc) |",
        "|---|---:|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for name in RUNS:
        first, ready = span(name, "first"), span(name, "ready")
        start = median([(r["code"] - r["launch"]) * 1000 for r in stamps[name]])
        has_imports = "imported" in stamps[name][0]
        imports = (
            f"{median([(r['imported'] - r['code']) * 1000 for r in stamps[name]]):.0f}"
            if has_imports
            else "–"
        )
        screen = has_imports  # the import rows have no screen: no ratio
        rows.append(
            f"| {name} | **{median(first):.0f}** | {p95(first):.0f} |"
            f" {f'{median(first) / floor_first:.2f}×' if screen else ''} |"
            f" {median(ready):.0f} | {p95(ready):.0f} |"
            f" {f'{median(ready) / floor_ready:.2f}×' if screen else ''} |"
            f" {start:.0f} | {imports} |"
        )
    mods = [
        "| package | at the first view: walker's phone | first start | when ready |",
        "|---|---|---|---|",
    ]

    def share(name: str, mark: str, package: str) -> str:
        n = sum(package in r[f"{mark}_mods"] for r in stamps[name])
        return "no" if n == 0 else ("**yes**" if n == len(stamps[name]) else f"{n}/{rounds} runs")

    for package in WATCH:
        mods.append(
            f"| {package} | {share(DAILY, 'first', package)} | {share(FIRST_RUN, 'first', package)}"
            f" | {share(DAILY, 'ready', package)} |"
        )
    daily, first_run = median(span(DAILY, "first")), median(span(FIRST_RUN, "first"))
    heavy = [p for p in HEAVY if any(p in r["first_mods"] for r in stamps[DAILY])]
    info = {
        "floor": floor_first,
        "daily": daily,
        "first_run": first_run,
        "daily_ready": median(span(DAILY, "ready")),
        "heavy": heavy,
    }
    md = "\n".join([*rows, "", *mods])
    return md, info


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="fewer rounds")
    args = parser.parse_args()
    rounds = 5 if args.quick else 15
    with tempfile.TemporaryDirectory(prefix="bench_phone_") as tmp:
        print("building the phone bundle (the venv is cached in .venv-phone/)", file=sys.stderr)
        b = Bundle(Path(tmp))
        walkers_phone(b.data)
        versions = b.versions()
        print(f"start-up in the bundle: {rounds} rounds", file=sys.stderr)
        stamps = measure(b, rounds)
        failures = list(b.failures)
        at_first = sorted({m for r in stamps[DAILY] for m in r["first_mods"]})
        chains = b.import_chains(at_first)
    md_tables, info = tables(stamps, rounds)
    who = [f"* `{chains.get(m, m + ' (no -X importtime line)')}`" for m in at_first]
    ratio = info["daily"] / info["floor"]
    ready_ratio = info["daily_ready"] / info["floor"]
    goals = [
        "| goal | measured | met |",
        "|---|---|---|",
        f"| first screen within {GOAL:.0f}× the floor (walker's phone) | first view"
        f" {info['daily']:.0f} ms vs floor {info['floor']:.0f} ms ({ratio:.2f}×); start screen"
        f" ready {info['daily_ready']:.0f} ms ({ready_ratio:.2f}×)"
        f" | {'yes' if ratio <= GOAL else '**no**'} |",
        f"| first screen within {GOAL:.0f}× the floor (first start) | first view"
        f" {info['first_run']:.0f} ms ({info['first_run'] / info['floor']:.2f}×)"
        f" | {'yes' if info['first_run'] / info['floor'] <= GOAL else '**no**'} |",
        f"| {', '.join(HEAVY)} not imported before the first screen | imported:"
        f" {', '.join(info['heavy']) or 'none'} | {'no' if info['heavy'] else 'yes'} |",
    ]
    flags = " (--quick)" if args.quick else ""
    md = "\n".join(
        [
            "## Phone bundle start-up (`bench/bench_phone_start.py`)",
            "",
            f"Machine: {_report.machine(())}{flags}. Bundle: {versions}; the app at {commit()}.",
            "",
            "The bundle of the phone-bundle test (tests/phone/bundle.py): a venv with only the"
            " base dependencies and no pip, the app and its packages as `.pyc` without sources,"
            " `FLET_APP_STORAGE_DATA` set"
            " and a home that cannot be written. Each run is a fresh interpreter of it, started"
            " as the phone starts the app (main.pyc imported, what it hands to `flet.run` run in"
            " the headless harness — Python side only: no Flutter, no socket). *First view* ="
            " launch → the first patch sent to the client that shows a screen; *ready* = launch"
            " → the control a walker taps first is on it (`walk-continue`, `enrol-server`). The"
            " walker's phone has an active walk and 5 finished walks of 20 findings (as in"
            " bench_app); a first start has an empty app storage each time. The floor is the"
            f" same harness and bundle with a bare Flet page. {rounds} interleaved rounds,"
            " medians and p95.",
            "",
            *goals,
            "",
            md_tables,
            "",
            "Who imports what the walker's start screen had loaded at its first view (the first"
            " import of each, from one run under -X importtime; ← = imported by):"
            if who
            else "None of the watched packages was loaded at the first view.",
            "",
            *who,
        ]
    )
    if failures:
        md += (
            f"\n\n{len(failures)} child process(es) failed and were run again: {failures}"
            " (see the benchmark's stderr)."
        )
    path = _report.write_section("phone_start", md)
    print(md)
    print(f"wrote {path}", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())

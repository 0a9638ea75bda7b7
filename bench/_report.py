"""Shared by the benchmarks: a one-line machine description, and bench/RESULTS.md sections.

Each benchmark owns one section, between `<!-- bench:NAME -->` and `<!-- /bench:NAME -->`, and
rewrites only that; the file keeps its first line, "# Benchmark results".
"""

from __future__ import annotations

import os
import platform
import re
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from importlib import metadata
from pathlib import Path

RESULTS = Path(__file__).with_name("RESULTS.md")
HEADER = "# Benchmark results"


def machine(packages: Iterable[str] = ("pillow",)) -> str:
    """E.g. "AMD EPYC, 2 cores, 23.4 GiB RAM, Linux x86_64; Python 3.11.9, pillow 13.0.0; …"."""
    versions = [f"Python {platform.python_version()}"]
    for package in packages:
        try:
            versions.append(f"{package} {metadata.version(package)}")
        except metadata.PackageNotFoundError:
            versions.append(f"{package} (not installed)")
    when = datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC")
    return (
        f"{_cpu_model()}, {os.cpu_count()} cores, {_ram()} RAM, {platform.system()}"
        f" {platform.machine()}; {', '.join(versions)}; {when}"
    )


def write_section(name: str, markdown: str) -> Path:
    """Replace this benchmark's section of RESULTS.md (or append it); return the file's path."""
    if not re.fullmatch(r"[A-Za-z0-9_.-]+", name):
        raise ValueError(f"bad section name {name!r}")
    start, end = f"<!-- bench:{name} -->", f"<!-- /bench:{name} -->"
    block = f"{start}\n{markdown.strip()}\n{end}"
    with _locked():
        text = RESULTS.read_text(encoding="utf-8") if RESULTS.exists() else ""
        if not text.startswith(HEADER):
            text = f"{HEADER}\n\n{text.lstrip()}"
        section = re.compile(re.escape(start) + ".*?" + re.escape(end), re.DOTALL)
        if section.search(text):
            text = section.sub(lambda _: block, text, count=1)
        else:
            text = f"{text.rstrip()}\n\n{block}\n"
        temporary = RESULTS.with_name(f".{RESULTS.name}.{os.getpid()}.tmp")
        temporary.write_text(text if text.endswith("\n") else text + "\n", encoding="utf-8")
        os.replace(temporary, RESULTS)  # readers never see half a file
    return RESULTS


@contextmanager
def _locked() -> Iterator[None]:
    """Serialise read-modify-write between benchmarks running at the same time (POSIX only)."""
    try:
        import fcntl
    except ImportError:
        yield
        return
    fd = os.open(RESULTS.parent, os.O_RDONLY)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX)
        yield
    finally:
        os.close(fd)


def _cpu_model() -> str:
    try:
        info = Path("/proc/cpuinfo").read_text(encoding="utf-8", errors="replace")
    except OSError:
        info = ""
    for key in ("model name", "Hardware", "Model", "cpu model"):  # x86, then ARM / others
        found = re.search(rf"^{key}\s*:\s*(.+)$", info, re.MULTILINE)
        if found:
            return found[1].strip()
    return platform.processor() or platform.machine() or "unknown CPU"


def _ram() -> str:
    try:
        meminfo = Path("/proc/meminfo").read_text(encoding="utf-8")
        kib = int(re.search(r"^MemTotal:\s*(\d+) kB", meminfo, re.MULTILINE)[1])  # type: ignore[index]
        return f"{kib / 2**20:.1f} GiB"
    except (OSError, TypeError, ValueError):
        pass
    try:
        return f"{os.sysconf('SC_PAGE_SIZE') * os.sysconf('SC_PHYS_PAGES') / 2**30:.1f} GiB"
    except (AttributeError, ValueError, OSError):
        return "? GiB"

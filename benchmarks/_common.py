"""Shared helpers for the benchmarks: repeated runs, medians, and the reproducing command."""

from __future__ import annotations

import os
import platform
import shlex
import statistics
import sys
from collections.abc import Sequence

SMOKE = os.environ.get("BENCH_SMOKE") == "1" or "--smoke" in sys.argv


def command() -> str:
    return "python " + shlex.join([os.path.relpath(sys.argv[0]), *sys.argv[1:]])


def machine() -> str:
    return f"{os.cpu_count()} cores, Python {platform.python_version()}, {platform.machine()}"


def summary(values: Sequence[float], fmt: str = "{:.3g}") -> str:
    """median [min .. max] of repeated runs."""
    med = statistics.median(values)
    return f"{fmt.format(med)} [{fmt.format(min(values))} .. {fmt.format(max(values))}]"


def header(title: str) -> None:
    print(f"# {title}")
    print(f"# reproduce: {command()}")
    print(f"# machine: {machine()}{'  (smoke mode: small sizes, no targets)' if SMOKE else ''}")


def rss_bytes() -> int:
    """Resident memory now (Linux /proc), in bytes."""
    with open("/proc/self/statm") as f:
        return int(f.read().split()[1]) * os.sysconf("SC_PAGE_SIZE")


def percentile(values: Sequence[float], q: float) -> float:
    ordered = sorted(values)
    if not ordered:
        return float("nan")
    k = min(len(ordered) - 1, max(0, round(q / 100 * (len(ordered) - 1))))
    return ordered[k]


def verdict(ok: bool, what: str) -> str:
    if SMOKE:
        return f"(smoke: {what} not checked)"
    return f"target {'MET' if ok else 'MISSED'}: {what}"

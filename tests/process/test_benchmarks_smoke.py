"""Every benchmark runs in smoke mode (small sizes, no targets), so none of them rots."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

BENCHMARKS = Path(__file__).resolve().parents[2] / "benchmarks"
SCRIPTS = sorted(p.name for p in BENCHMARKS.glob("bench_*.py"))


def test_every_benchmark_is_covered() -> None:
    assert set(SCRIPTS) >= {
        "bench_economy.py",
        "bench_fleet.py",
        "bench_metrics.py",
        "bench_mix.py",
        "bench_quota.py",
        "bench_scale.py",
        "bench_throughput.py",
        "bench_timer.py",
        "bench_triggerer.py",
    }


@pytest.mark.parametrize("script", SCRIPTS)
def test_benchmark_runs_in_smoke_mode(script: str) -> None:
    env = {**os.environ, "BENCH_SMOKE": "1", "PYTHONHASHSEED": "0"}
    done = subprocess.run(
        [sys.executable, script, "--smoke"],
        cwd=BENCHMARKS,
        env=env,
        capture_output=True,
        text=True,
        timeout=180,
        check=False,
    )
    assert done.returncode == 0, done.stderr[-3000:]
    out = done.stdout
    # Each prints how to reproduce it and on what machine, then at least one figure.
    assert f"# reproduce: python {script}" in out
    assert "# machine:" in out
    assert "smoke mode" in out
    figures = [line for line in out.splitlines() if line and not line.startswith("#")]
    assert figures, out
    assert "Traceback" not in done.stderr

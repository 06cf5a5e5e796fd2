"""The realistic task mix of the economy benchmarks, and how a pass over it is scored.

Every built-in kind, several export and import tasks per dataset, durations spread over
two orders of magnitude (lognormal, sigma 0.4, clipped to a third and three times each
kind's median), 10% failing. Requests are counted by the simulator (every ModelArts
request: status and list calls) and split by kind; a list request counts for its kind.
"""

from __future__ import annotations

import math
import random
import time
from collections import Counter
from collections.abc import Sequence
from typing import Any

import attrs

from _common import percentile
from _sim import SimProcess
from modelarts_poller.simulator import spec_of

# kind -> (tasks per group, median seconds before scaling)
MIX: dict[str, tuple[int, float]] = {
    "sync": (1, 2.0),
    "dataset": (1, 3.0),
    "version": (1, 4.0),
    "export": (3, 5.0),
    "import": (2, 8.0),
    "dataset_task": (1, 10.0),
    "intelligent_task": (1, 20.0),
    "processing_task": (1, 30.0),
    "model": (1, 40.0),
    "service": (1, 60.0),
    "training_job": (1, 150.0),
}
PER_GROUP = sum(n for n, _ in MIX.values())
SHARED = ("export", "import")  # several per dataset: one list call sees them all


def task_set(groups: int, scale: float, seed: int) -> list[dict[str, Any]]:
    rng = random.Random(seed)
    out = []
    for g in range(groups):
        for kind, (count, median) in MIX.items():
            for _ in range(count):
                run = median * min(3.0, max(1 / 3, math.exp(rng.gauss(0.0, 0.4))))
                task: dict[str, Any] = {
                    "kind": kind,
                    "queue": rng.uniform(0.0, 1.0) * scale,
                    "run": run * scale,
                    "outcome": "failed" if rng.random() < 0.1 else "completed",
                    "total": rng.randrange(100, 50_000),
                }
                if kind in SHARED:
                    task["dataset_id"] = f"ds-{seed}-{g}"
                out.append(task)
    return out


@attrs.frozen
class Pass:
    requests: int  # server side, every ModelArts request
    by_kind: dict[str, int]  # server side, status and list requests of each kind
    delays: tuple[float, ...]
    kinds: tuple[str, ...]
    wrong: int  # outcomes that disagree with the simulator, or never reported
    throttled: int  # 429 answers

    def count(self, kind: str | None = None) -> int:
        return sum(kind in (None, k) for k in self.kinds)

    def per_task(self, kind: str | None = None) -> float:
        if kind is None:
            return self.requests / max(1, len(self.delays))
        return self.by_kind.get(kind, 0) / max(1, self.count(kind))

    def p95(self, kind: str | None = None) -> float:
        return percentile(
            [d for d, k in zip(self.delays, self.kinds, strict=True) if kind in (None, k)], 95
        )


def clock_offset(sim: SimProcess) -> float:
    """Simulator clock minus ours (both CLOCK_MONOTONIC, so about zero)."""
    t0 = time.monotonic()
    now = sim.truth()["now"]
    t1 = time.monotonic()
    return float(now) - (t0 + t1) / 2


def setup(
    sim: SimProcess, tasks: list[dict[str, Any]], project: str
) -> tuple[list[dict[str, Any]], list[Any]]:
    sim.reset()
    created = sim.add_tasks(tasks, project)
    return created, [spec_of(t) for t in created]


def horizon(created: Sequence[dict[str, Any]], offset: float, slack: float) -> float:
    """Seconds from now by which a pass must be over (bounds each load loop)."""
    return max(t["finishes"] for t in created) - offset - time.monotonic() + slack


def score(
    sim: SimProcess, created: list[dict[str, Any]], ends: Sequence[tuple[float, bool] | None]
) -> Pass:
    offset = clock_offset(sim)
    delays, kinds, wrong = [], [], 0
    for t, end in zip(created, ends, strict=True):
        if end is None:
            wrong += 1
            continue
        at, ok = end
        wrong += ok != (t["outcome"] == "completed")
        delays.append(at + offset - t["finishes"])
        kinds.append(t["kind"])
    stats = sim.stats()
    by_kind: Counter[str] = Counter(stats["per_kind"])
    by_kind.update(stats["lists"])
    throttled = int(stats["by_fault"].get("server_rate_limit", 0))
    return Pass(
        int(stats["requests_all"]), dict(by_kind), tuple(delays), tuple(kinds), wrong, throttled
    )

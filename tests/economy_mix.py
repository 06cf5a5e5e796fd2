"""The request economy on a mix of every kind, in virtual time (the guard's measurement).

Every built-in kind with the simulator's own scripted lifecycles (``body_at``: queue, run
with progress where the kind reports it, 10% failing), durations lognormal around each
kind's median, on a FakeClock: a pass of a few hundred tasks takes a second or two of CPU
and gives the same numbers every time. The engine runs as ``bench_mix.py`` runs it (a
constant one-second rhythm that learned placement may stretch to 60 s, its duration model
learned in a warm-up pass on another sample of the mix), without list polling (the fake
client answers status requests only).

The baseline is a fixed-interval poller per kind whose interval is chosen (bisection) so
that its p95 end-report delay on the same tasks equals the engine's p95 on that kind in
the same run; its requests per task are counted exactly (a poll at 0, I, 2I, ... up to
the first one at or after the end). ``python -m tests.economy_mix`` prints the table;
``--waves`` prints bench_triggerer's shape in virtual time instead (export, import, sync
and training jobs, lognormal median 30 s sigma 0.5, queued 0-2 s, the default backoff 1 to
30 s, against a trigger that sleeps 5 s; a cold wave and a warm one); ``--passes`` prints
bench_mix.py's own run instead (30 groups, three measured passes after one warm-up, per
kind each pass's ratio and p95); ``--economy``
prints bench_economy's shape (sync, export and dataset tasks round-robin, queued 0-1 s,
lognormal median 4 s sigma 0.7 clipped to 1-16 s, a constant 1 s rhythm up to 8 s,
learned online from nothing) against one fixed interval matched to the engine's overall
p95, as that benchmark compares them.
"""

from __future__ import annotations

import math
import random
from collections import Counter
from typing import Any

import attrs

from modelarts_poller import Backoff, DurationModel, Engine, PollPolicy, TaskCompleted
from modelarts_poller.simulator._lifecycle import Script, body_at, spec_of
from modelarts_poller.testing import FakeClock

# kind -> (tasks per group, median seconds): bench_mix's mix (benchmarks/_mix.py)
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
POLICY = PollPolicy(
    interval=Backoff(initial=1.0, maximum=60.0, strategy="constant", jitter="none"),
    first_delay=1.0,
)


def scripts(
    groups: int, seed: int, *, scale: float = 1.0, shared: tuple[str, ...] = ()
) -> list[Script]:
    """``groups`` groups of the mix, durations (and queueing) times ``scale``; the tasks of
    a group of each kind in ``shared`` share one dataset (several exports of it, listed
    at once), every other task has a dataset of its own."""
    rng = random.Random(seed)
    out = []
    n = 0
    for g in range(groups):
        for kind, (count, median) in MIX.items():
            for _ in range(count):
                n += 1
                run = median * min(3.0, max(1 / 3, math.exp(rng.gauss(0.0, 0.4))))
                out.append(
                    Script(
                        kind,
                        project_id="project",
                        dataset_id=f"ds-{seed}-{g}" if kind in shared else f"ds-{seed}-{g}-{n}",
                        task_id=f"t-{seed}-{n}",
                        created=0.0,
                        created_ms=1_700_000_000_000,
                        queue=rng.uniform(0.0, 1.0) * scale,
                        run=run * scale,
                        outcome="failed" if rng.random() < 0.1 else "completed",
                        total=rng.randrange(100, 50_000),
                    )
                )
    return out


class MixClient:
    """Answers a built-in spec's status request from its script at the clock's time."""

    def __init__(self, clock: FakeClock, tasks: list[Script]) -> None:
        self.clock = clock
        self.start = clock.now()
        self.by_key = {(s.kind, *s.ids): s for s in tasks}
        self.requests: Counter[str] = Counter()

    async def get_task(self, spec: Any) -> Any:
        script = self.by_key[(spec.KIND, *spec.ids)]
        self.requests[script.kind] += 1
        return type(spec).PARSE(body_at(script, self.clock.now() - self.start))


@attrs.frozen
class KindScore:
    kind: str
    tasks: int
    engine_per_task: float
    engine_p95: float
    fixed_interval: float
    fixed_per_task: float
    floor: float = math.nan  # the skipping oracle's ratio (see ``floor``)
    on_time: float = math.nan  # the same oracle, late for none (``floor(..., late=0.0)``)

    @property
    def ratio(self) -> float:
        return self.engine_per_task / self.fixed_per_task


def p95(values: list[float]) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, math.ceil(0.95 * len(ordered)) - 1)]


def fixed_poller(ends: list[float], interval: float) -> tuple[float, float]:
    """(p95 delay, requests per task) of polling every ``interval`` from 0."""
    polls = [math.ceil(e / interval - 1e-12) for e in ends]
    delays = [n * interval - e for n, e in zip(polls, ends, strict=True)]
    return p95(delays), sum(n + 1 for n in polls) / len(ends)


def floor(ends: list[float], interval: float, late: float = 0.05) -> float:
    """Requests per task of the p95 design's floor, over fixed ratios: an oracle that knows
    the kind's ends skips to the earliest end of the latest 95% of them (``late``: the
    share it may see late), then polls every ``interval`` (a p95 says nothing about the
    other 5%), against a fixed poller matched to the oracle's own p95 on the same ends.
    With ``late=0.0`` it skips to the earliest end: no design that sees every end within
    its interval can skip more."""
    skip = sorted(ends)[int(late * len(ends))]
    polls = [1 + max(0, math.ceil((e - skip) / interval - 1e-12)) for e in ends]
    delays = [max(0.0, skip - e) + (n - 1) * interval - max(0.0, e - skip) for n, e in
              zip(polls, ends, strict=True)]  # fmt: skip
    mine = sum(polls) / len(ends)
    return mine / fixed_poller(ends, matched_interval(ends, p95(delays)))[1]


def matched_interval(ends: list[float], target: float) -> float:
    """The fixed interval whose p95 delay on ``ends`` is at most ``target`` (bisection)."""
    lo, hi = 1e-3, max(ends) * 2
    for _ in range(60):
        mid = (lo + hi) / 2
        if fixed_poller(ends, mid)[0] <= target:
            lo = mid
        else:
            hi = mid
    return lo


async def engine_pass(
    tasks: list[Script], durations: DurationModel | None, seed: int
) -> tuple[dict[str, list[float]], Counter[str], DurationModel | None]:
    clock = FakeClock()
    client = MixClient(clock, tasks)
    delays: dict[str, list[float]] = {}
    async with Engine(
        client=client, clock=clock, policy=POLICY, seed=seed, durations=durations,
        list_polling=False, max_in_flight=100,
    ) as engine:  # fmt: skip
        handles = engine.watch_many([spec_of(s) for s in tasks])
        await clock.run(engine.wait(handles), limit=100_000.0)
        for script, handle in zip(tasks, handles, strict=True):
            event = handle.outcome
            assert event is not None
            assert isinstance(event, TaskCompleted) == (script.outcome == "completed")
            delays.setdefault(script.kind, []).append(event.at - client.start - script.finishes)
        model = engine.durations
    return delays, client.requests, model


async def measure(
    groups: int = 60, seed: int = 20261123, learned: DurationModel | None = None
) -> dict[str, KindScore]:
    """Per kind (and ``"all"``): the engine against the fixed poller matched to its p95,
    the engine starting from a copy of ``learned`` (default: learned in a warm-up pass on
    the mix drawn with ``seed - 1``)."""
    if learned is None:
        _, _, learned = await engine_pass(scripts(groups, seed - 1), None, seed - 1)
        assert learned is not None
    else:
        learned = DurationModel.from_json(learned.to_json())
    tasks = scripts(groups, seed)
    delays, requests, _ = await engine_pass(tasks, learned, seed)
    out: dict[str, KindScore] = {}
    all_engine = all_fixed = 0.0
    for kind in MIX:
        ends = [s.finishes for s in tasks if s.kind == kind]
        target = p95(delays[kind])
        interval = matched_interval(ends, target)
        fixed = fixed_poller(ends, interval)[1]
        out[kind] = KindScore(
            kind, len(ends), requests[kind] / len(ends), target, interval, fixed,
            floor(ends, POLICY.interval.initial),
            floor(ends, POLICY.interval.initial, late=0.0),
        )  # fmt: skip
        all_engine += requests[kind]
        all_fixed += fixed * len(ends)
    every = [d for ds in delays.values() for d in ds]
    floor_all = sum(s.floor * s.fixed_per_task * s.tasks for s in out.values()) / all_fixed
    on_time = sum(s.on_time * s.fixed_per_task * s.tasks for s in out.values()) / all_fixed
    out["all"] = KindScore(
        "all", len(tasks), all_engine / len(tasks), p95(every), 0.0, all_fixed / len(tasks),
        floor_all, on_time,
    )  # fmt: skip
    return out


async def passes(
    groups: int = 30, count: int = 3, seed: int = 20261123
) -> list[dict[str, KindScore]]:
    """bench_mix.py's own run: one warm-up pass (``seed - 1``), then ``count`` measured
    passes (``seed``, ``seed + 1``, ...) each from a copy of what it learned."""
    _, _, learned = await engine_pass(scripts(groups, seed - 1), None, seed - 1)
    assert learned is not None
    return [await measure(groups, seed + i, learned) for i in range(count)]


def wave(n: int, seed: int) -> list[Script]:
    """bench_triggerer's tasks: its four kinds, lognormal median 30 s sigma 0.5."""
    rng = random.Random(seed)
    kinds = ("export", "import", "sync", "training_job")
    return [
        Script(
            kinds[i % 4],
            project_id="project",
            dataset_id=f"ds-{seed}-{i}",
            task_id=f"t-{seed}-{i}",
            created=0.0,
            created_ms=1_700_000_000_000,
            queue=rng.uniform(0.0, 2.0),
            run=30.0 * rng.lognormvariate(0.0, 0.5),
            outcome="failed" if rng.random() < 0.1 else "completed",
            total=1000,
        )
        for i in range(n)
    ]


async def waves(n: int = 1000, sleep: float = 5.0) -> dict[str, tuple[float, float, float]]:
    """Cold and warm waves: (engine requests per task, / the fixed sleeper's, p95 s)."""
    global POLICY
    kept, POLICY = POLICY, PollPolicy(interval=Backoff(initial=1.0, maximum=30.0))
    try:
        _, _, learned = await engine_pass(wave(n, 1), None, 1)
        out = {}
        for label, model, seed in (("cold", None, 3), ("warm", learned, 2)):
            tasks = wave(n, seed)
            delays, requests, _ = await engine_pass(tasks, model, seed)
            engine = sum(requests.values()) / n
            fixed = sum(math.ceil(s.finishes / sleep - 1e-12) + 1 for s in tasks) / n
            out[label] = (engine, engine / fixed, p95([d for ds in delays.values() for d in ds]))
        return out
    finally:
        POLICY = kept


def economy_tasks(n: int, seed: int) -> list[Script]:
    """bench_economy's tasks (benchmarks/bench_economy.py)."""
    rng = random.Random(seed)
    kinds = ("sync", "export", "dataset_task")
    return [
        Script(
            kinds[i % 3],
            project_id="project",
            dataset_id=f"ds-{seed}-{i}",
            task_id=f"t-{seed}-{i}",
            created=0.0,
            created_ms=1_700_000_000_000,
            queue=rng.uniform(0.0, 1.0),
            run=min(16.0, max(1.0, 4.0 * rng.lognormvariate(0.0, 0.7))),
            outcome="failed" if rng.random() < 0.1 else "completed",
            total=1000,
        )
        for i in range(n)
    ]


async def economy(n: int = 400, seed: int = 20261206) -> dict[str, tuple[float, float]]:
    """Per kind and ``"all"``: (engine requests a task / the matched fixed poller's, p95 s),
    the fixed interval matched to the engine's overall p95, learned online."""
    global POLICY
    kept, POLICY = (
        POLICY,
        PollPolicy(
            interval=Backoff(initial=1.0, maximum=8.0, strategy="constant", jitter="none"),
            first_delay=1.0,
        ),
    )
    try:
        tasks = economy_tasks(n, seed)
        delays, requests, _ = await engine_pass(tasks, None, seed)
    finally:
        POLICY = kept
    every = [d for ds in delays.values() for d in ds]
    interval = matched_interval([s.finishes for s in tasks], p95(every))
    out = {}
    for kind in ("sync", "export", "dataset_task"):
        ends = [s.finishes for s in tasks if s.kind == kind]
        fixed = fixed_poller(ends, interval)[1]
        out[kind] = (requests[kind] / len(ends) / fixed, p95(delays[kind]))
    fixed_all = fixed_poller([s.finishes for s in tasks], interval)[1]
    out["all"] = (sum(requests.values()) / n / fixed_all, p95(every))
    return out


def table(scores: dict[str, KindScore]) -> str:
    lines = [
        f"{'kind':<17} {'tasks':>5} {'engine':>8} {'fixed':>8} {'ratio':>6} {'p95 s':>8} "
        f"{'floor':>6} {'on time':>7}"
    ]
    for s in scores.values():
        lines.append(
            f"{s.kind:<17} {s.tasks:>5} {s.engine_per_task:>8.2f} {s.fixed_per_task:>8.2f} "
            f"{s.ratio:>6.2f} {s.engine_p95:>8.2f} {s.floor:>6.2f} {s.on_time:>7.2f}"
        )
    return "\n".join(lines)


if __name__ == "__main__":
    import asyncio
    import sys
    import time

    began = time.process_time()
    if "--waves" in sys.argv:
        for label, (engine, ratio, delay) in asyncio.run(waves()).items():
            print(
                f"{label}: {engine:.2f} requests a task, {ratio:.3f} x fixed 5 s, p95 {delay:.1f} s"
            )
    elif "--passes" in sys.argv:
        runs = asyncio.run(passes())
        for kind in runs[0]:
            ratios = [run[kind].ratio for run in runs]
            shown = " ".join(
                f"{r.ratio:5.2f} ({r.engine_p95:5.2f} s)" for r in (run[kind] for run in runs)
            )
            print(f"{kind:<17} {shown}  median {sorted(ratios)[len(ratios) // 2]:.3f}")
    elif "--economy" in sys.argv:
        for kind, (ratio, delay) in asyncio.run(economy()).items():
            print(f"{kind:<13} {ratio:.3f} x fixed, p95 {delay:.2f} s")
    else:
        print(table(asyncio.run(measure())))
    print(f"# {time.process_time() - began:.1f} s CPU")

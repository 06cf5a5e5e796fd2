"""Request economy: requests per finished task, and how late each finish is reported.

The simulator runs in a subprocess. Each pass resets it and creates the same task set
(fixed seed): a round-robin mix of sync, export and generic dataset tasks, queued
0-1 s, running a lognormal time (median 4 s, sigma 0.7, clipped to 1-16 s), 10% of
them failing. Only exports report progress, so only they can benefit from
progress-aware scheduling. Both pollers watch every task from the moment it is
created, through ModelArtsClient with at most 100 requests in flight.

- engine: Engine with PollPolicy(interval=Backoff(initial=1, maximum=8,
  strategy="constant", jitter="none"), first_delay=1): a poll a second after the first
  second, and, for a task that reports progress, one aimed just past its estimated
  finish (at most 8 s ahead). Options (--strategy, --initial, --maximum, --jitter,
  --first-delay, --count, --scale, --repeats) try other settings.
- fixed:  the baseline, one coroutine per task polling every I seconds, with I chosen
  so that its p95 delay matches the engine's: bisection of I on a model of fixed
  polling (finish times from the simulator's truth), then real passes at that I; if
  their p95 is off by more than 10%, I is corrected and the passes repeated.

Delay = when the poller reported the end (engine: TaskCompleted/TaskFailed ``at``;
fixed: the time its answer was read) minus the simulator's ``finishes`` for the task;
both are CLOCK_MONOTONIC and the offset between the processes is measured. Requests
are counted by the client and by the simulator (GET /_sim/stats). Medians [min .. max]
of the passes. Target: the engine needs at most half the fixed poller's requests.
``--ablation`` adds an engine row with progress_aware=False.
"""

from __future__ import annotations

import argparse
import asyncio
import math
import random
import statistics
import time
from collections.abc import Sequence
from typing import Any

import attrs

from _common import SMOKE, header, percentile, summary, verdict
from _sim import SimProcess
from modelarts_poller import (
    Backoff,
    Engine,
    ModelArtsClient,
    NoAuth,
    PollPolicy,
    TransientError,
)
from modelarts_poller._phase import Phase
from modelarts_poller.simulator import spec_of

_parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
_parser.add_argument("--smoke", action="store_true", help="small sizes, no targets")
_parser.add_argument("--ablation", action="store_true", help="add progress_aware=False")
_parser.add_argument("--count", type=int, help="tasks per pass (default 400)")
_parser.add_argument("--scale", type=float, help="multiply every duration (default 1)")
_parser.add_argument("--repeats", type=int, help="passes per poller (default 3)")
_parser.add_argument("--strategy", default="constant", help="the engine's interval strategy")
_parser.add_argument("--initial", type=float, default=1.0, help="its first delay, s")
_parser.add_argument("--maximum", type=float, default=8.0, help="its largest delay, s")
_parser.add_argument("--jitter", default="none", help="its jitter: none, equal or full")
_parser.add_argument("--first-delay", type=float, default=1.0, help="wait before poll 1, s")
ARGS = _parser.parse_args()

PROJECT = "econ"
# Every duration and policy delay is multiplied by SCALE.
SCALE = ARGS.scale or (0.1 if SMOKE else 1.0)
COUNT = ARGS.count or (30 if SMOKE else 400)
REPEATS = ARGS.repeats or (1 if SMOKE else 3)
IN_FLIGHT = 100
SEED = 20261122
ABLATION = ARGS.ablation and not SMOKE
KINDS = ("sync", "export", "dataset_task")
DONE = (Phase.SUCCEEDED, Phase.FAILED)


def engine_policy(progress_aware: bool = True) -> PollPolicy:
    return PollPolicy(
        interval=Backoff(
            initial=ARGS.initial * SCALE,
            maximum=ARGS.maximum * SCALE,
            strategy=ARGS.strategy,
            jitter=ARGS.jitter,
        ),
        first_delay=ARGS.first_delay * SCALE,
        progress_aware=progress_aware,
    )


def task_set() -> list[dict[str, Any]]:
    rng = random.Random(SEED)
    out = []
    for i in range(COUNT):
        run = min(16.0, max(1.0, 4.0 * math.exp(rng.gauss(0.0, 0.7))))
        out.append(
            {
                "kind": KINDS[i % len(KINDS)],
                "queue": rng.uniform(0.0, 1.0) * SCALE,
                "run": run * SCALE,
                "outcome": "failed" if rng.random() < 0.1 else "completed",
                "total": rng.randrange(100, 50_000),
            }
        )
    return out


@attrs.frozen
class Pass:
    requests: int  # client side
    served: int  # server side
    delays: tuple[float, ...]
    kinds: tuple[str, ...]
    polls: tuple[int, ...]
    wrong: int  # tasks whose reported outcome disagrees with the simulator, or unfinished

    @property
    def per_task(self) -> float:
        return self.requests / len(self.delays)

    @property
    def p95(self) -> float:
        return percentile(self.delays, 95)

    def kind_per_task(self, kind: str) -> float:
        polls = [p for p, k in zip(self.polls, self.kinds, strict=True) if k == kind]
        return sum(polls) / len(polls)

    def kind_p95(self, kind: str) -> float:
        return percentile(
            [d for d, k in zip(self.delays, self.kinds, strict=True) if k == kind], 95
        )


def clock_offset(sim: SimProcess) -> float:
    """Simulator clock minus ours (both CLOCK_MONOTONIC, so about zero)."""
    t0 = time.monotonic()
    now = sim.truth()["now"]
    t1 = time.monotonic()
    return float(now) - (t0 + t1) / 2


def setup(sim: SimProcess) -> tuple[list[dict[str, Any]], list[Any]]:
    sim.reset()
    created = sim.add_tasks(task_set(), PROJECT)
    return created, [spec_of(t) for t in created]


def horizon(created: Sequence[dict[str, Any]], offset: float) -> float:
    """Seconds from now by which every pass must be over (bounds each load loop)."""
    return max(t["finishes"] for t in created) - offset - time.monotonic() + 30 * SCALE + 10


def score(
    sim: SimProcess,
    created: list[dict[str, Any]],
    ends: list[tuple[float, bool, int] | None],
    offset: float,
) -> Pass:
    delays, polls, kinds, wrong = [], [], [], 0
    for t, end in zip(created, ends, strict=True):
        if end is None:
            wrong += 1
            continue
        at, ok, n = end
        wrong += ok != (t["outcome"] == "completed")
        delays.append(at + offset - t["finishes"])
        polls.append(n)
        kinds.append(t["kind"])
    served = int(sim.stats()["requests"])
    return Pass(sum(polls), served, tuple(delays), tuple(kinds), tuple(polls), wrong)


def client(sim: SimProcess) -> ModelArtsClient:
    return ModelArtsClient(
        endpoint=sim.url, project_id=PROJECT, auth=NoAuth(), limit=IN_FLIGHT, timeout=30.0
    )


def engine_pass(sim: SimProcess, seed: int, progress_aware: bool = True) -> Pass:
    from modelarts_poller import TaskCompleted

    offset = clock_offset(sim)
    created, specs = setup(sim)

    async def run() -> list[tuple[float, bool, int] | None]:
        async with (
            client(sim) as api,
            Engine(
                client=api,
                policy=engine_policy(progress_aware),
                max_in_flight=IN_FLIGHT,
                seed=seed,
            ) as engine,
        ):
            handles = engine.watch_many(specs)
            await engine.wait(handles, timeout=horizon(created, offset))
            out: list[tuple[float, bool, int] | None] = []
            for h in handles:
                ev = h.outcome
                if ev is None:
                    out.append(None)
                else:
                    out.append((ev.at, isinstance(ev, TaskCompleted), h.polls))
            return out

    return score(sim, created, asyncio.run(run()), offset)


def fixed_pass(sim: SimProcess, interval: float) -> Pass:
    offset = clock_offset(sim)
    created, specs = setup(sim)

    async def one(api: ModelArtsClient, spec: Any) -> tuple[float, bool, int]:
        polls = 0
        while True:
            polls += 1
            try:
                obs = spec.interpret(await spec.fetch(api))
            except TransientError:
                await asyncio.sleep(interval)
                continue
            if obs.phase in DONE:
                return time.monotonic(), obs.phase is Phase.SUCCEEDED, polls
            await asyncio.sleep(interval)

    async def run() -> list[tuple[float, bool, int] | None]:
        async with client(sim) as api:
            return list(
                await asyncio.wait_for(
                    asyncio.gather(*(one(api, s) for s in specs)), horizon(created, offset)
                )
            )

    return score(sim, created, asyncio.run(run()), offset)


def model_p95(finishes: Sequence[float], interval: float) -> float:
    """p95 delay of polling every ``interval`` from 0, for tasks ending at ``finishes``."""
    return percentile([math.ceil(f / interval) * interval - f for f in finishes], 95)


def search_interval(target: float) -> float:
    """The fixed interval whose modelled p95 delay is ``target`` (bisection)."""
    finishes = [t["queue"] + t["run"] for t in task_set()]
    lo, hi = 1e-3 * SCALE, max(finishes)
    for _ in range(40):
        mid = (lo + hi) / 2
        if model_p95(finishes, mid) < target:
            lo = mid
        else:
            hi = mid
    return (lo + hi) / 2


def row(name: str, passes: Sequence[Pass]) -> None:
    def s(values: Sequence[float], fmt: str = "{:.2f}") -> str:
        return summary(values, fmt)

    print(
        f"{name:<26} {s([p.per_task for p in passes]):>22} "
        f"{s([p.served / len(p.delays) for p in passes]):>22} "
        f"{s([percentile(p.delays, 50) for p in passes], '{:.3f}'):>25} "
        f"{s([p.p95 for p in passes], '{:.3f}'):>25}"
    )
    by_kind = "  ".join(
        f"{k}: {statistics.median(p.kind_per_task(k) for p in passes):.2f} req, "
        f"p95 {statistics.median(p.kind_p95(k) for p in passes):.3f} s"
        for k in KINDS
    )
    wrong = sum(p.wrong for p in passes)
    print(f"#   by kind (medians): {by_kind}" + (f"  WRONG OUTCOMES: {wrong}" if wrong else ""))


def main() -> None:
    header("economy: requests per finished task at a matched p95 end-report delay")
    print(
        f"# {COUNT} tasks (seed {SEED}), durations x{SCALE:g}; engine policy "
        f"{engine_policy().interval!r}, first_delay {engine_policy().first_delay:g} s; "
        f"{IN_FLIGHT} requests in flight; {REPEATS} passes each"
    )
    with SimProcess() as sim:
        engine = [engine_pass(sim, seed) for seed in range(REPEATS)]
        target = statistics.median(p.p95 for p in engine)
        interval = search_interval(target)
        print(f"# engine p95 {target:.3f} s; bisection on the model gives I = {interval:.3f} s")
        fixed = [fixed_pass(sim, interval) for _ in range(REPEATS)]
        for _ in range(0 if SMOKE else 2):
            got = statistics.median(p.p95 for p in fixed)
            if abs(got - target) <= 0.1 * target:
                break
            interval *= target / got
            print(f"# fixed p95 {got:.3f} s is off; corrected I = {interval:.3f} s")
            fixed = [fixed_pass(sim, interval) for _ in range(REPEATS)]
        ablation = [engine_pass(sim, seed, False) for seed in range(REPEATS)] if ABLATION else []
    print(
        f"{'poller':<26} {'requests/task (client)':>22} {'requests/task (server)':>22} "
        f"{'p50 delay s':>25} {'p95 delay s':>25}"
    )
    row("engine", engine)
    row(f"fixed I={interval:.3f}s", fixed)
    if ablation:
        row("engine, progress_aware=0", ablation)
    ratios = [e.per_task / f.per_task for e, f in zip(engine, fixed, strict=True)]
    ratio = statistics.median(ratios)
    pairs = list(zip(engine, fixed, strict=True))
    by_kind = ", ".join(
        f"{k} {statistics.median(e.kind_per_task(k) / f.kind_per_task(k) for e, f in pairs):.2f}"
        for k in KINDS
    )
    print(f"# engine / fixed requests by kind (medians): {by_kind}")
    print(
        f"# engine / fixed requests: {summary(ratios, '{:.3f}')}; p95 delay engine "
        f"{target:.3f} s vs fixed {statistics.median(p.p95 for p in fixed):.3f} s"
    )
    print("# " + verdict(ratio <= 0.5, f"engine uses {ratio:.2f} x the fixed poller's requests"))


if __name__ == "__main__":
    main()

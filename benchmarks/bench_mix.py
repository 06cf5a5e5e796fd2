"""Request economy on a realistic mix: requests per finished task at a matched p95 delay.

Every built-in kind, with several export and import tasks per dataset, and durations
spread over two orders of magnitude (medians from 2 s for a sync to 150 s for a training
job, times ``--scale``; see ``_mix.py``). The simulator runs in its own process.

- engine: Engine with its defaults for economy (learned durations, list polling,
  progress-aware polls) and a constant one-interval rhythm (``--interval``, times the
  scale) that learned placement may stretch up to ``--maximum``. Its duration model is
  learned in a warm-up pass on another sample of the same mix, as a long-running engine
  (or one given its checkpoint) would have it; each measured pass starts from a copy.
- fixed: the baseline, one coroutine per task polling every I seconds, with I chosen per
  kind so that each kind's p95 delay matches the engine's on that kind (bisection on a
  model of fixed polling from the simulator's truth, then corrected once on real passes).
  A second fixed poller uses one interval for every task, matched to the engine's p95 over
  all tasks; it is reported too.

Delay = when the poller reported the end minus the simulator's ``finishes``. Medians
[min .. max] of the passes. Target: the engine needs at most half the per-kind fixed
poller's requests.
"""

from __future__ import annotations

import argparse
import asyncio
import math
import statistics
import time
from typing import Any

from _common import SMOKE, header, percentile, summary, verdict
from _mix import MIX, Pass, clock_offset, horizon, score, setup, task_set
from _sim import SimProcess
from modelarts_poller import (
    Backoff,
    DurationModel,
    Engine,
    ModelArtsClient,
    NoAuth,
    PollPolicy,
    TaskCompleted,
    TransientError,
)
from modelarts_poller._phase import Phase

_parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
_parser.add_argument("--smoke", action="store_true", help="small sizes, no targets")
_parser.add_argument("--groups", type=int, help="datasets (and groups of the other kinds)")
_parser.add_argument("--scale", type=float, help="multiply every duration (default 0.1)")
_parser.add_argument("--repeats", type=int, help="passes per poller (default 3)")
_parser.add_argument("--interval", type=float, default=1.0, help="engine rhythm, s (scaled)")
_parser.add_argument("--maximum", type=float, default=60.0, help="its longest delay, s (scaled)")
_parser.add_argument("--no-learning", action="store_true", help="engine without durations")
_parser.add_argument("--no-lists", action="store_true", help="engine without list polling")
ARGS = _parser.parse_args()

PROJECT = "mix"
SCALE = ARGS.scale or (0.02 if SMOKE else 0.1)
GROUPS = ARGS.groups or (3 if SMOKE else 30)
REPEATS = ARGS.repeats or (1 if SMOKE else 3)
IN_FLIGHT = 100
SEED = 20261123
DONE = (Phase.SUCCEEDED, Phase.FAILED)


def policy() -> PollPolicy:
    return PollPolicy(
        interval=Backoff(
            initial=ARGS.interval * SCALE,
            maximum=ARGS.maximum * SCALE,
            strategy="constant",
            jitter="none",
        ),
        first_delay=ARGS.interval * SCALE,
    )


def client(sim: SimProcess) -> ModelArtsClient:
    return ModelArtsClient(
        endpoint=sim.url, project_id=PROJECT, auth=NoAuth(), limit=IN_FLIGHT, timeout=30.0
    )


def engine_pass(sim: SimProcess, seed: int, learned: DurationModel | None) -> tuple[Pass, Any]:
    offset = clock_offset(sim)
    created, specs = setup(sim, task_set(GROUPS, SCALE, seed), PROJECT)
    slack = 60 * SCALE + 10

    async def run() -> tuple[list[tuple[float, bool] | None], Any]:
        durations = None if learned is None else DurationModel.from_json(learned.to_json())
        async with (
            client(sim) as api,
            Engine(
                client=api,
                policy=policy(),
                max_in_flight=IN_FLIGHT,
                seed=seed,
                durations=durations,
                learn_durations=not ARGS.no_learning,
                list_polling=not ARGS.no_lists,
            ) as engine,
        ):
            handles = engine.watch_many(specs)
            await engine.wait(handles, timeout=horizon(created, offset, slack))
            out: list[tuple[float, bool] | None] = []
            for h in handles:
                ev = h.outcome
                out.append(None if ev is None else (ev.at, isinstance(ev, TaskCompleted)))
            return out, engine.durations

    ends, model = asyncio.run(run())
    return score(sim, created, ends), model


def fixed_pass(sim: SimProcess, seed: int, intervals: dict[str, float]) -> Pass:
    """One coroutine per task polling every ``intervals[kind]`` seconds."""
    offset = clock_offset(sim)
    created, specs = setup(sim, task_set(GROUPS, SCALE, seed), PROJECT)
    slack = 60 * SCALE + 10

    async def one(api: ModelArtsClient, spec: Any) -> tuple[float, bool]:
        interval = intervals[spec.kind]
        while True:
            try:
                obs = spec.interpret(await spec.fetch(api))
            except TransientError:
                await asyncio.sleep(interval)
                continue
            if obs.phase in DONE:
                return time.monotonic(), obs.phase is Phase.SUCCEEDED
            await asyncio.sleep(interval)

    async def run() -> list[tuple[float, bool] | None]:
        async with client(sim) as api:
            return list(
                await asyncio.wait_for(
                    asyncio.gather(*(one(api, s) for s in specs)), horizon(created, offset, slack)
                )
            )

    return score(sim, created, asyncio.run(run()))


def search_interval(target: float, seed: int, kind: str | None = None) -> float:
    """The fixed interval whose modelled p95 delay is ``target`` (bisection), over the
    tasks of ``kind`` (or all of them)."""
    finishes = [
        t["queue"] + t["run"] for t in task_set(GROUPS, SCALE, seed) if kind in (None, t["kind"])
    ]
    lo, hi = 1e-3 * SCALE, max(finishes)
    for _ in range(40):
        mid = (lo + hi) / 2
        model = percentile([math.ceil(f / mid) * mid - f for f in finishes], 95)
        lo, hi = (mid, hi) if model < target else (lo, mid)
    return (lo + hi) / 2


def matched(
    sim: SimProcess, engine: list[Pass], kinds: tuple[str, ...] | None
) -> tuple[dict[str, float], list[Pass]]:
    """Fixed passes whose p95 matches the engine's: per kind (``kinds``) or pooled
    (``None``: one interval for every task); corrected once from real passes."""
    groups = kinds or (None,)
    target = {k: statistics.median(p.p95(k) for p in engine) for k in groups}
    chosen = {k: search_interval(target[k], SEED, k) for k in groups}

    def intervals() -> dict[str, float]:
        return {kind: chosen[kind if kinds else None] for kind in MIX}

    fixed = [fixed_pass(sim, SEED + i, intervals()) for i in range(REPEATS)]
    if SMOKE:
        return intervals(), fixed
    off = False
    for k in groups:
        got = statistics.median(p.p95(k) for p in fixed)
        if abs(got - target[k]) > 0.1 * target[k]:
            chosen[k] *= target[k] / got
            off = True
    if off:
        fixed = [fixed_pass(sim, SEED + i, intervals()) for i in range(REPEATS)]
    return intervals(), fixed


def main() -> None:
    header("request economy on a mix of every kind, at a matched p95 end-report delay")
    tasks = len(task_set(GROUPS, SCALE, SEED))
    print(
        f"# {tasks} tasks in {GROUPS} groups (seed {SEED}), durations x{SCALE:g}; engine "
        f"{policy().interval!r}; learned durations {not ARGS.no_learning}, list polling "
        f"{not ARGS.no_lists}; {IN_FLIGHT} requests in flight; {REPEATS} passes each"
    )
    with SimProcess() as sim:
        _, learned = engine_pass(sim, SEED - 1, None)  # warm-up: learn the mix's durations
        engine = [engine_pass(sim, SEED + i, learned)[0] for i in range(REPEATS)]
        per_kind, fixed = matched(sim, engine, tuple(MIX))
        pooled_interval, pooled = matched(sim, engine, None)
    print(
        f"{'kind':<17} {'tasks':>5} {'engine req/task':>16} {'fixed req/task':>15} "
        f"{'ratio':>6} {'engine p95 s':>13} {'fixed p95 s':>12} {'fixed I s':>10}"
    )
    pairs = list(zip(engine, fixed, strict=True))
    for kind in (*MIX, None):
        ratio = statistics.median(e.per_task(kind) / f.per_task(kind) for e, f in pairs)
        print(
            f"{kind or 'all':<17} {engine[0].count(kind):>5} "
            f"{statistics.median(p.per_task(kind) for p in engine):>16.2f} "
            f"{statistics.median(p.per_task(kind) for p in fixed):>15.2f} {ratio:>6.2f} "
            f"{statistics.median(p.p95(kind) for p in engine):>13.3f} "
            f"{statistics.median(p.p95(kind) for p in fixed):>12.3f} "
            f"{per_kind[kind] if kind else float('nan'):>10.3f}"
        )
    wrong = sum(p.wrong for p in engine + fixed + pooled)
    throttled = sum(p.throttled for p in engine + fixed + pooled)
    if wrong:
        print(f"# WRONG OR MISSING OUTCOMES: {wrong}")
    ratios = [e.per_task() / f.per_task() for e, f in pairs]
    ratio = statistics.median(ratios)
    one = [e.per_task() / f.per_task() for e, f in zip(engine, pooled, strict=True)]
    print(
        f"# one fixed interval for every kind (I = {pooled_interval['sync']:.3f} s, p95 "
        f"{statistics.median(p.p95() for p in pooled):.3f} s vs the engine's "
        f"{statistics.median(p.p95() for p in engine):.3f} s): engine / fixed "
        f"{summary(one, '{:.3f}')}"
    )
    print(f"# engine / per-kind fixed requests per task: {summary(ratios, '{:.3f}')}")
    print(f"# 429 answers over every pass: {throttled}")
    print("# " + verdict(ratio <= 0.5 and not wrong, f"engine uses {ratio:.2f} x the requests"))


if __name__ == "__main__":
    main()

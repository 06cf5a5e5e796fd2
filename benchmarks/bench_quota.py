"""Quota-bound watching: 5,000 tasks at 20 requests/s, and a server that advertises its quota.

The task mix of ``_mix.py`` (every kind, several exports and imports per dataset,
durations spread over two orders of magnitude, times ``--scale``), 5,000 tasks all
started at once, each design against its own simulator process that admits 20 requests
a second and advertises it (``X-ratelimit``). The designs run side by side in one event
loop, all with the same rhythm (exponential 1 s to 60 s, scaled, with jitter):

- engine: ``Engine(max_rate=20)`` with its defaults: priority among due polls, learned
  durations (learned online, from the tasks that end first), list polling.
- due order: the same engine with ``priority=False``.
- backoff: one coroutine per task with the ``backoff`` decorator (``on_predicate``,
  ``expo``), each request taking a grant from one shared 20/s limiter first.
- server's quota: ``Engine()`` with no ``max_rate``, keeping to the quota the answers
  advertise (target (c): no 429 at all).

Reported: p50/p95 of the delay between a task's end (the simulator's truth) and its
report, requests per task, the busiest second at the server, and 429 answers, and the
information bound: the p95 of a poller that knows every end in advance and spends one
request per task right after it (no poller can do better when the quota allows about one
request per task while the tasks run). Targets: (b) engine p95 at most half of due
order's and of backoff's; (c) zero 429s.
"""

from __future__ import annotations

import argparse
import asyncio
import time
from collections.abc import Callable, Coroutine
from typing import Any

import backoff

from _common import SMOKE, header, percentile, verdict
from _mix import PER_GROUP, Pass, clock_offset, horizon, score, setup, task_set
from _sim import SimProcess
from modelarts_poller import (
    Backoff,
    Engine,
    LocalRateLimiter,
    ModelArtsClient,
    NoAuth,
    PollPolicy,
    TaskCompleted,
    TransientError,
)
from modelarts_poller._phase import Phase

_parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
_parser.add_argument("--smoke", action="store_true", help="small sizes, no targets")
_parser.add_argument("--tasks", type=int, help="tasks per design (default 5000)")
_parser.add_argument("--rate", type=int, default=20, help="requests/s: max_rate and quota")
_parser.add_argument("--scale", type=float, help="multiply every duration (default 0.5)")
ARGS = _parser.parse_args()

PROJECT = "quota"
SCALE = ARGS.scale or (0.02 if SMOKE else 0.5)
GROUPS = max(1, (ARGS.tasks or (70 if SMOKE else 5000)) // PER_GROUP)
RATE = ARGS.rate
SEED = 20261124
DONE = (Phase.SUCCEEDED, Phase.FAILED)
Ends = list[tuple[float, bool] | None]


def policy() -> PollPolicy:
    return PollPolicy(interval=Backoff(initial=1.0 * SCALE, maximum=60.0 * SCALE))


def client(sim: SimProcess) -> ModelArtsClient:
    return ModelArtsClient(
        endpoint=sim.url, project_id=PROJECT, auth=NoAuth(), limit=64, timeout=60.0
    )


def engine_design(
    **options: Any,
) -> Callable[[SimProcess, list[Any], float], Coroutine[Any, Any, Ends]]:
    async def run(sim: SimProcess, specs: list[Any], within: float) -> Ends:
        async with client(sim) as api, Engine(client=api, policy=policy(), **options) as engine:
            handles = engine.watch_many(specs)
            await engine.wait(handles, timeout=within)
            out: Ends = []
            for h in handles:
                ev = h.outcome
                out.append(None if ev is None else (ev.at, isinstance(ev, TaskCompleted)))
            return out

    return run


async def backoff_design(sim: SimProcess, specs: list[Any], within: float) -> Ends:
    limiter = LocalRateLimiter(RATE, adapt=False)

    async def one(api: ModelArtsClient, spec: Any) -> tuple[float, bool] | None:
        @backoff.on_predicate(
            backoff.expo, lambda phase: phase not in DONE, factor=SCALE, max_value=60.0 * SCALE
        )
        async def look() -> Phase:
            await limiter.acquire()
            try:
                return spec.interpret(await spec.fetch(api)).phase  # type: ignore[no-any-return]
            except TransientError:
                return Phase.UNKNOWN

        phase = await look()
        return time.monotonic(), phase is Phase.SUCCEEDED

    async with client(sim) as api:
        return list(await asyncio.wait_for(asyncio.gather(*(one(api, s) for s in specs)), within))


DESIGNS = {
    "engine": engine_design(max_rate=RATE),
    "due order": engine_design(max_rate=RATE, priority=False),
    "backoff": backoff_design,
    "server's quota": engine_design(),
}


async def run_all(sims: dict[str, SimProcess]) -> dict[str, Pass]:
    prepared = {}
    for name, sim in sims.items():
        offset = clock_offset(sim)
        created, specs = setup(sim, task_set(GROUPS, SCALE, SEED), PROJECT)
        prepared[name] = (created, specs, horizon(created, offset, 400 * SCALE + 30))
    ends = await asyncio.gather(
        *(DESIGNS[name](sims[name], specs, within) for name, (_, specs, within) in prepared.items())
    )
    return {
        name: score(sims[name], prepared[name][0], got)
        for name, got in zip(prepared, ends, strict=True)
    }


def oracle_p95(tasks: list[dict[str, Any]]) -> float:
    """The information bound: p95 delay of a poller that knows every end in advance and
    polls each task once, right after its end, in end order, at the rate."""
    ends = sorted(t["queue"] + t["run"] for t in tasks)
    slot, delays = 0.0, []
    for end in ends:
        slot = max(end, slot + 1.0 / RATE)
        delays.append(slot - end)
    return percentile(delays, 95)


def main() -> None:
    header(f"quota-bound: {GROUPS * PER_GROUP} tasks at {RATE} requests/s, quota advertised")
    print(f"# durations x{SCALE:g}, policy {policy().interval!r}, designs side by side")
    sims = {name: SimProcess(seed=SEED, quota=RATE) for name in DESIGNS}
    try:
        for sim in sims.values():
            sim.__enter__()
        busiest = {}
        passes = asyncio.run(run_all(sims))
        for name, sim in sims.items():
            busiest[name] = int(sim.stats()["max_per_second_all"])
    finally:
        for sim in sims.values():
            sim.close()
    print(
        f"{'design':<16} {'p50 s':>8} {'p95 s':>8} {'req/task':>9} {'busiest s':>10} "
        f"{'429s':>5} {'wrong':>6}"
    )
    for name, p in passes.items():
        print(
            f"{name:<16} {percentile(p.delays, 50):>8.2f} {p.p95():>8.2f} {p.per_task():>9.2f} "
            f"{busiest[name]:>10} {p.throttled:>5} {p.wrong:>6}"
        )
    engine = passes["engine"].p95()
    bound = oracle_p95(task_set(GROUPS, SCALE, SEED))
    print(
        f"# information bound (one request per task, right after its end, in end order): "
        f"p95 {bound:.2f} s; engine p95 / bound {engine / bound:.2f}"
    )
    vs_due = engine / passes["due order"].p95()
    vs_backoff = engine / passes["backoff"].p95()
    print(f"# engine p95 / due order p95: {vs_due:.2f}; engine p95 / backoff p95: {vs_backoff:.2f}")
    kinds = sorted(set(passes["engine"].kinds))
    print(
        "# p95 by kind, engine vs due order: "
        + ", ".join(
            f"{k} {passes['engine'].p95(k):.1f}/{passes['due order'].p95(k):.1f}" for k in kinds
        )
    )
    wrong = sum(p.wrong for p in passes.values())
    print("# " + verdict(vs_due <= 0.5 and vs_backoff <= 0.5 and not wrong, "(b) p95 <= 0.5 x"))
    print("# " + verdict(passes["server's quota"].throttled == 0, "(c) no 429 under the quota"))
    if wrong:
        print(f"# WRONG OR MISSING OUTCOMES: {wrong}")


if __name__ == "__main__":
    main()

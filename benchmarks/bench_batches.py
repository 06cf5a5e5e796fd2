"""Batches of one kind of resource: requests per resource at a matched p95, lists on and off.

For each kind that lives on (notebooks, v2 inference services, Lite servers, resource
pools, workflow runs) and for training jobs, batches of ``--batches`` resources (10, 100,
1,000) of that one kind are started at once in the simulator (its own process) with
realistic durations, times ``--scale``: a notebook starts in tens of seconds (median 30
s), a service deploys in minutes (180 s), a Lite server in 120 s, a pool is created in
tens of minutes (1,200 s), a workflow run and a training job take lognormal times (300 s
and 600 s, sigma 0.6); 10% fail. Two engine passes per batch, with list polling and
without, each with learned durations (warmed on another batch of the kind) and a constant
rhythm of ``--interval`` (scaled) that placement may stretch to 60 s (scaled). The
baseline is a fixed-interval poller, one request per resource every I seconds from the
start, with I chosen so that its p95 delay on the same resources equals the engine's
(exact, on the simulator's own end times). Requests are the simulator's count (status and
list calls of the kind). Target: with lists, at batches of 100 or more, at most 0.25 x
the fixed poller's requests.

``--quota``: 5,000 resources of the mix of these kinds against a simulator that admits 20
requests a second, the engine with ``max_rate`` (5% under) and list polling against the
same engine in due-time order without lists (``priority=False, list_polling=False``).
Target: p95 delay at most 0.3 x due order's, no 429.
"""

from __future__ import annotations

import argparse
import asyncio
import math
import random
from typing import Any

from _common import SMOKE, header, percentile, verdict
from _mix import Pass, clock_offset, horizon, score, setup
from _sim import SimProcess
from modelarts_poller import (
    Backoff,
    DurationModel,
    Engine,
    ModelArtsClient,
    NoAuth,
    PollPolicy,
    TaskCompleted,
)

# kind -> (median seconds before scaling, sigma of the lognormal)
KINDS: dict[str, tuple[float, float]] = {
    "notebook": (30.0, 0.4),
    "infer_service": (180.0, 0.4),
    "dev_server": (120.0, 0.4),
    "pool": (1200.0, 0.3),
    "workflow_execution": (300.0, 0.6),
    "training_job": (600.0, 0.6),
}

_parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
_parser.add_argument("--smoke", action="store_true", help="small sizes, no targets")
_parser.add_argument("--kinds", help="comma-separated (default: all six)")
_parser.add_argument("--batches", help="batch sizes, comma-separated (default 10,100,1000)")
_parser.add_argument("--scale", type=float, help="multiply every duration (default 0.01)")
_parser.add_argument("--interval", type=float, default=5.0, help="engine rhythm, s (scaled)")
_parser.add_argument("--quota", action="store_true", help="the binding-quota run instead")
_parser.add_argument("--tasks", type=int, help="resources in the quota run (default 5000)")
ARGS = _parser.parse_args()

PROJECT = "batches"
SCALE = ARGS.scale or (0.005 if SMOKE else 0.01)
# Smoke mode: two kinds of short durations (a notebook starts, a workflow runs), one batch.
SMOKE_KINDS = "notebook,workflow_execution"
CHOSEN = tuple((ARGS.kinds or (SMOKE_KINDS if SMOKE else ",".join(KINDS))).split(","))
for _kind in CHOSEN:
    if _kind not in KINDS:
        _parser.error(f"--kinds: {_kind!r} is not one of {', '.join(KINDS)}")
BATCHES = [int(n) for n in (ARGS.batches or ("20" if SMOKE else "10,100,1000")).split(",")]
SEED = 20261206
IN_FLIGHT = 100
RATE = 20


def resources(kind: str, count: int, seed: object) -> list[dict[str, Any]]:
    """``count`` resources of ``kind``; a batch's workflow runs are runs of one workflow
    (the group its list call observes)."""
    median, sigma = KINDS[kind]
    rng = random.Random(f"{seed}-{kind}")
    out = []
    for _ in range(count):
        task: dict[str, Any] = {
            "kind": kind,
            "queue": rng.uniform(0.0, 1.0) * SCALE,
            "run": median * SCALE * min(4.0, max(0.25, rng.lognormvariate(0.0, sigma))),
            "outcome": "failed" if rng.random() < 0.1 else "completed",
        }
        if kind == "workflow_execution":
            task["workflow_id"] = f"wf-{seed}"
        out.append(task)
    return out


def policy() -> PollPolicy:
    return PollPolicy(
        interval=Backoff(
            initial=ARGS.interval * SCALE,
            maximum=60.0 * SCALE,
            strategy="constant",
            jitter="none",
        ),
        first_delay=ARGS.interval * SCALE,
    )


def engine_pass(
    sim: SimProcess,
    tasks: list[dict[str, Any]],
    learned: DurationModel | None,
    **options: Any,
) -> tuple[Pass, DurationModel | None]:
    offset = clock_offset(sim)
    created, specs = setup(sim, tasks, PROJECT)
    # Under a quota, a sweep of one request a task takes len(tasks) / rate seconds.
    slack = 120 * SCALE + 30 + 3 * len(tasks) / options.get("max_rate", math.inf)

    async def run() -> tuple[list[tuple[float, bool] | None], DurationModel | None]:
        durations = None if learned is None else DurationModel.from_json(learned.to_json())
        async with (
            ModelArtsClient(
                endpoint=sim.url, project_id=PROJECT, auth=NoAuth(), limit=IN_FLIGHT
            ) as api,
            Engine(
                client=api,
                policy=policy(),
                max_in_flight=IN_FLIGHT,
                seed=SEED,
                durations=durations,
                **options,
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


def fixed(ends: list[float], target: float) -> float:
    """Requests per resource of the fixed poller whose p95 delay on ``ends`` is
    ``target``: one request at 0, I, 2I, ... up to the first at or after the end."""

    def at(interval: float) -> tuple[float, float]:
        polls = [math.ceil(e / interval - 1e-12) for e in ends]
        delays = [n * interval - e for n, e in zip(polls, ends, strict=True)]
        return percentile(delays, 95), sum(n + 1 for n in polls) / len(ends)

    lo, hi = 1e-4, max(ends) * 2
    for _ in range(60):
        mid = (lo + hi) / 2
        lo, hi = (mid, hi) if at(mid)[0] <= target else (lo, mid)
    return at(lo)[1]


def batches() -> None:
    header(f"batches of one kind: {', '.join(CHOSEN)}; lists on and off, matched fixed poller")
    print(f"# durations x{SCALE:g}; engine {policy().interval!r}; {IN_FLIGHT} in flight")
    print(f"{'kind':<19} {'batch':>5} {'lists':>5} {'engine req':>10} {'fixed req':>9} "
          f"{'ratio':>6} {'p95 s':>7} {'429s':>5} {'wrong':>5}")  # fmt: skip
    worst = 0.0
    wrong = 0
    with SimProcess() as sim:
        for kind in CHOSEN:
            _, learned = engine_pass(sim, resources(kind, 100, SEED - 1), None)
            for n in BATCHES:
                tasks = resources(kind, n, SEED + n)
                for lists in (True, False):
                    got, _ = engine_pass(sim, tasks, learned, list_polling=lists)
                    ends = [t["queue"] + t["run"] for t in tasks]
                    base = fixed(ends, got.p95())
                    ratio = got.per_task() / base
                    if lists and n >= 100:
                        worst = max(worst, ratio)
                    wrong += got.wrong
                    print(f"{kind:<19} {n:>5} {'on' if lists else 'off':>5} "
                          f"{got.per_task():>10.2f} {base:>9.2f} {ratio:>6.2f} "
                          f"{got.p95():>7.2f} {got.throttled:>5} {got.wrong:>5}",
                          flush=True)  # fmt: skip
    if SMOKE:
        return
    print("# " + verdict(worst <= 0.25, f"lists, batches >= 100: <= 0.25 x fixed ({worst:.2f})"))
    if wrong:
        print(f"# WRONG OR MISSING OUTCOMES: {wrong}")


def quota() -> None:
    count = ARGS.tasks or (400 if SMOKE else 5000)
    header(f"{count} resources of {', '.join(CHOSEN)} at {RATE} requests/s")
    share = [count // len(CHOSEN) + (i < count % len(CHOSEN)) for i in range(len(CHOSEN))]
    tasks = [t for kind, n in zip(CHOSEN, share, strict=True) for t in resources(kind, n, SEED)]
    got: dict[str, Pass] = {}
    with SimProcess(quota=RATE) as sim:
        for name, options in (
            ("engine, lists", {"max_rate": RATE * 0.95}),
            ("due order, no lists", {"max_rate": RATE * 0.95, "priority": False,
                                     "list_polling": False}),
        ):  # fmt: skip
            got[name], _ = engine_pass(sim, tasks, None, **options)
            p = got[name]
            print(f"# {name}: p95 {p.p95():.1f} s, {p.per_task():.2f} requests a resource, "
                  f"429s {p.throttled}, wrong {p.wrong}", flush=True)  # fmt: skip
    ratio = got["engine, lists"].p95() / got["due order, no lists"].p95()
    throttled = sum(p.throttled for p in got.values())
    print(f"# p95 engine with lists / due order without: {ratio:.2f}")
    if not SMOKE:
        print("# " + verdict(ratio <= 0.3 and throttled == 0, "p95 <= 0.3 x, no 429"))


if __name__ == "__main__":
    quota() if ARGS.quota else batches()

"""Batches of listable resources under a binding quota, in virtual time.

``bench_batches.py --quota``'s shape on a FakeClock: resources of the kinds that live on
(notebooks, v2 services, Lite servers, pools, workflow runs of one workflow), the same
number of each, with the simulator's own scripted bodies (``body_at``) and its lists'
answers (pages of ``limit`` from ``offset``), durations x0.01 of the benchmark's medians.
The client takes a grant from the engine's gate for every request it sends, as
``ModelArtsClient`` does at the wire, and answers after ``LATENCY``. The engine with list
polling and ``max_rate`` against the same engine in due-time order without lists; the
quota the server checks is ``rate`` a second, ``max_rate`` 5% under it.

``python -m tests.batch_quota`` prints both passes (``--tasks``, ``--rate``: the benchmark's
5,000 and 20 by default); the numbers are the same every run. ``--batch KIND`` prints
``bench_batches.py``'s batch of ``--tasks`` resources of one kind instead (no quota,
durations learned on another batch of 100, lists on and off, against the fixed interval
matched to each pass's p95; ``--latency`` per request).
"""

from __future__ import annotations

import argparse
import asyncio
import math
import random
from collections import Counter, deque
from typing import Any

from modelarts_poller import (
    Backoff,
    DurationModel,
    Engine,
    ModelArtsClient,
    NoAuth,
    PollPolicy,
)
from modelarts_poller._ratelimit import CURRENT_GATE
from modelarts_poller.simulator._lifecycle import Script, body_at, spec_of, stage
from modelarts_poller.simulator._living import LIST_ITEMS
from modelarts_poller.testing import FakeClock

SCALE = 0.01
# kind -> (median seconds before scaling, sigma): bench_batches.py's KINDS
KINDS: dict[str, tuple[float, float]] = {
    "notebook": (30.0, 0.4),
    "infer_service": (180.0, 0.4),
    "dev_server": (120.0, 0.4),
    "pool": (1200.0, 0.3),
    "workflow_execution": (300.0, 0.6),
    "training_job": (600.0, 0.6),
}
QUOTA_KINDS = ("notebook", "infer_service", "dev_server", "pool", "workflow_execution")
LATENCY = 0.005  # virtual seconds every request takes
PROJECT = "project"
POLICY = PollPolicy(
    interval=Backoff(initial=5 * SCALE, maximum=60 * SCALE, strategy="constant", jitter="none"),
    first_delay=5 * SCALE,
)


def scripts(count: int, seed: int, kinds: tuple[str, ...] = QUOTA_KINDS) -> list[Script]:
    """``count`` resources, an equal share of each of ``kinds``."""
    out = []
    for k, kind in enumerate(kinds):
        median, sigma = KINDS[kind]
        rng = random.Random(f"{seed}-{kind}")
        for i in range(count // len(kinds) + (k < count % len(kinds))):
            out.append(
                Script(
                    kind,
                    project_id=PROJECT,
                    dataset_id=None,
                    task_id=f"{kind}-{i}",
                    parent_id=f"wf-{seed}" if kind == "workflow_execution" else None,
                    created=0.0,
                    created_ms=1_700_000_000_000,
                    queue=rng.uniform(0.0, 1.0) * SCALE,
                    run=median * SCALE * min(4.0, max(0.25, rng.lognormvariate(0.0, sigma))),
                    outcome="failed" if rng.random() < 0.1 else "completed",
                    total=1000,
                )
            )
    return out


class QuotaServer(ModelArtsClient):
    """Answers status GETs and list calls from the scripts at the clock's time. Each
    request takes the engine's grant first (as the wire does), is admitted at that moment
    and answered ``LATENCY`` later; an admission that makes more than ``rate`` in the last
    second is counted as a 429 (and answered anyway: the count is the measurement)."""

    def __init__(self, clock: FakeClock, tasks: list[Script], rate: float) -> None:
        super().__init__(endpoint="http://127.0.0.1:9", project_id=PROJECT, auth=NoAuth())
        self.clock = clock
        self.rate = rate
        self.by_key = {(s.kind, *s.ids): s for s in tasks}
        self.listed: dict[tuple[str, str | None], list[Script]] = {}
        for s in tasks:
            self.listed.setdefault((s.kind, s.parent_id), []).append(s)
        self.gets: Counter[str] = Counter()
        self.lists: Counter[str] = Counter()
        self.throttled = 0
        self.latency = LATENCY
        self._window: deque[float] = deque()

    async def _admit(self) -> None:
        gate = CURRENT_GATE.get()
        if gate is not None and not gate.take_now():
            await gate.pass_()
        now = self.clock.now()
        window = self._window
        while window and window[0] <= now - 1.0:
            window.popleft()
        window.append(now)
        if len(window) > self.rate:
            self.throttled += 1
        await self.clock.sleep_until(now + self.latency)

    async def get_task(self, spec: Any) -> Any:
        await self._admit()
        script = self.by_key[(spec.KIND, *spec.ids)]
        self.gets[script.kind] += 1
        return type(spec).PARSE(body_at(script, self.clock.now()))

    async def request(self, method: str, path: str, parse: Any, **kw: Any) -> Any:
        await self._admit()
        ids = kw.get("ids") or {}
        paging = kw.get("body") if method == "POST" else kw.get("query")
        kind = next(k for k in KINDS if f"/{_segment(k)}" in path)
        self.lists[kind] += 1
        now = self.clock.now()
        scripts = self.listed.get((kind, ids.get("workflow_id")), [])
        item = LIST_ITEMS.get(kind)
        total = len(scripts)

        def bodies(chosen: list[Script]) -> list[dict[str, Any]]:
            return [body_at(s, now) if item is None else item(s, now, *stage(s, now))
                    for s in chosen]  # fmt: skip

        if kind == "pool":
            return parse({"apiVersion": "v2", "kind": "PoolList", "items": bodies(scripts)})
        offset, limit = int(paging["offset"]), int(paging["limit"])
        if kind == "training_job":  # offset: a page index; at most 50 a page
            assert limit <= 50
            chunk = bodies(scripts[offset * limit : (offset + 1) * limit])
            return parse({"total": total, "count": len(chunk), "limit": limit,
                          "offset": offset, "items": chunk})  # fmt: skip
        chunk = bodies(scripts[offset : offset + limit])
        if kind == "workflow_execution":
            return parse({"total": total, "count": len(chunk), "items": chunk})
        return parse({"data": chunk, "current": offset // limit, "size": len(chunk),
                      "pages": math.ceil(total / limit), "total": total})  # fmt: skip


def _segment(kind: str) -> str:
    return {
        "notebook": "notebooks",
        "infer_service": "services",
        "dev_server": "dev-servers",
        "pool": "pools",
        "workflow_execution": "executions",
        "training_job": "training-job-searches",
    }[kind]


async def batch_pass(
    tasks: list[Script],
    durations: DurationModel | None,
    seed: int = 20261206,
    latency: float = LATENCY,
    **options: Any,
) -> tuple[list[float], QuotaServer, DurationModel | None]:
    """bench_batches.py's pass without a quota: the delays of every end's report, the
    server (its counts) and what the engine learned; every request takes ``latency``."""
    clock = FakeClock()
    server = QuotaServer(clock, tasks, math.inf)
    server.latency = latency
    model = None if durations is None else DurationModel.from_json(durations.to_json())
    delays, learned = await watch_all(
        clock, server, tasks, policy=POLICY, seed=seed, max_in_flight=100, durations=model,
        **options,
    )  # fmt: skip
    return delays, server, learned


async def watch_all(
    clock: FakeClock, server: ModelArtsClient, tasks: list[Script], **options: Any
) -> tuple[list[float], DurationModel | None]:
    """Watch every one of ``tasks`` with an engine on ``server`` (``options`` are the
    engine's; it keeps to no advertised quota) until all have ended: the delay of each
    end's report after the task's true end, and what the engine learned."""
    async with Engine(client=server, clock=clock, adapt_to_quota=False, **options) as engine:
        handles = engine.watch_many([spec_of(s) for s in tasks])
        await clock.run(engine.wait(handles), limit=100_000.0)
        delays = []
        for script, handle in zip(tasks, handles, strict=True):
            event = handle.outcome
            assert event is not None
            delays.append(event.at - script.finishes)
        return delays, engine.durations


def fixed(ends: list[float], target: float) -> float:
    """Requests per resource of the fixed poller (one request at 0, I, 2I, ... up to the
    first at or after the end) whose p95 delay on ``ends`` is ``target``."""

    def at(interval: float) -> tuple[float, float]:
        polls = [math.ceil(e / interval - 1e-12) for e in ends]
        delays = [n * interval - e for n, e in zip(polls, ends, strict=True)]
        return p95(delays), sum(n + 1 for n in polls) / len(ends)

    lo, hi = 1e-4, max(ends) * 2
    for _ in range(60):
        mid = (lo + hi) / 2
        lo, hi = (mid, hi) if at(mid)[0] <= target else (lo, mid)
    return at(lo)[1]


async def batches(kind: str, count: int, latency: float) -> None:
    _, _, learned = await batch_pass(scripts(100, 20261205, (kind,)), None, latency=latency)
    tasks = scripts(count, 20261206, (kind,))
    for lists in (True, False):
        delays, server, _ = await batch_pass(tasks, learned, latency=latency, list_polling=lists)
        requests = sum(server.gets.values()) + sum(server.lists.values())
        base = fixed([s.finishes for s in tasks], p95(delays))
        print(f"{kind} {count} lists {'on' if lists else 'off'}: {requests / count:.2f} "
              f"requests a resource ({sum(server.gets.values())} GETs, "
              f"{sum(server.lists.values())} list pages), fixed {base:.2f}, ratio "
              f"{requests / count / base:.2f}, p95 {p95(delays):.2f} s", flush=True)  # fmt: skip


def p95(values: list[float]) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, math.ceil(0.95 * len(ordered)) - 1)]


async def quota_pass(
    tasks: list[Script], rate: float, seed: int = 20261206, **options: Any
) -> tuple[list[float], QuotaServer]:
    """The delays of every end's report, and the server (its counts)."""
    clock = FakeClock()
    server = QuotaServer(clock, tasks, rate)
    delays, _ = await watch_all(
        clock, server, tasks, policy=POLICY, seed=seed, max_in_flight=100,
        max_rate=rate * 0.95, **options,
    )  # fmt: skip
    return delays, server


async def main(count: int, rate: float) -> None:
    tasks = scripts(count, 20261206)
    out = {}
    for name, options in (
        ("engine, lists", {}),
        ("due order, no lists", {"priority": False, "list_polling": False}),
    ):
        delays, server = await quota_pass(tasks, rate, **options)
        gets, lists = sum(server.gets.values()), sum(server.lists.values())
        out[name] = p95(delays)
        print(
            f"{name}: p95 {p95(delays):.2f} s, {(gets + lists) / len(tasks):.2f} requests a "
            f"resource ({gets} GETs, {lists} list pages), 429s {server.throttled}",
            flush=True,
        )
        for kind in QUOTA_KINDS:
            kd = [d for d, s in zip(delays, tasks, strict=True) if s.kind == kind]
            print(f"  {kind:<19} p95 {p95(kd):7.2f} s  GETs {server.gets[kind]:>6}  "
                  f"lists {server.lists[kind]:>5}")  # fmt: skip
    print(f"p95 lists / due order: {out['engine, lists'] / out['due order, no lists']:.2f}")


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("--tasks", type=int, default=5000)
    parser.add_argument("--rate", type=float, default=20.0)
    parser.add_argument("--batch", help="a kind: bench_batches.py's batch of it instead")
    parser.add_argument("--latency", type=float, default=LATENCY, help="of each request, s")
    args = parser.parse_args()
    if args.batch:
        asyncio.run(batches(args.batch, args.tasks, args.latency))
    else:
        asyncio.run(main(args.tasks, args.rate))

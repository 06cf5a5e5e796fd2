"""Throughput: engine polls/s against the simulator in another process, vs a raw aiohttp loop.

The simulator runs in a subprocess (its own CPU) with generic dataset tasks that never
finish during the run. Every design polls them back to back at the same concurrency
(10, 100, 1000): as many tasks as the concurrency, one aiohttp ClientSession with
TCPConnector(limit=concurrency), the same request headers. Designs, alternated within
each repeat:

- engine:     Engine + ModelArtsClient, interval Backoff(0, 0, jitter="none"),
              progress_aware=False, max_in_flight=concurrency (parses into models);
- raw:        a hand-written loop of session.get + read, parsing nothing (the baseline);
- raw+parse:  the same loop plus json.loads and parse_dataset_task_status, i.e. the
              work the client does anyway, so engine/raw+parse isolates the engine;
- azure-style: one coroutine per task (get status, stop if done, asyncio.sleep(0)),
              the shape of azure-core's async pollers, through the same client;
- backoff:    the `backoff` package's @on_predicate(backoff.constant, interval=0)
              around the same client call, one coroutine per task;
- engine-lean: the engine with its request economy off (priority, learn_durations,
              list_polling, adapt_to_quota all False): what those features cost a poll;
- heap-loop:  the least a scheduler over this client can be: one heap of due times, as
              many workers as the concurrency, get_task and a changed-snapshot check,
              nothing else (no events, backoff, limits or deadlines).

Each run warms up, then counts completed polls and the client process's CPU time
(time.process_time) over a fixed window. Figures are medians [min .. max] of the
repeats; ratios are per repeat (same repeat, back to back), then the median.
A uvloop row (engine and raw) is added when uvloop is importable.
Target: engine >= 0.95 x raw polls/s at every concurrency. Engine vs raw+parse is what
the client adds; engine vs azure-style (the same client in a plain loop) is what the
engine's scheduling adds; engine vs heap-loop is what the engine's promises cost per poll
(its events, backoff, limits and bookkeeping) over the bare shape of a scheduler.
"""

from __future__ import annotations

import asyncio
import gc
import heapq
import itertools
import json
import statistics
import sys
import time
from collections.abc import Awaitable, Callable, Coroutine
from typing import Any

import aiohttp

from _common import SMOKE, header, summary, verdict
from _sim import SimProcess
from modelarts_poller import Backoff, DatasetTask, Engine, ModelArtsClient, NoAuth, PollPolicy
from modelarts_poller._phase import Phase
from modelarts_poller.operations.dataset_task import parse_dataset_task_status

try:
    import uvloop
except ImportError:  # optional: the row is skipped
    uvloop = None

PROJECT = "bench"
CONCURRENCIES = [10] if SMOKE else [10, 100, 1000]
# Many short windows, designs alternated, beat few long ones on a noisy machine.
REPEATS = 1 if SMOKE else 5
WARMUP = 0.2 if SMOKE else 0.5
WINDOW = 0.4 if SMOKE else 2.0
DONE = (Phase.SUCCEEDED, Phase.FAILED)
BACK_TO_BACK = PollPolicy(
    interval=Backoff(initial=0, maximum=0, jitter="none"), progress_aware=False, max_retries=None
)
HEADERS = {"X-Project-Id": PROJECT, "User-Agent": "modelarts-poller/0.1"}


class Counter:
    __slots__ = ("n",)

    def __init__(self) -> None:
        self.n = 0


async def window(count: Callable[[], int]) -> tuple[float, float]:
    """(polls per second, client CPU µs per poll) over the measuring window."""
    await asyncio.sleep(WARMUP)
    n0, c0, t0 = count(), time.process_time(), time.perf_counter()
    await asyncio.sleep(WINDOW)
    n1, c1, t1 = count(), time.process_time(), time.perf_counter()
    polls = max(1, n1 - n0)
    return polls / (t1 - t0), (c1 - c0) / polls * 1e6


def client(url: str, concurrency: int) -> ModelArtsClient:
    return ModelArtsClient(
        endpoint=url, project_id=PROJECT, auth=NoAuth(), limit=concurrency, timeout=60.0
    )


async def engine_run(url: str, ids: list[str], **options: Any) -> tuple[float, float]:
    c = len(ids)
    async with (
        client(url, c) as api,
        Engine(client=api, policy=BACK_TO_BACK, max_in_flight=c, **options) as engine,
    ):
        engine.watch_many(DatasetTask(i) for i in ids)
        return await window(lambda: engine.stats().polls)


async def engine_lean_run(url: str, ids: list[str]) -> tuple[float, float]:
    economy_off = {
        "priority": False,
        "learn_durations": False,
        "list_polling": False,
        "adapt_to_quota": False,
    }
    return await engine_run(url, ids, **economy_off)


async def heap_loop_run(url: str, ids: list[str]) -> tuple[float, float]:
    async with client(url, len(ids)) as api:
        seq = itertools.count()
        heap: list[tuple[float, int, DatasetTask]] = [(0.0, next(seq), DatasetTask(i)) for i in ids]
        last: dict[DatasetTask, Any] = {}
        now = time.monotonic

        async def worker(_i: int, counter: Counter) -> None:
            get = api.get_task
            while True:
                _due, _, spec = heapq.heappop(heap)
                snapshot = await get(spec)
                if snapshot is not last.get(spec):
                    last[spec] = snapshot
                counter.n += 1
                heapq.heappush(heap, (now(), next(seq), spec))

        return await _run_loops(worker, len(ids))


async def _run_loops(
    make: Callable[[int, Counter], Coroutine[Any, Any, None]], n: int
) -> tuple[float, float]:
    counter = Counter()
    tasks = [asyncio.create_task(make(i, counter)) for i in range(n)]
    try:
        return await window(lambda: counter.n)
    finally:
        for t in tasks:
            t.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)


async def raw_run(url: str, ids: list[str], parse: bool = False) -> tuple[float, float]:
    c = len(ids)
    loads = json.loads
    async with aiohttp.ClientSession(connector=aiohttp.TCPConnector(limit=c)) as session:

        async def loop(i: int, counter: Counter) -> None:
            target = f"{url}/v1/{PROJECT}/datasets/task/{ids[i]}"
            get = session.get
            while True:
                async with get(target, headers=HEADERS) as resp:
                    body = await resp.read()
                if parse:
                    parse_dataset_task_status(loads(body))
                counter.n += 1

        return await _run_loops(loop, c)


async def raw_parse_run(url: str, ids: list[str]) -> tuple[float, float]:
    return await raw_run(url, ids, parse=True)


async def azure_style_run(url: str, ids: list[str]) -> tuple[float, float]:
    async with client(url, len(ids)) as api:

        async def poller(i: int, counter: Counter) -> None:
            task_id = ids[i]
            while True:
                status = await api.get_dataset_task_status(task_id)
                counter.n += 1
                if status.phase in DONE:
                    break
                await asyncio.sleep(0)  # the poller's delay; zero for back-to-back polls

        return await _run_loops(poller, len(ids))


async def backoff_run(url: str, ids: list[str]) -> tuple[float, float]:
    import backoff

    async with client(url, len(ids)) as api:

        async def poller(i: int, counter: Counter) -> None:
            task_id = ids[i]

            # backoff.expo cannot yield a zero delay; constant(0) is the back-to-back case.
            @backoff.on_predicate(
                backoff.constant, lambda s: s.phase not in DONE, interval=0, jitter=None
            )
            async def fetch() -> Any:
                status = await api.get_dataset_task_status(task_id)
                counter.n += 1
                return status

            await fetch()

        return await _run_loops(poller, len(ids))


DESIGNS: dict[str, Callable[[str, list[str]], Awaitable[tuple[float, float]]]] = {
    "engine": engine_run,
    "raw": raw_run,
    "raw+parse": raw_parse_run,
    "azure-style": azure_style_run,
    "backoff": backoff_run,
    "engine-lean": engine_lean_run,
    "heap-loop": heap_loop_run,
}
UVLOOP_DESIGNS = ("engine", "raw")


def run_one(name: str, url: str, ids: list[str], loop: str) -> tuple[float, float]:
    fn = DESIGNS[name]
    gc.collect()
    if loop == "uvloop":
        assert uvloop is not None
        with asyncio.Runner(loop_factory=uvloop.new_event_loop) as runner:
            return runner.run(fn(url, ids))
    return asyncio.run(fn(url, ids))


def main() -> None:
    header("throughput: back-to-back polls/s vs a raw aiohttp loop (simulator in a subprocess)")
    rows: list[tuple[str, str]] = [(name, "asyncio") for name in DESIGNS]
    if uvloop is not None:
        rows += [(name, "uvloop") for name in UVLOOP_DESIGNS]
    with SimProcess() as sim:
        print(
            f"# simulator: separate process on {sim.server_loop}; window {WINDOW:g} s "
            f"after {WARMUP:g} s warm-up; {REPEATS} repeats, designs alternated"
        )
        print(
            f"{'conc':>5} {'design':<20} {'polls/s':>26} {'CPU us/poll':>24} "
            f"{'vs raw (same repeat)':>26}"
        )
        checks: list[tuple[int, float]] = []
        for conc in CONCURRENCIES:
            sim.reset()
            tasks = [{"kind": "dataset_task", "queue": 0, "run": 1e7} for _ in range(conc)]
            ids = [t["task_id"] for t in sim.add_tasks(tasks, PROJECT)]
            results: dict[tuple[str, str], list[tuple[float, float]]] = {r: [] for r in rows}
            for rep in range(REPEATS):
                order = rows[rep % len(rows) :] + rows[: rep % len(rows)]
                for name, loop in order:
                    results[(name, loop)].append(run_one(name, sim.url, ids, loop))
            served = sim.stats()["requests"]
            for name, loop in rows:
                r = results[(name, loop)]
                base = results[("raw", loop)]
                ratios = [a[0] / b[0] for a, b in zip(r, base, strict=True)]
                label = name if loop == "asyncio" else f"{name} (uvloop)"
                print(
                    f"{conc:>5} {label:<20} {summary([x[0] for x in r], '{:.0f}'):>26} "
                    f"{summary([x[1] for x in r], '{:.0f}'):>24} {summary(ratios, '{:.3f}'):>26}"
                )
                if name == "engine" and loop == "asyncio":
                    checks.append((conc, statistics.median(ratios)))
            eng = results[("engine", "asyncio")]
            for base in ("raw+parse", "azure-style", "heap-loop"):
                other = results[(base, "asyncio")]
                cpu = [a[1] - b[1] for a, b in zip(eng, other, strict=True)]
                rps = [a[0] / b[0] for a, b in zip(eng, other, strict=True)]
                print(
                    f"# conc {conc}: engine / {base}: polls/s {summary(rps, '{:.3f}')}, "
                    f"CPU per poll {summary(cpu, '{:+.0f}')} us"
                )
            print(f"# conc {conc}: the server answered {served} requests")
    for conc, ratio in checks:
        print("# " + verdict(ratio >= 0.95, f"conc {conc}: engine {ratio:.3f} x raw (>= 0.95)"))


if __name__ == "__main__":
    sys.exit(main())

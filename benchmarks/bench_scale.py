"""Scale: memory and submit time for many tracked, mostly idle tasks.

Each size runs in a fresh subprocess so resident memory is measured cleanly. The
baseline is one sleeping asyncio task per tracked task (the naive design), at the
same sizes up to 100k. Targets: 1M tasks within 1 GiB; 100k submitted in about 1 s.
"""

from __future__ import annotations

import asyncio
import gc
import json
import subprocess
import sys
import time

from _common import SMOKE, header, rss_bytes, summary, verdict


def child(kind: str, n: int) -> dict[str, float]:
    from modelarts_poller import Engine, PollPolicy, SyncTask

    class NoCalls:
        async def get_sync_status(self, *a: object, **k: object) -> object:
            raise AssertionError("idle tasks are never polled in this benchmark")

    async def engine_case() -> dict[str, float]:
        async with Engine(client=NoCalls(), policy=PollPolicy(first_delay=86_400)) as engine:
            gc.collect()
            before = rss_bytes()
            t0 = time.perf_counter()
            engine.watch_many(SyncTask(f"dataset-{i:09d}") for i in range(n))
            submit = time.perf_counter() - t0
            gc.collect()
            used = rss_bytes() - before
            assert engine.stats().tracked == n
            return {"submit_s": submit, "bytes_per_task": used / n, "rss_mib": used / 2**20}

    async def naive_case() -> dict[str, float]:
        async def poller(dataset_id: str) -> None:
            await asyncio.sleep(86_400)

        gc.collect()
        before = rss_bytes()
        t0 = time.perf_counter()
        tasks = [asyncio.create_task(poller(f"dataset-{i:09d}")) for i in range(n)]
        await asyncio.sleep(0)  # let every task start and park in its sleep
        submit = time.perf_counter() - t0
        gc.collect()
        used = rss_bytes() - before
        for t in tasks:
            t.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
        return {"submit_s": submit, "bytes_per_task": used / n, "rss_mib": used / 2**20}

    return asyncio.run(engine_case() if kind == "engine" else naive_case())


def run(kind: str, n: int) -> dict[str, float]:
    out = subprocess.run(
        [sys.executable, __file__, "--child", kind, str(n)],
        check=True,
        capture_output=True,
        text=True,
    )
    return json.loads(out.stdout)


def main() -> None:
    header("scale: tracked idle tasks, memory and submit time (engine vs one task per poller)")
    sizes = [1_000, 10_000] if SMOKE else [10_000, 100_000, 1_000_000]
    repeats = 1 if SMOKE else 3
    results: dict[tuple[str, int], list[dict[str, float]]] = {}
    print(
        f"{'design':<8} {'tasks':>9} {'submit s (median [min..max])':>34} "
        f"{'bytes/task':>26} {'RSS MiB':>10}"
    )
    for n in sizes:
        for kind in ("engine", "naive"):
            if kind == "naive" and n > 100_000:
                continue  # a million sleeping tasks take ~1.5 GB and ~20 s: known, skip
            runs = [run(kind, n) for _ in range(repeats)]
            results[(kind, n)] = runs
            print(
                f"{kind:<8} {n:>9} {summary([r['submit_s'] for r in runs]):>34} "
                f"{summary([r['bytes_per_task'] for r in runs], '{:.0f}'):>26} "
                f"{sorted(r['rss_mib'] for r in runs)[len(runs) // 2]:>10.0f}"
            )
    for n in sizes:
        if ("naive", n) in results:
            e = sorted(r["bytes_per_task"] for r in results[("engine", n)])[repeats // 2]
            b = sorted(r["bytes_per_task"] for r in results[("naive", n)])[repeats // 2]
            print(f"# {n} tasks: engine uses {e / b:.2f}x the memory of one-task-per-poller")
    if not SMOKE:
        big = results[("engine", 1_000_000)]
        rss = sorted(r["rss_mib"] for r in big)[repeats // 2]
        print("# " + verdict(rss <= 1024, f"1M tasks in {rss:.0f} MiB (<= 1024)"))
        sub = sorted(r["submit_s"] for r in results[("engine", 100_000)])[repeats // 2]
        print("# " + verdict(sub <= 1.2, f"100k submitted in {sub:.2f} s (about 1 s)"))


if __name__ == "__main__":
    if "--child" in sys.argv:
        i = sys.argv.index("--child")
        print(json.dumps(child(sys.argv[i + 1], int(sys.argv[i + 2]))))
    else:
        main()

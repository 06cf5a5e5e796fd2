"""``bench_quota.py``'s shape in virtual time: the mix of every kind under a binding quota.

The mix of ``benchmarks/_mix.py`` (every kind, three exports and two imports sharing a
dataset, lognormal durations clipped to a third and three times each kind's median, 10%
failing) times ``--scale``, all started at once, on a FakeClock. The server
(``batch_quota.QuotaServer``, here also answering the export and import lists) admits each
request when the engine's gate grants it and counts every admission over ``--rate`` in the
last second as a 429. The engine runs as the benchmark runs it: bench_quota's rhythm
(exponential 1 s to 60 s, scaled, with jitter), ``max_rate`` the quota, durations learned
online from the first ends, list polling on; against the same engine in due order.

``python -m tests.quota_mix`` prints each design's p95 delay, requests per task and 429s,
and the p95 by kind; the numbers are the same every run.
"""

from __future__ import annotations

import argparse
import asyncio
from typing import Any

from modelarts_poller import Backoff, PollPolicy
from modelarts_poller.simulator._lifecycle import Script, body_at
from modelarts_poller.testing import FakeClock

from .batch_quota import QuotaServer, p95, watch_all
from .economy_mix import MIX
from .economy_mix import scripts as mix_scripts

SHARED = ("export", "import")  # several a dataset: one list call sees them all
SEED = 20261124


def scripts(groups: int, scale: float, seed: int = SEED) -> list[Script]:
    """``groups`` groups of the mix (bench_quota's ``task_set``), durations x ``scale``."""
    return mix_scripts(groups, seed, scale=scale, shared=SHARED)


class MixQuotaServer(QuotaServer):
    """:class:`QuotaServer` that also answers a dataset's export and import lists."""

    def __init__(self, clock: FakeClock, tasks: list[Script], rate: float) -> None:
        super().__init__(clock, tasks, rate)
        for s in tasks:
            if s.kind in SHARED:
                self.listed.setdefault((s.kind, s.dataset_id), []).append(s)

    async def request(self, method: str, path: str, parse: Any, **kw: Any) -> Any:
        kind = "export" if "/export-tasks" in path else "import" if "/import-tasks" in path else ""
        if not kind:
            return await super().request(method, path, parse, **kw)
        await self._admit()
        self.lists[kind] += 1
        now = self.clock.now()
        scripts = self.listed.get((kind, kw["ids"]["dataset_id"]), [])
        offset, limit = int(kw["query"]["offset"]), int(kw["query"]["limit"])
        chunk = [body_at(s, now) for s in scripts[offset * limit : (offset + 1) * limit]]
        return parse({"total_count": len(scripts), f"{kind}_tasks": chunk})


async def quota_pass(
    tasks: list[Script],
    rate: float,
    scale: float,
    seed: int = 20261206,
    clock: FakeClock | None = None,
    **options: Any,
) -> tuple[list[float], MixQuotaServer]:
    """The delay of every end's report, and the server (its counts). ``max_rate`` is
    ``rate`` unless ``options`` pass a ``rate_limiter`` (on ``clock``)."""
    clock = clock or FakeClock()
    server = MixQuotaServer(clock, tasks, rate)
    policy = PollPolicy(interval=Backoff(initial=1.0 * scale, maximum=60.0 * scale))
    if "rate_limiter" not in options:
        options["max_rate"] = rate
    delays, _ = await watch_all(clock, server, tasks, policy=policy, seed=seed, **options)
    return delays, server


async def main(count: int, rate: float, scale: float, seeds: int) -> None:
    groups = max(1, count // sum(n for n, _ in MIX.values()))
    for name, options in (
        ("engine", {}),
        ("engine, no lists", {"list_polling": False}),
        ("due order", {"priority": False}),
    ):
        p95s = []
        for s in range(seeds):
            tasks = scripts(groups, scale, SEED + s)
            delays, server = await quota_pass(tasks, rate, scale, **options)
            gets, lists = sum(server.gets.values()), sum(server.lists.values())
            p95s.append(p95(delays))
            by_kind = ", ".join(
                f"{k} {p95([d for d, t in zip(delays, tasks, strict=True) if t.kind == k]):.1f}"
                for k in MIX
            )
            print(
                f"{name} seed {s}: p95 {p95(delays):.2f} s, p50 "
                f"{sorted(delays)[len(delays) // 2]:.2f} s, "
                f"{(gets + lists) / len(tasks):.2f} requests a task ({gets} GETs, {lists} "
                f"list pages), 429s {server.throttled}\n  by kind: {by_kind}",
                flush=True,
            )
        print(f"{name}: median p95 {sorted(p95s)[len(p95s) // 2]:.2f} s", flush=True)


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("--tasks", type=int, default=1000)
    parser.add_argument("--rate", type=float, default=20.0)
    parser.add_argument("--scale", type=float, default=0.5)
    parser.add_argument("--seeds", type=int, default=1)
    args = parser.parse_args()
    asyncio.run(main(args.tasks, args.rate, args.scale, args.seeds))

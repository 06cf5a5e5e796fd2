"""Subprocess for test_redis_fleet.py: one engine watching its share of the tasks, its
rate limit shared with the others through Redis.

``python tests/_fleet_worker.py SIM_URL PROJECT REDIS_URL QUOTA PROCESSES TASKS.json SKEW [MARGIN]``
prints one JSON line per task end as it is delivered, then ``{"done": n, "counters": {...}}``.
``SKEW`` (seconds) offsets the limiter's clock, as another host's clock would be; ``MARGIN``
is the limiter's margin under the quota (its default unless given).
"""

from __future__ import annotations

import asyncio
import json
import logging
import sys
import time
from pathlib import Path
from typing import Any

from modelarts_poller import (
    Backoff,
    Checkpoint,
    Engine,
    ModelArtsClient,
    NoAuth,
    PollPolicy,
    TaskCompleted,
    TaskEvent,
    TaskFailed,
)
from modelarts_poller.redis import RedisRateLimiter
from modelarts_poller.simulator import spec_of

# Every task polled every 0.2 s, one request each: more demand than the quota, all run.
POLICY = PollPolicy(interval=Backoff(initial=0.2, maximum=0.2), progress_aware=False)


class SkewedClock:
    def __init__(self, offset: float) -> None:
        self.offset = offset

    def now(self) -> float:
        return time.monotonic() + self.offset

    async def sleep_until(self, deadline: float) -> None:
        await asyncio.sleep(max(0.0, deadline - self.now()))


def report(event: TaskEvent) -> None:
    outcome = "completed" if isinstance(event, TaskCompleted) else "failed"
    print(json.dumps({"key": Checkpoint.key(event.spec), "outcome": outcome}), flush=True)


async def main(args: list[str]) -> None:
    url, project, redis_url, quota, processes, tasks_file, skew, *rest = args
    margin = {"margin": float(rest[0])} if rest else {}
    tasks = json.loads(Path(tasks_file).read_text())  # noqa: ASYNC240 - once, at start
    limiter = RedisRateLimiter(
        redis_url,
        quota=float(quota),
        processes=int(processes),
        timeout=0.2,
        clock=SkewedClock(float(skew)),
        **margin,
    )
    async with (
        limiter,
        ModelArtsClient(project_id=project, auth=NoAuth(), endpoint=url) as client,
        Engine(
            client=client,
            policy=POLICY,
            rate_limiter=limiter,
            on_exit="drain",
            list_polling=False,
            learn_durations=False,
        ) as engine,
    ):
        engine.subscribe(report, types=(TaskCompleted, TaskFailed))
        handles = engine.watch_many(spec_of(t) for t in tasks)
        print(json.dumps({"watching": len(handles)}), flush=True)
        await engine.wait(handles)
        line: dict[str, Any] = {"done": len(handles), "counters": dict(limiter.counters())}
        print(json.dumps(line), flush=True)


if __name__ == "__main__":
    logging.basicConfig(level=logging.WARNING, format="%(name)s %(levelname)s %(message)s")
    asyncio.run(main(sys.argv[1:]))

"""The engine core runs on trio too: nothing in it is asyncio-only."""

from __future__ import annotations

import anyio

from modelarts_poller import Backoff, Engine, PollPolicy, ServerError, TaskCompleted, TaskEvent
from modelarts_poller.testing import FakeClock
from tests.jobs import Jobs, Snap


def test_a_custom_kind_is_watched_to_the_end_on_trio() -> None:
    async def scenario() -> tuple[object, list[TaskEvent], list[float]]:
        clock = FakeClock()
        jobs = Jobs(clock, latency=0.5)
        job = jobs.add("a", (0, "RUNNING", 0.2), (6, "DONE", 1.0))
        jobs.faults["a"].append(ServerError("x", status=502))
        seen: list[TaskEvent] = []
        policy = PollPolicy(
            interval=Backoff(initial=1, maximum=2, jitter="none"),
            retry=Backoff(initial=1, maximum=1, jitter="none"),
        )
        async with Engine(client=jobs, clock=clock, policy=policy) as engine:
            engine.subscribe(seen.append)
            result = await clock.run(engine.watch(job))
        return result, seen, jobs.polls["a"]

    result, seen, polls = anyio.run(scenario, backend="trio")
    assert result == Snap("DONE", 1.0)
    assert isinstance(seen[-1], TaskCompleted)
    assert polls[0] == 0
    assert len(polls) >= 4

"""A terminal event seals its task on every path: cancel mid-delivery, subscribers that
leave mid-delivery, close with full streams; and the counters after close."""

from __future__ import annotations

import gc

import anyio

from modelarts_poller import (
    Backoff,
    Engine,
    FailureReason,
    PollPolicy,
    TaskEvent,
    TaskFailed,
    TaskProgress,
)
from modelarts_poller.testing import FakeClock
from tests.jobs import Jobs

FAST = PollPolicy(
    interval=Backoff(initial=1, maximum=1, jitter="none"),
    retry=Backoff(initial=1, maximum=1, jitter="none"),
    progress_aware=False,
)


def rising(jobs: Jobs, name: str = "a") -> object:
    return jobs.add(name, *[(t, "RUNNING", (t + 1) / 10) for t in range(9)], (9, "DONE", 1.0))


def kinds(events: list[TaskEvent]) -> list[str]:
    return [type(e).__name__ for e in events]


async def test_cancel_while_the_poller_waits_on_a_full_stream_delivers_nothing_after_the_end(
    clock: FakeClock, jobs: Jobs
) -> None:
    async with Engine(client=jobs, clock=clock, policy=FAST) as engine:
        stream = engine.events(buffer=1)
        handle = engine.watch(rising(jobs))  # type: ignore[arg-type]
        await clock.advance(1.5)  # the first progress fills the buffer, the second waits
        assert len(stream) == 1
        handle.cancel()
        seen = [await stream.__anext__() for _ in range(3)]
    seen += [e async for e in stream]
    assert kinds(seen) == ["TaskProgress", "TaskProgress", "TaskFailed"]


async def test_cancel_during_a_slow_async_callback_queues_the_end_behind_it(
    clock: FakeClock, jobs: Jobs
) -> None:
    gate = anyio.Event()
    slow_seen: list[TaskEvent] = []
    fast_seen: list[TaskEvent] = []
    stream_seen: list[TaskEvent] = []

    async def slow(event: TaskEvent) -> None:
        if isinstance(event, TaskProgress):
            await gate.wait()
        slow_seen.append(event)

    async def fast(event: TaskEvent) -> None:
        fast_seen.append(event)

    async with Engine(client=jobs, clock=clock, policy=FAST) as engine:
        engine.subscribe(slow)
        engine.subscribe(fast)
        stream = engine.events()
        handle = engine.watch(rising(jobs))  # type: ignore[arg-type]
        await clock.advance(0.5)  # the first progress is being delivered to `slow`
        assert handle.cancel()
        assert handle.done()  # the outcome is settled at once...
        await clock.advance(0.5)
        assert fast_seen == []  # ...but nothing is delivered beside the earlier event
        gate.set()
        await clock.advance(0.5)
        stream_seen = [await stream.__anext__() for _ in range(2)]
    assert kinds(slow_seen) == kinds(fast_seen) == kinds(stream_seen)
    assert kinds(fast_seen) == ["TaskProgress", "TaskFailed"]
    assert fast_seen[-1].reason is FailureReason.CANCELLED  # type: ignore[attr-defined]


async def test_a_callback_unsubscribing_itself_mid_delivery_skips_no_one(
    clock: FakeClock, jobs: Jobs
) -> None:
    seen: list[TaskEvent] = []
    unsubscribe = []

    def once(event: TaskEvent) -> None:
        unsubscribe[0]()

    async with Engine(client=jobs, clock=clock, policy=FAST) as engine:
        unsubscribe.append(engine.subscribe(once))
        engine.subscribe(seen.append)
        await clock.run(engine.watch(rising(jobs)))  # type: ignore[arg-type]
    assert kinds(seen) == ["TaskProgress"] * 10 + ["TaskCompleted"]


async def test_a_stream_collected_mid_delivery_leaves_the_other_streams_whole(
    clock: FakeClock, jobs: Jobs
) -> None:
    async with Engine(client=jobs, clock=clock, policy=FAST) as engine:
        abandoned = engine.events(buffer=1)
        kept = engine.events()
        handle = engine.watch(rising(jobs))  # type: ignore[arg-type]
        await clock.advance(1.5)  # the second progress waits for room in `abandoned`
        assert len(kept) == 1
        del abandoned
        gc.collect()
        await clock.run(handle.wait())
    got = [e async for e in kept]
    assert kinds(got) == ["TaskProgress"] * 10 + ["TaskCompleted"]


async def test_close_delivers_what_waited_on_a_full_stream_then_ends_it(
    clock: FakeClock, jobs: Jobs
) -> None:
    async with Engine(client=jobs, clock=clock, policy=FAST) as engine:
        stream = engine.events(buffer=1)
        engine.watch(rising(jobs))  # type: ignore[arg-type]
        await clock.advance(1.5)
    got = [e async for e in stream]
    assert kinds(got) == ["TaskProgress", "TaskProgress", "TaskFailed"]
    assert isinstance(got[-1], TaskFailed)
    assert got[-1].reason is FailureReason.CANCELLED


async def test_stats_after_closing_with_polls_in_flight(clock: FakeClock) -> None:
    slow = Jobs(clock, latency=30.0)
    async with Engine(client=slow, clock=clock, policy=FAST) as engine:
        for name in "abc":
            engine.watch(rising(slow, name))  # type: ignore[arg-type]
        await clock.advance(1.0)
        assert engine.stats().in_flight == 3
    stats = engine.stats()
    assert (stats.in_flight, stats.workers) == (0, 0)

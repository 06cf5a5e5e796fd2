"""Closing and cancelling promptly, with nothing left behind."""

from __future__ import annotations

import asyncio

import anyio
import pytest

from modelarts_poller import Engine, FailureReason, TaskEvent, TaskFailed
from modelarts_poller.testing import FakeClock
from tests.jobs import Jobs


async def test_closing_an_engine_with_10000_tasks_mid_flight_leaves_nothing(
    clock: FakeClock,
) -> None:
    jobs = Jobs(clock, latency=2.0)  # every poll is in flight for 2 s of virtual time
    specs = [jobs.add(str(i), (0, "RUNNING", None)) for i in range(10_000)]
    before = set(asyncio.all_tasks())
    ends: list[TaskEvent] = []
    async with Engine(client=jobs, clock=clock, max_in_flight=200) as engine:
        engine.subscribe(ends.append, types=TaskFailed)
        handles = engine.watch_many(specs)
        await clock.advance(5)
        assert engine.stats().in_flight == 200
    assert len(ends) == 10_000
    assert {e.reason for e in ends} == {FailureReason.CANCELLED}  # type: ignore[attr-defined]
    assert all(h.done() for h in handles)
    assert engine.stats().tracked == 0
    await clock.advance(10)  # answers that were in flight must not revive anything
    assert len(ends) == 10_000
    assert set(asyncio.all_tasks()) - before == set()


async def test_cancelling_many_tasks_mid_flight_keeps_the_engine_running(
    clock: FakeClock,
) -> None:
    jobs = Jobs(clock, latency=1.0)
    specs = [jobs.add(str(i), (0, "RUNNING", None), (3, "DONE", None)) for i in range(100)]
    async with Engine(client=jobs, clock=clock, max_in_flight=10) as engine:
        handles = engine.watch_many(specs)
        await clock.advance(0.5)
        for h in handles[::2]:
            h.cancel()
        result = await clock.run(engine.wait(handles))
    assert len(result.failed) == 50
    assert {e.reason for e in result.failed} == {FailureReason.CANCELLED}
    assert len(result.completed) == 50


async def test_an_exception_in_the_body_propagates_unwrapped(clock: FakeClock) -> None:
    jobs = Jobs(clock)
    bug = ValueError("user bug")
    handles = []

    async def body() -> None:
        async with Engine(client=jobs, clock=clock) as engine:
            handles.append(engine.watch(jobs.add("a", (0, "RUNNING", None))))
            raise bug

    with pytest.raises(ValueError, match="user bug") as info:
        await body()
    assert info.value is bug
    handle = handles[0]
    assert handle.outcome is not None
    assert handle.outcome.reason is FailureReason.CANCELLED  # type: ignore[union-attr]


async def test_an_outer_cancellation_closes_the_engine_cleanly(clock: FakeClock) -> None:
    jobs = Jobs(clock)
    with anyio.move_on_after(0.5) as scope:  # real time, but nothing waits for it
        async with Engine(client=jobs, clock=clock) as engine:
            handle = engine.watch(jobs.add("a", (0, "RUNNING", None)))
            scope.cancel()
            await anyio.sleep_forever()
    assert scope.cancelled_caught
    assert handle.done()

"""Stopping over HTTP: a training job stopped through ``handle.stop()`` passes through
Terminating to Terminated in the simulator and its event says STOPPED; a stop of a job that
already completed is refused as published (409 ModelArts.2796) and reported as completed;
``at_deadline="stop"`` terminates the job in the simulator; every kind with a stop call
reaches its stopped state through ``handle.stop()``."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import anyio
import pytest

from modelarts_poller import (
    Backoff,
    Engine,
    FailureReason,
    ModelArtsClient,
    NoAuth,
    PollPolicy,
    TaskCompleted,
    TaskFailed,
    TaskProgress,
    kinds,
)
from modelarts_poller.simulator import Simulator, SimulatorConfig, spec_of

FAST = PollPolicy(
    interval=Backoff(initial=0.05, maximum=0.05, strategy="constant"),
    retry=Backoff(initial=0.05, maximum=0.1),
    progress_aware=False,
)


class ManualClock:
    def __init__(self) -> None:
        self.t = 0.0

    def __call__(self) -> float:
        return self.t

    def wall(self) -> float:
        return 1_700_000_000.0 + self.t


@pytest.fixture
async def env() -> AsyncIterator[tuple[Simulator, ManualClock, ModelArtsClient]]:
    clock = ManualClock()
    async with Simulator(SimulatorConfig(seed=5), clock=clock, wall=clock.wall) as sim:
        client = ModelArtsClient(endpoint=sim.url, project_id=sim.project_id, auth=NoAuth())
        async with client:
            yield sim, clock, client


async def test_a_running_training_job_stopped_reaches_terminated(
    env: tuple[Simulator, ManualClock, ModelArtsClient],
) -> None:
    sim, clock, client = env
    script = sim.add("training_job", queue=1, run=1000)
    clock.t = 10  # running
    seen: list[str] = []
    polled = anyio.Event()

    def progress(event: Any) -> None:
        polled.set()
        seen.append(event.snapshot.status)
        if event.snapshot.status == "Terminating":
            clock.t += 600  # the stop's delay has passed

    async with Engine(client=client, policy=FAST) as engine:
        handle = engine.watch(spec_of(script), on_event=progress, types=TaskProgress)
        with anyio.fail_after(20):
            await polled.wait()
            event = await handle.stop()
    assert isinstance(event, TaskFailed)
    assert event.reason is FailureReason.STOPPED
    assert seen == ["Running", "Terminating", "Terminated"]
    assert event.snapshot.status == "Terminated"


async def test_a_stop_of_a_completed_job_is_refused_and_reported_completed(
    env: tuple[Simulator, ManualClock, ModelArtsClient],
) -> None:
    sim, clock, client = env
    script = sim.add("training_job", queue=1, run=1000)
    clock.t = 10
    slow = PollPolicy(interval=Backoff(initial=60, maximum=60, strategy="constant"))
    async with Engine(client=client, policy=slow) as engine:
        polled = anyio.Event()
        handle = engine.watch(spec_of(script), on_event=lambda _: polled.set())
        with anyio.fail_after(20):
            await polled.wait()
            clock.t = 5000  # completed, unseen: the next poll is a minute away
            event = await handle.stop()
    assert isinstance(event, TaskCompleted)
    assert event.snapshot.status == "Completed"


async def test_at_deadline_stop_terminates_the_job_in_the_simulator(
    env: tuple[Simulator, ManualClock, ModelArtsClient],
) -> None:
    sim, clock, client = env
    script = sim.add("training_job", queue=1, run=1000)
    clock.t = 10
    policy = PollPolicy(interval=FAST.interval, deadline=0.3, at_deadline="stop")
    async with Engine(client=client, policy=policy) as engine:
        with anyio.fail_after(20):
            event = await engine.watch(spec_of(script)).wait()
    assert isinstance(event, TaskFailed)
    assert event.reason is FailureReason.DEADLINE
    assert "a stop was sent" in event.message
    clock.t += 600
    assert (await client.get_task(spec_of(script))).status == "Terminated"


async def test_through_modelarts_client_the_stop_takes_a_grant_at_the_wire(
    env: tuple[Simulator, ManualClock, ModelArtsClient],
) -> None:
    from tests.toy_limiter import CountingLimiter

    sim, clock, client = env
    script = sim.add("training_job", queue=1, run=1000)
    clock.t = 10
    polled = anyio.Event()

    def progress(event: Any) -> None:
        polled.set()
        if event.snapshot.status == "Terminating":
            clock.t += 600

    limiter = CountingLimiter(1000)
    slow = PollPolicy(interval=Backoff(initial=0.2, maximum=0.2, strategy="constant"))
    async with Engine(client=client, policy=slow, rate_limiter=limiter) as engine:
        handle = engine.watch(spec_of(script), on_event=progress, types=TaskProgress)
        with anyio.fail_after(20):
            await polled.wait()
            grants, polls = limiter.grants, handle.polls
            event = await handle.stop()
    assert event.reason is FailureReason.STOPPED  # type: ignore[union-attr]
    assert limiter.grants - grants == (handle.polls - polls) + 1  # the polls and the stop


def _calls_beside_reads(sim: Simulator) -> int:
    """API requests that were neither status reads nor list pages: here, the stop call."""
    c = sim.counters
    return sum(c.per_second_all.values()) - c.requests - sum(c.lists.values())


STOPPABLE = sorted(k.name for k in kinds() if k.spec_type.STOP is not None)


@pytest.mark.parametrize("kind", STOPPABLE)
async def test_every_stoppable_kind_stopped_through_its_handle_reaches_its_stopped_state(
    kind: str,
) -> None:
    # Each kind with a stop call, stopped before it is ready (a notebook still starting, a
    # run still running): the stop goes out once, the simulator passes through its
    # stopping state after the stop's delay, and the event says STOPPED.
    clock = ManualClock()
    async with (
        Simulator(SimulatorConfig(seed=5), clock=clock, wall=clock.wall) as sim,
        ModelArtsClient(endpoint=sim.url, project_id=sim.project_id, auth=NoAuth()) as client,
        Engine(client=client, policy=FAST) as engine,
    ):
        script = sim.add(kind, queue=5, run=1000)
        clock.t = 2 if kind != "workflow_execution" else 10
        polled = anyio.Event()
        handle = engine.watch(spec_of(script), on_event=lambda _e: polled.set(), types=TaskProgress)
        stopping: list[TaskCompleted | TaskFailed] = []

        async def stop() -> None:
            stopping.append(await handle.stop())

        with anyio.fail_after(20):
            await polled.wait()
            before = _calls_beside_reads(sim)
            async with anyio.create_task_group() as tg:
                tg.start_soon(stop)
                # The server's own count is the signal that the stop arrived; it has no
                # event to wait on.
                while _calls_beside_reads(sim) == before:  # noqa: ASYNC110
                    await anyio.sleep(0.01)
                clock.t += 600  # the stop's delay has passed
    event = stopping[0]
    assert isinstance(event, TaskFailed), event
    assert event.reason is FailureReason.STOPPED
    stop_call = type(handle.spec).STOP
    assert stop_call is not None
    assert event.snapshot.status in stop_call.stopped
    assert _calls_beside_reads(sim) == before + 1  # one stop call, not two

"""Stateful property test of delivery: watch, cancel, subscribe, unsubscribe, block and
drain streams, slow callbacks, abandoned streams and time, in random orders, then close.

Whatever the order, every subscriber sees each task's events in order, at most one
terminal event per task and nothing after it; a subscriber that stayed from before a
task's watch to the end sees exactly what a plain recorder saw; the counters end at zero.

A second machine watches tasks with deadlines under a binding rate, pauses of every
request (a 429's Retry-After), busy pollers, slow answers and faults: every task has ended
by its deadline, and no second holds more polls than the rate.
"""

from __future__ import annotations

import asyncio
import gc
from collections import defaultdict
from collections.abc import Awaitable, Callable
from typing import Any

import anyio
import attrs
from hypothesis import HealthCheck, settings
from hypothesis import strategies as st
from hypothesis.stateful import (
    RuleBasedStateMachine,
    initialize,
    invariant,
    precondition,
    rule,
)

from modelarts_poller import (
    Backoff,
    Engine,
    EventStream,
    FailureReason,
    LocalRateLimiter,
    PollPolicy,
    RateLimited,
    TaskCompleted,
    TaskEvent,
    TaskFailed,
    TaskHandle,
)
from modelarts_poller.testing import FakeClock
from tests.budget import examples
from tests.jobs import Jobs

POLICY = PollPolicy(
    interval=Backoff(initial=1, maximum=1, jitter="none"),
    retry=Backoff(initial=1, maximum=1, jitter="none"),
    progress_aware=False,
)
TERMINAL = (TaskCompleted, TaskFailed)


class Recorder:
    """One subscriber's view: events per task, and when it joined and left."""

    def __init__(self, joined_at: int) -> None:
        self.seen: dict[Any, list[TaskEvent]] = defaultdict(list)
        self.joined_at = joined_at
        self.left = False

    def add(self, event: TaskEvent) -> None:
        self.seen[event.spec].append(event)


class DeliveryMachine(RuleBasedStateMachine):
    def __init__(self) -> None:
        super().__init__()
        self.loop = asyncio.new_event_loop()
        self.clock = FakeClock()
        self.jobs = Jobs(self.clock)
        self.commands: asyncio.Queue[tuple[Callable[[], Awaitable[None]], asyncio.Future[None]]]
        self.step = 0
        self.truth = Recorder(0)
        self.recorders: list[Recorder] = []
        self.unsubscribes: list[tuple[Recorder, Callable[[], None]]] = []
        self.streams: list[tuple[Recorder, EventStream]] = []
        self.handles: list[TaskHandle] = []
        self.watched_at: dict[Any, int] = {}
        self.gate = anyio.Event()
        self.names = 0
        self.closed = False

        async def drive(ready: asyncio.Future[None]) -> None:
            self.commands = asyncio.Queue()
            async with Engine(client=self.jobs, clock=self.clock, policy=POLICY) as engine:
                self.engine = engine
                engine.subscribe(self.truth.add)
                ready.set_result(None)
                while True:
                    command, done = await self.commands.get()
                    if command is None:  # type: ignore[comparison-overlap]
                        break
                    try:
                        await command()
                    except BaseException as exc:
                        done.set_exception(exc)
                    else:
                        done.set_result(None)
            self.stats = engine.stats()

        ready: asyncio.Future[None] = self.loop.create_future()
        self.driver = self.loop.create_task(drive(ready))
        self.loop.run_until_complete(ready)

    def do(self, command: Callable[[], Awaitable[None]]) -> None:
        done: asyncio.Future[None] = self.loop.create_future()
        self.commands.put_nowait((command, done))
        self.loop.run_until_complete(done)
        self.step += 1

    # -- rules --------------------------------------------------------------------------

    @rule(steps=st.integers(1, 6), fail=st.booleans())
    def watch(self, steps: int, fail: bool) -> None:
        self.names += 1
        name = str(self.names)
        timeline = [(float(t), "RUNNING", (t + 1) / (steps + 1)) for t in range(steps)]
        timeline.append((float(steps), "BROKEN" if fail else "DONE", None))
        job = self.jobs.add(name, *timeline)

        async def go() -> None:
            self.handles.append(self.engine.watch(job))
            self.watched_at[job] = self.step

        self.do(go)

    @precondition(lambda self: self.handles)
    @rule(data=st.data())
    def cancel(self, data: st.DataObject) -> None:
        handle = data.draw(st.sampled_from(self.handles))

        async def go() -> None:
            handle.cancel()

        self.do(go)

    @rule(slow=st.booleans())
    def subscribe(self, slow: bool) -> None:
        recorder = Recorder(self.step)
        self.recorders.append(recorder)
        gate = self.gate

        async def slow_add(event: TaskEvent) -> None:
            await gate.wait()
            recorder.add(event)

        async def go() -> None:
            unsub = self.engine.subscribe(slow_add if slow else recorder.add)
            self.unsubscribes.append((recorder, unsub))

        self.do(go)

    @precondition(lambda self: self.unsubscribes)
    @rule(data=st.data())
    def unsubscribe(self, data: st.DataObject) -> None:
        recorder, unsub = data.draw(st.sampled_from(self.unsubscribes))
        recorder.left = True

        async def go() -> None:
            unsub()

        self.do(go)

    @rule(buffer=st.integers(1, 4))
    def open_stream(self, buffer: int) -> None:
        recorder = Recorder(self.step)
        self.recorders.append(recorder)

        async def go() -> None:
            self.streams.append((recorder, self.engine.events(buffer=buffer)))

        self.do(go)

    @precondition(lambda self: self.streams)
    @rule(data=st.data(), count=st.integers(1, 5))
    def drain(self, data: st.DataObject, count: int) -> None:
        recorder, stream = data.draw(st.sampled_from(self.streams))

        async def go() -> None:
            for _ in range(min(count, len(stream))):
                recorder.add(await stream.__anext__())

        self.do(go)

    @precondition(lambda self: self.streams)
    @rule(data=st.data())
    def abandon(self, data: st.DataObject) -> None:
        index = data.draw(st.integers(0, len(self.streams) - 1))
        recorder, _ = self.streams.pop(index)
        recorder.left = True
        gc.collect()

    @rule()
    def release_slow_callbacks(self) -> None:
        gate, self.gate = self.gate, anyio.Event()

        async def go() -> None:
            gate.set()

        self.do(go)

    @rule(seconds=st.sampled_from([0.0, 0.5, 1.0, 3.0]))
    def advance(self, seconds: float) -> None:
        self.do(lambda: self.clock.advance(seconds))

    # -- checks -------------------------------------------------------------------------

    @invariant()
    def each_view_is_ordered_and_sealed(self) -> None:
        for recorder in (self.truth, *self.recorders):
            for events in recorder.seen.values():
                ends = [i for i, e in enumerate(events) if isinstance(e, TERMINAL)]
                assert len(ends) <= 1, events
                assert not ends or ends[0] == len(events) - 1, events
                times = [e.at for e in events]
                assert times == sorted(times), events

    def teardown(self) -> None:
        try:
            self.gate.set()

            async def close() -> None:
                self.commands.put_nowait((None, None))  # type: ignore[arg-type]
                await self.driver
                for recorder, stream in self.streams:
                    async for event in stream:
                        recorder.add(event)

            self.loop.run_until_complete(close())
            self.loop.run_until_complete(asyncio.sleep(0))
            assert (self.stats.in_flight, self.stats.workers) == (0, 0)
            self.each_view_is_ordered_and_sealed()
            for spec, events in self.truth.seen.items():
                assert isinstance(events[-1], TERMINAL), events  # every task ended once
                for recorder in self.recorders:
                    if not recorder.left and recorder.joined_at < self.watched_at[spec]:
                        assert recorder.seen[spec] == events
        finally:
            self.loop.close()


TestDelivery = DeliveryMachine.TestCase
TestDelivery.settings = settings(
    max_examples=examples(60),
    stateful_step_count=30,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow],
)


class DeadlineMachine(RuleBasedStateMachine):
    """Deadlines whatever a task waits for: a grant of a binding rate, a pause of every
    request, a free poller, a slow answer, a Retry-After (issue 23: 300 tasks at 4 polls/s
    with a 30 s deadline ended up to 107 s late). In virtual time the bound is exact: a
    task not over by its deadline ends at it."""

    def __init__(self) -> None:
        super().__init__()
        self.loop = asyncio.new_event_loop()
        self.clock = FakeClock()
        self.watched: list[tuple[TaskHandle, float | None]] = []
        self.truth = Recorder(0)
        self.names = 0
        self.driver: asyncio.Task[None] | None = None

    @initialize(
        rate=st.sampled_from([1, 2, 5]),
        priority=st.booleans(),
        in_flight=st.integers(1, 6),
        latency=st.sampled_from([0.0, 0.3, 2.0]),
    )
    def start(self, rate: int, priority: bool, in_flight: int, latency: float) -> None:
        self.rate = rate
        self.jobs = Jobs(self.clock, latency=latency)
        self.limiter = LocalRateLimiter(rate, clock=self.clock)

        async def drive(ready: asyncio.Future[None]) -> None:
            self.commands = asyncio.Queue()
            async with Engine(
                client=self.jobs,
                clock=self.clock,
                policy=POLICY,
                rate_limiter=self.limiter,
                priority=priority,
                max_in_flight=in_flight,
            ) as engine:
                self.engine = engine
                engine.subscribe(self.truth.add)
                ready.set_result(None)
                while True:
                    command, done = await self.commands.get()
                    if command is None:  # type: ignore[comparison-overlap]
                        break
                    try:
                        await command()
                    except BaseException as exc:
                        done.set_exception(exc)
                    else:
                        done.set_result(None)
            self.stats = engine.stats()

        ready: asyncio.Future[None] = self.loop.create_future()
        self.driver = self.loop.create_task(drive(ready))
        self.loop.run_until_complete(ready)

    def do(self, command: Callable[[], Awaitable[None]]) -> None:
        done: asyncio.Future[None] = self.loop.create_future()
        self.commands.put_nowait((command, done))
        self.loop.run_until_complete(done)

    @rule(
        steps=st.integers(1, 8),
        fail=st.booleans(),
        deadline=st.sampled_from([None, 0.5, 1.0, 2.5, 6.0, 20.0]),
        count=st.integers(1, 8),
    )
    def watch(self, steps: int, fail: bool, deadline: float | None, count: int) -> None:
        timeline = [(float(t), "RUNNING", (t + 1) / (steps + 1)) for t in range(steps)]
        timeline.append((float(steps), "BROKEN" if fail else "DONE", None))
        jobs = []
        for _ in range(count):
            self.names += 1
            jobs.append(self.jobs.add(str(self.names), *timeline))
        policy = attrs.evolve(POLICY, deadline=deadline)

        async def go() -> None:
            at = self.clock.now()
            for handle in self.engine.watch_many(jobs, policy=policy):
                self.watched.append((handle, None if deadline is None else at + deadline))

        self.do(go)

    @precondition(lambda self: self.watched)
    @rule(data=st.data(), retry_after=st.sampled_from([None, 0.5, 3.0, 50.0]))
    def fault(self, data: st.DataObject, retry_after: float | None) -> None:
        handle, _ = data.draw(st.sampled_from(self.watched))
        self.jobs.faults[handle.spec.name].append(RateLimited("429", retry_after=retry_after))

    @rule(seconds=st.sampled_from([1.0, 10.0, 100.0]))
    def pause(self, seconds: float) -> None:
        # What a 429 with Retry-After does to every request sharing the limiter.
        self.limiter.observe({}, 429, seconds)

    @precondition(lambda self: self.watched)
    @rule(data=st.data())
    def cancel(self, data: st.DataObject) -> None:
        handle, _ = data.draw(st.sampled_from(self.watched))

        async def go() -> None:
            handle.cancel()

        self.do(go)

    @rule(seconds=st.sampled_from([0.0, 0.25, 1.0, 3.0, 10.0]))
    def advance(self, seconds: float) -> None:
        self.do(lambda: self.clock.advance(seconds))

    @invariant()
    def every_task_has_ended_by_its_deadline(self) -> None:
        now = self.clock.now()
        for handle, deadline in self.watched:
            if deadline is None:
                continue
            outcome = handle.outcome
            if now >= deadline:
                assert outcome is not None, (handle, deadline, now)
            if outcome is None:
                continue
            assert outcome.at <= deadline, (outcome, deadline)
            if isinstance(outcome, TaskFailed) and outcome.reason is FailureReason.DEADLINE:
                # Never early, unless the server asked to wait past it (docs/engine.md).
                assert outcome.at == deadline or "past the task's deadline" in outcome.message

    @invariant()
    def no_second_holds_more_polls_than_the_rate(self) -> None:
        if self.driver is None:
            return
        starts = sorted(self.jobs.starts)
        for first, later in zip(starts, starts[self.rate :], strict=False):
            assert later - first >= 1.0, starts

    def teardown(self) -> None:
        try:
            if self.driver is None:
                return

            async def close() -> None:
                self.commands.put_nowait((None, None))  # type: ignore[arg-type]
                assert self.driver is not None
                await self.driver

            self.loop.run_until_complete(close())
            self.loop.run_until_complete(asyncio.sleep(0))
            assert (self.stats.in_flight, self.stats.workers) == (0, 0)
            for events in self.truth.seen.values():
                ends = [e for e in events if isinstance(e, TERMINAL)]
                assert len(ends) == 1, events
                assert events[-1] is ends[0], events
        finally:
            self.loop.close()


TestDeadlines = DeadlineMachine.TestCase
TestDeadlines.settings = settings(
    max_examples=examples(60),
    stateful_step_count=30,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow],
)

"""Event delivery: callbacks, streams, back-pressure, overflow, batches, exactly-once."""

from __future__ import annotations

import gc
import random

import anyio
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from modelarts_poller import (
    Backoff,
    ConnectionFailed,
    Engine,
    EventOverflowError,
    EventStream,
    FailureReason,
    InvalidArgumentError,
    NotFound,
    PollPolicy,
    RateLimited,
    ServerError,
    TaskCompleted,
    TaskEvent,
    TaskFailed,
    TaskFailedError,
    TaskProgress,
    TaskRetrying,
)
from modelarts_poller.testing import FakeClock
from tests.budget import examples
from tests.jobs import Jobs

FAST = PollPolicy(
    interval=Backoff(initial=1, maximum=2, jitter="none"),
    retry=Backoff(initial=1, maximum=2, jitter="none"),
)


async def test_callbacks_sync_and_async_filtered_by_type(clock: FakeClock, jobs: Jobs) -> None:
    job = jobs.add("a", (0, "RUNNING", 0.1), (2, "RUNNING", 0.6), (4, "DONE", 1.0))
    sync_seen: list[TaskEvent] = []
    async_seen: list[TaskEvent] = []

    async def on_terminal(event: TaskEvent) -> None:
        await anyio.lowlevel.checkpoint()
        async_seen.append(event)

    async with Engine(client=jobs, clock=clock, policy=FAST) as engine:
        engine.subscribe(sync_seen.append, types=TaskProgress)
        engine.subscribe(on_terminal, types=(TaskCompleted, TaskFailed))
        await clock.run(engine.watch(job))
    assert [e.observation.completion for e in sync_seen] == [0.1, 0.6, 1.0]  # type: ignore[attr-defined]
    assert [type(e) for e in async_seen] == [TaskCompleted]


async def test_unsubscribe_stops_delivery(clock: FakeClock, jobs: Jobs) -> None:
    seen: list[TaskEvent] = []
    async with Engine(client=jobs, clock=clock, policy=FAST) as engine:
        stop = engine.subscribe(seen.append)
        stop()
        stop()  # twice is harmless
        await clock.run(engine.watch(jobs.add("a", (0, "DONE", None))))
    assert seen == []


async def test_a_raising_callback_is_reported_and_polling_goes_on(
    clock: FakeClock, jobs: Jobs
) -> None:
    reported: list[tuple[BaseException, TaskEvent]] = []
    after: list[TaskEvent] = []

    def broken(event: TaskEvent) -> None:
        raise ValueError("callback bug")

    async def broken_async(event: TaskEvent) -> None:
        raise RuntimeError("async callback bug")

    engine = Engine(
        client=jobs,
        clock=clock,
        policy=FAST,
        on_callback_error=lambda exc, ev, cb: reported.append((exc, ev)),
    )
    async with engine:
        engine.subscribe(broken)
        engine.subscribe(broken_async)
        engine.subscribe(after.append)
        handle = engine.watch(jobs.add("a", (0, "RUNNING", None), (3, "DONE", None)))
        await clock.run(handle)
    assert len(after) == 3  # two progress events and the completion
    assert [type(e) for e, _ in reported] == [ValueError, RuntimeError] * 3
    assert engine.stats().callback_errors == 6


async def test_default_callback_error_report_is_logged(
    clock: FakeClock, jobs: Jobs, caplog: pytest.LogCaptureFixture
) -> None:
    bug = ValueError("callback bug")

    def broken(event: TaskEvent) -> None:
        raise bug

    async with Engine(client=jobs, clock=clock) as engine:
        engine.subscribe(broken)
        await clock.run(engine.watch(jobs.add("a", (0, "DONE", None))))
    assert [r.exc_info[1] for r in caplog.records if r.exc_info] == [bug, bug]


async def test_engine_stream_sees_every_event_in_order(clock: FakeClock, jobs: Jobs) -> None:
    specs = [jobs.add(str(i), (0, "RUNNING", None), (i % 5 + 1, "DONE", None)) for i in range(20)]
    got: list[TaskEvent] = []

    async def consume(stream: EventStream) -> None:
        async for event in stream:
            got.append(event)

    # Closing the engine ends the stream, so consume() returns and the group exits.
    async with (
        anyio.create_task_group() as tg,
        Engine(client=jobs, clock=clock, policy=FAST) as engine,
    ):
        tg.start_soon(consume, engine.events())
        await clock.run(engine.wait(engine.watch_many(specs)))
    per_task: dict[object, list[type]] = {}
    for e in got:
        per_task.setdefault(e.spec, []).append(type(e))
    assert len(per_task) == 20
    for kinds in per_task.values():
        assert kinds == [TaskProgress, TaskProgress, TaskCompleted]


async def test_slow_consumer_applies_back_pressure_without_loss(
    clock: FakeClock, jobs: Jobs
) -> None:
    specs = [jobs.add(str(i), (0, "RUNNING", None), (1, "DONE", None)) for i in range(30)]
    got: list[TaskEvent] = []
    async with Engine(client=jobs, clock=clock, policy=FAST, max_in_flight=4) as engine:
        stream = engine.events(buffer=2)
        handles = engine.watch_many(specs)
        await clock.advance(5)
        assert len(stream) == 2  # full: pollers wait instead of dropping
        assert engine.stats().completed < 30
        async with anyio.create_task_group() as tg:

            async def consume() -> None:
                async for event in stream:
                    got.append(event)
                    if sum(isinstance(e, TaskCompleted) for e in got) == 30:
                        return

            tg.start_soon(consume)
            await clock.run(engine.wait(handles))
    assert sum(isinstance(e, TaskCompleted) for e in got) == 30
    assert len(got) == engine.stats().events  # every event emitted was received


async def test_overflow_error_mode_raises_after_the_buffered_events(
    clock: FakeClock, jobs: Jobs
) -> None:
    specs = [jobs.add(str(i), (0, "DONE", None)) for i in range(5)]
    async with Engine(client=jobs, clock=clock, policy=FAST) as engine:
        stream = engine.events(buffer=3, overflow="error")
        await clock.run(engine.wait(engine.watch_many(specs)))
        got: list[TaskEvent] = []

        async def read_all() -> None:
            async for event in stream:
                got.append(event)

        with pytest.raises(EventOverflowError, match="3 events"):
            await read_all()
    assert len(got) == 3


async def test_an_abandoned_stream_does_not_block_the_engine(clock: FakeClock, jobs: Jobs) -> None:
    specs = [jobs.add(str(i), (0, "RUNNING", None), (1, "DONE", None)) for i in range(10)]
    async with Engine(client=jobs, clock=clock, policy=FAST) as engine:
        stream = engine.events(buffer=1)
        handles = engine.watch_many(specs)
        await clock.advance(2)
        del stream
        gc.collect()
        result = await clock.run(engine.wait(handles))
    assert len(result.completed) == 10


async def test_task_stream_ends_after_the_terminal_event(clock: FakeClock, jobs: Jobs) -> None:
    job = jobs.add("a", (0, "RUNNING", None), (2, "DONE", None))
    async with Engine(client=jobs, clock=clock, policy=FAST) as engine:
        handle = engine.watch(job)
        stream = handle.events()

        async def read() -> list[TaskEvent]:
            return [e async for e in stream]

        got = await clock.run(read())
        late = [e async for e in handle.events()]
    assert [type(e) for e in got] == [TaskProgress, TaskProgress, TaskCompleted]
    assert late == [got[-1]]


async def test_wait_returns_a_summary_without_raising(clock: FakeClock, jobs: Jobs) -> None:
    ok = [jobs.add(f"ok{i}", (0, "RUNNING", None), (i + 1, "DONE", None)) for i in range(3)]
    bad = jobs.add("bad", (0, "RUNNING", None), (2, "BROKEN", None))
    async with Engine(client=jobs, clock=clock, policy=FAST) as engine:
        result = await clock.run(engine.wait(engine.watch_many([*ok, bad])))
    assert {e.spec for e in result.completed} == set(ok)
    assert [e.spec for e in result.failed] == [bad]
    assert result.pending == ()
    assert not result.ok


async def test_wait_fail_fast_raises_the_first_failure(clock: FakeClock, jobs: Jobs) -> None:
    slow = jobs.add("slow", (0, "RUNNING", None), (50, "DONE", None))
    bad = jobs.add("bad", (0, "RUNNING", None), (2, "BROKEN", None))
    async with Engine(client=jobs, clock=clock, policy=FAST) as engine:
        handles = engine.watch_many([slow, bad])
        with pytest.raises(TaskFailedError) as info:
            await clock.run(engine.wait(handles, fail_fast=True))
        assert clock.now() < 50
        assert not handles[0].done()
    assert info.value.event.spec == bad


async def test_wait_timeout_leaves_pending(clock: FakeClock, jobs: Jobs) -> None:
    quick = jobs.add("quick", (0, "DONE", None))
    slow = jobs.add("slow", (0, "RUNNING", None))
    async with Engine(client=jobs, clock=clock, policy=FAST) as engine:
        hq, hs = engine.watch_many([quick, slow])
        result = await clock.run(engine.wait([hq, hs], timeout=10))
        assert clock.now() == pytest.approx(10)
    assert [e.spec for e in result.completed] == [quick]
    assert result.pending == (hs,)


async def test_as_completed_yields_in_finishing_order(clock: FakeClock, jobs: Jobs) -> None:
    specs = [
        jobs.add(n, (0, "RUNNING", None), (t, "DONE", None))
        for n, t in [("c", 9), ("a", 3), ("b", 6)]
    ]
    async with Engine(
        client=jobs,
        clock=clock,
        policy=PollPolicy(interval=Backoff(initial=1, maximum=1, jitter="none")),
    ) as engine:
        handles = engine.watch_many(specs)

        async def order() -> list[str]:
            return [h.spec.name async for h in engine.as_completed(handles)]  # type: ignore[attr-defined]

        names = await clock.run(order())
    assert names == ["a", "b", "c"]


async def test_stream_options_are_checked(clock: FakeClock, jobs: Jobs) -> None:
    async with Engine(client=jobs, clock=clock) as engine:
        with pytest.raises(InvalidArgumentError, match="buffer"):
            engine.events(buffer=0)
        with pytest.raises(InvalidArgumentError, match="overflow"):
            engine.events(overflow="drop")  # type: ignore[arg-type]
        with pytest.raises(InvalidArgumentError, match="TaskEvent"):
            engine.events(types=int)  # type: ignore[arg-type]


FAULTS = st.sampled_from(["ok", "5xx", "reset", "429", "404"])


@settings(
    max_examples=examples(25),
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture],
)
@given(
    plan=st.lists(
        st.tuples(
            st.integers(1, 30), st.sampled_from(["DONE", "BROKEN"]), st.lists(FAULTS, max_size=6)
        ),
        min_size=1,
        max_size=40,
    ),
    seed=st.integers(0, 2**32 - 1),
    cancel_some=st.booleans(),
)
def test_exactly_one_terminal_event_per_task_whatever_happens(
    plan: list[tuple[int, str, list[str]]], seed: int, cancel_some: bool
) -> None:
    async def scenario() -> None:
        clock = FakeClock()
        jobs = Jobs(clock, latency=0.25)
        rng = random.Random(seed)
        specs = []
        expected: dict[object, tuple[type, FailureReason | None]] = {}
        for i, (finish, outcome, faults) in enumerate(plan):
            spec = jobs.add(str(i), (0, "RUNNING", None), (finish, outcome, None))
            specs.append(spec)
            for f in faults:
                jobs.faults[str(i)].append(
                    {
                        "ok": ServerError("x", status=500),
                        "5xx": ServerError("y", status=503, retry_after=2.0),
                        "reset": ConnectionFailed("reset"),
                        "429": RateLimited("slow", status=429, retry_after=1.0),
                        "404": NotFound("gone", status=404),
                    }[f]
                )
            if "404" in faults:
                expected[spec] = (TaskFailed, None)
            elif outcome == "DONE":
                expected[spec] = (TaskCompleted, None)
            else:
                expected[spec] = (TaskFailed, FailureReason.REMOTE_FAILED)
        terminal: dict[object, list[TaskEvent]] = {}
        async with Engine(
            client=jobs, clock=clock, policy=FAST, seed=seed, max_in_flight=5
        ) as engine:
            engine.subscribe(
                lambda e: terminal.setdefault(e.spec, []).append(e),
                types=(TaskCompleted, TaskFailed),
            )
            handles = engine.watch_many(specs)
            if cancel_some:
                await clock.advance(rng.uniform(0, 5))
                for h in rng.sample(handles, k=len(handles) // 3):
                    if h.cancel():
                        expected[h.spec] = (TaskFailed, FailureReason.CANCELLED)
            await clock.run(engine.wait(handles))
        assert set(terminal) == set(specs)
        for spec in specs:
            events = terminal[spec]
            assert len(events) == 1, events
            kind, reason = expected[spec]
            assert type(events[0]) is kind
            if reason is not None:
                assert events[0].reason is reason  # type: ignore[attr-defined]
        assert engine.stats().tracked == 0

    anyio.run(scenario)


async def test_retrying_events_come_before_the_terminal_one(clock: FakeClock, jobs: Jobs) -> None:
    job = jobs.add("a", (0, "DONE", None))
    jobs.faults["a"].extend([ServerError("x", status=500)] * 2)
    got: list[TaskEvent] = []
    async with Engine(client=jobs, clock=clock, policy=FAST) as engine:
        handle = engine.watch(job)
        stream = handle.events()

        async def read() -> None:
            got.extend([e async for e in stream])

        await clock.run(read())
    assert [type(e) for e in got] == [TaskRetrying, TaskRetrying, TaskProgress, TaskCompleted]

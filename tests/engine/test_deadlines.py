"""A deadline ends its task at the deadline whatever the task waits for (a rate grant, a
quota or Retry-After pause, a free poller, an answer), and the rate limit holds for every
client, FakeModelArts included (issue 23, items 1 and 2)."""

from __future__ import annotations

import statistics
import time
from typing import Any

import anyio
import pytest

from modelarts_poller import (
    Backoff,
    DurationModel,
    Engine,
    ExportTask,
    FailureReason,
    LocalRateLimiter,
    ModelArtsClient,
    NoAuth,
    PollPolicy,
    SyncTask,
    TaskCompleted,
    TaskFailed,
)
from modelarts_poller.simulator import Simulator, SimulatorConfig
from modelarts_poller.testing import FakeClock, FakeModelArts
from tests.jobs import Jobs

STEADY = PollPolicy(
    first_delay=0.0,
    interval=Backoff(initial=1.0, maximum=1.0, strategy="constant", jitter="none"),
    progress_aware=False,
    max_polls=None,
)


def assert_ended_at_deadline(handles: list[object], deadline: float) -> None:
    for handle in handles:
        outcome = handle.outcome  # type: ignore[attr-defined]
        assert isinstance(outcome, TaskFailed), outcome
        assert outcome.reason is FailureReason.DEADLINE, outcome
        assert outcome.at == deadline, outcome  # virtual time: exactly at it


@pytest.mark.parametrize("priority", [True, False])
async def test_every_task_ends_at_its_deadline_behind_a_binding_rate(priority: bool) -> None:
    # 300 tasks at 4 polls/s: in 30 s most can never be polled. Each still ends at 30 s,
    # whether it waits queued among the due or in a poller for its grant (they ended up
    # to 107 s late).
    clock = FakeClock()
    jobs = Jobs(clock)
    specs = [jobs.add(f"j{i}", (0.0, "RUNNING", None)) for i in range(300)]
    policy = PollPolicy(deadline=30.0)
    async with Engine(
        client=jobs, clock=clock, max_rate=4, priority=priority, policy=policy
    ) as engine:
        handles = engine.watch_many(specs)
        await clock.run(engine.wait(handles))
    assert_ended_at_deadline(handles, 30.0)
    assert 100 <= len(jobs.starts) <= 4 * 30 + 1  # the rate was used, never exceeded
    assert max(jobs.starts) < 30.0


@pytest.mark.parametrize("priority", [True, False])
async def test_a_deadline_ends_tasks_held_by_a_retry_after_pause(priority: bool) -> None:
    # A 429's Retry-After pauses every poll sharing the limiter: tasks waiting for their
    # grant in a poller, and those queued behind it, end at their deadline, not after it.
    clock = FakeClock()
    jobs = Jobs(clock)
    limiter = LocalRateLimiter(100, clock=clock)
    specs = [jobs.add(f"j{i}", (0.0, "RUNNING", None)) for i in range(20)]
    async with Engine(
        client=jobs,
        clock=clock,
        rate_limiter=limiter,
        priority=priority,
        max_in_flight=4,
        policy=PollPolicy(deadline=10.0),
    ) as engine:
        limiter.observe({}, 429, 1000.0)
        handles = engine.watch_many(specs)
        await clock.run(engine.wait(handles))
    assert_ended_at_deadline(handles, 10.0)
    assert not jobs.starts


async def test_a_deadline_ends_tasks_waiting_for_a_free_poller() -> None:
    # One poller, stuck in a 100 s request: the tasks queued behind it end at their own
    # deadlines (5 s and 7 s), not when the poller comes free.
    clock = FakeClock()
    jobs = Jobs(clock, latency=100.0)
    first = jobs.add("first", (0.0, "RUNNING", None))
    rest = [jobs.add(f"j{i}", (0.0, "RUNNING", None)) for i in range(3)]
    async with Engine(client=jobs, clock=clock, max_in_flight=1) as engine:
        engine.watch(first, policy=PollPolicy(deadline=50.0))
        early = engine.watch_many(rest[:2], policy=PollPolicy(deadline=5.0))
        await clock.advance(2.0)
        late = engine.watch(rest[2], policy=PollPolicy(deadline=5.0))  # 7 s from the start
        await clock.run(engine.wait([*early, late]))
    assert_ended_at_deadline(early, 5.0)
    assert_ended_at_deadline([late], 7.0)
    assert list(jobs.polls) == ["first"]


async def test_over_http_a_quota_pause_does_not_hold_a_task_past_its_deadline() -> None:
    # Two requests a minute, both spent at once: the engine pauses every request for the
    # quota's spacing (30 s). Each task still ends at its 0.6 s deadline, give or take the
    # event loop (they waited for the whole pause: never within the test's 8 s).
    deadline = 0.6
    policy = PollPolicy(
        first_delay=0.0,
        deadline=deadline,
        interval=Backoff(initial=0.2, maximum=0.2, jitter="none"),
        progress_aware=False,
    )
    async with Simulator(SimulatorConfig(quota=2, quota_window="minute")) as sim:
        scripts = [sim.add("export", queue=0.0, run=600.0) for _ in range(6)]
        async with (
            ModelArtsClient(endpoint=sim.url, project_id=sim.project_id, auth=NoAuth()) as client,
            Engine(client=client, policy=policy, list_polling=False) as engine,
        ):
            started = time.monotonic()
            handles = engine.watch_many(
                ExportTask(s.dataset_id or "", s.task_id or "") for s in scripts
            )
            with anyio.move_on_after(8.0):
                await engine.wait(handles)
        assert sim.counters.requests == 2  # the quota was kept
    for handle in handles:
        outcome = handle.outcome
        assert isinstance(outcome, TaskFailed), (handle, outcome)
        assert outcome.reason is FailureReason.DEADLINE
        assert deadline - 0.05 <= outcome.at - started <= deadline + 0.5, outcome.at - started


class SlowLists(ModelArtsClient):
    """A client whose list requests take 100 virtual seconds to be answered."""

    def __init__(self, clock: FakeClock) -> None:
        super().__init__(endpoint="http://127.0.0.1:9", project_id="p", auth=NoAuth())
        self.clock = clock
        self.lists = 0

    async def request(self, method: str, path: str, *args: Any, **kw: Any) -> Any:
        if path == ExportTask.LIST_PATH:
            self.lists += 1
            await self.clock.sleep_until(self.clock.now() + 100.0)
        return await super().request(method, path, *args, **kw)


async def test_polls_waiting_for_a_list_answer_end_at_their_deadline() -> None:
    # One poll lists the dataset's exports; the others wait for its answer, which takes
    # 100 s to come. Every one ends at its 10 s deadline, the lister's request cut off too.
    clock = FakeClock()
    client = SlowLists(clock)
    async with (
        client,
        Engine(client=client, clock=clock, policy=PollPolicy(deadline=10.0)) as engine,
    ):
        handles = engine.watch_many(ExportTask("ds", f"t{i}") for i in range(4))
        await clock.run(engine.wait(handles))
    assert client.lists == 1  # all of them waited for the one list request
    assert_ended_at_deadline(handles, 10.0)


async def test_max_rate_holds_on_the_testing_double() -> None:
    # FakeModelArts has no wire for the engine to take grants at: the engine takes them
    # per poll. It made about 100 polls a second under max_rate=10.
    clock = FakeClock()
    fake = FakeModelArts(clock)
    for i in range(50):
        fake.add_sync(f"ds-{i}", [(0, {"status": "RUNNING"})])
    policy = PollPolicy(
        first_delay=0.0,
        interval=Backoff(initial=0.5, maximum=0.5, jitter="none"),
        progress_aware=False,
    )
    per_second = []
    async with Engine(client=fake, clock=clock, max_rate=10, policy=policy) as engine:
        engine.watch_many(SyncTask(f"ds-{i}") for i in range(50))
        for _ in range(10):
            before = sum(fake.calls.values())
            await clock.advance(1.0)
            per_second.append(sum(fake.calls.values()) - before)
    assert max(per_second) <= 10, per_second
    assert min(per_second[1:]) >= 9, per_second  # and it is used


async def delays_on_the_fake(*, priority: bool) -> list[float]:
    """20 syncs (seeded to end at about 60 s) among 20 slow exports, at 2 polls/s."""
    clock = FakeClock()
    fake = FakeModelArts(clock)
    model = DurationModel()
    model.seed("sync", [55.0 + i / 2 for i in range(20)])
    model.seed("export", [1000.0 + i for i in range(20)])
    for i in range(20):
        fake.add_sync(f"q{i}", [(0, {"status": "RUNNING"}), (60, {"status": "COMPLETED"})])
        fake.add_export("ds", f"s{i}", [(0, {"status": "RUNNING"})])
    async with Engine(
        client=fake, clock=clock, policy=STEADY, max_rate=2, durations=model, priority=priority
    ) as engine:
        engine.watch_many(ExportTask("ds", f"s{i}") for i in range(20))
        handles = engine.watch_many(SyncTask(f"q{i}") for i in range(20))
        result = await clock.run(engine.wait(handles))
    assert all(isinstance(h.outcome, TaskCompleted) for h in handles)
    return [event.at - 60.0 for event in result.completed]


async def test_priority_works_on_the_testing_double() -> None:
    # docs/testing.md: FakeModelArts stands in for tests of code that uses the engine, so
    # priority under a binding rate behaves there as over HTTP (there was no rate at all).
    ordered = await delays_on_the_fake(priority=False)
    ranked = await delays_on_the_fake(priority=True)
    assert len(ordered) == len(ranked) == 20
    assert statistics.median(ordered) > 3.0  # the rate binds: due order waits its turn
    assert statistics.median(ranked) < 0.6 * statistics.median(ordered)


async def test_tasks_out_of_time_together_end_at_once_past_a_blocked_stream() -> None:
    # Ended together by their deadline: each ends at it even while an earlier one's event
    # waits for a full stream, and closing the engine still delivers every one of them.
    clock = FakeClock()
    jobs = Jobs(clock)
    specs = [jobs.add(f"j{i}", (0.0, "RUNNING", None)) for i in range(4)]
    async with Engine(
        client=jobs, clock=clock, max_rate=0.1, max_in_flight=1, policy=PollPolicy(deadline=5.0)
    ) as engine:
        stream = engine.events(types=TaskFailed, buffer=1)
        handles = engine.watch_many(specs)
        await clock.advance(6.0)
        assert_ended_at_deadline(handles, 5.0)
    ended = [event async for event in stream]
    assert sorted(event.spec.name for event in ended) == ["j0", "j1", "j2", "j3"]
    assert all(h.done() for h in handles)


async def test_on_the_testing_double_deadlines_end_tasks_exactly_behind_the_rate() -> None:
    clock = FakeClock()
    fake = FakeModelArts(clock)
    for i in range(30):
        fake.add_sync(f"ds-{i}", [(0, {"status": "RUNNING"})])
    async with Engine(
        client=fake, clock=clock, max_rate=1, policy=PollPolicy(deadline=10.0)
    ) as engine:
        handles = engine.watch_many(SyncTask(f"ds-{i}") for i in range(30))
        await clock.run(engine.wait(handles))
    assert_ended_at_deadline(handles, 10.0)
    assert sum(fake.calls.values()) <= 11


async def test_only_a_held_delivery_keeps_a_task_past_its_deadline() -> None:
    # docs/engine.md: a poller handing the task's previous event to a slow async callback
    # sees the deadline once that is done; the task then ends, with DEADLINE, no later.
    clock = FakeClock()
    jobs = Jobs(clock)
    job = jobs.add("j", (0.0, "RUNNING", 0.1))
    gate = anyio.Event()

    async def slow(event: object) -> None:
        await gate.wait()

    async with Engine(client=jobs, clock=clock) as engine:
        handle = engine.watch(job, policy=PollPolicy(deadline=5.0), on_event=slow)
        await clock.advance(8.0)
        assert handle.outcome is None  # its first progress event is still being delivered
        gate.set()
        await clock.settle()
        outcome = handle.outcome
    assert isinstance(outcome, TaskFailed)
    assert outcome.reason is FailureReason.DEADLINE
    assert outcome.at == 8.0

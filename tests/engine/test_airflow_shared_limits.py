"""Watchers of one task that share its poll each keep their own deadline and max_polls:
one's limit never ends another, and the poll lives while any watcher wants it. In virtual
time (FakeClock, FakeModelArts), with a state machine of watchers joining and leaving."""

from __future__ import annotations

import asyncio
from typing import Any

import attrs
import pytest
from hypothesis import settings
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, initialize, invariant, precondition, rule

from modelarts_poller import Backoff, ExportTask, InvalidArgumentError, PollPolicy
from modelarts_poller._checkpoint import TaskState, encode_token
from modelarts_poller.airflow import Connection, SharedEngines
from modelarts_poller.testing import FakeClock, FakeModelArts
from tests.budget import examples

SPEC = ExportTask("d", "t")
EPSILON = 1e-6
POLICY = PollPolicy(interval=Backoff(initial=1.0, maximum=2.0), first_delay=0.0)


class _Opened:
    def __init__(self, fake: FakeModelArts) -> None:
        self.fake = fake

    async def __aenter__(self) -> FakeModelArts:
        return self.fake

    async def __aexit__(self, *exc: object) -> None:
        return None


@attrs.frozen
class FakeConnection(Connection):
    """A connection whose engine reads a FakeModelArts (the shared engine's client)."""

    fake: Any = attrs.field(default=None, eq=False, repr=False)

    def client(self) -> Any:
        return _Opened(self.fake)


def setup(end: float | None, outcome: str = "SUCCESSED") -> tuple[FakeClock, SharedEngines, Any]:
    clock = FakeClock()
    fake = FakeModelArts(clock)
    timeline: list[tuple[float, dict[str, Any]]] = [(0.0, {"status": "RUNNING"})]
    if end is not None:
        timeline.append((end, {"status": outcome, "error_msg": "it broke"}))
    fake.add_export("d", "t", timeline)
    conn = FakeConnection("project", "fake", lambda: None, fake=fake)  # type: ignore[arg-type, return-value]
    # Seeded: the engines' jitter decides when a watcher ends, which the state machine's
    # precondition reads; an unseeded run would not repeat when Hypothesis replays it.
    return clock, SharedEngines(policy=POLICY, clock=clock, seed=7), conn


def token(clock: FakeClock, deadline: float | None = None) -> str:
    at = None if deadline is None else clock.wall() + (deadline - clock.now())
    return encode_token(SPEC, TaskState(deadline_at=at))


def ended_at(clock: FakeClock, task: asyncio.Task[Any]) -> list[float]:
    times: list[float] = []
    task.add_done_callback(lambda _: times.append(clock.now()))
    return times


async def test_each_watcher_ends_at_its_own_deadline_and_not_at_anothers() -> None:
    clock, shared, conn = setup(end=20.0)
    a = asyncio.create_task(shared.watch(conn, token(clock, deadline=10.0)))
    b = asyncio.create_task(shared.watch(conn, token(clock)))  # no deadline of its own
    a_at, b_at = ended_at(clock, a), ended_at(clock, b)
    await clock.advance(5.0)
    c = asyncio.create_task(shared.watch(conn, token(clock, deadline=8.0)))  # shorter, later
    c_at = ended_at(clock, c)
    await clock.advance(3.0)
    assert c.done()
    assert c.result()["reason"] == "deadline"
    assert c_at == [8.0]
    assert not a.done()
    assert not b.done()
    await clock.advance(2.0)
    assert a.done()
    assert a.result()["reason"] == "deadline"
    assert a_at == [10.0]
    assert not b.done()  # the first trigger's deadline is not the second's
    await clock.advance(15.0)
    assert b.done()
    assert b.result()["status"] == "completed"
    assert b_at[0] >= 20.0
    await clock.settle()
    assert shared.engines() == 0


async def test_each_watcher_has_its_own_max_polls() -> None:
    clock, shared, conn = setup(end=30.0)
    few = attrs.evolve(POLICY, max_polls=3)
    a = asyncio.create_task(shared.watch(conn, token(clock), policy=few))
    b = asyncio.create_task(shared.watch(conn, token(clock)))
    await clock.advance(10.0)
    assert a.done()
    assert a.result()["reason"] == "max_polls"
    assert a.result()["message"] == "not finished after 3 polls"
    assert not b.done()
    await clock.advance(25.0)
    assert b.result()["status"] == "completed"
    # and a later watcher with a limit counts its polls from when it joined
    clock, shared, conn = setup(end=None)
    b = asyncio.create_task(shared.watch(conn, token(clock)))
    await clock.advance(50.0)
    calls = conn.fake.calls[("export", "d", "t")]
    polls: list[int] = []
    c = asyncio.create_task(shared.watch(conn, token(clock), policy=few))
    c.add_done_callback(lambda _: polls.append(conn.fake.calls[("export", "d", "t")] - calls))
    await clock.advance(20.0)
    assert c.result()["reason"] == "max_polls"
    assert not b.done()
    assert polls == [3]  # its own three polls, counted from when it joined at 50 s
    b.cancel()
    await clock.settle()
    assert shared.engines() == 0  # the last watcher left: the poll and the engine end


async def test_the_poll_ends_when_its_longest_lived_watcher_leaves() -> None:
    clock, shared, conn = setup(end=None)
    a = asyncio.create_task(shared.watch(conn, token(clock, deadline=5.0)))
    b = asyncio.create_task(shared.watch(conn, token(clock, deadline=9.0)))
    await clock.advance(9.0)
    assert a.result()["reason"] == b.result()["reason"] == "deadline"
    await clock.settle()
    assert shared.engines() == 0
    calls = conn.fake.calls[("export", "d", "t")]
    await clock.advance(60.0)
    assert conn.fake.calls[("export", "d", "t")] == calls  # nobody polls it any more


@attrs.define
class Watcher:
    task: asyncio.Task[Any]
    joined: float
    deadline: float | None
    max_polls: int | None
    ends: list[float]
    left: bool = False


class SharedDeadlines(RuleBasedStateMachine):
    """Watchers of one task join and leave with different deadlines and poll limits while
    time moves; the task ends (completed or failed) at a drawn time, or never. Each
    watcher ends exactly once: at its own deadline, after its own polls, or with the
    task's true outcome, never at another watcher's limit."""

    @initialize(
        end=st.none() | st.floats(1.0, 60.0),
        outcome=st.sampled_from(["SUCCESSED", "FAILED"]),
    )
    def start(self, end: float | None, outcome: str) -> None:
        self.loop = asyncio.new_event_loop()
        self.end = end
        self.outcome = "completed" if outcome == "SUCCESSED" else "failed"
        self.clock, self.shared, self.conn = setup(end, outcome)
        self.watchers: list[Watcher] = []

    def run(self, coro: Any) -> Any:
        return self.loop.run_until_complete(coro)

    @rule(
        deadline=st.none() | st.floats(0.0, 40.0),
        max_polls=st.none() | st.integers(1, 12),
    )
    def join(self, deadline: float | None, max_polls: int | None) -> None:
        clock = self.clock
        at = None if deadline is None else clock.now() + deadline
        policy = None if max_polls is None else attrs.evolve(POLICY, max_polls=max_polls)

        async def start() -> Watcher:
            task = asyncio.create_task(
                self.shared.watch(self.conn, token(clock, deadline=at), policy=policy)
            )
            watcher = Watcher(task, clock.now(), at, max_polls, ended_at(clock, task))
            await clock.settle()
            return watcher

        self.watchers.append(self.run(start()))

    @precondition(lambda self: any(not w.task.done() for w in self.watchers))
    @rule(data=st.data())
    def leave(self, data: st.DataObject) -> None:
        waiting = [w for w in self.watchers if not w.task.done()]
        watcher = data.draw(st.sampled_from(waiting))
        watcher.task.cancel()
        watcher.left = True
        self.run(self.clock.settle())

    @rule(seconds=st.floats(0.0, 15.0))
    def advance(self, seconds: float) -> None:
        self.run(self.clock.advance(seconds))

    @invariant()
    def each_ends_once_by_its_own_limit_or_the_truth(self) -> None:
        if not hasattr(self, "clock"):
            return
        now = self.clock.now()
        for w in self.watchers:
            if not w.task.done():
                # None outlives its deadline (carried in its token as wall-clock time: to
                # within what a float of epoch seconds holds).
                assert w.deadline is None or w.deadline > now - EPSILON
                assert not w.ends
                continue
            assert len(w.ends) == 1  # a future ends once
            if w.left:
                assert w.task.cancelled()
                continue
            payload = w.task.result()
            at = w.ends[0]
            if payload["reason"] == "deadline":
                assert w.deadline is not None
                assert abs(at - max(w.deadline, w.joined)) < EPSILON  # at its own deadline
            elif payload["reason"] == "max_polls":
                assert w.max_polls is not None
                assert payload["message"] == f"not finished after {w.max_polls} polls"
            else:
                assert self.end is not None
                assert at >= self.end
                assert payload["status"] == self.outcome
                assert w.deadline is None or at <= w.deadline + EPSILON

    def teardown(self) -> None:
        if not hasattr(self, "loop"):
            return
        try:
            # Time enough for every limit and the task's end: no watcher is left waiting.
            self.run(self.clock.advance(100.0 + 12 * 2.0 + (self.end or 0.0)))
            for w in self.watchers:
                if self.end is None and w.deadline is None and w.max_polls is None:
                    assert w.left or not w.task.done()
                    w.task.cancel()
                    continue
                assert w.task.done()
            self.run(self.clock.settle())
            self.run(self.clock.settle())
            assert self.shared.engines() == 0
        finally:
            self.loop.run_until_complete(self.shared.aclose())
            self.loop.close()


SharedDeadlines.TestCase.settings = settings(
    max_examples=examples(100), stateful_step_count=20, deadline=None
)
test_shared_deadlines = SharedDeadlines.TestCase


async def test_a_deadline_costs_a_waiting_watcher_no_object_for_the_collector() -> None:
    # With thousands of triggers waiting (an operator's watch_timeout gives each a deadline),
    # each object a watcher holds is one more for every full collection to walk.
    import gc

    n = 300
    quiet = PollPolicy(first_delay=3600.0)  # no poll while we count

    async def tracked_per_watcher(deadline: float | None) -> float:
        clock = FakeClock()
        fake = FakeModelArts(clock)
        conn = FakeConnection("project", "fake", lambda: None, fake=fake)  # type: ignore[arg-type, return-value]
        shared = SharedEngines(policy=quiet, clock=clock)
        first = asyncio.create_task(shared.watch(conn, token(clock, deadline)))
        await clock.settle()
        gc.collect()
        before = len(gc.get_objects())
        tokens = [
            encode_token(
                ExportTask("d", f"t{i}"),
                TaskState(deadline_at=None if deadline is None else clock.wall() + deadline),
            )
            for i in range(n)
        ]
        watchers = [shared._wait(conn, t) for t in tokens]
        await clock.settle()
        assert shared.watching() == n + 1
        del tokens
        gc.collect()
        per_watcher = (len(gc.get_objects()) - before) / n
        for w in [first, *watchers]:
            w.cancel()
        await clock.settle()
        await shared.aclose()
        return per_watcher

    without = await tracked_per_watcher(None)
    with_deadline = await tracked_per_watcher(7200.0)
    assert with_deadline - without <= 0.1, (without, with_deadline)


def _ends(seed: int) -> list[float]:
    async def run() -> list[float]:
        clock, _, conn = setup(9.5)
        jittery = PollPolicy(
            interval=Backoff(initial=1.0, maximum=4.0, jitter="full"), first_delay=0
        )
        shared = SharedEngines(policy=jittery, clock=clock, seed=seed)
        try:
            task = asyncio.create_task(shared.watch(conn, token(clock)))
            times = ended_at(clock, task)
            await clock.advance(60.0)
            assert task.done()
            return times
        finally:
            await shared.aclose()

    return asyncio.run(run())


def test_a_seed_repeats_a_run_in_virtual_time_and_must_be_an_int() -> None:
    assert _ends(1) == _ends(1)
    assert len({tuple(_ends(s)) for s in range(6)}) > 1  # the jitter does move the end
    for bad in (True, 1.5, "7"):
        with pytest.raises(InvalidArgumentError, match="seed"):
            SharedEngines(seed=bad)  # type: ignore[arg-type]

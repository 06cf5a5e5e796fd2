"""What a watched task costs the garbage collector: a full collection walks every tracked
object, so with a million idle tasks each one more per task is a million more to walk.

Counted with ``gc.get_objects()`` after a collection: deterministic, nothing timed.
"""

from __future__ import annotations

import gc

import attrs
import pytest

from modelarts_poller import Engine, Observation, PollPolicy, SyncTask, kinds
from modelarts_poller._schedule import Scheduler
from modelarts_poller.testing import FakeClock

# The slow tier: these build thousands of tasks and walk the collector's generations (about
# 16 s of CPU), a measurement of memory under load rather than of a behaviour.
pytestmark = pytest.mark.slow

N = 2_000
SLACK = 50  # the engine's own few objects (a woken dispatcher's scope and the like)
IDLE = PollPolicy(first_delay=86_400.0)


def tracked() -> int:
    gc.collect()
    return len(gc.get_objects())


class Item:
    def __init__(self) -> None:
        self._seq = 0
        self._due = 0.0


@attrs.frozen
class Idle:
    n: int

    @property
    def kind(self) -> str:
        return "idle"

    async def fetch(self, api: object) -> Observation:
        raise AssertionError("an idle task is never polled here")

    def interpret(self, snapshot: Observation) -> Observation:
        return snapshot


def test_queued_timer_entries_are_not_tracked_containers() -> None:
    # An entry holding its item would be one more container per queued task.
    sched: Scheduler[Item] = Scheduler()
    items = [Item() for _ in range(N)]
    before = tracked()
    for i, item in enumerate(items):
        sched.push(item, 1_000.0 + i)
    assert tracked() - before <= 5
    assert len(sched) == N


def test_a_poll_s_new_entry_never_joins_the_youngest_generation() -> None:
    # What a ticking task does on every poll. A tuple entry would be tracked until a
    # collection untracks it; as it replaces the freed old one the collector's count
    # does not grow, so collections come rarely and then walk every such entry at once.
    sched: Scheduler[Item] = Scheduler()
    items = [Item() for _ in range(N)]
    for i, item in enumerate(items):
        sched.push(item, float(i))
    gc.collect()
    gc.disable()
    try:
        for rounds in range(3):
            for i in range(N):
                now = float(rounds * N + i)
                got = sched.pop(now)
                assert got is items[i]
                sched.push(got, now + N)
        young = len(gc.get_objects(generation=0))
    finally:
        gc.enable()
    assert young <= 5
    assert len(sched) == N


async def test_an_idle_watched_task_adds_only_its_handle(clock: FakeClock) -> None:
    specs = [Idle(i) for i in range(N)]
    async with Engine(clock=clock, policy=IDLE) as engine:
        before = tracked()
        handles = engine.watch_many(specs)
        del handles
        grown = tracked() - before
        assert engine.stats().tracked == N
        # The handle is the one container per task (the spec was counted in ``before``).
        assert grown <= N + SLACK, f"{grown / N:.2f} tracked objects per idle task"


async def test_a_built_in_spec_costs_one_tracked_object_once_hashed(clock: FakeClock) -> None:
    # A cached hash kept as attrs' int subclass would be one more tracked object per spec.
    specs = [SyncTask(f"dataset-{i:06d}") for i in range(N)]
    async with Engine(client=object(), clock=clock, policy=IDLE) as engine:
        before = tracked()
        engine.watch_many(specs)
        grown = tracked() - before
    assert grown <= N + SLACK, f"{grown / N:.2f} tracked objects per idle task besides its spec"


def test_no_built_in_kind_keeps_a_tracked_object_for_its_hash() -> None:
    for kind in kinds():
        ids = [f"id-{name}" for name in kind.id_names]
        spec = kind.spec_type(*ids)
        gc.collect()
        refs = [r for r in gc.get_referents(spec) if r is not type(spec)]
        hash(spec)
        after = [r for r in gc.get_referents(spec) if r is not type(spec)]
        assert [r for r in after if gc.is_tracked(r)] == [r for r in refs if gc.is_tracked(r)], (
            kind.name
        )
        assert spec == kind.spec_type(*ids)
        assert hash(spec) == hash(kind.spec_type(*ids))

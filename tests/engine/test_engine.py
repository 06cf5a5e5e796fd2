"""Engine behaviour in virtual time: scheduling, backoff, errors, endings."""

from __future__ import annotations

import logging
import math

import attrs
import pytest

from modelarts_poller import (
    Backoff,
    ConnectionFailed,
    Engine,
    EngineClosedError,
    FailureReason,
    Forbidden,
    InvalidArgumentError,
    PollPolicy,
    ProtocolError,
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
from tests.jobs import Jobs, Snap

EXACT = PollPolicy(
    interval=Backoff(initial=1.0, maximum=8.0, jitter="none"),
    retry=Backoff(initial=2.0, maximum=8.0, jitter="none"),
    progress_aware=False,
)


async def test_task_completes_with_progress_then_one_terminal_event(
    clock: FakeClock, jobs: Jobs
) -> None:
    job = jobs.add("a", (0, "QUEUED", None), (2, "RUNNING", 0.5), (5, "DONE", 1.0))
    seen: list[TaskEvent] = []
    async with Engine(client=jobs, clock=clock, policy=EXACT) as engine:
        engine.subscribe(seen.append)
        result = await clock.run(engine.watch(job))
    assert result == Snap("DONE", 1.0)
    kinds = [type(e) for e in seen]
    assert kinds == [TaskProgress, TaskProgress, TaskProgress, TaskCompleted]
    assert [e.snapshot.status for e in seen[:3]] == ["QUEUED", "RUNNING", "DONE"]  # type: ignore[attr-defined]
    assert seen[1].previous == Snap("QUEUED")  # type: ignore[attr-defined]
    assert seen[0].previous is None  # type: ignore[attr-defined]


async def test_polls_follow_the_backoff_and_reset_on_status_change(
    clock: FakeClock, jobs: Jobs
) -> None:
    job = jobs.add("a", (0, "QUEUED", None), (12, "RUNNING", None), (40, "DONE", None))
    async with Engine(client=jobs, clock=clock, policy=EXACT) as engine:
        await clock.run(engine.watch(job))
    # Delays 1, 2, 4, 8 (capped) while QUEUED; the change to RUNNING at t=15 restarts them.
    assert jobs.polls["a"] == [0, 1, 3, 7, 15, 16, 18, 22, 30, 38, 46]


async def test_remote_failure_fails_the_task_and_await_raises(clock: FakeClock, jobs: Jobs) -> None:
    job = jobs.add("a", (0, "RUNNING", None), (3, "BROKEN", None))
    async with Engine(client=jobs, clock=clock, policy=EXACT) as engine:
        handle = engine.watch(job)
        with pytest.raises(TaskFailedError) as info:
            await clock.run(handle)
    event = info.value.event
    assert event.reason is FailureReason.REMOTE_FAILED
    assert event.snapshot == Snap("BROKEN")
    assert handle.outcome is event


async def test_transient_errors_are_retried_with_retry_events(clock: FakeClock, jobs: Jobs) -> None:
    job = jobs.add("a", (0, "DONE", None))
    jobs.faults["a"].extend([ServerError("boom", status=503), ProtocolError("garbage")])
    retries: list[TaskEvent] = []
    async with Engine(client=jobs, clock=clock, policy=EXACT) as engine:
        handle = engine.watch(job, on_event=retries.append, types=TaskRetrying)
        await clock.run(handle)
    assert [r.attempt for r in retries] == [1, 2]  # type: ignore[attr-defined]
    assert [r.delay for r in retries] == [2.0, 4.0]  # type: ignore[attr-defined]
    assert jobs.polls["a"] == [0, 2, 6]


async def test_retry_after_is_a_floor_on_the_next_poll(clock: FakeClock, jobs: Jobs) -> None:
    job = jobs.add("a", (0, "DONE", None))
    jobs.faults["a"].append(RateLimited("slow down", status=429, retry_after=30.0))
    async with Engine(client=jobs, clock=clock, policy=EXACT) as engine:
        await clock.run(engine.watch(job))
    assert jobs.polls["a"] == [0, 30]


async def test_a_retry_after_past_the_deadline_ends_the_task_at_once(
    clock: FakeClock, jobs: Jobs
) -> None:
    # docs/engine.md: no poll the server allows could come before the deadline.
    job = jobs.add("a", (0, "DONE", None))
    jobs.faults["a"].append(RateLimited("slow down", status=429, retry_after=100.0))
    policy = attrs.evolve(EXACT, deadline=50.0)
    async with Engine(client=jobs, clock=clock, policy=policy) as engine:
        outcome = await clock.run(engine.watch(job).wait())
    assert isinstance(outcome, TaskFailed)
    assert outcome.reason is FailureReason.DEADLINE
    assert outcome.at == 0.0
    assert "past the task's deadline" in outcome.message
    assert jobs.polls["a"] == [0]


async def test_retries_exhausted_fails_with_the_last_error(clock: FakeClock, jobs: Jobs) -> None:
    job = jobs.add("a", (0, "DONE", None))
    errors = [ConnectionFailed(f"reset {i}") for i in range(4)]
    jobs.faults["a"].extend(errors)
    policy = PollPolicy(retry=Backoff(initial=1, maximum=1, jitter="none"), max_retries=3)
    async with Engine(client=jobs, clock=clock, policy=policy) as engine:
        outcome = await clock.run(engine.watch(job).wait())
    assert isinstance(outcome, TaskFailed)
    assert outcome.reason is FailureReason.RETRIES_EXHAUSTED
    assert outcome.error is errors[3]
    assert len(jobs.polls["a"]) == 4


async def test_permanent_error_fails_at_once(clock: FakeClock, jobs: Jobs) -> None:
    job = jobs.add("a", (0, "RUNNING", None))
    jobs.faults["a"].append(Forbidden("no", status=403, error_code="ModelArts.0403"))
    async with Engine(client=jobs, clock=clock, policy=EXACT) as engine:
        outcome = await clock.run(engine.watch(job).wait())
    assert isinstance(outcome, TaskFailed)
    assert outcome.reason is FailureReason.PERMANENT_ERROR
    assert isinstance(outcome.error, Forbidden)
    assert jobs.polls["a"] == [0]


async def test_unexpected_exception_in_a_custom_fetch_fails_and_is_logged(
    clock: FakeClock, jobs: Jobs, caplog: pytest.LogCaptureFixture
) -> None:
    job = jobs.add("a", (0, "RUNNING", None))
    bug = KeyError("oops")
    jobs.faults["a"].append(bug)
    async with Engine(client=jobs, clock=clock, policy=EXACT) as engine:
        outcome = await clock.run(engine.watch(job).wait())
    assert isinstance(outcome, TaskFailed)
    assert outcome.reason is FailureReason.ERROR
    assert outcome.error is bug
    assert any(r.exc_info and r.exc_info[1] is bug for r in caplog.records)


async def test_deadline_fails_the_task_after_a_last_look(clock: FakeClock, jobs: Jobs) -> None:
    job = jobs.add("a", (0, "RUNNING", None))
    policy = PollPolicy(
        interval=Backoff(initial=4, maximum=4, jitter="none"),
        deadline=10.0,
        progress_aware=False,
    )
    async with Engine(client=jobs, clock=clock, policy=policy) as engine:
        outcome = await clock.run(engine.watch(job).wait())
    assert isinstance(outcome, TaskFailed)
    assert outcome.reason is FailureReason.DEADLINE
    assert jobs.polls["a"] == [0, 4, 8, 9.5]  # the last look leaves time to be answered
    assert outcome.at == 10


async def test_retry_after_past_the_deadline_fails_without_polling_early(
    clock: FakeClock, jobs: Jobs
) -> None:
    job = jobs.add("a", (0, "RUNNING", None))
    jobs.faults["a"].append(RateLimited("later", status=429, retry_after=100.0))
    policy = PollPolicy(deadline=10.0)
    async with Engine(client=jobs, clock=clock, policy=policy) as engine:
        outcome = await clock.run(engine.watch(job).wait())
    assert isinstance(outcome, TaskFailed)
    assert outcome.reason is FailureReason.DEADLINE
    assert jobs.polls["a"] == [0]


async def test_max_polls(clock: FakeClock, jobs: Jobs) -> None:
    job = jobs.add("a", (0, "RUNNING", None))
    policy = PollPolicy(max_polls=3)
    async with Engine(client=jobs, clock=clock, policy=policy) as engine:
        outcome = await clock.run(engine.watch(job).wait())
    assert isinstance(outcome, TaskFailed)
    assert outcome.reason is FailureReason.MAX_POLLS
    assert len(jobs.polls["a"]) == 3


async def test_watching_the_same_spec_twice_shares_one_poller(clock: FakeClock, jobs: Jobs) -> None:
    job = jobs.add("a", (0, "RUNNING", None), (5, "DONE", None))
    first: list[TaskEvent] = []
    second: list[TaskEvent] = []
    async with Engine(client=jobs, clock=clock, policy=EXACT) as engine:
        h1 = engine.watch(job, on_event=first.append)
        h2 = engine.watch(
            jobs.add("a", (0, "RUNNING", None), (5, "DONE", None)), on_event=second.append
        )
        assert h1 is h2
        await clock.run(h1)
    assert jobs.polls["a"] == [0, 1, 3, 7]
    assert first == second
    assert sum(isinstance(e, TaskCompleted) for e in first) == 1


async def test_rewatching_with_another_policy_is_refused(clock: FakeClock, jobs: Jobs) -> None:
    job = jobs.add("a", (0, "RUNNING", None), (5, "DONE", None))
    async with Engine(client=jobs, clock=clock, policy=EXACT) as engine:
        handle = engine.watch(job, policy=EXACT)
        assert engine.watch(job, policy=EXACT) is handle  # the same policy is fine
        with pytest.raises(InvalidArgumentError, match="already watched with a different"):
            engine.watch(job, policy=PollPolicy(max_polls=2))
        with pytest.raises(InvalidArgumentError, match="policy must be a PollPolicy"):
            engine.watch(job, policy="fast")  # type: ignore[arg-type]
        assert handle.policy is EXACT
        await clock.run(handle)


async def test_cancel_ends_once_and_discards_the_in_flight_answer(clock: FakeClock) -> None:
    jobs = Jobs(clock, latency=5.0)
    job = jobs.add("a", (0, "DONE", None))
    seen: list[TaskEvent] = []
    async with Engine(client=jobs, clock=clock) as engine:
        handle = engine.watch(job, on_event=seen.append)
        await clock.advance(1)  # request in flight
        assert handle.cancel("stop") is True
        assert handle.cancel() is False
        await clock.advance(10)  # the answer arrives and must be ignored
    assert [type(e) for e in seen] == [TaskFailed]
    assert seen[0].reason is FailureReason.CANCELLED  # type: ignore[attr-defined]
    assert seen[0].message == "stop"  # type: ignore[attr-defined]


async def test_closing_cancels_every_unfinished_task(clock: FakeClock, jobs: Jobs) -> None:
    seen: list[TaskEvent] = []
    async with Engine(client=jobs, clock=clock) as engine:
        engine.subscribe(seen.append, types=TaskFailed)
        handles = [engine.watch(jobs.add(str(i), (0, "RUNNING", None))) for i in range(50)]
        await clock.advance(3)
    assert len(seen) == 50
    assert {e.reason for e in seen} == {FailureReason.CANCELLED}  # type: ignore[attr-defined]
    assert all(h.done() for h in handles)
    assert engine.stats().tracked == 0


async def test_drain_on_exit_waits_for_every_task(clock: FakeClock, jobs: Jobs) -> None:
    specs = [jobs.add(str(i), (0, "RUNNING", None), (i + 1, "DONE", None)) for i in range(5)]

    async def body() -> Engine:
        async with Engine(client=jobs, clock=clock, on_exit="drain") as engine:
            engine.watch_many(specs)
        return engine

    engine = await clock.run(body())
    assert engine.stats().completed == 5
    assert engine.stats().failed == 0


async def test_max_in_flight_bounds_concurrent_polls(clock: FakeClock) -> None:
    jobs = Jobs(clock, latency=0.5)
    specs = [jobs.add(str(i), (0, "RUNNING", None), (3, "DONE", None)) for i in range(40)]
    async with Engine(client=jobs, clock=clock, max_in_flight=7) as engine:
        result = await clock.run(engine.wait(engine.watch_many(specs)))
    assert len(result.completed) == 40
    assert jobs.max_in_flight == 7
    assert engine.stats().workers <= 7


async def test_saturated_workers_take_new_work_without_waking_the_dispatcher(
    clock: FakeClock, monkeypatch: pytest.MonkeyPatch
) -> None:
    jobs = Jobs(clock, latency=0.5)
    wakes = 0
    wake = Engine._wake_dispatcher

    def counting(self: Engine) -> None:
        nonlocal wakes
        wakes += 1
        wake(self)

    monkeypatch.setattr(Engine, "_wake_dispatcher", counting)
    back_to_back = PollPolicy(interval=Backoff(initial=0, maximum=0, jitter="none"))
    async with Engine(client=jobs, clock=clock, max_in_flight=2, policy=back_to_back) as engine:
        busy = [jobs.add(f"busy{i}", (0, "RUNNING", None), (50, "DONE", None)) for i in range(4)]
        first = engine.watch_many(busy)
        await clock.advance(10)  # saturated: 2 workers polling 4 tasks back to back
        late = engine.watch(jobs.add("late", (0, "DONE", None)))  # pushed while saturated
        await clock.run(engine.wait([*first, late]))
        polls = engine.stats().polls
        # Every poll pushes a due task; a wake-up per push would make wakes ~ polls.
        assert polls > 150
        assert wakes < polls / 10
        # Idle workers and an empty heap: a new watch must still be dispatched.
        again = engine.watch(jobs.add("again", (0, "DONE", None)))
        await clock.run(engine.wait([again]))
    assert late.outcome is not None
    assert again.outcome is not None
    assert jobs.max_in_flight == 2


async def test_max_rate_holds_in_every_one_second_window(clock: FakeClock, jobs: Jobs) -> None:
    specs = [jobs.add(str(i), (0, "RUNNING", None), (2, "DONE", None)) for i in range(300)]
    async with Engine(client=jobs, clock=clock, max_rate=40) as engine:
        result = await clock.run(engine.wait(engine.watch_many(specs)))
    assert result.ok
    starts = sorted(jobs.starts)
    j = 0
    for i, t in enumerate(starts):
        while starts[j] <= t - 1.0:
            j += 1
        assert i - j + 1 <= 40, f"{i - j + 1} polls in the second ending at {t}"
    # and the limit is not far from being used
    assert len(starts) / (starts[-1] - starts[0]) > 30


async def test_progress_aware_polling_aims_at_the_estimated_finish(
    clock: FakeClock, jobs: Jobs
) -> None:
    policy = PollPolicy(interval=Backoff(initial=1, maximum=60, jitter="none"))
    naive = PollPolicy(interval=Backoff(initial=1, maximum=60, jitter="none"), progress_aware=False)
    smart = jobs.linear("smart", 300.0)
    plain = jobs.linear("plain", 300.0)
    async with Engine(client=jobs, clock=clock) as engine:
        h1 = engine.watch(smart, policy=policy)
        h2 = engine.watch(plain, policy=naive)
        await clock.run(engine.wait([h1, h2]))
        done_smart = h1.outcome.at  # type: ignore[union-attr]
        done_plain = h2.outcome.at  # type: ignore[union-attr]
    # Reported no later than fixed backoff, with no more polls.
    assert done_smart - 300 <= done_plain - 300
    assert len(jobs.polls["smart"]) <= len(jobs.polls["plain"])
    assert done_smart - 300 < 5


async def test_time_queued_at_zero_progress_does_not_skew_the_estimate(
    clock: FakeClock, jobs: Jobs
) -> None:
    # Queued at 0% for 200 s, then 0% -> 100% linearly over the next 400 s.
    steps = [(0.0, "QUEUED", 0.0)]
    steps += [(200.0 + 4 * i, "RUNNING", i / 100) for i in range(100)]
    steps.append((600.0, "DONE", 1.0))
    job = jobs.add("queued", *steps)
    policy = PollPolicy(interval=Backoff(initial=1, maximum=3600, jitter="none"))
    async with Engine(client=jobs, clock=clock) as engine:
        handle = engine.watch(job, policy=policy)
        await clock.run(engine.wait([handle]))
        done = handle.outcome.at  # type: ignore[union-attr]
    running = [t for t in jobs.polls["queued"] if t >= 200]
    # A rate measured from the queued 0% would count the 200 s queue as running time and
    # aim far past 600 s; measured from the first progress it aims 3% past the finish.
    assert 600 <= done <= 600 + 0.03 * 400 + 1
    assert len(running) <= 4


async def test_watch_outside_the_engine_is_refused(jobs: Jobs) -> None:
    engine = Engine(client=jobs)
    with pytest.raises(EngineClosedError, match="not running"):
        engine.watch(jobs.add("a", (0, "DONE", None)))


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"max_in_flight": 0}, "max_in_flight"),
        ({"max_in_flight": 1.5}, "max_in_flight"),
        ({"max_rate": 0}, "max_rate"),
        ({"on_exit": "later"}, "on_exit"),
        ({"policy": "fast"}, "policy"),
    ],
)
def test_bad_engine_options_name_the_option(kwargs: dict[str, object], message: str) -> None:
    with pytest.raises(InvalidArgumentError, match=message):
        Engine(**kwargs)  # type: ignore[arg-type]


async def test_bad_specs_are_rejected_before_any_poll(clock: FakeClock, jobs: Jobs) -> None:
    async with Engine(client=jobs, clock=clock) as engine:
        with pytest.raises(InvalidArgumentError, match="TaskSpec"):
            engine.watch("ds-1")  # type: ignore[arg-type]
    assert jobs.starts == []


async def test_a_refused_spec_refuses_the_whole_batch(clock: FakeClock, jobs: Jobs) -> None:
    ok = [jobs.add(f"ok{i}", (0, "DONE", None)) for i in range(3)]
    async with Engine(client=jobs, clock=clock) as engine:
        kept = engine.watch(jobs.add("kept", (5, "DONE", None)))
        with pytest.raises(InvalidArgumentError, match="TaskSpec"):
            engine.watch_many([*ok, kept.spec, "ds-1"])  # type: ignore[list-item]
        assert all(engine.get(spec) is None for spec in ok)
        assert engine.get(kept.spec) is kept  # watched before the batch: untouched
        await clock.run(engine.wait([kept]))
        # The same specs can be watched afterwards, once each.
        handles = engine.watch_many([*ok, ok[0]])
        assert handles[0] is handles[3]
        await clock.run(engine.wait(handles))
        assert engine.stats().polls == len(jobs.starts)
    assert sorted(set(jobs.polls)) == ["kept", "ok0", "ok1", "ok2"]
    assert [len(jobs.polls[f"ok{i}"]) for i in range(3)] == [1, 1, 1]


async def test_builtin_kinds_need_a_client(clock: FakeClock) -> None:
    from modelarts_poller import SyncTask

    async with Engine(clock=clock) as engine:
        with pytest.raises(InvalidArgumentError, match="client"):
            engine.watch(SyncTask("ds-1"))


async def test_stats_count_what_happened(clock: FakeClock, jobs: Jobs) -> None:
    ok = jobs.add("ok", (0, "DONE", None))
    bad = jobs.add("bad", (0, "BROKEN", None))
    jobs.faults["ok"].append(ServerError("x", status=500))
    async with Engine(client=jobs, clock=clock) as engine:
        await clock.run(engine.wait(engine.watch_many([ok, bad])))
        stats = engine.stats()
    assert (stats.completed, stats.failed, stats.transient_errors) == (1, 1, 1)
    assert stats.polls == 3
    assert stats.tracked == 0
    assert stats.in_flight == 0


def test_logs_never_mention_a_caplog_fixture_unused() -> None:
    # The engine logs through the standard library under one name users can configure.
    assert logging.getLogger("modelarts_poller.engine").name == "modelarts_poller.engine"


async def test_wait_with_an_infinite_timeout_waits_for_the_end(
    clock: FakeClock, jobs: Jobs
) -> None:
    job = jobs.add("a", (0, "RUNNING", None), (5, "DONE", None))
    async with Engine(client=jobs, clock=clock) as engine:
        result = await clock.run(engine.wait([engine.watch(job)], timeout=math.inf))
    assert result.ok


async def test_a_big_batch_leaves_the_collector_as_it_found_it(
    clock: FakeClock, jobs: Jobs
) -> None:
    import gc

    specs = [jobs.add(str(i), (0, "RUNNING", None)) for i in range(60_000)]
    async with Engine(client=jobs, clock=clock, policy=PollPolicy(first_delay=3600)) as engine:
        assert gc.isenabled()
        engine.watch_many(specs)
        assert gc.isenabled()  # switched off for the batch only
        gc.disable()
        try:
            engine.watch_many([jobs.add("x", (0, "RUNNING", None))])
            assert not gc.isenabled()  # a caller's choice is kept
        finally:
            gc.enable()
        assert engine.stats().tracked == 60_001

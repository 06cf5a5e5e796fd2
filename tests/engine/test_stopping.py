"""Stopping a watched task on virtual time: ``handle.stop()`` ends it with ``STOPPED`` once
the remote reports its stopped state; a refusal of a task that ended reports what it was;
a kind without a stop call sends nothing; ``PollPolicy(at_deadline="stop")``; tokens carry
the choice; the stop call takes rate grants and retries as a poll does."""

from __future__ import annotations

import base64
import json
from typing import Any

import anyio
import pytest

from modelarts_poller import (
    Backoff,
    Engine,
    FailureReason,
    Forbidden,
    InvalidArgumentError,
    NotStoppableError,
    PollPolicy,
    ServerError,
    SyncTask,
    TaskCompleted,
    TaskFailed,
    TrainingJob,
)
from modelarts_poller._checkpoint import decode_token
from modelarts_poller.testing import FakeClock, FakeModelArts
from tests.toy_limiter import CountingLimiter

STEADY = PollPolicy(
    interval=Backoff(initial=5.0, maximum=5.0, strategy="constant", jitter="none"),
    retry=Backoff(initial=1.0, maximum=1.0, strategy="constant", jitter="none"),
    progress_aware=False,
)
KEY = ("training_job", "job-1")


def job(phase: str) -> dict[str, Any]:
    return {"metadata": {"id": "job-1", "name": "j"}, "status": {"phase": phase}}


STOPPING = [(0.0, job("Terminating")), (12.0, job("Terminated"))]


def add_job(fake: FakeModelArts, ends_at: float = 1000.0, end: str = "Completed") -> TrainingJob:
    fake.add("training_job", "job-1", [(0, job("Running")), (ends_at, job(end))], stopped=STOPPING)
    return TrainingJob("job-1")


async def test_a_running_job_stopped_ends_with_stopped() -> None:
    clock = FakeClock()
    fake = FakeModelArts(clock)
    spec = add_job(fake)
    async with Engine(client=fake, clock=clock, policy=STEADY) as engine:
        handle = engine.watch(spec)
        await clock.advance(7)
        event = await clock.run(handle.stop())
    assert isinstance(event, TaskFailed)
    assert event.reason is FailureReason.STOPPED
    assert event.snapshot.status == "Terminated"
    assert "stopped at our request" in event.message
    assert handle.outcome is event
    assert fake.stops[KEY] == 1
    assert 7 + 12 <= event.at <= 7 + 12 + 5  # seen at the first poll past the stopped state


async def test_a_second_stop_sends_nothing_more() -> None:
    clock = FakeClock()
    fake = FakeModelArts(clock)
    spec = add_job(fake)
    async with Engine(client=fake, clock=clock, policy=STEADY) as engine:
        handle = engine.watch(spec)
        await clock.advance(3)

        async def both() -> tuple[Any, Any]:
            first = await handle.stop()
            return first, await handle.stop()

        first, again = await clock.run(both())
    assert first is again is handle.outcome
    assert first.reason is FailureReason.STOPPED
    assert fake.stops[KEY] == 1


async def test_a_stop_refused_because_the_job_completed_reports_it_completed() -> None:
    clock = FakeClock()
    fake = FakeModelArts(clock)
    spec = add_job(fake, ends_at=6.0)
    async with Engine(client=fake, clock=clock, policy=STEADY) as engine:
        handle = engine.watch(spec)
        await clock.advance(8)  # completed at 6; the next poll is at 10
        assert not handle.done()
        event = await clock.run(handle.stop())
    assert isinstance(event, TaskCompleted)
    assert event.at == 8  # the look right after the refusal, not the poll at 10
    assert fake.stops[KEY] == 1


async def test_a_stop_racing_a_failure_reports_the_failure() -> None:
    clock = FakeClock()
    fake = FakeModelArts(clock)
    spec = add_job(fake, ends_at=6.0, end="Failed")
    async with Engine(client=fake, clock=clock, policy=STEADY) as engine:
        handle = engine.watch(spec)
        await clock.advance(6)
        event = await clock.run(handle.stop())
    assert isinstance(event, TaskFailed)
    assert event.reason is FailureReason.REMOTE_FAILED


async def test_a_kind_without_a_stop_call_refuses_and_the_watch_goes_on() -> None:
    clock = FakeClock()
    fake = FakeModelArts(clock)
    fake.add_sync("ds-1", [(0, {"status": "RUNNING"}), (20, {"status": "COMPLETED"})])
    async with Engine(client=fake, clock=clock, policy=STEADY) as engine:
        handle = engine.watch(SyncTask("ds-1"))
        await clock.advance(1)
        with pytest.raises(NotStoppableError, match="no stop call"):
            await handle.stop()
        assert not handle.done()
        await clock.run(handle)
    assert isinstance(handle.outcome, TaskCompleted)
    assert not fake.stops


async def test_transient_errors_of_the_stop_are_retried_as_a_poll_s() -> None:
    clock = FakeClock()
    fake = FakeModelArts(clock)
    spec = add_job(fake)
    fake.fail_next_stop(KEY, ServerError("busy", status=503), ServerError("busy", status=503))
    async with Engine(client=fake, clock=clock, policy=STEADY) as engine:
        handle = engine.watch(spec)
        await clock.advance(2)
        event = await clock.run(handle.stop())
    assert event.reason is FailureReason.STOPPED  # type: ignore[union-attr]
    assert fake.stops[KEY] == 3


async def test_a_stop_whose_retries_run_out_raises_and_the_watch_goes_on() -> None:
    clock = FakeClock()
    fake = FakeModelArts(clock)
    spec = add_job(fake, ends_at=40.0)
    fake.fail_next_stop(KEY, *(ServerError("down", status=503) for _ in range(3)))
    policy = PollPolicy(
        interval=STEADY.interval, retry=STEADY.retry, max_retries=2, progress_aware=False
    )
    async with Engine(client=fake, clock=clock, policy=policy) as engine:
        handle = engine.watch(spec)
        await clock.advance(2)
        with pytest.raises(ServerError):
            await clock.run(handle.stop())
        assert not handle.done()
        await clock.run(handle)
    assert isinstance(handle.outcome, TaskCompleted)
    assert fake.stops[KEY] == 3


async def test_a_stop_refused_while_the_job_runs_raises_and_the_watch_goes_on() -> None:
    clock = FakeClock()
    fake = FakeModelArts(clock)
    spec = add_job(fake, ends_at=40.0)
    fake.fail_next_stop(KEY, Forbidden("no", status=403))
    async with Engine(client=fake, clock=clock, policy=STEADY) as engine:
        handle = engine.watch(spec)
        await clock.advance(2)
        with pytest.raises(Forbidden):
            await clock.run(handle.stop())
        assert not handle.done()
        # Terminated by someone else now would not be ours: asked again, it is.
        event = await clock.run(handle.stop())
    assert event.reason is FailureReason.STOPPED  # type: ignore[union-attr]
    assert fake.stops[KEY] == 2


async def test_a_stopped_state_nobody_asked_for_is_a_remote_failure() -> None:
    clock = FakeClock()
    fake = FakeModelArts(clock)
    fake.add("training_job", "job-1", [(0, job("Running")), (10, job("Terminated"))])
    async with Engine(client=fake, clock=clock, policy=STEADY) as engine:
        event = await clock.run(engine.watch(TrainingJob("job-1")).wait())
    assert event.reason is FailureReason.REMOTE_FAILED  # type: ignore[union-attr]


async def test_cancelled_while_stopping_ends_cancelled_once() -> None:
    clock = FakeClock()
    fake = FakeModelArts(clock)
    spec = add_job(fake)
    seen: list[Any] = []
    async with Engine(client=fake, clock=clock, policy=STEADY) as engine:
        engine.subscribe(seen.append, types=(TaskCompleted, TaskFailed))
        handle = engine.watch(spec)
        await clock.advance(2)

        async def stop_then_cancel() -> Any:
            async def cancel_later() -> None:
                await clock.sleep_until(clock.now() + 3)
                handle.cancel()

            async with anyio.create_task_group() as tg:
                tg.start_soon(cancel_later)
                return await handle.stop()

        event = await clock.run(stop_then_cancel())
        await clock.advance(60)
    assert event.reason is FailureReason.CANCELLED
    assert seen == [event]
    assert fake.stops[KEY] == 1


async def test_the_stop_call_takes_a_rate_grant() -> None:
    clock = FakeClock()
    fake = FakeModelArts(clock)
    spec = add_job(fake)
    limiter = CountingLimiter(1000)
    async with Engine(client=fake, clock=clock, policy=STEADY, rate_limiter=limiter) as engine:
        handle = engine.watch(spec)
        await clock.advance(2)
        before = limiter.grants
        polls = fake.calls[KEY]
        await clock.run(handle.stop())
    assert limiter.grants - before == (fake.calls[KEY] - polls) + 1  # the polls and the stop


# -- at the deadline --------------------------------------------------------------------------


@pytest.mark.parametrize("at_deadline", ["leave", "stop"])
async def test_at_deadline_says_whether_the_remote_is_stopped(at_deadline: str) -> None:
    clock = FakeClock()
    fake = FakeModelArts(clock)
    spec = add_job(fake)
    policy = PollPolicy(
        interval=STEADY.interval, deadline=22.0, at_deadline=at_deadline, progress_aware=False
    )  # type: ignore[arg-type]
    async with Engine(client=fake, clock=clock, policy=policy) as engine:
        event = await clock.run(engine.watch(spec).wait())
    assert isinstance(event, TaskFailed)
    assert event.reason is FailureReason.DEADLINE
    assert event.at == 22.0  # the stop's answer takes no virtual time here
    if at_deadline == "stop":
        assert fake.stops[KEY] == 1
        assert "a stop was sent" in event.message
    else:
        assert not fake.stops
        assert "stop" not in event.message


async def test_at_deadline_stop_that_fails_still_ends_with_the_error() -> None:
    clock = FakeClock()
    fake = FakeModelArts(clock)
    spec = add_job(fake)
    fake.fail_next_stop(KEY, Forbidden("no", status=403))
    policy = PollPolicy(interval=STEADY.interval, deadline=10.0, at_deadline="stop")
    async with Engine(client=fake, clock=clock, policy=policy) as engine:
        event = await clock.run(engine.watch(spec).wait())
    assert event.reason is FailureReason.DEADLINE  # type: ignore[union-attr]
    assert isinstance(event.error, Forbidden)  # type: ignore[union-attr]
    assert "the stop call failed" in event.message  # type: ignore[union-attr]


async def test_at_deadline_stop_of_a_kind_without_one_leaves_it_and_says_so() -> None:
    clock = FakeClock()
    fake = FakeModelArts(clock)
    fake.add_sync("ds-1", [(0, {"status": "RUNNING"})])
    policy = PollPolicy(interval=STEADY.interval, deadline=10.0, at_deadline="stop")
    async with Engine(client=fake, clock=clock, policy=policy) as engine:
        event = await clock.run(engine.watch(SyncTask("ds-1")).wait())
    assert event.reason is FailureReason.DEADLINE  # type: ignore[union-attr]
    assert "not stopped" in event.message  # type: ignore[union-attr]
    assert event.at == 10.0


async def test_at_deadline_stop_of_a_task_queued_behind_a_busy_rate() -> None:
    # Tasks out of time while queued are ended by the dispatcher: they are stopped too.
    clock = FakeClock()
    fake = FakeModelArts(clock)
    specs = []
    for i in range(6):
        fake.add("training_job", f"j{i}", [(0, job("Running"))], stopped=STOPPING)
        specs.append(TrainingJob(f"j{i}"))
    policy = PollPolicy(interval=STEADY.interval, deadline=4.0, at_deadline="stop")
    async with Engine(client=fake, clock=clock, policy=policy, max_rate=1) as engine:
        handles = engine.watch_many(specs)
        result = await clock.run(engine.wait(handles))
    assert all(e.reason is FailureReason.DEADLINE for e in result.failed)  # type: ignore[attr-defined]
    assert len(result.failed) == 6
    assert dict(fake.stops) == {("training_job", f"j{i}"): 1 for i in range(6)}


def test_at_deadline_is_checked() -> None:
    with pytest.raises(InvalidArgumentError, match="at_deadline"):
        PollPolicy(at_deadline="kill")  # type: ignore[arg-type]
    assert PollPolicy().at_deadline == "leave"


# -- tokens -----------------------------------------------------------------------------------


async def test_the_token_carries_at_deadline_and_old_tokens_read_as_leave() -> None:
    clock = FakeClock()
    fake = FakeModelArts(clock)
    spec = add_job(fake)
    policy = PollPolicy(interval=STEADY.interval, deadline=100.0, at_deadline="stop")
    async with Engine(client=fake, clock=clock, policy=policy) as engine:
        token = engine.watch(spec).token()
    assert decode_token(token)[1].at_deadline == "stop"
    async with Engine(client=fake, clock=clock, policy=STEADY) as engine:
        handle = engine.watch_token(token)
        assert handle.policy.at_deadline == "stop"
        assert handle.policy.interval == STEADY.interval  # the rest from the engine's
        plain = engine.watch(TrainingJob("job-2", project_id="p")).token()
    assert "at_deadline" not in _payload(plain)  # tokens of a "leave" watch are as before
    assert decode_token(plain)[1].at_deadline == "leave"
    bad = _payload(token)
    bad["at_deadline"] = "explode"
    with pytest.raises(InvalidArgumentError, match="at_deadline"):
        decode_token(_encode(bad))


def _payload(token: str) -> dict[str, Any]:
    data: dict[str, Any] = json.loads(base64.urlsafe_b64decode(token + "=" * (-len(token) % 4)))
    return data


def _encode(payload: dict[str, Any]) -> str:
    return base64.urlsafe_b64encode(json.dumps(payload).encode()).decode().rstrip("=")


async def test_a_stop_of_an_ended_task_sends_nothing_and_returns_its_end() -> None:
    clock = FakeClock()
    fake = FakeModelArts(clock)
    spec = add_job(fake, ends_at=3.0)
    async with Engine(client=fake, clock=clock, policy=STEADY) as engine:
        handle = engine.watch(spec)
        end = await clock.run(handle.wait())
        assert await handle.stop() is end
    assert not fake.stops


async def test_a_deadline_during_a_stop_says_it_was_sent_already() -> None:
    clock = FakeClock()
    fake = FakeModelArts(clock)
    fake.add(
        "training_job",
        "job-1",
        [(0, job("Running"))],
        stopped=[(0, job("Terminating")), (500, job("Terminated"))],
    )
    policy = PollPolicy(interval=STEADY.interval, deadline=20.0, at_deadline="stop")
    async with Engine(client=fake, clock=clock, policy=policy) as engine:
        handle = engine.watch(TrainingJob("job-1"))
        await clock.advance(2)
        event = await clock.run(handle.stop())
    assert event.reason is FailureReason.DEADLINE  # type: ignore[union-attr]
    assert "a stop had been sent already" in event.message  # type: ignore[union-attr]
    assert fake.stops[KEY] == 1


async def test_watch_token_with_a_policy_keeps_that_policy_s_choice() -> None:
    clock = FakeClock()
    fake = FakeModelArts(clock)
    spec = add_job(fake)
    policy = PollPolicy(interval=STEADY.interval, deadline=100.0, at_deadline="stop")
    async with Engine(client=fake, clock=clock, policy=policy) as engine:
        token = engine.watch(spec).token()
    async with Engine(client=fake, clock=clock) as engine:
        assert engine.watch_token(token, policy=STEADY).policy.at_deadline == "leave"

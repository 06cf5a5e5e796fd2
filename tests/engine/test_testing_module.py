"""The public testing helpers work as docs/testing.md says."""

from __future__ import annotations

import pytest

from modelarts_poller import (
    DatasetTask,
    Engine,
    ExportTask,
    InvalidArgumentError,
    PollPolicy,
    RateLimited,
    SyncTask,
    TaskFailed,
)
from modelarts_poller.testing import FakeClock, FakeModelArts, scripted


async def test_the_documented_example() -> None:
    clock = FakeClock()
    fake = FakeModelArts(clock)
    fake.add_sync(
        "ds-1",
        [
            (0, {"status": "QUEUING"}),
            (20, {"status": "RUNNING"}),
            (600, {"status": "COMPLETED", "total_sample_count": 10}),
        ],
    )
    async with Engine(client=fake, clock=clock) as engine:
        status = await clock.run(engine.watch(SyncTask("ds-1")))
    assert status.total_sample_count == 10
    assert clock.now() >= 600
    assert fake.calls[("sync", "ds-1")] < 40


async def test_faults_and_scripted_progress() -> None:
    clock = FakeClock()
    fake = FakeModelArts(clock)
    fake.add_export(
        "d",
        "t",
        scripted(
            lambda t: {"status": "SUCCESSED" if t >= 100 else "RUNNING", "progress": min(t, 100.0)},
            duration=100,
            step=10,
        ),
    )
    fake.fail_next(("export", "d", "t"), RateLimited("slow", status=429, retry_after=7))
    async with Engine(client=fake, clock=clock) as engine:
        result = await clock.run(engine.watch(ExportTask("d", "t")))
    assert result.progress == 100.0
    assert fake.calls[("export", "d", "t")] >= 3


async def test_an_unknown_task_is_a_not_found_failure() -> None:
    clock = FakeClock()
    async with Engine(
        client=FakeModelArts(clock), clock=clock, policy=PollPolicy(max_retries=0)
    ) as engine:
        outcome = await clock.run(engine.watch(DatasetTask("nope")).wait())
    assert isinstance(outcome, TaskFailed)
    assert outcome.error is not None
    # as the dataset APIs publish it: 400 with the not-found code
    assert getattr(outcome.error, "status", None) == 400
    assert getattr(outcome.error, "error_code", None) == "ModelArts.4612"


async def test_advance_moves_time_by_the_given_amount() -> None:
    clock = FakeClock(start=5)
    await clock.advance(2.5)
    assert clock.now() == 7.5
    with pytest.raises(InvalidArgumentError, match="backwards"):
        await clock.advance(-1)


async def test_run_reports_a_deadlock_instead_of_hanging() -> None:
    import anyio

    never = anyio.Event()
    with pytest.raises(RuntimeError, match="deadlock"):
        await FakeClock().run(never.wait())


def test_bad_timelines_are_refused() -> None:
    fake = FakeModelArts()
    with pytest.raises(InvalidArgumentError, match="at least one"):
        fake.add_sync("d", [])
    with pytest.raises(InvalidArgumentError, match="must not decrease"):
        fake.add_dataset_task("t", [(5, {}), (1, {})])


@pytest.mark.parametrize("bad", [float("nan"), float("inf"), -1, "5", True])
async def test_advance_refuses_what_is_not_a_finite_number_of_seconds(bad: object) -> None:
    clock = FakeClock()
    with pytest.raises(InvalidArgumentError, match=r"seconds|backwards"):
        await clock.advance(bad)  # type: ignore[arg-type]
    assert clock.now() == 0.0


@pytest.mark.parametrize("bad", [float("nan"), -1, "5", True])
async def test_run_refuses_a_limit_that_is_not_a_number_of_seconds(bad: object) -> None:
    clock = FakeClock()

    async def nothing() -> None:
        return None

    with pytest.raises(InvalidArgumentError, match="limit"):
        await clock.run(nothing(), limit=bad)  # type: ignore[arg-type]

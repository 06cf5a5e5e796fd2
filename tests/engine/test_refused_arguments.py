"""A refused argument leaves nothing behind and names what was wrong, on every path the
docs describe: watching with a callback, waiting on a batch, policies, clocks."""

from __future__ import annotations

import pytest

from modelarts_poller import Engine, InvalidArgumentError, TaskFailed
from modelarts_poller.testing import FakeClock
from tests.jobs import Jobs


@pytest.mark.parametrize(
    ("kw", "name"),
    [({"on_event": 5}, "on_event"), ({"on_event": print, "types": int}, "types")],
)
async def test_a_watch_whose_callback_is_refused_watches_nothing(
    clock: FakeClock, jobs: Jobs, kw: dict[str, object], name: str
) -> None:
    job = jobs.add("a", (0, "RUNNING", None))
    async with Engine(client=jobs, clock=clock) as engine:
        with pytest.raises(InvalidArgumentError, match=name):
            engine.watch(job, **kw)  # type: ignore[arg-type]
        assert engine.get(job) is None
        assert engine.stats().tracked == 0
        await clock.advance(10)
    assert jobs.polls["a"] == []


@pytest.mark.parametrize("ended", [False, True])
@pytest.mark.parametrize("bad", [float("nan"), -1, "5", True])
async def test_wait_refuses_a_bad_timeout_whether_or_not_the_tasks_have_ended(
    clock: FakeClock, jobs: Jobs, bad: object, ended: bool
) -> None:
    job = jobs.add("a", (0, "DONE" if ended else "RUNNING", None))
    async with Engine(client=jobs, clock=clock) as engine:
        handle = engine.watch(job)
        if ended:
            await clock.run(handle)
        with pytest.raises(InvalidArgumentError, match="timeout"):
            await engine.wait([handle], timeout=bad)  # type: ignore[arg-type]
        with pytest.raises(InvalidArgumentError, match="timeout"):
            await engine.wait([], timeout=bad)  # type: ignore[arg-type]


@pytest.mark.parametrize("bad", [[5], [None], 5, ["handle"]])
async def test_wait_and_as_completed_refuse_what_is_not_a_handle(
    clock: FakeClock, jobs: Jobs, bad: object
) -> None:
    async with Engine(client=jobs, clock=clock) as engine:
        with pytest.raises(InvalidArgumentError, match="handles"):
            await engine.wait(bad)  # type: ignore[arg-type]
        with pytest.raises(InvalidArgumentError, match="handles"):
            engine.as_completed(bad)  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("kw", "name"),
    [
        ({"on_callback_error": 5}, "on_callback_error"),
        ({"clock": 5}, "clock"),
        ({"clock": "system"}, "clock"),
        ({"kind_policies": 5}, "kind_policies"),
        ({"kind_policies": ["export"]}, "kind_policies"),
    ],
)
def test_engine_options_of_the_wrong_type_are_named(kw: dict[str, object], name: str) -> None:
    with pytest.raises(InvalidArgumentError, match=name):
        Engine(**kw)  # type: ignore[arg-type]


async def test_cancel_refuses_a_message_that_is_not_text(clock: FakeClock, jobs: Jobs) -> None:
    job = jobs.add("a", (0, "RUNNING", None))
    async with Engine(client=jobs, clock=clock) as engine:
        handle = engine.watch(job)
        with pytest.raises(InvalidArgumentError, match="message"):
            handle.cancel(5)  # type: ignore[arg-type]
        assert not handle.done()  # refused: still watched
        assert handle.cancel("enough") is True
        assert isinstance(handle.outcome, TaskFailed)
        assert handle.outcome.message == "enough"


async def test_watch_many_names_a_single_spec_or_a_number_passed_for_the_batch(
    clock: FakeClock, jobs: Jobs
) -> None:
    job = jobs.add("a", (0, "RUNNING", None))
    async with Engine(client=jobs, clock=clock) as engine:
        for bad in (5, job):
            with pytest.raises(InvalidArgumentError, match="iterable of specs"):
                engine.watch_many(bad)  # type: ignore[arg-type]
        assert engine.stats().tracked == 0

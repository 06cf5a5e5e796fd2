"""Continuation tokens and the SQLite checkpoint: a watch survives its process."""

from __future__ import annotations

from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from modelarts_poller import (
    Checkpoint,
    DatasetTask,
    Engine,
    ExportTask,
    FailureReason,
    InvalidArgumentError,
    PollPolicy,
    SyncTask,
    TaskCompleted,
    TaskEvent,
    TaskFailed,
)
from modelarts_poller._checkpoint import TaskState, decode_token, encode_token
from modelarts_poller.testing import FakeClock
from tests.jobs import Job, Jobs

ids = st.text(alphabet=st.characters(categories=["Lu", "Ll", "Nd"]), min_size=1, max_size=24)
specs = st.one_of(
    st.builds(SyncTask, ids),
    st.builds(ExportTask, ids, ids),
    st.builds(DatasetTask, ids, project_id=st.none() | ids),
)


@given(
    spec=specs,
    polls=st.integers(0, 10**6),
    status=st.none() | st.text(max_size=20),
    deadline=st.none() | st.floats(0, 2e9),
)
def test_tokens_round_trip(
    spec: object, polls: int, status: str | None, deadline: float | None
) -> None:
    state = TaskState(polls, status, deadline)
    token = encode_token(spec, state)  # type: ignore[arg-type]
    assert token.isascii()
    assert "=" not in token
    assert "/" not in token
    assert decode_token(token) == (spec, state)


def test_custom_kinds_need_their_class_to_decode() -> None:
    token = encode_token(Job("j1"), TaskState())
    with pytest.raises(InvalidArgumentError, match=r"kinds=.*'job'"):
        decode_token(token)
    assert decode_token(token, {"job": Job})[0] == Job("j1")


@pytest.mark.parametrize("bad", ["", "not a token!", "eyJ2IjoyfQ", "W10"])
def test_bad_tokens_are_refused_clearly(bad: str) -> None:
    with pytest.raises(InvalidArgumentError, match="token"):
        decode_token(bad)


def test_a_spec_that_cannot_be_saved_is_named() -> None:
    class Plain:
        kind = "plain"

    with pytest.raises(InvalidArgumentError, match="attrs classes or dataclasses"):
        encode_token(Plain(), TaskState())  # type: ignore[arg-type]


async def test_resume_watches_only_tasks_whose_end_was_not_reported(
    tmp_path: Path, clock: FakeClock, jobs: Jobs
) -> None:
    path = tmp_path / "watch.db"
    quick = jobs.add("quick", (0, "RUNNING", None), (1, "DONE", None))
    slow = jobs.add("slow", (0, "RUNNING", None), (100, "DONE", None))
    dropped = jobs.add("dropped", (0, "RUNNING", None))
    policy = PollPolicy(deadline=500)
    async with Engine(
        client=jobs, clock=clock, policy=policy, checkpoint=Checkpoint(path, kinds={"job": Job})
    ) as first:
        hq, hs, hd = first.watch_many([quick, slow, dropped])
        await clock.run(hq)
        hd.cancel()  # an explicit cancel is an outcome: not resumed
        await clock.advance(50)
        polls_before = hs.polls
    # The first engine closed with `slow` unfinished (as a crash would leave it).
    seen: list[TaskEvent] = []
    async with Engine(
        client=jobs, clock=clock, checkpoint=Checkpoint(path, kinds={"job": Job})
    ) as second:
        second.subscribe(seen.append, types=(TaskCompleted, TaskFailed))
        resumed = second.resume()
        assert [h.spec for h in resumed] == [slow]
        assert resumed[0].polls == polls_before
        await clock.run(resumed[0])
    assert [(type(e), e.spec) for e in seen] == [(TaskCompleted, slow)]
    outcomes = Checkpoint(path, kinds={"job": Job}).outcomes()
    assert sorted(v for v in outcomes.values()) == [
        ("completed", None),
        ("completed", None),
        ("failed", FailureReason.CANCELLED.value),
    ]


async def test_a_token_carries_the_deadline_across_engines(clock: FakeClock, jobs: Jobs) -> None:
    job = jobs.add("a", (0, "RUNNING", None))
    async with Engine(client=jobs, clock=clock, policy=PollPolicy(deadline=30)) as first:
        token = first.watch(job).token()
        await clock.advance(20)
    async with Engine(client=jobs, clock=clock) as second:
        outcome = await clock.run(second.watch_token(token, kinds={"job": Job}).wait())
    assert isinstance(outcome, TaskFailed)
    assert outcome.reason is FailureReason.DEADLINE
    # the deadline is where the first engine put it: 30 s after the watch
    assert outcome.at == pytest.approx(30)


async def test_resume_without_a_checkpoint_is_refused(clock: FakeClock, jobs: Jobs) -> None:
    async with Engine(client=jobs, clock=clock) as engine:
        with pytest.raises(InvalidArgumentError, match="checkpoint"):
            engine.resume()

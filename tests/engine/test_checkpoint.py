"""Continuation tokens and the SQLite checkpoint: a watch survives its process."""

from __future__ import annotations

from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from modelarts_poller import (
    Backoff,
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
    attempt=st.integers(0, 10**6),
    errors=st.integers(0, 1000),
)
def test_tokens_round_trip(
    spec: object, polls: int, status: str | None, deadline: float | None, attempt: int, errors: int
) -> None:
    state = TaskState(polls, status, deadline, attempt, errors)
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


async def test_a_token_carries_the_backoff_position(clock: FakeClock, jobs: Jobs) -> None:
    job = jobs.add("a", (0, "RUNNING", None))
    growing = PollPolicy(
        interval=Backoff(initial=1, maximum=64, factor=2, jitter="none"), progress_aware=False
    )
    async with Engine(client=jobs, clock=clock, policy=growing) as first:
        handle = first.watch(job)
        await clock.advance(15)  # polls at 0, 1, 3, 7, 15 (gaps 1, 2, 4, 8; then 16)
        token = handle.token()
    polls_before = len(jobs.polls["a"])
    async with Engine(client=jobs, clock=clock, policy=growing) as second:
        second.watch_token(token, kinds={"job": Job})
        await clock.advance(40)
    resumed = jobs.polls["a"][polls_before:]
    # the resumed watch looks at once, then goes on where the backoff stood (32 after
    # that extra look), not from 1 s again
    assert resumed[1] - resumed[0] == 32


def test_tokens_without_a_backoff_position_still_decode() -> None:
    import base64
    import json

    payload = {"v": 1, "kind": "job", "spec": {"name": "x"}, "polls": 3, "status": None}
    token = base64.urlsafe_b64encode(json.dumps(payload).encode()).decode()
    _, state = decode_token(token, {"job": Job})
    assert (state.polls, state.attempt, state.errors) == (3, 0, 0)
    bad = base64.urlsafe_b64encode(json.dumps({**payload, "attempt": -1}).encode()).decode()
    with pytest.raises(InvalidArgumentError, match="backoff position"):
        decode_token(bad, {"job": Job})


@pytest.mark.parametrize(
    ("field", "value", "message"),
    [
        ("deadline_at", "NaN", "deadline"),
        ("deadline_at", "Infinity", "deadline"),
        ("deadline_at", "true", "deadline"),
        ("started_at", "NaN", "start time"),
        ("started_at", "-Infinity", "start time"),
        ("started_at", '"1"', "start time"),
    ],
)
def test_a_token_with_a_time_that_is_no_finite_number_is_refused(
    field: str, value: str, message: str
) -> None:
    import base64

    # Written by hand: json.dumps would not write NaN into a token, but a hostile one can.
    head = '{"v":1,"kind":"job","spec":{"name":"x"},"polls":0,"status":null'
    raw = f'{head},"{field}":{value}}}'
    token = base64.urlsafe_b64encode(raw.encode()).decode()
    with pytest.raises(InvalidArgumentError, match=message):
        decode_token(token, {"job": Job})


async def test_a_spec_the_checkpoint_cannot_save_is_refused_and_not_left_watched(
    clock: FakeClock, jobs: Jobs, tmp_path: Path
) -> None:
    class Plain:  # neither attrs nor a dataclass: no token can name it
        kind = "plain"

        async def fetch(self, api: object) -> object:
            return None

        def interpret(self, snapshot: object) -> object:
            return None

    async with Engine(client=jobs, clock=clock, checkpoint=Checkpoint(tmp_path / "c.db")) as engine:
        with pytest.raises(InvalidArgumentError, match="custom specs"):
            engine.watch_many([Job("ok"), Plain()])  # type: ignore[list-item]
        assert engine.stats().tracked == 0  # all or nothing: the good one is not watched
    # and the engine closed cleanly (before the fix its exit raised the same error)


@pytest.mark.parametrize("bad", [5, None, ""])
def test_a_checkpoint_path_that_is_no_path_is_refused(bad: object) -> None:
    with pytest.raises(InvalidArgumentError, match="path"):
        Checkpoint(bad)  # type: ignore[arg-type]


@pytest.mark.parametrize("make", ["directory", "missing parent", "not sqlite"])
async def test_a_checkpoint_file_that_cannot_be_opened_is_named(
    tmp_path: Path, clock: FakeClock, jobs: Jobs, make: str
) -> None:
    path = {"directory": tmp_path, "missing parent": tmp_path / "no" / "w.db"}.get(
        make, tmp_path / "w.db"
    )
    if make == "not sqlite":
        path.write_bytes(b"this is a spreadsheet, not a database" * 50)
    with pytest.raises(InvalidArgumentError, match="cannot be used as a SQLite file") as info:
        async with Engine(client=jobs, clock=clock, checkpoint=Checkpoint(path)):
            pass
    assert str(path) in str(info.value)


@pytest.mark.parametrize("bad", [5, ["job"], {"job": 5}, {1: Job}])
def test_kinds_that_do_not_map_names_to_classes_are_refused(bad: object) -> None:
    token = encode_token(Job("j1"), TaskState())
    with pytest.raises(InvalidArgumentError, match="kinds"):
        decode_token(token, bad)  # type: ignore[arg-type]
    with pytest.raises(InvalidArgumentError, match="kinds"):
        Checkpoint("w.db", kinds=bad)  # type: ignore[arg-type]

"""The per-poll step (``_step.py``): each decision on its own, and its properties: the next
poll is never later than ``interval.maximum`` nor past the deadline, an ending is final,
and the same inputs give the same decision."""

from __future__ import annotations

from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from modelarts_poller import Backoff, DurationModel, FailureReason, Phase, PollPolicy
from modelarts_poller._errors import PermanentError, ProtocolError, RateLimited, ServerError
from modelarts_poller._specs import Observation
from modelarts_poller._step import (
    COMPLETED,
    DEADLINE_ASKED,
    DEADLINE_PASSED,
    LAST_LOOK_LEAD,
    Look,
    credit,
    first_look,
    next_look,
    poll_limit,
    read_answer,
    read_error,
    retry_look,
)

RUNNING = Observation(Phase.RUNNING, None, "Running")


def learned(kind: str = "k", ends: tuple[float, ...] = (100.0,) * 40) -> DurationModel:
    model = DurationModel()
    for seconds in ends:
        model.record(kind, seconds)
    return model


def look(policy: PollPolicy, **kw: Any) -> Look:
    args: dict[str, Any] = {
        "now": 10.0,
        "attempt": 0,
        "draw": 0.5,
        "completion": None,
        "base": None,
        "first": None,
        "durations": None,
        "kind": "k",
        "age": None,
        "deadline": None,
    }
    args.update(kw)
    return next_look(policy, **args)


# -- reading an answer ---------------------------------------------------------------


def test_a_first_answer_is_progress_with_a_new_status() -> None:
    answer = read_answer(None, RUNNING, same=False)
    assert (answer.progress, answer.status_changed, answer.end) == (True, True, None)


def test_the_same_values_again_are_no_progress() -> None:
    again = Observation(Phase.RUNNING, None, "Running")
    answer = read_answer(RUNNING, again, same=False)
    assert (answer.progress, answer.status_changed, answer.end) == (False, False, None)


def test_completion_or_phase_changing_under_one_status_is_progress_without_a_restart() -> None:
    more = Observation(Phase.RUNNING, 0.5, "Running")
    queued = Observation(Phase.PENDING, None, "Running")
    for obs in (more, queued):
        answer = read_answer(RUNNING, obs, same=False)
        assert (answer.progress, answer.status_changed) == (True, False)


def test_the_very_answer_of_last_time_is_no_progress_even_against_another_observation() -> None:
    assert not read_answer(None, RUNNING, same=True).progress


def test_success_completes_and_failure_fails_with_the_servers_message_or_the_status() -> None:
    done = read_answer(RUNNING, Observation(Phase.SUCCEEDED, 1.0, "Completed"), same=False)
    assert done.end == COMPLETED
    assert done.progress
    said = read_answer(RUNNING, Observation(Phase.FAILED, None, "Failed", "disk full"), same=False)
    assert said.end is not None
    assert said.end.reason is FailureReason.REMOTE_FAILED
    assert said.end.message == "disk full"
    mute = read_answer(None, Observation(Phase.FAILED, None, "Failed"), same=False)
    assert mute.end is not None
    assert mute.end.message == "the task reported Failed"


# -- reading an error ----------------------------------------------------------------


def test_a_transient_error_counts_one_more_in_a_row() -> None:
    for exc in (ServerError("503"), ProtocolError("not JSON")):
        failure = read_error(exc, 2, PollPolicy())
        assert (failure.transient, failure.errors, failure.end) == (True, 3, None)


def test_one_transient_error_past_max_retries_ends_the_task_with_it() -> None:
    exc = ServerError("503")
    failure = read_error(exc, 2, PollPolicy(max_retries=2))
    assert failure.end is not None
    assert failure.end.reason is FailureReason.RETRIES_EXHAUSTED
    assert failure.end.error is exc
    assert failure.end.message == "3 transient errors in a row; last: 503"
    assert read_error(exc, 1, PollPolicy(max_retries=2)).end is None
    assert read_error(exc, 10**6, PollPolicy(max_retries=None)).end is None


def test_a_permanent_error_and_an_unexpected_one_end_the_task_without_counting() -> None:
    permanent = read_error(PermanentError("gone"), 1, PollPolicy())
    assert not permanent.transient
    assert permanent.errors == 1
    assert permanent.end is not None
    assert permanent.end.reason is FailureReason.PERMANENT_ERROR
    odd = read_error(KeyError("x"), 0, PollPolicy())
    assert odd.end is not None
    assert odd.end.reason is FailureReason.ERROR
    assert odd.end.message == "KeyError: 'x'"


def test_max_polls_ends_the_task_at_its_count_and_keeps_the_last_error() -> None:
    policy = PollPolicy(max_polls=3)
    assert poll_limit(2, policy, None) is None
    exc = ServerError("503")
    end = poll_limit(3, policy, exc)
    assert end is not None
    assert end.reason is FailureReason.MAX_POLLS
    assert end.error is exc
    assert end.message == "not finished after 3 polls"
    assert poll_limit(10**6, PollPolicy(), None) is None


# -- the next poll -------------------------------------------------------------------

CONSTANT = PollPolicy(
    interval=Backoff(initial=2.0, maximum=60.0, strategy="constant", jitter="none")
)


def test_without_progress_or_learning_the_interval_decides() -> None:
    got = look(CONSTANT, attempt=5)
    assert (got.delay, got.due, got.end) == (2.0, 12.0, None)


def test_progress_marks_start_at_the_first_completion_and_the_rate_at_the_next_gain() -> None:
    first = look(CONSTANT, completion=0.2)
    assert (first.base, first.first) == (0.2, None)
    gained = look(CONSTANT, now=20.0, completion=0.4, base=0.2)
    assert gained.first == (20.0, 0.4)
    back = look(CONSTANT, now=30.0, completion=0.1, base=0.2, first=(20.0, 0.4))
    assert (back.base, back.first) == (0.1, None)


def test_a_progress_estimate_aims_past_the_finish_within_the_interval() -> None:
    # 0.1 per 10 s from (10, 0.5) to (20, 0.6): 40 s to go, aimed 3% later.
    got = look(CONSTANT, now=20.0, completion=0.6, base=0.4, first=(10.0, 0.5))
    assert got.delay == pytest.approx(40.0 * 1.03)


def test_a_progress_estimate_stops_where_half_the_kinds_runners_have_ended() -> None:
    durations = learned(ends=(30.0,) * 40)
    got = look(
        CONSTANT,
        now=20.0,
        completion=0.6,
        base=0.4,
        first=(10.0, 0.5),
        durations=durations,
        age=20.0,
    )
    assert got.delay < 40.0 * 1.03
    assert got.delay >= CONSTANT.interval.initial


def test_a_progress_estimate_stops_where_the_kinds_tasks_were_seen_to_end_early() -> None:
    # Ends from 20 s to 60 s, so the hedge leaves the estimate be; one in five of the kind's
    # tasks that report progress failed at 60%.
    durations = learned(ends=tuple(20.0 + i for i in range(40)))
    for i in range(40):
        durations.record_progress_end("k", 0.6 if i % 5 == 0 else 1.0)
    asked = {"now": 4.0, "completion": 0.13, "base": 0.05, "first": (3.0, 0.084), "age": 4.0}
    without = look(CONSTANT, **asked, durations=learned(ends=tuple(20.0 + i for i in range(40))))
    with_ends = look(CONSTANT, **asked, durations=durations)
    rate = (0.13 - 0.084) / (4.0 - 3.0)
    assert without.delay == pytest.approx((1 - 0.13) / rate * 1.03)
    # Seen at the aim, they would be 9.2 s late, 1.8 s on average: over half the 2 s rhythm.
    assert with_ends.delay == pytest.approx((0.605 - 0.13) / rate)


def test_learned_durations_move_a_young_task_without_progress_past_its_quiet_stretch() -> None:
    durations = learned(ends=(100.0,) * 40)
    young = look(CONSTANT, durations=durations, age=1.0)
    assert young.delay > CONSTANT.interval.initial
    unknown_age = look(CONSTANT, durations=durations, age=None)
    assert unknown_age.delay == CONSTANT.interval.initial


def test_past_the_deadline_the_task_gets_a_last_look_before_it() -> None:
    got = look(CONSTANT, now=10.0, deadline=11.0)
    assert got.end is None
    assert got.due == 11.0 - LAST_LOOK_LEAD
    close = look(CONSTANT, now=10.8, deadline=11.0)
    assert close.end is None
    assert close.due == 11.0
    over = look(CONSTANT, now=11.0, deadline=11.0)
    assert over.end == DEADLINE_PASSED


def test_a_retry_follows_the_retry_backoff_and_the_servers_floor() -> None:
    policy = PollPolicy(retry=Backoff(initial=1.0, maximum=8.0, jitter="none"))
    assert retry_look(policy, now=0.0, errors=3, draw=0.5, retry_after=None, deadline=None) == (
        Look(4.0, 4.0)
    )
    floor = retry_look(policy, now=0.0, errors=1, draw=0.5, retry_after=20.0, deadline=None)
    assert floor.due == 20.0


def test_a_server_that_asks_to_wait_past_the_deadline_ends_the_task_at_once() -> None:
    policy = PollPolicy(retry=Backoff(initial=1.0, maximum=8.0, jitter="none"))
    asked = retry_look(policy, now=0.0, errors=1, draw=0.5, retry_after=20.0, deadline=10.0)
    assert asked.end == DEADLINE_ASKED
    ours = retry_look(policy, now=9.0, errors=3, draw=0.5, retry_after=None, deadline=10.0)
    assert ours.end is None
    assert ours.due == 10.0 - LAST_LOOK_LEAD


def test_a_resumed_young_task_skips_its_quiet_stretch_but_not_past_the_deadline() -> None:
    durations = learned(ends=(100.0,) * 40)
    args: dict[str, Any] = {"now": 0.0, "due": 0.0, "age": 1.0, "durations": durations}
    later = first_look(CONSTANT, kind="k", deadline=None, **args)
    assert later is not None
    assert 0.0 < later <= CONSTANT.interval.maximum
    assert first_look(CONSTANT, kind="k", deadline=5.0, **args) is None
    assert first_look(CONSTANT, kind="other", deadline=None, **args) is None
    assert first_look(CONSTANT, kind="k", deadline=None, **{**args, "durations": None}) is None


def test_the_credit_of_a_likely_end_is_more_than_of_an_unlikely_one() -> None:
    durations = learned(ends=(100.0,) * 40)
    args: dict[str, Any] = {
        "due": 100.0,
        "backlog": 0.0,
        "obs": RUNNING,
        "seen_at": 90.0,
        "first": None,
        "durations": durations,
        "kind": "k",
        "watched_at": 0.0,
    }
    near_the_end = credit(CONSTANT, now=100.0, **args)
    young = credit(CONSTANT, now=100.0, **{**args, "due": 10.0, "seen_at": 5.0})
    assert near_the_end > young >= 0.0
    never_seen = credit(CONSTANT, now=0.0, **{**args, "obs": None})
    assert never_seen > 0.0


# -- properties ----------------------------------------------------------------------

finite = st.floats(min_value=0.0, max_value=1e6, allow_nan=False)
fraction = st.floats(min_value=0.0, max_value=1.0, allow_nan=False)


@st.composite
def policies(draw: st.DrawFn) -> PollPolicy:
    initial = draw(st.floats(min_value=0.01, max_value=100.0))
    maximum = initial * draw(st.floats(min_value=1.0, max_value=100.0))
    interval = Backoff(
        initial=initial,
        maximum=maximum,
        strategy=draw(st.sampled_from(["exponential", "constant"])),
        jitter=draw(st.sampled_from(["equal", "full", "none"])),
    )
    return PollPolicy(interval=interval, progress_aware=draw(st.booleans()))


@st.composite
def situations(draw: st.DrawFn) -> dict[str, Any]:
    now = draw(finite)
    completion = draw(st.none() | fraction)
    base = draw(st.none() | fraction)
    first = draw(st.none() | st.tuples(st.floats(min_value=0.0, max_value=now), fraction))
    durations = draw(
        st.none()
        | st.lists(st.floats(min_value=0.0, max_value=1e5), min_size=0, max_size=60).map(
            lambda ends: learned(ends=tuple(ends))
        )
    )
    deadline = draw(st.none() | st.floats(min_value=now, max_value=now + 1e5).map(lambda d: d))
    return {
        "now": now,
        "attempt": draw(st.integers(min_value=0, max_value=100)),
        "draw": draw(st.floats(min_value=0.0, max_value=1.0, exclude_max=True)),
        "completion": completion,
        "base": base,
        "first": first,
        "durations": durations,
        "kind": "k",
        "age": draw(st.none() | st.floats(min_value=0.0, max_value=now)),
        "deadline": deadline,
    }


@given(policies(), situations())
def test_the_next_poll_is_never_past_the_intervals_maximum_nor_the_deadline(
    policy: PollPolicy, situation: dict[str, Any]
) -> None:
    got = next_look(policy, **situation)
    now, deadline = situation["now"], situation["deadline"]
    if got.end is not None:
        # Only the deadline ends a task here, and only once it has come.
        assert got.end == DEADLINE_PASSED
        assert deadline is not None
        assert now >= deadline
        return
    assert now <= got.due <= now + policy.interval.maximum * (1 + 1e-9)
    if deadline is not None:
        assert got.due <= deadline


@given(policies(), situations())
def test_the_same_inputs_give_the_same_decision(
    policy: PollPolicy, situation: dict[str, Any]
) -> None:
    assert next_look(policy, **situation) == next_look(policy, **situation)
    obs = Observation(Phase.RUNNING, situation["completion"], "Running")
    assert read_answer(RUNNING, obs, same=False) == read_answer(RUNNING, obs, same=False)


@given(
    st.sampled_from(list(Phase)),
    st.none() | fraction,
    st.sampled_from(["Running", "Failed", "Completed"]),
    st.integers(min_value=0, max_value=20),
    policies(),
    st.integers(min_value=1, max_value=20),
)
def test_an_ending_is_final_nothing_is_scheduled_after_it(
    phase: Phase,
    completion: float | None,
    status: str,
    polls: int,
    policy: PollPolicy,
    max_polls: int,
) -> None:
    """A terminal answer carries no next poll, and once a task ended by its count every
    later count ends it too: nothing a step decides can bring it back."""
    answer = read_answer(RUNNING, Observation(phase, completion, status), same=False)
    assert (answer.end is not None) == (phase in (Phase.SUCCEEDED, Phase.FAILED))
    limited = PollPolicy(interval=policy.interval, max_polls=max_polls)
    if poll_limit(polls, limited, None) is not None:
        assert all(poll_limit(polls + k, limited, None) is not None for k in range(5))
    over = next_look(
        limited, now=5.0, attempt=0, draw=0.5, completion=None, base=None, first=None,
        durations=None, kind="k", age=None, deadline=5.0,
    )  # fmt: skip
    assert over.end == DEADLINE_PASSED


@given(
    st.integers(min_value=0, max_value=50),
    st.none() | st.integers(min_value=0, max_value=50),
    st.sampled_from([ServerError("503"), RateLimited("429", retry_after=2.0)]),
)
def test_retries_end_exactly_when_max_retries_is_exceeded(
    errors: int, max_retries: int | None, exc: Exception
) -> None:
    failure = read_error(exc, errors, PollPolicy(max_retries=max_retries))
    assert failure.errors == errors + 1
    assert (failure.end is not None) == (max_retries is not None and errors + 1 > max_retries)

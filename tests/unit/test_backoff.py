"""Backoff, policy and rate-limit maths: pure functions, checked with properties."""

from __future__ import annotations

import math

import backoff as backoff_lib
import pytest
from hypothesis import given
from hypothesis import strategies as st

from modelarts_poller import Backoff, InvalidArgumentError, PollPolicy
from modelarts_poller._policy import ETA_MARGIN, next_poll_delay, retry_delay

seconds = st.floats(min_value=0.001, max_value=1000, allow_nan=False)
draws = st.floats(min_value=0.0, max_value=1.0, exclude_max=True)
strategies = st.sampled_from(["exponential", "fibonacci", "constant"])
jitters = st.sampled_from(["full", "equal", "none"])


@given(
    initial=seconds,
    extra=seconds,
    strategy=strategies,
    jitter=jitters,
    attempt=st.integers(0, 10_000),
    draw=draws,
)
def test_delay_is_within_bounds(
    initial: float, extra: float, strategy: str, jitter: str, attempt: int, draw: float
) -> None:
    b = Backoff(
        initial=initial,
        maximum=initial + extra,
        strategy=strategy,  # type: ignore[arg-type]
        jitter=jitter,
    )  # type: ignore[arg-type]
    base = b.base_delay(attempt)
    d = b.delay(attempt, draw)
    assert 0 <= d <= base <= b.maximum
    if jitter == "none":
        assert d == base
    if jitter == "equal":
        assert d >= base / 2


@given(initial=seconds, extra=seconds, strategy=strategies, attempt=st.integers(0, 200))
def test_base_delays_never_decrease(
    initial: float, extra: float, strategy: str, attempt: int
) -> None:
    b = Backoff(initial=initial, maximum=initial + extra, strategy=strategy)  # type: ignore[arg-type]
    assert b.base_delay(attempt) <= b.base_delay(attempt + 1)


@given(initial=st.floats(0.01, 10), factor=st.floats(1.1, 4), n=st.integers(0, 20))
def test_exponential_matches_the_backoff_package_until_the_cap(
    initial: float, factor: float, n: int
) -> None:
    b = Backoff(initial=initial, maximum=1e6, factor=factor, jitter="none")
    gen = backoff_lib.expo(base=factor, factor=initial)
    next(gen)  # backoff's generators are primed with a None
    expected = [next(gen) for _ in range(n + 1)][n]
    assert b.base_delay(n) == pytest.approx(min(expected, 1e6))


def test_fibonacci_and_constant_sequences() -> None:
    fib = Backoff(initial=2, maximum=100, strategy="fibonacci", jitter="none")
    assert [fib.base_delay(i) for i in range(7)] == [2, 2, 4, 6, 10, 16, 26]
    const = Backoff(initial=3, maximum=100, strategy="constant", jitter="none")
    assert {const.base_delay(i) for i in range(50)} == {3}


def test_custom_strategies_generator_factory_and_attempt_function() -> None:
    gen = Backoff(initial=1, maximum=50, jitter="none", strategy=lambda: backoff_lib.expo(base=3))
    assert [gen.base_delay(i) for i in range(5)] == [1, 3, 9, 27, 50]
    fn = Backoff(initial=1, maximum=10, jitter="none", strategy=lambda n: n * 4.0)
    assert [fn.base_delay(i) for i in range(5)] == [0, 4, 8, 10, 10]


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"initial": -1}, "initial"),
        ({"initial": math.nan}, "initial"),
        ({"maximum": 0.5, "initial": 1}, "maximum"),
        ({"jitter": "some"}, "jitter"),
        ({"strategy": "linear"}, "strategy"),
        ({"strategy": lambda n: "soon"}, "not a number"),
        ({"strategy": lambda n: 1 / 0}, "strategy raised ZeroDivisionError"),
        ({"strategy": lambda: iter([1, None, object()])}, "not a number"),
        ({"factor": True}, "factor"),
    ],
)
def test_bad_backoff_options_name_the_option(kwargs: dict[str, object], message: str) -> None:
    with pytest.raises(InvalidArgumentError, match=message):
        Backoff(**kwargs)  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"deadline": 0}, "deadline"),
        ({"max_polls": -1}, "max_polls"),
        ({"max_polls": 0}, "max_polls"),  # the first poll is always made
        ({"progress_aware": "no"}, "progress_aware"),  # a truthy string is not True
        ({"progress_aware": 1}, "progress_aware"),
        ({"max_retries": 1.5}, "max_retries"),
        ({"interval": 5}, "interval"),
        ({"first_delay": -1}, "first_delay"),
    ],
)
def test_bad_policy_options_name_the_option(kwargs: dict[str, object], message: str) -> None:
    with pytest.raises(InvalidArgumentError, match=message):
        PollPolicy(**kwargs)  # type: ignore[arg-type]


@given(
    c0=st.floats(0, 0.9),
    gain=st.floats(0.001, 0.1),
    t0=st.floats(0, 100),
    dt=st.floats(0.1, 100),
    draw=draws,
)
def test_progress_estimate_stays_within_the_interval_bounds(
    c0: float, gain: float, t0: float, dt: float, draw: float
) -> None:
    policy = PollPolicy(interval=Backoff(initial=2, maximum=60))
    d = next_poll_delay(policy, 3, draw, first_seen=(t0, c0), latest=(t0 + dt, c0 + gain))
    assert 2 <= d <= 60
    eta = (1 - c0 - gain) * dt / gain
    # Aimed a little past the estimate, so an exact estimate does not land just before it.
    assert d == pytest.approx(min(max(eta * ETA_MARGIN, 2), 60))


def test_no_progress_falls_back_to_backoff() -> None:
    policy = PollPolicy(interval=Backoff(initial=1, maximum=60, jitter="none"))
    assert next_poll_delay(policy, 3, 0.5, first_seen=(0, 0.5), latest=(10, 0.5)) == 8
    assert next_poll_delay(policy, 3, 0.5, first_seen=None, latest=None) == 8


@given(errors=st.integers(1, 50), draw=draws, after=st.none() | st.floats(0, 1000))
def test_retry_after_is_a_floor(errors: int, draw: float, after: float | None) -> None:
    policy = PollPolicy()
    d = retry_delay(policy, errors, draw, after)
    assert d >= policy.retry.delay(errors - 1, draw)
    if after is not None:
        assert d >= after


def test_delay_at_is_the_step_reached_that_many_seconds_into_a_watch() -> None:
    backoff = Backoff(initial=1, maximum=30)
    assert backoff.delay_at(10.0) == 8.0  # 1 + 2 + 4 s have passed, the next 8 s ends at 15
    assert [backoff.delay_at(t) for t in (0.0, 0.99, 1.0, 2.99, 3.0)] == [1.0, 1.0, 2.0, 2.0, 4.0]
    assert backoff.delay_at(1e9) == 30.0  # past the steps: the last one repeats
    assert Backoff(initial=2, maximum=60, strategy="constant").delay_at(1e6) == 2.0

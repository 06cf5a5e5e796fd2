"""A grant no request spent goes back to the limiter, and the window still holds.

``LocalRateLimiter.give_back`` undoes the newest grant only: a grant with a later one
after it was counted with it in its window, so taking it back could let a later window
hold one request too many.
"""

from __future__ import annotations

import asyncio
import math

from hypothesis import given
from hypothesis import strategies as st

from modelarts_poller import LocalRateLimiter
from modelarts_poller._ratelimit import ReturnsGrants
from modelarts_poller.testing import FakeClock


async def grant(limiter: LocalRateLimiter, clock: FakeClock) -> int:
    """The next grant, moving virtual time on while the limiter waits."""
    return await clock.run(limiter.acquire_grant(), limit=1e6)


def test_the_engines_limiter_takes_grants_back() -> None:
    assert isinstance(LocalRateLimiter(5), ReturnsGrants)


async def test_a_grant_given_back_is_granted_again_at_once() -> None:
    clock = FakeClock()
    limiter = LocalRateLimiter(2, clock=clock, adapt=False)
    first = await grant(limiter, clock)
    await grant(limiter, clock)  # the two of this second: a third waits for the next
    third = await grant(limiter, clock)
    at = clock.now()
    assert at > 1.0
    fourth = await grant(limiter, clock)
    assert clock.now() > at  # a fourth waits its turn...
    assert limiter.give_back(fourth)
    at = clock.now()
    await grant(limiter, clock)
    assert clock.now() == at  # ...and, given back, is free again at once
    assert not limiter.give_back(third)  # a later grant was made after it
    assert not limiter.give_back(first)


async def test_only_the_newest_grant_is_taken_back_and_only_once() -> None:
    clock = FakeClock()
    limiter = LocalRateLimiter(10, clock=clock, adapt=False)
    a = await grant(limiter, clock)
    b = await grant(limiter, clock)
    assert not limiter.give_back(a)
    assert limiter.give_back(b)
    assert not limiter.give_back(b)
    assert not limiter.give_back(a)  # it may have been spent: never taken back
    assert not limiter.give_back(0)


async def test_a_grant_made_under_another_rate_is_not_taken_back() -> None:
    clock = FakeClock()
    limiter = LocalRateLimiter(10, clock=clock)
    g = await grant(limiter, clock)
    limiter.observe({"X-ratelimit": "5", "X-ratelimit-window": "second"}, 200, None)
    assert limiter.max_rate == 5
    assert not limiter.give_back(g)


@given(
    rate=st.integers(1, 200) | st.floats(0.2, 30).filter(lambda r: r != round(r)),
    # Bursts (no gap) after idle stretches: where the log, not the bucket, bounds a window.
    steps=st.lists(
        st.tuples(st.sampled_from([0.0, 0.0, 0.0, 0.01, 0.3, 1.5]), st.booleans()),
        min_size=1,
        max_size=400,
    ),
)
def test_spent_grants_keep_every_window_whatever_is_given_back(
    rate: float, steps: list[tuple[float, bool]]
) -> None:
    async def run() -> list[float]:
        clock = FakeClock()
        limiter = LocalRateLimiter(rate, clock=clock, adapt=False)
        spent: list[float] = []
        for gap, back in steps:
            await clock.advance(gap)
            number = await grant(limiter, clock)
            if not (back and limiter.give_back(number)):
                spent.append(clock.now())
        return spent

    spent = asyncio.run(run())
    unit = 1.0 if rate >= 1 else 1.0 / rate
    for multiple in (1, 2, 7):
        length = unit * multiple
        j = 0
        for i, t in enumerate(spent):
            while spent[j] <= t - length:
                j += 1
            assert i - j + 1 <= max(multiple, math.floor(rate * length))


def busiest(times: list[float], length: float = 1.0) -> int:
    return max(sum(1 for u in times if t - length < u <= t) for t in times)


async def test_a_steady_stream_with_grants_given_back_keeps_the_rate() -> None:
    # Every grant waits for the window; every third is given back and granted again.
    clock = FakeClock()
    limiter = LocalRateLimiter(20, clock=clock, adapt=False)
    spent = []
    for i in range(200):
        number = await grant(limiter, clock)
        if i % 3 == 2 and limiter.give_back(number):
            continue
        spent.append(clock.now())
    assert len(spent) == 200 - 200 // 3
    assert busiest(spent) == 20

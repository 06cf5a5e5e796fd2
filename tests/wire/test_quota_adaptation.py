"""An engine meets no 429 when the server advertises its quota, a 429 slows everyone
sharing the limiter, and the pure quota reading."""

from __future__ import annotations

import math

import anyio
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from modelarts_poller import (
    Backoff,
    Engine,
    ExportTask,
    LocalRateLimiter,
    ModelArtsClient,
    NoAuth,
    PollPolicy,
)
from modelarts_poller._ratelimit import MAX_RATE, parse_quota
from modelarts_poller.simulator import Simulator, SimulatorConfig, spec_of
from modelarts_poller.testing import FakeClock
from tests.budget import examples

BACK_TO_BACK = PollPolicy(
    interval=Backoff(initial=0, maximum=0, jitter="none"),
    progress_aware=False,
    first_delay=0.0,
)


@pytest.mark.parametrize(
    ("headers", "expected"),
    [
        ({"X-ratelimit": "20", "X-ratelimit-used": "5", "X-ratelimit-window": "second"}, (20.0, 5)),
        (
            {"X-ratelimit": "600", "X-ratelimit-used": "0", "X-ratelimit-window": "minute"},
            (10.0, 0),
        ),
        ({"X-ratelimit": "3600", "X-ratelimit-used": "x"}, (1.0, None)),  # hour by default
        ({"X-ratelimit": "abc"}, None),
        ({"X-ratelimit": "5", "X-ratelimit-window": "fortnight"}, None),
        ({}, None),
    ],
)
def test_reading_the_advertised_quota(headers: dict[str, str], expected: object) -> None:
    assert parse_quota(headers) == expected


@pytest.mark.slow  # a rate measured over seconds of real time: the slow tier
async def test_an_engine_meets_no_429_when_the_server_advertises_its_quota() -> None:
    async with Simulator(SimulatorConfig(quota=10, quota_window="second")) as sim:
        scripts = [sim.add("export", queue=0.0, run=60.0) for _ in range(30)]
        async with (
            ModelArtsClient(endpoint=sim.url, project_id=sim.project_id, auth=NoAuth()) as client,
            Engine(client=client, policy=BACK_TO_BACK, max_in_flight=30) as engine,
        ):
            engine.watch_many(ExportTask(s.dataset_id or "", s.task_id or "") for s in scripts)
            await sim_sleep(2.5)
        counters = sim.counters
    assert counters.requests >= 15  # it kept polling, at the advertised pace
    assert counters.by_status.get(429, 0) == 0
    assert max(counters.per_second_all.values()) <= 10


@pytest.mark.slow  # a rate measured over seconds of real time: the slow tier
async def test_without_adaptation_the_same_engine_is_throttled() -> None:
    async with Simulator(SimulatorConfig(quota=10, quota_window="second")) as sim:
        scripts = [sim.add("export", queue=0.0, run=60.0) for _ in range(30)]
        async with (
            ModelArtsClient(endpoint=sim.url, project_id=sim.project_id, auth=NoAuth()) as client,
            Engine(client=client, policy=BACK_TO_BACK, max_in_flight=30, adapt_to_quota=False) as e,
        ):
            e.watch_many(ExportTask(s.dataset_id or "", s.task_id or "") for s in scripts)
            await sim_sleep(1.0)
        assert sim.counters.by_status.get(429, 0) > 0  # the test above would catch a regression


async def test_a_429_pauses_everyone_sharing_the_limiter(clock: FakeClock) -> None:
    limiter = LocalRateLimiter(100, clock=clock)
    await limiter.acquire()
    limiter.observe({}, 429, 5.0)
    granted: list[float] = []

    async def one() -> None:
        await limiter.acquire()
        granted.append(clock.now())

    async with anyio.create_task_group() as tg:
        for _ in range(3):
            tg.start_soon(one)
        await clock.advance(10)
    assert len(granted) == 3
    assert min(granted) >= 5.0


async def sim_sleep(seconds: float) -> None:
    await anyio.sleep(seconds)


async def test_specs_with_their_own_io_are_not_held_by_the_quota_probe(clock: FakeClock) -> None:
    import attrs

    from modelarts_poller import NoAuth, Observation, Phase

    starts: list[float] = []

    @attrs.frozen
    class OwnIO:
        n: int

        @property
        def kind(self) -> str:
            return "own_io"

        async def fetch(self, api: object) -> str:
            starts.append(clock.now())
            return "DONE"

        def interpret(self, snapshot: str) -> Observation:
            return Observation(Phase.SUCCEEDED, 1.0, snapshot)

    client = ModelArtsClient(endpoint="http://127.0.0.1:9", project_id="p", auth=NoAuth())
    async with Engine(client=client, clock=clock) as engine:
        result = await clock.run(engine.wait(engine.watch_many(OwnIO(i) for i in range(5))))
    assert result.ok
    assert max(starts) < 0.5  # no one-second wait for an answer the client never gets


async def test_a_free_grant_does_not_wait_for_the_queue_to_hand_over(clock: FakeClock) -> None:
    # Under load a woken waiter holds the limiter's lock until the loop runs it; a newcomer
    # that found the lock held queued behind it, so every grant became a hand-off (issue
    # 13: at 1000 in flight every request took that path). A grant free now is taken now.
    limiter = LocalRateLimiter(None, clock=clock)
    await limiter.acquire()  # the probe
    limiter.observe({}, 200, None)  # its answer: no quota advertised
    await limiter.acquire()  # creates the lock
    assert limiter._lock is not None
    await limiter._lock.acquire()  # a queued waiter, woken but not yet run, holds it
    try:
        coro = limiter.acquire()
        with pytest.raises(StopIteration):
            coro.send(None)  # finished without suspending once
    finally:
        limiter._lock.release()


async def test_while_grants_are_scarce_newcomers_queue_in_arrival_order(clock: FakeClock) -> None:
    limiter = LocalRateLimiter(2, clock=clock)  # a token every 0.5 s, one in the bucket
    await limiter.acquire()
    order: list[int] = []

    async def one(i: int) -> None:
        await limiter.acquire()
        order.append(i)

    async with anyio.create_task_group() as tg:
        for i in range(6):
            tg.start_soon(one, i)
            await clock.advance(0.01)  # arrivals in this order, while the first sleeps
        await clock.advance(10)
    assert order == list(range(6))


async def test_try_acquire_grants_only_what_is_free_and_takes_nothing_otherwise(
    clock: FakeClock,
) -> None:
    limiter = LocalRateLimiter(2, clock=clock, adapt=False)
    assert limiter.try_acquire()  # the bucket's one token
    assert not limiter.try_acquire()  # the next is 0.5 s away: refused, not taken
    await clock.advance(0.5)
    assert limiter.try_acquire()  # the refusal did not use up the token that came
    assert not limiter.try_acquire()
    probing = LocalRateLimiter(None, clock=clock)
    assert not probing.try_acquire()  # the quota probe waits for an answer: no shortcut


async def test_the_gate_takes_a_free_grant_without_awaiting_the_limiter(clock: FakeClock) -> None:
    from modelarts_poller._ratelimit import Gate

    class Owner:
        contended = True

        def granted(self, binding: bool, waited: float) -> None:
            self.contended = binding

    class Counting(LocalRateLimiter):
        __slots__ = ("awaited",)

        async def acquire(self) -> None:
            self.awaited += 1
            await super().acquire()

    limiter = Counting(2, clock=clock, adapt=False)
    limiter.awaited = 0
    owner = Owner()
    gate = Gate(limiter, now=clock.now, granted=owner.granted)
    assert gate.take_now()
    assert limiter.awaited == 0
    assert owner.contended is False  # granted at once: the rate does not bind
    assert not gate.take_now()  # none free: the caller awaits pass_(), which waits
    waiting = clock.run(gate.pass_())
    await waiting
    assert limiter.awaited == 1
    gate.prepaid = True
    assert gate.take_now()  # a grant the engine already took is used first
    assert gate.prepaid is False


HOSTILE_COUNTS = st.one_of(
    st.sampled_from(
        ["1" + "0" * 40, "9" * 400, "-5", "-0", "0", "nan", "NaN", "inf", "-inf", "1.5", "1e40",
         "100.0", "1_000", "\u0661\u0662", " 12 ", "", " ", "0x10", "+7"]
    ),
    st.integers(min_value=-(10**60), max_value=10**60).map(str),
    st.floats(allow_nan=True, allow_infinity=True).map(str),
    st.text(max_size=50),
)  # fmt: skip
HEADERS = st.fixed_dictionaries(
    {},
    optional={
        "X-ratelimit": HOSTILE_COUNTS,
        "X-ratelimit-used": HOSTILE_COUNTS,
        "X-ratelimit-window": st.one_of(
            st.sampled_from(["second", "minute", "hour", "day", " Minute ", "fortnight"]),
            st.text(max_size=20),
        ),
    },
)


@given(headers=HEADERS, configured=st.sampled_from([None, 0.5, 5.0, 1e300]))
@settings(max_examples=examples(300), deadline=None)
def test_any_quota_header_is_read_within_bounds_or_ignored(
    headers: dict[str, str], configured: float | None
) -> None:
    """Issue 23: ``X-ratelimit: 1`` and 40 zeros made an OverflowError in the rate window
    and failed every task with ERROR. Whatever the headers say, reading them and keeping
    to them raises nothing, and the rate stays a finite number within MAX_RATE."""
    got = parse_quota(headers)
    if got is not None:
        rate, remaining = got
        assert 0 < rate <= MAX_RATE
        assert math.isfinite(rate)
        assert remaining is None or remaining >= 0
    clock = FakeClock()
    limiter = LocalRateLimiter(configured, clock=clock)
    limiter.observe(headers, 200, None)
    limiter.try_acquire()
    assert limiter.max_rate is None or 0 < limiter.max_rate <= 1e300
    window = limiter._window
    assert window is None or window.count <= MAX_RATE


async def test_a_huge_advertised_quota_over_http_limits_nothing_and_fails_nothing() -> None:
    # The simulator advertises X-ratelimit: 10**40 an hour on every answer; no max_rate.
    async with Simulator(SimulatorConfig(quota=10**40, quota_window="hour")) as sim:
        specs = [spec_of(sim.add("export", queue=0.0, run=0.2)) for _ in range(6)]
        async with (
            ModelArtsClient(endpoint=sim.url, project_id=sim.project_id, auth=NoAuth()) as client,
            Engine(client=client, policy=BACK_TO_BACK, max_in_flight=6) as engine,
        ):
            result = await engine.wait(engine.watch_many(specs), timeout=20)
    assert not result.failed
    assert not result.pending
    assert len(result.completed) == 6

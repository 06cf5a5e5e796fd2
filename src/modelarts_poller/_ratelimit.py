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
import re
from collections import deque
from collections.abc import Callable
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
_NEVER = -math.inf
# The most grants a window keeps count of, per second: far above what one process can
# send, so a larger rate (a server advertising 10**40 an hour, max_rate=1e300) limits
# nothing that this one would not, and the log's length stays a machine integer.
MAX_RATE = 1_000_000.0


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
        max_rate = min(check_rate(max_rate), MAX_RATE)
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

    def give_back(self) -> None:
        """Undo the latest grant, which no request spent: its log entry goes, and its
        token comes back."""
        self._log.pop()
        self._tokens = min(float(self.burst), self._tokens + 1.0)


@runtime_checkable
class RateLimiter(Protocol):
    """What paces requests: ``acquire()`` returns when one request may be sent now.

    The engine's default is :class:`LocalRateLimiter`; implement this to share one quota
    between processes. ``acquire`` must be cancellable.
    """

    async def acquire(self) -> None: ...


@runtime_checkable
class ReturnsGrants(Protocol):
    """A limiter that takes back a grant no request spent (:class:`LocalRateLimiter`).

    ``acquire_grant`` is ``acquire`` that also names the grant; ``give_back(grant)`` undoes
    it if no grant was made since (a later one would have been counted against the
    window that this one filled) and says whether it did."""

    async def acquire_grant(self) -> int: ...

    def give_back(self, grant: int) -> bool: ...


_WINDOWS = {"second": 1.0, "minute": 60.0, "hour": 3600.0, "day": 86400.0}
# A count in a header: ASCII digits only (no sign, point, exponent, "_" or other scripts'
# digits, which int() would take), and few enough that reading one costs nothing.
_COUNT = re.compile(r"[0-9]{1,30}")
_SPACE = " \t"


def _count(value: object) -> int | None:
    if not isinstance(value, str):
        return None
    value = value.strip(_SPACE)
    return int(value) if _COUNT.fullmatch(value) else None


def parse_quota(headers: Any) -> tuple[float, int | None] | None:
    """``(requests per second, remaining)`` from a ModelArts answer's ``X-ratelimit``
    (the quota), ``X-ratelimit-used`` (documented as what is left) and
    ``X-ratelimit-window`` (minute, hour or day; hour when absent), or ``None``.

    Every header is read within bounds, never trusted: a quota that is not a whole
    number of requests > 0 in ASCII digits (negative, a fraction, ``NaN``, ``inf``, 31 or
    more digits) is ignored, and one above :data:`MAX_RATE` per second reads as that
    (no limit this process could reach). A ``remaining`` that is not such a count is
    ``None``."""
    quota = _count(headers.get("X-ratelimit"))
    if quota is None or quota <= 0:
        return None
    unit = headers.get("X-ratelimit-window", "hour")
    window = _WINDOWS.get(unit.strip(_SPACE).lower()) if isinstance(unit, str) else None
    if window is None:
        return None
    return min(quota / window, MAX_RATE), _count(headers.get("X-ratelimit-used"))


class LocalRateLimiter:
    """An in-process :class:`RateLimiter`: at most ``max_rate`` requests in any one-second
    window (see the module notes for fractional rates), granted in arrival order.

    It also listens to the server (through ``ModelArtsClient``): a quota the answers
    advertise lowers the rate to it (never above ``max_rate``), a quota used up pauses
    everyone for one request's spacing, and a 429's ``Retry-After`` pauses everyone, not
    only the request that got it. ``max_rate=None`` means: no limit of our own, only what
    the server advertises; until the first answer says, one request at a time.
    """

    __slots__ = (
        "_adapt",
        "_clock",
        "_configured",
        "_lock",
        "_paused_until",
        "_probe_until",
        "_probing",
        "_serial",
        "_sleepers",
        "_top",
        "_window",
        "max_rate",
    )

    def __init__(
        self, max_rate: float | None = None, *, clock: Clock | None = None, adapt: bool = True
    ) -> None:
        from ._clock import SystemClock

        self._configured = None if max_rate is None else check_rate(max_rate)
        self.max_rate = self._configured
        self._clock: Clock = SystemClock() if clock is None else clock
        self._window: RateWindow | None = (
            None if self.max_rate is None else RateWindow(self.max_rate, now=self._clock.now())
        )
        self._lock: anyio.Lock | None = None
        self._paused_until = _NEVER
        self._probe_until = _NEVER
        self._adapt = adapt
        # Unlimited and no quota heard of yet: one request must come back before the next.
        self._probing = self._window is None and adapt
        # Waiters asleep for time (a pause, the probe, a full window). Only they make a
        # newcomer queue: the lock alone would turn a burst into a convoy of hand-offs.
        self._sleepers = 0
        # Grants of the window are numbered; ``_top`` is the newest one that may still be
        # given back (0: none), the one whose entry ends the window's log.
        self._serial = 0
        self._top = 0

    def try_acquire(self) -> bool:
        """Take a grant if one is free now, without waiting; ``False`` (nothing taken)
        when ``acquire()`` would have to wait or queue."""
        clock = self._clock
        # Fast path: nobody asleep waiting, nothing paused, and a grant is free. Not "the
        # lock is free": each hand-off of the lock costs a loop iteration, so under load
        # newcomers kept finding it held and every grant went through the queue (at 1000
        # in flight, all of them). Waiters woken but not yet running take grants that are
        # free now, as a newcomer does; while grants are scarce someone sleeps, and then
        # newcomers queue behind the sleepers in arrival order.
        hold = self._paused_until
        if self._probe_until > hold:
            hold = self._probe_until
        if (
            not self._sleepers
            and not self._probing
            and (hold == _NEVER or clock.now() >= hold)  # no clock read when nothing holds
        ):
            window = self._window
            if window is None:
                return True
            if window.take(clock.now()) == 0.0:
                self._serial += 1
                self._top = self._serial
                return True
        return False

    async def acquire(self) -> None:
        await self.acquire_grant()

    async def acquire_grant(self) -> int:
        """``acquire()``, returning the grant's number for :meth:`give_back` (0 for one
        that no window counts: nothing to give back)."""
        if self.try_acquire():
            return self._top if self._window is not None else 0
        lock = self._lock
        if lock is None:
            lock = self._lock = anyio.Lock()
        clock = self._clock
        async with lock:
            while True:
                now = clock.now()
                until = max(self._paused_until, self._probe_until)
                if now < until:
                    if until == self._probe_until:
                        # The probe's answer ends this wait early: look again soon.
                        until = min(until, now + 0.02)
                    await self._sleep_until(until)
                    continue
                if self._probing:
                    # The first answer (or a second without one) tells us the quota.
                    self._probing = False
                    self._probe_until = now + 1.0
                    return 0
                window = self._window
                if window is None:
                    return 0
                wait = window.take(now)
                if wait == 0.0:
                    self._serial += 1
                    self._top = self._serial
                    return self._serial
                await self._sleep_until(now + wait)

    def give_back(self, grant: int) -> bool:
        """Take back grant number ``grant`` (from :meth:`acquire_grant`), which no request
        spent, if no grant was made since: as if it had not been made. A grant with later
        ones after it is not taken back (they were counted with it in its window), nor one
        made under an earlier rate. Returns whether it was."""
        window = self._window
        if grant == 0 or grant != self._top or window is None:
            return False
        window.give_back()
        # The grant before it may have been spent: none is given back until the next.
        self._top = 0
        return True

    async def _sleep_until(self, when: float) -> None:
        self._sleepers += 1
        try:
            await self._clock.sleep_until(when)
        finally:
            self._sleepers -= 1

    def observe(self, headers: Any, status: int, retry_after: float | None) -> None:
        """What an answer says about the quota (called by ``ModelArtsClient``)."""
        if not self._adapt:
            return
        self._probe_until = _NEVER  # an answer came back: the probe is over
        quota = parse_quota(headers)
        if quota is not None:
            now = self._clock.now()
            rate, remaining = quota
            self._set_rate(rate, now)
            if remaining is not None and remaining <= 0:
                self._pause(now + 1.0 / rate)
        if status == 429:
            self._pause(self._clock.now() + (retry_after if retry_after is not None else 1.0))

    def _pause(self, until: float) -> None:
        if until > self._paused_until:
            self._paused_until = until

    def _set_rate(self, advertised: float, now: float) -> None:
        configured = self._configured
        rate = advertised if configured is None else min(configured, advertised)
        if self.max_rate is not None and abs(rate - self.max_rate) <= 1e-9 * rate:
            return
        old = self._window
        self.max_rate = rate
        window = self._window = RateWindow(rate, now=now)
        self._top = 0  # a grant made under the old rate is not given back
        if old is not None:  # the grants already made still count in their windows
            window._log.extend(old._log)

    def __repr__(self) -> str:
        rate = "server's" if self.max_rate is None else f"{self.max_rate:g}"
        return f"LocalRateLimiter(max_rate={rate})"


def engine_limiter(
    max_rate: float | None,
    rate_limiter: RateLimiter | None,
    *,
    adapt: bool,
    server_quota: bool,
    clock: Clock,
) -> RateLimiter | None:
    """The limiter an engine's options ask for: the user's, one for ``max_rate``, one that
    keeps only to the quota a ModelArts server advertises (``server_quota``), or none."""
    if max_rate is not None and rate_limiter is not None:
        raise InvalidArgumentError("pass max_rate or rate_limiter, not both")
    if rate_limiter is not None:
        if not isinstance(rate_limiter, RateLimiter):
            raise InvalidArgumentError(
                f"rate_limiter must have an async acquire() method, got {rate_limiter!r}"
            )
        return rate_limiter
    if max_rate is not None:
        return LocalRateLimiter(max_rate, clock=clock, adapt=adapt)
    if adapt and server_quota:
        return LocalRateLimiter(None, clock=clock)
    return None


class Gate:
    """How the engine hands its limiter to the request path of the poll it runs.

    The engine sets one in ``CURRENT_GATE`` for each of its pollers; ``ModelArtsClient``
    takes a grant from it for each request it writes. ``now`` (the engine's clock) times a
    wait for a grant, and ``granted(binding, waited)`` tells the engine of each grant:
    ``binding`` when the wait was long enough (``CONTENDED``) under a rate of the limiter's
    own to mean the rate binds. Without them a grant is taken untimed.

    ``prepaid`` is set when the engine already took a grant for this poll (specs whose
    requests may not go through ``ModelArtsClient``): the first request uses it. The
    engine sets it with :meth:`prepay` (with the grant's number, for a limiter that takes
    back grants: :class:`ReturnsGrants`), moves it with :meth:`hand_over`, and gives it
    up with :meth:`unspend` (back to the limiter) or :meth:`forget`.
    """

    __slots__ = ("_give_back", "_grant", "_try_acquire", "granted", "limiter", "now",
                 "observe", "prepaid")  # fmt: skip

    def __init__(
        self,
        limiter: RateLimiter,
        *,
        now: Callable[[], float] | None = None,
        granted: Callable[[bool, float], None] | None = None,
    ) -> None:
        self.limiter = limiter
        # What answers say about the quota goes here, if the limiter listens (looked up
        # once, not per answer).
        self.observe: Any = getattr(limiter, "observe", None)
        self.now = now
        self.granted = granted
        self.prepaid = False
        self._grant = 0
        self._give_back: Any = getattr(limiter, "give_back", None)
        # A limiter that can grant without a coroutine (LocalRateLimiter) is asked that
        # first: most grants are free, and an await per request costs more than the check.
        self._try_acquire: Any = getattr(limiter, "try_acquire", None)

    @property
    def limiter_has_rate(self) -> bool:
        """False for a limiter that keeps no rate of its own yet (only pauses)."""
        return getattr(self.limiter, "max_rate", 1.0) is not None

    def prepay(self, grant: int = 0) -> None:
        """Hold a grant the engine took for this poll: numbered ``grant`` (0: not one the
        limiter can take back)."""
        self.prepaid = True
        self._grant = grant

    def hand_over(self) -> int | None:
        """The prepaid grant's number, for another gate to :meth:`prepay` with (this one
        no longer holds it); ``None`` if none is held."""
        if not self.prepaid:
            return None
        grant = self._grant
        self.forget()
        return grant

    def forget(self) -> None:
        """Drop the prepaid grant, spent or not: a request this gate did not see may have
        spent it, so it is not given back."""
        self.prepaid = False
        self._grant = 0

    def unspend(self) -> None:
        """The prepaid grant is given up, no request having spent it: back to the limiter
        if it was the last one made (then it is as if it had not been), else lost."""
        if self.prepaid:
            give_back = self._give_back
            if give_back is not None and self._grant:
                give_back(self._grant)
        self.forget()

    def take_now(self) -> bool:
        """This request's grant, if it needs no wait; ``False``: await :meth:`pass_`."""
        if self.prepaid:
            self.forget()
            return True
        try_acquire = self._try_acquire
        if try_acquire is None or not try_acquire():
            return False
        granted = self.granted
        if granted is not None:
            granted(False, 0.0)  # no wait: the rate does not bind
        return True

    async def pass_(self) -> None:
        """This request's grant, timed: a wait long enough marks the rate as binding."""
        if self.prepaid:
            self.forget()
            return
        now, granted = self.now, self.granted
        if now is None or granted is None:
            await self.limiter.acquire()
            return
        started = now()  # the engine's clock, so that a test clock's waits count
        await self.limiter.acquire()
        waited = now() - started
        # Grants are scarce (a rate binds, not merely a busy loop): the engine then waits
        # for one before choosing what to poll.
        granted(waited > CONTENDED and self.limiter_has_rate, waited)


CONTENDED = 0.002  # seconds waited for a grant that mean the rate binds

CURRENT_GATE: contextvars.ContextVar[Gate | None] = contextvars.ContextVar(
    "modelarts_poller_gate", default=None
)

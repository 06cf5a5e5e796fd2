"""A toy RateLimiter for tests: one instance for every engine that names ``shared``, as a
limiter backed by a store shared between processes would be."""

from __future__ import annotations

import contextvars

from modelarts_poller._ratelimit import LocalRateLimiter


class CountingLimiter:
    """A LocalRateLimiter at ``rate`` that counts the grants it gives."""

    def __init__(self, rate: float) -> None:
        self.inner = LocalRateLimiter(rate, adapt=False)
        self.grants = 0
        self.made = 0

    async def acquire(self) -> None:
        await self.inner.acquire()
        self.grants += 1


LIMITER = CountingLimiter(40)


def shared() -> CountingLimiter:
    LIMITER.made += 1
    return LIMITER


class ClosingLimiter(CountingLimiter):
    """A CountingLimiter that owns something to close (a store connection)."""

    def __init__(self, rate: float) -> None:
        super().__init__(rate)
        self.closed = 0

    async def aclose(self) -> None:
        self.closed += 1


CLOSING: list[ClosingLimiter] = []


def closing() -> ClosingLimiter:
    limiter = ClosingLimiter(40)
    CLOSING.append(limiter)
    return limiter


def not_a_limiter() -> object:
    return object()


class SyncAcquire:
    def acquire(self) -> None:
        return None


def sync_acquire() -> SyncAcquire:
    return SyncAcquire()


NOT_CALLABLE = 3


# A context variable the watchers of a test bind in their own tasks, as a triggerer binds
# each trigger's log routing (Airflow's trigger_id) in the trigger's task.
WATCHER: contextvars.ContextVar[object] = contextvars.ContextVar("watcher", default=None)


class ContextRecorder:
    """Grants at once and records the ``WATCHER`` each request of the engine runs in."""

    def __init__(self) -> None:
        self.seen: list[object] = []

    async def acquire(self) -> None:
        self.seen.append(WATCHER.get())


RECORDER = ContextRecorder()


def recorder() -> ContextRecorder:
    return RECORDER


def raises() -> object:
    raise RuntimeError("no token bucket today")

"""Where the engine gets the time from, so tests can drive it."""

from __future__ import annotations

import time
from typing import Protocol, runtime_checkable

import anyio


@runtime_checkable
class Clock(Protocol):
    """A monotonic clock in seconds that the engine can also sleep on."""

    def now(self) -> float:
        """The current time in seconds; only differences matter."""
        ...

    async def sleep_until(self, deadline: float) -> None:
        """Return once ``now() >= deadline``; must be cancellable."""
        ...


class SystemClock:
    """The real monotonic clock."""

    __slots__ = ()

    def now(self) -> float:
        return time.monotonic()

    async def sleep_until(self, deadline: float) -> None:
        await anyio.sleep(max(0.0, deadline - time.monotonic()))

    def __repr__(self) -> str:
        return "SystemClock()"

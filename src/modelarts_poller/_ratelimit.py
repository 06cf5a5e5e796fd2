"""A token bucket that keeps request starts within a rate over any one-second window.

Pure: the caller passes the time in. A bucket of capacity ``b`` refilled at ``r``
tokens/s grants at most ``b`` at once and then one every ``1/r`` s, so a half-open
one-second window holds at most ``b - 1 + r`` grants; refilling at
``max_rate - b + 1`` (a hair less, for float drift) keeps every window at or under
``max_rate``.
"""

from __future__ import annotations

import math

from ._errors import InvalidArgumentError


class TokenBucket:
    """Grants request starts at no more than ``max_rate`` in any one-second window."""

    __slots__ = ("_stamp", "_tokens", "burst", "refill")

    def __init__(self, max_rate: float, *, now: float, burst: int | None = None) -> None:
        if isinstance(max_rate, bool) or not isinstance(max_rate, int | float):
            raise InvalidArgumentError(f"max_rate must be a number, got {max_rate!r}")
        if not math.isfinite(max_rate) or max_rate < 1:
            raise InvalidArgumentError(f"max_rate must be a finite number >= 1, got {max_rate!r}")
        if burst is None:
            # A small burst lets one wake-up of the dispatcher start several polls.
            burst = max(1, int(max_rate * 0.05))
        if burst < 1 or burst > max_rate:
            raise InvalidArgumentError(f"burst must be >= 1 and <= max_rate, got {burst!r}")
        self.burst = burst
        self.refill = (max_rate - burst + 1) * (1.0 - 1e-6)
        self._tokens = float(burst)
        self._stamp = now

    def take(self, now: float) -> float:
        """Take one token and return 0.0, or return how long to wait before one is free."""
        tokens = self._tokens
        if now > self._stamp:
            tokens = min(self.burst, tokens + (now - self._stamp) * self.refill)
            self._stamp = now
        # The tolerance absorbs float drift: 0.9999999999999998 tokens is a whole one,
        # and a wait shorter than the clock's resolution would spin.
        if tokens >= 1.0 - 1e-9:
            self._tokens = max(0.0, tokens - 1.0)
            return 0.0
        self._tokens = tokens
        return (1.0 - tokens) / self.refill

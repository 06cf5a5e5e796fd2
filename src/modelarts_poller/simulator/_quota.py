"""The server-side request quota the simulator advertises and enforces.

A fixed-window counter per project, the way the API gateway publishes its flow control:
``X-ratelimit`` is the quota, ``X-ratelimit-used`` what is left of it in the current
window (the documents call it "used" but describe the remaining count) and
``X-ratelimit-window`` the window's unit. Windows are aligned to whole units of the wall
clock, so they line up with the counters' per-second buckets.
"""

from __future__ import annotations

import math

WINDOW_SECONDS: dict[str, float] = {"second": 1.0, "minute": 60.0, "hour": 3600.0, "day": 86400.0}


class Quota:
    """At most ``limit`` admitted requests per project in each window of ``unit``."""

    __slots__ = ("_windows", "length", "limit", "unit")

    def __init__(self, limit: int, unit: str = "second") -> None:
        self.limit = limit
        self.unit = unit
        self.length = WINDOW_SECONDS[unit]
        self._windows: dict[str, tuple[int, int]] = {}  # project -> (window index, admitted)

    def _used(self, project: str, index: int) -> int:
        window, used = self._windows.get(project, (index, 0))
        return used if window == index else 0

    def take(self, project: str, now: float) -> tuple[bool, int, float]:
        """Admit one request if the window has room: ``(admitted, remaining, wait)``;
        ``wait`` is the seconds until the current window ends."""
        index = math.floor(now / self.length)
        used = self._used(project, index)
        wait = (index + 1) * self.length - now
        if used >= self.limit:
            return False, 0, wait
        used += 1
        self._windows[project] = (index, used)
        return True, self.limit - used, wait

    def remaining(self, project: str, now: float) -> int:
        return self.limit - self._used(project, math.floor(now / self.length))

    def headers(self, remaining: int) -> dict[str, str]:
        return {
            "X-ratelimit": str(self.limit),
            "X-ratelimit-used": str(remaining),
            "X-ratelimit-window": self.unit,
        }

    def reset(self) -> None:
        self._windows.clear()

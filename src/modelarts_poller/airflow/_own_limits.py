"""Each watcher's own deadline and ``max_polls``, when watchers of one task share its poll.

Two triggers may watch the same ModelArts task with different deadlines (an operator's
``watch_timeout``, a sensor's ``timeout``) or poll limits. The task's one poll then has
neither limit (it lives until its last watcher leaves); this ends each watcher at its own
limit instead: at its deadline, on the engine's clock, and after its own number of polls,
counted from the engine's polls of the task. Nothing here ends the task's poll itself:
the last watcher leaving does.
"""

from __future__ import annotations

import asyncio
import heapq
import itertools
from collections.abc import Callable
from typing import Any, Protocol

from .._clock import Clock
from .._events import FailureReason
from .._handle import TaskHandle


class Limited(Protocol):
    """What a watcher with limits offers (``_Watch``)."""

    spec: Any
    poll_limit: int | None  # the task's poll count at which this watcher has had its polls
    max_polls: int | None
    deadline_seq: int  # its entry in the deadline heap (0: none)

    def done(self) -> bool: ...


Expire = Callable[[Any, FailureReason, str], None]


class OwnLimits:
    """The watchers of one engine that have a deadline or a poll limit of their own.

    ``expire(watcher, reason, message)`` ends a watcher that reached its limit. Deadlines
    are kept in one heap, served by one task that sleeps on the engine's clock until the
    earliest. The heap holds ``(deadline, seq)`` tuples of atoms, which the garbage
    collector stops tracking, and the watcher is found by ``seq``: with thousands of
    waiting triggers, a tuple holding each would be thousands more objects for every full
    collection to walk. A watcher that left leaves its entry to be skipped at its time.
    """

    def __init__(self, clock: Clock, expire: Expire) -> None:
        self.clock = clock
        self.expire = expire
        self.deadlines: list[tuple[float, int]] = []
        self.waiting: dict[int, Limited] = {}  # seq -> watcher, while it waits
        self.seq = itertools.count(1)
        self.timer: asyncio.Task[None] | None = None
        self.timer_at = float("inf")  # what the timer sleeps until
        self.limited: dict[Any, list[Limited]] = {}  # spec -> its watchers with a poll limit

    def add(self, watcher: Limited, deadline: float | None) -> None:
        """Watch ``watcher``'s ``deadline`` (engine clock) and its ``poll_limit``."""
        if watcher.poll_limit is not None:
            self.limited.setdefault(watcher.spec, []).append(watcher)
        if deadline is None:
            return
        seq = watcher.deadline_seq = next(self.seq)
        self.waiting[seq] = watcher
        heapq.heappush(self.deadlines, (deadline, seq))
        if deadline < self.timer_at or self.timer is None or self.timer.done():
            if self.timer is not None:
                self.timer.cancel()
            self.timer_at = deadline
            self.timer = asyncio.get_running_loop().create_task(self._serve())

    def forget(self, watcher: Limited) -> None:
        """``watcher`` left: its limits no longer count."""
        if watcher.deadline_seq:
            self.waiting.pop(watcher.deadline_seq, None)
        if watcher.poll_limit is None:
            return
        watchers = self.limited.get(watcher.spec)
        if watchers is not None:
            if watcher in watchers:
                watchers.remove(watcher)
            if not watchers:
                del self.limited[watcher.spec]

    def polled(self, handle: TaskHandle) -> None:
        """The engine polled ``handle``'s task and it did not end: end each of its
        watchers that has had its polls."""
        watchers = self.limited.get(handle.spec)
        if not watchers:
            return
        polls = handle.polls
        for watcher in [w for w in watchers if w.poll_limit is not None and polls >= w.poll_limit]:
            if not watcher.done():
                self.expire(
                    watcher,
                    FailureReason.MAX_POLLS,
                    f"not finished after {watcher.max_polls} polls",
                )

    async def _serve(self) -> None:
        heap, waiting, clock = self.deadlines, self.waiting, self.clock
        while heap:
            at, seq = heap[0]
            watcher = waiting.get(seq)
            if watcher is None or watcher.done():
                heapq.heappop(heap)
                continue
            if clock.now() < at:
                self.timer_at = at
                await clock.sleep_until(at)
                continue
            heapq.heappop(heap)
            del waiting[seq]
            message = "the deadline passed before the task finished"
            self.expire(watcher, FailureReason.DEADLINE, message)
        self.timer_at = float("inf")

    def close(self) -> None:
        if self.timer is not None:
            self.timer.cancel()
            self.timer = None
        self.deadlines.clear()
        self.waiting.clear()
        self.limited.clear()

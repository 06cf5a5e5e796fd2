"""Waiting on many handles at once: a batch's result, and handles as they finish."""

from __future__ import annotations

import math
from collections import deque
from collections.abc import AsyncIterator, Iterable

import anyio
import attrs

from ._clock import Clock
from ._errors import InvalidArgumentError, TaskFailedError
from ._events import TaskCompleted, TaskFailed
from ._handle import TaskHandle
from ._validate import check_wait


@attrs.frozen
class BatchResult:
    """What became of a batch: terminal events in completion order, and what is left."""

    completed: tuple[TaskCompleted, ...]
    failed: tuple[TaskFailed, ...]
    pending: tuple[TaskHandle, ...] = ()

    @property
    def ok(self) -> bool:
        """Every task in the batch completed."""
        return not self.failed and not self.pending


async def wait_batch(
    handles: Iterable[TaskHandle], clock: Clock, *, fail_fast: bool, timeout: float | None
) -> BatchResult:
    """``Engine.wait``: see its docstring."""
    handles = checked_handles(handles)
    check_wait("timeout", timeout)
    order: list[TaskHandle] = [h for h in handles if h._outcome is not None]
    pending = [h for h in handles if h._outcome is None]
    if fail_fast:
        _raise_first_failure(order)
    if pending:
        remaining = len(pending)
        done = anyio.Event()

        def on_done(h: TaskHandle) -> None:
            nonlocal remaining
            remaining -= 1
            order.append(h)
            if remaining == 0 or (fail_fast and isinstance(h._outcome, TaskFailed)):
                done.set()

        for h in pending:
            h._add_waiter(on_done)
        try:
            await wait_event(done, timeout, clock)
        finally:
            for h in pending:
                h._remove_waiter(on_done)
        if fail_fast:
            _raise_first_failure(order)
    completed: list[TaskCompleted] = []
    failed: list[TaskFailed] = []
    for h in dict.fromkeys(order):
        outcome = h._outcome
        if isinstance(outcome, TaskCompleted):
            completed.append(outcome)
        elif isinstance(outcome, TaskFailed):
            failed.append(outcome)
    left = tuple(dict.fromkeys(h for h in handles if h._outcome is None))
    return BatchResult(tuple(completed), tuple(failed), left)


def _raise_first_failure(order: list[TaskHandle]) -> None:
    for h in order:
        if isinstance(h._outcome, TaskFailed):
            raise TaskFailedError(h._outcome)


def checked_handles(handles: Iterable[TaskHandle]) -> list[TaskHandle]:
    """``handles`` as a list, refused unless every item is a :class:`TaskHandle`."""
    try:
        items = list(handles)
    except TypeError:
        raise InvalidArgumentError(
            f"handles must be an iterable of TaskHandle, got {type(handles).__name__}"
        ) from None
    for h in items:
        if not isinstance(h, TaskHandle):
            raise InvalidArgumentError(
                f"handles must hold TaskHandle objects (from watch()), got {h!r}"
            )
    return items


async def wait_event(event: anyio.Event, timeout: float | None, clock: Clock) -> None:
    """Wait for ``event``, or until ``timeout`` seconds (checked by the caller) pass on
    ``clock``."""
    if timeout is None:
        await event.wait()
        return
    if math.isinf(timeout):
        await event.wait()
        return
    deadline = clock.now() + timeout
    async with anyio.create_task_group() as tg:

        async def timer() -> None:
            await clock.sleep_until(deadline)
            tg.cancel_scope.cancel()

        tg.start_soon(timer)
        await event.wait()
        tg.cancel_scope.cancel()


async def as_completed(handles: Iterable[TaskHandle]) -> AsyncIterator[TaskHandle]:
    """``Engine.as_completed``: each handle as its task finishes (finished ones first)."""
    handles = list(dict.fromkeys(handles))  # checked by Engine.as_completed, eagerly
    ready: deque[TaskHandle] = deque(h for h in handles if h._outcome is not None)
    waiting = [h for h in handles if h._outcome is None]
    wake: list[anyio.Event | None] = [None]

    def on_done(h: TaskHandle) -> None:
        ready.append(h)
        ev = wake[0]
        if ev is not None:
            wake[0] = None
            ev.set()

    for h in waiting:
        h._add_waiter(on_done)
    try:
        left = len(handles)
        while left:
            if not ready:
                ev = wake[0] = anyio.Event()
                await ev.wait()
                continue
            left -= 1
            yield ready.popleft()
    finally:
        for h in waiting:
            h._remove_waiter(on_done)

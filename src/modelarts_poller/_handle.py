"""The handle ``Engine.watch`` returns: await it, inspect it, cancel it, stream its events."""

from __future__ import annotations

import contextlib
from collections import deque
from collections.abc import Awaitable, Callable, Generator
from typing import TYPE_CHECKING, Any, Protocol

import anyio

from ._errors import InvalidArgumentError, TaskFailedError
from ._events import TaskCompleted, TaskEvent, TaskFailed
from ._specs import Observation, TaskSpec
from ._streams import EventStream, Overflow, checked_callback, concrete_types

if TYPE_CHECKING:
    from ._policy import PollPolicy

Callback = Callable[[TaskEvent], object]


class _Owner(Protocol):
    """What a handle asks of the engine that watches it (no import of the engine)."""

    def _cancel(self, handle: TaskHandle, message: str) -> None: ...

    def token(self, handle: TaskHandle) -> str: ...

    def _stop(self, handle: TaskHandle) -> Awaitable[TaskCompleted | TaskFailed]: ...


class TaskHandle:
    """One watched task. ``await handle`` gives the final snapshot or raises
    :class:`TaskFailedError`.

    Kept small on purpose (slots, lazily created extras): an engine may hold a million.
    """

    __slots__ = (
        "_attempt",
        "_base",
        "_callbacks",
        "_deadline",
        "_delivering",
        "_done_event",
        "_due",
        "_engine",
        "_errors",
        "_first",
        "_fresh",
        "_obs",
        "_outbox",
        "_outcome",
        "_policy",
        "_polls",
        "_seen_at",
        "_seq",
        "_snapshot",
        "_stop",
        "_streams",
        "_waiter",
        "_watched_at",
        "spec",
    )

    def __init__(self, engine: _Owner, spec: TaskSpec[Any], policy: PollPolicy) -> None:
        self.spec = spec
        self._engine = engine
        self._policy = policy
        self._seq = 0  # sequence number of this task's live heap entry; 0 when not queued
        self._due = 0.0  # when its queued poll is due
        self._deadline: float | None = None
        self._watched_at = 0.0  # engine clock; for the task-duration metric
        self._seen_at = 0.0  # engine clock: when its status was last read
        self._fresh = True  # watched from its start, as far as we know (not resumed)
        self._polls = 0
        self._attempt = 0  # polls since the status last changed
        self._errors = 0  # consecutive transient errors
        self._snapshot: Any = None
        self._obs: Observation | None = None
        self._base: float | None = None  # completion when first seen (or after a restart)
        self._first: tuple[float, float] | None = None  # (time, completion) first past _base
        self._outcome: TaskCompleted | TaskFailed | None = None
        self._done_event: anyio.Event | None = None
        # Who waits for the end: one waiter (the usual case) as itself, several in a list.
        self._waiter: Callable[[TaskHandle], None] | list[Callable[[TaskHandle], None]] | None
        self._waiter = None
        # Replaced, never changed in place: delivery iterates them while callbacks run.
        self._callbacks: tuple[tuple[frozenset[type], Callback], ...] | None = None
        self._streams: tuple[EventStream, ...] | None = None
        self._delivering = False  # a poller is delivering one of this task's events
        self._outbox: deque[TaskCompleted | TaskFailed] | None = None  # sealed, queued behind it
        self._stop: Any = None  # a stop asked for: _stopping.StopState (which imports us)

    # -- state ------------------------------------------------------------------------

    @property
    def policy(self) -> PollPolicy:
        return self._policy

    @property
    def polls(self) -> int:
        """How many polls were started for this task."""
        return self._polls

    @property
    def snapshot(self) -> Any:
        """The latest successfully fetched snapshot, or ``None`` before the first."""
        return self._snapshot

    @property
    def observation(self) -> Observation | None:
        return self._obs

    @property
    def outcome(self) -> TaskCompleted | TaskFailed | None:
        """The terminal event once the task has finished, else ``None``."""
        return self._outcome

    def done(self) -> bool:
        return self._outcome is not None

    def result(self) -> Any:
        """The final snapshot; raises if the task failed or is not finished yet."""
        outcome = self._outcome
        if outcome is None:
            raise InvalidArgumentError(f"task {self.spec} has not finished yet")
        if isinstance(outcome, TaskFailed):
            raise TaskFailedError(outcome)
        return outcome.snapshot

    def cancel(self, message: str = "cancelled by the caller") -> bool:
        """Stop watching; the task ends with a ``CANCELLED`` :class:`TaskFailed`.

        Returns ``False`` if it had already finished. The remote task is not touched.
        """
        if not isinstance(message, str):
            raise InvalidArgumentError(f"message must be a str, got {type(message).__name__}")
        if self._outcome is not None:
            return False
        self._engine._cancel(self, message)
        return True

    async def stop(self) -> TaskCompleted | TaskFailed:
        """Ask ModelArts to stop this task, and return its terminal event once it ended.

        The kind's stop call is sent once, through the engine's rate limit and with the
        policy's retries, as a poll is; the watch goes on until the task reports one of
        the call's stopped states, and ends it with a ``STOPPED`` :class:`TaskFailed`. An
        end of another kind that comes first (completed, failed remotely, cancelled, a
        deadline) is the one terminal event, and is returned. A stop the server refuses
        is followed by one more poll: a task that had already ended ends with what it
        was; otherwise the refusal is raised and the watch goes on. Raises
        :class:`NotStoppableError`, sending nothing, where the kind has no stop call.
        Asked again, or of a finished task, nothing more is sent.
        """
        return await self._engine._stop(self)

    def token(self) -> str:
        """A continuation token: ``engine.watch_token(token)`` goes on watching this task,
        in this process or a new one."""
        return self._engine.token(self)

    # -- subscription -----------------------------------------------------------------

    def add_callback(
        self,
        callback: Callback,
        *,
        types: type[TaskEvent] | tuple[type[TaskEvent], ...] = TaskEvent,
    ) -> None:
        """Call ``callback(event)`` (sync or async) for this task's events of ``types``."""
        self._add_checked(checked_callback("callback", callback, types))

    def _add_checked(self, entry: tuple[frozenset[type], Callback]) -> None:
        self._callbacks = (*(self._callbacks or ()), entry)

    def events(
        self,
        *,
        types: type[TaskEvent] | tuple[type[TaskEvent], ...] = TaskEvent,
        buffer: int = 256,
        overflow: Overflow = "block",
    ) -> EventStream:
        """A stream of this task's events that ends after its terminal event."""
        stream = EventStream(concrete_types(types), buffer=buffer, overflow=overflow)
        outcome = self._outcome
        if outcome is not None:
            if type(outcome) in stream.types:
                stream._force(outcome)
            stream._end()
            return stream
        self._streams = (*(self._streams or ()), stream)
        return stream

    def _take_waiters(self) -> list[Callable[[TaskHandle], None]]:
        """Who waits for this task's end, in the order they came; none wait afterwards
        (the engine's release calls it once). A single waiter is kept without a list: a
        full garbage collection walks every tracked object, and a triggerer with
        thousands of waiting triggers keeps as many handles, each with one waiter."""
        waiter = self._waiter
        self._waiter = None
        if waiter is None:
            return []
        return waiter if isinstance(waiter, list) else [waiter]

    def _add_waiter(self, fn: Callable[[TaskHandle], None]) -> None:
        waiter = self._waiter
        if waiter is None:
            self._waiter = fn
        elif isinstance(waiter, list):
            waiter.append(fn)
        else:
            self._waiter = [waiter, fn]

    def _remove_waiter(self, fn: Callable[[TaskHandle], None]) -> None:
        waiter = self._waiter
        if isinstance(waiter, list):
            with contextlib.suppress(ValueError):
                waiter.remove(fn)
        elif waiter is not None and waiter == fn:
            self._waiter = None

    # -- awaiting ---------------------------------------------------------------------

    async def wait(self) -> TaskCompleted | TaskFailed:
        """Wait for the terminal event and return it, whichever it is; never raises it."""
        if self._outcome is None:
            if self._done_event is None:
                self._done_event = anyio.Event()
            await self._done_event.wait()
        assert self._outcome is not None
        return self._outcome

    async def _result(self) -> Any:
        await self.wait()
        return self.result()

    def __await__(self) -> Generator[Any, None, Any]:
        return self._result().__await__()

    def __repr__(self) -> str:
        if self._outcome is not None:
            state = type(self._outcome).__name__
        elif self._obs is not None:
            state = self._obs.status or self._obs.phase.value
        else:
            state = "not polled yet"
        return f"<TaskHandle {self.spec} {state} polls={self._polls}>"

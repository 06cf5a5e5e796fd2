"""Bounded event streams for ``async for``: back-pressure or an explicit overflow error.

A stream never drops an event silently. With ``overflow="block"`` (the default) a full
stream makes the engine's poller wait for the consumer; with ``overflow="error"`` the
consumer gets every buffered event and then :class:`EventOverflowError`. Streams are
held weakly by the engine: a stream the consumer abandoned (and that was collected)
stops receiving and never blocks the engine.
"""

from __future__ import annotations

import contextlib
from collections import deque
from collections.abc import Callable
from types import TracebackType
from typing import Literal, TypeAlias

import anyio

from ._errors import EventOverflowError, InvalidArgumentError
from ._events import EVENT_TYPES, TaskEvent

Overflow: TypeAlias = Literal["block", "error"]


def concrete_types(types: type[TaskEvent] | tuple[type[TaskEvent], ...]) -> frozenset[type]:
    """The concrete event classes matching ``types``, checked once so delivery is a set lookup."""
    wanted = types if isinstance(types, tuple) else (types,)
    for t in wanted:
        if not (isinstance(t, type) and issubclass(t, TaskEvent)):
            raise InvalidArgumentError(f"types must be TaskEvent subclasses, got {t!r}")
    return frozenset(c for c in EVENT_TYPES if issubclass(c, wanted))


def checked_callback(
    name: str,
    callback: Callable[[TaskEvent], object],
    types: type[TaskEvent] | tuple[type[TaskEvent], ...],
) -> tuple[frozenset[type], Callable[[TaskEvent], object]]:
    """``(concrete_types(types), callback)``, refused unless ``callback`` is callable."""
    if not callable(callback):
        raise InvalidArgumentError(f"{name} must be callable, got {callback!r}")
    return concrete_types(types), callback


class EventStream:
    """An async iterator of events; also an async context manager that unsubscribes."""

    __slots__ = (
        "__weakref__",
        "_buf",
        "_ended",
        "_error",
        "_maxlen",
        "_overflow",
        "_reader",
        "_space",
        "types",
    )

    def __init__(self, types: frozenset[type], *, buffer: int, overflow: Overflow) -> None:
        if isinstance(buffer, bool) or not isinstance(buffer, int) or buffer < 1:
            raise InvalidArgumentError(f"buffer must be an int >= 1, got {buffer!r}")
        if overflow not in ("block", "error"):
            raise InvalidArgumentError(f"overflow must be 'block' or 'error', got {overflow!r}")
        self.types = types
        self._buf: deque[TaskEvent] = deque()
        self._maxlen = buffer
        self._overflow = overflow
        self._reader: anyio.Event | None = None
        self._space: anyio.Event | None = None
        self._ended = False
        self._error: EventOverflowError | None = None

    # -- producer side (the engine) --------------------------------------------------

    def _offer(self, event: TaskEvent) -> anyio.Event | None:
        """Buffer ``event``; return an Event to wait on if the stream is full and blocks."""
        if self._ended:
            return None
        buf = self._buf
        if len(buf) < self._maxlen:
            buf.append(event)
            self._wake_reader()
            return None
        if self._overflow == "error":
            self._error = EventOverflowError(
                f"event stream fell more than {self._maxlen} events behind"
            )
            self._ended = True
            self._wake_reader()
            return None
        if self._space is None:
            self._space = anyio.Event()
        return self._space

    def _force(self, event: TaskEvent) -> None:
        """Buffer ``event`` past the bound: for events raised where nothing can wait."""
        if not self._ended:
            self._buf.append(event)
            self._wake_reader()

    def _end(self) -> None:
        """No more events will come; the consumer still gets what is buffered."""
        self._ended = True
        self._wake_reader()
        self._release_producers()

    def _wake_reader(self) -> None:
        reader = self._reader
        if reader is not None:
            self._reader = None
            reader.set()

    def _release_producers(self) -> None:
        space = self._space
        if space is not None:
            self._space = None
            space.set()

    # -- consumer side ----------------------------------------------------------------

    def __aiter__(self) -> EventStream:
        return self

    async def __anext__(self) -> TaskEvent:
        while True:
            buf = self._buf
            if buf:
                event = buf.popleft()
                if self._space is not None and len(buf) < self._maxlen:
                    self._release_producers()
                return event
            if self._error is not None:
                raise self._error
            if self._ended:
                raise StopAsyncIteration
            reader = self._reader = anyio.Event()
            await reader.wait()

    def __len__(self) -> int:
        return len(self._buf)

    async def aclose(self) -> None:
        """Stop receiving; buffered events are discarded and blocked pollers released."""
        self._buf.clear()
        self._end()

    async def __aenter__(self) -> EventStream:
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self.aclose()

    def __del__(self) -> None:
        # An abandoned stream must not leave a poller waiting for space for ever.
        # (getattr: __init__ may have raised before the slot was set.)
        space = getattr(self, "_space", None)
        if space is not None:
            self._space = None
            # RuntimeError: no event loop any more, so nobody is waiting either.
            with contextlib.suppress(RuntimeError):
                space.set()

    def __repr__(self) -> str:
        names = ",".join(sorted(t.__name__ for t in self.types))
        return f"<EventStream types={names} buffered={len(self._buf)} ended={self._ended}>"

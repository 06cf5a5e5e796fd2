"""The one place events reach callbacks and streams.

Per task, events are delivered one at a time and in order, by whoever produced them: the
poller waits where a stream is full or an async callback is slow, so a slow consumer slows
polling instead of losing events. A task's terminal event seals it: one raised while an
earlier event of the same task is still being delivered (``cancel()``, or the engine
closing) is queued behind it, never delivered before or beside it, and nothing follows it.

Where nothing may wait (``cancel()`` is synchronous; a poller interrupted by the engine
closing), the rest is delivered at once: sync callbacks are called, streams take the
event past their bound, and async callbacks run, in order, in one background task. An
async callback that is running is never interrupted: the engine's close waits for it.
"""

from __future__ import annotations

import inspect
import weakref
from collections import deque
from collections.abc import Awaitable, Callable, Coroutine, Sequence
from typing import TYPE_CHECKING, Any

import anyio

from ._events import TaskCompleted, TaskEvent, TaskFailed
from ._streams import EventStream, Overflow

if TYPE_CHECKING:
    from ._handle import TaskHandle

Callback = Callable[[TaskEvent], object]
Subscription = tuple[frozenset[type], Callback]
StreamRef = weakref.ref[EventStream]
Pending = list[Coroutine[Any, Any, None]]


class Delivery:
    """Subscribers of one engine, and the delivery of every event to them and to the
    task's own subscribers. The subscriber tuples are replaced, never changed in place,
    so (un)subscribing or a stream being collected mid-delivery skips no one."""

    __slots__ = ("_on_error", "_spawn", "callback_errors", "callbacks", "events", "streams")

    def __init__(
        self,
        on_error: Callable[[BaseException, TaskEvent, object], None],
        spawn: Callable[[Callable[[], Coroutine[Any, Any, None]]], None],
    ) -> None:
        self._on_error = on_error
        self._spawn = spawn
        self.callbacks: tuple[Subscription, ...] = ()
        self.streams: tuple[StreamRef, ...] = ()
        self.events = 0
        self.callback_errors = 0

    # -- subscribers ------------------------------------------------------------------

    def subscribe(self, types: frozenset[type], callback: Callback) -> Callable[[], None]:
        entry = (types, callback)
        self.callbacks = (*self.callbacks, entry)

        def unsubscribe() -> None:
            self.callbacks = tuple(e for e in self.callbacks if e is not entry)

        return unsubscribe

    def open_stream(self, types: frozenset[type], buffer: int, overflow: Overflow) -> EventStream:
        stream = EventStream(types, buffer=buffer, overflow=overflow)

        def forget(ref: StreamRef) -> None:
            self.streams = tuple(r for r in self.streams if r is not ref)

        self.streams = (*self.streams, weakref.ref(stream, forget))
        return stream

    def end_streams(self) -> None:
        streams, self.streams = self.streams, ()
        for ref in streams:
            stream = ref()
            if stream is not None:
                stream._end()

    def wanted(self, handle: TaskHandle) -> bool:
        return bool(self.callbacks or self.streams or handle._callbacks or handle._streams)

    # -- delivering -------------------------------------------------------------------

    async def emit(self, handle: TaskHandle, event: TaskEvent) -> None:
        """Deliver ``event``, then any terminal event queued meanwhile; never returns
        having skipped a recipient, even when cancelled part-way."""
        handle._delivering = True
        backlog: Pending = []
        try:
            await self._deliver(handle, event, backlog)
            outbox = handle._outbox
            while outbox:
                await self._deliver(handle, outbox.popleft(), backlog)
        except BaseException:
            outbox = handle._outbox
            while outbox:
                self._deliver_nowait(handle, outbox.popleft(), backlog)
            self._run_later(backlog)
            raise
        finally:
            handle._delivering = False

    def seal(self, handle: TaskHandle, event: TaskCompleted | TaskFailed) -> None:
        """Deliver a terminal event from code that cannot wait: after the event being
        delivered now, if any, else at once."""
        if handle._delivering:
            if handle._outbox is None:
                handle._outbox = deque()
            handle._outbox.append(event)
            return
        backlog: Pending = []
        self._deliver_nowait(handle, event, backlog)
        self._run_later(backlog)

    def _call(self, handle: TaskHandle, event: TaskEvent) -> Pending:
        """Call every matching callback; return what async ones gave back, in order."""
        self.events += 1
        kind = type(event)
        pending: Pending = []
        for subscriptions in (self.callbacks, handle._callbacks):
            if not subscriptions:
                continue
            for types, fn in subscriptions:
                if kind in types:
                    try:
                        result = fn(event)
                    except Exception as exc:
                        self.failed(exc, event, fn)
                        continue
                    if inspect.isawaitable(result):
                        pending.append(self._await(result, event, fn))
        return pending

    async def _deliver(self, handle: TaskHandle, event: TaskEvent, backlog: Pending) -> None:
        pending = self._call(handle, event)
        own = handle._streams
        refs = self.streams + tuple(weakref.ref(s) for s in own) if own else self.streams
        called = offered = 0
        try:
            while called < len(pending):
                waiting = pending[called]
                called += 1
                # A running callback is never interrupted: closing the engine waits for it.
                with anyio.CancelScope(shield=True):
                    await waiting
            while offered < len(refs):
                await _offer(refs[offered], event)
                offered += 1
        except BaseException:
            backlog.extend(pending[called:])
            _force(refs[offered:], event)
            raise
        finally:
            if isinstance(event, TaskCompleted | TaskFailed):
                _end_own(handle)

    def _deliver_nowait(self, handle: TaskHandle, event: TaskEvent, backlog: Pending) -> None:
        backlog.extend(self._call(handle, event))
        _force(self.streams, event)
        own = handle._streams
        if own:
            _force(tuple(weakref.ref(s) for s in own), event)
        if isinstance(event, TaskCompleted | TaskFailed):
            _end_own(handle)

    def _run_later(self, backlog: Pending) -> None:
        if backlog:
            self._spawn(lambda: _in_order(backlog))

    async def _await(self, result: Awaitable[object], event: TaskEvent, fn: object) -> None:
        try:
            await result
        except Exception as exc:
            self.failed(exc, event, fn)

    def failed(self, exc: BaseException, event: TaskEvent, callback: object) -> None:
        self.callback_errors += 1
        try:
            self._on_error(exc, event, callback)
        except Exception:  # the reporter itself failed: still not swallowed
            import logging

            logging.getLogger("modelarts_poller.engine").exception(
                "on_callback_error raised while reporting %r", exc
            )


def _end_own(handle: TaskHandle) -> None:
    own = handle._streams
    if own is not None:
        handle._streams = None
        for stream in own:
            stream._end()


def _force(refs: Sequence[StreamRef], event: TaskEvent) -> None:
    kind = type(event)
    for ref in refs:
        stream = ref()
        if stream is not None and kind in stream.types:
            stream._force(event)


async def _in_order(pending: Pending) -> None:
    for i, waiting in enumerate(pending):
        try:
            await waiting
        except BaseException:
            for rest in pending[i + 1 :]:
                rest.close()
            raise


async def _offer(ref: StreamRef, event: TaskEvent) -> None:
    """Put ``event`` in the stream, waiting for space if it blocks; never holds the
    stream strongly while waiting, so an abandoned stream can be collected."""
    stream = ref()
    if stream is None or type(event) not in stream.types:
        return
    space = stream._offer(event)
    while space is not None:
        del stream
        await space.wait()
        stream = ref()
        if stream is None:
            return
        space = stream._offer(event)

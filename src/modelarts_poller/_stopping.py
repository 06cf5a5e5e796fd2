"""Stopping a watched task: ``TaskHandle.stop()`` and ``PollPolicy(at_deadline="stop")``.

The stop call (the kind's :class:`~modelarts_poller.operations.StopCall`) goes out
through the engine's rate limit, as a poll's request does (through a ``ModelArtsClient``
it takes its grant at the wire; through any other client, before it is sent, under a
limit the user set), and is retried after a transient error as a poll is, by the
task's ``PollPolicy`` (``retry``, ``max_retries``, a server's ``Retry-After``).

Once a stop was asked for, the task's watch goes on: an observation of one of the call's
``stopped`` values ends it with ``FailureReason.STOPPED``; any other end (completed, failed
otherwise, cancelled, a deadline) is reported as it is, so a stop racing the task's own
end yields one terminal event, the true one. A stop the server refuses is followed by one
more look at the task: a task that had already ended ends with what it was.

The engine keeps the per-task state in ``TaskHandle._stop`` (``None`` until a stop is
asked for) and calls in here at three points: a stop asked of a handle, each observation
of a task with a stop under way, and a deadline under ``at_deadline="stop"``.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import TYPE_CHECKING, Any, Protocol

import anyio
import anyio.abc

from ._errors import (
    NotStoppableError,
    PermanentError,
    ProtocolError,
    RateLimited,
    TransientError,
)
from ._events import FailureReason, TaskCompleted, TaskFailed
from ._kind import ModelArtsTask, StopCall, send_stop
from ._policy import retry_delay
from ._ratelimit import CURRENT_GATE, Gate
from ._step import Ending

if TYPE_CHECKING:
    from ._clock import Clock
    from ._handle import TaskHandle
    from ._ratelimit import RateLimiter


class Engine(Protocol):
    """What stopping uses of the engine (which imports this module)."""

    _limiter: RateLimiter | None
    _wire_gated: bool
    _per_poll_grants: bool
    _client: Any
    _clock: Clock
    _sched: Any
    _core_tg: anyio.abc.TaskGroup | None
    _now: Callable[[], float]

    def _draw(self) -> float: ...

    def _granted(self, binding: bool, waited: float) -> None: ...

    def _push(self, handle: TaskHandle, due: float) -> None: ...

    async def _finish(self, handle: TaskHandle, event: TaskCompleted | TaskFailed) -> None: ...


logger = logging.getLogger("modelarts_poller.engine")


class StopState:
    """One task's stop: asked for (``requested``: it may have reached the server), being
    sent (``sending``), whether an earlier attempt may have landed although its answer
    was lost (``maybe_landed``), and who waits for the next observation (``seen``)."""

    __slots__ = ("call", "maybe_landed", "requested", "seen", "sending")

    def __init__(self, call: StopCall) -> None:
        self.call = call
        self.requested = False
        self.sending = False
        self.maybe_landed = False
        self.seen: anyio.Event | None = None

    def observe(self, status: object) -> bool:
        """A poll read ``status``: wake who waits for it; ``True`` when it says the task
        stopped at our request."""
        seen = self.seen
        if seen is not None:
            self.seen = None
            seen.set()
        return self.requested and status in self.call.stopped


def stop_call(spec: object) -> StopCall:
    """``spec``'s stop call; raises :class:`NotStoppableError` where its kind has none."""
    call = type(spec).STOP if isinstance(spec, ModelArtsTask) else None
    if call is None:
        raise NotStoppableError(
            f"{getattr(spec, 'kind', type(spec).__name__)} tasks have no stop call in the "
            f"ModelArts API; {spec} was not stopped and its watch goes on"
        )
    return call


def stopped_message(status: object) -> str:
    return f"stopped at our request (the task reported {status})"


def stopped_ending(status: object) -> Ending:
    """The step's ending for a task seen in its stopped state after a stop we asked for."""
    return Ending(FailureReason.STOPPED, stopped_message(status))


async def stop_task(engine: Engine, handle: TaskHandle) -> TaskCompleted | TaskFailed:
    """What ``TaskHandle.stop()`` does (see its docstring)."""
    call = stop_call(handle.spec)  # before anything: a kind without one sends nothing
    if handle._outcome is not None:
        return handle._outcome
    state = handle._stop
    if state is None:
        state = handle._stop = StopState(call)
    if state.requested or state.sending:  # asked for already: one stop call, one wait
        return await handle.wait()
    state.sending = True
    try:
        await _send(engine, handle, state)
    except PermanentError:
        if handle._outcome is not None:
            return handle._outcome
        # Refused: the task may have ended meanwhile. One more look says what it is.
        await _look(engine, handle, state)
        if handle._outcome is not None:
            return handle._outcome
        if not state.maybe_landed:
            state.requested = False
            raise
    except BaseException:
        state.requested = state.maybe_landed
        raise
    finally:
        state.sending = False
    if handle._outcome is None:
        _poll_soon(engine, handle)
    return await handle.wait()


async def _send(engine: Engine, handle: TaskHandle, state: StopState) -> None:
    """Send the stop call, with the poll's rate limit and retries; returns once it was
    accepted (or the task ended meanwhile), raises the refusal or the last error."""
    policy = handle._policy
    limiter = engine._limiter
    reset = None
    if limiter is not None and engine._wire_gated:
        # ModelArtsClient takes this request's grant where it leaves, as a poll's.
        reset = CURRENT_GATE.set(Gate(limiter, now=engine._now, granted=engine._granted))
    elif engine._per_poll_grants:
        reset = CURRENT_GATE.set(None)  # any gate of a caller's context is not ours
    errors = 0
    try:
        while True:
            if limiter is not None and engine._per_poll_grants and not engine._wire_gated:
                await limiter.acquire()
            if handle._outcome is not None:
                return
            state.requested = True
            try:
                await send_stop(engine._client, handle.spec)  # type: ignore[arg-type]
                return
            except (TransientError, ProtocolError) as exc:
                if not isinstance(exc, RateLimited):  # a 429 was not acted on
                    state.maybe_landed = True
                errors += 1
                if policy.max_retries is not None and errors > policy.max_retries:
                    raise
                retry_after = exc.retry_after if isinstance(exc, TransientError) else None
                delay = retry_delay(policy, errors, engine._draw(), retry_after)
                logger.debug("%s: stop call failed (%s); retry in %.3fs", handle.spec, exc, delay)
                await engine._clock.sleep_until(engine._clock.now() + delay)
    finally:
        if reset is not None:
            CURRENT_GATE.reset(reset)


def _poll_soon(engine: Engine, handle: TaskHandle) -> None:
    """Poll the task now, unless a poller holds it (its answer comes soon anyway)."""
    if handle._seq > 0:
        engine._push(handle, engine._clock.now())


async def _look(engine: Engine, handle: TaskHandle, state: StopState) -> None:
    """Wait for the task's next observation (polled now) or its end."""
    seen = state.seen = anyio.Event()

    def ended(_: TaskHandle) -> None:
        seen.set()

    handle._add_waiter(ended)
    try:
        _poll_soon(engine, handle)
        await seen.wait()
    finally:
        handle._remove_waiter(ended)


# -- at the deadline ----------------------------------------------------------------------------


def at_deadline(engine: Engine, handle: TaskHandle, message: str) -> bool:
    """Under ``at_deadline="stop"``, take over a task whose deadline passed: send its stop,
    then end it with ``DEADLINE`` (see :func:`_stop_then_end`). ``False`` when the task
    ends at its deadline as usual (the policy leaves it running, or it has ended)."""
    if handle._policy.at_deadline != "stop" or handle._outcome is not None:
        return False
    if handle._deadline is not None:  # used up: the dispatcher does not end it again
        engine._sched.forget_deadline(handle)
        handle._deadline = None
    handle._seq = 0
    assert engine._core_tg is not None
    engine._core_tg.start_soon(_stop_then_end, engine, handle, message)
    return True


async def _stop_then_end(engine: Engine, handle: TaskHandle, message: str) -> None:
    """End a task at its deadline with ``TaskFailed(DEADLINE)`` once its stop call was
    answered: the message says whether the stop was sent, ``error`` is the stop's
    failure, if it failed. The watch does not wait for the stopped state."""
    error: BaseException | None = None
    try:
        call = stop_call(handle.spec)
    except NotStoppableError as exc:
        note = f"; not stopped: {exc}"
    else:
        state = handle._stop
        if state is None:
            state = handle._stop = StopState(call)
        if state.requested or state.sending:
            note = "; a stop had been sent already"
        else:
            state.sending = True
            try:
                await _send(engine, handle, state)
                note = "; a stop was sent (the remote task is stopping)"
            except Exception as exc:
                error = exc
                note = f"; the stop call failed: {exc}"
                logger.warning("%s: stop at the deadline failed: %s", handle.spec, exc)
            finally:
                state.sending = False
    if handle._outcome is None:
        snapshot: Any = handle._snapshot
        now = engine._clock.now()
        reason = FailureReason.DEADLINE
        event = TaskFailed(handle.spec, now, reason, message + note, error, snapshot)
        await engine._finish(handle, event)

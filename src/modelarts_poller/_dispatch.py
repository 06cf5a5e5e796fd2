"""The engine's polling machinery: one dispatcher, a bounded pool of workers, one poll at a
time per worker, each poll's decisions (``_step.py``) applied.

A task waiting for its next poll is an entry in the scheduler (``_schedule.py``), not a
sleeping coroutine. One dispatcher sleeps until the earliest due time and hands due tasks
to idle workers; at most ``max_in_flight`` workers exist, and a worker that finishes a
poll takes the next due task straight from the scheduler without waking the dispatcher,
so under load the dispatcher sleeps and workers run back to back.

A deadline ends its task wherever it waits: a worker's whole poll (its rate grant and its
request) is cut off at the task's deadline, and a task queued at its deadline (due and
waiting for a grant or a free worker, or not due yet) is ended by the dispatcher, which
wakes for deadlines even while every worker is busy.

:class:`Dispatch` is the base class of :class:`~modelarts_poller._engine.Engine`, which
owns the state declared here (it sets all of it in ``Engine.__init__``) and the endings
(``_end``, ``_finish``, ``_settle``, ``_release``).
"""

from __future__ import annotations

import logging
import math
import time
from collections import Counter
from collections.abc import Awaitable, Callable
from typing import TYPE_CHECKING, Any

import anyio
import anyio.abc

from ._clock import Clock, SystemClock
from ._delivery import Delivery
from ._durations import DurationModel
from ._errors import TransientError
from ._events import FailureReason, TaskCompleted, TaskFailed, TaskProgress, TaskRetrying
from ._groups import ListPolling
from ._handle import TaskHandle
from ._kind import ModelArtsTask
from ._logcontext import task_context
from ._metrics import EngineMetrics
from ._ratelimit import CONTENDED, CURRENT_GATE, Gate, RateLimiter
from ._schedule import Scheduler
from ._specs import TaskSpec
from ._step import (
    DEADLINE_IN_FLIGHT,
    DEADLINE_PASSED,
    Ending,
    credit,
    next_look,
    poll_limit,
    read_answer,
    read_error,
    retry_look,
)
from ._stopping import at_deadline, stopped_ending

logger = logging.getLogger("modelarts_poller.engine")

_INF = math.inf
# Spec types whose snapshots come from ModelArtsClient's own fetch: a snapshot that is the
# very object the last poll returned is frozen and byte-identical to it (the client shares
# it only then), so its pure ``interpret`` would read the same Observation again.
_FROZEN_SNAPSHOTS: dict[type, bool] = {}


class _DeadlineHit(Exception):
    """A poll's request was cut off by the task's deadline."""


class _Worker:
    __slots__ = ("due", "event", "item")

    def __init__(self, item: TaskHandle | None, due: float = 0.0) -> None:
        self.item = item
        self.due = due  # when item fell due
        self.event: anyio.Event | None = None


class Dispatch:
    """The dispatcher, the workers and one poll, as methods of the engine."""

    _clock: Clock
    _now: Callable[[], float]
    _draw: Callable[[], float]
    _client: Any
    _limiter: RateLimiter | None
    _durations: DurationModel | None
    _checkpoint: Any
    _priority: bool
    _contended: bool
    _per_poll_grants: bool
    _wire_gated: bool
    _max_in_flight: int
    _sched: Scheduler[TaskHandle]
    _lists: ListPolling | None
    _idle: list[_Worker]
    _workers: int
    _dispatch_target: float
    _deadline_wake: float
    _saturated: bool
    _dispatch_scope: anyio.CancelScope | None
    _core_tg: anyio.abc.TaskGroup | None
    _metrics: EngineMetrics | None
    _polled: Callable[[TaskHandle], None] | None
    _tracer: Any
    _active: Counter[str]
    _delivery: Delivery
    _in_flight: int
    _polls: int
    _transient: int
    _rate_start: float
    _rate_polls: int
    _rate: float

    if TYPE_CHECKING:  # the engine's endings

        async def _end(self, handle: TaskHandle, end: Ending, now: float) -> None: ...

        async def _finish(self, handle: TaskHandle, event: TaskCompleted | TaskFailed) -> None: ...

        def _settle(self, handle: TaskHandle, event: TaskCompleted | TaskFailed) -> bool: ...

        def _release(self, handle: TaskHandle) -> None: ...

    # -- scheduling -------------------------------------------------------------------

    def _push(self, handle: TaskHandle, due: float) -> None:
        self._sched.push(handle, due)
        if due < self._dispatch_target:
            self._wake_dispatcher()

    def _credit(self, handle: TaskHandle, due: float, now: float) -> float:
        """How far a due poll may jump the due-time order (see ``_step.credit``)."""
        return credit(
            handle._policy,
            now=now,
            due=due,
            backlog=self._sched.backlog,
            obs=handle._obs,
            seen_at=handle._seen_at,
            first=handle._first,
            durations=self._durations,
            kind=handle.spec.kind,
            watched_at=handle._watched_at if handle._fresh else None,
        )

    def _wake_dispatcher(self) -> None:
        scope = self._dispatch_scope
        self._dispatch_target = -_INF  # one wake-up is enough until it sleeps again
        self._saturated = False
        if scope is not None:
            self._dispatch_scope = None
            scope.cancel()

    def _pop_due(self, now: float) -> TaskHandle | float:
        """The next due task, or the time to look again."""
        got = self._sched.pop(now)
        if self._metrics is not None and not isinstance(got, float):
            # How late the poll starts: the saturation signal.
            self._metrics.lag(now - self._sched.last_due)
        return got

    async def _dispatcher(self) -> None:
        clock = self._clock
        idle = self._idle
        sched = self._sched
        while True:
            wake = sched.next_deadline()
            if wake <= clock.now():
                # Queued tasks out of time end now, without a grant or a free poller: they
                # may be waiting behind a binding rate, a quota pause or busy pollers.
                self._expire(sched.expired(clock.now()), clock.now())
                wake = sched.next_deadline()
            self._deadline_wake = wake
            target = _INF
            while True:
                if not idle and self._workers >= self._max_in_flight:
                    # Busy workers take due tasks themselves when they finish, and the
                    # first to find nothing due wakes us: no push needs to, so none does
                    # (a wake-up per poll would cost more than the poll's own scheduling).
                    target = -_INF
                    break
                got = self._pop_due(clock.now())
                if not isinstance(got, TaskHandle):
                    target = got
                    break
                if idle:
                    worker = idle.pop()
                    worker.item = got
                    worker.due = self._sched.last_due
                    assert worker.event is not None
                    worker.event.set()
                else:
                    self._workers += 1
                    assert self._core_tg is not None
                    self._core_tg.start_soon(self._worker, _Worker(got, self._sched.last_due))
            self._dispatch_target = target
            self._saturated = target == -_INF
            if target < wake and target != -_INF:
                wake = target
            with anyio.CancelScope() as scope:
                self._dispatch_scope = scope
                if wake == _INF:
                    await anyio.sleep_forever()
                else:
                    await clock.sleep_until(wake)
            self._dispatch_scope = None

    def _expire(self, handles: list[TaskHandle], now: float) -> None:
        """End tasks whose deadline passed while they were queued, as of ``now``: each
        ends here and now (one slow consumer holds up no other's end); their events are
        delivered, in order, by one task of their own."""
        ended = []
        reason, message = FailureReason.DEADLINE, DEADLINE_PASSED.message
        for handle in handles:
            if at_deadline(self, handle, message):
                continue  # its stop is sent first (PollPolicy.at_deadline)
            event = TaskFailed(handle.spec, now, reason, message, None, handle._snapshot)
            if self._settle(handle, event):
                if self._checkpoint is not None:
                    self._checkpoint.record_outcome(event)
                ended.append((handle, event))
        if ended:
            assert self._core_tg is not None
            self._core_tg.start_soon(self._announce, ended)

    async def _announce(self, ended: list[tuple[TaskHandle, TaskFailed]]) -> None:
        for i, (handle, event) in enumerate(ended):
            try:
                await self._delivery.emit(handle, event)
            except BaseException:  # the engine is closing: the rest without waiting
                for other, end in ended[i + 1 :]:
                    self._delivery.seal(other, end)
                    self._release(other)
                raise
            finally:
                self._release(handle)

    async def _worker(self, worker: _Worker) -> None:
        if self._limiter is not None:
            # Seen by ModelArtsClient in this worker's context: its requests take grants.
            CURRENT_GATE.set(Gate(self._limiter, now=self._now, granted=self._granted))
        now = self._now
        idle = self._idle
        poll = self._poll
        pop_due = self._pop_due
        sched = self._sched
        try:
            while True:
                handle = worker.item
                if handle is None:
                    event = worker.event = anyio.Event()
                    idle.append(worker)
                    # Once one worker is idle the dispatcher must hear of every push again.
                    if self._saturated or sched.earliest() < self._dispatch_target:
                        self._wake_dispatcher()
                    await event.wait()
                    continue
                worker.item = None
                due = worker.due
                while True:
                    await poll(handle, due)
                    got = pop_due(now())
                    if not isinstance(got, TaskHandle):
                        if got < self._dispatch_target:
                            self._wake_dispatcher()
                        break
                    handle = got
                    due = sched.last_due
        finally:
            self._workers -= 1
            if worker in idle:
                idle.remove(worker)

    # -- one poll ---------------------------------------------------------------------

    async def _poll(self, handle: TaskHandle, due: float) -> None:
        prepaid = False
        lists = self._lists
        if lists is not None and handle._outcome is None and lists.park(handle, due):
            return  # its group's list is in flight: a page of it is this poll
        if (
            self._contended
            and self._limiter is not None
            and self._priority
            and lists is not None
            and handle._outcome is None
            and lists.listable(handle)
        ):
            # The rate binds, and this poll may list its group: one grant a page, each
            # page a look at every due member on it. It is not traded, grant first, for
            # the one due poll most likely to find news: it claims its group's list now
            # (members due meanwhile park on it, without a grant) and the pages take
            # their grants where they leave.
            pass
        elif self._contended and self._limiter is not None and self._priority:
            # The rate binds: wait for the grant without holding a task, then take the due
            # poll most likely to find news (another worker may have taken this one). The
            # task waits queued, where its deadline still ends it (see _dispatcher).
            if handle._outcome is None:
                deadline = handle._deadline
                if deadline is not None and self._now() >= deadline:
                    await self._end(handle, DEADLINE_PASSED, self._now())
                    return
                self._sched.unpop(handle, due, self._now())
            await self._prepay()
            got = self._pop_due(self._now())
            if lists is not None:
                # A due poll that a list in flight was made for waits for its answer
                # without this grant.
                while isinstance(got, TaskHandle) and lists.park(got, self._sched.last_due):
                    got = self._pop_due(self._now())
            if not isinstance(got, TaskHandle):
                # Nothing due now (lists took the due polls): the grant goes back unspent.
                gate = CURRENT_GATE.get()
                if gate is not None:
                    gate.unspend()
                return
            handle = got
            prepaid = True
        if handle._outcome is not None:
            return
        spec = handle.spec
        deadline = handle._deadline
        if deadline is not None and self._now() >= deadline:
            if prepaid:
                gate = CURRENT_GATE.get()
                if gate is not None:
                    gate.unspend()  # a grant held since is not the next poll's
            await self._end(handle, DEADLINE_PASSED, self._now())
            return
        handle._polls += 1
        self._polls += 1
        self._in_flight += 1
        metrics = self._metrics
        started = time.perf_counter() if metrics is not None else 0.0
        try:
            # Operation specs' requests through ModelArtsClient take a grant at the wire;
            # for any other poll the engine takes one, before fetch() and, like the
            # request, within the deadline's cut-off.
            fetching: Awaitable[Any]
            if (
                self._per_poll_grants
                and not prepaid
                and not (self._wire_gated and getattr(spec, "WIRE_LIMITED", False))
            ):
                fetching = self._paid_fetch(spec)
            else:
                fetching = self._fetch(spec)
            if deadline is None:
                snapshot = await fetching
            else:
                snapshot = await self._fetch_by(fetching, deadline)
        except _DeadlineHit:
            self._in_flight -= 1
            await self._end(handle, DEADLINE_IN_FLIGHT, self._now())
            return
        except Exception as exc:
            self._in_flight -= 1
            if metrics is not None:
                metrics.poll(spec.kind, type(exc).__name__, time.perf_counter() - started)
            await self._poll_failed(handle, exc)
            return
        except BaseException:  # cancelled (the engine is closing): the counters stay true
            self._in_flight -= 1
            raise
        finally:
            gate = CURRENT_GATE.get()
            if gate is not None:
                # A grant the wire did not take is not kept, nor given back: a fetch of
                # its own may have spent it (a request the gate does not see).
                gate.forget()
        self._in_flight -= 1
        if metrics is not None:
            metrics.poll(spec.kind, "ok", time.perf_counter() - started)
        await self._observe(handle, snapshot)

    async def _observe(self, handle: TaskHandle, snapshot: Any) -> None:
        """What a snapshot of the task says: events, its end, or its next poll."""
        if handle._outcome is not None:  # cancelled while the request was in flight
            return
        spec = handle.spec
        prev = handle._obs
        if prev is not None and snapshot is handle._snapshot and _frozen_snapshots(spec):
            obs = prev  # the same frozen answer as last time: nothing to read again
        else:
            try:
                obs = spec.interpret(snapshot)
            except Exception as exc:
                await self._poll_failed(handle, exc)
                return
        now = self._now()
        self._rate_polls += 1
        if now - self._rate_start >= 1.0:
            self._roll_rate(now)
        handle._errors = 0
        handle._seen_at = now
        answer = read_answer(prev, obs, same=obs is prev and snapshot is handle._snapshot)
        if answer.progress:
            if answer.status_changed:
                handle._attempt = 0
            previous = handle._snapshot
            handle._snapshot = snapshot
            handle._obs = obs
            delivery = self._delivery
            if delivery.wanted(handle):
                await delivery.emit(handle, TaskProgress(spec, now, snapshot, previous, obs))
                if handle._outcome is not None:
                    return
            else:
                delivery.events += 1
        else:
            handle._snapshot = snapshot
        stop = handle._stop
        if stop is not None and stop.observe(obs.status):
            await self._end(handle, stopped_ending(obs.status), now)
            return
        end = answer.end
        if end is not None:
            if end.reason is None:
                await self._finish(handle, TaskCompleted(spec, now, snapshot, obs))
            else:
                await self._end(handle, end, now)
            return
        if self._polled is not None:
            self._polled(handle)
            if handle._outcome is not None:  # its last watcher left (SharedEngines)
                return
        policy = handle._policy
        end = poll_limit(handle._polls, policy, None)
        if end is not None:
            await self._end(handle, end, now)
            return
        look = next_look(
            policy,
            now=now,
            attempt=handle._attempt,
            draw=self._draw(),
            completion=obs.completion,
            base=handle._base,
            first=handle._first,
            durations=self._durations,
            kind=spec.kind,
            age=now - handle._watched_at if handle._fresh else None,
            deadline=handle._deadline,
        )
        handle._base = look.base
        handle._first = look.first
        handle._attempt += 1
        if look.end is not None:
            await self._end(handle, look.end, now)
            return
        due = look.due
        if self._lists is not None:
            due = self._lists.place(handle, now, due)
        self._sched.push(handle, due)
        if due < self._dispatch_target:
            self._wake_dispatcher()

    def _fetch(self, spec: TaskSpec[Any]) -> Awaitable[Any]:
        """``spec.fetch``, inside a span when per-poll spans were asked for, or a list
        request that observes the task with others of its group."""
        if self._lists is not None and getattr(spec, "LIST_PATH", None) is not None:
            return self._lists.fetch(spec)
        return self._fetch_own(spec)

    def _fetch_own(self, spec: TaskSpec[Any]) -> Awaitable[Any]:
        if self._tracer is not None:
            return self._traced(spec)
        if _FROZEN_SNAPSHOTS.get(type(spec)):  # ModelArtsTask.fetch, without its frame
            # (the type is judged by _observe on its first answer; until then: spec.fetch)
            return self._client.get_task(spec)  # type: ignore[no-any-return]
        return spec.fetch(self._client)

    def _spawn_listing(self, run: Callable[..., Awaitable[None]], *args: Any) -> None:
        """Run a list request (``ListPolling``) on its own task, with a rate gate of its
        own (a poller's gate is that poller's), holding the grant the engine took for the
        poll that starts it: that poll now waits for a page, so the first page spends it.
        """
        assert self._core_tg is not None
        gate = CURRENT_GATE.get()
        grant = None if gate is None else gate.hand_over()
        self._core_tg.start_soon(self._listing, run, args, grant)

    async def _listing(
        self, run: Callable[..., Awaitable[None]], args: tuple[Any, ...], grant: int | None
    ) -> None:
        if self._limiter is not None:
            gate = Gate(self._limiter, now=self._now, granted=self._granted)
            if grant is not None:
                gate.prepay(grant)
            CURRENT_GATE.set(gate)
        await run(*args)

    def _spawn_observe(self, handle: TaskHandle, snapshot: Any) -> None:
        assert self._core_tg is not None
        self._core_tg.start_soon(self._observe, handle, snapshot)

    async def _traced(self, spec: TaskSpec[Any]) -> Any:
        assert self._tracer is not None
        # Current while the request runs: an instrumented aiohttp session nests its
        # HTTP span under it. Exceptions are recorded on the span as they pass.
        with self._tracer.start_as_current_span(
            f"modelarts_poller.poll {spec.kind}", attributes={"modelarts_poller.kind": spec.kind}
        ):
            return await spec.fetch(self._client)

    async def _prepay(self) -> None:
        """One grant for a poll whose requests may bypass ModelArtsClient's gate."""
        assert self._limiter is not None
        limiter = self._limiter
        started = self._now()
        # Numbered where the limiter can take a grant back (``ReturnsGrants``): one this
        # poll does not spend (no poll due once it came, see _poll) then goes back, not to
        # waste. Looked up, not isinstance(): a Protocol check costs 5 us a poll.
        acquire_grant = getattr(limiter, "acquire_grant", None)
        if acquire_grant is not None:
            grant = await acquire_grant()
        else:
            await limiter.acquire()
            grant = 0
        self._contended = (
            self._now() - started > CONTENDED and getattr(limiter, "max_rate", 1.0) is not None
        )
        gate = CURRENT_GATE.get()
        if gate is not None:
            gate.prepay(grant)

    def _granted(self, binding: bool, waited: float) -> None:
        """A grant came through a poller's ``Gate`` after ``waited`` seconds; ``binding``:
        the rate binds, so pollers wait for grants before choosing what to poll."""
        self._contended = binding
        metrics = self._metrics
        if metrics is not None:
            metrics.rate_wait(waited)

    async def _paid_fetch(self, spec: TaskSpec[Any]) -> Any:
        await self._prepay()
        return await self._fetch(spec)

    async def _fetch_by(self, fetching: Awaitable[Any], deadline: float) -> Any:
        """``fetching`` (a poll's grant and request) cut off at ``deadline`` (engine
        clock); raises _DeadlineHit."""
        clock = self._clock
        if type(clock) is SystemClock:
            # The loop's clock is the same monotonic clock: a plain cancel scope will do.
            with anyio.move_on_after(deadline - clock.now()) as scope:
                return await fetching
            assert scope.cancelled_caught
            raise _DeadlineHit
        outcome: list[Any] = []
        error: list[Exception] = []
        async with anyio.create_task_group() as tg:

            async def cut_off() -> None:
                await clock.sleep_until(deadline)
                tg.cancel_scope.cancel()

            tg.start_soon(cut_off)
            try:
                outcome.append(await fetching)
            except Exception as exc:
                error.append(exc)
            finally:
                tg.cancel_scope.cancel()
        if error:
            raise error[0]
        if not outcome:
            raise _DeadlineHit
        return outcome[0]

    async def _poll_failed(self, handle: TaskHandle, exc: Exception) -> None:
        now = self._now()
        self._rate_polls += 1
        if now - self._rate_start >= 1.0:
            self._roll_rate(now)
        if handle._outcome is not None:
            return
        policy = handle._policy
        failure = read_error(exc, handle._errors, policy)
        errors = failure.errors
        if failure.transient:
            self._transient += 1
            if self._metrics is not None:
                self._metrics.retry(handle.spec.kind, type(exc).__name__)
            handle._errors = errors
        end = failure.end
        if end is not None:
            if end.reason is FailureReason.ERROR:
                logger.error(
                    "%s: unexpected error while polling",
                    handle.spec,
                    exc_info=exc,
                    extra=task_context(handle.spec, error_type=type(exc).__name__),
                )
            await self._end(handle, end, now)
            return
        if self._polled is not None:
            self._polled(handle)
            if handle._outcome is not None:
                return
        end = poll_limit(handle._polls, policy, exc)
        if end is not None:
            await self._end(handle, end, now)
            return
        retry_after = exc.retry_after if isinstance(exc, TransientError) else None
        look = retry_look(
            policy,
            now=now,
            errors=errors,
            draw=self._draw(),
            retry_after=retry_after,
            deadline=handle._deadline,
        )
        delay = look.delay
        if logger.isEnabledFor(logging.DEBUG):
            logger.debug(
                "%s: transient error %s; retry %d in %.3fs",
                handle.spec,
                exc,
                errors,
                delay,
                extra=task_context(
                    handle.spec, attempt=errors, delay=delay, error_type=type(exc).__name__
                ),
            )
        await self._delivery.emit(handle, TaskRetrying(handle.spec, now, exc, errors, delay))
        if handle._outcome is None:
            if look.end is not None:
                await self._end(handle, look.end, now)
            else:
                self._push(handle, look.due)

    def _roll_rate(self, now: float) -> None:
        self._rate = self._rate_polls / (now - self._rate_start)
        self._rate_start = now
        self._rate_polls = 0


def _frozen_snapshots(spec: object) -> bool:
    """Whether ``spec``'s snapshots are the client's frozen models (see _FROZEN_SNAPSHOTS):
    a built-in operation spec, or a subclass that kept its fetch."""
    cls = type(spec)
    known = _FROZEN_SNAPSHOTS.get(cls)
    if known is None:
        known = _FROZEN_SNAPSHOTS[cls] = (
            isinstance(spec, ModelArtsTask) and cls.fetch is ModelArtsTask.fetch  # type: ignore[attr-defined]
        )
    return known

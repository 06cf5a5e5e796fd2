"""The polling engine: its lifecycle, watching, the endings of tasks, and what it tells
(subscriptions, stats, metrics).

Sized for a million tracked tasks: a task waiting for its next poll is an entry in the
scheduler (``_schedule.py``), not a sleeping coroutine. The dispatcher, the workers and
each poll are ``_dispatch.py`` (a base class of the engine); what a poll's answer or error
means and when the task is polled next are decided in ``_step.py``, pure, and applied
there. Continuation tokens and resuming (from a token or the checkpoint) are
``_resume.py``, another base class.

Events are delivered by the worker that produced them, in order (``_delivery.py``): sync
callbacks are called, async callbacks awaited, and bounded streams fed, so a slow
consumer slows polling instead of losing events."""

from __future__ import annotations

import gc
import logging
import math
import random
import time
from collections import Counter
from collections.abc import AsyncIterator, Awaitable, Callable, Coroutine, Iterable, Mapping
from types import TracebackType
from typing import Any, Literal

import anyio
import anyio.abc
import attrs

from ._batch import BatchResult, as_completed, checked_handles, wait_batch
from ._checkpoint import Checkpoint
from ._client import ModelArtsClient
from ._clock import Clock, SystemClock
from ._delivery import Callback, Delivery
from ._dispatch import Dispatch
from ._durations import DurationModel
from ._errors import (
    EngineClosedError,
    InvalidArgumentError,
    printable_line,
)
from ._events import (
    FailureReason,
    TaskCompleted,
    TaskEvent,
    TaskFailed,
)
from ._groups import ListPolling
from ._handle import TaskHandle
from ._kind import ModelArtsTask
from ._logcontext import task_context
from ._metrics import EngineMetrics
from ._policy import PollPolicy
from ._ratelimit import RateLimiter, engine_limiter
from ._resume import Resuming
from ._schedule import Scheduler
from ._specs import TaskSpec
from ._step import Ending
from ._stopping import at_deadline, stop_task
from ._streams import EventStream, Overflow, checked_callback, concrete_types

logger = logging.getLogger("modelarts_poller.engine")

_CHECKED_TYPES: set[type] = set()
_INF = math.inf
_BIG_BATCH = 50_000  # watches in one watch_many() after which the collector runs at once


@attrs.frozen
class EngineStats:
    """A snapshot of the engine's counters; ``rate`` is polls/s over the last second or so."""

    tracked: int
    in_flight: int
    workers: int
    polls: int
    transient_errors: int
    completed: int
    failed: int
    events: int
    callback_errors: int
    rate: float


def _default_callback_error(exc: BaseException, event: TaskEvent, callback: object) -> None:
    logger.error(
        "callback %r raised on %s for %s",
        callback,
        type(event).__name__,
        event.spec,
        exc_info=exc,
        extra=task_context(event.spec, event=type(event).__name__),
    )


class Engine(Dispatch, Resuming):
    """Watches many tasks at once. Use as ``async with Engine(client=...) as engine``.

    ``client`` is what built-in task kinds fetch through (a ``ModelArtsClient`` or any
    object with its three status methods). ``policy`` applies to every task unless
    ``kind_policies`` (by spec kind) or ``watch(policy=...)`` says otherwise.
    ``max_in_flight`` bounds concurrent polls; ``max_rate`` (polls per second) is never
    exceeded in any one-second window. ``on_exit`` decides what leaving the ``async
    with`` block does to unfinished tasks: ``"cancel"`` ends each with a ``CANCELLED``
    failure, ``"drain"`` first waits for all of them to finish. ``clock`` and ``seed``
    make runs reproducible in tests.

    Request economy (docs/engine.md), each on by default: ``priority`` (when limits bind,
    the due poll most likely to find news goes first), ``learn_durations`` (each kind's
    durations place the polls of tasks that report no progress; ``durations`` seeds the
    model), ``list_polling`` (one list request observes a dataset's exports or imports)
    and ``adapt_to_quota`` (keep to the quota the server advertises).
    """

    def __init__(
        self,
        *,
        client: Any = None,
        policy: PollPolicy | None = None,
        kind_policies: Mapping[str, PollPolicy] | None = None,
        max_in_flight: int = 64,
        max_rate: float | None = None,
        rate_limiter: RateLimiter | None = None,
        adapt_to_quota: bool = True,
        clock: Clock | None = None,
        seed: int | None = None,
        on_exit: Literal["cancel", "drain"] = "cancel",
        on_callback_error: Callable[[BaseException, TaskEvent, object], None] | None = None,
        checkpoint: Checkpoint | None = None,
        priority: bool = True,
        learn_durations: bool = True,
        durations: DurationModel | None = None,
        list_polling: bool = True,
    ) -> None:
        if isinstance(max_in_flight, bool) or not isinstance(max_in_flight, int):
            raise InvalidArgumentError(f"max_in_flight must be an int, got {max_in_flight!r}")
        if max_in_flight < 1:
            raise InvalidArgumentError(f"max_in_flight must be >= 1, got {max_in_flight}")
        for name, flag in (
            ("adapt_to_quota", adapt_to_quota),
            ("priority", priority),
            ("learn_durations", learn_durations),
            ("list_polling", list_polling),
        ):
            if not isinstance(flag, bool):
                raise InvalidArgumentError(f"{name} must be True or False, got {flag!r}")
        if on_exit not in ("cancel", "drain"):
            raise InvalidArgumentError(f"on_exit must be 'cancel' or 'drain', got {on_exit!r}")
        policy = PollPolicy() if policy is None else policy
        if not isinstance(policy, PollPolicy):
            raise InvalidArgumentError(f"policy must be a PollPolicy, got {policy!r}")
        if kind_policies is not None and not isinstance(kind_policies, Mapping):
            raise InvalidArgumentError(
                f"kind_policies must map kind names to PollPolicy, got {kind_policies!r}"
            )
        kind_policies = dict(kind_policies or {})
        for kind, p in kind_policies.items():
            if not isinstance(p, PollPolicy):
                raise InvalidArgumentError(f"kind_policies[{kind!r}] must be a PollPolicy")
        if clock is not None and not isinstance(clock, Clock):
            raise InvalidArgumentError(
                f"clock must have now() and async sleep_until(deadline), got {clock!r}"
            )
        if on_callback_error is not None and not callable(on_callback_error):
            raise InvalidArgumentError(
                f"on_callback_error must be callable, got {on_callback_error!r}"
            )
        if checkpoint is not None and not isinstance(checkpoint, Checkpoint):
            raise InvalidArgumentError(f"checkpoint must be a Checkpoint, got {checkpoint!r}")
        self._checkpoint = checkpoint
        if durations is not None and not isinstance(durations, DurationModel):
            raise InvalidArgumentError(f"durations must be a DurationModel, got {durations!r}")
        self._durations: DurationModel | None = None
        if learn_durations:
            self._durations = DurationModel() if durations is None else durations
        self._seeded = durations is not None
        self._priority = bool(priority)
        self._contended = False  # a rate grant had to be waited for lately
        self._client = client
        self._policy = policy
        self._kind_policies = kind_policies
        self._max_in_flight = max_in_flight
        self._clock: Clock = SystemClock() if clock is None else clock
        # The system clock's reading without a method call in between (several per poll).
        self._now: Callable[[], float] = (
            time.monotonic if type(self._clock) is SystemClock else self._clock.now
        )
        # Tokens carry deadlines as wall-clock time; a test clock may supply its own.
        self._wall: Callable[[], float] = getattr(self._clock, "wall", time.time)
        self._draw = random.Random(seed).random
        self._on_exit = on_exit
        self._limiter = engine_limiter(
            max_rate, rate_limiter, adapt=adapt_to_quota, server_quota=isinstance(
                client, ModelArtsClient), clock=self._clock
        )  # fmt: skip
        bind_quota = getattr(self._limiter, "bind_quota", None)
        if bind_quota is not None and isinstance(client, ModelArtsClient):
            # A limiter shared beyond this process learns which quota it shares from the
            # client: who signs the requests and where they go.
            quota_key = client.quota_key
            if quota_key is not None:
                bind_quota(quota_key)
        # Polls whose I/O bypasses the client take a grant before fetch() only under a limit
        # the user set: the advertised quota is about the client's requests.
        self._per_poll_grants = max_rate is not None or rate_limiter is not None
        # Only ModelArtsClient takes grants where its requests leave; through any other
        # client (FakeModelArts, a user's own) a built-in kind's poll takes one as well.
        self._wire_gated = isinstance(client, ModelArtsClient)

        self._tasks: dict[TaskSpec[Any], TaskHandle] = {}
        # Tasks a list request can observe together; only a ModelArtsClient lists.
        self._lists: ListPolling | None = (
            ListPolling(
                client=client,
                tasks=self._tasks,
                now=self._now,
                fetch_own=self._fetch_own,
                observe=self._spawn_observe,
                requeue=self._push,
                binding=lambda: self._contended,
                spawn=self._spawn_listing,
            )
            if list_polling and isinstance(client, ModelArtsClient)
            else None
        )
        self._sched: Scheduler[TaskHandle] = Scheduler(self._credit if priority else None)
        self._idle = []
        self._workers = 0
        self._dispatch_target = _INF
        self._deadline_wake = _INF  # the deadline the dispatcher wakes for next
        self._saturated = False  # the dispatcher sleeps until a busy worker goes idle
        self._dispatch_scope: anyio.CancelScope | None = None
        self._tg: anyio.abc.TaskGroup | None = None
        self._core_tg: anyio.abc.TaskGroup | None = None
        self._core_scope: anyio.CancelScope | None = None
        self._running = False
        self._closed = False
        self._drained: anyio.Event | None = None

        self._metrics: EngineMetrics | None = None
        # Called after each poll that did not end its task (see _observe_polls).
        self._polled: Callable[[TaskHandle], None] | None = None
        self._tracer: Any = None  # an OpenTelemetry tracer, when per-poll spans are on
        self._active: Counter[str] = Counter()
        self._delivery = Delivery(on_callback_error or _default_callback_error, self._spawn)

        self._in_flight = 0
        self._polls = 0
        self._transient = 0
        self._completed = 0
        self._failed = 0
        self._rate_start = 0.0
        self._rate_polls = 0
        self._rate = 0.0

    # -- lifecycle --------------------------------------------------------------------

    async def __aenter__(self) -> Engine:
        if self._running or self._closed:
            raise EngineClosedError("an Engine can be entered only once")
        now = self._clock.now()
        if self._checkpoint is not None:
            self._checkpoint.open()
            saved = self._checkpoint.load_durations()
            if saved is not None and self._durations is not None and not self._seeded:
                self._durations = saved
        self._rate_start = now
        tg = anyio.create_task_group()
        await tg.__aenter__()
        self._tg = tg
        self._core_scope = anyio.CancelScope()
        self._core_done = anyio.Event()
        started = anyio.Event()
        tg.start_soon(self._run_core, started)
        await started.wait()
        self._running = True
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> bool | None:
        assert self._tg is not None
        assert self._core_scope is not None
        try:
            if exc_type is None and self._on_exit == "drain":
                await self.drain()
        finally:
            self._running = False
            self._closed = True
            unfinished = list(self._tasks.values())
            if self._checkpoint is not None and unfinished:
                # Fresh tokens (poll counts) for a later resume(); the cancellations below
                # are not recorded as outcomes, so resume() watches these tasks again.
                self._checkpoint.record_watches((h.spec, self.token(h)) for h in unfinished)
            if self._checkpoint is not None and self._durations is not None:
                self._checkpoint.save_durations(self._durations)
            for handle in unfinished:
                self._cancel(handle, "the engine was closed", record=False)
            self._core_scope.cancel()
            # Pollers cut off mid-delivery finish it without waiting (streams take the
            # events past their bound); only then do the streams end, after those events.
            with anyio.CancelScope(shield=True):
                await self._core_done.wait()
            self._delivery.end_streams()
        try:
            # The body's own exception is not handed to the task group: it would come
            # back wrapped in an ExceptionGroup. The group only waits for the (cancelled)
            # core and any callbacks still running; the body's exception then propagates
            # unchanged, and an internal failure would still surface from here.
            await self._tg.__aexit__(None, None, None)
        finally:
            if self._checkpoint is not None:
                self._checkpoint.close()
        return None

    async def _run_core(self, started: anyio.Event) -> None:
        assert self._core_scope is not None
        try:
            with self._core_scope:
                async with anyio.create_task_group() as core:
                    self._core_tg = core
                    core.start_soon(self._dispatcher)
                    started.set()
        finally:
            self._core_tg = None
            self._core_done.set()

    async def drain(self) -> None:
        """Wait until every watched task has finished (new watches extend the wait)."""
        while self._tasks:
            if self._drained is None:
                self._drained = anyio.Event()
            await self._drained.wait()

    # -- watching ---------------------------------------------------------------------

    def watch(
        self,
        spec: TaskSpec[Any],
        *,
        policy: PollPolicy | None = None,
        on_event: Callback | None = None,
        types: type[TaskEvent] | tuple[type[TaskEvent], ...] = TaskEvent,
    ) -> TaskHandle:
        """Start watching ``spec`` and return its handle at once.

        Watching a spec that is already being watched returns the same handle (one
        poller); ``on_event`` is then added to it and ``policy`` must not differ.
        """
        # Checked before the watch starts: a refused callback leaves nothing watched.
        entry = None if on_event is None else checked_callback("on_event", on_event, types)
        handle = self.watch_many((spec,), policy=policy)[0]
        if entry is not None:
            handle._add_checked(entry)
        return handle

    def watch_many(
        self, specs: Iterable[TaskSpec[Any]], *, policy: PollPolicy | None = None
    ) -> list[TaskHandle]:
        """``watch`` each spec; returns the handles in the same order.

        All or nothing: if any spec is refused, none of the batch is watched.
        """
        if not self._running:
            raise EngineClosedError(
                "the engine is not running: watch inside 'async with Engine(...)'"
            )
        if policy is not None and not isinstance(policy, PollPolicy):
            raise InvalidArgumentError(f"policy must be a PollPolicy, got {policy!r}")
        if not isinstance(specs, Iterable):
            raise InvalidArgumentError(
                f"watch_many takes an iterable of specs, got {specs!r} (one spec: watch())"
            )
        # Everything inline, with one clock read for the batch: submitting 100k tasks is
        # dominated by per-task call overhead. watch() comes through here too.
        tasks, push = self._tasks, self._sched.push
        kind_policies, default = self._kind_policies, self._policy
        now = self._clock.now()
        handles: list[TaskHandle] = []
        new: list[TaskHandle] = []
        earliest = _INF
        first_deadline = _INF
        # A big batch allocates millions of objects that all live on: each collection the
        # allocations would trigger walks everything made so far, so a million watches
        # cost twice the time with the collector on. It runs again once the batch is in.
        collecting = gc.isenabled()
        if collecting:
            gc.disable()
        try:
            for spec in specs:
                try:
                    handle = tasks.get(spec)
                except TypeError as exc:
                    raise InvalidArgumentError(f"spec must be hashable: {spec!r}") from exc
                if handle is None:
                    self._check_spec(spec)
                    pol = policy or kind_policies.get(spec.kind, default)
                    handle = TaskHandle(self, spec, pol)
                    if pol.deadline is not None:
                        handle._deadline = deadline = now + pol.deadline
                        self._sched.add_deadline(handle)
                        if deadline < first_deadline:
                            first_deadline = deadline
                    tasks[spec] = handle
                    new.append(handle)
                    handle._watched_at = now
                    due = now + pol.first_delay
                    if due < earliest:
                        earliest = due
                    push(handle, due)
                elif policy is not None and policy != handle._policy:
                    raise InvalidArgumentError(f"{spec} is already watched with a different policy")
                handles.append(handle)
            if self._checkpoint is not None and new:
                # Inside the all-or-nothing block: a spec the checkpoint cannot save (a
                # plain class) refuses the batch instead of leaving it watched unrecorded.
                self._checkpoint.record_watches((h.spec, self.token(h)) for h in new)
        except BaseException:
            for handle in new:  # undo: their heap entries go stale and are skipped
                handle._seq = 0
                del tasks[handle.spec]
                if handle._deadline is not None:
                    self._sched.forget_deadline(handle)
            raise
        finally:
            if collecting:
                gc.enable()
        if collecting and len(new) >= _BIG_BATCH:
            # Collect now, while the caller is submitting, not at a random poll later: the
            # batch then sits in the oldest generation, and the next full collection waits
            # until a quarter as many objects again have piled up.
            gc.collect()
        if self._lists is not None:
            groups = self._lists.groups
            for h in new:
                if getattr(h.spec, "LIST_PATH", None) is not None:
                    groups.add(h)
        if earliest < self._dispatch_target or first_deadline < self._deadline_wake:
            self._wake_dispatcher()
        if self._metrics is not None:
            for h in new:
                self._active[h.spec.kind] += 1
        return handles

    def _observe_polls(self, polled: Callable[[TaskHandle], None] | None) -> None:
        """Call ``polled(handle)`` after each poll that did not end its task, where the
        task's own ``max_polls`` is checked. ``SharedEngines`` counts each watcher's polls
        by it (watchers of one task may each have their own limit); ``polled`` may end the
        task (cancel its handle), and nothing more happens to it then."""
        self._polled = polled

    def get(self, spec: TaskSpec[Any]) -> TaskHandle | None:
        """The handle of a spec being watched, or ``None``."""
        return self._tasks.get(spec)

    def _check_spec(self, spec: object) -> None:
        spec_type = type(spec)
        if isinstance(spec, ModelArtsTask):
            if self._client is None:
                raise InvalidArgumentError(
                    f"{spec} needs a ModelArts client: pass Engine(client=...)"
                )
        elif spec_type not in _CHECKED_TYPES:
            # A runtime Protocol isinstance() costs tens of microseconds: check each
            # custom spec type once, not each spec.
            if not isinstance(spec, TaskSpec):
                raise InvalidArgumentError(
                    f"spec must implement TaskSpec (kind, fetch, interpret), got {spec!r}"
                )
            _CHECKED_TYPES.add(spec_type)

    # -- endings ----------------------------------------------------------------------

    async def _end(self, handle: TaskHandle, end: Ending, now: float) -> None:
        """End the task as a step decided: ``end`` is a failure (a completion carries the
        answer's observation, and the engine builds it where it has one)."""
        assert end.reason is not None
        if end.reason is FailureReason.DEADLINE and at_deadline(self, handle, end.message):
            return  # its stop is sent first (PollPolicy.at_deadline)
        event = TaskFailed(handle.spec, now, end.reason, end.message, end.error, handle._snapshot)
        await self._finish(handle, event)

    def _settle(self, handle: TaskHandle, event: TaskCompleted | TaskFailed) -> bool:
        """Record the one terminal event; ``False`` if the task had one already."""
        if handle._outcome is not None:
            return False
        handle._outcome = event
        handle._seq = -1
        if handle._deadline is not None:
            self._sched.forget_deadline(handle)
        if self._tasks.get(handle.spec) is handle:
            del self._tasks[handle.spec]
        if self._lists is not None and getattr(handle.spec, "LIST_PATH", None) is not None:
            self._lists.groups.remove(handle)
        metrics = self._metrics
        if metrics is not None:
            kind = handle.spec.kind
            self._active[kind] -= 1
            completed = isinstance(event, TaskCompleted)
            metrics.finish(
                kind,
                "completed" if completed else "failed",
                "" if completed else event.reason.value,  # type: ignore[union-attr]
                event.at - handle._watched_at,
            )
        durations = self._durations
        if (
            durations is not None
            and handle._fresh
            and (isinstance(event, TaskCompleted) or event.reason is FailureReason.REMOTE_FAILED)
        ):
            # Only the task's own end says how long its kind runs (not a deadline).
            durations.record(handle.spec.kind, event.at - handle._watched_at)
            if handle._first is not None:
                # It reported progress at a rate: where it ended in that progress (all of
                # it if it completed, whatever its answer said; what a failure said, if it did).
                obs = handle._obs
                said = None if obs is None else obs.completion
                durations.record_progress_end(
                    handle.spec.kind, 1.0 if isinstance(event, TaskCompleted) else said
                )
        if isinstance(event, TaskCompleted):
            self._completed += 1
            if logger.isEnabledFor(logging.DEBUG):
                logger.debug(
                    "%s: completed after %d polls",
                    handle.spec,
                    handle._polls,
                    extra=task_context(handle.spec, polls=handle._polls, outcome="completed"),
                )
        else:
            self._failed += 1
            if logger.isEnabledFor(logging.DEBUG):
                logger.debug(
                    "%s: failed (%s) after %d polls: %s",
                    handle.spec,
                    event.reason.value,
                    handle._polls,
                    printable_line(event.message),  # often the server's own text
                    extra=task_context(
                        handle.spec,
                        polls=handle._polls,
                        outcome="failed",
                        reason=event.reason.value,
                    ),
                )
        return True

    def _release(self, handle: TaskHandle) -> None:
        """Release everything waiting on a finished task."""
        if handle._done_event is not None:
            handle._done_event.set()
        for fn in handle._take_waiters():
            fn(handle)
        if not self._tasks and self._drained is not None:
            self._drained.set()
            self._drained = None

    async def _finish(self, handle: TaskHandle, event: TaskCompleted | TaskFailed) -> None:
        if self._settle(handle, event):
            if self._checkpoint is not None:
                # Committed before anyone is told, so a crash never repeats an outcome.
                self._checkpoint.record_outcome(event)
            try:
                await self._delivery.emit(handle, event)
            finally:
                self._release(handle)

    def _cancel(self, handle: TaskHandle, message: str, *, record: bool = True) -> None:
        event = TaskFailed(
            handle.spec,
            self._clock.now(),
            FailureReason.CANCELLED,
            message,
            None,
            handle._snapshot,
        )
        if self._settle(handle, event):
            if record and self._checkpoint is not None:
                self._checkpoint.record_outcome(event)
            self._delivery.seal(handle, event)
            self._release(handle)

    def _stop(self, handle: TaskHandle) -> Awaitable[TaskCompleted | TaskFailed]:
        return stop_task(self, handle)

    def _spawn(self, run: Callable[[], Coroutine[Any, Any, None]]) -> None:
        assert self._tg is not None
        self._tg.start_soon(run)

    # -- subscriptions ----------------------------------------------------------------

    def subscribe(
        self,
        callback: Callback,
        *,
        types: type[TaskEvent] | tuple[type[TaskEvent], ...] = TaskEvent,
    ) -> Callable[[], None]:
        """Call ``callback(event)`` (sync or async) for every task's events of ``types``.

        Returns a function that unsubscribes. A callback that raises is reported to
        ``on_callback_error`` (by default logged with its traceback) and polling goes on.
        """
        return self._delivery.subscribe(*checked_callback("callback", callback, types))

    def events(
        self,
        *,
        types: type[TaskEvent] | tuple[type[TaskEvent], ...] = TaskEvent,
        buffer: int = 1024,
        overflow: Overflow = "block",
    ) -> EventStream:
        """A stream of every task's events from now on; it ends when the engine closes."""
        if self._closed:
            raise EngineClosedError("the engine is closed")
        return self._delivery.open_stream(concrete_types(types), buffer, overflow)

    # -- waiting on many --------------------------------------------------------------

    async def wait(
        self,
        handles: Iterable[TaskHandle],
        *,
        fail_fast: bool = False,
        timeout: float | None = None,
    ) -> BatchResult:
        """Wait for a batch; returns completed and failed without raising on a failure.

        With ``fail_fast`` the first failure raises :class:`TaskFailedError` at once (the
        other tasks keep running). With ``timeout`` (seconds on the engine's clock) the
        unfinished handles come back in ``pending``.
        """
        return await wait_batch(handles, self._clock, fail_fast=fail_fast, timeout=timeout)

    def as_completed(self, handles: Iterable[TaskHandle]) -> AsyncIterator[TaskHandle]:
        """Yield each handle as its task finishes (finished ones first)."""
        return as_completed(checked_handles(handles))  # refused here, not at the first step

    # -- introspection ----------------------------------------------------------------

    def metrics(self) -> EngineMetrics:
        """The engine's metrics, kept from this call on (until then nothing is kept, and
        the hot path pays nothing). Used by ``modelarts_poller.otel`` and
        ``modelarts_poller.prometheus``; the HTTP durations of a ``ModelArtsClient`` given
        as ``client`` are kept too."""
        if self._metrics is None:
            self._active = Counter(h.spec.kind for h in self._tasks.values())
            self._metrics = EngineMetrics()
            if isinstance(self._client, ModelArtsClient):
                self._client._metrics = self._metrics
        return self._metrics

    @property
    def rate_limiter(self) -> RateLimiter | None:
        """The limiter this engine's requests wait on (its own or the one it was given)."""
        return self._limiter

    def active(self) -> dict[str, int]:
        """Tasks being watched, by kind (once :meth:`metrics` was called, kept as they come
        and go, and every kind seen stays listed, at 0 when none is left)."""
        if self._metrics is None:
            return dict(Counter(h.spec.kind for h in self._tasks.values()))
        return dict(self._active)

    def stats(self) -> EngineStats:
        return EngineStats(
            tracked=len(self._tasks),
            in_flight=self._in_flight,
            workers=self._workers,
            polls=self._polls,
            transient_errors=self._transient,
            completed=self._completed,
            failed=self._failed,
            events=self._delivery.events,
            callback_errors=self._delivery.callback_errors,
            rate=self._rate,
        )

    @property
    def durations(self) -> DurationModel | None:
        """What the engine learned of each kind's durations (``None`` with
        ``learn_durations=False``)."""
        return self._durations

    @property
    def clock(self) -> Clock:
        return self._clock

    def __repr__(self) -> str:
        state = "running" if self._running else "closed" if self._closed else "new"
        return f"<Engine {state} tracked={len(self._tasks)} in_flight={self._in_flight}>"

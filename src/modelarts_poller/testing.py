"""Test helpers for code that uses modelarts-poller: virtual time and a fake ModelArts.

``FakeClock`` replaces the engine's clock, so a test that watches a task for an hour of
virtual time runs in milliseconds. ``FakeModelArts`` stands in for the client: each task
follows a timeline of response bodies, parsed by the library's real parsers, and faults
can be queued per task::

    clock = FakeClock()
    fake = FakeModelArts(clock)
    fake.add_sync("ds-1", [(0, {"status": "RUNNING"}), (30, {"status": "COMPLETED"})])
    async with Engine(client=fake, clock=clock) as engine:
        handle = engine.watch(SyncTask("ds-1"))
        snapshot = await clock.run(handle)
"""

from __future__ import annotations

import asyncio
import heapq
import itertools
import math
from collections import defaultdict, deque
from collections.abc import Awaitable, Callable, Mapping, Sequence
from typing import Any, TypeVar

import anyio
import anyio.lowlevel

from ._errors import Conflict, InvalidArgumentError, NotFound
from ._phase import Phase
from ._validate import check_number, check_wait

__all__ = ["FakeClock", "FakeModelArts", "scripted"]

T = TypeVar("T")


class FakeClock:
    """A virtual monotonic clock. Time moves only through :meth:`advance` or :meth:`run`."""

    def __init__(self, start: float = 0.0) -> None:
        self._now = float(start)
        self._sleepers: list[tuple[float, int, anyio.Event]] = []
        self._seq = itertools.count()

    def now(self) -> float:
        return self._now

    def wall(self) -> float:
        """Wall-clock (epoch) seconds that move with virtual time, for tokens' deadlines."""
        return 1_700_000_000.0 + self._now

    async def sleep_until(self, deadline: float) -> None:
        if deadline <= self._now:
            await anyio.lowlevel.checkpoint()
            return
        event = anyio.Event()
        heapq.heappush(self._sleepers, (deadline, next(self._seq), event))
        await event.wait()

    def next_deadline(self) -> float | None:
        """When the earliest sleeper wakes, or ``None`` if nobody sleeps."""
        sleepers = self._sleepers
        while sleepers and sleepers[0][2].is_set():  # woken already (by cancellation too)
            heapq.heappop(sleepers)
        return sleepers[0][0] if sleepers else None

    def _wake_due(self) -> None:
        sleepers = self._sleepers
        while sleepers and sleepers[0][0] <= self._now:
            heapq.heappop(sleepers)[2].set()

    async def settle(self) -> None:
        """Let every task that can run, run, until all wait on time or I/O."""
        await _settle()

    async def advance(self, seconds: float) -> None:
        """Move time forward by ``seconds``, waking sleepers in order along the way."""
        check_number("seconds", seconds, minimum=-math.inf)  # finite; the sign is next
        if seconds < 0:
            raise InvalidArgumentError(f"cannot move time backwards ({seconds})")
        target = self._now + seconds
        await _settle()
        while True:
            nxt = self.next_deadline()
            if nxt is None or nxt > target:
                break
            self._now = max(self._now, nxt)
            self._wake_due()
            await _settle()
        self._now = target
        await _settle()

    async def run(self, awaitable: Awaitable[T], *, limit: float = 86_400.0) -> T:
        """Await ``awaitable`` while jumping time to each next sleeper whenever all
        tasks are idle. Raises ``TimeoutError`` if ``limit`` virtual seconds pass first,
        and ``RuntimeError`` if nothing sleeps on the clock and the result never comes."""
        try:
            check_wait("limit", limit, optional=False)
        except InvalidArgumentError:
            if asyncio.iscoroutine(awaitable):
                awaitable.close()  # never to be awaited: no "never awaited" warning
            raise
        result: list[T] = []
        error: list[BaseException] = []
        end = self._now + limit
        async with anyio.create_task_group() as tg:

            async def target() -> None:
                try:
                    result.append(await awaitable)
                except Exception as exc:  # re-raised bare below, not in a group
                    error.append(exc)
                tg.cancel_scope.cancel()

            tg.start_soon(target)
            while True:
                await _settle()
                nxt = self.next_deadline()
                if nxt is None:
                    error.append(
                        RuntimeError(
                            "deadlock: nothing sleeps on the clock and the awaited result "
                            "is not ready"
                        )
                    )
                elif nxt > end:
                    error.append(TimeoutError(f"not done within {limit} virtual seconds"))
                else:
                    self._now = max(self._now, nxt)
                    self._wake_due()
                    continue
                tg.cancel_scope.cancel()
                break
        if error:
            raise error[0]
        return result[0]

    def __repr__(self) -> str:
        return f"FakeClock(now={self._now})"


async def _settle() -> None:
    """Yield until no other task is ready to run (asyncio), or a fixed number of times."""
    try:
        loop = asyncio.get_running_loop()
        ready: Any = loop._ready  # type: ignore[attr-defined]
    except (RuntimeError, AttributeError):
        for _ in range(200):
            await anyio.lowlevel.checkpoint()
        return
    quiet = 0
    for _ in range(100_000):
        await asyncio.sleep(0)
        quiet = quiet + 1 if not ready else 0
        if quiet >= 3:
            return


Timeline = Sequence[tuple[float, dict[str, Any]]]


class FakeModelArts:
    """An in-memory ModelArts for the engine: scripted bodies over virtual time.

    Each task's timeline is ``[(seconds_after_add, body), ...]``; a poll returns the
    last body whose time has come, parsed with the library's own parsers. Queue
    exceptions with :meth:`fail_next`; count requests in :attr:`calls`.

    A task added with ``stopped=`` (a timeline, its times counted from the stop) serves
    its kind's stop call (:meth:`request`, as ``ModelArtsClient.request``): the first
    accepted stop switches the task to that timeline; :attr:`stops` counts stop calls
    received, and :meth:`fail_next_stop` queues exceptions for them.
    """

    def __init__(self, clock: FakeClock | None = None, *, project_id: str = "project") -> None:
        self.clock = clock or FakeClock()
        self.project_id = project_id
        self.calls: dict[tuple[str, ...], int] = defaultdict(int)
        self._timelines: dict[tuple[str, ...], tuple[float, Timeline]] = {}
        self._faults: dict[tuple[str, ...], deque[BaseException]] = defaultdict(deque)
        self.delay: float = 0.0
        self.stops: dict[tuple[str, ...], int] = defaultdict(int)
        self._stopped: dict[tuple[str, ...], Timeline] = {}
        self._stop_faults: dict[tuple[str, ...], deque[BaseException]] = defaultdict(deque)
        self._stopping: set[tuple[str, ...]] = set()

    @staticmethod
    def _check(timeline: Timeline) -> None:
        if not timeline:
            raise InvalidArgumentError("timeline must have at least one (time, body) entry")
        times = [t for t, _ in timeline]
        if times != sorted(times):
            raise InvalidArgumentError("timeline times must not decrease")

    def _add(self, key: tuple[str, ...], timeline: Timeline) -> None:
        self._check(timeline)
        self._timelines[key] = (self.clock.now(), timeline)

    def add(
        self,
        kind: str,
        ids: str | Sequence[str],
        timeline: Timeline,
        *,
        stopped: Timeline | None = None,
    ) -> None:
        """Script a task of any registered kind: ``ids`` in the kind's path order (one ID
        may be given as a plain str), e.g. ``add("import", ("ds-1", "t-1"), timeline)``.

        ``stopped`` is what the task does once a stop call is accepted: a timeline whose
        times count from the stop (its stopping state, then its stopped state). A task
        without one refuses a stop with ``InvalidArgumentError``, naming this option."""
        from ._kind import get_kind

        k = get_kind(kind)
        ids = (ids,) if isinstance(ids, str) else tuple(ids)
        if len(ids) != len(k.id_names):
            raise InvalidArgumentError(
                f"a {k.name} task has {len(k.id_names)} ID(s) ({', '.join(k.id_names)})"
            )
        key = (k.name, *ids)
        self._add(key, timeline)
        self._stopping.discard(key)
        self._stopped.pop(key, None)
        if stopped is not None:
            self._check(stopped)
            self._stopped[key] = stopped

    def add_sync(self, dataset_id: str, timeline: Timeline) -> None:
        self._add(("sync", dataset_id), timeline)

    def add_export(self, dataset_id: str, task_id: str, timeline: Timeline) -> None:
        self._add(("export", dataset_id, task_id), timeline)

    def add_dataset_task(self, task_id: str, timeline: Timeline) -> None:
        self._add(("dataset_task", task_id), timeline)

    def fail_next(self, key: tuple[str, ...], *errors: BaseException) -> None:
        """Make the next polls of ``key`` (e.g. ``("sync", "ds-1")``) raise ``errors``."""
        self._faults[key].extend(errors)

    def fail_next_stop(self, key: tuple[str, ...], *errors: BaseException) -> None:
        """Make the next stop calls of ``key`` (e.g. ``("training_job", "job-1")``) raise
        ``errors`` (before the stop is acted on)."""
        self._stop_faults[key].extend(errors)

    async def _wait(self) -> None:
        if self.delay:
            await self.clock.sleep_until(self.clock.now() + self.delay)
        else:
            await anyio.lowlevel.checkpoint()

    async def _body(self, key: tuple[str, ...]) -> dict[str, Any]:
        self.calls[key] += 1
        await self._wait()
        faults = self._faults.get(key)
        if faults:
            raise faults.popleft()
        return self._now_body(key)

    def _now_body(self, key: tuple[str, ...]) -> dict[str, Any]:
        entry = self._timelines.get(key)
        if entry is None:
            raise NotFound(
                f"no such task {'/'.join(key)}",
                status=400,
                error_code="ModelArts.4612",
                error_msg="Task not found.",
            )
        start, timeline = entry
        elapsed = self.clock.now() - start
        body = timeline[0][1]
        for at, candidate in timeline:
            if at <= elapsed:
                body = candidate
            else:
                break
        return body

    async def get_task(self, spec: Any) -> Any:
        """What ``ModelArtsClient.get_task`` returns, from the scripted timeline."""
        return type(spec).PARSE(await self._body((spec.KIND, *spec.ids)))

    async def request(
        self,
        method: str,
        template: str,
        parse: Callable[[object], T],
        *,
        ids: Mapping[str, str] | None = None,
        body: Mapping[str, object] | None = None,
        query: Mapping[str, object] | None = None,
        project_id: str | None = None,
    ) -> T:
        """Serve a kind's stop call (the only call the fake answers besides polls).

        A stop of a task the kind counts as finished (its phase table says succeeded or
        failed) is refused with :class:`Conflict` (409), as ModelArts refuses to stop a
        job that ended; otherwise the first accepted stop switches the task to its
        ``stopped`` timeline, and later ones are accepted without changing it."""
        from ._kind import kinds

        for k in kinds():
            call = getattr(k.spec_type, "STOP", None)
            if call is not None and (call.method, call.path) == (method, template):
                break
        else:
            raise InvalidArgumentError(
                f"FakeModelArts serves polls and stop calls only, not {method} {template}"
            )
        key = (k.name, *((ids or {}).get(n, "") for n in k.id_names))
        self.stops[key] += 1
        await self._wait()
        faults = self._stop_faults.get(key)
        if faults:
            raise faults.popleft()
        stopped = self._stopped.get(key)
        if key in self._timelines and stopped is None:
            raise InvalidArgumentError(
                f"FakeModelArts: {'/'.join(key)} has no stopped timeline: "
                "add(..., stopped=[(0, stopping_body), (t, stopped_body)])"
            )
        spec: Any = k.spec(*key[1:])
        phase = spec.interpret(type(spec).PARSE(self._now_body(key))).phase
        if phase in (Phase.SUCCEEDED, Phase.FAILED):
            raise Conflict(
                f"{method} {template}: {'/'.join(key)} has ended and cannot be stopped",
                status=409,
                error_code="ModelArts.2796",
                error_msg="NotAllowedToTerminate",
            )
        if key not in self._stopping:
            self._stopping.add(key)
            assert stopped is not None
            self._timelines[key] = (self.clock.now(), stopped)
        return parse({})


def scripted(
    fn: Callable[[float], dict[str, Any]], duration: float, step: float = 1.0
) -> list[tuple[float, dict[str, Any]]]:
    """A timeline from ``fn(t)`` sampled every ``step`` seconds up to ``duration``."""
    if step <= 0:
        raise InvalidArgumentError(f"step must be > 0, got {step}")
    out = []
    t = 0.0
    while t < duration:
        out.append((t, fn(t)))
        t += step
    out.append((duration, fn(duration)))
    return out

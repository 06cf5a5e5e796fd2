"""One engine per connection for many trigger-shaped watchers in one event loop (no Airflow).

Many async triggers run in one triggerer loop. Each watches one ModelArts task until its
end and then reports one event. This module lets all of them that use the same connection
share one ``ModelArtsClient`` and one ``Engine``: one rate limit, one connection pool, one
poller per ModelArts task however many watchers it has. The engine is owned by a
long-lived task (its ``async with`` must be entered and left by the same task) and closed
after the last watcher leaves. A watcher that is cancelled (Airflow cancels triggers on
re-homing or clearing) gives up its share of the task's watch; the watch itself is cancelled
only when no other watcher wants it.
"""

from __future__ import annotations

import asyncio
import contextlib
import contextvars
import functools
import hashlib
import importlib
import inspect
import json
import time
from collections import Counter, deque
from collections.abc import AsyncIterator, Callable, Coroutine, Mapping
from typing import Any

import attrs

from .._auth import AkSkAuth, Auth, IamTokenAuth, NoAuth, TokenAuth
from .._backoff import Backoff
from .._checkpoint import TaskState, decode_token, encode_token
from .._client import ModelArtsClient
from .._clock import Clock
from .._durations import DurationModel
from .._engine import Engine
from .._errors import InvalidArgumentError
from .._events import (
    FailureReason,
    TaskCompleted,
    TaskEvent,
    TaskFailed,
    TaskProgress,
    TaskRetrying,
)
from .._handle import TaskHandle
from .._policy import PollPolicy
from .._ratelimit import RateLimiter, check_rate
from .._validate import check_number
from ._own_limits import OwnLimits
from ._payload import event_payload


@attrs.frozen
class Connection:
    """What a watcher needs to reach ModelArts; equal connections share one engine.

    ``auth`` builds the credentials (called once per engine); ``key`` tells connections
    apart without holding a secret in it (a digest of the credentials' source values).
    ``rate_limiter`` names a factory (``"package.module:factory"``) that
    :func:`rate_limiter_from_path` resolves and the shared engine calls once.
    """

    project_id: str
    key: str
    auth: Callable[[], Auth] = attrs.field(eq=False, repr=False)
    endpoint: str | None = None
    region: str | None = None
    max_rate: float | None = None
    rate_limiter: str | None = None

    def client(self) -> ModelArtsClient:
        return ModelArtsClient(
            project_id=self.project_id, auth=self.auth(), endpoint=self.endpoint, region=self.region
        )


def connection_from_fields(
    *,
    login: str | None = None,
    password: str | None = None,
    extra: Mapping[str, Any] | None = None,
    max_rate: float | None = None,
    rate_limiter: str | None = None,
) -> Connection:
    """A :class:`Connection` from the ``huaweicloud`` connection shape Airflow users have:
    access key in ``login``, secret key in ``password``, ``region``, ``project_id`` and
    ``endpoint`` in ``extra``; or ``token`` in ``extra`` for an IAM token; or an IAM user
    name in ``login``, its password in ``password`` and ``domain_name`` (optionally
    ``iam_endpoint``) in ``extra`` for password authentication with a self-renewing
    token; or ``auth: "none"`` for a local simulator. ``rate_limiter`` (instead of
    ``max_rate``) names the factory of a :class:`RateLimiter` shared beyond the engine
    (``"package.module:factory"``, see :func:`rate_limiter_from_path`)."""
    check_rate_options(max_rate, rate_limiter)
    extra = dict(extra or {})
    project_id = extra.get("project_id")
    if not isinstance(project_id, str) or not project_id:
        raise InvalidArgumentError("the connection needs project_id in its extra")
    token = extra.get("token")
    auth: Callable[[], Auth]
    source: str
    if extra.get("auth") == "none":
        auth, source = NoAuth, "none"
    elif isinstance(token, str) and token:
        auth, source = (lambda: TokenAuth(token)), f"token:{token}"
    elif isinstance(extra.get("domain_name"), str) and login and password:
        user, secret, domain = login, password, extra["domain_name"]
        iam = extra.get("iam_endpoint")
        iam_endpoint = iam if isinstance(iam, str) and iam else None
        region_name = extra.get("region") if isinstance(extra.get("region"), str) else None

        def iam_auth() -> Auth:
            return IamTokenAuth(
                user_name=user,
                password=secret,
                domain_name=domain,
                project_id=project_id,
                iam_endpoint=iam_endpoint,
                region=region_name,
            )

        auth, source = iam_auth, f"iam:{domain}:{user}:{secret}:{iam_endpoint}"
    elif login and password:
        ak, sk = login, password
        auth, source = (lambda: AkSkAuth(ak, sk)), f"aksk:{ak}:{sk}"
    else:
        raise InvalidArgumentError(
            "the connection needs an access key and secret key (login, password), a token, "
            "or an IAM user and password (login, password) with domain_name in its extra"
        )
    endpoint, region = extra.get("endpoint"), extra.get("region")
    if endpoint is None and region is None:
        raise InvalidArgumentError("the connection needs region or endpoint in its extra")
    digest = hashlib.sha256(
        json.dumps([source, project_id, endpoint, region, max_rate, rate_limiter]).encode()
    ).hexdigest()
    return Connection(project_id, digest, auth, endpoint, region, max_rate, rate_limiter)


def check_rate_options(max_rate: object, rate_limiter: object) -> None:
    """Refuse a ``max_rate`` that is not a finite number > 0, a ``rate_limiter`` that is not
    shaped ``"package.module:factory"``, or both at once (nothing is imported). Every class
    that takes them calls this where it is made, so a bad value fails the DAG's parsing, not
    every trigger of the connection in the triggerer."""
    if max_rate is not None:
        check_rate(max_rate)
    if rate_limiter is not None:
        check_limiter_path(rate_limiter)
        if max_rate is not None:
            raise InvalidArgumentError("give max_rate or rate_limiter, not both")


def check_limiter_path(path: object) -> str:
    """``path`` if it has the shape ``"package.module:factory"`` (nothing is imported)."""
    if not isinstance(path, str):
        raise InvalidArgumentError(
            f"rate_limiter must be a 'package.module:factory' string, got {path!r}"
        )
    module, sep, name = path.partition(":")
    parts = [*module.split("."), *name.split(".")]
    if not sep or not all(p.isidentifier() for p in parts):
        raise InvalidArgumentError(
            f"rate_limiter must name a factory as 'package.module:factory', got {path!r}"
        )
    return path


def rate_limiter_from_path(path: str) -> RateLimiter:
    """Import the factory ``path`` names (``"package.module:factory"``, the factory may be
    an attribute path such as ``Class.method``), call it with no arguments and return
    the :class:`RateLimiter` it makes. Raises :class:`InvalidArgumentError`, naming
    ``path``, for a module or name that is not there, a module that raises on import, a
    factory that is not callable or that raises, or a result without an async
    ``acquire()``."""
    check_limiter_path(path)
    module_name, _, name = path.partition(":")
    try:
        target: Any = importlib.import_module(module_name)
    except ImportError as exc:
        raise InvalidArgumentError(
            f"rate_limiter {path!r}: cannot import {module_name!r}: {exc}"
        ) from exc
    except Exception as exc:  # the module itself raised while it was imported
        raise InvalidArgumentError(
            f"rate_limiter {path!r}: importing {module_name!r} raised {exc!r}"
        ) from exc
    for part in name.split("."):
        try:
            target = getattr(target, part)
        except AttributeError:
            raise InvalidArgumentError(
                f"rate_limiter {path!r}: {module_name!r} has no {name!r}"
            ) from None
    if not callable(target):
        raise InvalidArgumentError(f"rate_limiter {path!r} is not callable: {target!r}")
    try:
        limiter = target()
    except Exception as exc:
        raise InvalidArgumentError(f"rate_limiter {path!r}: the factory raised {exc!r}") from exc
    acquire = getattr(limiter, "acquire", None)
    if not isinstance(limiter, RateLimiter) or not inspect.iscoroutinefunction(acquire):
        raise InvalidArgumentError(
            f"rate_limiter {path!r} returned {limiter!r}, not a RateLimiter "
            "(an object with an async acquire() method)"
        )
    return limiter


def token_for(spec: Any, *, timeout: float | None = None, just_started: bool = False) -> str:
    """The continuation token of a task not watched yet (what an operator that started the
    task hands to its trigger). ``timeout`` (seconds from now) becomes the watch's
    deadline, as wall-clock time, so it holds wherever and whenever the token is watched.
    ``just_started`` says the task was started now (an operator's start call): its age is
    then known wherever the token is watched, so the engine's learned durations learn from
    its end and place its polls by its age; otherwise its age is unknown (a task
    something else started) and it is polled by its policy alone."""
    if not isinstance(just_started, bool):
        raise InvalidArgumentError(f"just_started must be a bool, got {just_started!r}")
    now = time.time()
    deadline_at = None
    if timeout is not None:
        deadline_at = now + check_number("timeout", timeout)
    return encode_token(
        spec, TaskState(deadline_at=deadline_at, started_at=now if just_started else None)
    )


_DEFAULT_POLICY = PollPolicy()


@functools.lru_cache(maxsize=64)
def _unlimited(policy: PollPolicy) -> PollPolicy:
    """``policy`` without a deadline and ``max_polls``: a shared task's poll. One object for
    equal policies: each task's handle holds its policy, and a triggerer holds thousands."""
    if policy.deadline is None and policy.max_polls is None:
        return policy
    return attrs.evolve(policy, deadline=None, max_polls=None)


def _detached(coro: Coroutine[Any, Any, None]) -> asyncio.Task[None]:
    """A task of the shared engine, started in an empty context: it serves every watcher of
    the connection, so it must not run in the context of the one whose call started it (a
    task inherits its creator's context variables, and with them, in a triggerer, that
    trigger's log routing: every task the engine spawns would log as that trigger)."""
    return asyncio.get_running_loop().create_task(coro, context=contextvars.Context())


REGISTER_BATCH = 500  # watches registered per loop iteration (about 25 ms of work)


class _Watch(asyncio.Future[dict[str, Any]]):
    """One watcher's share of a task's watch: the future of its event payload.

    A waiting trigger holds only this and the coroutine that awaits it: a full garbage
    collection walks every tracked object in one loop iteration, and with 20,000 triggers
    each object a watcher holds is 20,000 more to walk (a coroutine, two events and a
    future per ``handle.wait()`` were a third of a 0.3 s pause). Whatever ends the future
    (its payload from the handle's release, whose waiter this is; an error; its watcher's
    cancellation) gives its share back at once, from here: a done callback would cost
    every waiting watcher a callback list and its entry.
    """

    __slots__ = (
        "context",
        "deadline_seq",
        "handle",
        "max_polls",
        "on_event",
        "policy",
        "poll_limit",
        "shared",
        "spec",
        "token",
    )

    def __init__(
        self,
        shared: _Shared,
        token: str,
        policy: PollPolicy | None,
        on_event: Callable[[TaskEvent], object] | None,
    ) -> None:
        super().__init__(loop=asyncio.get_running_loop())
        self.shared = shared
        self.token = token
        self.policy = policy
        self.on_event = on_event
        # The watcher's context variables, where its on_event runs: the events come from
        # the engine's tasks, and a triggerer routes a log line to a task's log by
        # variables bound in that trigger's own context (Airflow's trigger_id).
        self.context = None if on_event is None else contextvars.copy_context()
        self.spec: Any = None  # set once registered: the watcher then counts
        self.handle: TaskHandle | None = None
        # This watcher's own max_polls (the task's poll has none while shared), and the
        # task's poll count at which it has had them.
        self.max_polls: int | None = None
        self.poll_limit: int | None = None
        self.deadline_seq = 0  # its own deadline's entry in OwnLimits (0: none)

    def __call__(self, handle: TaskHandle) -> None:
        """The handle's waiter: the task ended."""
        self.end(handle.outcome)

    def end(self, outcome: TaskCompleted | TaskFailed | None) -> None:
        """End this watcher with ``outcome``'s payload (once: a done watcher stays so)."""
        if self.done():
            return
        try:
            assert outcome is not None
            payload = event_payload(outcome)
        except Exception as exc:  # never lost: the watcher gets it
            self.fail(exc)
            return
        self.set_result(payload)
        self.shared.leave(self)

    def fail(self, exc: BaseException) -> None:
        self.set_exception(exc)
        self.shared.leave(self)

    def cancel(self, msg: Any | None = None) -> bool:
        # The awaiting task's cancellation arrives here (Task.cancel cancels the future
        # it waits on): the watcher leaves now.
        if not super().cancel(msg):
            return False
        self.shared.leave(self)
        return True

    def event(self, event: TaskEvent) -> None:
        # A handle keeps its callbacks for its whole watch; a watcher that left (its
        # future is done) must not be called for another watcher's events.
        if not self.done() and self.on_event is not None and self.context is not None:
            self.context.run(self.on_event, event)


class _Shared:
    """One connection's engine, its owner task, and who watches what."""

    def __init__(
        self,
        connection: Connection,
        policy: PollPolicy | None,
        durations: DurationModel,
        on_idle: Callable[[_Shared], None],
        clock: Clock | None = None,
        seed: int | None = None,
    ) -> None:
        self.connection = connection
        self.clock = clock
        self.seed = seed
        self.policy = policy
        self.durations = durations
        self.users = 0
        self.watchers: Counter[Any] = Counter()  # spec -> watchers still waiting on it
        self.ready = asyncio.Event()
        self.stop = asyncio.Event()
        self.engine: Engine | None = None
        self.failure: BaseException | None = None
        # Watches to register, a batch per loop iteration: thousands of triggers that start
        # together (a triggerer picking up a backlog) must not stall the loop for all of them.
        self.pending: deque[_Watch] = deque()
        self.registrar: asyncio.Task[None] | None = None
        self.on_idle = on_idle  # called when the last watcher leaves
        self.limits: OwnLimits | None = None  # each watcher's own deadline and max_polls
        self.owner = _detached(self._own())

    def register(self, watch: _Watch) -> None:
        """Register ``watch`` once the engine is open; its future fails if its token or
        the engine does."""
        self.pending.append(watch)
        if self.registrar is None or self.registrar.done():
            self.registrar = _detached(self._register())

    async def _register(self) -> None:
        await self.ready.wait()
        pending = self.pending
        while pending:
            for _ in range(min(REGISTER_BATCH, len(pending))):
                watch = pending.popleft()
                if watch.done():
                    continue  # its watcher left before its turn
                engine = self.engine
                if engine is None:
                    watch.fail(self._closed())
                    continue
                own = watch.policy or self.policy or _DEFAULT_POLICY
                try:
                    spec, state = decode_token(watch.token)
                    # One poller per task: the first watcher's policy stands, without its
                    # deadline and max_polls, which are each watcher's own (see OwnLimits):
                    # the task is polled until its last watcher leaves.
                    policy = None if engine.get(spec) is not None else _unlimited(own)
                    polled = state
                    if state.deadline_at is not None:
                        polled = attrs.evolve(state, deadline_at=None)
                    # The token decoded once: one spec per task, the handle's.
                    handle = engine._restore(spec, polled, policy)
                except Exception as exc:
                    watch.fail(exc)
                    continue
                spec = handle.spec
                self.watchers[spec] += 1  # counted here: the watcher may leave before it wakes
                watch.spec, watch.handle = spec, handle
                self._limit(watch, engine, own, state.deadline_at, state.polls)
                if watch.on_event is not None:
                    handle.add_callback(watch.event, types=(TaskProgress, TaskRetrying))
                if handle.done():
                    watch(handle)
                else:
                    handle._add_waiter(watch)
            await asyncio.sleep(0)

    def _limit(
        self,
        watch: _Watch,
        engine: Engine,
        own: PollPolicy,
        deadline_at: float | None,
        polls: int,
    ) -> None:
        """Give ``watch`` its own deadline (its token's wall-clock one, else its policy's
        from now) and ``max_polls`` (counting the polls its token carries; at least one
        more, as the engine does for a resumed task)."""
        clock = engine.clock
        deadline = None
        if deadline_at is not None:
            # The engine's conversion of a token's deadline: the clock's wall time if it has one.
            wall: Callable[[], float] = getattr(clock, "wall", time.time)
            deadline = clock.now() + (deadline_at - wall())
        elif own.deadline is not None:
            deadline = clock.now() + own.deadline
        if own.max_polls is not None:
            watch.max_polls = own.max_polls
            assert watch.handle is not None
            watch.poll_limit = watch.handle.polls + max(1, own.max_polls - polls)
        if deadline is None and watch.poll_limit is None:
            return
        if self.limits is None:
            self.limits = OwnLimits(clock, self._expire)
            engine._observe_polls(self.limits.polled)
        self.limits.add(watch, deadline)

    def _expire(self, watch: _Watch, reason: FailureReason, message: str) -> None:
        handle = watch.handle
        if handle is None or watch.done():
            return
        now = self.engine.clock.now() if self.engine is not None else 0.0
        watch.end(TaskFailed(handle.spec, now, reason, message, None, handle.snapshot))

    def _closed(self) -> InvalidArgumentError:
        if self.failure is None:
            return InvalidArgumentError("the connection is closed")
        exc = InvalidArgumentError(f"the connection could not be opened: {self.failure!r}")
        exc.__cause__ = self.failure
        return exc

    def leave(self, watch: _Watch) -> None:
        """``watch``'s future is done (its payload, an error or a cancellation): give back
        its share, and cancel the task's watch if no other watcher wants it. Called once
        for each watch: a done future is never ended again."""
        spec, handle = watch.spec, watch.handle
        if spec is not None and handle is not None:  # registered: it counted
            watch.handle = None
            handle._remove_waiter(watch)
            if self.limits is not None:
                self.limits.forget(watch)
            self.watchers[spec] -= 1
            if self.watchers[spec] <= 0:
                del self.watchers[spec]
                if not handle.done():
                    handle.cancel("every watcher of this task left")
        self.users -= 1
        if self.users == 0:
            if self.limits is not None:
                self.limits.close()
            self.stop.set()
            self.on_idle(self)

    async def _own(self) -> None:
        try:
            path = self.connection.rate_limiter
            # Resolved here, in the process that polls, once per shared engine.
            limiter = None if path is None else rate_limiter_from_path(path)
            async with (
                _closing(limiter),
                self.connection.client() as client,
                Engine(
                    client=client,
                    policy=self.policy,
                    max_rate=self.connection.max_rate,
                    rate_limiter=limiter,
                    durations=self.durations,
                    clock=self.clock,
                    seed=self.seed,
                ) as engine,
            ):
                self.engine = engine
                self.ready.set()
                await self.stop.wait()
        except Exception as exc:  # reported to every watcher waiting for the engine
            self.failure = exc
        finally:
            if self.limits is not None:
                self.limits.close()
            self.engine = None
            self.ready.set()


@contextlib.asynccontextmanager
async def _closing(limiter: object) -> AsyncIterator[None]:
    # A limiter the factory made for this engine (a store connection) closes with it.
    try:
        yield
    finally:
        aclose = getattr(limiter, "aclose", None)
        if aclose is not None:
            await aclose()


class SharedEngines:
    """Watches for many trigger-shaped coroutines, one engine per connection.

    ``policy`` is each engine's default policy; ``clock`` the clock its engines run on (the
    system's by default; a ``FakeClock`` runs them in virtual time); ``seed`` seeds each
    engine's jitter (as ``Engine(seed=)``), so a run in virtual time repeats exactly."""

    def __init__(
        self,
        *,
        policy: PollPolicy | None = None,
        clock: Clock | None = None,
        seed: int | None = None,
    ) -> None:
        if seed is not None and (isinstance(seed, bool) or not isinstance(seed, int)):
            raise InvalidArgumentError(f"seed must be an int or None, got {seed!r}")
        self._policy = policy
        self._clock = clock
        self._seed = seed
        self._shared: dict[str, _Shared] = {}
        # What each connection's engines learned of durations outlives them: an engine is
        # closed when its last watcher leaves, and the next DAG run's tasks are the same kinds.
        self._learned: dict[str, DurationModel] = {}
        # The loop holds tasks weakly: an owner closing its engine must not be collected.
        self._owners: set[asyncio.Task[None]] = set()

    def engines(self) -> int:
        """How many engines are open (one per connection in use)."""
        return len(self._shared)

    def watching(self) -> int:
        """How many watchers are registered with an engine and waiting for their task."""
        return sum(sum(shared.watchers.values()) for shared in self._shared.values())

    async def watch(
        self,
        connection: Connection,
        token: str,
        *,
        policy: PollPolicy | None = None,
        on_event: Callable[[TaskEvent], object] | None = None,
    ) -> dict[str, Any]:
        """Watch the task ``token`` names (``TaskHandle.token()``) until its end and return
        its event payload. Cancelling this cancels the task's watch only if no other
        watcher of the same task remains.

        ``policy`` applies when this watcher is the task's first (a task already watched
        keeps its poller and policy), except its ``deadline`` and ``max_polls``: each
        watcher has its own, as it has its token's deadline, and is ended alone at them.
        ``on_event(event)`` is called (synchronously) with the task's progress and retry
        events while this watcher waits, never after, in the context variables of the call
        that started the watch (a copy taken then: what a triggerer binds in a trigger's task
        to send its log lines to its task's log). The engine's own tasks run in an empty
        context, no watcher's."""
        return await self._wait(connection, token, policy=policy, on_event=on_event)

    def _wait(
        self,
        connection: Connection,
        token: str,
        *,
        policy: PollPolicy | None = None,
        on_event: Callable[[TaskEvent], object] | None = None,
    ) -> asyncio.Future[dict[str, Any]]:
        """``watch`` without its coroutine: the future of the payload, which a trigger
        awaits itself (one object fewer per waiting trigger). Cancelling the future is
        leaving."""
        shared = self._shared.get(connection.key)
        if shared is None or shared.stop.is_set():
            learned = self._learned.setdefault(connection.key, DurationModel())
            shared = _Shared(
                connection, self._policy, learned, self._forget, self._clock, self._seed
            )
            self._shared[connection.key] = shared
            self._owners.add(shared.owner)
            shared.owner.add_done_callback(self._owners.discard)
        shared.users += 1
        watch = _Watch(shared, token, policy, on_event)
        shared.register(watch)
        return watch

    def _forget(self, shared: _Shared) -> None:
        if self._shared.get(shared.connection.key) is shared:
            del self._shared[shared.connection.key]

    async def aclose(self) -> None:
        """Close every engine (watchers still waiting get their task's CANCELLED end)."""
        for shared in list(self._shared.values()):
            shared.stop.set()
        self._shared.clear()
        await asyncio.gather(*self._owners, return_exceptions=True)


_POLLING_KEYS = frozenset(
    {"interval", "max_interval", "max_retries", "max_polls", "progress_aware"}
)


def policy_from_options(options: Mapping[str, Any] | None) -> PollPolicy | None:
    """The :class:`PollPolicy` of a trigger's JSON polling options (``interval`` and
    ``max_interval`` seconds between polls, ``max_retries``, ``max_polls``,
    ``progress_aware``); ``None`` for no options (the engine's default)."""
    if options is None:
        return None
    if not isinstance(options, Mapping):
        raise InvalidArgumentError(f"polling options must be a mapping, got {options!r}")
    if not options:
        return None
    unknown = set(options) - _POLLING_KEYS
    if unknown:
        raise InvalidArgumentError(
            f"unknown polling option(s) {', '.join(sorted(map(str, unknown)))}; "
            f"known: {', '.join(sorted(_POLLING_KEYS))}"
        )
    base = PollPolicy()
    initial = check_number("interval", options.get("interval", base.interval.initial))
    maximum = check_number(
        "max_interval", options.get("max_interval", max(base.interval.maximum, initial))
    )
    kw: dict[str, Any] = {
        "interval": Backoff(initial=initial, maximum=maximum),
        "max_retries": options.get("max_retries", base.max_retries),
        "max_polls": options.get("max_polls", base.max_polls),
    }
    progress_aware = options.get("progress_aware", True)
    if not isinstance(progress_aware, bool):
        raise InvalidArgumentError(f"progress_aware must be a bool, got {progress_aware!r}")
    return PollPolicy(**kw, progress_aware=progress_aware)

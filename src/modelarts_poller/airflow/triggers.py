"""``ModelArtsTaskTrigger``: an Airflow 3 trigger on one engine per connection.

Needs Apache Airflow 3 (``pip install 'modelarts-poller[airflow]'``).
"""

from __future__ import annotations

import asyncio
import weakref
from collections.abc import AsyncIterator, Mapping
from typing import Any

from airflow.triggers.base import BaseTrigger, TaskFailedEvent, TaskSuccessEvent, TriggerEvent

from .._checkpoint import decode_token
from .._errors import InvalidArgumentError, NotStoppableError
from .._events import TaskEvent, TaskProgress, TaskRetrying
from .._kind import send_stop
from .._validate import check_flag
from ._shared import (
    Connection,
    SharedEngines,
    check_rate_options,
    connection_from_fields,
    policy_from_options,
)

CLASSPATH = "modelarts_poller.airflow.triggers.ModelArtsTaskTrigger"
STOP_TIMEOUT = 20.0
"""Seconds a stop call may take before it is given up (Airflow gives ``on_kill`` 30 s by
default, ``[triggerer] on_kill_timeout``)."""

STATE_TIMEOUT = 25.0
"""Seconds ``on_kill`` waits for the task instance's state before it counts as unknown (a
triggerer's first such read starts Airflow's in-process execution API: seconds)."""

# The stops under way, held until they end: the loop holds tasks weakly.
_KILLING: set[asyncio.Task[None]] = set()

# Task instance states in which a user's action cancelled a trigger but the remote task
# must run on: "deferred", the task waits again (its trigger moved to another triggerer,
# or a new try already deferred on the same remote task); "success", a user marked it
# done, which says the work is wanted.
_KEEP_RUNNING = frozenset({"deferred", "success"})


def stop_on_kill(cancel_on_kill: bool, task_state: str | None) -> bool:
    """Whether a trigger's ``on_kill`` stops the remote task: only with ``cancel_on_kill``,
    and not when the task instance is ``deferred`` again or was marked ``success``
    (``task_state``; ``None`` when it could not be read: Airflow calls ``on_kill`` only
    for a user's action, so that is a kill)."""
    return cancel_on_kill and task_state not in _KEEP_RUNNING


# One registry per event loop: a triggerer runs one loop, and an engine's tasks belong to
# the loop that made them (tests and dag.test() run a loop per trigger).
_ENGINES: weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, SharedEngines] = (
    weakref.WeakKeyDictionary()
)


def shared_engines() -> SharedEngines:
    """The running loop's :class:`SharedEngines`: every trigger of one triggerer that uses
    the same connection shares its one client and engine."""
    loop = asyncio.get_running_loop()
    engines = _ENGINES.get(loop)
    if engines is None:
        engines = _ENGINES[loop] = SharedEngines()
    return engines


def check_options(
    *,
    max_rate: object = None,
    rate_limiter: object = None,
    polling: object = None,
    fail_on_failure: object = True,
    end_from_trigger: object = False,
    cancel_on_kill: object = False,
    cancel_on_timeout: object = False,
) -> None:
    """Refuse the trigger's options that could not work (what the operators and the sensor
    pass on to it): called where each of them is made, so a bad value fails the DAG's
    parsing, before an operator starts anything on ModelArts. The rate limiter's factory is
    only checked for its shape: it is imported in the triggerer."""
    check_rate_options(max_rate, rate_limiter)
    policy_from_options(polling)  # type: ignore[arg-type]
    check_flag("fail_on_failure", fail_on_failure)
    check_flag("end_from_trigger", end_from_trigger)
    check_flag("cancel_on_kill", cancel_on_kill)
    check_flag("cancel_on_timeout", cancel_on_timeout)


class ModelArtsTaskTrigger(BaseTrigger):
    """Waits for one ModelArts task to end and yields one event with its JSON payload
    (``event_payload``: ``status``, ``task``, ``reason``, ``remote_status``, ``message``,
    ``snapshot``, ``event_id``).

    ``token`` is the task's continuation token (``token_for(spec)`` or
    ``TaskHandle.token()``: its deadline is wall-clock time, so it survives re-homing).
    The connection is ``conn_id`` (an Airflow connection, read in the triggerer) or
    ``connection``, the connection's fields (``login``, ``password``, ``extra``) stored
    with the trigger. ``max_rate`` caps the requests per second of the shared engine;
    ``rate_limiter`` instead names a factory (``"package.module:factory"``), imported and
    called in the triggerer once per shared engine, whose ``RateLimiter`` paces it;
    ``polling`` holds JSON polling options (see ``policy_from_options``). With
    ``end_from_trigger`` the trigger ends the task itself (success, or failure when the
    task failed and ``fail_on_failure``) with the payload as its XCom ``return_value``,
    instead of resuming it on a worker.

    With ``cancel_on_kill``, a user's kill of the deferred task (mark failed, clear)
    sends the task's stop call from ``on_kill`` (Airflow 3.3 and later call it; see
    :func:`stop_on_kill`); a triggerer's restart, shutdown or a trigger's move to another
    triggerer never stops it. With ``cancel_on_timeout``, a watch that ends at the
    token's deadline sends the stop call before its event. A stop that fails (a kind
    without a stop call, a server's refusal) is logged and the trigger ends as it would
    have.
    """

    def __init__(
        self,
        *,
        token: str,
        conn_id: str | None = None,
        connection: Mapping[str, Any] | None = None,
        max_rate: float | None = None,
        rate_limiter: str | None = None,
        polling: Mapping[str, Any] | None = None,
        fail_on_failure: bool = True,
        end_from_trigger: bool = False,
        cancel_on_kill: bool = False,
        cancel_on_timeout: bool = False,
    ) -> None:
        super().__init__()  # type: ignore[no-untyped-call, unused-ignore]
        decode_token(token)  # a bad token is refused where it is made, not in the triggerer
        if (conn_id is None) == (connection is None):
            raise InvalidArgumentError("give the trigger exactly one of conn_id and connection")
        check_options(
            max_rate=max_rate,
            rate_limiter=rate_limiter,
            polling=polling,
            fail_on_failure=fail_on_failure,
            end_from_trigger=end_from_trigger,
            cancel_on_kill=cancel_on_kill,
            cancel_on_timeout=cancel_on_timeout,
        )
        if connection is not None:
            unknown = set(connection) - {"login", "password", "extra"}
            if unknown:
                raise InvalidArgumentError(
                    f"connection takes login, password and extra, got {sorted(unknown)}"
                )
            self._connection_now(dict(connection), max_rate, rate_limiter)  # fields complete
        self.token = token
        self.conn_id = conn_id
        self.connection = None if connection is None else dict(connection)
        self.max_rate = max_rate
        self.rate_limiter = rate_limiter
        self.polling = None if polling is None else dict(polling)
        self.fail_on_failure = fail_on_failure
        self.end_from_trigger = end_from_trigger
        self.cancel_on_kill = cancel_on_kill
        self.cancel_on_timeout = cancel_on_timeout

    def serialize(self) -> tuple[str, dict[str, Any]]:
        return CLASSPATH, {
            "token": self.token,
            "conn_id": self.conn_id,
            "connection": self.connection,
            "max_rate": self.max_rate,
            "rate_limiter": self.rate_limiter,
            "polling": self.polling,
            "fail_on_failure": self.fail_on_failure,
            "end_from_trigger": self.end_from_trigger,
            "cancel_on_kill": self.cancel_on_kill,
            "cancel_on_timeout": self.cancel_on_timeout,
        }

    def __repr__(self) -> str:
        # The default repr prints the serialized kwargs, which may hold a secret key.
        spec, _ = decode_token(self.token)
        return f"<ModelArtsTaskTrigger {spec} conn_id={self.conn_id!r}>"

    @staticmethod
    def _connection_now(
        fields: dict[str, Any], max_rate: float | None, rate_limiter: str | None
    ) -> Connection:
        return connection_from_fields(
            login=fields.get("login"),
            password=fields.get("password"),
            extra=fields.get("extra"),
            max_rate=max_rate,
            rate_limiter=rate_limiter,
        )

    async def _resolve(self) -> Connection:
        if self.connection is not None:
            return self._connection_now(self.connection, self.max_rate, self.rate_limiter)
        from .hooks import ModelArtsHook

        assert self.conn_id is not None
        hook = ModelArtsHook(self.conn_id, max_rate=self.max_rate, rate_limiter=self.rate_limiter)
        return await hook.aget_connection_obj()

    def _progress(self, event: TaskEvent) -> None:
        if isinstance(event, TaskProgress):
            obs = event.observation
            done = "" if obs.completion is None else f" {obs.completion:.0%}"
            self.log.info("%s: %s%s", event.spec, obs.status or obs.phase.value, done)
        elif isinstance(event, TaskRetrying):
            self.log.warning(
                "%s: poll failed (%s), retry %d in %.1fs",
                event.spec,
                type(event.error).__name__,
                event.attempt,
                event.delay,
            )

    async def run(self) -> AsyncIterator[TriggerEvent]:
        spec, _ = decode_token(self.token)
        connection = await self._resolve()
        engines = shared_engines()
        self.log.info("watching %s", spec)
        try:
            # The watch's future itself, not watch()'s coroutine: one object fewer for each
            # of a triggerer's thousands of waiting triggers to walk in a full collection.
            payload = await engines._wait(
                connection,
                self.token,
                policy=policy_from_options(self.polling),
                on_event=self._progress,
            )
        except asyncio.CancelledError:
            # Re-homing or clearing: only this trigger's share of the watch is given up.
            self.log.info("stopped watching %s (cancelled)", spec)
            raise
        if self.cancel_on_timeout and payload["reason"] == "deadline":
            await self.stop_remote("its watch's deadline passed")
        self.log.info(
            "%s ended: %s%s",
            spec,
            payload["status"],
            "" if payload["reason"] is None else f" ({payload['reason']}: {payload['message']})",
        )
        yield self._event(payload)

    async def on_kill(self) -> None:
        """A user's action cancelled this trigger (Airflow 3.3 and later call this only
        then): stop the remote task if :func:`stop_on_kill` says so.

        The work runs in a task of its own that this call shields: Airflow 3.3's
        triggerer cancels the trigger again at each sync with its supervisor until the
        trigger is gone, and such a cancellation must not cut the stop call short."""
        work = asyncio.get_running_loop().create_task(self._kill())
        _KILLING.add(work)
        work.add_done_callback(_KILLING.discard)
        await asyncio.shield(work)

    async def _kill(self) -> None:
        spec, _ = decode_token(self.token)
        if not self.cancel_on_kill:
            self.log.info("left %s running (cancel_on_kill is off)", spec)
            return
        try:
            state = await asyncio.wait_for(self._task_state(), STATE_TIMEOUT)
        except TimeoutError:
            self.log.warning("the task instance's state did not come in %.0f s", STATE_TIMEOUT)
            state = None
        if not stop_on_kill(self.cancel_on_kill, state):
            self.log.info("left %s running (its task instance is %s)", spec, state)
            return
        await self.stop_remote(f"the Airflow task was killed ({state})")

    async def _task_state(self) -> str | None:
        """This trigger's task instance's state now, read through the triggerer's
        supervisor; ``None`` where it cannot be read."""
        ti = self.task_instance
        if ti is None:
            return None
        try:
            from airflow.sdk.execution_time.comms import GetTaskStates
            from airflow.sdk.execution_time.task_runner import SUPERVISOR_COMMS

            map_index = getattr(ti, "map_index", -1)
            answer = await SUPERVISOR_COMMS.asend(
                GetTaskStates(dag_id=ti.dag_id, task_ids=[ti.task_id], run_ids=[ti.run_id])
            )
            states = getattr(answer, "task_states", {}).get(ti.run_id, {})
            key = ti.task_id if map_index is None or map_index < 0 else f"{ti.task_id}_{map_index}"
            state = states.get(key)
        except Exception as exc:  # no supervisor (dag.test()), or an older Airflow
            self.log.warning("could not read the task instance's state: %r", exc)
            return None
        return None if state is None else str(getattr(state, "value", state))

    async def stop_remote(self, why: str) -> bool:
        """Send the task's stop call once (bounded by :data:`STOP_TIMEOUT`); True if
        ModelArts accepted it. A failure is logged, never raised."""
        spec, _ = decode_token(self.token)
        target: Any = spec  # send_stop refuses, sending nothing, a spec of no stoppable kind
        try:
            connection = await self._resolve()
            async with connection.client() as client:
                await asyncio.wait_for(send_stop(client, target), STOP_TIMEOUT)
        except NotStoppableError as exc:
            self.log.warning("cannot stop %s (%s): %s", spec, why, exc)
            return False
        except Exception as exc:
            self.log.warning("stopping %s (%s) failed: %r", spec, why, exc)
            return False
        self.log.info("asked ModelArts to stop %s: %s", spec, why)
        return True

    def _event(self, payload: dict[str, Any]) -> TriggerEvent:
        if not self.end_from_trigger:
            return TriggerEvent(payload)  # type: ignore[no-untyped-call, unused-ignore]
        xcoms: dict[str, Any] = {"return_value": payload}
        if payload["status"] == "failed" and self.fail_on_failure:
            return TaskFailedEvent(xcoms=xcoms)
        return TaskSuccessEvent(xcoms=xcoms)

"""``ModelArtsTaskSensor``: waits for an existing ModelArts task of any kind, in the
triggerer only.

Needs Apache Airflow 3 (``pip install 'modelarts-poller[airflow]'``).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import timedelta
from typing import Any

from airflow.sdk import BaseSensorOperator
from airflow.triggers.base import StartTriggerArgs

from .._errors import InvalidArgumentError
from .._kind import get_kind
from .._validate import check_flag
from ._shared import token_for
from .hooks import ModelArtsHook
from .operators import result_of
from .triggers import CLASSPATH, STOP_TIMEOUT, ModelArtsTaskTrigger, check_options

TIMEOUT_GRACE = timedelta(seconds=STOP_TIMEOUT + 30)
"""How much later than the watch's deadline Airflow's own timeout of the deferral comes,
with ``cancel_on_timeout``: time for the trigger to send the stop call and its event."""


def _templated(values: Sequence[str]) -> bool:
    return any("{{" in v or "{%" in v for v in values)


class ModelArtsTaskSensor(BaseSensorOperator):
    """Waits until the task ``kind`` with ``ids`` (in path order, e.g. ``("dataset-1",
    "task-1")`` for an export) ends; returns (XCom) the end's JSON payload.

    By default it starts in the triggerer (``start_from_trigger``): no worker slot is
    taken at all, and the task's ``kind`` and ``ids`` must then be plain values, not
    templates (the trigger's arguments are fixed when the DAG is parsed). With templated
    IDs, or ``start_from_trigger=False``, a worker runs ``execute`` once, which defers
    at once. ``timeout`` (seconds, the sensor's own) bounds the wait in the triggerer.

    ``cancel_on_kill`` (default ``False``: a sensor waits for work something else
    started): a user's kill of the waiting task stops the remote task (see
    :class:`ModelArtsTaskTrigger`). ``cancel_on_timeout`` (default ``False``): the
    sensor's ``timeout`` stops the remote task too; it needs ``start_from_trigger=False``
    (the deadline of a trigger made when the DAG is parsed cannot be the sensor's
    ``timeout`` from its start, and Airflow's own trigger timeout calls no code of the
    trigger), and ``True`` with ``start_from_trigger`` is refused.
    """

    template_fields: Sequence[str] = ("ids",)

    def __init__(
        self,
        *,
        kind: str,
        ids: Sequence[str],
        modelarts_conn_id: str = ModelArtsHook.default_conn_name,
        max_rate: float | None = None,
        rate_limiter: str | None = None,
        polling: Mapping[str, Any] | None = None,
        fail_on_failure: bool = True,
        end_from_trigger: bool = False,
        start_from_trigger: bool = True,
        cancel_on_kill: bool = False,
        cancel_on_timeout: bool = False,
        **kwargs: Any,
    ) -> None:
        super().__init__(**kwargs)
        if isinstance(ids, str) or not all(isinstance(i, str) for i in ids):
            raise InvalidArgumentError(f"ids must be a sequence of str, got {ids!r}")
        check_options(
            max_rate=max_rate,
            rate_limiter=rate_limiter,
            polling=polling,
            fail_on_failure=fail_on_failure,
            end_from_trigger=end_from_trigger,
            cancel_on_kill=cancel_on_kill,
            cancel_on_timeout=cancel_on_timeout,
        )
        check_flag("start_from_trigger", start_from_trigger)
        if cancel_on_timeout and start_from_trigger and not _templated(list(ids)):
            raise InvalidArgumentError(
                "cancel_on_timeout needs start_from_trigger=False: a sensor started from "
                "the triggerer is timed out by Airflow, which runs none of its code then"
            )
        self.kind = get_kind(kind).name
        self.ids = list(ids)
        self.modelarts_conn_id = modelarts_conn_id
        self.max_rate = max_rate
        self.rate_limiter = rate_limiter
        self.polling = None if polling is None else dict(polling)
        self.fail_on_failure = fail_on_failure
        self.end_from_trigger = end_from_trigger
        self.cancel_on_kill = cancel_on_kill
        self.cancel_on_timeout = cancel_on_timeout
        self.start_from_trigger = bool(start_from_trigger) and not _templated(self.ids)
        if self.start_from_trigger:
            _, trigger_kwargs = self.trigger().serialize()
            self.start_trigger_args = StartTriggerArgs(
                trigger_cls=CLASSPATH,
                trigger_kwargs=trigger_kwargs,
                next_method="execute_complete",
                next_kwargs=None,
                timeout=self._timeout(),
            )
        elif not _templated(self.ids):
            get_kind(self.kind).spec(*self.ids)  # wrong IDs are refused when the DAG is parsed

    def _timeout(self) -> timedelta | None:
        timeout = getattr(self, "timeout", None)
        if timeout is None:
            return None
        return timeout if isinstance(timeout, timedelta) else timedelta(seconds=float(timeout))

    def trigger(self, *, deadline: bool = False) -> ModelArtsTaskTrigger:
        """The trigger that waits for this sensor's task; with ``deadline``, the sensor's
        ``timeout`` from now is also the watch's deadline (its payload then says so)."""
        spec = get_kind(self.kind).spec(*self.ids)
        timeout = self._timeout() if deadline else None
        return ModelArtsTaskTrigger(
            token=token_for(spec, timeout=None if timeout is None else timeout.total_seconds()),
            conn_id=self.modelarts_conn_id,
            max_rate=self.max_rate,
            rate_limiter=self.rate_limiter,
            polling=self.polling,
            fail_on_failure=self.fail_on_failure,
            end_from_trigger=self.end_from_trigger,
            cancel_on_kill=self.cancel_on_kill,
            cancel_on_timeout=self.cancel_on_timeout,
        )

    def execute(self, context: Any) -> None:
        trigger = self.trigger(deadline=True)
        timeout = self._timeout()
        if timeout is not None and self.cancel_on_timeout:
            # The watch's own deadline (which stops the task) must come first: Airflow's
            # trigger timeout cancels the trigger without running any of its code.
            timeout += TIMEOUT_GRACE
        self.defer(trigger=trigger, method_name="execute_complete", timeout=timeout)

    def poke(self, context: Any) -> bool:
        raise InvalidArgumentError("ModelArtsTaskSensor waits in the triggerer; it never pokes")

    def execute_complete(self, context: Any, event: Any = None) -> dict[str, Any]:
        payload = result_of(event, fail_on_failure=self.fail_on_failure)
        self.log.info("%s: %s", payload.get("task"), payload.get("status"))
        return payload

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
from ._shared import token_for
from .hooks import ModelArtsHook
from .operators import result_of
from .triggers import CLASSPATH, ModelArtsTaskTrigger, check_options


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
        )
        self.kind = get_kind(kind).name
        self.ids = list(ids)
        self.modelarts_conn_id = modelarts_conn_id
        self.max_rate = max_rate
        self.rate_limiter = rate_limiter
        self.polling = None if polling is None else dict(polling)
        self.fail_on_failure = fail_on_failure
        self.end_from_trigger = end_from_trigger
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
        )

    def execute(self, context: Any) -> None:
        trigger = self.trigger(deadline=True)
        self.defer(trigger=trigger, method_name="execute_complete", timeout=self._timeout())

    def poke(self, context: Any) -> bool:
        raise InvalidArgumentError("ModelArtsTaskSensor waits in the triggerer; it never pokes")

    def execute_complete(self, context: Any, event: Any = None) -> dict[str, Any]:
        payload = result_of(event, fail_on_failure=self.fail_on_failure)
        self.log.info("%s: %s", payload.get("task"), payload.get("status"))
        return payload

"""Deferrable operators: start a ModelArts operation on the worker, wait in the triggerer.

Needs Apache Airflow 3 (``pip install 'modelarts-poller[airflow]'``).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from airflow.sdk import BaseOperator
from airflow.sdk.exceptions import AirflowException, AirflowFailException

from .._errors import InvalidArgumentError, NotFound
from .._kind import get_kind
from .._phase import Phase
from .._validate import check_number
from ._shared import token_for
from .hooks import NAMED_STARTS, ModelArtsHook, StartCall, name_of
from .triggers import ModelArtsTaskTrigger, check_options

STARTED_KEY = "modelarts_poller.started"
"""The ``task_state_store`` key (Airflow 3.3 and later) under which an operator records
what its start call started, before it defers: ``{"kind", "ids", "project_id"}``."""

IF_EXISTS = ("attach", "fail", "start")
"""The values of ``if_exists``, for start calls whose resource has a user-chosen name."""


def result_of(event: Any, *, fail_on_failure: bool = True) -> dict[str, Any]:
    """What ``execute_complete`` returns (the XCom): the trigger's payload; raises
    :class:`AirflowException` for a failed task when ``fail_on_failure``. The bare state a
    runner that ignores ``end_from_trigger`` resumes with gives ``{}`` or raises."""
    if event == "success":
        # A task the trigger ended itself, resumed anyway by a runner that does not honour
        # end_from_trigger (dag.test()): the payload went to no one.
        return {}
    if event == "failed":
        raise AirflowException("the ModelArts task failed (its trigger ended the Airflow task)")
    if not isinstance(event, Mapping) or event.get("status") not in ("completed", "failed"):
        raise AirflowException(f"not a ModelArts trigger event: {event!r}")
    payload = dict(event)
    if payload["status"] == "failed" and fail_on_failure:
        task = payload.get("task") or {}
        raise AirflowException(
            f"ModelArts {task.get('kind', 'task')} {task} ended {payload.get('reason')}: "
            f"{payload.get('message')} (remote status {payload.get('remote_status')})"
        )
    return payload


def _state_store(context: Any) -> Any:
    """The task instance's ``task_state_store`` (Airflow 3.3 and later), else ``None``."""
    try:
        return context.get("task_state_store")
    except AttributeError:
        return None


class _Watching(BaseOperator):
    """What every ModelArts operator shares: the connection, the polling options, and how
    it waits (a trigger) and reports (``execute_complete``)."""

    ui_color = "#c7000b"

    def __init__(
        self,
        *,
        modelarts_conn_id: str = ModelArtsHook.default_conn_name,
        max_rate: float | None = None,
        rate_limiter: str | None = None,
        polling: Mapping[str, Any] | None = None,
        watch_timeout: float | None = None,
        fail_on_failure: bool = True,
        end_from_trigger: bool = False,
        cancel_on_kill: bool = True,
        cancel_on_timeout: bool = False,
        **kwargs: Any,
    ) -> None:
        super().__init__(**kwargs)
        # Refused here, when the DAG is parsed: execute() starts the operation before it
        # makes the trigger, and a refusal then would leave what it started unwatched.
        check_options(
            max_rate=max_rate,
            rate_limiter=rate_limiter,
            polling=polling,
            fail_on_failure=fail_on_failure,
            end_from_trigger=end_from_trigger,
            cancel_on_kill=cancel_on_kill,
            cancel_on_timeout=cancel_on_timeout,
        )
        if watch_timeout is not None:
            check_number("watch_timeout", watch_timeout)
        self.modelarts_conn_id = modelarts_conn_id
        self.max_rate = max_rate
        self.rate_limiter = rate_limiter
        self.polling = None if polling is None else dict(polling)
        self.watch_timeout = watch_timeout
        self.fail_on_failure = fail_on_failure
        self.end_from_trigger = end_from_trigger
        self.cancel_on_kill = cancel_on_kill
        self.cancel_on_timeout = cancel_on_timeout

    def trigger_for(self, spec: Any, *, just_started: bool = True) -> ModelArtsTaskTrigger:
        """The trigger that waits for the task ``spec`` names (``just_started``: by the
        start call that ran just now, so the task's age is known from here)."""
        return ModelArtsTaskTrigger(
            token=token_for(spec, timeout=self.watch_timeout, just_started=just_started),
            conn_id=self.modelarts_conn_id,
            max_rate=self.max_rate,
            rate_limiter=self.rate_limiter,
            polling=self.polling,
            fail_on_failure=self.fail_on_failure,
            end_from_trigger=self.end_from_trigger,
            cancel_on_kill=self.cancel_on_kill,
            cancel_on_timeout=self.cancel_on_timeout,
        )

    def execute_complete(self, context: Any, event: Any = None) -> dict[str, Any]:
        payload = result_of(event, fail_on_failure=self.fail_on_failure)
        self.log.info("%s: %s", payload.get("task"), payload.get("status"))
        return payload


class ModelArtsStartOperator(_Watching):
    """Starts any ModelArts operation that has a start call, then defers until it ends.

    ``start`` names a ``ModelArtsClient`` start call (``start_sync``, ``start_sync_v1``,
    ``create_export_task``, ``create_import_task``, ``create_dataset_version``,
    ``create_dataset_version_v1``, ``start_intelligent_task``, ``create_training_job``,
    ``create_notebook``, ``create_infer_service``, ``create_dev_server``) called with
    ``start_kwargs``, or is an async callable that takes the client and returns the spec
    of what it started (for your own kinds). Returns (XCom) the end's JSON payload.

    It never starts twice for one task instance: before it defers, it records the spec's
    IDs in the task instance's ``task_state_store`` (Airflow 3.3 and later; it is kept
    across the task's tries), and a later try (a retry after a worker crash, a clear)
    that finds a record re-attaches to that task instead of calling ``start`` again,
    unless the task is gone (not found) or has failed. On an Airflow without
    ``task_state_store`` every try starts anew.

    ``if_exists``, for the start calls whose resource has a user-chosen name
    (``create_training_job``, ``create_notebook``, ``create_infer_service``,
    ``create_dev_server``): what to do when a resource of that name already exists and
    has not failed, found through the kind's list call before starting. ``"attach"``
    (the default for those calls) watches it instead of starting; ``"fail"`` fails the
    task (no retry) naming it; ``"start"`` starts anew. Any other start call refuses
    ``if_exists``.

    ``cancel_on_kill`` (default ``True``): a user's kill of the deferred task stops what
    it started (see :class:`ModelArtsTaskTrigger`). ``cancel_on_timeout`` (default
    ``False``): a watch that ends at ``watch_timeout`` stops it too.
    """

    template_fields: Sequence[str] = ("start_kwargs",)

    def __init__(
        self,
        *,
        start: StartCall,
        start_kwargs: Mapping[str, Any] | None = None,
        if_exists: str | None = None,
        **kwargs: Any,
    ) -> None:
        super().__init__(**kwargs)
        if not callable(start) and not isinstance(start, str):
            raise InvalidArgumentError(f"start must be a start call's name or callable: {start!r}")
        named = isinstance(start, str) and start in NAMED_STARTS
        if if_exists is not None:
            if if_exists not in IF_EXISTS:
                raise InvalidArgumentError(
                    f"if_exists must be one of {', '.join(map(repr, IF_EXISTS))}, got {if_exists!r}"
                )
            if not named:
                raise InvalidArgumentError(
                    f"if_exists needs a start call whose resource has a name to look up "
                    f"({', '.join(sorted(NAMED_STARTS))}); {start!r} has none"
                )
        self.start = start
        self.start_kwargs = dict(start_kwargs or {})
        self.if_exists = if_exists if if_exists is not None or not named else "attach"

    def start_call(self) -> tuple[StartCall, dict[str, Any]]:
        return self.start, dict(self.start_kwargs)

    def execute(self, context: Any) -> None:
        hook = ModelArtsHook(self.modelarts_conn_id, max_rate=self.max_rate)
        store = _state_store(context)
        spec = None if store is None else self._recorded(hook, store)
        if spec is not None:
            self.defer(
                trigger=self.trigger_for(spec, just_started=False), method_name="execute_complete"
            )
        if store is None:
            self.log.warning(
                "this Airflow has no task_state_store: a retry of this task starts anew"
            )
        call, kwargs = self.start_call()
        found = None
        if self.if_exists in ("attach", "fail") and isinstance(call, str):
            found = hook.find_named(call, kwargs)
        if found is not None:
            spec, phase = found
            name = name_of(call, kwargs)
            if self.if_exists == "fail":
                raise AirflowFailException(
                    f"a ModelArts {spec.kind} named {name!r} already exists: {spec} "
                    f"({phase.value}); if_exists='fail' does not start another"
                )
            self.log.info("attaching to %s, named %r (%s)", spec, name, phase.value)
        else:
            spec = hook.start(call, kwargs)
            self.log.info("started %s", spec)
        if store is not None:
            store.set(
                STARTED_KEY,
                {"kind": spec.kind, "ids": list(spec.ids), "project_id": spec.project_id},
            )
        self.defer(
            trigger=self.trigger_for(spec, just_started=found is None),
            method_name="execute_complete",
        )

    def _recorded(self, hook: ModelArtsHook, store: Any) -> Any:
        """The spec an earlier try recorded, if that task may be re-attached to: it
        exists and has not failed. ``None``: start anew."""
        record = store.get(STARTED_KEY)
        if not isinstance(record, Mapping):
            return None
        try:
            spec = get_kind(str(record["kind"])).spec(
                *map(str, record["ids"]), project_id=record.get("project_id")
            )
        except (InvalidArgumentError, KeyError, TypeError) as exc:
            self.log.warning("ignored an unreadable record of an earlier start: %r", exc)
            return None
        try:
            phase = hook.phase_of(spec)
        except NotFound:
            self.log.info("%s, started by an earlier try, is gone: starting anew", spec)
            return None
        if phase is Phase.FAILED:
            self.log.info("%s, started by an earlier try, failed: starting anew", spec)
            return None
        self.log.info("re-attaching to %s, started by an earlier try (%s)", spec, phase.value)
        return spec


class ModelArtsDatasetSyncOperator(ModelArtsStartOperator):
    """Synchronizes a dataset (v2 ``sync-data``, or the v1 API with ``api="v1"``) and
    waits for the sync to end."""

    template_fields: Sequence[str] = ("dataset_id",)

    def __init__(self, *, dataset_id: str, api: str = "v2", **kwargs: Any) -> None:
        if api not in ("v1", "v2"):
            raise InvalidArgumentError(f"api must be 'v1' or 'v2', got {api!r}")
        super().__init__(start="start_sync" if api == "v2" else "start_sync_v1", **kwargs)
        self.dataset_id = dataset_id

    def start_call(self) -> tuple[StartCall, dict[str, Any]]:
        return self.start, {"dataset_id": self.dataset_id}


class ModelArtsDatasetExportOperator(ModelArtsStartOperator):
    """Exports a dataset to OBS (``path``) and waits for the export task to end."""

    template_fields: Sequence[str] = ("dataset_id", "path", "version_id")

    def __init__(
        self,
        *,
        dataset_id: str,
        path: str,
        export_type: int | None = None,
        version_id: str | None = None,
        export_format: int | None = None,
        annotation_format: str | None = None,
        extra: Mapping[str, Any] | None = None,
        **kwargs: Any,
    ) -> None:
        super().__init__(start="create_export_task", **kwargs)
        self.dataset_id = dataset_id
        self.path = path
        self.export_type = export_type
        self.version_id = version_id
        self.export_format = export_format
        self.annotation_format = annotation_format
        self.extra = None if extra is None else dict(extra)

    def start_call(self) -> tuple[StartCall, dict[str, Any]]:
        return self.start, {
            "dataset_id": self.dataset_id,
            "path": self.path,
            "export_type": self.export_type,
            "version_id": self.version_id,
            "export_format": self.export_format,
            "annotation_format": self.annotation_format,
            "extra": self.extra,
        }


class ModelArtsDatasetImportOperator(ModelArtsStartOperator):
    """Imports samples into a dataset from OBS (``import_path``) and waits for the
    import task to end."""

    template_fields: Sequence[str] = ("dataset_id", "import_path")

    def __init__(
        self,
        *,
        dataset_id: str,
        import_path: str,
        import_type: int | None = None,
        extra: Mapping[str, Any] | None = None,
        **kwargs: Any,
    ) -> None:
        super().__init__(start="create_import_task", **kwargs)
        self.dataset_id = dataset_id
        self.import_path = import_path
        self.import_type = import_type
        self.extra = None if extra is None else dict(extra)

    def start_call(self) -> tuple[StartCall, dict[str, Any]]:
        return self.start, {
            "dataset_id": self.dataset_id,
            "import_path": self.import_path,
            "import_type": self.import_type,
            "extra": self.extra,
        }


class ModelArtsDatasetVersionOperator(ModelArtsStartOperator):
    """Publishes a new dataset version and waits until it is ready."""

    template_fields: Sequence[str] = ("dataset_id", "version_name", "description")

    def __init__(
        self,
        *,
        dataset_id: str,
        version_name: str | None = None,
        description: str | None = None,
        version_format: str | None = None,
        extra: Mapping[str, Any] | None = None,
        **kwargs: Any,
    ) -> None:
        super().__init__(start="create_dataset_version", **kwargs)
        self.dataset_id = dataset_id
        self.version_name = version_name
        self.description = description
        self.version_format = version_format
        self.extra = None if extra is None else dict(extra)

    def start_call(self) -> tuple[StartCall, dict[str, Any]]:
        return self.start, {
            "dataset_id": self.dataset_id,
            "version_name": self.version_name,
            "description": self.description,
            "version_format": self.version_format,
            "extra": self.extra,
        }

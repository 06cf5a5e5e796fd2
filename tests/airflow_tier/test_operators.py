"""The deferrable operators and the sensor: execute starts the operation against the
simulator and defers with the right trigger; execute_complete returns or raises; the
sensor starts from the trigger; Airflow lists the provider."""

from __future__ import annotations

import asyncio
import json
from datetime import timedelta
from typing import Any

import pytest

pytest.importorskip(
    "airflow",
    reason="Apache Airflow is not installed here: the Airflow tier of .ci/run (a second "
    "virtual environment with .[dev,airflow]) runs these tests",
)

from airflow.sdk.exceptions import AirflowException, TaskDeferred

from modelarts_poller import (
    DatasetTask,
    DatasetVersionTask,
    ExportTask,
    ImportTask,
    IntelligentTask,
    InvalidArgumentError,
    SyncTask,
)
from modelarts_poller._checkpoint import decode_token
from modelarts_poller.airflow.operators import (
    ModelArtsDatasetExportOperator,
    ModelArtsDatasetImportOperator,
    ModelArtsDatasetSyncOperator,
    ModelArtsDatasetVersionOperator,
    ModelArtsStartOperator,
)
from modelarts_poller.airflow.sensors import ModelArtsTaskSensor
from modelarts_poller.airflow.triggers import CLASSPATH, ModelArtsTaskTrigger
from tests.airflow_tier.conftest import SimThread

FAST = {"interval": 0.1, "max_interval": 0.3}


@pytest.fixture
def conn_id(sim_thread: SimThread, monkeypatch: pytest.MonkeyPatch) -> str:
    conn = {"conn_type": "huaweicloud_modelarts", "extra": sim_thread.extra()}
    monkeypatch.setenv("AIRFLOW_CONN_MA_SIM", json.dumps(conn))
    return "ma_sim"


def deferred(op: Any) -> TaskDeferred:
    with pytest.raises(TaskDeferred) as info:
        op.execute(context={})
    return info.value


def run_trigger(trigger: ModelArtsTaskTrigger) -> Any:
    async def first() -> Any:
        return await asyncio.wait_for(anext(trigger.run()), timeout=20)

    return asyncio.run(first())


@pytest.mark.parametrize(
    ("make", "spec_type"),
    [
        (lambda c: ModelArtsDatasetSyncOperator(task_id="s", dataset_id="ds-1", **c), SyncTask),
        (
            lambda c: ModelArtsDatasetSyncOperator(task_id="s", dataset_id="ds-1", api="v1", **c),
            DatasetTask,
        ),
        (
            lambda c: ModelArtsDatasetExportOperator(
                task_id="e", dataset_id="ds-1", path="/bucket/out/", export_type=2, **c
            ),
            ExportTask,
        ),
        (
            lambda c: ModelArtsDatasetImportOperator(
                task_id="i", dataset_id="ds-1", import_path="/bucket/in/", **c
            ),
            ImportTask,
        ),
        (
            lambda c: ModelArtsDatasetVersionOperator(
                task_id="v", dataset_id="ds-1", version_name="v-7", **c
            ),
            DatasetVersionTask,
        ),
        (
            lambda c: ModelArtsStartOperator(
                task_id="g",
                start="start_intelligent_task",
                start_kwargs={"dataset_id": "ds-1", "task_type": "auto-label"},
                **c,
            ),
            IntelligentTask,
        ),
    ],
)
def test_execute_starts_the_operation_and_defers_to_its_trigger(
    make: Any, spec_type: type, conn_id: str, sim_thread: SimThread
) -> None:
    op = make({"modelarts_conn_id": conn_id, "polling": FAST, "watch_timeout": 120})
    defer = deferred(op)
    assert defer.method_name == "execute_complete"
    trigger = defer.trigger
    assert isinstance(trigger, ModelArtsTaskTrigger)
    classpath, kwargs = trigger.serialize()
    assert classpath == CLASSPATH
    assert kwargs["conn_id"] == conn_id
    assert kwargs["connection"] is None  # no secret stored with the trigger
    assert kwargs["polling"] == FAST
    spec, state = decode_token(kwargs["token"])
    assert type(spec) is spec_type
    assert state.deadline_at is not None  # watch_timeout, as wall-clock time
    assert state.started_at is not None  # started just now: its age is known (durations)
    started = sim_thread.call(lambda: [s.describe() for s in sim_thread.sim.state.tasks.values()])
    assert any(list(spec.ids) == t["ids"] and t["kind"] == spec.kind for t in started), started
    # the trigger's event resumes the operator, whose return value is the XCom
    event = run_trigger(trigger)
    result = op.execute_complete(context={}, event=event.payload)
    assert result["status"] == "completed"
    assert result["task"]["kind"] == spec.kind


def test_execute_complete_raises_for_a_failed_task_unless_told_not_to() -> None:
    failed = {"status": "failed", "task": {"kind": "export"}, "reason": "remote_failed",
              "message": "OBS error", "remote_status": "FAILED", "snapshot": None,
              "event_id": "x"}  # fmt: skip
    op = ModelArtsDatasetExportOperator(task_id="e", dataset_id="d", path="/b/")
    with pytest.raises(AirflowException, match="OBS error"):
        op.execute_complete(context={}, event=failed)
    tolerant = ModelArtsDatasetExportOperator(
        task_id="e2", dataset_id="d", path="/b/", fail_on_failure=False
    )
    assert tolerant.execute_complete(context={}, event=failed)["status"] == "failed"
    with pytest.raises(AirflowException, match="not a ModelArts trigger event"):
        op.execute_complete(context={}, event={"status": "done"})
    # the bare state of an event that ended the task (dag.test() resumes with it)
    assert op.execute_complete(context={}, event="success") == {}
    with pytest.raises(AirflowException, match="failed"):
        op.execute_complete(context={}, event="failed")


def test_a_start_call_that_is_refused_fails_on_the_worker(
    conn_id: str, sim_thread: SimThread
) -> None:
    sim_thread.add("sync", dataset_id="busy", queue=0.0, run=60.0)
    op = ModelArtsDatasetSyncOperator(task_id="s", dataset_id="busy", modelarts_conn_id=conn_id)
    with pytest.raises(Exception, match=r"4355|already|running"):
        op.execute(context={})  # a sync is already running: no trigger is deferred to
    with pytest.raises(InvalidArgumentError, match="unknown start call"):
        ModelArtsStartOperator(task_id="g", start="delete_dataset", modelarts_conn_id=conn_id)\
            .execute(context={})  # fmt: skip


def test_the_generic_operator_takes_an_async_callable_for_your_own_start_call(
    conn_id: str, sim_thread: SimThread
) -> None:
    async def start(client: Any) -> ExportTask:
        return await client.create_export_task("ds-9", path="/bucket/x/")  # type: ignore[no-any-return]

    defer = deferred(ModelArtsStartOperator(task_id="g", start=start, modelarts_conn_id=conn_id))
    spec, _ = decode_token(defer.trigger.serialize()[1]["token"])
    assert isinstance(spec, ExportTask)
    assert spec.dataset_id == "ds-9"


def test_the_sensor_starts_from_the_trigger(conn_id: str, sim_thread: SimThread) -> None:
    script = sim_thread.add("training_job", queue=0.0, run=0.3, outcome="failed")
    sensor = ModelArtsTaskSensor(
        task_id="wait",
        kind="training_job",
        ids=[script.task_id],
        modelarts_conn_id=conn_id,
        polling=FAST,
        fail_on_failure=False,
        timeout=600,
    )
    assert sensor.start_from_trigger is True  # no worker slot: the scheduler defers it
    args = sensor.start_trigger_args
    assert args.trigger_cls == CLASSPATH
    assert args.next_method == "execute_complete"
    assert args.timeout == timedelta(seconds=600)
    trigger = ModelArtsTaskTrigger(**args.trigger_kwargs)  # what the triggerer builds
    event = run_trigger(trigger)
    result = sensor.execute_complete(context={}, event=event.payload)
    assert result["status"] == "failed"
    assert result["task"]["training_job_id"] == script.task_id
    # run on a worker instead, it defers at once, to the same task, with its timeout as
    # the watch's deadline
    again = deferred(sensor)
    assert again.timeout == timedelta(seconds=600)
    spec, state = decode_token(again.trigger.serialize()[1]["token"])
    assert spec == decode_token(trigger.token)[0]
    assert state.deadline_at is not None
    # a task something else started: its age is not known, in either token
    assert state.started_at is None
    assert decode_token(trigger.token)[1].started_at is None


def test_the_sensor_with_templated_ids_starts_on_a_worker() -> None:
    sensor = ModelArtsTaskSensor(
        task_id="wait", kind="export", ids=["ds-1", "{{ ti.xcom_pull('start') }}"]
    )
    assert sensor.start_from_trigger is False
    with pytest.raises(InvalidArgumentError, match="unknown kind"):
        ModelArtsTaskSensor(task_id="w", kind="nope", ids=["a"])
    with pytest.raises(InvalidArgumentError, match="ID"):
        ModelArtsTaskSensor(task_id="w", kind="export", ids=["only-one"])


def test_airflow_lists_the_provider_and_its_connection_type() -> None:
    from airflow.providers_manager import ProvidersManager
    from airflow.sdk.providers_manager_runtime import ProvidersManagerTaskRuntime

    assert "modelarts-poller" in ProvidersManager().providers  # from the entry point
    hook = ProvidersManagerTaskRuntime().hooks["huaweicloud_modelarts"]
    assert hook is not None
    assert hook.hook_class_name == "modelarts_poller.airflow.hooks.ModelArtsHook"
    assert hook.connection_id_attribute_name == "modelarts_conn_id"


def test_the_hook_reads_the_huaweicloud_shape_and_names_what_is_missing(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    from modelarts_poller.airflow.hooks import ModelArtsHook

    good = {"conn_type": "huaweicloud_modelarts", "login": "AKHOOK", "password": "secret-key-1",
            "extra": {"region": "cn-north-4", "project_id": "p1"}}  # fmt: skip
    bad = {"conn_type": "huaweicloud_modelarts", "extra": {"region": "cn-north-4"}}
    monkeypatch.setenv("AIRFLOW_CONN_MA_GOOD", json.dumps(good))
    monkeypatch.setenv("AIRFLOW_CONN_MA_BAD", json.dumps(bad))
    hook = ModelArtsHook("ma_good", max_rate=7)
    conn = hook.get_connection_obj()
    assert conn.project_id == "p1"
    assert conn.max_rate == 7
    assert type(conn.auth()).__name__ == "AkSkAuth"
    assert conn.client().endpoint == "https://modelarts.cn-north-4.myhuaweicloud.com"
    assert asyncio.run(hook.aget_connection_obj()) == conn
    assert hook.test_connection()[0] is True
    ok, message = ModelArtsHook("ma_bad").test_connection()
    assert ok is False
    assert "project_id" in message

"""One DAG end to end with ``dag.test()`` on a SQLite metadata database: an export
operator starts a task on the simulator and defers; a sensor waits for a training job
that fails; both results land in XCom. ``dag.test()`` runs each deferred task's trigger
in line (``asyncio.run`` of its ``run()``) and resumes the task with the event."""

from __future__ import annotations

import importlib.util
import json
import os
import re
import signal
import subprocess
import sys
from pathlib import Path

import pytest

pytest.importorskip(
    "airflow",
    reason="Apache Airflow is not installed here: the Airflow tier of .ci/run (a second "
    "virtual environment with .[dev,airflow]) runs these tests",
)

from tests.airflow_tier.conftest import SimThread

DAG_FILE = """
import os
import re
from datetime import datetime, timezone

from airflow.sdk import DAG

from modelarts_poller.airflow.operators import (
    ModelArtsDatasetExportOperator,
    ModelArtsDatasetSyncOperator,
)
from modelarts_poller.airflow.sensors import ModelArtsTaskSensor

FAST = {"interval": 0.1, "max_interval": 0.3}

with DAG(
    "modelarts_end_to_end",
    schedule=None,
    start_date=datetime(2025, 1, 1, tzinfo=timezone.utc),
    catchup=False,
) as dag:
    export = ModelArtsDatasetExportOperator(
        task_id="export",
        dataset_id="ds-e2e",
        path="/bucket/out/",
        polling=FAST,
        watch_timeout=60,
    )
    wait = ModelArtsTaskSensor(
        task_id="wait_job",
        kind="training_job",
        ids=[os.environ.get("MODELARTS_E2E_JOB", "job-1")],
        polling=FAST,
        fail_on_failure=False,
        timeout=60,
        # The default, start_from_trigger=True. dag.test() has no scheduler or triggerer:
        # it never takes the scheduler's path that defers such a task straight to the
        # triggerer, so it runs the sensor's execute(), which defers at once (the same
        # trigger), and then runs that trigger in line.
        start_from_trigger=True,
    )
    # Ends itself from the trigger with a real triggerer; dag.test() resumes it instead.
    sync = ModelArtsDatasetSyncOperator(
        task_id="sync", dataset_id="ds-e2e", polling=FAST, end_from_trigger=True
    )
    export >> wait >> sync
"""


@pytest.fixture(scope="module")
def metadata_db() -> str:
    home = os.environ["AIRFLOW_HOME"]
    done = subprocess.run(
        [sys.executable, "-m", "airflow", "db", "migrate"],
        capture_output=True,
        text=True,
        timeout=180,
        check=False,
    )
    assert done.returncode == 0, done.stderr[-3000:]
    return home


def test_dag_test_runs_deferred_modelarts_tasks_end_to_end(
    metadata_db: str, sim_thread: SimThread, monkeypatch: pytest.MonkeyPatch
) -> None:
    from airflow.models.xcom import XComModel
    from airflow.utils.session import create_session
    from airflow.utils.state import DagRunState, TaskInstanceState

    conn = {"conn_type": "huaweicloud_modelarts", "extra": sim_thread.extra()}
    monkeypatch.setenv("AIRFLOW_CONN_MODELARTS_DEFAULT", json.dumps(conn))
    job = sim_thread.add("training_job", queue=0.0, run=0.5, outcome="failed")

    # dag.test() serializes the DAG from its file in the DAGs folder, so it lives there.
    folder = Path(os.environ["AIRFLOW__CORE__DAGS_FOLDER"])
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "modelarts_end_to_end.py").write_text(DAG_FILE, encoding="utf-8")
    monkeypatch.setenv("MODELARTS_E2E_JOB", job.task_id)
    spec = importlib.util.spec_from_file_location(
        "modelarts_end_to_end", folder / "modelarts_end_to_end.py"
    )
    assert spec is not None
    assert spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    dag = module.dag

    # Bounded: dag.test() loops until the run ends; an alarm ends a hang instead.
    def hung(signum: int, frame: object) -> None:
        raise TimeoutError("dag.test() did not finish in 120 s")

    previous = signal.signal(signal.SIGALRM, hung)
    signal.alarm(120)
    try:
        run = dag.test()
    finally:
        signal.alarm(0)
        signal.signal(signal.SIGALRM, previous)
    assert run.state == DagRunState.SUCCESS
    with create_session() as session:
        states = {ti.task_id: ti.state for ti in run.get_task_instances(session=session)}
        values = {
            row.task_id: row.value
            for row in session.query(XComModel).filter(
                XComModel.dag_id == dag.dag_id, XComModel.run_id == run.run_id
            )
        }
    assert states == dict.fromkeys(("export", "wait_job", "sync"), TaskInstanceState.SUCCESS)
    assert _json(values["sync"]) == {}  # dag.test() ignores end_from_trigger (docs say so)
    exported = _json(values["export"])
    waited = _json(values["wait_job"])
    assert exported["status"] == "completed"
    assert exported["task"]["dataset_id"] == "ds-e2e"
    assert waited["status"] == "failed"
    assert waited["reason"] == "remote_failed"
    assert waited["task"]["training_job_id"] == job.task_id


def _json(value: object) -> dict[str, object]:
    out = json.loads(value) if isinstance(value, str | bytes) else value
    assert isinstance(out, dict), value
    return out


def test_the_docs_dag_of_100_exports_parses_into_the_tasks_it_promises() -> None:
    from airflow.sdk.definitions.mappedoperator import MappedOperator

    page = (Path(__file__).resolve().parents[2] / "docs" / "airflow.md").read_text("utf-8")
    (source,) = re.findall(r"^```py-dag\n(.*?)^```", page, re.MULTILINE | re.DOTALL)
    scope: dict[str, object] = {"__name__": "docs_dag"}
    exec(compile(source, "docs/airflow.md", "exec"), scope)
    dag = scope["dag"]
    export = dag.get_task("export")  # type: ignore[attr-defined]
    sensor = dag.get_task("wait_for_training")  # type: ignore[attr-defined]
    assert isinstance(export, MappedOperator)
    assert len(export.expand_input.value["path"]) == 100
    assert sensor.start_from_trigger is True  # no worker slot
    assert sensor.upstream_task_ids == {"export"}

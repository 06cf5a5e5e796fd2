"""A real deployment (API server, scheduler, DAG processor and triggerer as processes, the
LocalExecutor, SQLite) against the simulator: several deferred tasks whose triggers share
one engine in the triggerer, and each task's log holds its own trigger's progress and no
other task's. ``dag.test()`` cannot show this: it runs each trigger alone, in an event
loop (and so an engine) of its own."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import pytest

pytest.importorskip(
    "airflow",
    reason="Apache Airflow is not installed here: the Airflow tier of .ci/run (a second "
    "virtual environment with .[dev,airflow]) runs these tests",
)

from tests.airflow_tier._deployment import Deployment
from tests.airflow_tier.conftest import SimThread

DAG_ID = "modelarts_trigger_logs"
JOBS = {"wait_alpha": "job-alpha", "wait_bravo": "job-bravo", "wait_charlie": "job-charlie"}

DAG_FILE = f"""
from datetime import datetime, timezone

from airflow.sdk import DAG

from modelarts_poller.airflow.sensors import ModelArtsTaskSensor

with DAG(
    {DAG_ID!r},
    schedule=None,
    start_date=datetime(2025, 1, 1, tzinfo=timezone.utc),
    catchup=False,
) as dag:
    for task_id, job in {JOBS!r}.items():
        # Straight from the scheduler to the triggerer (start_from_trigger), ended there.
        ModelArtsTaskSensor(
            task_id=task_id,
            kind="training_job",
            ids=[job],
            polling={{"interval": 0.2, "max_interval": 0.5}},
            end_from_trigger=True,
            timeout=300,
        )
"""


@pytest.fixture
def airflow_deployment(tmp_path: Path, sim_thread: SimThread) -> Iterator[Deployment]:
    conn = {"conn_type": "huaweicloud_modelarts", "extra": sim_thread.extra()}
    env = {"AIRFLOW_CONN_MODELARTS_DEFAULT": json.dumps(conn)}
    with Deployment(tmp_path / "airflow", env=env) as deployment:
        yield deployment


def _events(text: str) -> list[str]:
    """The messages of a trigger log (JSON lines)."""
    out = []
    for line in text.splitlines():
        try:
            record = json.loads(line)
        except ValueError:
            out.append(line)
            continue
        out.append(str(record.get("event", "")) if isinstance(record, dict) else line)
    return out


def test_each_trigger_logs_its_progress_to_its_own_task(
    airflow_deployment: Deployment, sim_thread: SimThread
) -> None:
    deployment = airflow_deployment
    # Queued until every trigger is waiting in the triggerer: they then share one engine.
    scripts = {
        task_id: sim_thread.add("training_job", training_job_id=job, queue=1e6, run=4.0)
        for task_id, job in JOBS.items()
    }
    deployment.write_dag(DAG_ID, DAG_FILE)
    deployment.wait_for_dag(DAG_ID, timeout=120)
    run_id = deployment.trigger(DAG_ID, "logs-run")

    def all_watching() -> bool:
        for task_id, job in JOBS.items():
            logs = deployment.task_logs(DAG_ID, run_id, task_id)
            if not any(f"watching training_job:{job}" in text for text in logs.values()):
                return False
        return True

    deployment.wait_for(all_watching, timeout=120, what="every trigger to start watching")

    def release() -> None:
        now = sim_thread.sim.state.clock()
        for script in scripts.values():
            script.created, script.queue = now, 0.0

    sim_thread.call(release)
    states = deployment.wait_for_run(DAG_ID, run_id, timeout=90)
    assert states == dict.fromkeys(JOBS, "success"), deployment.report()

    for task_id, job in JOBS.items():
        logs = deployment.task_logs(DAG_ID, run_id, task_id)
        triggered = {name: text for name, text in logs.items() if ".trigger." in name}
        assert triggered, f"{task_id} has no trigger log: {sorted(logs)}"
        events = [e for text in triggered.values() for e in _events(text)]
        progress = [e for e in events if e.startswith(f"training_job:{job}: ")]
        assert progress, f"{task_id}'s log has none of its trigger's progress:\n{events}"
        others = [e for e in events for other in JOBS.values() if other != job and other in e]
        assert not others, f"{task_id}'s log has other tasks' lines:\n{others}"

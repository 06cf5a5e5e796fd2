"""A real deployment (API server, scheduler, DAG processor and triggerer as processes, the
LocalExecutor, SQLite) against the simulator: marking a deferred task failed stops its
training job (with ``cancel_on_kill``) or leaves it running (without); a triggerer shut
down or killed and replaced never stops it; a worker killed between the start call and the
defer is retried, and the retry re-attaches (the simulator saw one start)."""

from __future__ import annotations

import json
import signal
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

pytest.importorskip(
    "airflow",
    reason="Apache Airflow is not installed here: the Airflow tier of .ci/run (a second "
    "virtual environment with .[dev,airflow]) runs these tests",
)

from modelarts_poller.simulator import body_at
from tests.airflow_tier._deployment import Deployment
from tests.airflow_tier.conftest import SimThread

SENSORS = """
from datetime import datetime, timezone

from airflow.sdk import DAG

from modelarts_poller.airflow.sensors import ModelArtsTaskSensor

with DAG({dag_id!r}, schedule=None, start_date=datetime(2025, 1, 1, tzinfo=timezone.utc),
         catchup=False) as dag:
    for task_id, (job, cancel_on_kill) in {tasks!r}.items():
        ModelArtsTaskSensor(
            task_id=task_id,
            kind="training_job",
            ids=[job],
            polling={{"interval": 0.2, "max_interval": 0.5}},
            end_from_trigger=True,
            cancel_on_kill=cancel_on_kill,
            timeout=600,
        )
"""


@pytest.fixture
def airflow_deployment(tmp_path: Path, sim_thread: SimThread) -> Iterator[Deployment]:
    conn = {"conn_type": "huaweicloud_modelarts", "extra": sim_thread.extra()}
    env = {
        "AIRFLOW_CONN_MODELARTS_DEFAULT": json.dumps(conn),
        # A killed triggerer's triggers go to another one after this many seconds.
        "AIRFLOW__TRIGGERER__TRIGGERER_HEALTH_CHECK_THRESHOLD": "5",
        "AIRFLOW__SCHEDULER__TASK_INSTANCE_HEARTBEAT_TIMEOUT": "10",
    }
    with Deployment(tmp_path / "airflow", env=env, budget=540) as deployment:
        yield deployment


def phase(sim_thread: SimThread, script: Any) -> str:
    def now() -> str:
        clock = sim_thread.sim.state.clock()
        value: str = body_at(script, clock - script.created)["status"]["phase"]
        return value

    return sim_thread.call(now)


def watches(deployment: Deployment, dag_id: str, run_id: str, task_id: str, job: str) -> int:
    """How many times a trigger of the task started watching ``job`` (each triggerer that
    ran it once)."""
    logs = deployment.task_logs(dag_id, run_id, task_id)
    return sum(text.count(f"watching training_job:{job}") for text in logs.values())


def test_marking_a_deferred_task_failed_stops_its_job_only_with_cancel_on_kill(
    airflow_deployment: Deployment, sim_thread: SimThread
) -> None:
    deployment, dag_id = airflow_deployment, "modelarts_mark_failed"
    tasks = {"stops": ("job-stops", True), "keeps": ("job-keeps", False)}
    jobs = {
        task_id: sim_thread.add("training_job", training_job_id=job, queue=0.0, run=1e6)
        for task_id, (job, _) in tasks.items()
    }
    deployment.write_dag(dag_id, SENSORS.format(dag_id=dag_id, tasks=tasks))
    deployment.wait_for_dag(dag_id)
    run_id = deployment.trigger(dag_id, "kill-run")
    for task_id, (job, _) in tasks.items():
        deployment.wait_for(
            lambda t=task_id, j=job: watches(deployment, dag_id, run_id, t, j),
            timeout=120,
            what=f"{task_id} to be watching",
        )
    assert {phase(sim_thread, s) for s in jobs.values()} == {"Running"}

    for task_id in tasks:
        deployment.mark(dag_id, run_id, task_id, "failed")
    deployment.wait_for(
        lambda: phase(sim_thread, jobs["stops"]) in ("Terminating", "Terminated"),
        timeout=60,
        what="the job of the task marked failed to be stopped",
    )

    def left_running() -> bool:
        logs = deployment.task_logs(dag_id, run_id, "keeps").values()
        line = "left training_job:job-keeps running (cancel_on_kill is off)"
        return any(line in text for text in logs)

    deployment.wait_for(left_running, timeout=60, what="the other trigger's on_kill")
    assert phase(sim_thread, jobs["keeps"]) == "Running"
    assert deployment.task_states(dag_id, run_id) == dict.fromkeys(tasks, "failed")


def test_a_triggerer_shut_down_or_killed_and_replaced_never_stops_the_job(
    airflow_deployment: Deployment, sim_thread: SimThread
) -> None:
    deployment, dag_id, job = airflow_deployment, "modelarts_rehome", "job-rehome"
    script = sim_thread.add("training_job", training_job_id=job, queue=0.0, run=1e6)
    deployment.write_dag(dag_id, SENSORS.format(dag_id=dag_id, tasks={"wait": (job, True)}))
    deployment.wait_for_dag(dag_id)
    run_id = deployment.trigger(dag_id, "rehome-run")
    deployment.wait_for(
        lambda: watches(deployment, dag_id, run_id, "wait", job), timeout=120, what="a watch"
    )
    # A shutdown (SIGTERM), then a crash (SIGKILL): each time a new triggerer takes the
    # trigger over, and the job runs on.
    for n, sig in enumerate((signal.SIGTERM, signal.SIGKILL), start=2):
        deployment.restart("triggerer", sig=sig)
        deployment.wait_for(
            lambda n=n: watches(deployment, dag_id, run_id, "wait", job) >= n,
            timeout=120,
            what=f"watch {n}, by the new triggerer",
        )
        assert phase(sim_thread, script) == "Running"
        assert deployment.task_states(dag_id, run_id) == {"wait": "deferred"}

    def finish() -> None:
        script.created, script.run = sim_thread.sim.state.clock() - 1.0, 0.5

    sim_thread.call(finish)
    states = deployment.wait_for_run(dag_id, run_id, timeout=90)
    assert states == {"wait": "success"}, deployment.report()
    assert phase(sim_thread, script) == "Completed"


CRASHING = """
import os
import signal
from datetime import datetime, timedelta, timezone

from airflow.sdk import DAG

from modelarts_poller.airflow.operators import ModelArtsDatasetExportOperator

MARK = {mark!r}


class CrashBeforeDefer(ModelArtsDatasetExportOperator):
    # The first try's worker dies after the start call returned, before the defer.
    def defer(self, **kwargs):
        if not os.path.exists(MARK):
            open(MARK, "w").close()
            os.kill(os.getpid(), signal.SIGKILL)
        super().defer(**kwargs)


with DAG({dag_id!r}, schedule=None, start_date=datetime(2025, 1, 1, tzinfo=timezone.utc),
         catchup=False) as dag:
    CrashBeforeDefer(
        task_id="export",
        dataset_id="ds-crash",
        path="/bucket/out/",
        polling={{"interval": 0.2, "max_interval": 0.5}},
        retries=1,
        retry_delay=timedelta(seconds=1),
    )
"""


def test_a_retry_after_a_crash_between_start_and_defer_re_attaches(
    airflow_deployment: Deployment, sim_thread: SimThread, tmp_path: Path
) -> None:
    deployment, dag_id = airflow_deployment, "modelarts_crash"
    mark = tmp_path / "crashed-once"
    deployment.write_dag(dag_id, CRASHING.format(dag_id=dag_id, mark=str(mark)))
    deployment.wait_for_dag(dag_id)
    run_id = deployment.trigger(dag_id, "crash-run")
    states = deployment.wait_for_run(dag_id, run_id, timeout=240)
    assert mark.exists()  # the first try did die
    assert states == {"export": "success"}, deployment.report()
    tries = deployment.query(
        "SELECT try_number FROM task_instance WHERE dag_id = ? AND run_id = ?", dag_id, run_id
    )
    assert tries == [(2,)]
    started = sim_thread.call(
        lambda: [t.describe() for t in sim_thread.sim.state.tasks.values() if t.kind == "export"]
    )
    assert len(started) == 1, started  # one start call, not two
    logs = "".join(deployment.task_logs(dag_id, run_id, "export").values())
    assert "re-attaching to export:ds-crash/" in logs

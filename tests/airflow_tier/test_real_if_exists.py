"""A real deployment (API server, scheduler, DAG processor and triggerer as processes, the
LocalExecutor, SQLite) against the simulator: an operator whose notebook's name is taken
attaches to that notebook (``if_exists="attach"``, the default) instead of creating one,
and a user's clear of the deferred task re-attaches to it again; the simulator saw no
create call."""

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

NOTEBOOK = """
from datetime import datetime, timezone

from airflow.sdk import DAG

from modelarts_poller.airflow.operators import ModelArtsStartOperator

with DAG({dag_id!r}, schedule=None, start_date=datetime(2025, 1, 1, tzinfo=timezone.utc),
         catchup=False) as dag:
    ModelArtsStartOperator(
        task_id="nb",
        start="create_notebook",
        start_kwargs={{"name": {name!r}, "flavor": "modelarts.vm.cpu.2u", "image_id": "img"}},
        polling={{"interval": 0.2, "max_interval": 0.5}},
    )
"""


@pytest.fixture
def airflow_deployment(tmp_path: Path, sim_thread: SimThread) -> Iterator[Deployment]:
    conn = {"conn_type": "huaweicloud_modelarts", "extra": sim_thread.extra()}
    env = {"AIRFLOW_CONN_MODELARTS_DEFAULT": json.dumps(conn)}
    with Deployment(tmp_path / "airflow", env=env, budget=400) as deployment:
        yield deployment


def test_a_cleared_deferred_task_re_attaches_to_the_notebook_of_its_name(
    airflow_deployment: Deployment, sim_thread: SimThread
) -> None:
    deployment, dag_id = airflow_deployment, "modelarts_if_exists"
    # Creating for 45 s (RUNNING after queue + run): deferred until it is cleared.
    existing = sim_thread.add("notebook", queue=20.0, run=25.0)
    notebook_id = existing.ids[0]
    deployment.write_dag(dag_id, NOTEBOOK.format(dag_id=dag_id, name=f"notebook-{notebook_id}"))
    deployment.wait_for_dag(dag_id)
    run_id = deployment.trigger(dag_id, "attach-run")

    def deferred() -> bool:
        return deployment.task_states(dag_id, run_id).get("nb") == "deferred"

    deployment.wait_for(deferred, timeout=120, what="the task to defer")
    deployment.api(
        "POST",
        f"/api/v2/dags/{dag_id}/clearTaskInstances",
        {"dry_run": False, "dag_run_id": run_id, "task_ids": ["nb"], "only_failed": False},
    )
    states = deployment.wait_for_run(dag_id, run_id, timeout=240)
    assert states == {"nb": "success"}, deployment.report()
    tries = deployment.query(
        "SELECT try_number FROM task_instance WHERE dag_id = ? AND run_id = ?", dag_id, run_id
    )
    assert tries == [(2,)]
    notebooks = sim_thread.call(
        lambda: [t.task_id for t in sim_thread.sim.state.tasks.values() if t.kind == "notebook"]
    )
    assert notebooks == [notebook_id]  # no create call
    logs = "".join(deployment.task_logs(dag_id, run_id, "nb").values())
    assert f"attaching to notebook:{notebook_id}" in logs
    assert f"re-attaching to notebook:{notebook_id}" in logs

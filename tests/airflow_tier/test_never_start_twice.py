"""An operator records what it started in the task instance's ``task_state_store`` before
it defers, and a later try re-attaches to it instead of starting again, unless it is gone
or failed. (The real deployment's worker crash is in ``test_real_stop_and_restart``.)"""

from __future__ import annotations

import json
from typing import Any

import pytest

pytest.importorskip(
    "airflow",
    reason="Apache Airflow is not installed here: the Airflow tier of .ci/run (a second "
    "virtual environment with .[dev,airflow]) runs these tests",
)

from airflow.sdk.exceptions import TaskDeferred

from modelarts_poller._checkpoint import decode_token
from modelarts_poller.airflow.operators import STARTED_KEY, ModelArtsDatasetExportOperator
from tests.airflow_tier.conftest import SimThread


class Store:
    """What ``context["task_state_store"]`` offers an operator: get and set by key."""

    def __init__(self) -> None:
        self.values: dict[str, Any] = {}

    def get(self, key: str, default: Any = None) -> Any:
        return self.values.get(key, default)

    def set(self, key: str, value: Any, *, retention: Any = None) -> None:
        json.dumps(value)  # the store keeps JSON
        self.values[key] = value


@pytest.fixture
def conn_id(sim_thread: SimThread, monkeypatch: pytest.MonkeyPatch) -> str:
    conn = {"conn_type": "huaweicloud_modelarts", "extra": sim_thread.extra()}
    monkeypatch.setenv("AIRFLOW_CONN_MA_SIM", json.dumps(conn))
    return "ma_sim"


def exports(sim_thread: SimThread) -> list[dict[str, Any]]:
    return sim_thread.call(
        lambda: [t.describe() for t in sim_thread.sim.state.tasks.values() if t.kind == "export"]
    )


def defer(op: Any, context: dict[str, Any]) -> Any:
    with pytest.raises(TaskDeferred) as info:
        op.execute(context=context)
    spec, state = decode_token(info.value.trigger.serialize()[1]["token"])
    return spec, state


def make(conn_id: str) -> ModelArtsDatasetExportOperator:
    return ModelArtsDatasetExportOperator(
        task_id="e", dataset_id="ds-1", path="/bucket/out/", modelarts_conn_id=conn_id
    )


def test_a_second_try_re_attaches_to_what_the_first_started(
    conn_id: str, sim_thread: SimThread
) -> None:
    store = Store()
    first, state = defer(make(conn_id), {"task_state_store": store})
    assert store.values[STARTED_KEY] == {
        "kind": "export",
        "ids": list(first.ids),
        "project_id": first.project_id,
    }
    assert state.started_at is not None
    again, state = defer(make(conn_id), {"task_state_store": store})
    assert again == first
    assert state.started_at is None  # its age is not known from here
    assert len(exports(sim_thread)) == 1


def test_a_recorded_task_that_failed_or_is_gone_is_started_anew(
    conn_id: str, sim_thread: SimThread
) -> None:
    failed = sim_thread.add("export", dataset_id="ds-1", queue=0.0, run=0.0, outcome="failed")
    for ids in (list(failed.ids), ["ds-1", "no-such-task"]):
        store = Store()
        store.set(STARTED_KEY, {"kind": "export", "ids": ids, "project_id": None})
        spec, _ = defer(make(conn_id), {"task_state_store": store})
        assert list(spec.ids) != ids
        assert store.values[STARTED_KEY]["ids"] == list(spec.ids)
    assert len(exports(sim_thread)) == 3  # the failed one and two new ones


def test_without_a_task_state_store_every_try_starts(
    conn_id: str, sim_thread: SimThread, capsys: pytest.CaptureFixture[str]
) -> None:
    a, _ = defer(make(conn_id), {})
    b, _ = defer(make(conn_id), {})
    assert a != b
    assert len(exports(sim_thread)) == 2
    assert "no task_state_store" in capsys.readouterr().out

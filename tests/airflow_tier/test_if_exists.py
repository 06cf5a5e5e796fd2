"""``if_exists`` on a start call whose resource has a user-chosen name: before starting,
the operator looks the name up through the kind's list call, and attaches to a resource of
that name that has not failed, fails naming it, or starts anew."""

from __future__ import annotations

import json
from typing import Any

import pytest

pytest.importorskip(
    "airflow",
    reason="Apache Airflow is not installed here: the Airflow tier of .ci/run (a second "
    "virtual environment with .[dev,airflow]) runs these tests",
)

from airflow.sdk.exceptions import AirflowFailException, TaskDeferred

from modelarts_poller._checkpoint import decode_token
from modelarts_poller._errors import InvalidArgumentError
from modelarts_poller.airflow.operators import STARTED_KEY, ModelArtsStartOperator
from tests.airflow_tier.conftest import SimThread
from tests.airflow_tier.test_never_start_twice import Store


@pytest.fixture
def conn_id(sim_thread: SimThread, monkeypatch: pytest.MonkeyPatch) -> str:
    conn = {"conn_type": "huaweicloud_modelarts", "extra": sim_thread.extra()}
    monkeypatch.setenv("AIRFLOW_CONN_MA_SIM", json.dumps(conn))
    return "ma_sim"


def of_kind(sim_thread: SimThread, kind: str) -> list[str]:
    return sim_thread.call(
        lambda: [t.task_id for t in sim_thread.sim.state.tasks.values() if t.kind == kind]
    )


def notebook_op(conn_id: str, name: str, **kw: Any) -> ModelArtsStartOperator:
    return ModelArtsStartOperator(
        task_id="nb",
        start="create_notebook",
        start_kwargs={"name": name, "flavor": "modelarts.vm.cpu.2u", "image_id": "img-1"},
        modelarts_conn_id=conn_id,
        **kw,
    )


def defer(op: Any, context: dict[str, Any] | None = None) -> Any:
    with pytest.raises(TaskDeferred) as info:
        op.execute(context=context or {})
    spec, state = decode_token(info.value.trigger.serialize()[1]["token"])
    return spec, state


# The simulator names a notebook it was given "notebook-<its id>", a training job "job-<its id>".


def test_attach_is_the_default_and_watches_the_named_resource(
    conn_id: str, sim_thread: SimThread
) -> None:
    existing = sim_thread.add("notebook", queue=0.0, run=100.0)
    name = f"notebook-{existing.ids[0]}"
    store = Store()
    spec, state = defer(notebook_op(conn_id, name), {"task_state_store": store})
    assert list(spec.ids) == list(existing.ids)
    assert spec.success == frozenset({"RUNNING"})  # watched as create_notebook's spec is
    assert state.started_at is None
    assert store.values[STARTED_KEY]["ids"] == list(existing.ids)
    assert of_kind(sim_thread, "notebook") == [existing.ids[0]]  # nothing started


def test_attach_finds_a_training_job_by_its_metadata_name(
    conn_id: str, sim_thread: SimThread
) -> None:
    sim_thread.add("training_job", queue=0.0, run=100.0)
    sim_thread.add("training_job", queue=0.0, run=0.0)  # completed: it counts
    sim_thread.add("training_job", queue=0.0, run=100.0)
    wanted = of_kind(sim_thread, "training_job")[1]
    op = ModelArtsStartOperator(
        task_id="tj",
        start="create_training_job",
        start_kwargs={"metadata": {"name": f"job-{wanted}"}},
        modelarts_conn_id=conn_id,
        if_exists="attach",
    )
    spec, _ = defer(op)
    assert list(spec.ids) == [wanted]
    assert len(of_kind(sim_thread, "training_job")) == 3


def test_attach_starts_anew_when_the_named_resource_failed_or_none_has_the_name(
    conn_id: str, sim_thread: SimThread
) -> None:
    failed = sim_thread.add("notebook", queue=0.0, run=0.0, outcome="failed")
    a, _ = defer(notebook_op(conn_id, f"notebook-{failed.ids[0]}"))
    b, _ = defer(notebook_op(conn_id, "no-such-name"))
    assert failed.ids not in (a.ids, b.ids)
    assert a != b
    assert len(of_kind(sim_thread, "notebook")) == 3


def test_fail_raises_naming_the_resource_and_starts_nothing(
    conn_id: str, sim_thread: SimThread
) -> None:
    existing = sim_thread.add("notebook", queue=0.0, run=100.0)
    name = f"notebook-{existing.ids[0]}"
    with pytest.raises(AirflowFailException, match=f"notebook named '{name}'.*{existing.ids[0]}"):
        notebook_op(conn_id, name, if_exists="fail").execute(context={})
    assert len(of_kind(sim_thread, "notebook")) == 1
    # No resource of that name: it starts.
    spec, _ = defer(notebook_op(conn_id, "fresh", if_exists="fail"))
    assert len(of_kind(sim_thread, "notebook")) == 2
    assert spec.ids != existing.ids


def test_start_starts_anew_beside_the_named_resource(conn_id: str, sim_thread: SimThread) -> None:
    existing = sim_thread.add("notebook", queue=0.0, run=100.0)
    spec, state = defer(notebook_op(conn_id, f"notebook-{existing.ids[0]}", if_exists="start"))
    assert spec.ids != existing.ids
    assert state.started_at is not None
    assert len(of_kind(sim_thread, "notebook")) == 2


def test_a_record_of_an_earlier_try_is_read_before_any_lookup(
    conn_id: str, sim_thread: SimThread
) -> None:
    ours = sim_thread.add("notebook", queue=0.0, run=100.0)
    store = Store()
    store.set(STARTED_KEY, {"kind": "notebook", "ids": list(ours.ids), "project_id": None})
    # With "fail", a lookup would find the name taken (by ours) and fail; the record wins.
    spec, _ = defer(
        notebook_op(conn_id, f"notebook-{ours.ids[0]}", if_exists="fail"),
        {"task_state_store": store},
    )
    assert list(spec.ids) == list(ours.ids)
    assert len(of_kind(sim_thread, "notebook")) == 1


def test_a_bad_value_is_refused_where_the_operator_is_made() -> None:
    with pytest.raises(InvalidArgumentError, match=r"if_exists must be one of.*'reuse'"):
        notebook_op("c", "n", if_exists="reuse")


@pytest.mark.parametrize("start", ["create_export_task", "start_sync"])
def test_if_exists_is_refused_on_a_start_call_without_a_name_lookup(start: str) -> None:
    with pytest.raises(InvalidArgumentError, match=f"if_exists needs.*{start!r} has none"):
        ModelArtsStartOperator(task_id="x", start=start, if_exists="attach")


def test_if_exists_is_refused_on_a_start_callable() -> None:
    async def mine(client: Any) -> Any:
        raise AssertionError("not called")

    with pytest.raises(InvalidArgumentError, match="if_exists needs"):
        ModelArtsStartOperator(task_id="x", start=mine, if_exists="fail")
    assert ModelArtsStartOperator(task_id="y", start=mine).if_exists is None

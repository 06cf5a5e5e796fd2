"""Bad arguments to the trigger, the sensor, the operators and the hook are refused where
each is made (when the DAG is parsed), never after an operator started its operation on
ModelArts nor in the triggerer, where one bad value fails every trigger of a connection."""

from __future__ import annotations

from typing import Any

import pytest

pytest.importorskip(
    "airflow",
    reason="Apache Airflow is not installed here: the Airflow tier of .ci/run (a second "
    "virtual environment with .[dev,airflow]) runs these tests",
)

from modelarts_poller import ExportTask, InvalidArgumentError
from modelarts_poller.airflow._shared import token_for
from modelarts_poller.airflow.hooks import ModelArtsHook
from modelarts_poller.airflow.operators import (
    ModelArtsDatasetExportOperator,
    ModelArtsDatasetImportOperator,
    ModelArtsDatasetSyncOperator,
    ModelArtsDatasetVersionOperator,
    ModelArtsStartOperator,
)
from modelarts_poller.airflow.sensors import ModelArtsTaskSensor
from modelarts_poller.airflow.triggers import ModelArtsTaskTrigger

BAD_RATES = [-1, 0, "fast", float("nan"), float("inf"), True]

# (keyword arguments, what the error names): each refused by every class that takes it.
BAD_OPTIONS: list[tuple[dict[str, Any], str]] = [
    *(({"max_rate": rate}, "max_rate") for rate in BAD_RATES),
    ({"rate_limiter": "no-colon"}, "rate_limiter"),
    ({"rate_limiter": 3}, "rate_limiter"),
    ({"max_rate": 5, "rate_limiter": "a.b:c"}, "not both"),
    ({"polling": {"interval": -1}}, "interval"),
    ({"polling": {"every": 5}}, "unknown polling option"),
    ({"polling": "fast"}, "polling options must be a mapping"),
    ({"polling": {"max_polls": 0}}, "max_polls"),
    ({"fail_on_failure": "yes"}, "fail_on_failure"),
    ({"fail_on_failure": 1}, "fail_on_failure"),
    ({"end_from_trigger": None}, "end_from_trigger"),
]

OPERATORS: list[Any] = [
    lambda **kw: ModelArtsDatasetExportOperator(task_id="x", dataset_id="d", path="/b/", **kw),
    lambda **kw: ModelArtsDatasetImportOperator(
        task_id="x", dataset_id="d", import_path="/b/", **kw
    ),
    lambda **kw: ModelArtsDatasetSyncOperator(task_id="x", dataset_id="d", **kw),
    lambda **kw: ModelArtsDatasetVersionOperator(task_id="x", dataset_id="d", **kw),
    lambda **kw: ModelArtsStartOperator(task_id="x", start="start_sync", **kw),
]


def sensor(**kw: Any) -> ModelArtsTaskSensor:
    return ModelArtsTaskSensor(task_id="s", kind="export", ids=["d", "t"], **kw)


def worker_sensor(**kw: Any) -> ModelArtsTaskSensor:
    # Templated IDs: it starts on a worker, and makes its trigger only in execute().
    return ModelArtsTaskSensor(
        task_id="s", kind="export", ids=["d", "{{ ti.xcom_pull('t') }}"], **kw
    )


def trigger(**kw: Any) -> ModelArtsTaskTrigger:
    return ModelArtsTaskTrigger(token=token_for(ExportTask("d", "t")), conn_id="c", **kw)


@pytest.mark.parametrize(("kw", "match"), BAD_OPTIONS)
@pytest.mark.parametrize("make", [*OPERATORS, sensor, worker_sensor, trigger])
def test_every_class_refuses_a_bad_option_where_it_is_made(
    make: Any, kw: dict[str, Any], match: str
) -> None:
    with pytest.raises(InvalidArgumentError, match=match):
        make(**kw)


@pytest.mark.parametrize("timeout", [-1, 0, "1h", float("nan"), True])
@pytest.mark.parametrize("make", OPERATORS)
def test_an_operator_refuses_a_bad_watch_timeout_before_it_starts_anything(
    make: Any, timeout: object
) -> None:
    with pytest.raises(InvalidArgumentError, match="watch_timeout"):
        make(watch_timeout=timeout)


@pytest.mark.parametrize("rate", BAD_RATES)
def test_the_hook_refuses_a_bad_max_rate_where_it_is_made(rate: object) -> None:
    with pytest.raises(InvalidArgumentError, match="max_rate"):
        ModelArtsHook("c", max_rate=rate)  # type: ignore[arg-type]
    with pytest.raises(InvalidArgumentError, match="not both"):
        ModelArtsHook("c", max_rate=5, rate_limiter="a.b:c")


def test_good_options_are_kept() -> None:
    op = ModelArtsDatasetExportOperator(
        task_id="x",
        dataset_id="d",
        path="/b/",
        max_rate=2.5,
        polling={"interval": 1, "max_polls": 3},
        watch_timeout=60,
        fail_on_failure=False,
    )
    assert (op.max_rate, op.watch_timeout, op.fail_on_failure) == (2.5, 60, False)
    assert sensor(rate_limiter="a.b:c").rate_limiter == "a.b:c"

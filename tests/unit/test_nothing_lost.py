"""Nothing the server sends is silently lost, and every kind's status enum is its published list.

For each kind, every value of every body the simulator answers (each stage, each failure) and
of the published example responses must end up in a model field or in ``extra``. Each value
is first replaced by a marker no other value shares, so a field that merely happens to hold
an equal value cannot hide a dropped one. The published status lists are copied here from
the API reference, independently of the library's tables.
"""

from __future__ import annotations

import enum
import itertools
import json
from collections.abc import Iterator, Mapping
from typing import Any

import attrs
import pytest

from modelarts_poller import (
    DatasetStatusValue,
    DatasetTaskStatusValue,
    DevServerStatusValue,
    ExportStatusValue,
    ImportStatusValue,
    InferServiceStatusValue,
    IntelligentStatusValue,
    ModelStatusValue,
    NotebookStatusValue,
    PoolPhaseValue,
    ProcessingStatusValue,
    ServiceStatusValue,
    SyncStatusValue,
    TrainingPhaseValue,
    VersionStatusValue,
    WorkflowExecutionStatusValue,
    get_kind,
    kinds,
)
from modelarts_poller.simulator._lifecycle import (
    DATASET_KINDS,
    KINDS,
    OWN_ID_KINDS,
    Script,
    body_at,
)
from tests.sdk_oracle import documented
from tests.unit.test_models_export import LIST_ENTRY
from tests.unit.test_models_export import SEED as EXPORT_SEED
from tests.unit.test_models_sync import SEED as SYNC_SEED

BUILT_IN = sorted(k.name for k in kinds() if not k.name.startswith("toy"))

# The status values each kind's reference page documents (docs/models.md names the pages);
# for the kinds of the official SDK, its models' docstrings, read from the SDK itself.
PUBLISHED_STATUS: dict[str, tuple[type[enum.Enum], set[object]]] = {
    "infer_service": (
        InferServiceStatusValue,
        set(
            documented("ShowInferServiceResponse", "status")
            | documented("ServiceItemResponseData", "status")
        ),
    ),
    "notebook": (NotebookStatusValue, set(documented("ShowNotebookResponse", "status"))),
    "dev_server": (DevServerStatusValue, set(documented("ShowDevServerResponse", "status"))),
    "sync": (
        SyncStatusValue,
        {"QUEUING", "STARTING", "RUNNING", "COMPLETED", "FAILED", "NOT_EXIST"},
    ),
    "export": (ExportStatusValue, {"INIT", "RUNNING", "FAILED", "SUCCESSED"}),
    "dataset_task": (
        DatasetTaskStatusValue,
        {"PENDING", "WAITING", "RUNNING", "STARTED", "RETRY", "FAILURE", "SUCCESS"},
    ),
    "import": (
        ImportStatusValue,
        {"QUEUING", "STARTING", "RUNNING", "COMPLETED", "FAILED", "NOT_EXIST"},
    ),
    "version": (VersionStatusValue, {0, 1, 2, 3, 4}),
    "dataset": (DatasetStatusValue, set(range(9))),
    "intelligent_task": (IntelligentStatusValue, set(range(-1, 6))),
    "processing_task": (ProcessingStatusValue, set(range(5))),
    "training_job": (
        TrainingPhaseValue,
        {
            "Creating",
            "Pending",
            "Running",
            "Completed",
            "Failed",
            "Terminating",
            "Terminated",
            "Abnormal",
        },
    ),
    "model": (
        ModelStatusValue,
        {"publishing", "building", "published", "failed", "building_failed"},
    ),
    "service": (
        ServiceStatusValue,
        {
            "running",
            "deploying",
            "concerning",
            "failed",
            "stopped",
            "finished",
            "stopping",
            "deleting",
            "pending",  # not started yet (real-time services)
            "waiting",  # queuing for resources (real-time services)
        },
    ),
    # The official SDK's docstrings (PoolStatus.phase, ShowWorkflowExecutionResponse.status).
    "pool": (PoolPhaseValue, {"Creating", "Running", "Abnormal", "Deleting", "Error"}),
    "workflow_execution": (
        WorkflowExecutionStatusValue,
        {"init", "running", "completed", "stopped", "abnormal"},
    ),
}


def test_every_built_in_kind_has_its_published_status_list() -> None:
    assert set(PUBLISHED_STATUS) == set(BUILT_IN)


@pytest.mark.parametrize("kind", sorted(PUBLISHED_STATUS))
def test_each_status_enum_is_exactly_the_published_list(kind: str) -> None:
    cls, published = PUBLISHED_STATUS[kind]
    assert {m.value for m in cls} == published


@pytest.mark.parametrize("kind", sorted(PUBLISHED_STATUS))
def test_each_published_status_has_a_member_and_a_phase(kind: str) -> None:
    spec_type = get_kind(kind).spec_type
    cls, published = PUBLISHED_STATUS[kind]
    for value in published:
        snapshot = spec_type.PARSE(_with_status(kind, value))
        assert snapshot.status_value is cls(value)
        assert value in spec_type.PHASES  # a documented value never reads as UNKNOWN


def _with_status(kind: str, value: object) -> dict[str, Any]:
    if kind in ("training_job", "pool"):
        return {"status": {"phase": value}}
    if kind == "model":
        return {"model_status": value}
    return {"status": value}


# -- every value kept ------------------------------------------------------------------------

_ELAPSED = (2.0, 11.0, 60.0, 500.0)  # queued, starting, running, ended (queue 10, run 100)


def _simulator_bodies(kind: str) -> Iterator[tuple[str, dict[str, Any]]]:
    dataset = "ds-1" if kind in DATASET_KINDS else None
    for outcome, failure in (("completed", 0), ("failed", 0), ("failed", 1), ("failed", 2)):
        script = Script(
            kind,
            project_id="p1",
            dataset_id=dataset,
            task_id="t-1" if kind in OWN_ID_KINDS or kind == "sync" else None,
            created=0.0,
            created_ms=1_700_000_000_000,
            queue=10.0,
            run=100.0,
            outcome=outcome,
            total=1000,
            failure=failure,
            params={"result": "createVersionSuccess"} if kind == "dataset_task" else None,
        )
        for elapsed in _ELAPSED:
            yield f"simulator {outcome}/{failure} at {elapsed}s", body_at(script, elapsed)


# Example responses with the keys the reference pages publish (values are ours).
PUBLISHED_EXAMPLES: dict[str, list[dict[str, Any]]] = {
    "sync": [json.loads(SYNC_SEED)],
    "export": [json.loads(EXPORT_SEED), LIST_ENTRY],
    "training_job": [
        {
            "kind": "job",
            "metadata": {
                "id": "job-7",
                "name": "resnet",
                "description": "nightly retrain",
                "create_time": 1_700_000_000_000,
                "workspace_id": "0",
                "ai_project": "default-ai-project",
                "user_name": "someone",
                "annotations": {"job_template": "Template DL"},
            },
            "status": {
                "phase": "Failed",
                "secondary_phase": "Failed",
                "duration": 61_000,
                "node_count_metrics": [[1_700_000_001_000, 1]],
                "tasks": ["worker-0", "worker-1"],
                "start_time": 1_700_000_000_500,
                "task_statuses": [
                    {"task": "worker-0", "exit_code": 0, "message": ""},
                    {"task": "worker-1", "exit_code": 137, "message": "killed"},
                ],
            },
            "algorithm": {
                "code_dir": "/bucket/code/",
                "boot_file": "/bucket/code/train.py",
                "engine": {"engine_name": "PyTorch", "engine_version": "2"},
                "inputs": [{"name": "data", "remote": {"obs": {"obs_url": "/bucket/in/"}}}],
            },
            "spec": {"resource": {"flavor_id": "gpu.1", "node_count": 2}},
        }
    ],
    "model": [
        {
            "model_id": "m-1",
            "model_name": "resnet",
            "model_version": "1.0.0",
            "runtime": "python3.9",
            "tenant": "tenant-1",
            "project": "p1",
            "owner": "owner-1",
            "source_location": "https://bucket/model",
            "model_type": "PyTorch",
            "model_size": 1024,
            "model_status": "building_failed",
            "description": "a model",
            "create_at": 1_700_000_000_000,
            "error_message": "image build failed",
            "apis": [{"url": "/", "method": "post"}],
        }
    ],
    "service": [
        {
            "service_id": "s-1",
            "service_name": "svc",
            "tenant": "tenant-1",
            "project": "p1",
            "owner": "owner-1",
            "publish_at": 1_700_000_000_000,
            "update_time": 1_700_000_100_000,
            "infer_type": "real-time",
            "status": "waiting",
            "progress": 0,
            "access_address": "https://example.invalid/v1/infers/s-1",
            "cluster_id": "pool-1",
            "workspace_id": "0",
            "additional_properties": {},
            "is_shared": False,
            "invocation_times": 3,
            "failed_times": 1,
            "shared_count": 0,
            "operation_time": 1_700_000_200_000,
            "config": [
                {
                    "model_id": "m-1",
                    "model_name": "resnet",
                    "model_version": "1.0.0",
                    "specification": "custom",
                    "status": "notReady",
                    "weight": 100,
                    "instance_count": 1,
                }
            ],
            "transition_at": 1_700_000_000_000,
            "is_free": False,
        },
        # A v1 body with both error spellings: neither text may vanish.
        {"status": "failed", "error_msg": "deploy failed", "error_message": "no resources"},
    ],
    "version": [{"status": 4, "error_msg": "publish failed", "message": "Obs error"}],
}


def _cases() -> Iterator[Any]:
    for kind in BUILT_IN:
        for label, body in _simulator_bodies(kind):
            yield pytest.param(kind, body, id=f"{kind}-{label}")
        for i, body in enumerate(PUBLISHED_EXAMPLES.get(kind, ())):
            yield pytest.param(kind, body, id=f"{kind}-published-{i}")


def test_the_simulator_serves_every_built_in_kind() -> None:
    assert set(BUILT_IN) <= set(KINDS)


@pytest.mark.parametrize(("kind", "body"), list(_cases()))
def test_every_value_of_a_body_is_in_a_field_or_in_extra(kind: str, body: dict[str, Any]) -> None:
    marked = _marked(body, itertools.count(1))
    snapshot = get_kind(kind).spec_type.PARSE(marked)
    kept = set(_leaves_of_model(snapshot))
    sent = set(_leaves(marked))
    assert sent - kept == set(), f"dropped by the {kind} model"


def _marked(value: Any, counter: Iterator[int], path: str = "") -> Any:
    """``value`` with every string and number replaced by a value no other leaf has."""
    if isinstance(value, dict):
        return {k: _marked(v, counter, f"{path}.{k}") for k, v in value.items()}
    if isinstance(value, list):
        return [_marked(v, counter, f"{path}[{i}]") for i, v in enumerate(value)]
    if isinstance(value, bool) or value is None:
        return value
    n = next(counter)
    if isinstance(value, str):
        return f"~{path}~{n}"
    if isinstance(value, float):
        return 7_000_000 + n + 0.25
    return 7_000_000 + n


def _key(value: Any) -> str | None:
    if isinstance(value, bool) or value is None:
        return None
    if isinstance(value, float) and value.is_integer():
        value = int(value)
    return str(value)


def _leaves(value: Any) -> Iterator[str]:
    if isinstance(value, Mapping):
        for v in value.values():
            yield from _leaves(v)
    elif isinstance(value, (list, tuple)):
        for v in value:
            yield from _leaves(v)
    else:
        key = _key(value.value if isinstance(value, enum.Enum) else value)
        if key is not None:
            yield key


def _leaves_of_model(model: Any) -> Iterator[str]:
    if attrs.has(type(model)):
        for field in attrs.fields(type(model)):
            yield from _leaves_of_model(getattr(model, field.name))
    elif isinstance(model, Mapping):
        for v in model.values():
            yield from _leaves_of_model(v)
    elif isinstance(model, (list, tuple)):
        for v in model:
            yield from _leaves_of_model(v)
    else:
        yield from _leaves(model)

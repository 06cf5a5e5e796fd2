"""Bodies of the resources that live on: v2 inference services, notebooks, Lite (dev)
servers, resource pools and workflow executions.

A resource's script holds the operation under way in ``params["action"]``: ``"create"``
(the default), ``"start"`` or ``"stop"``. Each operation runs its own status sequence;
a start or stop call re-bases the script (see ``_actions``), so the body stays a pure
function of the script and the time since the operation began. Field names, types and
status values are those of the official SDK's response models (``huaweicloudsdkmodelarts``
3.1, ``ShowInferServiceResponse``, ``ShowNotebookResponse``, ``ShowDevServerResponse``,
``ShowPoolResponse``, ``ShowWorkflowExecutionResponse`` and their list items), copied here
by hand: ``tests/test_sdk_oracle.py`` checks every answer against the SDK itself.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any, Protocol


class Script(Protocol):
    """What these bodies read of a ``_lifecycle.Script``: a protocol, since ``_lifecycle``
    imports this module (its answers for the living kinds) and must not be imported back."""

    kind: str
    task_id: str | None
    parent_id: str | None
    params: dict[str, Any] | None
    created_ms: int
    queue: float
    run: float
    failure: int


ACTIONS = ("create", "start", "stop")

# kind -> action -> status per stage: queued, starting, running, completed, failed.
LIVING_STATUS: dict[str, dict[str, tuple[str, str, str, str, str]]] = {
    "infer_service": {
        "create": ("DEPLOYING", "DEPLOYING", "DEPLOYING", "RUNNING", "FAILED"),
        "start": ("DEPLOYING", "DEPLOYING", "DEPLOYING", "RUNNING", "FAILED"),
        "stop": ("STOPPING", "STOPPING", "STOPPING", "STOPPED", "ERROR"),
    },
    "notebook": {
        "create": ("INIT", "CREATING", "CREATING", "RUNNING", "CREATE_FAILED"),
        "start": ("STARTING", "STARTING", "STARTING", "RUNNING", "START_FAILED"),
        "stop": ("STOPPING", "STOPPING", "STOPPING", "STOPPED", "ERROR"),
    },
    "dev_server": {
        "create": ("CREATING", "CREATING", "CREATING", "RUNNING", "CREATE_FAILED"),
        "start": ("STARTING", "STARTING", "STARTING", "RUNNING", "START_FAILED"),
        "stop": ("STOPPING", "STOPPING", "STOPPING", "STOPPED", "STOP_FAILED"),
    },
    "pool": {"create": ("Creating", "Creating", "Creating", "Running", "Error")},
    # A stop takes its delay in "running" (no stopping state is published), then "stopped".
    "workflow_execution": {
        "create": ("init", "running", "running", "completed", "abnormal"),
        "stop": ("running", "running", "running", "stopped", "abnormal"),
    },
}

# Failure reasons in words (these APIs publish a reason field, not a code).
_REASONS = (
    "Insufficient resources in the pool.",
    "The image could not be pulled.",
    "The instance failed its health check.",
)


def action(script: Script) -> str:
    params = script.params
    return str(params.get("action", "create")) if params else "create"


def living_status(script: Script, st: int) -> str:
    return LIVING_STATUS[script.kind][action(script)][st]


def _born_ms(script: Script) -> int:
    """When the resource was created (a start or stop re-bases ``created_ms``)."""
    params = script.params or {}
    return int(params.get("born_ms", script.created_ms))


def _updated_ms(script: Script, elapsed: float) -> int:
    return script.created_ms + int(min(elapsed, script.queue + script.run) * 1000)


def _iso(ms: int) -> str:
    return datetime.fromtimestamp(ms / 1000, tz=UTC).strftime("%Y-%m-%dT%H:%M:%S.%f")[:-3] + "Z"


def infer_service(script: Script, elapsed: float, st: int, fraction: float) -> dict[str, Any]:
    """``ShowInferServiceResponse``: times are strings (milliseconds) in this model."""
    body: dict[str, Any] = {
        "id": script.task_id,
        "name": f"service-{script.task_id}",
        "workspace_id": "0",
        "type": "real-time",
        "status": living_status(script, st),
        "deploy_timeout_minutes": 30,
        "create_at": str(_born_ms(script)),
        "update_at": str(_updated_ms(script, elapsed)),
    }
    if st == 4:
        body["failure_reason"] = _REASONS[script.failure]
    return body


def infer_service_item(script: Script, elapsed: float, st: int, fraction: float) -> dict[str, Any]:
    """``ServiceItemResponseData``, an item of the list: its times are integers."""
    return {
        "id": script.task_id,
        "name": f"service-{script.task_id}",
        "status": living_status(script, st),
        "workspace_id": "0",
        "type": "real-time",
        "create_at": _born_ms(script),
        "update_at": _updated_ms(script, elapsed),
    }


def notebook(script: Script, elapsed: float, st: int, fraction: float) -> dict[str, Any]:
    """``ShowNotebookResponse`` (and ``NotebookResp``, the list item: the same fields)."""
    born = _born_ms(script)
    body: dict[str, Any] = {
        "id": script.task_id,
        "name": f"notebook-{script.task_id}",
        "description": "",
        "flavor": "modelarts.vm.cpu.2u",
        "feature": "NOTEBOOK",
        "status": living_status(script, st),
        "workspace_id": "0",
        "lease": {
            "create_at": born,
            "duration": 3_600_000,
            "enable": True,
            "type": "TIMING",
            "update_at": _updated_ms(script, elapsed),
        },
    }
    if st == 4:
        body["fail_reason"] = _REASONS[script.failure]
    return body


def dev_server(script: Script, elapsed: float, st: int, fraction: float) -> dict[str, Any]:
    """``ShowDevServerResponse`` (and ``ServerResponse``, the list item)."""
    return {
        "id": script.task_id,
        "name": f"server-{script.task_id}",
        "status": living_status(script, st),
        "flavor": "ai1s.large.4",
        "charging_mode": "POST_PAID",
        "create_at": _born_ms(script),
        "update_at": _updated_ms(script, elapsed),
        "vpc_id": "vpc-sim",
        "subnet_id": "subnet-sim",
    }


def pool(script: Script, elapsed: float, st: int, fraction: float) -> dict[str, Any]:
    """``ShowPoolResponse`` (and ``PoolModel``, the list item)."""
    status: dict[str, Any] = {"phase": living_status(script, st)}
    if st == 4:
        status["message"] = _REASONS[script.failure]
    return {
        "apiVersion": "v2",
        "kind": "Pool",
        "metadata": {"name": script.task_id, "creationTimestamp": str(_born_ms(script))},
        "status": status,
    }


def workflow_execution(script: Script, elapsed: float, st: int, fraction: float) -> dict[str, Any]:
    """``ShowWorkflowExecutionResponse`` (and ``WorkflowExecutionResp``, the list item)."""
    params = script.params or {}
    ran = max(0.0, min(elapsed, script.queue + script.run) - script.queue)
    ran += float(params.get("ran_before", 0.0))
    seconds = int(ran)
    return {
        "execution_id": script.task_id,
        "name": f"execution-{script.task_id}",
        "description": "",
        "status": living_status(script, st),
        "workspace_id": "0",
        "workflow_id": script.parent_id,
        "workflow_name": f"workflow-{script.parent_id}",
        "created_at": _iso(_born_ms(script)),
        "duration": f"{seconds // 3600:02d}:{seconds // 60 % 60:02d}:{seconds % 60:02d}",
        "events": [],
        "labels": [],
    }


LIVING_BODIES = {
    "infer_service": infer_service,
    "notebook": notebook,
    "dev_server": dev_server,
    "pool": pool,
    "workflow_execution": workflow_execution,
}
# The list item where it differs from the status body.
LIST_ITEMS = {"infer_service": infer_service_item}

"""Workflow runs: ``workflow_execution``. Model, status table, spec, and the create, stop
and list calls.

Source: the official SDK (``huaweicloudsdkmodelarts``): ``show_workflow_execution``
(``GET /v2/{project_id}/workflows/{workflow_id}/executions/{execution_id}``, answered by
``ShowWorkflowExecutionResponse``), ``create_workflow_execution`` (``POST`` on the
workflow's ``executions``), ``create_workflow_executions_actions`` (``POST .../actions``
with ``{"action_name": "stop"}``: the stop call) and ``list_workflow_executions`` (``GET``
on ``executions``, ``offset`` counting items, ``ListWorkflowExecutionsResponse``). The
documented values of ``status`` are init, running, completed, stopped and abnormal.

A run ends ``completed`` (success) or ``stopped`` or ``abnormal`` (failure). What says why
it failed is in its steps: ``steps_execution[].error_info`` (``error_code``,
``error_message``) of the step that failed.
"""

from __future__ import annotations

import enum
from collections.abc import AsyncIterator, Mapping
from typing import Any

import attrs

from .. import _parsing as p
from .._errors import InvalidArgumentError
from .._kind import (
    ListPaging,
    ModelArtsTask,
    StopCall,
    Transport,
    body_fields,
    id_answer,
    id_field,
    pages,
    project_field,
    send_stop,
    success_field,
)
from .._phase import Phase
from .._specs import ModelArtsAPI
from .._validate import check_id
from ._declare import declare, derived, items, nested, parser, phase_table, text

STATUS_PATH = "/v2/{project_id}/workflows/{workflow_id}/executions/{execution_id}"
EXECUTIONS_PATH = "/v2/{project_id}/workflows/{workflow_id}/executions"
# create_workflow_executions_actions in the official SDK, with the action "stop".
STOP = StopCall("POST", STATUS_PATH + "/actions", frozenset({"stopped"}),
                {"action_name": "stop"})  # fmt: skip


class WorkflowExecutionStatusValue(enum.Enum):
    """The documented values of a workflow execution's ``status``
    (``show_workflow_execution``; the SDK model ``ShowWorkflowExecutionResponse.status``)."""

    INIT = "init"
    RUNNING = "running"
    COMPLETED = "completed"
    STOPPED = "stopped"
    ABNORMAL = "abnormal"


V = WorkflowExecutionStatusValue
PHASES = phase_table(V, {
    V.INIT: Phase.PENDING, V.RUNNING: Phase.RUNNING, V.COMPLETED: Phase.SUCCEEDED,
    V.STOPPED: Phase.FAILED, V.ABNORMAL: Phase.FAILED,
})  # fmt: skip


@attrs.frozen
class WorkflowErrorInfo:
    """``WorkflowErrorInfoResp``: why a step failed."""

    error_code: str | None = text()
    error_message: str | None = text()
    extra: Mapping[str, object] = p.extra_field()


@attrs.frozen
class StepExecution:
    """``StepExecutionResp``, one step of a run: its names, its ``status`` (the step's own
    values: init, wait_inputs, pending, creating, created, create_failed, running,
    stopping, stopped, timeout, completed, failed, hold, skipped) and ``error_info``.
    The rest (inputs, outputs, policy, ...) is kept in ``extra``."""

    step_name: str | None = text()
    name: str | None = text()
    step_title: str | None = text()
    type: str | None = text()
    status: str | None = text()
    instance_id: str | None = text()
    created_at: str | None = text()
    updated_at: str | None = text()
    error_info: WorkflowErrorInfo | None = nested(parser(WorkflowErrorInfo))
    extra: Mapping[str, object] = p.extra_field()


@attrs.frozen
class WorkflowExecutionStatus(p.StatusMixin[WorkflowExecutionStatusValue]):
    """``GET /v2/{project_id}/workflows/{workflow_id}/executions/{execution_id}``
    (``ShowWorkflowExecutionResponse``; a list item, ``WorkflowExecutionResp``, is the
    same). Every top-level field of the SDK model is a field here, but ``sub_graphs``,
    ``data_requirements``, ``parameters`` and ``policies``, which are kept in ``extra``.
    ``created_at`` and ``duration`` are text as sent (``duration`` is ``HH:MM:SS``).
    No top-level error is published: ``error_code`` and ``error_msg`` are those of the
    first step whose ``error_info`` has one (``error_msg`` names the step:
    ``"train: out of memory"``)."""

    execution_id: str | None = text()
    name: str | None = text()
    description: str | None = text()
    status: str | None = text()
    workspace_id: str | None = text()
    workflow_id: str | None = text()
    workflow_name: str | None = text()
    scene_id: str | None = text()
    scene_name: str | None = text()
    created_at: str | None = text()
    duration: str | None = text()
    steps_execution: tuple[StepExecution, ...] | None = items(parser(StepExecution))
    events: tuple[str, ...] | None = items(p.str_item)
    labels: tuple[str, ...] | None = items(p.str_item)
    error_code: str | None = derived()
    error_msg: str | None = derived()
    extra: Mapping[str, object] = p.extra_field()

    @property
    def failed_step(self) -> StepExecution | None:
        """The first step whose ``error_info`` says something, or ``None``."""
        return _failed_step(self.steps_execution)


def _failed_step(steps: tuple[StepExecution, ...] | None) -> StepExecution | None:
    for step in steps or ():
        info = step.error_info
        if info is not None and (info.error_code or info.error_message):
            return step
    return None


def _finish(d: dict[str, Any], v: dict[str, Any]) -> None:
    step = _failed_step(v["steps_execution"])
    info = None if step is None else step.error_info
    if step is None or info is None:
        v["error_code"] = v["error_msg"] = None
        return
    v["error_code"] = info.error_code
    label = step.step_name or step.name
    msg = info.error_message or info.error_code
    v["error_msg"] = f"{label}: {msg}" if label else msg


parse_workflow_execution_status = parser(WorkflowExecutionStatus, _finish)


def _page(data: object) -> tuple[int, tuple[WorkflowExecutionStatus, ...]]:
    """``ListWorkflowExecutionsResponse``: ``total`` and this page's ``items``."""
    d = p.obj(data, "")
    found = p.opt_list(d, "items", "", parse_workflow_execution_status) or ()
    total = p.opt_int(d, "total", "")
    return (len(found) if total is None else total), found


@declare("workflow_execution", values=V, phases=PHASES, model=WorkflowExecutionStatus,
         parse=parse_workflow_execution_status, path=STATUS_PATH, aliases=("workflow",),
         list_path=EXECUTIONS_PATH, group_ids=("workflow_id",), list_page=_page,
         list_paging=ListPaging(by_record=True), description="workflow execution (run)",
         templates=(EXECUTIONS_PATH,), stop=STOP)  # fmt: skip
@attrs.frozen
class WorkflowExecution(ModelArtsTask):
    """One run of a workflow. Succeeds on ``completed``; ``stopped`` and ``abnormal`` fail
    it."""

    workflow_id: str = id_field()
    execution_id: str = id_field()
    project_id: str | None = project_field()
    success: frozenset[Any] | None = success_field()


_EXECUTION_ID = id_answer("execution_id")


async def create_workflow_execution(
    client: Transport,
    workflow_id: str,
    *,
    name: str | None = None,
    description: str | None = None,
    extra: Mapping[str, object] | None = None,
    project_id: str | None = None,
) -> WorkflowExecution:
    """Start a run of a workflow (``create_workflow_execution``) and return the spec that
    watches it. ``extra`` adds other body fields of the SDK's ``WorkflowExecution``
    (``parameters``, ``labels``, ``policies``, ...) verbatim."""
    check_id("workflow_id", workflow_id)
    body = body_fields("extra", extra)
    for key, value in (("name", name), ("description", description)):
        if value is not None:
            body[key] = value
    execution_id = await client.request(
        "POST", EXECUTIONS_PATH, _EXECUTION_ID, ids={"workflow_id": workflow_id}, body=body,
        project_id=project_id,
    )  # fmt: skip
    return WorkflowExecution(workflow_id, execution_id, project_id=project_id)


async def stop_workflow_execution(client: Transport, spec: WorkflowExecution) -> WorkflowExecution:
    """Ask ModelArts to stop a run (the declared stop call, sent once) and return the spec
    that waits for it to stop: ``stopped`` completes that watch; ``completed`` (the run
    ended before the stop reached it) also ends it as completed, and ``abnormal`` fails
    it."""
    if not isinstance(spec, WorkflowExecution):
        raise TypeError(f"stop_workflow_execution takes a WorkflowExecution, got {spec!r}")
    await send_stop(client, spec)
    return attrs.evolve(spec, success=STOP.stopped | {V.COMPLETED.value})


def list_workflow_executions(
    client: Transport,
    workflow_id: str,
    *,
    status: str | None = None,
    page_size: int = 100,
    project_id: str | None = None,
) -> AsyncIterator[WorkflowExecutionStatus]:
    """Every run of a workflow (``list_workflow_executions``, all pages), optionally only
    those with one documented ``status``."""
    check_id("workflow_id", workflow_id)
    if status is not None and status not in PHASES:
        raise InvalidArgumentError(
            f"status must be one of {', '.join(m.value for m in V)}, got {status!r}"
        )
    query = {} if status is None else {"status": status}
    return pages(
        client, EXECUTIONS_PATH, {"workflow_id": workflow_id}, _page, page_size=page_size,
        query=query, project_id=project_id, by_record=True,
    )  # fmt: skip


async def get_workflow_execution_status(
    client: ModelArtsAPI, workflow_id: str, execution_id: str, *,
    project_id: str | None = None,
) -> WorkflowExecutionStatus:  # fmt: skip
    """The status of one run of a workflow (``show_workflow_execution``)."""
    spec = WorkflowExecution(workflow_id, execution_id, project_id=project_id)
    result: WorkflowExecutionStatus = await client.get_task(spec)
    return result

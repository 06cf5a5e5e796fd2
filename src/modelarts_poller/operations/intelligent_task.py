"""Intelligent tasks (auto-labeling, pre-labeling, auto-grouping): ``intelligent_task``.

Sources: the API reference's "Starting Intelligent Tasks" and "Obtaining Details About
an Auto Labeling Task". ``status`` is an integer: -1 queuing, 0 initializing, 1 running,
2 failed, 3 succeeded, 4 stopping, 5 stopped; ``progress`` is a percentage. A stopped
task did not produce its labels, so by default it fails the watch (``success={3, 5}``
makes it count as done).
"""

from __future__ import annotations

import enum
from collections.abc import Mapping
from typing import Any

import attrs

from .. import _parsing as p
from .._errors import InvalidArgumentError
from .._kind import (
    ModelArtsTask,
    Transport,
    body_fields,
    id_answer,
    id_field,
    project_field,
    success_field,
)
from .._phase import Phase
from .._validate import check_id
from ._declare import declare, integer, number, parser, phase_table, read, text

STATUS_PATH = "/v2/{project_id}/datasets/{dataset_id}/tasks/{task_id}"
TASKS_PATH = "/v2/{project_id}/datasets/{dataset_id}/tasks"
TASK_TYPES = frozenset({"auto-label", "pre-label", "auto-grouping"})


class IntelligentStatusValue(enum.IntEnum):
    """The documented values of an intelligent task's ``status``."""

    QUEUING = -1
    INITIALIZING = 0
    RUNNING = 1
    FAILED = 2
    SUCCEEDED = 3
    STOPPING = 4
    STOPPED = 5


V = IntelligentStatusValue
PHASES = phase_table(V, {
    V.QUEUING: Phase.PENDING, V.INITIALIZING: Phase.PENDING, V.RUNNING: Phase.RUNNING,
    V.FAILED: Phase.FAILED, V.SUCCEEDED: Phase.SUCCEEDED, V.STOPPING: Phase.RUNNING,
    V.STOPPED: Phase.FAILED,
})  # fmt: skip


def _text_or_number(d: dict[str, Any], key: str, path: str) -> str | None:
    value = d.get(key)
    if isinstance(value, int) and not isinstance(value, bool):
        return str(value)
    return p.opt_str(d, key, path)


def _msg_or_detail(d: dict[str, Any], key: str, path: str) -> str | None:
    return p.opt_str(d, key, path) or p.opt_str(d, "error_detail", path)


@attrs.frozen
class IntelligentTaskStatus(p.StatusMixin[IntelligentStatusValue]):
    """``GET /v2/{project_id}/datasets/{dataset_id}/tasks/{task_id}``. ``progress`` is a
    percentage; :attr:`completion` is the fraction."""

    task_id: str | None = text()
    status: int | None = integer()
    progress: float | None = number()
    elapsed_time: int | None = integer()
    create_time: str | None = read(_text_or_number)  # published as "YYYY-MM-DD HH:MM:SS"
    code: str | None = text()
    message: str | None = text()
    error_code: str | None = text()
    error_msg: str | None = read(_msg_or_detail)  # else error_detail
    error_detail: str | None = text()
    extra: Mapping[str, object] = p.extra_field()

    @property
    def completion(self) -> float | None:
        if self.phase is Phase.SUCCEEDED:
            return 1.0
        if self.progress is None:
            return None
        return min(1.0, max(0.0, self.progress / 100.0))


parse_intelligent_task_status = parser(IntelligentTaskStatus)


@declare("intelligent_task", values=V, phases=PHASES, model=IntelligentTaskStatus,
         parse=parse_intelligent_task_status, path=STATUS_PATH, aliases=("auto_label", "labeling"),
         description="auto-labeling, pre-labeling or auto-grouping task",
         templates=(TASKS_PATH,))  # fmt: skip
@attrs.frozen
class IntelligentTask(ModelArtsTask):
    """An auto-labeling, pre-labeling or auto-grouping task of a dataset. Succeeds at 3
    (succeeded); 2 (failed) and 5 (stopped) fail it."""

    dataset_id: str = id_field()
    task_id: str = id_field()
    project_id: str | None = project_field()
    success: frozenset[Any] | None = success_field()


_TASK_ID = id_answer("task_id")


async def start_intelligent_task(
    client: Transport,
    dataset_id: str,
    *,
    task_type: str,
    config: Mapping[str, object] | None = None,
    extra: Mapping[str, object] | None = None,
    project_id: str | None = None,
) -> IntelligentTask:
    """Start an intelligent task (``task_type``: ``auto-label``, ``pre-label`` or
    ``auto-grouping``) on a dataset and return the spec that watches it. ``config`` is
    the API's task configuration object, sent as given."""
    check_id("dataset_id", dataset_id)
    if task_type not in TASK_TYPES:
        raise InvalidArgumentError(
            f"task_type must be one of {', '.join(sorted(TASK_TYPES))}, got {task_type!r}"
        )
    body = body_fields("extra", extra)
    body["task_type"] = task_type
    if config is not None:
        body["config"] = body_fields("config", config)
    task_id = await client.request(
        "POST", TASKS_PATH, _TASK_ID, ids={"dataset_id": dataset_id}, body=body,
        project_id=project_id,
    )  # fmt: skip
    return IntelligentTask(dataset_id, task_id, project_id=project_id)

"""Data processing tasks: ``processing_task``. Model, status table and spec.

Source: the API reference's "Querying Details About a Processing Task". ``status`` is an
integer: 0 initialized, 1 running, 2 completed, 3 failed, 4 stopped (a stopped task
fails the watch by default); ``duration_seconds`` is how long it has run.
"""

from __future__ import annotations

import enum
from collections.abc import Mapping
from typing import Any

import attrs

from .. import _parsing as p
from .._kind import ModelArtsTask, id_field, project_field, success_field
from .._phase import Phase
from ._declare import declare, integer, parser, phase_table, text

STATUS_PATH = "/v2/{project_id}/processor-tasks/{task_id}"


class ProcessingStatusValue(enum.IntEnum):
    """The documented values of a processing task's ``status``."""

    INITIALIZED = 0
    RUNNING = 1
    COMPLETED = 2
    FAILED = 3
    STOPPED = 4


V = ProcessingStatusValue
PHASES = phase_table(V, {
    V.INITIALIZED: Phase.PENDING, V.RUNNING: Phase.RUNNING, V.COMPLETED: Phase.SUCCEEDED,
    V.FAILED: Phase.FAILED, V.STOPPED: Phase.FAILED,
})  # fmt: skip


@attrs.frozen
class ProcessingTaskStatus(p.StatusMixin[ProcessingStatusValue]):
    """``GET /v2/{project_id}/processor-tasks/{task_id}``: no progress is reported."""

    task_id: str | None = text()
    name: str | None = text()
    description: str | None = text()
    status: int | None = integer()
    duration_seconds: int | None = integer()
    create_time: int | None = integer()
    error_code: str | None = text()
    error_msg: str | None = text()
    extra: Mapping[str, object] = p.extra_field()


parse_processing_task_status = parser(ProcessingTaskStatus)


@declare("processing_task", values=V, phases=PHASES, model=ProcessingTaskStatus,
         parse=parse_processing_task_status, path=STATUS_PATH,
         description="data processing task")  # fmt: skip
@attrs.frozen
class ProcessingTask(ModelArtsTask):
    """A data processing task. Succeeds at 2 (completed); 3 (failed) and 4 (stopped)
    fail it."""

    task_id: str = id_field()
    project_id: str | None = project_field()
    success: frozenset[Any] | None = success_field()

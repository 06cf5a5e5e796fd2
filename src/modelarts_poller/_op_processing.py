"""Data processing tasks: ``processing_task``. Model, status table and spec.

Source: the API reference's "Querying Details About a Processing Task". ``status`` is an
integer: 0 initialized, 1 running, 2 completed, 3 failed, 4 stopped (a stopped task
fails the watch by default); ``duration_seconds`` is how long it has run.
"""

from __future__ import annotations

import enum
from collections.abc import Mapping
from types import MappingProxyType
from typing import Any, ClassVar

import attrs

from . import _parsing as p
from ._kind import Kind, ModelArtsTask, id_field, project_field, register_kind, success_field
from ._phase import Phase

STATUS_PATH = "/v2/{project_id}/processor-tasks/{task_id}"


class ProcessingStatusValue(enum.IntEnum):
    """The documented values of a processing task's ``status``."""

    INITIALIZED = 0
    RUNNING = 1
    COMPLETED = 2
    FAILED = 3
    STOPPED = 4


PHASES: Mapping[Any, Phase] = MappingProxyType(
    {0: Phase.PENDING, 1: Phase.RUNNING, 2: Phase.SUCCEEDED, 3: Phase.FAILED, 4: Phase.FAILED}
)
_KNOWN = frozenset(
    {
        "task_id",
        "name",
        "description",
        "status",
        "duration_seconds",
        "create_time",
        "error_code",
        "error_msg",
    }
)


@attrs.frozen
class ProcessingTaskStatus(p.StatusMixin[ProcessingStatusValue]):
    """``GET /v2/{project_id}/processor-tasks/{task_id}``: no progress is reported."""

    task_id: str | None = None
    name: str | None = None
    description: str | None = None
    status: int | None = None
    duration_seconds: int | None = None
    create_time: int | None = None
    error_code: str | None = None
    error_msg: str | None = None
    extra: Mapping[str, object] = p.extra_field()
    _phases: ClassVar[Mapping[Any, Phase]] = PHASES
    _values: ClassVar[type[Any]] = ProcessingStatusValue


def parse_processing_task_status(data: object) -> ProcessingTaskStatus:
    """Read a processing task body; raises :class:`ParseError` on a wrong type."""
    d = p.obj(data, "")
    return ProcessingTaskStatus(
        task_id=p.opt_str(d, "task_id", ""),
        name=p.opt_str(d, "name", ""),
        description=p.opt_str(d, "description", ""),
        status=p.opt_int(d, "status", ""),
        duration_seconds=p.opt_int(d, "duration_seconds", ""),
        create_time=p.opt_int(d, "create_time", ""),
        error_code=p.opt_str(d, "error_code", ""),
        error_msg=p.opt_str(d, "error_msg", ""),
        extra=p.extra(d, _KNOWN),
    )


@attrs.frozen
class ProcessingTask(ModelArtsTask):
    """A data processing task. Succeeds at 2 (completed); 3 (failed) and 4 (stopped)
    fail it."""

    task_id: str = id_field("task_id")
    project_id: str | None = project_field()
    success: frozenset[Any] | None = success_field()
    KIND: ClassVar[str] = "processing_task"
    PATH: ClassVar[str] = STATUS_PATH
    ID_NAMES: ClassVar[tuple[str, ...]] = ("task_id",)
    PARSE: ClassVar[Any] = staticmethod(parse_processing_task_status)
    PHASES: ClassVar[Mapping[Any, Phase]] = PHASES


KIND = register_kind(
    Kind("processing_task", ProcessingTask, ("task_id",), description="data processing task")
)

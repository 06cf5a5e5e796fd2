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
from types import MappingProxyType
from typing import TYPE_CHECKING, Any, ClassVar

import attrs

from . import _parsing as p
from ._errors import InvalidArgumentError
from ._kind import (
    Kind,
    ModelArtsTask,
    body_fields,
    id_answer,
    id_field,
    project_field,
    register_kind,
    success_field,
)
from ._phase import Phase
from ._validate import check_id

if TYPE_CHECKING:
    from ._client import ModelArtsClient

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


PHASES: Mapping[Any, Phase] = MappingProxyType(
    {
        -1: Phase.PENDING,
        0: Phase.PENDING,
        1: Phase.RUNNING,
        2: Phase.FAILED,
        3: Phase.SUCCEEDED,
        4: Phase.RUNNING,
        5: Phase.FAILED,
    }
)
_KNOWN = frozenset(
    {
        "task_id",
        "status",
        "progress",
        "elapsed_time",
        "create_time",
        "code",
        "message",
        "error_code",
        "error_msg",
        "error_detail",
    }
)


@attrs.frozen
class IntelligentTaskStatus(p.StatusMixin[IntelligentStatusValue]):
    """``GET /v2/{project_id}/datasets/{dataset_id}/tasks/{task_id}``. ``progress`` is a
    percentage; :attr:`completion` is the fraction."""

    task_id: str | None = None
    status: int | None = None
    progress: float | None = None
    elapsed_time: int | None = None
    create_time: str | None = None  # published as text, "YYYY-MM-DD HH:MM:SS"
    code: str | None = None
    message: str | None = None
    error_code: str | None = None
    error_msg: str | None = None
    error_detail: str | None = None
    extra: Mapping[str, object] = p.extra_field()
    _phases: ClassVar[Mapping[Any, Phase]] = PHASES
    _values: ClassVar[type[Any]] = IntelligentStatusValue

    @property
    def completion(self) -> float | None:
        if self.phase is Phase.SUCCEEDED:
            return 1.0
        if self.progress is None:
            return None
        return min(1.0, max(0.0, self.progress / 100.0))


def parse_intelligent_task_status(data: object) -> IntelligentTaskStatus:
    """Read an intelligent task body; raises :class:`ParseError` on a wrong type."""
    d = p.obj(data, "")
    return IntelligentTaskStatus(
        task_id=p.opt_str(d, "task_id", ""),
        status=p.opt_int(d, "status", ""),
        progress=p.opt_float(d, "progress", ""),
        elapsed_time=p.opt_int(d, "elapsed_time", ""),
        create_time=_text_or_number(d, "create_time"),
        code=p.opt_str(d, "code", ""),
        message=p.opt_str(d, "message", ""),
        error_code=p.opt_str(d, "error_code", ""),
        error_msg=p.opt_str(d, "error_msg", "") or p.opt_str(d, "error_detail", ""),
        error_detail=p.opt_str(d, "error_detail", ""),
        extra=p.extra(d, _KNOWN),
    )


def _text_or_number(d: dict[str, Any], key: str) -> str | None:
    value = d.get(key)
    if isinstance(value, int) and not isinstance(value, bool):
        return str(value)
    return p.opt_str(d, key, "")


@attrs.frozen
class IntelligentTask(ModelArtsTask):
    """An auto-labeling, pre-labeling or auto-grouping task of a dataset. Succeeds at 3
    (succeeded); 2 (failed) and 5 (stopped) fail it."""

    dataset_id: str = id_field("dataset_id")
    task_id: str = id_field("task_id")
    project_id: str | None = project_field()
    success: frozenset[Any] | None = success_field()
    KIND: ClassVar[str] = "intelligent_task"
    PATH: ClassVar[str] = STATUS_PATH
    ID_NAMES: ClassVar[tuple[str, ...]] = ("dataset_id", "task_id")
    PARSE: ClassVar[Any] = staticmethod(parse_intelligent_task_status)
    PHASES: ClassVar[Mapping[Any, Phase]] = PHASES


_TASK_ID = id_answer("task_id")


async def start_intelligent_task(
    client: ModelArtsClient,
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


KIND = register_kind(
    Kind(
        "intelligent_task",
        IntelligentTask,
        ("dataset_id", "task_id"),
        aliases=("auto_label", "labeling"),
        description="auto-labeling, pre-labeling or auto-grouping task",
        templates=(TASKS_PATH,),
    )
)

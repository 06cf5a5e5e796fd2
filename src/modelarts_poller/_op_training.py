"""Training jobs: ``training_job``. Model, status table and spec.

Source: the API reference's "Querying the Details About a Training Job" (v2 training
management). The state is ``status.phase``: Creating, Pending, Running, Completed,
Failed, Terminating, Terminated, Abnormal (``status.secondary_phase`` is documented as
internal). No progress is documented. ``status.duration`` is in milliseconds.
``status.task_statuses`` lists each task's ``exit_code`` and ``message``: a failed job's
failing task says why it ended there.
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

STATUS_PATH = "/v2/{project_id}/training-jobs/{training_job_id}"


class TrainingPhaseValue(enum.Enum):
    """The documented values of a training job's ``status.phase``."""

    CREATING = "Creating"
    PENDING = "Pending"
    RUNNING = "Running"
    COMPLETED = "Completed"
    FAILED = "Failed"
    TERMINATING = "Terminating"
    TERMINATED = "Terminated"
    ABNORMAL = "Abnormal"


PHASES: Mapping[Any, Phase] = MappingProxyType(
    {
        "Creating": Phase.PENDING,
        "Pending": Phase.PENDING,
        "Running": Phase.RUNNING,
        "Completed": Phase.SUCCEEDED,
        "Failed": Phase.FAILED,
        "Terminating": Phase.RUNNING,
        "Terminated": Phase.FAILED,
        "Abnormal": Phase.FAILED,
    }
)
_KNOWN = frozenset({"metadata", "status"})
_META = frozenset({"id", "name", "create_time", "description"})
_STATUS = frozenset(
    {"phase", "secondary_phase", "duration", "start_time", "error_code", "error_msg"}
)


@attrs.frozen
class TrainingJobStatus(p.StatusMixin[TrainingPhaseValue]):
    """``GET /v2/{project_id}/training-jobs/{training_job_id}``, the fields that say its
    state. ``status`` here is the body's ``status.phase``; ``job_id``, ``name``,
    ``description`` and ``create_time`` come from ``metadata``. ``exit_code`` is the exit
    code of the task that ended the job (the first of ``status.task_statuses`` with a
    non-zero one, else the first that has one); without an ``error_msg`` from the server,
    ``error_msg`` is that task's message followed by ``(exit code N)``. The rest of the
    body (algorithm, spec, the task statuses themselves, ...) is kept in ``extra``."""

    status: str | None = None
    secondary_phase: str | None = None
    duration: int | None = None
    start_time: int | None = None
    job_id: str | None = None
    name: str | None = None
    description: str | None = None
    create_time: int | None = None
    exit_code: int | None = None
    error_code: str | None = None
    error_msg: str | None = None
    extra: Mapping[str, object] = p.extra_field()
    _phases: ClassVar[Mapping[Any, Phase]] = PHASES
    _values: ClassVar[type[Any]] = TrainingPhaseValue


def parse_training_job_status(data: object) -> TrainingJobStatus:
    """Read a training job body; raises :class:`ParseError` on a wrong type."""
    d = p.obj(data, "")
    meta = p.obj(d.get("metadata") or {}, "metadata")
    st = p.obj(d.get("status") or {}, "status")
    extra = dict(p.extra(d, _KNOWN))  # a top-level error_code/error_msg stays here too
    for name, part, known in (("metadata", meta, _META), ("status", st, _STATUS)):
        rest = p.extra(part, known)
        if rest:
            extra[name] = dict(rest)
            p.expose((extra[name],))
    exit_code, task_msg = _failing_task(st)
    error_msg = p.opt_str(st, "error_msg", "status") or p.opt_str(d, "error_msg", "")
    if not error_msg and (task_msg or exit_code):
        error_msg = _with_exit_code(task_msg, exit_code)
    return TrainingJobStatus(
        status=p.opt_str(st, "phase", "status"),
        secondary_phase=p.opt_str(st, "secondary_phase", "status"),
        duration=p.opt_int(st, "duration", "status"),
        start_time=p.opt_int(st, "start_time", "status"),
        job_id=p.opt_str(meta, "id", "metadata"),
        name=p.opt_str(meta, "name", "metadata"),
        description=p.opt_str(meta, "description", "metadata"),
        create_time=p.opt_int(meta, "create_time", "metadata"),
        exit_code=exit_code,
        error_code=p.opt_str(st, "error_code", "status") or p.opt_str(d, "error_code", ""),
        error_msg=error_msg,
        extra=MappingProxyType(extra) if extra else p.EMPTY,
    )


def _failing_task(st: dict[str, Any]) -> tuple[int | None, str | None]:
    """``(exit_code, message)`` of the task that ended the job: the first entry of
    ``status.task_statuses`` with a non-zero exit code, else the first with a code or a
    message."""
    items = p.opt_list(st, "task_statuses", "status", _status_item) or ()
    for code, msg in items:
        if code:
            return code, msg
    for code, msg in items:
        if code is not None or msg:
            return code, msg
    return None, None


def _status_item(v: object, path: str) -> tuple[int | None, str | None]:
    item = p.obj(v, path)
    return p.opt_int(item, "exit_code", path), p.opt_str(item, "message", path)


def _with_exit_code(msg: str | None, code: int | None) -> str:
    if code is None:
        return msg or ""
    return f"{msg} (exit code {code})" if msg else f"exit code {code}"


@attrs.frozen
class TrainingJob(ModelArtsTask):
    """A training job. Succeeds on ``Completed``; ``Failed``, ``Terminated`` and
    ``Abnormal`` fail it."""

    training_job_id: str = id_field("training_job_id")
    project_id: str | None = project_field()
    success: frozenset[Any] | None = success_field()
    KIND: ClassVar[str] = "training_job"
    PATH: ClassVar[str] = STATUS_PATH
    ID_NAMES: ClassVar[tuple[str, ...]] = ("training_job_id",)
    PARSE: ClassVar[Any] = staticmethod(parse_training_job_status)
    PHASES: ClassVar[Mapping[Any, Phase]] = PHASES


KIND = register_kind(
    Kind("training_job", TrainingJob, ("training_job_id",), aliases=("training",),
         description="training job (v2)")
)  # fmt: skip

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
from collections.abc import AsyncIterator, Mapping
from typing import Any

import attrs

from .. import _parsing as p
from .._errors import InvalidArgumentError, ParseError
from .._kind import (
    ListPaging,
    ModelArtsTask,
    StopCall,
    Transport,
    body_fields,
    id_field,
    project_field,
    success_field,
)
from .._phase import Phase
from ._declare import declare, derived, integer, parser, phase_table, text

STATUS_PATH = "/v2/{project_id}/training-jobs/{training_job_id}"
JOBS_PATH = "/v2/{project_id}/training-jobs"  # create_training_job
SEARCHES_PATH = "/v2/{project_id}/training-job-searches"  # list_training_jobs (POST)
# stop_training_job in the official SDK: an action on the job, answered with its state.
STOP = StopCall("POST", STATUS_PATH + "/actions", frozenset({"Terminated"}),
                {"action_type": "terminate"})  # fmt: skip
# List polling: the project's jobs, searched with a POST whose JSON body pages them
# (``offset`` a page index, ``limit`` at most 50).
PAGING = ListPaging(50, method="POST", in_body=True)


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


V = TrainingPhaseValue
PHASES = phase_table(V, {
    V.CREATING: Phase.PENDING, V.PENDING: Phase.PENDING, V.RUNNING: Phase.RUNNING,
    V.COMPLETED: Phase.SUCCEEDED, V.FAILED: Phase.FAILED, V.TERMINATING: Phase.RUNNING,
    V.TERMINATED: Phase.FAILED, V.ABNORMAL: Phase.FAILED,
})  # fmt: skip


@attrs.frozen
class TrainingJobStatus(p.StatusMixin[TrainingPhaseValue]):
    """``GET /v2/{project_id}/training-jobs/{training_job_id}``, the fields that say its
    state. ``status`` here is the body's ``status.phase``; ``job_id``, ``name``,
    ``description`` and ``create_time`` come from ``metadata``. ``exit_code`` is the exit
    code of the task that ended the job (the first of ``status.task_statuses`` with a
    non-zero one, else the first that has one); without an ``error_msg`` from the server,
    ``error_msg`` is that task's message followed by ``(exit code N)``. The rest of the
    body (algorithm, spec, the task statuses themselves, ...) is kept in ``extra``."""

    status: str | None = text("phase", at="status")
    secondary_phase: str | None = text(at="status")
    duration: int | None = integer(at="status")
    start_time: int | None = integer(at="status")
    job_id: str | None = text("id", at="metadata")
    name: str | None = text(at="metadata")
    description: str | None = text(at="metadata")
    create_time: int | None = integer(at="metadata")
    exit_code: int | None = derived()
    error_code: str | None = text(at="status")
    error_msg: str | None = text(at="status")
    extra: Mapping[str, object] = p.extra_field()

    @property
    def training_job_id(self) -> str | None:
        """The job's ID (``metadata.id``): a listed job is matched to its spec by it."""
        return self.job_id


def _finish(d: dict[str, Any], v: dict[str, Any]) -> None:
    # A top-level error_code/error_msg stays in extra too; the failing task says why.
    st = d.get("status") or {}
    exit_code, task_msg = _failing_task(st)
    v["exit_code"] = exit_code
    v["error_code"] = v["error_code"] or p.opt_str(d, "error_code", "")
    error_msg = v["error_msg"] or p.opt_str(d, "error_msg", "")
    if not error_msg and (task_msg or exit_code):
        error_msg = _with_exit_code(task_msg, exit_code)
    v["error_msg"] = error_msg


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


parse_training_job_status = parser(TrainingJobStatus, _finish)


def _search_page(data: object) -> tuple[int, tuple[TrainingJobStatus, ...]]:
    """``ListTrainingJobsResponse``: ``total`` and this page's ``items`` (job details, the show
    answer's shape, each read with the kind's own parser)."""
    d = p.obj(data, "")
    found = p.opt_list(d, "items", "", parse_training_job_status) or ()
    total = p.opt_int(d, "total", "")
    return (len(found) if total is None else total), found


@declare("training_job", values=V, phases=PHASES, model=TrainingJobStatus,
         parse=parse_training_job_status, path=STATUS_PATH, aliases=("training",),
         description="training job (v2)", stop=STOP, list_path=SEARCHES_PATH,
         list_page=_search_page, list_paging=PAGING,
         templates=(JOBS_PATH, SEARCHES_PATH))  # fmt: skip
@attrs.frozen
class TrainingJob(ModelArtsTask):
    """A training job. Succeeds on ``Completed``; ``Failed``, ``Terminated`` and
    ``Abnormal`` fail it."""

    training_job_id: str = id_field()
    project_id: str | None = project_field()
    success: frozenset[Any] | None = success_field()


def _created_id(data: object) -> str:
    d = p.obj(data, "")
    job_id = p.opt_str(p.obj(d.get("metadata") or {}, "metadata"), "id", "metadata")
    if not job_id:
        raise ParseError("metadata.id", job_id, "non-empty string")
    return job_id


async def create_training_job(
    client: Transport,
    *,
    metadata: Mapping[str, object],
    algorithm: Mapping[str, object] | None = None,
    spec: Mapping[str, object] | None = None,
    kind: str = "job",
    extra: Mapping[str, object] | None = None,
    project_id: str | None = None,
) -> TrainingJob:
    """Create a training job (``create_training_job``, ``POST /v2/{project_id}/training-jobs``)
    and return the spec that watches it, named by the answer's ``metadata.id``.
    ``metadata`` (at least ``name``), ``algorithm`` and ``spec`` are the SDK's ``Job``
    objects, sent verbatim; ``extra`` adds its other fields (``tasks``, ``endpoints``, ...)."""
    meta = body_fields("metadata", metadata)
    if not isinstance(meta.get("name"), str) or not meta["name"]:
        raise InvalidArgumentError("metadata must name the job: {'name': '...'}")
    body = body_fields("extra", extra)
    body.update(kind=kind, metadata=meta)
    if algorithm is not None:
        body["algorithm"] = body_fields("algorithm", algorithm)
    if spec is not None:
        body["spec"] = body_fields("spec", spec)
    job_id = await client.request("POST", JOBS_PATH, _created_id, body=body,
                                  project_id=project_id)  # fmt: skip
    return TrainingJob(job_id, project_id=project_id)


async def list_training_jobs(
    client: Transport,
    *,
    filters: Mapping[str, object] | None = None,
    page_size: int = 50,
    project_id: str | None = None,
) -> AsyncIterator[TrainingJobStatus]:
    """Every training job (``list_training_jobs``: ``POST /v2/{project_id}/training-job-searches``,
    paging in the body: ``offset`` is a page index, ``limit`` at most 50). ``filters``
    adds other fields of the SDK's ``JobSearches`` body (``filters``, ``sort_by``,
    ``workspace_id``, ...) verbatim."""
    if isinstance(page_size, bool) or not isinstance(page_size, int) or not 1 <= page_size <= 50:
        raise InvalidArgumentError(f"page_size must be an int from 1 to 50, got {page_size!r}")
    base = body_fields("filters", filters)
    seen = page = 0
    while True:
        body = {**base, "offset": page, "limit": page_size}
        total, found = await client.request("POST", SEARCHES_PATH, _search_page, body=body,
                                            project_id=project_id)  # fmt: skip
        for item in found:
            yield item
        seen += len(found)
        if len(found) < page_size or seen >= total:
            return
        page += 1

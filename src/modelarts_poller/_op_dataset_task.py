"""The status of a generic dataset asynchronous task (the SDK's ``get_task_status``)."""

from __future__ import annotations

import enum
from collections.abc import Mapping
from datetime import datetime
from types import MappingProxyType
from typing import TYPE_CHECKING, Any, ClassVar

import attrs

from . import _parsing as p
from ._kind import (
    Kind,
    ModelArtsTask,
    id_answer,
    id_field,
    json_body,
    project_field,
    register_kind,
    success_field,
)
from ._phase import Phase
from ._specs import Observation
from ._validate import check_id

if TYPE_CHECKING:
    from ._client import ModelArtsClient


PHASES: Mapping[Any, Phase] = MappingProxyType(
    {
        "PENDING": Phase.PENDING,
        "WAITING": Phase.PENDING,
        "RUNNING": Phase.RUNNING,
        "STARTED": Phase.RUNNING,
        "RETRY": Phase.RUNNING,
        "FAILURE": Phase.FAILED,
        "SUCCESS": Phase.SUCCEEDED,
    }
)


class DatasetTaskStatusValue(enum.Enum):
    """The documented values of a dataset task's ``status``."""

    PENDING = "PENDING"
    WAITING = "WAITING"
    RUNNING = "RUNNING"
    STARTED = "STARTED"
    RETRY = "RETRY"
    FAILURE = "FAILURE"
    SUCCESS = "SUCCESS"


@attrs.frozen
class CreateDatasetSuccess:
    """A dataset was created (table 4). ``create_time`` as sent (an integer)."""

    dataset_id: str | None = None
    dataset_name: str | None = None
    file_count: int | None = None
    create_time: int | None = None
    extra: Mapping[str, object] = p.extra_field()


@attrs.frozen
class CreateVersionSuccess:
    """A dataset version was created (table 5)."""

    new_version_id: str | None = None
    version_name: str | None = None
    file_count: int | None = None
    create_time: int | None = None
    extra: Mapping[str, object] = p.extra_field()


@attrs.frozen
class TaskFailure:
    """Why the task failed (table 6)."""

    error_code: str | None = None
    error_msg: str | None = None
    extra: Mapping[str, object] = p.extra_field()


@attrs.frozen
class DatasetTaskResult:
    """``result`` (table 3). The document calls each entry a "JSON Array" but describes
    objects: a single object and a list of objects are both accepted, as a tuple.
    ``sync_or_checkout_success`` entries are documented as empty objects and kept as sent.
    """

    create_dataset_success: tuple[CreateDatasetSuccess, ...] | None = None
    create_version_success: tuple[CreateVersionSuccess, ...] | None = None
    sync_or_checkout_success: tuple[Mapping[str, object], ...] | None = attrs.field(
        default=None, hash=False
    )
    failed: tuple[TaskFailure, ...] | None = None
    extra: Mapping[str, object] = p.extra_field()


_KNOWN = frozenset({"status", "result", "error_code", "error_msg"})
_RESULT_KNOWN = frozenset(
    {"createDatasetSuccess", "createVersionSuccess", "syncOrCheckoutsuccess", "failed"}
)
_CDS = frozenset({"dataset_id", "dataset_name", "file_count", "create_time"})
_CVS = frozenset({"new_version_id", "version_name", "file_count", "create_time"})
_FAIL = frozenset({"error_code", "error_msg"})


@attrs.frozen
class DatasetTaskStatus(p.StatusMixin[DatasetTaskStatusValue]):
    """``DatasetApi.get_task_status(project_id, task_id)``: status, result, errors."""

    status: str | None = None
    result: DatasetTaskResult | None = None
    error_code: str | None = None
    error_msg: str | None = None
    extra: Mapping[str, object] = p.extra_field()
    _phases: ClassVar[Mapping[Any, Phase]] = PHASES
    _values: ClassVar[type[Any]] = DatasetTaskStatusValue

    @property
    def failure(self) -> TaskFailure | None:
        """The first failure in ``result.failed``, if any."""
        if self.result is not None and self.result.failed:
            return self.result.failed[0]
        return None

    @property
    def created_at(self) -> datetime | None:
        """When the created dataset or version was made, if the result says."""
        r = self.result
        if r is None:
            return None
        for entries in (r.create_dataset_success, r.create_version_success):
            if entries:
                return p.ms_datetime(entries[0].create_time)
        return None


def _cds(v: object, path: str) -> CreateDatasetSuccess:
    d = p.obj(v, path)
    return CreateDatasetSuccess(
        dataset_id=p.opt_str(d, "dataset_id", path),
        dataset_name=p.opt_str(d, "dataset_name", path),
        file_count=p.opt_int(d, "file_count", path),
        create_time=p.opt_int(d, "create_time", path),
        extra=p.extra(d, _CDS),
    )


def _cvs(v: object, path: str) -> CreateVersionSuccess:
    d = p.obj(v, path)
    return CreateVersionSuccess(
        new_version_id=p.opt_str(d, "new_version_id", path),
        version_name=p.opt_str(d, "version_name", path),
        file_count=p.opt_int(d, "file_count", path),
        create_time=p.opt_int(d, "create_time", path),
        extra=p.extra(d, _CVS),
    )


def _failure(v: object, path: str) -> TaskFailure:
    d = p.obj(v, path)
    return TaskFailure(
        error_code=p.opt_str(d, "error_code", path),
        error_msg=p.opt_str(d, "error_msg", path),
        extra=p.extra(d, _FAIL),
    )


def _plain(v: object, path: str) -> Mapping[str, object]:
    d = p.obj(v, path)
    p.expose(d.values())
    return MappingProxyType(dict(d))


def _result(v: Any) -> DatasetTaskResult | None:
    if v is None:
        return None
    d = p.obj(v, "result")
    return DatasetTaskResult(
        create_dataset_success=p.opt_list(d, "createDatasetSuccess", "result", _cds),
        create_version_success=p.opt_list(d, "createVersionSuccess", "result", _cvs),
        sync_or_checkout_success=p.opt_list(d, "syncOrCheckoutsuccess", "result", _plain),
        failed=p.opt_list(d, "failed", "result", _failure),
        extra=p.extra(d, _RESULT_KNOWN),
    )


def parse_dataset_task_status(data: object) -> DatasetTaskStatus:
    """Read a dataset task status body; raises :class:`ParseError` on a wrong type."""
    d = p.obj(data, "")
    return DatasetTaskStatus(
        status=p.opt_str(d, "status", ""),
        result=_result(d.get("result")),
        error_code=p.opt_str(d, "error_code", ""),
        error_msg=p.opt_str(d, "error_msg", ""),
        extra=p.extra(d, _KNOWN),
    )


# The only published place of this path is the 2019 SDK's API mapping table (retired v1
# dataset API): DatasetApi.get_task_status -> GET /v1/{project_id}/datasets/task/{task_id}.
STATUS_PATH = "/v1/{project_id}/datasets/task/{task_id}"
# v1 calls whose answer ({"task_id"}) is watched as a dataset task.
V1_SYNC_PATH = "/v1/{project_id}/datasets/{dataset_id}/sync"
V1_VERSIONS_PATH = "/v1/{project_id}/datasets/{dataset_id}/versions"


@attrs.frozen
class DatasetTask(ModelArtsTask):
    """A generic dataset asynchronous task of the legacy v1 API (``get_task_status``).
    Succeeds on ``SUCCESS``; ``FAILURE`` fails it."""

    task_id: str = id_field("task_id")
    project_id: str | None = project_field()
    success: frozenset[Any] | None = success_field()
    KIND: ClassVar[str] = "dataset_task"
    PATH: ClassVar[str] = STATUS_PATH
    ID_NAMES: ClassVar[tuple[str, ...]] = ("task_id",)
    PARSE: ClassVar[Any] = staticmethod(parse_dataset_task_status)
    PHASES: ClassVar[Mapping[Any, Phase]] = PHASES

    def interpret(self, snapshot: DatasetTaskStatus) -> Observation:
        obs = super().interpret(snapshot)
        failure = snapshot.failure
        if obs.message is None and failure is not None:
            # The reason may sit only in result.failed (table 6), not at the top level.
            message = failure.error_msg or failure.error_code
            return Observation(obs.phase, obs.completion, obs.status, message)
        return obs


KIND = register_kind(
    Kind(
        "dataset_task",
        DatasetTask,
        ("task_id",),
        aliases=("task", "generic"),
        description="dataset task of the legacy v1 API",
        templates=(V1_SYNC_PATH, V1_VERSIONS_PATH),
    )
)

_TASK_ID = id_answer("task_id")


async def start_sync_v1(
    client: ModelArtsClient, dataset_id: str, *, project_id: str | None = None
) -> DatasetTask:
    """Synchronize a dataset through the legacy v1 API (``POST /v1/.../sync``); its answer
    names a dataset task, and the returned spec watches it."""
    task_id = await client.request(
        "POST", V1_SYNC_PATH, _TASK_ID, ids={"dataset_id": dataset_id}, body={},
        project_id=project_id,
    )  # fmt: skip
    return DatasetTask(task_id, project_id=project_id)


async def create_dataset_version_v1(
    client: ModelArtsClient,
    dataset_id: str,
    *,
    version_name: str | None = None,
    description: str | None = None,
    project_id: str | None = None,
) -> DatasetTask:
    """Publish a dataset version through the legacy v1 API (``POST /v1/.../versions``);
    the returned spec watches the dataset task that creates it."""
    if version_name is not None:
        check_id("version_name", version_name)
    body = json_body(version_name=version_name, description=description)
    task_id = await client.request(
        "POST", V1_VERSIONS_PATH, _TASK_ID, ids={"dataset_id": dataset_id}, body=body,
        project_id=project_id,
    )  # fmt: skip
    return DatasetTask(task_id, project_id=project_id)

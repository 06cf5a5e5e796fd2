"""The status of a generic dataset asynchronous task (the SDK's ``get_task_status``)."""

from __future__ import annotations

import enum
from collections.abc import Mapping
from datetime import datetime
from types import MappingProxyType
from typing import Any

import attrs

from .. import _parsing as p
from .._kind import (
    ModelArtsTask,
    Transport,
    id_answer,
    id_field,
    json_body,
    project_field,
    success_field,
)
from .._phase import Phase
from .._specs import ModelArtsAPI, Observation
from .._validate import check_id
from ._declare import declare, integer, items, nested, parser, phase_table, text


class DatasetTaskStatusValue(enum.Enum):
    """The documented values of a dataset task's ``status``."""

    PENDING = "PENDING"
    WAITING = "WAITING"
    RUNNING = "RUNNING"
    STARTED = "STARTED"
    RETRY = "RETRY"
    FAILURE = "FAILURE"
    SUCCESS = "SUCCESS"


V = DatasetTaskStatusValue
PHASES = phase_table(V, {
    V.PENDING: Phase.PENDING, V.WAITING: Phase.PENDING, V.RUNNING: Phase.RUNNING,
    V.STARTED: Phase.RUNNING, V.RETRY: Phase.RUNNING, V.FAILURE: Phase.FAILED,
    V.SUCCESS: Phase.SUCCEEDED,
})  # fmt: skip


@attrs.frozen
class CreateDatasetSuccess:
    """A dataset was created (table 4). ``create_time`` as sent (an integer)."""

    dataset_id: str | None = text()
    dataset_name: str | None = text()
    file_count: int | None = integer()
    create_time: int | None = integer()
    extra: Mapping[str, object] = p.extra_field()


@attrs.frozen
class CreateVersionSuccess:
    """A dataset version was created (table 5)."""

    new_version_id: str | None = text()
    version_name: str | None = text()
    file_count: int | None = integer()
    create_time: int | None = integer()
    extra: Mapping[str, object] = p.extra_field()


@attrs.frozen
class TaskFailure:
    """Why the task failed (table 6)."""

    error_code: str | None = text()
    error_msg: str | None = text()
    extra: Mapping[str, object] = p.extra_field()


def _plain(v: object, path: str) -> Mapping[str, object]:
    d = p.obj(v, path)
    p.expose(d.values())
    return MappingProxyType(dict(d))


@attrs.frozen
class DatasetTaskResult:
    """``result`` (table 3). The document calls each entry a "JSON Array" but describes
    objects: a single object and a list of objects are both accepted, as a tuple.
    ``sync_or_checkout_success`` entries are documented as empty objects and kept as sent.
    """

    create_dataset_success: tuple[CreateDatasetSuccess, ...] | None = items(
        parser(CreateDatasetSuccess), "createDatasetSuccess"
    )
    create_version_success: tuple[CreateVersionSuccess, ...] | None = items(
        parser(CreateVersionSuccess), "createVersionSuccess"
    )
    sync_or_checkout_success: tuple[Mapping[str, object], ...] | None = items(
        _plain, "syncOrCheckoutsuccess", hash=False
    )
    failed: tuple[TaskFailure, ...] | None = items(parser(TaskFailure))
    extra: Mapping[str, object] = p.extra_field()


@attrs.frozen
class DatasetTaskStatus(p.StatusMixin[DatasetTaskStatusValue]):
    """``DatasetApi.get_task_status(project_id, task_id)``: status, result, errors."""

    status: str | None = text()
    result: DatasetTaskResult | None = nested(parser(DatasetTaskResult))
    error_code: str | None = text()
    error_msg: str | None = text()
    extra: Mapping[str, object] = p.extra_field()

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


parse_dataset_task_status = parser(DatasetTaskStatus)


# The only published place of this path is the 2019 SDK's API mapping table (retired v1
# dataset API): DatasetApi.get_task_status -> GET /v1/{project_id}/datasets/task/{task_id}.
STATUS_PATH = "/v1/{project_id}/datasets/task/{task_id}"
# v1 calls whose answer ({"task_id"}) is watched as a dataset task.
V1_SYNC_PATH = "/v1/{project_id}/datasets/{dataset_id}/sync"
V1_VERSIONS_PATH = "/v1/{project_id}/datasets/{dataset_id}/versions"


@declare("dataset_task", values=V, phases=PHASES, model=DatasetTaskStatus,
         parse=parse_dataset_task_status, path=STATUS_PATH, aliases=("task", "generic"),
         description="dataset task of the legacy v1 API",
         templates=(V1_SYNC_PATH, V1_VERSIONS_PATH))  # fmt: skip
@attrs.frozen
class DatasetTask(ModelArtsTask):
    """A generic dataset asynchronous task of the legacy v1 API (``get_task_status``).
    Succeeds on ``SUCCESS``; ``FAILURE`` fails it."""

    task_id: str = id_field()
    project_id: str | None = project_field()
    success: frozenset[Any] | None = success_field()

    def interpret(self, snapshot: DatasetTaskStatus) -> Observation:
        obs = super().interpret(snapshot)
        failure = snapshot.failure
        if obs.message is None and failure is not None:
            # The reason may sit only in result.failed (table 6), not at the top level.
            message = failure.error_msg or failure.error_code
            return Observation(obs.phase, obs.completion, obs.status, message)
        return obs


_TASK_ID = id_answer("task_id")


async def start_sync_v1(
    client: Transport, dataset_id: str, *, project_id: str | None = None
) -> DatasetTask:
    """Synchronize a dataset through the legacy v1 API (``POST /v1/.../sync``); its answer
    names a dataset task, and the returned spec watches it."""
    task_id = await client.request(
        "POST", V1_SYNC_PATH, _TASK_ID, ids={"dataset_id": dataset_id}, body={},
        project_id=project_id,
    )  # fmt: skip
    return DatasetTask(task_id, project_id=project_id)


async def create_dataset_version_v1(
    client: Transport,
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


async def get_dataset_task_status(
    client: ModelArtsAPI, task_id: str, *, project_id: str | None = None
) -> DatasetTaskStatus:
    """The status of a dataset asynchronous task, as the SDK's ``get_task_status`` reads it."""
    result: DatasetTaskStatus = await client.get_task(DatasetTask(task_id, project_id=project_id))
    return result

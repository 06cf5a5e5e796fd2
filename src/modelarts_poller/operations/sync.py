"""Dataset synchronization: ``sync``. Status, start, and what counts as finished.

Source: sync-data-status.rst (the seed) and the API reference's "Synchronizing a
Dataset". The v2 start call answers without a task ID: the sync is watched by dataset.
"""

from __future__ import annotations

import enum
from collections.abc import Mapping
from datetime import datetime
from typing import Any

import attrs

from .. import _parsing as p
from .._kind import ModelArtsTask, Transport, id_field, no_answer, project_field, success_field
from .._phase import Phase
from .._specs import ModelArtsAPI
from ._declare import declare, integer, parser, phase_table, text


class SyncStatusValue(enum.Enum):
    """The documented values of a sync task's ``status``."""

    QUEUING = "QUEUING"
    STARTING = "STARTING"
    RUNNING = "RUNNING"
    COMPLETED = "COMPLETED"
    FAILED = "FAILED"
    NOT_EXIST = "NOT_EXIST"


V = SyncStatusValue
PHASES = phase_table(V, {
    V.QUEUING: Phase.PENDING, V.STARTING: Phase.RUNNING, V.RUNNING: Phase.RUNNING,
    V.COMPLETED: Phase.SUCCEEDED, V.FAILED: Phase.FAILED, V.NOT_EXIST: Phase.FAILED,
})  # fmt: skip


@attrs.frozen
class SyncStatus(p.StatusMixin[SyncStatusValue]):
    """``GET /v2/{project_id}/datasets/{dataset_id}/sync-data/status``.

    Every field is optional (``None`` when absent). ``create_time`` is milliseconds since
    the epoch (also as :attr:`created_at`). ``duration_time`` is the task's running time
    as the API reports it; the documents do not give its unit, so it is kept raw.
    Unknown fields are kept in ``extra``.
    """

    status: str | None = text()
    dataset_id: str | None = text()
    task_id: str | None = text()
    add_sample_count: int | None = integer()
    deleted_sample_count: int | None = integer()
    total_sample_count: int | None = integer()
    create_time: int | None = integer()
    duration_time: int | None = integer()
    error_code: str | None = text()
    error_msg: str | None = text()
    extra: Mapping[str, object] = p.extra_field()

    @property
    def created_at(self) -> datetime | None:
        return p.ms_datetime(self.create_time)


parse_sync_status = parser(SyncStatus)
STATUS_PATH = "/v2/{project_id}/datasets/{dataset_id}/sync-data/status"
START_PATH = "/v2/{project_id}/datasets/{dataset_id}/sync-data"


@declare(
    "sync",
    values=V,
    phases=PHASES,
    model=SyncStatus,
    parse=parse_sync_status,
    path=STATUS_PATH,
    templates=(START_PATH,),
    description="dataset synchronization (v2)",
)
@attrs.frozen
class SyncTask(ModelArtsTask):
    """The synchronization task of one dataset. Succeeds on ``COMPLETED``; ``FAILED`` and
    ``NOT_EXIST`` fail it."""

    dataset_id: str = id_field()
    project_id: str | None = project_field()
    success: frozenset[Any] | None = success_field()


async def start_sync(
    client: Transport, dataset_id: str, *, project_id: str | None = None
) -> SyncTask:
    """Start synchronizing a dataset from its input location (``POST .../sync-data``) and
    return the spec that watches it. A sync already running answers 400
    ``ModelArts.4355``, raised as :class:`Conflict`."""
    spec = SyncTask(dataset_id, project_id=project_id)
    # The API takes no request body and sends none back.
    ids = {"dataset_id": dataset_id}
    await client.request("POST", START_PATH, no_answer, ids=ids, project_id=project_id)
    return spec


async def get_sync_status(
    client: ModelArtsAPI, dataset_id: str, *, project_id: str | None = None
) -> SyncStatus:
    """The status of the dataset's synchronization (``GET .../sync-data/status``)."""
    result: SyncStatus = await client.get_task(SyncTask(dataset_id, project_id=project_id))
    return result

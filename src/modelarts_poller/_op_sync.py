"""Dataset synchronization: ``sync``. Status, start, and what counts as finished.

Source: sync-data-status.rst (the seed) and the API reference's "Synchronizing a
Dataset". The v2 start call answers without a task ID: the sync is watched by dataset.
"""

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
    id_field,
    no_answer,
    project_field,
    register_kind,
    success_field,
)
from ._phase import Phase

if TYPE_CHECKING:
    from ._client import ModelArtsClient


PHASES: Mapping[Any, Phase] = MappingProxyType(
    {
        "QUEUING": Phase.PENDING,
        "STARTING": Phase.RUNNING,
        "RUNNING": Phase.RUNNING,
        "COMPLETED": Phase.SUCCEEDED,
        "FAILED": Phase.FAILED,
        "NOT_EXIST": Phase.FAILED,
    }
)


class SyncStatusValue(enum.Enum):
    """The documented values of a sync task's ``status``."""

    QUEUING = "QUEUING"
    STARTING = "STARTING"
    RUNNING = "RUNNING"
    COMPLETED = "COMPLETED"
    FAILED = "FAILED"
    NOT_EXIST = "NOT_EXIST"


_KNOWN = frozenset(
    {
        "add_sample_count",
        "create_time",
        "dataset_id",
        "deleted_sample_count",
        "duration_time",
        "error_code",
        "error_msg",
        "status",
        "task_id",
        "total_sample_count",
    }
)


@attrs.frozen
class SyncStatus(p.StatusMixin[SyncStatusValue]):
    """``GET /v2/{project_id}/datasets/{dataset_id}/sync-data/status``.

    Every field is optional (``None`` when absent). ``create_time`` is milliseconds since
    the epoch (also as :attr:`created_at`). ``duration_time`` is the task's running time
    as the API reports it; the documents do not give its unit, so it is kept raw.
    Unknown fields are kept in ``extra``.
    """

    status: str | None = None
    dataset_id: str | None = None
    task_id: str | None = None
    add_sample_count: int | None = None
    deleted_sample_count: int | None = None
    total_sample_count: int | None = None
    create_time: int | None = None
    duration_time: int | None = None
    error_code: str | None = None
    error_msg: str | None = None
    extra: Mapping[str, object] = p.extra_field()
    _phases: ClassVar[Mapping[Any, Phase]] = PHASES
    _values: ClassVar[type[Any]] = SyncStatusValue

    @property
    def created_at(self) -> datetime | None:
        return p.ms_datetime(self.create_time)


def parse_sync_status(data: object) -> SyncStatus:
    """Read a sync status body; raises :class:`ParseError` on a wrong type."""
    d = p.obj(data, "")
    return SyncStatus(
        status=p.opt_str(d, "status", ""),
        dataset_id=p.opt_str(d, "dataset_id", ""),
        task_id=p.opt_str(d, "task_id", ""),
        add_sample_count=p.opt_int(d, "add_sample_count", ""),
        deleted_sample_count=p.opt_int(d, "deleted_sample_count", ""),
        total_sample_count=p.opt_int(d, "total_sample_count", ""),
        create_time=p.opt_int(d, "create_time", ""),
        duration_time=p.opt_int(d, "duration_time", ""),
        error_code=p.opt_str(d, "error_code", ""),
        error_msg=p.opt_str(d, "error_msg", ""),
        extra=p.extra(d, _KNOWN),
    )


STATUS_PATH = "/v2/{project_id}/datasets/{dataset_id}/sync-data/status"
START_PATH = "/v2/{project_id}/datasets/{dataset_id}/sync-data"


@attrs.frozen
class SyncTask(ModelArtsTask):
    """The synchronization task of one dataset. Succeeds on ``COMPLETED``; ``FAILED`` and
    ``NOT_EXIST`` fail it."""

    dataset_id: str = id_field("dataset_id")
    project_id: str | None = project_field()
    success: frozenset[Any] | None = success_field()
    KIND: ClassVar[str] = "sync"
    PATH: ClassVar[str] = STATUS_PATH
    ID_NAMES: ClassVar[tuple[str, ...]] = ("dataset_id",)
    PARSE: ClassVar[Any] = staticmethod(parse_sync_status)
    PHASES: ClassVar[Mapping[Any, Phase]] = PHASES


KIND = register_kind(
    Kind(
        "sync",
        SyncTask,
        ("dataset_id",),
        description="dataset synchronization (v2)",
        templates=(START_PATH,),
    )
)


async def start_sync(
    client: ModelArtsClient, dataset_id: str, *, project_id: str | None = None
) -> SyncTask:
    """Start synchronizing a dataset from its input location (``POST .../sync-data``) and
    return the spec that watches it. A sync already running answers 400
    ``ModelArts.4355``, raised as :class:`Conflict`."""
    spec = SyncTask(dataset_id, project_id=project_id)
    # The API takes no request body and sends none back.
    ids = {"dataset_id": dataset_id}
    await client.request("POST", START_PATH, no_answer, ids=ids, project_id=project_id)
    return spec

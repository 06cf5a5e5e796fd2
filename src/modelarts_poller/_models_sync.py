"""The status of a dataset synchronization task (sync-data-status.rst)."""

from __future__ import annotations

import enum
from collections.abc import Mapping
from datetime import datetime
from typing import Any, ClassVar

import attrs

from . import _parsing as p


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
    _kind: ClassVar[str] = "sync"
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

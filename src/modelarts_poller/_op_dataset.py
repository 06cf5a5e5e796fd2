"""Waiting until a dataset is idle: ``dataset``. Model, status table and spec.

Source: the API reference's "Querying Details About a Dataset". ``status`` is an
integer: 0 creating, 1 normal, 2 deleting, 3 deleted, 4 abnormal, 5 synchronizing, 6
releasing, 7 switching version, 8 importing. Watching a dataset waits until it is back
to normal (1) after any of the busy states; deleted and abnormal fail the watch.
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

STATUS_PATH = "/v2/{project_id}/datasets/{dataset_id}"


class DatasetStatusValue(enum.IntEnum):
    """The documented values of a dataset's ``status``."""

    CREATING = 0
    NORMAL = 1
    DELETING = 2
    DELETED = 3
    ABNORMAL = 4
    SYNCHRONIZING = 5
    RELEASING = 6
    SWITCHING_VERSION = 7
    IMPORTING = 8


PHASES: Mapping[Any, Phase] = MappingProxyType(
    {
        0: Phase.PENDING,
        1: Phase.SUCCEEDED,
        2: Phase.RUNNING,
        3: Phase.FAILED,
        4: Phase.FAILED,
        5: Phase.RUNNING,
        6: Phase.RUNNING,
        7: Phase.RUNNING,
        8: Phase.RUNNING,
    }
)
_KNOWN = frozenset(
    {
        "dataset_id",
        "dataset_name",
        "dataset_type",
        "status",
        "total_sample_count",
        "annotated_sample_count",
        "current_version_id",
        "current_version_name",
        "create_time",
        "update_time",
        "error_code",
        "error_msg",
    }
)


@attrs.frozen
class DatasetStatus(p.StatusMixin[DatasetStatusValue]):
    """``GET /v2/{project_id}/datasets/{dataset_id}``: the fields that say its state."""

    dataset_id: str | None = None
    dataset_name: str | None = None
    dataset_type: int | None = None
    status: int | None = None
    total_sample_count: int | None = None
    annotated_sample_count: int | None = None
    current_version_id: str | None = None
    current_version_name: str | None = None
    create_time: int | None = None
    update_time: int | None = None
    error_code: str | None = None
    error_msg: str | None = None
    extra: Mapping[str, object] = p.extra_field()
    _phases: ClassVar[Mapping[Any, Phase]] = PHASES
    _values: ClassVar[type[Any]] = DatasetStatusValue


def parse_dataset_status(data: object) -> DatasetStatus:
    """Read a dataset body; raises :class:`ParseError` on a wrong type."""
    d = p.obj(data, "")
    return DatasetStatus(
        dataset_id=p.opt_str(d, "dataset_id", ""),
        dataset_name=p.opt_str(d, "dataset_name", ""),
        dataset_type=p.opt_int(d, "dataset_type", ""),
        status=p.opt_int(d, "status", ""),
        total_sample_count=p.opt_int(d, "total_sample_count", ""),
        annotated_sample_count=p.opt_int(d, "annotated_sample_count", ""),
        current_version_id=p.opt_str(d, "current_version_id", ""),
        current_version_name=p.opt_str(d, "current_version_name", ""),
        create_time=p.opt_int(d, "create_time", ""),
        update_time=p.opt_int(d, "update_time", ""),
        error_code=p.opt_str(d, "error_code", ""),
        error_msg=p.opt_str(d, "error_msg", ""),
        extra=p.extra(d, _KNOWN),
    )


@attrs.frozen
class DatasetIdle(ModelArtsTask):
    """A dataset, watched until it is idle again. Succeeds at 1 (normal); 3 (deleted)
    and 4 (abnormal) fail it."""

    dataset_id: str = id_field("dataset_id")
    project_id: str | None = project_field()
    success: frozenset[Any] | None = success_field()
    KIND: ClassVar[str] = "dataset"
    PATH: ClassVar[str] = STATUS_PATH
    ID_NAMES: ClassVar[tuple[str, ...]] = ("dataset_id",)
    PARSE: ClassVar[Any] = staticmethod(parse_dataset_status)
    PHASES: ClassVar[Mapping[Any, Phase]] = PHASES


KIND = register_kind(
    Kind("dataset", DatasetIdle, ("dataset_id",), description="a dataset, until it is idle")
)

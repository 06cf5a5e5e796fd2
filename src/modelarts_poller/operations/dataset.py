"""Waiting until a dataset is idle: ``dataset``. Model, status table and spec.

Source: the API reference's "Querying Details About a Dataset". ``status`` is an
integer: 0 creating, 1 normal, 2 deleting, 3 deleted, 4 abnormal, 5 synchronizing, 6
releasing, 7 switching version, 8 importing. Watching a dataset waits until it is back
to normal (1) after any of the busy states; deleted and abnormal fail the watch.
"""

from __future__ import annotations

import enum
from collections.abc import Mapping
from typing import Any

import attrs

from .. import _parsing as p
from .._kind import ModelArtsTask, id_field, project_field, success_field
from .._phase import Phase
from ._declare import declare, integer, parser, phase_table, text

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


V = DatasetStatusValue
PHASES = phase_table(V, {
    V.CREATING: Phase.PENDING, V.NORMAL: Phase.SUCCEEDED, V.DELETING: Phase.RUNNING,
    V.DELETED: Phase.FAILED, V.ABNORMAL: Phase.FAILED, V.SYNCHRONIZING: Phase.RUNNING,
    V.RELEASING: Phase.RUNNING, V.SWITCHING_VERSION: Phase.RUNNING, V.IMPORTING: Phase.RUNNING,
})  # fmt: skip


@attrs.frozen
class DatasetStatus(p.StatusMixin[DatasetStatusValue]):
    """``GET /v2/{project_id}/datasets/{dataset_id}``: the fields that say its state."""

    dataset_id: str | None = text()
    dataset_name: str | None = text()
    dataset_type: int | None = integer()
    status: int | None = integer()
    total_sample_count: int | None = integer()
    annotated_sample_count: int | None = integer()
    current_version_id: str | None = text()
    current_version_name: str | None = text()
    create_time: int | None = integer()
    update_time: int | None = integer()
    error_code: str | None = text()
    error_msg: str | None = text()
    extra: Mapping[str, object] = p.extra_field()


parse_dataset_status = parser(DatasetStatus)


@declare("dataset", values=V, phases=PHASES, model=DatasetStatus, parse=parse_dataset_status,
         path=STATUS_PATH, description="a dataset, until it is idle")  # fmt: skip
@attrs.frozen
class DatasetIdle(ModelArtsTask):
    """A dataset, watched until it is idle again. Succeeds at 1 (normal); 3 (deleted)
    and 4 (abnormal) fail it."""

    dataset_id: str = id_field()
    project_id: str | None = project_field()
    success: frozenset[Any] | None = success_field()

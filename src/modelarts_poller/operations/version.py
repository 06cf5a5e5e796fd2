"""Dataset versions: ``version``. Model, status table, spec and the publish call.

Sources: the API reference's "Querying Details About a Dataset Version" and "Creating a
Dataset Labeling Version". ``status`` is an integer: 0 creating, 1 normal, 2 deleting,
3 deleted, 4 error. A version that is deleted or in error will not become usable, so
both fail the watch.
"""

from __future__ import annotations

import enum
from collections.abc import Mapping
from typing import Any

import attrs

from .. import _parsing as p
from .._kind import (
    ModelArtsTask,
    Transport,
    body_fields,
    id_answer,
    id_field,
    json_body,
    project_field,
    success_field,
)
from .._phase import Phase
from .._validate import check_id
from ._declare import declare, integer, parser, phase_table, text

STATUS_PATH = "/v2/{project_id}/datasets/{dataset_id}/versions/{version_id}"
VERSIONS_PATH = "/v2/{project_id}/datasets/{dataset_id}/versions"


class VersionStatusValue(enum.IntEnum):
    """The documented values of a dataset version's ``status``."""

    CREATING = 0
    NORMAL = 1
    DELETING = 2
    DELETED = 3
    ERROR = 4


V = VersionStatusValue
PHASES = phase_table(V, {
    V.CREATING: Phase.PENDING, V.NORMAL: Phase.SUCCEEDED, V.DELETING: Phase.RUNNING,
    V.DELETED: Phase.FAILED, V.ERROR: Phase.FAILED,
})  # fmt: skip


@attrs.frozen
class DatasetVersionStatus(p.StatusMixin[VersionStatusValue]):
    """``GET /v2/{project_id}/datasets/{dataset_id}/versions/{version_id}``. Reports no
    progress before it is done."""

    version_id: str | None = text()
    version_name: str | None = text()
    status: int | None = integer()
    total_sample_count: int | None = integer()
    annotated_sample_count: int | None = integer()
    version_format: str | None = text()
    description: str | None = text()
    create_time: int | None = integer()
    update_time: int | None = integer()
    error_code: str | None = text()
    error_msg: str | None = text(aliases=("message",))
    extra: Mapping[str, object] = p.extra_field()


parse_dataset_version_status = parser(DatasetVersionStatus)


@declare("version", values=V, phases=PHASES, model=DatasetVersionStatus,
         parse=parse_dataset_version_status, path=STATUS_PATH, description="dataset version",
         templates=(VERSIONS_PATH,))  # fmt: skip
@attrs.frozen
class DatasetVersionTask(ModelArtsTask):
    """A dataset version being published. Succeeds at 1 (normal); 3 (deleted) and 4
    (error) fail it."""

    dataset_id: str = id_field()
    version_id: str = id_field()
    project_id: str | None = project_field()
    success: frozenset[Any] | None = success_field()


_VERSION_ID = id_answer("version_id")


async def create_dataset_version(
    client: Transport,
    dataset_id: str,
    *,
    version_name: str | None = None,
    description: str | None = None,
    version_format: str | None = None,
    extra: Mapping[str, object] | None = None,
    project_id: str | None = None,
) -> DatasetVersionTask:
    """Publish a new version of a dataset (``POST .../versions``, answered 201 with the
    ``version_id``) and return the spec that watches it. ModelArts allows one version a
    minute per dataset (400 ``ModelArts.4370`` otherwise, raised as :class:`Conflict`)."""
    check_id("dataset_id", dataset_id)
    if version_name is not None:
        check_id("version_name", version_name)
    body = {**body_fields("extra", extra), **json_body(
        version_name=version_name, description=description, version_format=version_format
    )}  # fmt: skip
    version_id = await client.request(
        "POST", VERSIONS_PATH, _VERSION_ID, ids={"dataset_id": dataset_id}, body=body,
        project_id=project_id,
    )  # fmt: skip
    return DatasetVersionTask(dataset_id, version_id, project_id=project_id)

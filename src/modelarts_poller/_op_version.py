"""Dataset versions: ``version``. Model, status table, spec and the publish call.

Sources: the API reference's "Querying Details About a Dataset Version" and "Creating a
Dataset Labeling Version". ``status`` is an integer: 0 creating, 1 normal, 2 deleting,
3 deleted, 4 error. A version that is deleted or in error will not become usable, so
both fail the watch.
"""

from __future__ import annotations

import enum
from collections.abc import Mapping
from types import MappingProxyType
from typing import TYPE_CHECKING, Any, ClassVar

import attrs

from . import _parsing as p
from ._kind import (
    Kind,
    ModelArtsTask,
    body_fields,
    id_answer,
    id_field,
    json_body,
    project_field,
    register_kind,
    success_field,
)
from ._phase import Phase
from ._validate import check_id

if TYPE_CHECKING:
    from ._client import ModelArtsClient

STATUS_PATH = "/v2/{project_id}/datasets/{dataset_id}/versions/{version_id}"
VERSIONS_PATH = "/v2/{project_id}/datasets/{dataset_id}/versions"


class VersionStatusValue(enum.IntEnum):
    """The documented values of a dataset version's ``status``."""

    CREATING = 0
    NORMAL = 1
    DELETING = 2
    DELETED = 3
    ERROR = 4


PHASES: Mapping[Any, Phase] = MappingProxyType(
    {0: Phase.PENDING, 1: Phase.SUCCEEDED, 2: Phase.RUNNING, 3: Phase.FAILED, 4: Phase.FAILED}
)
_KNOWN = frozenset(
    {
        "version_id",
        "version_name",
        "status",
        "total_sample_count",
        "annotated_sample_count",
        "version_format",
        "description",
        "create_time",
        "update_time",
        "error_code",
    }
)


@attrs.frozen
class DatasetVersionStatus(p.StatusMixin[VersionStatusValue]):
    """``GET /v2/{project_id}/datasets/{dataset_id}/versions/{version_id}``. Reports no
    progress before it is done."""

    version_id: str | None = None
    version_name: str | None = None
    status: int | None = None
    total_sample_count: int | None = None
    annotated_sample_count: int | None = None
    version_format: str | None = None
    description: str | None = None
    create_time: int | None = None
    update_time: int | None = None
    error_code: str | None = None
    error_msg: str | None = None
    extra: Mapping[str, object] = p.extra_field()
    _phases: ClassVar[Mapping[Any, Phase]] = PHASES
    _values: ClassVar[type[Any]] = VersionStatusValue


def parse_dataset_version_status(data: object) -> DatasetVersionStatus:
    """Read a dataset version body; raises :class:`ParseError` on a wrong type."""
    d = p.obj(data, "")
    error_msg, spellings = p.alias_str(d, ("error_msg", "message"), "")
    return DatasetVersionStatus(
        version_id=p.opt_str(d, "version_id", ""),
        version_name=p.opt_str(d, "version_name", ""),
        status=p.opt_int(d, "status", ""),
        total_sample_count=p.opt_int(d, "total_sample_count", ""),
        annotated_sample_count=p.opt_int(d, "annotated_sample_count", ""),
        version_format=p.opt_str(d, "version_format", ""),
        description=p.opt_str(d, "description", ""),
        create_time=p.opt_int(d, "create_time", ""),
        update_time=p.opt_int(d, "update_time", ""),
        error_code=p.opt_str(d, "error_code", ""),
        error_msg=error_msg,
        extra=p.extra(d, _KNOWN | spellings),
    )


@attrs.frozen
class DatasetVersionTask(ModelArtsTask):
    """A dataset version being published. Succeeds at 1 (normal); 3 (deleted) and 4
    (error) fail it."""

    dataset_id: str = id_field("dataset_id")
    version_id: str = id_field("version_id")
    project_id: str | None = project_field()
    success: frozenset[Any] | None = success_field()
    KIND: ClassVar[str] = "version"
    PATH: ClassVar[str] = STATUS_PATH
    ID_NAMES: ClassVar[tuple[str, ...]] = ("dataset_id", "version_id")
    PARSE: ClassVar[Any] = staticmethod(parse_dataset_version_status)
    PHASES: ClassVar[Mapping[Any, Phase]] = PHASES


_VERSION_ID = id_answer("version_id")


async def create_dataset_version(
    client: ModelArtsClient,
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


KIND = register_kind(
    Kind(
        "version",
        DatasetVersionTask,
        ("dataset_id", "version_id"),
        description="dataset version",
        templates=(VERSIONS_PATH,),
    )
)

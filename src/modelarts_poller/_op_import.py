"""Dataset import tasks: ``import``. Model, status table, spec, start and list calls.

Sources: the API reference's "Querying Details About a Dataset Import Task", "Creating an
Import Task" and "Querying the Dataset Import Task List" (the v2 data management API).
``elapsed_time`` is in seconds; ``create_time`` and ``update_ms`` in milliseconds.
"""

from __future__ import annotations

import enum
from collections.abc import AsyncIterator, Mapping
from datetime import datetime
from typing import TYPE_CHECKING, Any, ClassVar

import attrs

from . import _parsing as p
from ._errors import InvalidArgumentError
from ._kind import (
    Kind,
    ModelArtsTask,
    body_fields,
    check_page_size,
    id_answer,
    id_field,
    pages,
    project_field,
    register_kind,
    success_field,
)
from ._op_sync import PHASES as SYNC_PHASES
from ._phase import Phase
from ._validate import check_id

if TYPE_CHECKING:
    from ._client import ModelArtsClient

STATUS_PATH = "/v2/{project_id}/datasets/{dataset_id}/import-tasks/{task_id}"
TASKS_PATH = "/v2/{project_id}/datasets/{dataset_id}/import-tasks"

# The published value set is the sync task's, with the same meaning.
PHASES: Mapping[Any, Phase] = SYNC_PHASES


class ImportStatusValue(enum.Enum):
    """The documented values of an import task's ``status``."""

    QUEUING = "QUEUING"
    STARTING = "STARTING"
    RUNNING = "RUNNING"
    COMPLETED = "COMPLETED"
    FAILED = "FAILED"
    NOT_EXIST = "NOT_EXIST"


_KNOWN = frozenset(
    {
        "task_id",
        "dataset_id",
        "import_path",
        "import_type",
        "status",
        "total_sample_count",
        "imported_sample_count",
        "annotated_sample_count",
        "total_file_count",
        "finished_file_count",
        "total_file_size",
        "finished_file_size",
        "elapsed_time",
        "create_time",
        "update_ms",
        "error_code",
        "error_msg",
    }
)


@attrs.frozen
class ImportTaskStatus(p.StatusMixin[ImportStatusValue]):
    """``GET /v2/{project_id}/datasets/{dataset_id}/import-tasks/{task_id}``.

    :attr:`completion` comes from the sample counts, else from the file counts.
    """

    task_id: str | None = None
    dataset_id: str | None = None
    status: str | None = None
    import_path: str | None = None
    import_type: int | None = None
    total_sample_count: int | None = None
    imported_sample_count: int | None = None
    annotated_sample_count: int | None = None
    total_file_count: int | None = None
    finished_file_count: int | None = None
    total_file_size: int | None = None
    finished_file_size: int | None = None
    elapsed_time: int | None = None
    create_time: int | None = None
    update_ms: int | None = None
    error_code: str | None = None
    error_msg: str | None = None
    extra: Mapping[str, object] = p.extra_field()
    _phases: ClassVar[Mapping[Any, Phase]] = PHASES
    _values: ClassVar[type[Any]] = ImportStatusValue

    @property
    def completion(self) -> float | None:
        if self.phase is Phase.SUCCEEDED:
            return 1.0
        for done, total in (
            (self.imported_sample_count, self.total_sample_count),
            (self.finished_file_count, self.total_file_count),
        ):
            if done is not None and total:
                return min(1.0, max(0.0, done / total))
        return None

    @property
    def created_at(self) -> datetime | None:
        return p.ms_datetime(self.create_time)


def parse_import_task_status(data: object, path: str = "") -> ImportTaskStatus:
    """Read an import task body; raises :class:`ParseError` on a wrong type."""
    d = p.obj(data, path)
    i = p.opt_int
    return ImportTaskStatus(
        task_id=p.opt_str(d, "task_id", path),
        dataset_id=p.opt_str(d, "dataset_id", path),
        status=p.opt_str(d, "status", path),
        import_path=p.opt_str(d, "import_path", path),
        import_type=i(d, "import_type", path),
        total_sample_count=i(d, "total_sample_count", path),
        imported_sample_count=i(d, "imported_sample_count", path),
        annotated_sample_count=i(d, "annotated_sample_count", path),
        total_file_count=i(d, "total_file_count", path),
        finished_file_count=i(d, "finished_file_count", path),
        total_file_size=i(d, "total_file_size", path),
        finished_file_size=i(d, "finished_file_size", path),
        elapsed_time=i(d, "elapsed_time", path),
        create_time=i(d, "create_time", path),
        update_ms=i(d, "update_ms", path),
        error_code=p.opt_str(d, "error_code", path),
        error_msg=p.opt_str(d, "error_msg", path),
        extra=p.extra(d, _KNOWN),
    )


def _page(data: object) -> tuple[int, tuple[ImportTaskStatus, ...]]:
    d = p.obj(data, "")
    items = p.opt_list(d, "import_tasks", "", parse_import_task_status) or ()
    total = p.opt_int(d, "total_count", "")
    return (len(items) if total is None else total), items


@attrs.frozen
class ImportTask(ModelArtsTask):
    """One import task of a dataset. Succeeds on ``COMPLETED``; ``FAILED`` and
    ``NOT_EXIST`` fail it."""

    dataset_id: str = id_field("dataset_id")
    task_id: str = id_field("task_id")
    project_id: str | None = project_field()
    success: frozenset[Any] | None = success_field()
    KIND: ClassVar[str] = "import"
    PATH: ClassVar[str] = STATUS_PATH
    ID_NAMES: ClassVar[tuple[str, ...]] = ("dataset_id", "task_id")
    PARSE: ClassVar[Any] = staticmethod(parse_import_task_status)
    PHASES: ClassVar[Mapping[Any, Phase]] = PHASES
    LIST_PATH: ClassVar[str | None] = TASKS_PATH
    GROUP_IDS: ClassVar[tuple[str, ...]] = ("dataset_id",)
    LIST_PAGE: ClassVar[Any] = staticmethod(_page)


_TASK_ID = id_answer("task_id")


async def create_import_task(
    client: ModelArtsClient,
    dataset_id: str,
    *,
    import_path: str,
    import_type: int | None = None,
    extra: Mapping[str, object] | None = None,
    project_id: str | None = None,
) -> ImportTask:
    """Import samples (and labels) into a dataset from ``import_path`` (an OBS path, e.g.
    ``/bucket/in/``) and return the spec that watches the import. ``extra`` adds other
    request body fields of the API verbatim."""
    check_id("dataset_id", dataset_id)
    if not isinstance(import_path, str) or not import_path.strip():
        raise InvalidArgumentError("import_path must be a non-empty OBS path such as /bucket/in/")
    if import_type is not None and (isinstance(import_type, bool) or import_type not in (0, 1)):
        raise InvalidArgumentError(
            f"import_type must be 0 (directory) or 1 (manifest), got {import_type!r}"
        )
    body = body_fields("extra", extra)
    body["import_path"] = import_path
    if import_type is not None:
        body["import_type"] = import_type
    task_id = await client.request(
        "POST", TASKS_PATH, _TASK_ID, ids={"dataset_id": dataset_id}, body=body,
        project_id=project_id,
    )  # fmt: skip
    return ImportTask(dataset_id, task_id, project_id=project_id)


def list_import_tasks(
    client: ModelArtsClient,
    dataset_id: str,
    *,
    page_size: int = 100,
    project_id: str | None = None,
) -> AsyncIterator[ImportTaskStatus]:
    """Every import task of a dataset, over all pages."""
    check_id("dataset_id", dataset_id)
    check_page_size(page_size)
    return pages(
        client, TASKS_PATH, {"dataset_id": dataset_id}, _page,
        page_size=page_size, project_id=project_id,
    )  # fmt: skip


KIND = register_kind(
    Kind(
        "import",
        ImportTask,
        ("dataset_id", "task_id"),
        description="dataset import task",
        templates=(TASKS_PATH,),
    )
)

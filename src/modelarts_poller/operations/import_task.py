"""Dataset import tasks: ``import``. Model, status table, spec, start and list calls.

Sources: the API reference's "Querying Details About a Dataset Import Task", "Creating an
Import Task" and "Querying the Dataset Import Task List" (the v2 data management API).
``elapsed_time`` is in seconds; ``create_time`` and ``update_ms`` in milliseconds.
"""

from __future__ import annotations

import enum
from collections.abc import AsyncIterator, Mapping
from datetime import datetime
from typing import Any

import attrs

from .. import _parsing as p
from .._errors import InvalidArgumentError
from .._kind import (
    ModelArtsTask,
    Transport,
    body_fields,
    check_page_size,
    id_answer,
    id_field,
    pages,
    project_field,
    success_field,
)
from .._phase import Phase
from .._validate import check_id
from ._declare import declare, integer, parser, phase_table, text
from .sync import PHASES as SYNC_PHASES

STATUS_PATH = "/v2/{project_id}/datasets/{dataset_id}/import-tasks/{task_id}"
TASKS_PATH = "/v2/{project_id}/datasets/{dataset_id}/import-tasks"


class ImportStatusValue(enum.Enum):
    """The documented values of an import task's ``status``."""

    QUEUING = "QUEUING"
    STARTING = "STARTING"
    RUNNING = "RUNNING"
    COMPLETED = "COMPLETED"
    FAILED = "FAILED"
    NOT_EXIST = "NOT_EXIST"


V = ImportStatusValue
# The published value set is the sync task's, with the same meaning.
PHASES = phase_table(V, {V(value): phase for value, phase in SYNC_PHASES.items()})


@attrs.frozen
class ImportTaskStatus(p.StatusMixin[ImportStatusValue]):
    """``GET /v2/{project_id}/datasets/{dataset_id}/import-tasks/{task_id}``.

    :attr:`completion` comes from the sample counts, else from the file counts.
    """

    task_id: str | None = text()
    dataset_id: str | None = text()
    status: str | None = text()
    import_path: str | None = text()
    import_type: int | None = integer()
    total_sample_count: int | None = integer()
    imported_sample_count: int | None = integer()
    annotated_sample_count: int | None = integer()
    total_file_count: int | None = integer()
    finished_file_count: int | None = integer()
    total_file_size: int | None = integer()
    finished_file_size: int | None = integer()
    elapsed_time: int | None = integer()
    create_time: int | None = integer()
    update_ms: int | None = integer()
    error_code: str | None = text()
    error_msg: str | None = text()
    extra: Mapping[str, object] = p.extra_field()

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


parse_import_task_status = parser(ImportTaskStatus)


def _page(data: object) -> tuple[int, tuple[ImportTaskStatus, ...]]:
    d = p.obj(data, "")
    items = p.opt_list(d, "import_tasks", "", parse_import_task_status) or ()
    total = p.opt_int(d, "total_count", "")
    return (len(items) if total is None else total), items


@declare("import", values=V, phases=PHASES, model=ImportTaskStatus,
         parse=parse_import_task_status, path=STATUS_PATH, list_path=TASKS_PATH,
         group_ids=("dataset_id",), list_page=_page, description="dataset import task",
         templates=(TASKS_PATH,))  # fmt: skip
@attrs.frozen
class ImportTask(ModelArtsTask):
    """One import task of a dataset. Succeeds on ``COMPLETED``; ``FAILED`` and
    ``NOT_EXIST`` fail it."""

    dataset_id: str = id_field()
    task_id: str = id_field()
    project_id: str | None = project_field()
    success: frozenset[Any] | None = success_field()


_TASK_ID = id_answer("task_id")


async def create_import_task(
    client: Transport,
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
    client: Transport,
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

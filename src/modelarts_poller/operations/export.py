"""The status of a dataset export task (export-task-status.rst), with its nested objects."""

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
from .._specs import ModelArtsAPI
from .._validate import check_id
from ._declare import (
    choice,
    declare,
    flag,
    integer,
    items,
    nested,
    number,
    parser,
    phase_table,
    str_map,
    text,
)


class ExportType(enum.IntEnum):
    LABELED = 0
    UNLABELED = 1
    ALL = 2
    CONDITIONAL_SEARCH = 3


class ExportFormat(enum.IntEnum):
    TREE = 1  # rabbits/1.jpg, bees/2.jpg
    TILE = 2  # 1.jpg, 1.txt; 2.jpg, 2.txt


class ExportDest(enum.Enum):
    DIR = "DIR"  # to OBS (the default)
    NEW_DATASET = "NEW_DATASET"


class VersionFormat(enum.Enum):
    DEFAULT = "Default"
    CARBON_DATA = "CarbonData"  # table datasets only
    CSV = "CSV"


class SampleState(enum.Enum):
    ALL = "__ALL__"  # labeled
    NONE = "__NONE__"  # not labeled
    UNCHECK = "__UNCHECK__"  # to be accepted
    ACCEPTED = "__ACCEPTED__"
    REJECTED = "__REJECTED__"
    UNREVIEWED = "__UNREVIEWED__"
    REVIEWED = "__REVIEWED__"
    WORKFORCE_SAMPLED = "__WORKFORCE_SAMPLED__"
    WORKFORCE_SAMPLED_UNCHECK = "__WORKFORCE_SAMPLED_UNCHECK__"
    WORKFORCE_SAMPLED_CHECKED = "__WORKFORCE_SAMPLED_CHECKED__"
    WORKFORCE_SAMPLED_ACCEPTED = "__WORKFORCE_SAMPLED_ACCEPTED__"
    WORKFORCE_SAMPLED_REJECTED = "__WORKFORCE_SAMPLED_REJECTED__"
    AUTO_ANNOTATION = "__AUTO_ANNOTATION__"  # to be confirmed


class LabelType(enum.IntEnum):
    IMAGE_CLASSIFICATION = 0
    OBJECT_DETECTION = 1
    IMAGE_SEGMENTATION = 3
    TEXT_CLASSIFICATION = 100
    NAMED_ENTITY_RECOGNITION = 101
    TEXT_TRIPLET_RELATIONSHIP = 102
    TEXT_TRIPLET_ENTITY = 103
    SOUND_CLASSIFICATION = 200
    SPEECH_CONTENT = 201
    SPEECH_PARAGRAPH_LABELING = 202
    VIDEO_LABELING = 600


class SearchOp(enum.Enum):
    AND = "AND"
    OR = "OR"


class HardSample(enum.Enum):
    NOT_HARD = "0"
    HARD = "1"


class ExportStatusValue(enum.Enum):
    """The published values of an export task's ``status`` (the response table of "Creating
    a Dataset Export Task"). The other spellings ``PHASES`` accepts are defensive guesses,
    not documented values: their ``status_value`` is ``None``."""

    INIT = "INIT"
    RUNNING = "RUNNING"
    SUCCESSED = "SUCCESSED"
    FAILED = "FAILED"


V = ExportStatusValue
# The four values the "Creating a Dataset Export Task" response table publishes are INIT,
# RUNNING, FAILED and SUCCESSED (sic). The other spellings are defensive guesses from the
# other dataset APIs (QUEUING, SUCCEEDED, SUCCESS, COMPLETED, NOT_EXIST), accepted so that
# an unpublished value could not leave a finished task UNKNOWN for ever.
PHASES = phase_table(
    V,
    {V.INIT: Phase.PENDING, V.RUNNING: Phase.RUNNING, V.SUCCESSED: Phase.SUCCEEDED,
     V.FAILED: Phase.FAILED},
    undocumented={"QUEUING": Phase.PENDING, "SUCCEEDED": Phase.SUCCEEDED,
                  "SUCCESS": Phase.SUCCEEDED, "COMPLETED": Phase.SUCCEEDED,
                  "NOT_EXIST": Phase.FAILED},
)  # fmt: skip


@attrs.frozen
class SearchProp:
    """Table 7: attribute search criteria."""

    op: SearchOp | str | None = choice(SearchOp)
    props: Mapping[str, tuple[str, ...] | None] | None = str_map()
    extra: Mapping[str, object] = p.extra_field()


@attrs.frozen
class SearchLabel:
    """Table 6: one label criterion. ``property`` values may be ``None`` (any value)."""

    name: str | None = text()
    op: SearchOp | str | None = choice(SearchOp)
    property: Mapping[str, tuple[str, ...] | None] | None = str_map()
    type: LabelType | int | None = choice(LabelType, int)
    extra: Mapping[str, object] = p.extra_field()


@attrs.frozen
class SearchLabels:
    """Table 5: label criteria joined by ``op``."""

    labels: tuple[SearchLabel, ...] | None = items(parser(SearchLabel))
    op: SearchOp | str | None = choice(SearchOp)
    extra: Mapping[str, object] = p.extra_field()


@attrs.frozen
class SearchCondition:
    """Table 4: one search condition (conditions in a list are ORed)."""

    coefficient: str | None = text()
    frame_in_video: int | None = integer()
    hard: HardSample | str | None = choice(HardSample)
    import_origin: str | None = text()
    kvp: str | None = text()
    label_list: SearchLabels | None = nested(parser(SearchLabels))
    labeler: str | None = text()
    metadata: SearchProp | None = nested(parser(SearchProp))
    parent_sample_id: str | None = text()
    sample_dir: str | None = text()
    sample_name: str | None = text()
    sample_time: str | None = text()
    score: str | None = text()
    slice_thickness: str | None = text()
    study_date: str | None = text()
    time_in_video: str | None = text()
    extra: Mapping[str, object] = p.extra_field()


@attrs.frozen
class ExportParams:
    """Table 3: the parameters the export task was created with.

    ``train_sample_ratio`` is a String in the table and a number in the example: both
    are accepted and read as a float.
    """

    clear_hard_property: bool | None = flag()
    export_dataset_version_format: str | None = text()
    export_dataset_version_name: str | None = text()
    export_dest: ExportDest | str | None = choice(ExportDest)
    export_new_dataset_name: str | None = text()
    export_new_dataset_work_path: str | None = text()
    ratio_sample_usage: bool | None = flag()
    sample_state: SampleState | str | None = choice(SampleState)
    samples: tuple[str, ...] | None = items(p.str_item)
    search_conditions: tuple[SearchCondition, ...] | None = items(parser(SearchCondition))
    train_sample_ratio: float | None = number()
    extra: Mapping[str, object] = p.extra_field()


@attrs.frozen
class ExportTaskStatus(p.StatusMixin[ExportStatusValue]):
    """``GET /v2/{project_id}/datasets/{resource_id}/export-tasks/{task_id}``.

    ``progress`` is a percentage (0-100); :attr:`completion` is the fraction.
    ``create_time`` and ``update_time`` are milliseconds since the epoch (also as
    :attr:`created_at` and :attr:`updated_at`).
    """

    task_id: str | None = text()
    status: str | None = text()
    progress: float | None = number()
    finished_sample_count: int | None = integer()
    total_sample_count: int | None = integer()
    path: str | None = text()
    export_type: ExportType | int | None = choice(ExportType, int)
    export_format: ExportFormat | int | None = choice(ExportFormat, int)
    export_params: ExportParams | None = nested(parser(ExportParams))
    version_format: VersionFormat | str | None = choice(VersionFormat)
    version_id: str | None = text()
    create_time: int | None = integer()
    update_time: int | None = integer()
    error_code: str | None = text()
    error_msg: str | None = text()
    extra: Mapping[str, object] = p.extra_field()

    @property
    def completion(self) -> float | None:
        """How far along, in [0, 1]: from ``progress``, else from the sample counts."""
        if self.phase is Phase.SUCCEEDED:
            return 1.0
        if self.progress is not None:
            return min(1.0, max(0.0, self.progress / 100.0))
        done, total = self.finished_sample_count, self.total_sample_count
        if done is not None and total:
            return min(1.0, max(0.0, done / total))
        return None

    @property
    def created_at(self) -> datetime | None:
        return p.ms_datetime(self.create_time)

    @property
    def updated_at(self) -> datetime | None:
        return p.ms_datetime(self.update_time)


parse_export_task_status = parser(ExportTaskStatus)


STATUS_PATH = "/v2/{project_id}/datasets/{dataset_id}/export-tasks/{task_id}"
TASKS_PATH = "/v2/{project_id}/datasets/{dataset_id}/export-tasks"


@attrs.frozen
class ExportTaskPage:
    """One page of ``GET .../export-tasks``: the tasks and how many there are in all."""

    total_count: int
    tasks: tuple[ExportTaskStatus, ...]


def parse_export_task_page(data: object) -> ExportTaskPage:
    """Read one page of the export task list; raises :class:`ParseError` on a wrong type."""
    d = p.obj(data, "")
    total = p.opt_int(d, "total_count", "")
    items = p.opt_list(d, "export_tasks", "", parse_export_task_status) or ()
    return ExportTaskPage(len(items) if total is None else total, items)


def _page(data: object) -> tuple[int, tuple[ExportTaskStatus, ...]]:
    page = parse_export_task_page(data)
    return page.total_count, page.tasks


@declare("export", values=V, phases=PHASES, model=ExportTaskStatus,
         parse=parse_export_task_status, path=STATUS_PATH, list_path=TASKS_PATH,
         group_ids=("dataset_id",), list_page=_page, description="dataset export task",
         templates=(TASKS_PATH,))  # fmt: skip
@attrs.frozen
class ExportTask(ModelArtsTask):
    """One export task of a dataset. Succeeds on ``SUCCESSED``; ``FAILED`` fails it."""

    dataset_id: str = id_field()
    task_id: str = id_field()
    project_id: str | None = project_field()
    success: frozenset[Any] | None = success_field()


_EXPORT_TYPES = frozenset({0, 1, 2, 3})
_TASK_ID = id_answer("task_id")


def _export_type(value: object) -> int | None:
    if value is not None and (isinstance(value, bool) or value not in _EXPORT_TYPES):
        raise InvalidArgumentError(f"export_type must be 0, 1, 2 or 3, got {value!r}")
    return value if isinstance(value, int) else None


async def create_export_task(
    client: Transport,
    dataset_id: str,
    *,
    path: str,
    export_type: int | None = None,
    version_id: str | None = None,
    export_format: int | None = None,
    annotation_format: str | None = None,
    extra: Mapping[str, object] | None = None,
    project_id: str | None = None,
) -> ExportTask:
    """Create a dataset export task to OBS and return the spec that watches it.

    ``path`` is the OBS output directory (e.g. ``/bucket/out/``). ``export_type``: 0
    labeled, 1 unlabeled, 2 all, 3 conditional search. ``extra`` adds other request
    body fields of the API (e.g. ``export_params``) verbatim.
    """
    check_id("dataset_id", dataset_id)
    if not isinstance(path, str) or not path.strip():
        raise InvalidArgumentError("path must be a non-empty OBS path such as /bucket/dir/")
    _export_type(export_type)
    if version_id is not None:
        check_id("version_id", version_id)
    body = body_fields("extra", extra)
    body["path"] = path
    for key, value in (
        ("export_type", export_type),
        ("version_id", version_id),
        ("export_format", export_format),
        ("annotation_format", annotation_format),
    ):
        if value is not None:
            body[key] = value
    task_id = await client.request(
        "POST", TASKS_PATH, _TASK_ID, ids={"dataset_id": dataset_id}, body=body,
        project_id=project_id,
    )  # fmt: skip
    return ExportTask(dataset_id, task_id, project_id=project_id)


def list_export_tasks(
    client: Transport,
    dataset_id: str,
    *,
    export_type: int | None = None,
    page_size: int = 100,
    project_id: str | None = None,
) -> AsyncIterator[ExportTaskStatus]:
    """Every export task of a dataset (all pages), optionally of one ``export_type``."""
    check_id("dataset_id", dataset_id)
    _export_type(export_type)
    check_page_size(page_size)
    query = {} if export_type is None else {"export_type": export_type}
    return pages(
        client, TASKS_PATH, {"dataset_id": dataset_id}, _page,
        page_size=page_size, query=query, project_id=project_id,
    )  # fmt: skip


async def get_export_task_status(
    client: ModelArtsAPI, dataset_id: str, task_id: str, *, project_id: str | None = None
) -> ExportTaskStatus:
    """The status of one export task of a dataset (``GET .../export-tasks/{task_id}``)."""
    spec = ExportTask(dataset_id, task_id, project_id=project_id)
    result: ExportTaskStatus = await client.get_task(spec)
    return result

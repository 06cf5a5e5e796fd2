"""The status of a dataset export task (export-task-status.rst), with its nested objects."""

from __future__ import annotations

import enum
from collections.abc import AsyncIterator, Mapping
from datetime import datetime
from types import MappingProxyType
from typing import TYPE_CHECKING, Any, ClassVar

import attrs

from . import _parsing as p
from ._errors import InvalidArgumentError, ParseError
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
from ._phase import Phase
from ._validate import check_id

if TYPE_CHECKING:
    from ._client import ModelArtsClient


# The four values the "Creating a Dataset Export Task" response table publishes are INIT,
# RUNNING, FAILED and SUCCESSED (sic). The other spellings are defensive guesses from the
# other dataset APIs (QUEUING, SUCCEEDED, SUCCESS, COMPLETED, NOT_EXIST), accepted so that
# an unpublished value could not leave a finished task UNKNOWN for ever.
PHASES: Mapping[Any, Phase] = MappingProxyType(
    {
        "INIT": Phase.PENDING,
        "RUNNING": Phase.RUNNING,
        "SUCCESSED": Phase.SUCCEEDED,
        "FAILED": Phase.FAILED,
        "QUEUING": Phase.PENDING,
        "SUCCEEDED": Phase.SUCCEEDED,
        "SUCCESS": Phase.SUCCEEDED,
        "COMPLETED": Phase.SUCCEEDED,
        "NOT_EXIST": Phase.FAILED,
    }
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


@attrs.frozen
class SearchProp:
    """Table 7: attribute search criteria."""

    op: SearchOp | str | None = None
    props: Mapping[str, tuple[str, ...] | None] | None = attrs.field(default=None, hash=False)
    extra: Mapping[str, object] = p.extra_field()


@attrs.frozen
class SearchLabel:
    """Table 6: one label criterion. ``property`` values may be ``None`` (any value)."""

    name: str | None = None
    op: SearchOp | str | None = None
    property: Mapping[str, tuple[str, ...] | None] | None = attrs.field(default=None, hash=False)
    type: LabelType | int | None = None
    extra: Mapping[str, object] = p.extra_field()


@attrs.frozen
class SearchLabels:
    """Table 5: label criteria joined by ``op``."""

    labels: tuple[SearchLabel, ...] | None = None
    op: SearchOp | str | None = None
    extra: Mapping[str, object] = p.extra_field()


@attrs.frozen
class SearchCondition:
    """Table 4: one search condition (conditions in a list are ORed)."""

    coefficient: str | None = None
    frame_in_video: int | None = None
    hard: HardSample | str | None = None
    import_origin: str | None = None
    kvp: str | None = None
    label_list: SearchLabels | None = None
    labeler: str | None = None
    metadata: SearchProp | None = None
    parent_sample_id: str | None = None
    sample_dir: str | None = None
    sample_name: str | None = None
    sample_time: str | None = None
    score: str | None = None
    slice_thickness: str | None = None
    study_date: str | None = None
    time_in_video: str | None = None
    extra: Mapping[str, object] = p.extra_field()


@attrs.frozen
class ExportParams:
    """Table 3: the parameters the export task was created with.

    ``train_sample_ratio`` is a String in the table and a number in the example: both
    are accepted and read as a float.
    """

    clear_hard_property: bool | None = None
    export_dataset_version_format: str | None = None
    export_dataset_version_name: str | None = None
    export_dest: ExportDest | str | None = None
    export_new_dataset_name: str | None = None
    export_new_dataset_work_path: str | None = None
    ratio_sample_usage: bool | None = None
    sample_state: SampleState | str | None = None
    samples: tuple[str, ...] | None = None
    search_conditions: tuple[SearchCondition, ...] | None = None
    train_sample_ratio: float | None = None
    extra: Mapping[str, object] = p.extra_field()


@attrs.frozen
class ExportTaskStatus(p.StatusMixin[ExportStatusValue]):
    """``GET /v2/{project_id}/datasets/{resource_id}/export-tasks/{task_id}``.

    ``progress`` is a percentage (0-100); :attr:`completion` is the fraction.
    ``create_time`` and ``update_time`` are milliseconds since the epoch (also as
    :attr:`created_at` and :attr:`updated_at`).
    """

    task_id: str | None = None
    status: str | None = None
    progress: float | None = None
    finished_sample_count: int | None = None
    total_sample_count: int | None = None
    path: str | None = None
    export_type: ExportType | int | None = None
    export_format: ExportFormat | int | None = None
    export_params: ExportParams | None = None
    version_format: VersionFormat | str | None = None
    version_id: str | None = None
    create_time: int | None = None
    update_time: int | None = None
    error_code: str | None = None
    error_msg: str | None = None
    extra: Mapping[str, object] = p.extra_field()
    _phases: ClassVar[Mapping[Any, Phase]] = PHASES
    _values: ClassVar[type[Any]] = ExportStatusValue

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


_SP = frozenset({"op", "props"})
_SL = frozenset({"name", "op", "property", "type"})
_SLS = frozenset({"labels", "op"})
_SC_STR = (
    "coefficient",
    "import_origin",
    "kvp",
    "labeler",
    "parent_sample_id",
    "sample_dir",
    "sample_name",
    "sample_time",
    "score",
    "slice_thickness",
    "study_date",
    "time_in_video",
)
_SC = frozenset({*_SC_STR, "frame_in_video", "hard", "label_list", "metadata"})
_EP = frozenset(
    {
        "clear_hard_property",
        "export_dataset_version_format",
        "export_dataset_version_name",
        "export_dest",
        "export_new_dataset_name",
        "export_new_dataset_work_path",
        "ratio_sample_usage",
        "sample_state",
        "samples",
        "search_conditions",
        "train_sample_ratio",
    }
)
_ET = frozenset(
    {
        "task_id",
        "status",
        "progress",
        "finished_sample_count",
        "total_sample_count",
        "path",
        "export_type",
        "export_format",
        "export_params",
        "version_format",
        "version_id",
        "create_time",
        "update_time",
        "error_code",
        "error_msg",
    }
)


def _search_prop(v: object, path: str) -> SearchProp:
    d = p.obj(v, path)
    return SearchProp(
        op=p.opt_enum(d, "op", path, SearchOp, str),
        props=p.opt_str_map(d, "props", path),
        extra=p.extra(d, _SP),
    )


def _search_label(v: object, path: str) -> SearchLabel:
    d = p.obj(v, path)
    return SearchLabel(
        name=p.opt_str(d, "name", path),
        op=p.opt_enum(d, "op", path, SearchOp, str),
        property=p.opt_str_map(d, "property", path),
        type=p.opt_enum(d, "type", path, LabelType, int),
        extra=p.extra(d, _SL),
    )


def _search_labels(v: object, path: str) -> SearchLabels:
    d = p.obj(v, path)
    return SearchLabels(
        labels=p.opt_list(d, "labels", path, _search_label),
        op=p.opt_enum(d, "op", path, SearchOp, str),
        extra=p.extra(d, _SLS),
    )


def _nested(d: dict[str, Any], key: str, path: str, read: Any) -> Any:
    v = d.get(key)
    return None if v is None else read(v, p.at(path, key))


def _search_condition(v: object, path: str) -> SearchCondition:
    d = p.obj(v, path)
    strings = {k: p.opt_str(d, k, path) for k in _SC_STR}
    return SearchCondition(
        frame_in_video=p.opt_int(d, "frame_in_video", path),
        hard=p.opt_enum(d, "hard", path, HardSample, str),
        label_list=_nested(d, "label_list", path, _search_labels),
        metadata=_nested(d, "metadata", path, _search_prop),
        extra=p.extra(d, _SC),
        **strings,
    )


def _export_params(v: object, path: str) -> ExportParams:
    d = p.obj(v, path)
    return ExportParams(
        clear_hard_property=p.opt_bool(d, "clear_hard_property", path),
        export_dataset_version_format=p.opt_str(d, "export_dataset_version_format", path),
        export_dataset_version_name=p.opt_str(d, "export_dataset_version_name", path),
        export_dest=p.opt_enum(d, "export_dest", path, ExportDest, str),
        export_new_dataset_name=p.opt_str(d, "export_new_dataset_name", path),
        export_new_dataset_work_path=p.opt_str(d, "export_new_dataset_work_path", path),
        ratio_sample_usage=p.opt_bool(d, "ratio_sample_usage", path),
        sample_state=p.opt_enum(d, "sample_state", path, SampleState, str),
        samples=p.opt_list(d, "samples", path, p.str_item),
        search_conditions=p.opt_list(d, "search_conditions", path, _search_condition),
        train_sample_ratio=p.opt_float(d, "train_sample_ratio", path),
        extra=p.extra(d, _EP),
    )


def parse_export_task_status(data: object) -> ExportTaskStatus:
    """Read an export task status body; raises :class:`ParseError` on a wrong type."""
    d = p.obj(data, "")
    return ExportTaskStatus(
        task_id=p.opt_str(d, "task_id", ""),
        status=p.opt_str(d, "status", ""),
        progress=p.opt_float(d, "progress", ""),
        finished_sample_count=p.opt_int(d, "finished_sample_count", ""),
        total_sample_count=p.opt_int(d, "total_sample_count", ""),
        path=p.opt_str(d, "path", ""),
        export_type=p.opt_enum(d, "export_type", "", ExportType, int),
        export_format=p.opt_enum(d, "export_format", "", ExportFormat, int),
        export_params=_nested(d, "export_params", "", _export_params),
        version_format=p.opt_enum(d, "version_format", "", VersionFormat, str),
        version_id=p.opt_str(d, "version_id", ""),
        create_time=p.opt_int(d, "create_time", ""),
        update_time=p.opt_int(d, "update_time", ""),
        error_code=p.opt_str(d, "error_code", ""),
        error_msg=p.opt_str(d, "error_msg", ""),
        extra=p.extra(d, _ET),
    )


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
    items = p.opt_list(d, "export_tasks", "", _export_item) or ()
    return ExportTaskPage(len(items) if total is None else total, items)


def _page(data: object) -> tuple[int, tuple[ExportTaskStatus, ...]]:
    page = parse_export_task_page(data)
    return page.total_count, page.tasks


def _export_item(v: object, path: str) -> ExportTaskStatus:
    try:
        return parse_export_task_status(v)
    except ParseError as exc:
        raise ParseError(
            f"{path}.{exc.path}" if exc.path else path, exc.value, exc.expected
        ) from None


@attrs.frozen
class ExportTask(ModelArtsTask):
    """One export task of a dataset. Succeeds on ``SUCCESSED``; ``FAILED`` fails it."""

    dataset_id: str = id_field("dataset_id")
    task_id: str = id_field("task_id")
    project_id: str | None = project_field()
    success: frozenset[Any] | None = success_field()
    KIND: ClassVar[str] = "export"
    PATH: ClassVar[str] = STATUS_PATH
    ID_NAMES: ClassVar[tuple[str, ...]] = ("dataset_id", "task_id")
    PARSE: ClassVar[Any] = staticmethod(parse_export_task_status)
    PHASES: ClassVar[Mapping[Any, Phase]] = PHASES
    LIST_PATH: ClassVar[str | None] = TASKS_PATH
    GROUP_IDS: ClassVar[tuple[str, ...]] = ("dataset_id",)
    LIST_PAGE: ClassVar[Any] = staticmethod(_page)


KIND = register_kind(
    Kind(
        "export",
        ExportTask,
        ("dataset_id", "task_id"),
        description="dataset export task",
        templates=(TASKS_PATH,),
    )
)

_EXPORT_TYPES = frozenset({0, 1, 2, 3})
_TASK_ID = id_answer("task_id")


def _export_type(value: object) -> int | None:
    if value is not None and (isinstance(value, bool) or value not in _EXPORT_TYPES):
        raise InvalidArgumentError(f"export_type must be 0, 1, 2 or 3, got {value!r}")
    return value if isinstance(value, int) else None


async def create_export_task(
    client: ModelArtsClient,
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
    client: ModelArtsClient,
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

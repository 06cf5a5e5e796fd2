"""ExportTaskStatus and its nested objects: seed examples, enums, completion, paths."""

from __future__ import annotations

import json
import math
from datetime import UTC, datetime
from typing import Any

import pytest

from modelarts_poller import (
    ExportDest,
    ExportFormat,
    ExportParams,
    ExportStatusValue,
    ExportTaskStatus,
    ExportType,
    HardSample,
    LabelType,
    ParseError,
    Phase,
    SampleState,
    SearchCondition,
    SearchLabel,
    SearchLabels,
    SearchOp,
    SearchProp,
    VersionFormat,
    parse_export_task_status,
)
from modelarts_poller.operations.export import PHASES as EXPORT_PHASES

# Verbatim from export-task-status.rst ("Example Responses").
SEED = """{
  "task_id" : "TZMuy7OKbClkGCAc3gb",
  "path" : "/test-obs/daoChu/",
  "export_type" : 3,
  "version_format" : "Default",
  "export_format" : 2,
  "export_params" : {
    "sample_state" : "",
    "export_dest" : "DIR",
    "clear_hard_property" : true,
    "train_sample_ratio" : 1.0,
    "ratio_sample_usage" : false
  },
  "status" : "RUNNING",
  "progress" : 0.0,
  "create_time" : 1606103424662,
  "update_time" : 1606103494124
}"""

# One entry of the example of "Querying the Dataset Export Task List"
# (GetExportTasksStatusOfDataset): the source of the SUCCESSED spelling, with an
# undocumented export_params field (clear_difficult).
LIST_ENTRY = {
    "task_id": "rF9NNoB56k5rtYKg2Y7",
    "path": "/test-obs/classify/input/",
    "export_type": 3,
    "version_format": "Default",
    "export_format": 2,
    "export_params": {
        "sample_state": "",
        "export_dest": "NEW_DATASET",
        "export_new_dataset_name": "dataset-export-test",
        "export_new_dataset_work_path": "/test-obs/classify/output/",
        "clear_hard_property": True,
        "clear_difficult": False,
        "train_sample_ratio": 1.0,
        "ratio_sample_usage": False,
    },
    "status": "SUCCESSED",
    "progress": 100.0,
    "total_sample_count": 20,
    "finished_sample_count": 20,
    "create_time": 1606103820120,
    "update_time": 1606103824823,
}


def test_seed_example_parses_to_the_expected_object() -> None:
    e = parse_export_task_status(json.loads(SEED))
    assert e == ExportTaskStatus(
        task_id="TZMuy7OKbClkGCAc3gb",
        status="RUNNING",
        progress=0.0,
        path="/test-obs/daoChu/",
        export_type=ExportType.CONDITIONAL_SEARCH,
        export_format=ExportFormat.TILE,
        version_format=VersionFormat.DEFAULT,
        create_time=1606103424662,
        update_time=1606103494124,
        export_params=ExportParams(
            sample_state="",  # not a documented value: kept verbatim
            export_dest=ExportDest.DIR,
            clear_hard_property=True,
            train_sample_ratio=1.0,
            ratio_sample_usage=False,
        ),
    )
    assert e.phase is Phase.RUNNING
    assert e.status_value is ExportStatusValue.RUNNING
    assert e.completion == 0.0
    assert e.created_at == datetime(2020, 11, 23, 3, 50, 24, 662_000, tzinfo=UTC)
    assert e.updated_at == datetime(2020, 11, 23, 3, 51, 34, 124_000, tzinfo=UTC)
    assert (e.error_code, e.error_msg, e.version_id, e.total_sample_count) == (None,) * 4
    assert dict(e.extra) == {}


def test_list_page_entry_is_a_finished_export_with_its_extra_field_kept() -> None:
    e = parse_export_task_status(LIST_ENTRY)
    assert e.status == "SUCCESSED"
    assert e.status_value is ExportStatusValue.SUCCESSED
    assert e.phase is Phase.SUCCEEDED
    assert e.completion == 1.0
    assert (e.finished_sample_count, e.total_sample_count) == (20, 20)
    params = e.export_params
    assert params is not None
    assert params.export_dest is ExportDest.NEW_DATASET
    assert params.export_new_dataset_name == "dataset-export-test"
    assert params.export_new_dataset_work_path == "/test-obs/classify/output/"
    assert dict(params.extra) == {"clear_difficult": False}


@pytest.mark.parametrize(("status", "phase"), sorted(EXPORT_PHASES.items()))
def test_each_accepted_export_status_has_its_phase(status: str, phase: Phase) -> None:
    e = parse_export_task_status({"status": status})
    assert e.phase is phase
    published = status in {"INIT", "RUNNING", "SUCCESSED", "FAILED"}
    # A defensive guess is accepted for its phase but is no documented value.
    assert e.status_value is (ExportStatusValue(status) if published else None)


def test_the_sourced_spellings_are_mapped() -> None:
    table = EXPORT_PHASES
    assert table["RUNNING"] is Phase.RUNNING  # the seed's example
    assert table["SUCCESSED"] is Phase.SUCCEEDED  # the list page's example
    assert {m.value for m in ExportStatusValue} < set(table)


@pytest.mark.parametrize("status", ["CANCELED", "Successed", ""])
def test_unknown_export_status_is_unknown_and_not_terminal(status: str) -> None:
    e = parse_export_task_status({"status": status, "progress": 30})
    assert e.status == status
    assert e.phase is Phase.UNKNOWN
    assert not e.phase.is_terminal
    assert e.status_value is None
    assert e.completion == pytest.approx(0.3)


FULL_PARAMS: dict[str, Any] = {
    "clear_hard_property": False,
    "export_dataset_version_format": "ManifestV2",
    "export_dataset_version_name": "V003",
    "export_dest": "DIR",
    "export_new_dataset_name": "n",
    "export_new_dataset_work_path": "/w/",
    "ratio_sample_usage": True,
    "sample_state": "__WORKFORCE_SAMPLED_ACCEPTED__",
    "samples": ["s1", "s2"],
    "train_sample_ratio": "0.80",
    "search_conditions": [
        {
            "coefficient": "0.5",
            "frame_in_video": 12,
            "hard": "1",
            "import_origin": "obs",
            "kvp": "100",
            "labeler": "alice",
            "parent_sample_id": "p1",
            "sample_dir": "/a/b/",
            "sample_name": "1.jpg",
            "sample_time": "20190901-20190915",
            "score": "0.9",
            "slice_thickness": "1mm",
            "study_date": "20200101",
            "time_in_video": "00:01",
            "label_list": {
                "op": "AND",
                "labels": [
                    {"name": "cat", "op": "OR", "type": 0, "property": {"color": ["b", "w"]}},
                    {"name": "dog", "type": 600, "property": {"size": None}},
                ],
            },
            "metadata": {"op": "OR", "props": {"camera": ["front"], "any": None}},
        },
        {"hard": "0"},
    ],
}


def test_every_nested_field_is_read() -> None:
    e = parse_export_task_status(
        {"status": "INIT", "version_id": "v9", "error_code": "E", "export_params": FULL_PARAMS}
    )
    assert e.phase is Phase.PENDING
    assert e.version_id == "v9"
    assert e.error_code == "E"
    p = e.export_params
    assert p is not None
    assert p.clear_hard_property is False
    assert p.ratio_sample_usage is True
    assert p.export_dataset_version_format == "ManifestV2"
    assert p.export_dataset_version_name == "V003"
    assert p.sample_state is SampleState.WORKFORCE_SAMPLED_ACCEPTED
    assert p.samples == ("s1", "s2")
    assert p.train_sample_ratio == 0.8
    assert p.search_conditions is not None
    first, second = p.search_conditions
    assert second == SearchCondition(hard=HardSample.NOT_HARD)
    assert first == SearchCondition(
        coefficient="0.5",
        frame_in_video=12,
        hard=HardSample.HARD,
        import_origin="obs",
        kvp="100",
        labeler="alice",
        parent_sample_id="p1",
        sample_dir="/a/b/",
        sample_name="1.jpg",
        sample_time="20190901-20190915",
        score="0.9",
        slice_thickness="1mm",
        study_date="20200101",
        time_in_video="00:01",
        label_list=SearchLabels(
            op=SearchOp.AND,
            labels=(
                SearchLabel(
                    name="cat",
                    op=SearchOp.OR,
                    type=LabelType.IMAGE_CLASSIFICATION,
                    property={"color": ("b", "w")},
                ),
                SearchLabel(name="dog", type=LabelType.VIDEO_LABELING, property={"size": None}),
            ),
        ),
        metadata=SearchProp(op=SearchOp.OR, props={"camera": ("front",), "any": None}),
    )
    assert isinstance(hash(e), int)  # property maps do not make the snapshot unhashable


@pytest.mark.parametrize(
    ("field", "cls", "raw"),
    [
        ("export_type", ExportType, [0, 1, 2, 3]),
        ("export_format", ExportFormat, [1, 2]),
        ("version_format", VersionFormat, ["Default", "CarbonData", "CSV"]),
    ],
)
def test_top_level_enums_map_documented_values(field: str, cls: Any, raw: list[Any]) -> None:
    for v in raw:
        got = getattr(parse_export_task_status({field: v}), field)
        assert got is cls(v)


def test_label_types_and_sample_states_cover_the_document() -> None:
    assert sorted(m.value for m in LabelType) == [0, 1, 3, 100, 101, 102, 103, 200, 201, 202, 600]
    assert len(SampleState) == 13
    assert all(m.value.startswith("__") and m.value.endswith("__") for m in SampleState)


@pytest.mark.parametrize(
    ("body", "read", "kept"),
    [
        ({"export_type": 7}, lambda e: e.export_type, 7),
        ({"export_format": 0}, lambda e: e.export_format, 0),
        ({"version_format": "Parquet"}, lambda e: e.version_format, "Parquet"),
        ({"export_params": {"export_dest": "OBS"}}, lambda e: e.export_params.export_dest, "OBS"),
        (
            {"export_params": {"sample_state": "__NEW__"}},
            lambda e: e.export_params.sample_state,
            "__NEW__",
        ),
        (
            {"export_params": {"search_conditions": [{"hard": "2"}]}},
            lambda e: e.export_params.search_conditions[0].hard,
            "2",
        ),
        (
            {"export_params": {"search_conditions": [{"label_list": {"op": "XOR"}}]}},
            lambda e: e.export_params.search_conditions[0].label_list.op,
            "XOR",
        ),
        (
            {"export_params": {"search_conditions": [{"label_list": {"labels": [{"type": 4}]}}]}},
            lambda e: e.export_params.search_conditions[0].label_list.labels[0].type,
            4,
        ),
    ],
)
def test_undocumented_enum_values_are_kept_verbatim(body: Any, read: Any, kept: object) -> None:
    got = read(parse_export_task_status(body))
    assert got == kept
    assert type(got) is type(kept)  # the raw value, not some enum member


def test_integer_enums_accept_integral_floats_and_numeric_strings() -> None:
    e = parse_export_task_status({"export_type": 2.0, "export_format": "1"})
    assert e.export_type is ExportType.ALL
    assert e.export_format is ExportFormat.TREE


@pytest.mark.parametrize(
    ("body", "completion"),
    [
        ({"progress": 42.5}, 0.425),
        ({"progress": "42.5"}, 0.425),
        ({"progress": 100}, 1.0),
        ({"progress": 250.0}, 1.0),
        ({"progress": -3}, 0.0),
        ({"finished_sample_count": 5, "total_sample_count": 20}, 0.25),
        ({"finished_sample_count": 30, "total_sample_count": 20}, 1.0),
        ({"finished_sample_count": 5, "total_sample_count": 0}, None),
        ({"finished_sample_count": 5}, None),
        ({}, None),
        ({"progress": 10.0, "finished_sample_count": 19, "total_sample_count": 20}, 0.1),
        ({"status": "SUCCESSED", "progress": 50.0}, 1.0),
    ],
)
def test_completion_is_a_clamped_fraction(body: dict[str, Any], completion: float | None) -> None:
    got = parse_export_task_status({"status": "RUNNING", **body}).completion
    assert got == (None if completion is None else pytest.approx(completion))


def test_train_sample_ratio_number_and_string_read_the_same() -> None:
    as_number = parse_export_task_status({"export_params": {"train_sample_ratio": 1.0}})
    as_string = parse_export_task_status({"export_params": {"train_sample_ratio": "1.00"}})
    assert as_number == as_string
    assert as_number.export_params is not None
    assert type(as_number.export_params.train_sample_ratio) is float


def test_one_object_where_an_array_is_documented_is_read_as_one_element() -> None:
    e = parse_export_task_status(
        {"export_params": {"search_conditions": {"label_list": {"labels": {"name": "cat"}}}}}
    )
    assert e.export_params is not None
    assert e.export_params.search_conditions == (
        SearchCondition(label_list=SearchLabels(labels=(SearchLabel(name="cat"),))),
    )


def test_unknown_fields_land_in_extra_at_every_level() -> None:
    e = parse_export_task_status(
        {
            "a": 1,
            "export_params": {
                "b": 2,
                "search_conditions": [
                    {
                        "c": 3,
                        "label_list": {"d": 4, "labels": [{"e": 5}]},
                        "metadata": {"f": 6},
                    }
                ],
            },
        }
    )
    assert dict(e.extra) == {"a": 1}
    p = e.export_params
    assert p is not None
    assert dict(p.extra) == {"b": 2}
    assert p.search_conditions is not None
    sc = p.search_conditions[0]
    assert dict(sc.extra) == {"c": 3}
    assert sc.label_list is not None
    assert dict(sc.label_list.extra) == {"d": 4}
    assert sc.label_list.labels is not None
    assert dict(sc.label_list.labels[0].extra) == {"e": 5}
    assert sc.metadata is not None
    assert dict(sc.metadata.extra) == {"f": 6}


def test_property_maps_are_read_only() -> None:
    e = parse_export_task_status(FULL_PARAMS_BODY)
    assert e.export_params is not None
    assert e.export_params.search_conditions is not None
    label_list = e.export_params.search_conditions[0].label_list
    assert label_list is not None
    assert label_list.labels is not None
    prop = label_list.labels[0].property
    assert prop is not None
    with pytest.raises(TypeError):
        prop["color"] = ("red",)  # type: ignore[index]


FULL_PARAMS_BODY = {"export_params": FULL_PARAMS}


@pytest.mark.parametrize(
    ("body", "path"),
    [
        ({"task_id": 1}, "task_id"),
        ({"progress": float("nan")}, "progress"),
        ({"progress": math.inf}, "progress"),
        ({"progress": "-inf"}, "progress"),
        ({"progress": True}, "progress"),
        ({"progress": 10**400}, "progress"),
        ({"finished_sample_count": 2.5}, "finished_sample_count"),
        ({"export_type": True}, "export_type"),
        ({"export_format": "tile"}, "export_format"),
        ({"version_format": 1}, "version_format"),
        ({"update_time": "yesterday"}, "update_time"),
        ({"export_params": "DIR"}, "export_params"),
        ({"export_params": {"clear_hard_property": "yes"}}, "export_params.clear_hard_property"),
        ({"export_params": {"ratio_sample_usage": 0}}, "export_params.ratio_sample_usage"),
        ({"export_params": {"train_sample_ratio": "most"}}, "export_params.train_sample_ratio"),
        ({"export_params": {"samples": "s1"}}, "export_params.samples"),
        ({"export_params": {"sample_state": 3}}, "export_params.sample_state"),
        ({"export_params": {"search_conditions": [5]}}, "export_params.search_conditions[0]"),
        (
            {"export_params": {"search_conditions": [{}, {"hard": 1}]}},
            "export_params.search_conditions[1].hard",
        ),
        (
            {"export_params": {"search_conditions": [{"frame_in_video": "x"}]}},
            "export_params.search_conditions[0].frame_in_video",
        ),
        (
            {
                "export_params": {
                    "search_conditions": [{}, {}, {"label_list": {"labels": [{"type": "cat"}]}}]
                }
            },
            "export_params.search_conditions[2].label_list.labels[0].type",
        ),
        (
            {"export_params": {"search_conditions": [{"label_list": {"labels": [{}, {"op": 1}]}}]}},
            "export_params.search_conditions[0].label_list.labels[1].op",
        ),
        (
            {
                "export_params": {
                    "search_conditions": [{"label_list": {"labels": [{"property": {"c": [1]}}]}}]
                }
            },
            "export_params.search_conditions[0].label_list.labels[0].property.c[0]",
        ),
        (
            {"export_params": {"search_conditions": [{"metadata": {"props": {"k": 5}}}]}},
            "export_params.search_conditions[0].metadata.props.k",
        ),
        (
            {"export_params": {"search_conditions": [{"metadata": {"props": []}}]}},
            "export_params.search_conditions[0].metadata.props",
        ),
        (
            {"export_params": {"search_conditions": [{"metadata": "x"}]}},
            "export_params.search_conditions[0].metadata",
        ),
    ],
)
def test_wrong_types_name_the_full_path(body: dict[str, Any], path: str) -> None:
    with pytest.raises(ParseError) as info:
        parse_export_task_status(body)
    assert info.value.path == path
    assert str(info.value).startswith(f"{path}: expected ")

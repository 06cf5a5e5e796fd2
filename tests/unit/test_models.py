"""The typed models: every seed example parses; wrong types name their field path."""

from __future__ import annotations

import math
import re
from datetime import UTC
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from modelarts_poller import (
    CreateDatasetSuccess,
    CreateVersionSuccess,
    DatasetTaskStatusValue,
    ExportDest,
    ExportTaskStatus,
    LabelType,
    ParseError,
    Phase,
    SampleState,
    SearchOp,
    TaskFailure,
    kinds,
    parse_dataset_task_status,
    parse_export_task_status,
    parse_sync_status,
)

# Every kind's status table, as its operation module declares it.
STATUS_PHASES = {k.name: k.spec_type.PHASES for k in kinds()}
kinds_by_name = {k.name: k for k in kinds()}


def test_train_sample_ratio_as_the_table_types_it() -> None:
    e = parse_export_task_status({"export_params": {"train_sample_ratio": "0.80"}})
    assert e.export_params is not None
    assert e.export_params.train_sample_ratio == 0.8


def test_export_with_every_nested_object() -> None:
    body = {
        "status": "SUCCESSED",
        "finished_sample_count": 40,
        "total_sample_count": 40,
        "version_id": "v1",
        "export_params": {
            "sample_state": "__ACCEPTED__",
            "samples": ["a", "b"],
            "export_dest": "NEW_DATASET",
            "export_new_dataset_name": "copy",
            "export_new_dataset_work_path": "/b/w/",
            "export_dataset_version_format": "Default",
            "export_dataset_version_name": "V001",
            "search_conditions": [
                {
                    "coefficient": "0.5",
                    "frame_in_video": 12,
                    "hard": "1",
                    "import_origin": "obs",
                    "kvp": "2",
                    "labeler": "x@y",
                    "parent_sample_id": "p",
                    "sample_dir": "/d/",
                    "sample_name": "n",
                    "sample_time": "20190901-20190915",
                    "score": "0.9",
                    "slice_thickness": "1",
                    "study_date": "20200101",
                    "time_in_video": "00:01",
                    "label_list": {
                        "op": "OR",
                        "labels": [
                            {
                                "name": "cat",
                                "op": "AND",
                                "type": 1,
                                "property": {"color": ["black", "white"], "any": None},
                            },
                            {"name": "dog", "type": 999},
                        ],
                    },
                    "metadata": {"op": "AND", "props": {"k": ["v"]}},
                }
            ],
        },
    }
    e = parse_export_task_status(body)
    assert e.phase is Phase.SUCCEEDED
    assert e.completion == 1.0
    params = e.export_params
    assert params is not None
    assert params.sample_state is SampleState.ACCEPTED
    assert params.samples == ("a", "b")
    assert params.export_dest is ExportDest.NEW_DATASET
    assert params.search_conditions is not None
    cond = params.search_conditions[0]
    assert cond.frame_in_video == 12
    assert cond.hard is not None
    assert cond.hard.value == "1"
    assert cond.label_list is not None
    assert cond.label_list.op is SearchOp.OR
    assert cond.label_list.labels is not None
    first, second = cond.label_list.labels
    assert first.type is LabelType.OBJECT_DETECTION
    assert first.property == {"color": ("black", "white"), "any": None}
    assert second.type == 999  # undocumented label type: kept verbatim
    assert cond.metadata is not None
    assert cond.metadata.props == {"k": ("v",)}


def test_export_completion_from_counts_and_clamped_progress() -> None:
    assert (
        parse_export_task_status(
            {"status": "RUNNING", "finished_sample_count": 25, "total_sample_count": 100}
        ).completion
        == 0.25
    )
    assert parse_export_task_status({"status": "RUNNING", "progress": 140}).completion == 1.0
    assert parse_export_task_status({"status": "RUNNING", "progress": "55.5"}).completion == 0.555


def test_dataset_task_results_objects_and_arrays() -> None:
    body = {
        "status": "SUCCESS",
        "result": {
            "createDatasetSuccess": {
                "dataset_id": "d",
                "dataset_name": "n",
                "file_count": 3,
                "create_time": 1606103424662,
            },
            "createVersionSuccess": [
                {
                    "new_version_id": "v",
                    "version_name": "V1",
                    "file_count": 3,
                    "create_time": 1606103424662,
                }
            ],
            "syncOrCheckoutsuccess": {},
        },
    }
    t = parse_dataset_task_status(body)
    assert t.phase is Phase.SUCCEEDED
    assert t.status_value is DatasetTaskStatusValue.SUCCESS
    assert t.result is not None
    assert t.result.create_dataset_success == (CreateDatasetSuccess("d", "n", 3, 1606103424662),)
    assert t.result.create_version_success == (CreateVersionSuccess("v", "V1", 3, 1606103424662),)
    assert t.result.sync_or_checkout_success == ({},)
    assert t.created_at is not None


def test_dataset_task_failure() -> None:
    t = parse_dataset_task_status(
        {
            "status": "FAILURE",
            "error_code": "ModelArts.4001",
            "error_msg": "bad",
            "result": {"failed": [{"error_code": "E1", "error_msg": "disk full"}]},
        }
    )
    assert t.phase is Phase.FAILED
    assert t.failure == TaskFailure("E1", "disk full")
    assert (t.error_code, t.error_msg) == ("ModelArts.4001", "bad")


@pytest.mark.parametrize(
    ("kind", "status", "phase"),
    [(k, s, ph) for k, table in STATUS_PHASES.items() for s, ph in table.items()],
)
def test_every_documented_status_has_its_phase(kind: str, status: object, phase: Phase) -> None:
    parse = kinds_by_name[kind].spec_type.PARSE
    body = {
        "training_job": {"status": {"phase": status}},
        "pool": {"status": {"phase": status}},
        "model": {"model_status": status},
    }.get(kind, {"status": status})
    snapshot = parse(body)
    assert snapshot.phase is phase
    assert snapshot.status == status


def test_a_sync_whose_dataset_is_gone_fails() -> None:
    # Every documented value has a phase by declaration (phase_table checks it at import).
    assert STATUS_PHASES["sync"]["NOT_EXIST"] is Phase.FAILED


@pytest.mark.parametrize(
    "parse", [parse_sync_status, parse_export_task_status, parse_dataset_task_status]
)
def test_unknown_status_is_kept_and_not_finished(parse: Any) -> None:
    s = parse({"status": "PAUSED_BY_OPERATOR", "brand_new_field": {"x": [1]}})
    assert s.status == "PAUSED_BY_OPERATOR"
    assert s.phase is Phase.UNKNOWN
    assert not s.phase.is_terminal
    assert s.status_value is None
    assert s.extra == {"brand_new_field": {"x": [1]}}


@pytest.mark.parametrize(
    ("parse", "body", "path"),
    [
        (parse_sync_status, {"status": 3}, "status"),
        (parse_sync_status, {"add_sample_count": "many"}, "add_sample_count"),
        (parse_sync_status, {"total_sample_count": True}, "total_sample_count"),
        (parse_sync_status, [], "<root>"),
        (parse_export_task_status, {"progress": "half"}, "progress"),
        (parse_export_task_status, {"progress": math.inf}, "progress"),
        (parse_export_task_status, {"export_type": "3x"}, "export_type"),
        (parse_export_task_status, {"export_params": []}, "export_params"),
        (
            parse_export_task_status,
            {
                "export_params": {
                    "search_conditions": [{}, {}, {"label_list": {"labels": [{"type": "cat"}]}}]
                }
            },
            "export_params.search_conditions[2].label_list.labels[0].type",
        ),
        (
            parse_export_task_status,
            {"export_params": {"samples": ["a", 1]}},
            "export_params.samples[1]",
        ),
        (
            parse_export_task_status,
            {"export_params": {"search_conditions": [{"metadata": {"props": {"k": [1]}}}]}},
            "export_params.search_conditions[0].metadata.props.k[0]",
        ),
        (
            parse_dataset_task_status,
            {"result": {"failed": [{"error_code": 5}]}},
            "result.failed[0].error_code",
        ),
        (parse_dataset_task_status, {"result": "done"}, "result"),
    ],
)
def test_wrong_types_name_the_field_path(parse: Any, body: object, path: str) -> None:
    with pytest.raises(ParseError, match=re.escape(path)):
        parse(body)


def test_parse_error_carries_path_and_value() -> None:
    with pytest.raises(ParseError) as info:
        parse_sync_status({"task_id": 42})
    assert (info.value.path, info.value.value) == ("task_id", 42)


@given(
    status=st.sampled_from([*STATUS_PHASES["export"], "WHATEVER"]),
    progress=st.floats(0, 100),
    done=st.integers(0, 10**12),
    total=st.integers(0, 10**12),
    created=st.integers(0, 4_102_444_800_000),
)
def test_valid_export_bodies_round_trip(
    status: str, progress: float, done: int, total: int, created: int
) -> None:
    e = parse_export_task_status(
        {
            "status": status,
            "progress": progress,
            "finished_sample_count": done,
            "total_sample_count": total,
            "create_time": created,
        }
    )
    assert (e.status, e.progress, e.finished_sample_count, e.total_sample_count) == (
        status,
        progress,
        done,
        total,
    )
    assert e.completion is not None
    assert 0.0 <= e.completion <= 1.0
    assert e.created_at is not None
    assert e.created_at.tzinfo is UTC
    assert isinstance(e, ExportTaskStatus)

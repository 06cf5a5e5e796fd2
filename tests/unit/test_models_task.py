"""DatasetTaskStatus: results as one object or a list, failures, phases, wrong types."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime

import pytest

from modelarts_poller import (
    CreateDatasetSuccess,
    CreateVersionSuccess,
    DatasetTaskResult,
    DatasetTaskStatus,
    DatasetTaskStatusValue,
    ParseError,
    Phase,
    TaskFailure,
    parse_dataset_task_status,
)

DATASET = {
    "dataset_id": "ds-1",
    "dataset_name": "cats",
    "file_count": 42,
    "create_time": 1_606_103_424_662,
}
VERSION = {
    "new_version_id": "v-7",
    "version_name": "V002",
    "file_count": 40,
    "create_time": 1_606_103_494_124,
}


@pytest.mark.parametrize("wrap", [lambda x: x, lambda x: [x]], ids=["object", "array"])
def test_created_dataset_as_object_or_array(wrap: Callable[[object], object]) -> None:
    t = parse_dataset_task_status(
        {"status": "SUCCESS", "result": {"createDatasetSuccess": wrap(DATASET)}}
    )
    assert t.result is not None
    assert t.result.create_dataset_success == (
        CreateDatasetSuccess(
            dataset_id="ds-1", dataset_name="cats", file_count=42, create_time=1_606_103_424_662
        ),
    )
    assert t.result.create_version_success is None
    assert t.created_at == datetime(2020, 11, 23, 3, 50, 24, 662_000, tzinfo=UTC)
    assert t.phase is Phase.SUCCEEDED
    assert t.completion == 1.0
    assert t.failure is None


def test_created_versions_keep_their_order() -> None:
    second = {**VERSION, "new_version_id": "v-8"}
    t = parse_dataset_task_status({"result": {"createVersionSuccess": [VERSION, second]}})
    assert t.result is not None
    versions = t.result.create_version_success
    assert versions is not None
    assert [v.new_version_id for v in versions] == ["v-7", "v-8"]
    assert versions[0] == CreateVersionSuccess(
        new_version_id="v-7", version_name="V002", file_count=40, create_time=1_606_103_494_124
    )
    assert t.created_at == datetime(2020, 11, 23, 3, 51, 34, 124_000, tzinfo=UTC)


@pytest.mark.parametrize(
    ("sent", "kept"),
    [({}, ({},)), ([{}], ({},)), ([{}, {"note": "x"}], ({}, {"note": "x"})), ([], ())],
)
def test_sync_or_checkout_success_is_kept_as_sent(sent: object, kept: tuple[object, ...]) -> None:
    t = parse_dataset_task_status({"status": "SUCCESS", "result": {"syncOrCheckoutsuccess": sent}})
    assert t.result is not None
    assert t.result.sync_or_checkout_success == kept
    assert hash(t) == hash(t)  # a mapping inside does not make the snapshot unhashable


def test_failed_result_gives_failure_and_failed_phase() -> None:
    t = parse_dataset_task_status(
        {
            "status": "FAILURE",
            "result": {"failed": {"error_code": "ModelArts.4710", "error_msg": "bad manifest"}},
        }
    )
    assert t.phase is Phase.FAILED
    assert t.completion is None
    assert t.failure == TaskFailure(error_code="ModelArts.4710", error_msg="bad manifest")
    assert t.error_code is None  # the top level had none; result.failed has it


def test_top_level_error_fields() -> None:
    t = parse_dataset_task_status({"error_code": "ModelArts.0001", "error_msg": "boom"})
    assert (t.error_code, t.error_msg, t.result, t.status) == (
        "ModelArts.0001",
        "boom",
        None,
        None,
    )
    assert t.phase is Phase.UNKNOWN


@pytest.mark.parametrize(
    ("status", "phase"),
    [
        ("PENDING", Phase.PENDING),
        ("WAITING", Phase.PENDING),
        ("RUNNING", Phase.RUNNING),
        ("STARTED", Phase.RUNNING),
        ("RETRY", Phase.RUNNING),
        ("FAILURE", Phase.FAILED),
        ("SUCCESS", Phase.SUCCEEDED),
    ],
)
def test_each_documented_status_has_its_phase(status: str, phase: Phase) -> None:
    t = parse_dataset_task_status({"status": status})
    assert t.phase is phase
    assert t.status_value is DatasetTaskStatusValue(status)
    assert t.completion == (1.0 if phase is Phase.SUCCEEDED else None)


@pytest.mark.parametrize("status", ["REVOKED", "success", "SUCCEEDED"])
def test_unknown_status_is_unknown_and_not_terminal(status: str) -> None:
    t = parse_dataset_task_status({"status": status})
    assert t.status == status
    assert t.phase is Phase.UNKNOWN
    assert not t.phase.is_terminal
    assert t.completion is None


def test_unknown_fields_land_in_extra_at_every_level() -> None:
    t = parse_dataset_task_status(
        {
            "status": "SUCCESS",
            "task_type": 2,
            "result": {
                "exportSuccess": [{"x": 1}],
                "createDatasetSuccess": {**DATASET, "work_path": "/obs/x/"},
                "failed": [{"error_code": "E", "detail": {"k": [1, 2]}}],
            },
        }
    )
    assert dict(t.extra) == {"task_type": 2}
    assert t.result is not None
    assert dict(t.result.extra) == {"exportSuccess": [{"x": 1}]}
    assert t.result.create_dataset_success is not None
    assert dict(t.result.create_dataset_success[0].extra) == {"work_path": "/obs/x/"}
    assert t.failure is not None
    assert dict(t.failure.extra) == {"detail": {"k": [1, 2]}}


def test_equality_and_hash() -> None:
    body = {"status": "SUCCESS", "result": {"createDatasetSuccess": [DATASET]}}
    assert parse_dataset_task_status(body) == parse_dataset_task_status(body)
    assert hash(parse_dataset_task_status(body)) == hash(parse_dataset_task_status(body))
    assert parse_dataset_task_status(body) != DatasetTaskStatus(status="SUCCESS")
    assert DatasetTaskStatus(result=DatasetTaskResult()) == DatasetTaskStatus(
        result=DatasetTaskResult()
    )


@pytest.mark.parametrize(
    ("body", "path"),
    [
        ({"status": ["SUCCESS"]}, "status"),
        ({"result": []}, "result"),
        ({"result": {"failed": "oops"}}, "result.failed"),
        ({"result": {"failed": [{}, {"error_code": 5}]}}, "result.failed[1].error_code"),
        (
            {"result": {"createDatasetSuccess": {"file_count": True}}},
            "result.createDatasetSuccess.file_count",
        ),
        (
            {"result": {"createVersionSuccess": [{"create_time": "soon"}]}},
            "result.createVersionSuccess[0].create_time",
        ),
        ({"result": {"syncOrCheckoutsuccess": [{}, 3]}}, "result.syncOrCheckoutsuccess[1]"),
        ({"error_msg": 7}, "error_msg"),
    ],
)
def test_wrong_types_name_the_full_path(body: dict[str, object], path: str) -> None:
    with pytest.raises(ParseError) as info:
        parse_dataset_task_status(body)
    assert info.value.path == path


def test_a_list_root_is_a_root_parse_error() -> None:
    with pytest.raises(ParseError) as info:
        parse_dataset_task_status([{"status": "SUCCESS"}])
    assert info.value.path == ""

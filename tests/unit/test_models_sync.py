"""SyncStatus: the seed example, every documented field, phases, extra, and wrong types."""

from __future__ import annotations

import json
import re
from datetime import UTC, datetime

import attrs
import pytest

from modelarts_poller import ParseError, Phase, SyncStatus, SyncStatusValue, parse_sync_status

# Verbatim from sync-data-status.rst ("Example Responses").
SEED = '{\n  "status" : "COMPLETED",\n  "dataset_id" : "gfghHSokody6AJigS5A"\n}'

FULL = {
    "status": "RUNNING",
    "dataset_id": "ds-1",
    "task_id": "sync-9",
    "add_sample_count": 12,
    "deleted_sample_count": 3,
    "total_sample_count": 1_000,
    "create_time": 1_606_103_424_662,
    "duration_time": 5_000,
    "error_code": None,
    "error_msg": None,
}


def test_seed_example_parses_to_exactly_its_two_fields() -> None:
    s = parse_sync_status(json.loads(SEED))
    assert s == SyncStatus(status="COMPLETED", dataset_id="gfghHSokody6AJigS5A")
    assert s.status_value is SyncStatusValue.COMPLETED
    assert (s.task_id, s.add_sample_count, s.create_time, s.duration_time) == (None,) * 4
    assert s.phase is Phase.SUCCEEDED
    assert s.phase.is_terminal
    assert s.completion == 1.0
    assert s.created_at is None
    assert dict(s.extra) == {}


def test_every_documented_field_is_read() -> None:
    s = parse_sync_status(FULL)
    assert s.status == "RUNNING"
    assert s.status_value is SyncStatusValue.RUNNING
    assert s.dataset_id == "ds-1"
    assert s.task_id == "sync-9"
    assert (s.add_sample_count, s.deleted_sample_count, s.total_sample_count) == (12, 3, 1000)
    assert s.create_time == 1_606_103_424_662
    assert s.created_at == datetime(2020, 11, 23, 3, 50, 24, 662_000, tzinfo=UTC)
    # The unit of duration_time is undocumented: it is kept exactly as sent.
    assert s.duration_time == 5_000
    assert s.error_code is None
    assert s.error_msg is None
    assert s.completion is None  # a running sync says nothing about how far along it is


@pytest.mark.parametrize(
    ("status", "phase"),
    [
        ("QUEUING", Phase.PENDING),
        ("STARTING", Phase.RUNNING),
        ("RUNNING", Phase.RUNNING),
        ("COMPLETED", Phase.SUCCEEDED),
        ("FAILED", Phase.FAILED),
        ("NOT_EXIST", Phase.FAILED),
    ],
)
def test_each_documented_status_has_its_phase(status: str, phase: Phase) -> None:
    s = parse_sync_status({"status": status})
    assert s.phase is phase
    assert s.status_value is SyncStatusValue(status)


@pytest.mark.parametrize("status", ["PAUSED", "completed", "", " COMPLETED"])
def test_unknown_status_is_verbatim_unknown_and_not_terminal(status: str) -> None:
    s = parse_sync_status({"status": status})
    assert s.status == status
    assert s.phase is Phase.UNKNOWN
    assert not s.phase.is_terminal
    assert s.status_value is None
    assert s.completion is None


def test_missing_status_is_unknown() -> None:
    assert parse_sync_status({}).phase is Phase.UNKNOWN


def test_failure_carries_error_code_and_message() -> None:
    s = parse_sync_status({"status": "FAILED", "error_code": "ModelArts.4352", "error_msg": "no"})
    assert (s.phase, s.error_code, s.error_msg) == (Phase.FAILED, "ModelArts.4352", "no")
    assert s.completion is None


def test_unknown_fields_are_kept_read_only_and_not_recursed_into() -> None:
    deep: object = "leaf"
    for _ in range(5_000):  # far deeper than any recursive reader could survive
        deep = [deep]
    s = parse_sync_status({"status": "RUNNING", "new_field": deep, "other": {"a": 1}})
    assert s.extra["new_field"] is deep
    assert s.extra["other"] == {"a": 1}
    with pytest.raises(TypeError):
        s.extra["x"] = 1  # type: ignore[index]
    with pytest.raises(attrs.exceptions.FrozenInstanceError):
        s.status = "FAILED"  # type: ignore[misc]


def test_equality_sees_extra_and_hashing_still_works() -> None:
    a = parse_sync_status({"status": "RUNNING", "x": 1})
    assert a == parse_sync_status({"status": "RUNNING", "x": 1})
    assert a != parse_sync_status({"status": "RUNNING", "x": 2})
    assert a != parse_sync_status({"status": "RUNNING"})
    assert hash(a) == hash(parse_sync_status({"status": "RUNNING", "x": [1]}))
    assert len({a, parse_sync_status({"status": "RUNNING", "x": 1})}) == 1


def test_numbers_as_strings_and_integral_floats_are_accepted() -> None:
    s = parse_sync_status(
        {"add_sample_count": " 12 ", "total_sample_count": 40.0, "create_time": "-3"}
    )
    assert (s.add_sample_count, s.total_sample_count, s.create_time) == (12, 40, -3)
    assert type(s.total_sample_count) is int


def test_huge_ints_are_kept_exactly() -> None:
    n = 10**200 + 7
    assert parse_sync_status({"total_sample_count": n}).total_sample_count == n
    # A timestamp no datetime can hold gives created_at None, not an exception.
    assert parse_sync_status({"create_time": n}).created_at is None


def test_null_means_absent() -> None:
    assert parse_sync_status(dict.fromkeys(FULL)) == SyncStatus()


@pytest.mark.parametrize(
    ("body", "path", "value"),
    [
        ({"status": 3}, "status", 3),
        ({"dataset_id": ["a"]}, "dataset_id", ["a"]),
        ({"add_sample_count": True}, "add_sample_count", True),  # a bool is not a number
        ({"deleted_sample_count": 1.5}, "deleted_sample_count", 1.5),
        ({"total_sample_count": "1e3"}, "total_sample_count", "1e3"),
        ({"create_time": "+-5"}, "create_time", "+-5"),
        ({"duration_time": "--5"}, "duration_time", "--5"),
        ({"duration_time": "١٢"}, "duration_time", "١٢"),  # non-ASCII digits
        ({"create_time": float("nan")}, "create_time", None),
        ({"error_code": 404}, "error_code", 404),
        ({"error_msg": {"m": 1}}, "error_msg", {"m": 1}),
    ],
)
def test_wrong_types_raise_parse_error_with_path_and_value(
    body: dict[str, object], path: str, value: object
) -> None:
    with pytest.raises(ParseError) as info:
        parse_sync_status(body)
    assert info.value.path == path
    if value is not None:
        assert info.value.value == value
    assert str(info.value).startswith(f"{path}: expected ")


def test_digit_strings_longer_than_python_will_convert_are_a_parse_error() -> None:
    with pytest.raises(ParseError) as info:
        parse_sync_status({"create_time": "9" * 5_000})
    assert info.value.path == "create_time"


@pytest.mark.parametrize("root", [[], "COMPLETED", 3, None, True, [{"status": "RUNNING"}]])
def test_a_root_that_is_not_an_object_is_a_parse_error_at_the_root(root: object) -> None:
    with pytest.raises(ParseError, match=re.escape("<root>: expected object")) as info:
        parse_sync_status(root)
    assert info.value.path == ""

"""Built-in specs: validation, identity, and reading snapshots into observations."""

from __future__ import annotations

import pytest

from modelarts_poller import (
    DatasetTask,
    ExportTask,
    InvalidArgumentError,
    Phase,
    SyncTask,
    parse_dataset_task_status,
    parse_export_task_status,
    parse_sync_status,
)


def test_equal_specs_are_one_key() -> None:
    assert len({SyncTask("a"), SyncTask("a"), SyncTask("a", project_id="p")}) == 2
    assert str(ExportTask("d", "t")) == "export:d/t"


@pytest.mark.parametrize(
    ("make", "name"),
    [
        (lambda: SyncTask("a/b"), "dataset_id"),
        (lambda: ExportTask("d", ""), "task_id"),
        (lambda: DatasetTask("t", project_id=".."), "project_id"),
        (lambda: DatasetTask(7), "task_id"),
    ],
)
def test_bad_ids_are_rejected_at_construction(make: object, name: str) -> None:
    with pytest.raises(InvalidArgumentError, match=name):
        make()  # type: ignore[operator]


def test_observations_of_each_kind() -> None:
    sync = SyncTask("d").interpret(parse_sync_status({"status": "FAILED", "error_msg": "no"}))
    assert (sync.phase, sync.message, sync.status) == (Phase.FAILED, "no", "FAILED")
    export = ExportTask("d", "t").interpret(
        parse_export_task_status({"status": "RUNNING", "progress": 30.0})
    )
    assert (export.phase, export.completion) == (Phase.RUNNING, 0.3)
    task = DatasetTask("t").interpret(
        parse_dataset_task_status(
            {"status": "FAILURE", "result": {"failed": [{"error_code": "E9", "error_msg": "full"}]}}
        )
    )
    assert (task.phase, task.message) == (Phase.FAILED, "full")

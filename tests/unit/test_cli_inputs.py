"""The CLI's pure parts: task references, task files and JSON Lines events."""

from __future__ import annotations

import json

import pytest
from hypothesis import given
from hypothesis import strategies as st

from modelarts_poller import (
    DatasetTask,
    ExportTask,
    FailureReason,
    InvalidArgumentError,
    Observation,
    Phase,
    ServerError,
    SyncTask,
    TaskCompleted,
    TaskFailed,
    TaskProgress,
    TaskRetrying,
)
from modelarts_poller.cli._inputs import spec_from_ref, specs_from_text
from modelarts_poller.cli._jsonl import event_to_dict, event_to_line


def test_refs_for_each_kind() -> None:
    assert spec_from_ref("sync", "ds1") == SyncTask("ds1")
    assert spec_from_ref("export", "ds1/t9") == ExportTask("ds1", "t9")
    assert spec_from_ref("task", "t9") == DatasetTask("t9")


@pytest.mark.parametrize(
    ("kind", "ref", "message"),
    [
        ("export", "ds1", "DATASET_ID/TASK_ID"),
        ("export", "ds1/", "task_id"),
        ("sync", "a b", "whitespace"),
        ("job", "x", "unknown kind 'job'"),
        ("task", "..", "'..'"),
    ],
)
def test_bad_refs_name_the_problem(kind: str, ref: str, message: str) -> None:
    with pytest.raises(InvalidArgumentError, match=message):
        spec_from_ref(kind, ref)


def test_csv_file_with_header_and_comments() -> None:
    text = "kind,dataset_id,task_id\n# a comment\nsync,ds1,\nexport,ds2,t2\n\ntask,,t3\n"
    assert specs_from_text(text, name="tasks.csv") == [
        SyncTask("ds1"),
        ExportTask("ds2", "t2"),
        DatasetTask("t3"),
    ]


def test_csv_default_kind_and_project() -> None:
    text = "dataset_id,project_id\nds1,p1\n"
    assert specs_from_text(text, name="t.csv", default_kind="sync") == [
        SyncTask("ds1", project_id="p1")
    ]


def test_jsonl_file() -> None:
    text = (
        '{"kind": "export", "dataset_id": "d", "task_id": "t"}\n'
        '\n{"kind": "sync", "dataset_id": "e"}\n'
    )
    assert specs_from_text(text, name="t.jsonl") == [ExportTask("d", "t"), SyncTask("e")]


@pytest.mark.parametrize(
    ("text", "name", "message"),
    [
        ('{"kind": "sync"}\n', "t.jsonl", r"t.jsonl:1: a sync task needs dataset_id"),
        ('{"kind": "sync", "dataset_id": "a"}\n{oops\n', "t.jsonl", r"t.jsonl:2: not valid JSON"),
        ("[1, 2]\n", "t.jsonl", r"t.jsonl:1: expected a JSON object"),
        ('{"kind": 3, "dataset_id": "a"}\n', "t.jsonl", "kind must be a string"),
        ('{"kind": "sync", "dataset_id": 5}\n', "t.jsonl", "dataset_id must be a string"),
        (
            '{"kind": "export", "dataset_id": "d", "taskid": "t"}\n',
            "t.jsonl",
            r"t.jsonl:1: unknown field\(s\) \['taskid'\]",
        ),
        ("kind,dataset\nsync,a\n", "t.csv", r"t.csv:1: unknown CSV column"),
        ("kind,dataset_id\nsync,a,extra\n", "t.csv", r"t.csv:2: more fields than columns"),
        ("dataset_id\nds1\n", "t.csv", r"t.csv:2: no kind given"),
        ("kind,dataset_id\nexport,ds1\n", "t.csv", r"t.csv:2: an export task needs task_id"),
        ("kind,dataset_id\nsync,a/b\n", "t.csv", r"t.csv:2: .*'/'"),
    ],
)
def test_malformed_lines_are_named(text: str, name: str, message: str) -> None:
    with pytest.raises(InvalidArgumentError, match=message):
        specs_from_text(text, name=name)


@given(st.text(max_size=200))
def test_any_text_gives_specs_or_a_clear_error(text: str) -> None:
    outcome: object
    try:
        outcome = specs_from_text(text, name="f.csv", default_kind="sync")
    except InvalidArgumentError as exc:
        outcome = exc
    if isinstance(outcome, InvalidArgumentError):
        assert str(outcome).startswith("f.csv:")
    else:
        assert isinstance(outcome, list)
        assert all(isinstance(s, SyncTask | ExportTask | DatasetTask) for s in outcome)


def test_event_lines_have_a_stable_flat_schema() -> None:
    spec = ExportTask("d", "t")
    obs = Observation(Phase.RUNNING, 0.5, "RUNNING")
    progress = event_to_dict(TaskProgress(spec, 1.5, None, None, obs))
    assert progress == {
        "v": 1,
        "event": "progress",
        "at": 1.5,
        "task": {"kind": "export", "dataset_id": "d", "task_id": "t"},
        "status": "RUNNING",
        "phase": "running",
        "completion": 0.5,
        "snapshot": None,
    }
    retry = event_to_dict(TaskRetrying(spec, 2.0, ServerError("x", status=503), 1, 0.25))
    assert (retry["event"], retry["error"], retry["attempt"]) == ("retrying", "ServerError", 1)
    failed = event_to_dict(TaskFailed(spec, 3.0, FailureReason.DEADLINE, "late"))
    assert (failed["event"], failed["reason"], failed["error"]) == ("failed", "deadline", None)
    done = json.loads(
        event_to_line(
            TaskCompleted(SyncTask("d"), 4.0, None, Observation(Phase.SUCCEEDED, 1.0, "OK"))
        )
    )
    assert (done["event"], done["task"], done["phase"]) == (
        "completed",
        {"kind": "sync", "dataset_id": "d"},
        "succeeded",
    )

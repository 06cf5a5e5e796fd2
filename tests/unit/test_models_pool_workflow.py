"""Pool and workflow run snapshots: what says why they failed, and what the start calls
refuse before sending anything."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, TypeVar

import pytest

from modelarts_poller import InvalidArgumentError, Phase
from modelarts_poller.operations import pool as pool_ops
from modelarts_poller.operations import training_job as tj
from modelarts_poller.operations import workflow_execution as wf

T = TypeVar("T")


def test_a_failed_pool_says_why_and_a_running_one_says_nothing() -> None:
    body = {
        "apiVersion": "v2",
        "kind": "Pool",
        "metadata": {"name": "pool-1", "creationTimestamp": "1", "labels": {"a": "b"}},
        "spec": {"type": "Dedicate"},
        "status": {"phase": "Error", "message": "quota exceeded", "root": "x"},
    }
    failed = pool_ops.parse_pool_status(body)
    assert (failed.pool_name, failed.status, failed.phase) == ("pool-1", "Error", Phase.FAILED)
    assert failed.error_msg == "quota exceeded"
    assert failed.error_code is None
    assert failed.extra["spec"] == {"type": "Dedicate"}
    assert failed.extra["metadata"] == {"labels": {"a": "b"}}
    assert failed.extra["status"] == {"root": "x"}
    body["status"] = {"phase": "Running", "message": "all nodes ready"}
    running = pool_ops.parse_pool_status(body)
    assert running.phase is Phase.SUCCEEDED
    assert running.message == "all nodes ready"
    assert running.error_msg is None


def test_a_failed_run_names_its_failing_step() -> None:
    body = {
        "execution_id": "e-1",
        "status": "abnormal",
        "steps_execution": [
            {"step_name": "prepare", "status": "completed", "inputs": []},
            {
                "step_name": "train",
                "status": "failed",
                "error_info": {"error_code": "ModelArts.2775", "error_message": "out of memory"},
            },
            {"step_name": "deploy", "status": "skipped", "error_info": {}},
        ],
        "sub_graphs": [],
        "events": ["started"],
    }
    run = wf.parse_workflow_execution_status(body)
    assert run.phase is Phase.FAILED
    assert (run.error_code, run.error_msg) == ("ModelArts.2775", "train: out of memory")
    assert run.failed_step is not None
    assert run.failed_step.step_name == "train"
    assert run.events == ("started",)
    assert run.extra["sub_graphs"] == []
    quiet = wf.parse_workflow_execution_status({"status": "running", "steps_execution": []})
    assert (quiet.error_code, quiet.error_msg, quiet.failed_step) == (None, None, None)


class Refuses:
    async def request(self, method: str, template: str, parse: Callable[[object], T],
                      **kw: Any) -> T:  # fmt: skip
        raise AssertionError("nothing may be sent")


@pytest.mark.parametrize(
    "call",
    [
        lambda c: tj.create_training_job(c, metadata={}),
        lambda c: tj.create_training_job(c, metadata={"name": "j"}, extra=[1]),
        lambda c: wf.create_workflow_execution(c, "a/b"),
        lambda c: pool_ops.create_pool(c, metadata=[], spec={}),
    ],
)
async def test_start_calls_refuse_bad_arguments_before_sending(call: Any) -> None:
    with pytest.raises(InvalidArgumentError):
        await call(Refuses())


@pytest.mark.parametrize(
    "listing",
    [
        lambda c: tj.list_training_jobs(c, page_size=51),
        lambda c: wf.list_workflow_executions(c, "wf-1", status="done"),
        lambda c: pool_ops.list_pools(c, status="Running"),
    ],
)
async def test_list_calls_refuse_bad_arguments_before_sending(listing: Any) -> None:
    with pytest.raises(InvalidArgumentError):
        async for _ in listing(Refuses()):
            pass

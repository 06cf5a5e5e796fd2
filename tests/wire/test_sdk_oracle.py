"""The simulator against the official SDK (``huaweicloudsdkmodelarts``, the dev extra).

Every request here is at the path and with the method the SDK's own operation builds
(``sdk_oracle.url``; nothing is sent to the network, only to the simulator on 127.0.0.1),
and every answer of the new kinds and of training jobs, over whole completed, stopped,
restarted and failed lifecycles (show, list, create, start and stop answers), must go
through the SDK's response model: no undeclared field, the declared types, recursively,
status values among those the model's docstring documents, and the SDK's own deserializer
without a warning.
"""

from __future__ import annotations

import json
import re
from collections.abc import AsyncIterator
from typing import Any

import aiohttp
import pytest

from modelarts_poller.simulator import Simulator, SimulatorConfig
from tests.sdk_oracle import OPERATIONS, deserialize, model, operation, problems, url

WALL0 = 1_700_000_000.0
P = "sim-project"
KINDS = tuple(OPERATIONS)
# Where each kind's status sits in its body.
STATUS_AT = {"pool": ("status", "phase"), "training_job": ("status", "phase")}
# The status a create reaches, a failed create ends in, and a stop reaches.
CREATED = {
    "infer_service": "RUNNING",
    "notebook": "RUNNING",
    "dev_server": "RUNNING",
    "pool": "Running",
    "workflow_execution": "completed",
    "training_job": "Completed",
}
FAILED = {
    "infer_service": "FAILED",
    "notebook": "CREATE_FAILED",
    "dev_server": "CREATE_FAILED",
    "pool": "Error",
    "workflow_execution": "abnormal",
    "training_job": "Failed",
}
STOPPED = {
    "infer_service": "STOPPED",
    "notebook": "STOPPED",
    "dev_server": "STOPPED",
    "workflow_execution": "stopped",
    "training_job": "Terminated",
}
# Kinds whose task ends when it completes (a stop only ends one that runs).
ENDS_WHEN_DONE = frozenset({"workflow_execution", "training_job"})
# The published answer to a status request for a resource that does not exist.
MISSING = {
    "infer_service": (404, "ModelArts.3502"),
    "notebook": (400, "ModelArts.6309"),
    "dev_server": (400, "ModelArts.4338"),
    "pool": (404, "ModelArts.2890"),
    "workflow_execution": (400, "ModelArts.4338"),
    "training_job": (400, "ModelArts.2775"),
}
# Bodies of the calls whose request has one the simulator reads.
BODIES = {
    "stop_training_job": {"action_type": "terminate"},
    "create_workflow_executions_actions": {"action_name": "stop"},
}


class ManualClock:
    def __init__(self) -> None:
        self.t = 0.0

    def __call__(self) -> float:
        return self.t

    def wall(self) -> float:
        return WALL0 + self.t


@pytest.fixture
def clock() -> ManualClock:
    return ManualClock()


@pytest.fixture
async def sim(clock: ManualClock) -> AsyncIterator[Simulator]:
    async with Simulator(SimulatorConfig(seed=5), clock=clock, wall=clock.wall) as s:
        yield s


@pytest.fixture
async def http(sim: Simulator) -> AsyncIterator[aiohttp.ClientSession]:
    async with aiohttp.ClientSession(sim.url) as session:
        yield session


def _path_params(name: str, ids: list[str]) -> dict[str, str]:
    """The SDK request's path parameters of ``name``, in its path's order, set to ``ids``."""
    template = operation(name)["resource_path"]
    names = [n for n in re.findall(r"\{(\w+)\}", template) if n != "project_id"]
    return dict(zip(names, ids, strict=True))


class Oracle:
    """Calls the simulator as the SDK's operations would, and checks every answer."""

    def __init__(self, http: aiohttp.ClientSession, kind: str) -> None:
        self.http = http
        self.kind = kind
        self.seen: list[str] = []

    async def call(self, what: str, ids: list[str], *, expect: int | None = 200) -> tuple[int, Any]:
        name = OPERATIONS[self.kind][what]
        method, path, response_type = url(name, P, **_path_params(name, ids))
        body = BODIES.get(name, {}) if method in ("POST", "PUT") else None
        async with self.http.request(method, path, json=body) as resp:
            status, text = resp.status, await resp.text()
        if expect is not None:
            assert status in (expect, 201), (name, status, text)
        if status < 300:
            self.check(response_type, text)
        return status, json.loads(text)

    def check(self, response_type: str, text: str) -> None:
        assert problems(response_type, json.loads(text)) == [], (response_type, text)
        assert isinstance(deserialize(response_type, text), model(response_type))

    def status(self, body: dict[str, Any]) -> str:
        value: Any = body
        for key in STATUS_AT.get(self.kind, ("status",)):
            value = value[key]
        assert isinstance(value, str)
        return value

    async def observe(self, ids: list[str]) -> str:
        """Show and list (the list item checked too); the shown status."""
        _, body = await self.call("show", ids)
        parent = ids[:-1]  # a workflow execution is listed under its workflow
        await self.call("list", parent)
        status = self.status(body)
        self.seen.append(status)
        return status


async def _walk(oracle: Oracle, clock: ManualClock, ids: list[str], until: float) -> str:
    """Observe at 30 points from now to past ``until`` (simulator clock); the last status."""
    start, status = clock.t, ""
    for i in range(31):
        clock.t = start + (until + 1 - start) * i / 30
        status = await oracle.observe(ids)
    return status


def _newest(sim: Simulator) -> dict[str, Any]:
    task: dict[str, Any] = sim.truth()[-1]
    return task


@pytest.mark.parametrize("kind", KINDS)
async def test_a_created_resource_through_its_lifecycle_reads_as_the_sdk_declares(
    kind: str, sim: Simulator, clock: ManualClock, http: aiohttp.ClientSession
) -> None:
    oracle = Oracle(http, kind)
    parent = ["wf-1"] if kind == "workflow_execution" else []
    await oracle.call("create", parent)
    task = _newest(sim)
    ids = task["ids"]
    if kind in ENDS_WHEN_DONE and "stop" in OPERATIONS[kind]:
        # a run is stopped while it runs; one that completes is below
        await _walk(oracle, clock, ids, (clock.t + task["finishes"]) / 2)
        await oracle.call("stop", ids)
        assert await _walk(oracle, clock, ids, _newest_of(sim, ids)["finishes"]) == STOPPED[kind]
        await oracle.call("create", parent)
        task = _newest(sim)
        ids = task["ids"]
    assert await _walk(oracle, clock, ids, task["finishes"]) == CREATED[kind]
    if "stop" in OPERATIONS[kind] and kind not in ENDS_WHEN_DONE:
        await oracle.call("stop", ids)
        assert await _walk(oracle, clock, ids, _newest_of(sim, ids)["finishes"]) == STOPPED[kind]
    if "start" in OPERATIONS[kind]:
        await oracle.call("start", ids)
        assert await _walk(oracle, clock, ids, _newest_of(sim, ids)["finishes"]) == CREATED[kind]
    assert len(set(oracle.seen)) >= 2  # the walk saw the resource change


def _newest_of(sim: Simulator, ids: list[str]) -> dict[str, Any]:
    (task,) = [t for t in sim.truth() if t["ids"] == ids]
    return task


@pytest.mark.parametrize("kind", KINDS)
async def test_a_failing_resource_reads_as_the_sdk_declares(
    kind: str, sim: Simulator, clock: ManualClock, http: aiohttp.ClientSession
) -> None:
    oracle = Oracle(http, kind)
    script = sim.add(kind, queue=10, run=100, outcome="failed")
    ids = list(script.ids)
    for t in (2, 8, 11, 60, 111, 500):
        clock.t = t
        await oracle.observe(ids)
    assert oracle.seen[-1] == FAILED[kind]
    assert len(set(oracle.seen)) >= 2


@pytest.mark.parametrize("kind", KINDS)
async def test_a_missing_resource_answers_its_published_code(
    kind: str, http: aiohttp.ClientSession
) -> None:
    oracle = Oracle(http, kind)
    ids = ["wf-1", "nope"] if kind == "workflow_execution" else ["nope"]
    expected = MISSING[kind]
    for what in ("show", "start", "stop"):
        if what in OPERATIONS[kind]:
            status, body = await oracle.call(what, ids, expect=None)
            assert (status, body["error_code"]) == expected, what


async def test_stopping_a_finished_training_job_is_refused_as_published(
    sim: Simulator, clock: ManualClock, http: aiohttp.ClientSession
) -> None:
    script = sim.add("training_job", queue=1, run=10)
    clock.t = 20
    status, body = await Oracle(http, "training_job").call("stop", list(script.ids), expect=None)
    assert (status, body["error_code"]) == (409, "ModelArts.2796")


async def test_a_stopped_notebook_refuses_another_stop_and_a_running_one_a_start(
    sim: Simulator, clock: ManualClock, http: aiohttp.ClientSession
) -> None:
    oracle = Oracle(http, "notebook")
    ids = list(sim.add("notebook", queue=1, run=10).ids)
    clock.t = 20
    status, body = await oracle.call("start", ids, expect=None)
    assert (status, body["error_code"]) == (400, "ModelArts.6305")
    await oracle.call("stop", ids)
    status, body = await oracle.call("stop", ids, expect=None)
    assert (status, body["error_code"]) == (400, "ModelArts.6308")
    clock.t = 1000
    status, body = await oracle.call("stop", ids, expect=None)
    assert (status, body["error_code"]) == (400, "ModelArts.6307")


async def test_the_oracle_fails_a_renamed_field_and_an_undocumented_status(
    sim: Simulator, http: aiohttp.ClientSession
) -> None:
    """The check the lifecycles rely on is not vacuous: a field the simulator renamed,
    or a status value the SDK does not document, fails it."""
    for kind in KINDS:
        ids = list(sim.add(kind).ids)
        name = OPERATIONS[kind]["show"]
        method, path, response_type = url(name, P, **_path_params(name, ids))
        async with http.request(method, path) as resp:
            body = await resp.json()
        assert problems(response_type, body) == []
        renamed = {k + "_x" if k == next(iter(body)) else k: v for k, v in body.items()}
        assert problems(response_type, renamed) != [], kind
        undocumented = json.loads(json.dumps(body))
        holder = undocumented
        keys = STATUS_AT.get(kind, ("status",))
        for key in keys[:-1]:
            holder = holder[key]
        holder[keys[-1]] = "NOT_A_STATUS"
        assert problems(response_type, undocumented) != [], kind

"""Resource pools, workflow runs and training jobs' start and list calls, against the
official SDK (``huaweicloudsdkmodelarts``) and the simulator on 127.0.0.1.

- Each library call (show, create, stop, list) is sent at the method and path the SDK's own
  operation builds, as seen on the wire by the client's session.
- Each status table holds exactly the values the SDK's model documents.
- The library and the SDK read the same status from the same bytes, over whole completed,
  failed and stopped lifecycles (show and list answers).
- Engine and ModelArtsClient over HTTP: a resource scripted to succeed completes, one
  scripted to fail fails, a missing one fails with ``NotFound`` and the published code, and
  list polling observes a group in one request.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import queue
import re
import threading
import time
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from typing import Any

import aiohttp
import attrs
import pytest

from modelarts_poller import (
    Backoff,
    Engine,
    ModelArtsClient,
    NoAuth,
    NotFound,
    PollPolicy,
    TaskCompleted,
    TaskFailed,
)
from modelarts_poller.cli import main
from modelarts_poller.cli._inputs import spec_from_ref
from modelarts_poller.operations import pool as pool_ops
from modelarts_poller.operations import send_stop
from modelarts_poller.operations import training_job as tj
from modelarts_poller.operations import workflow_execution as wf
from modelarts_poller.operations._declare import _WIRE
from modelarts_poller.simulator import Simulator, SimulatorConfig, spec_of
from tests.sdk_oracle import OPERATIONS, deserialize, documented, model, operation, url

WALL0 = 1_700_000_000.0
P = "sim-project"
# fast_sim's simulated time runs twice as fast as these tests once used (4,000 and 400 x
# real time) and the engine polls twice as often: the same polls a simulated minute, in
# half the wall time.
FAST = PollPolicy(
    interval=Backoff(initial=0.01, maximum=0.05), retry=Backoff(initial=0.01, maximum=0.025)
)
# The training-job search's ratio of requests keeps the old pace (200 x, polls half as
# often): at twice the pace a stall of the loaded machine cost it its margin 1 run in 6.
# Its jobs end within 45 simulated seconds of each other instead of 150.
PACED = PollPolicy(
    interval=Backoff(initial=0.02, maximum=0.1), retry=Backoff(initial=0.02, maximum=0.05)
)
# kind -> (status enum, the SDK model and attribute that documents its values)
TABLES: dict[str, tuple[Any, str, str]] = {
    "pool": (pool_ops.PoolPhaseValue, "PoolStatus", "phase"),
    "workflow_execution": (
        wf.WorkflowExecutionStatusValue,
        "ShowWorkflowExecutionResponse",
        "status",
    ),
    "training_job": (tj.TrainingPhaseValue, "Status", "phase"),
}
SPECS: dict[str, Any] = {
    "pool": pool_ops.ResourcePool,
    "workflow_execution": wf.WorkflowExecution,
    "training_job": tj.TrainingJob,
}


class ManualClock:
    def __init__(self) -> None:
        self.t = 0.0

    def __call__(self) -> float:
        return self.t

    def wall(self) -> float:
        return WALL0 + self.t


class Sent:
    """What the client's session sent: ``(method, path, query)`` of each request, and
    ``(method, path, body)`` of each body sent."""

    def __init__(self) -> None:
        self.requests: list[tuple[str, str, dict[str, str]]] = []
        self.bodies: list[tuple[str, str, bytes]] = []
        self.trace = aiohttp.TraceConfig()
        self.trace.on_request_start.append(self._start)
        self.trace.on_request_chunk_sent.append(self._chunk)

    async def _start(self, _s: Any, _c: Any, params: aiohttp.TraceRequestStartParams) -> None:
        self.requests.append((params.method, params.url.path, dict(params.url.query)))

    async def _chunk(self, _s: Any, _c: Any, params: aiohttp.TraceRequestChunkSentParams) -> None:
        self.bodies.append((params.method, params.url.path, params.chunk))


@pytest.fixture
def clock() -> ManualClock:
    return ManualClock()


@pytest.fixture
async def sim(clock: ManualClock) -> AsyncIterator[Simulator]:
    async with Simulator(SimulatorConfig(seed=5), clock=clock, wall=clock.wall) as s:
        yield s


@contextlib.asynccontextmanager
async def recorded(sim: Simulator) -> AsyncIterator[tuple[ModelArtsClient, Sent]]:
    sent = Sent()
    async with aiohttp.ClientSession(trace_configs=[sent.trace]) as session:
        client = ModelArtsClient(
            endpoint=sim.url, project_id=sim.project_id, auth=NoAuth(), session=session
        )
        async with client:
            yield client, sent


def _sdk(name: str, ids: list[str]) -> tuple[str, str]:
    """``(method, path)`` the SDK operation ``name`` builds for these path IDs."""
    template = operation(name)["resource_path"]
    names = [n for n in re.findall(r"\{(\w+)\}", template) if n != "project_id"]
    method, path, _ = url(name, P, **dict(zip(names, ids, strict=True)))
    return method, path


async def _drain(it: AsyncIterator[Any]) -> list[Any]:
    return [item async for item in it]


# -- each call at the SDK operation's method and path -------------------------------------

Call = Callable[[ModelArtsClient, Simulator], Awaitable[list[str]]]


async def _pool_show(c: ModelArtsClient, sim: Simulator) -> list[str]:
    name = sim.add("pool").ids[0]
    await pool_ops.get_pool_status(c, name)
    return [name]


async def _pool_create(c: ModelArtsClient, sim: Simulator) -> list[str]:
    spec = await pool_ops.create_pool(c, metadata={"labels": {"a": "b"}}, spec={"type": "D"})
    assert sim.truth()[-1]["ids"] == [spec.pool_name]
    return []


async def _pool_list(c: ModelArtsClient, sim: Simulator) -> list[str]:
    name = sim.add("pool").ids[0]
    assert [p.pool_name for p in await _drain(pool_ops.list_pools(c))] == [name]
    return []


async def _wf_show(c: ModelArtsClient, sim: Simulator) -> list[str]:
    ids = list(sim.add("workflow_execution", ids=["wf-1", "e-1"]).ids)
    await wf.get_workflow_execution_status(c, *ids)
    return ids


async def _wf_create(c: ModelArtsClient, sim: Simulator) -> list[str]:
    spec = await wf.create_workflow_execution(c, "wf-1", name="run")
    assert sim.truth()[-1]["ids"] == ["wf-1", spec.execution_id]
    return ["wf-1"]


async def _wf_stop(c: ModelArtsClient, sim: Simulator) -> list[str]:
    ids = list(sim.add("workflow_execution", ids=["wf-1", "e-1"], queue=0, run=100).ids)
    stopping = await wf.stop_workflow_execution(c, wf.WorkflowExecution(*ids))
    assert stopping.success == {"stopped", "completed"}
    return ids


async def _wf_list(c: ModelArtsClient, sim: Simulator) -> list[str]:
    for i in range(3):
        sim.add("workflow_execution", ids=["wf-1", f"e-{i}"])
    found = await _drain(wf.list_workflow_executions(c, "wf-1", page_size=2))
    assert sorted(e.execution_id for e in found) == ["e-0", "e-1", "e-2"]
    return ["wf-1"]


async def _tj_show(c: ModelArtsClient, sim: Simulator) -> list[str]:
    job = sim.add("training_job").ids[0]
    await c.get_task(tj.TrainingJob(job))
    return [job]


async def _tj_create(c: ModelArtsClient, sim: Simulator) -> list[str]:
    spec = await tj.create_training_job(c, metadata={"name": "resnet"}, algorithm={"a": 1})
    assert sim.truth()[-1]["ids"] == [spec.training_job_id]
    return []


async def _tj_stop(c: ModelArtsClient, sim: Simulator) -> list[str]:
    job = sim.add("training_job", queue=0, run=100).ids[0]
    await send_stop(c, tj.TrainingJob(job))
    return [job]


async def _tj_list(c: ModelArtsClient, sim: Simulator) -> list[str]:
    for _ in range(3):
        sim.add("training_job")
    found = await _drain(tj.list_training_jobs(c, page_size=2))
    assert len({j.job_id for j in found}) == 3
    return []


CALLS: dict[tuple[str, str], Call] = {
    ("pool", "show"): _pool_show,
    ("pool", "create"): _pool_create,
    ("pool", "list"): _pool_list,
    ("workflow_execution", "show"): _wf_show,
    ("workflow_execution", "create"): _wf_create,
    ("workflow_execution", "stop"): _wf_stop,
    ("workflow_execution", "list"): _wf_list,
    ("training_job", "show"): _tj_show,
    ("training_job", "create"): _tj_create,
    ("training_job", "stop"): _tj_stop,
    ("training_job", "list"): _tj_list,
}


def test_every_sdk_operation_of_these_kinds_has_its_library_call() -> None:
    wanted = {(k, what) for k in TABLES for what in OPERATIONS[k]}
    assert set(CALLS) == wanted


@pytest.mark.parametrize(("kind", "what"), sorted(CALLS))
async def test_each_call_is_sent_as_the_sdk_operation_sends_it(
    sim: Simulator, kind: str, what: str
) -> None:
    async with recorded(sim) as (client, sent):
        ids = await CALLS[kind, what](client, sim)
    name = OPERATIONS[kind][what]
    expected = _sdk(name, ids)
    assert sent.requests, "nothing was sent"
    for method, path, query in sent.requests:  # every page of a list, too
        assert (method, path) == expected
        declared = {n for n, _ in operation(name)["query_params"]}
        declared |= {"limit", "offset"} if what == "list" and kind != "pool" else set()
        assert set(query) <= declared, (name, query)


async def test_a_training_job_search_pages_in_its_body_as_the_sdk_declares(
    sim: Simulator,
) -> None:
    bodies: list[dict[str, Any]] = []

    class Spy:
        async def request(self, method: str, template: str, parse: Any, **kw: Any) -> Any:
            bodies.append(dict(kw["body"]))
            return await client.request(method, template, parse, **kw)

    for _ in range(5):
        sim.add("training_job")
    async with recorded(sim) as (client, _):
        found = await _drain(tj.list_training_jobs(Spy(), page_size=2, filters={"order": "asc"}))
    assert len(found) == 5
    assert [(b["offset"], b["limit"]) for b in bodies] == [(0, 2), (1, 2), (2, 2)]
    declared = set(model("JobSearches").attribute_map.values())
    assert all(set(b) <= declared for b in bodies)


def test_declared_paths_are_the_sdk_operations() -> None:
    assert (
        "GET",
        pool_ops.ResourcePool.PATH.format(project_id=P, pool_name="x"),
    ) == _sdk("show_pool", ["x"])
    assert ("GET", pool_ops.ResourcePool.LIST_PATH.format(project_id=P)) == _sdk("list_pools", [])
    spec = wf.WorkflowExecution
    stop = spec.STOP
    assert stop is not None
    filled = {"project_id": P, "workflow_id": "w", "execution_id": "e"}
    assert (stop.method, stop.path.format(**filled)) == _sdk(
        "create_workflow_executions_actions", ["w", "e"]
    )
    assert stop.body == {"action_name": "stop"}
    assert ("GET", str(spec.LIST_PATH).format(**filled)) == _sdk("list_workflow_executions", ["w"])


# -- status tables ---------------------------------------------------------------------------


@pytest.mark.parametrize("kind", sorted(TABLES))
def test_the_status_table_holds_exactly_the_sdk_documented_values(kind: str) -> None:
    values, model_name, attribute = TABLES[kind]
    published = documented(model_name, attribute)
    assert len(published) >= 5  # the docstring was read
    assert {m.value for m in values} == published
    assert set(SPECS[kind].PHASES) == published
    # What the comparison catches: a table without one of them.
    for missing in published:
        assert {m.value for m in values} - {missing} != published


def test_what_done_means_for_each_kind() -> None:
    assert {v for v, ph in pool_ops.PHASES.items() if ph.is_terminal} == {
        "Running", "Error", "Abnormal", "Deleting",
    }  # fmt: skip
    assert pool_ops.PHASES["Running"].value == "succeeded"
    assert pool_ops.PHASES["Creating"].value == "running"
    assert {v for v, ph in wf.PHASES.items() if ph.value == "succeeded"} == {"completed"}
    assert {v for v, ph in wf.PHASES.items() if ph.value == "failed"} == {"stopped", "abnormal"}


# -- the same status from the same bytes -----------------------------------------------------


def _sdk_status(kind: str, obj: Any) -> Any:
    return obj.status if kind == "workflow_execution" else obj.status.phase


async def _get(http: aiohttp.ClientSession, method: str, path: str) -> str:
    async with http.request(method, path, json={} if method == "POST" else None) as resp:
        assert resp.status < 300, await resp.text()
        return await resp.text()


async def _read_both(http: aiohttp.ClientSession, kind: str, ids: list[str]) -> str:
    """Show and list answers read by the library and the SDK; the shown status."""
    name = OPERATIONS[kind]["show"]
    method, path = _sdk(name, ids)
    text = await _get(http, method, path)
    ours = SPECS[kind].PARSE(json.loads(text))
    theirs = deserialize(url(name, P, **_params(name, ids))[2], text)
    assert ours.status == _sdk_status(kind, theirs)
    assert ours.phase.value != "unknown"
    list_name = OPERATIONS[kind]["list"]
    method, path = _sdk(list_name, ids[:-1])
    text = await _get(http, method, path)
    if kind == "training_job":
        _, items = tj._search_page(json.loads(text))
    else:
        page = SPECS[kind].LIST_PAGE
        _, items = page(json.loads(text))
    sdk_items = deserialize(url(list_name, P, **_params(list_name, ids[:-1]))[2], text).items
    assert [i.status for i in items] == [_sdk_status(kind, i) for i in sdk_items]
    assert isinstance(ours.status, str)
    return ours.status


def _params(name: str, ids: list[str]) -> dict[str, str]:
    template = operation(name)["resource_path"]
    names = [n for n in re.findall(r"\{(\w+)\}", template) if n != "project_id"]
    return dict(zip(names, ids, strict=True))


LIFECYCLES = [
    ("pool", "completed", {"Creating", "Running"}),
    ("pool", "failed", {"Creating", "Error"}),
    ("workflow_execution", "completed", {"init", "running", "completed"}),
    ("workflow_execution", "failed", {"init", "running", "abnormal"}),
    ("workflow_execution", "stopped", {"init", "running", "stopped"}),
    ("training_job", "completed", {"Creating", "Pending", "Running", "Completed"}),
    ("training_job", "failed", {"Creating", "Pending", "Running", "Failed"}),
    ("training_job", "stopped", {"Creating", "Pending", "Running", "Terminating", "Terminated"}),
]


@pytest.mark.parametrize(("kind", "outcome", "expected"), LIFECYCLES)
async def test_library_and_sdk_read_the_same_status_over_a_lifecycle(
    sim: Simulator, clock: ManualClock, kind: str, outcome: str, expected: set[str]
) -> None:
    ids = ["wf-1", "e-1"] if kind == "workflow_execution" else None
    script = sim.add(kind, ids=ids, queue=10, run=100,
                     outcome="failed" if outcome == "failed" else "completed")  # fmt: skip
    ids = list(script.ids)
    seen: list[str] = []
    async with aiohttp.ClientSession(sim.url) as http:
        for t in (1, 5, 9, 11, 30, 60):
            clock.t = t
            seen.append(await _read_both(http, kind, ids))
        if outcome == "stopped":
            method, path = _sdk(OPERATIONS[kind]["stop"], ids)
            stop = tj.STOP if kind == "training_job" else wf.STOP
            async with http.request(method, path, json=stop.body) as resp:
                assert resp.status == 200, await resp.text()
            base = clock.t
            for dt in (0.5, 2, 5, 10, 30, 60, 200):
                clock.t = base + dt
                seen.append(await _read_both(http, kind, ids))
        else:
            for t in (90, 109, 111, 200, 1000):
                clock.t = t
                seen.append(await _read_both(http, kind, ids))
    assert set(seen) == expected
    assert seen[-1] in stop_or_end(kind, outcome)


def stop_or_end(kind: str, outcome: str) -> set[str]:
    return {
        "completed": {"Running", "completed", "Completed"},
        "failed": {"Error", "abnormal", "Failed"},
        "stopped": {"stopped", "Terminated"},
    }[outcome]


# -- Engine and ModelArtsClient over HTTP ----------------------------------------------------


@contextlib.asynccontextmanager
async def fast_sim(speed: float = 4000.0) -> AsyncIterator[Simulator]:
    """The simulator with its time running ``speed`` times faster than real time, so that
    the SDK-realistic durations of its create and stop calls (a pool in half an hour) end
    in well under a second."""
    t0 = time.monotonic()

    def now() -> float:
        return (time.monotonic() - t0) * speed

    async with Simulator(SimulatorConfig(seed=3), clock=now, wall=lambda: WALL0 + now()) as s:
        yield s


def _client(sim: Simulator) -> ModelArtsClient:
    return ModelArtsClient(endpoint=sim.url, project_id=sim.project_id, auth=NoAuth())


@pytest.mark.parametrize("kind", ["pool", "workflow_execution"])
@pytest.mark.parametrize("outcome", ["completed", "failed"])
async def test_a_scripted_resource_reaches_its_outcome(kind: str, outcome: str) -> None:
    async with fast_sim() as sim:
        ids = ["wf-1", "e-1"] if kind == "workflow_execution" else None
        script = sim.add(kind, ids=ids, queue=20, run=200, outcome=outcome)
        async with _client(sim) as client, Engine(client=client, policy=FAST) as engine:
            result = await engine.watch(spec_of(script)).wait()
    if outcome == "completed":
        assert isinstance(result, TaskCompleted)
        assert result.snapshot.status == {"pool": "Running"}.get(kind, "completed")
    else:
        assert isinstance(result, TaskFailed)
        assert result.snapshot is not None
        assert result.snapshot.status == {"pool": "Error"}.get(kind, "abnormal")
        if kind == "pool":  # its status message says why
            assert result.snapshot.error_msg


async def test_created_resources_complete_and_a_stopped_run_stops() -> None:
    async with fast_sim() as sim, _client(sim) as client:
        # The client's methods of the same names are the modules' functions.
        pool = await client.create_pool(metadata={}, spec={"type": "Dedicate"})
        run = await client.create_workflow_execution("wf-9")
        doomed = await client.create_workflow_execution("wf-9")
        stopping = await client.stop_workflow_execution(doomed)
        job = await client.create_training_job(metadata={"name": "j"})
        listed = [j async for j in client.list_training_jobs()]
        assert [j.job_id for j in listed] == [job.training_job_id]
        async with Engine(client=client, policy=FAST) as engine:
            results = [await engine.watch(s).wait() for s in (pool, run, stopping, job)]
    assert [type(r) for r in results] == [TaskCompleted] * 4
    assert [r.snapshot.status for r in results] == ["Running", "completed", "stopped", "Completed"]
    # The stopped run, watched without the stop's spec, fails: it did not complete.
    async with fast_sim() as sim, _client(sim) as client:
        doomed = await wf.create_workflow_execution(client, "wf-9")
        await wf.stop_workflow_execution(client, doomed)
        async with Engine(client=client, policy=FAST) as engine:
            failed = await engine.watch(doomed).wait()
    assert isinstance(failed, TaskFailed)
    assert failed.snapshot is not None
    assert failed.snapshot.status == "stopped"


@pytest.mark.parametrize(
    ("spec", "code"),
    [
        (pool_ops.ResourcePool("nope"), (404, "ModelArts.2890")),
        (wf.WorkflowExecution("wf-1", "nope"), (400, "ModelArts.4338")),
    ],
)
async def test_a_missing_resource_fails_with_not_found_and_its_code(
    spec: Any, code: tuple[int, str]
) -> None:
    async with fast_sim() as sim, _client(sim) as client:
        async with Engine(client=client, policy=FAST) as engine:
            result = await engine.watch(spec).wait()
        with pytest.raises(NotFound) as info:
            await client.get_task(spec)
    assert isinstance(result, TaskFailed)
    assert isinstance(result.error, NotFound)
    assert (info.value.status, info.value.error_code) == code


@pytest.mark.parametrize("kind", ["pool", "workflow_execution"])
async def test_list_polling_observes_a_group_in_one_request(kind: str) -> None:
    async with fast_sim(speed=400.0) as sim:
        scripts = [
            sim.add(
                kind,
                ids=["wf-1", f"e-{i}"] if kind == "workflow_execution" else None,
                queue=10,
                run=100 + 10 * i,
            )
            for i in range(8)
        ]
        async with _client(sim) as client, Engine(client=client, policy=FAST) as engine:
            result = await engine.wait(engine.watch_many(spec_of(s) for s in scripts), timeout=30)
        counters = sim.state.counters
    assert result.ok
    assert len(result.completed) == 8
    assert counters.lists[kind] > 0  # the engine listed the group


async def test_list_polling_searches_training_jobs_for_far_fewer_requests_and_the_same_outcomes(
) -> None:  # fmt: skip
    """The engine lists a project's training jobs with ``POST .../training-job-searches``,
    its paging in the JSON body as the SDK's ``JobSearches`` declares it. 60 older jobs
    fill the first page (50 a page): the watched ones are found on the second only if
    ``offset`` is a page index. The outcomes are those of polling each job on its own."""

    async def run(list_polling: bool) -> tuple[list[str], int, int, Sent]:
        async with fast_sim(speed=200.0) as sim:
            for _ in range(60):
                sim.add("training_job", queue=0, run=0)
            scripts = [
                sim.add("training_job", queue=10, run=100 + 3 * i,
                        outcome="failed" if i % 4 == 3 else "completed")
                for i in range(16)
            ]  # fmt: skip
            async with (
                recorded(sim) as (client, sent),
                Engine(client=client, policy=PACED, list_polling=list_polling) as engine,
            ):
                result = await engine.wait(
                    engine.watch_many(spec_of(s) for s in scripts), timeout=30
                )
            counters = sim.state.counters
        assert not result.pending
        by_id = {ev.spec.ids[0]: ev for ev in (*result.completed, *result.failed)}
        outcomes = [
            f"{type(by_id[s.ids[0]]).__name__} {by_id[s.ids[0]].snapshot.status} "
            f"{by_id[s.ids[0]].snapshot.error_msg}"
            for s in scripts
        ]
        return outcomes, len(sent.requests), counters.lists["training_job"], sent

    listed, listed_requests, lists, sent = await run(True)
    alone, alone_requests, no_lists, _ = await run(False)
    assert listed == alone
    assert sum(o.startswith("TaskFailed") for o in listed) == 4
    assert lists > 0
    assert no_lists == 0
    assert listed_requests < alone_requests / 3, (listed_requests, alone_requests)
    searches = [r for r in sent.requests if r[1].endswith("/training-job-searches")]
    assert len(searches) == lists
    assert all(method == "POST" and query == {} for method, _, query in searches)
    bodies = [json.loads(b) for _, path, b in sent.bodies if path.endswith("-searches")]
    assert len(bodies) == lists
    declared = set(model("JobSearches").attribute_map.values())
    assert all(set(b) <= declared and b["limit"] == 50 for b in bodies)
    assert {b["offset"] for b in bodies} == {0, 1}  # page indexes, not record offsets
    method, path = _sdk(OPERATIONS["training_job"]["list"], [])
    assert {(m, p) for m, p, _ in searches} == {(method, path)}


# -- the CLI ---------------------------------------------------------------------------------


@contextlib.contextmanager
def threaded_sim() -> Iterator[Simulator]:
    """The simulator served by a thread of its own, for the CLI's own event loop."""
    ready: queue.Queue[Simulator] = queue.Queue()
    stop = threading.Event()

    async def serve() -> None:
        async with Simulator(SimulatorConfig(seed=2)) as s:
            ready.put(s)
            await asyncio.to_thread(stop.wait)

    thread = threading.Thread(target=asyncio.run, args=(serve(),), daemon=True)
    thread.start()
    try:
        yield ready.get(timeout=10)
    finally:
        stop.set()
        thread.join(timeout=10)


@pytest.mark.parametrize(
    ("kind", "ref", "spec"),
    [
        ("pool", "p-1", pool_ops.ResourcePool("p-1")),
        ("workflow_execution", "wf-1/e-1", wf.WorkflowExecution("wf-1", "e-1")),
        ("workflow", "wf-1/e-1", wf.WorkflowExecution("wf-1", "e-1")),
    ],
)
def test_the_cli_reads_references_of_these_kinds(kind: str, ref: str, spec: Any) -> None:
    assert spec_from_ref(kind, ref) == spec


@pytest.mark.parametrize("kind", ["pool", "workflow_execution"])
def test_the_cli_watches_these_kinds(kind: str, capsys: pytest.CaptureFixture[str]) -> None:
    with threaded_sim() as sim:
        ids = ["wf-1", "e-1"] if kind == "workflow_execution" else None
        script = sim.add(kind, ids=ids, queue=0.05, run=0.2)
        code = main(["watch", "--kind", kind, "/".join(script.ids), "--json", "--no-auth",
                     "--endpoint", sim.url, "--project-id", sim.project_id,
                     "--interval", "0.05", "--max-interval", "0.1"])  # fmt: skip
    out = capsys.readouterr().out
    assert code == 0, out
    events = [json.loads(line) for line in out.splitlines() if line.strip()]
    assert events[-1]["event"] == "completed", out
    assert events[-1]["task"]["kind"] == kind


async def test_listing_a_workflow_pages_by_record_offset() -> None:
    """``list_workflow_executions`` counts ``offset`` in items: the engine's second page of
    a workflow's runs starts at item 100, not at item 1."""
    async with fast_sim(speed=400.0) as sim:
        scripts = [
            sim.add("workflow_execution", ids=["wf-1", f"e-{i:03d}"], queue=10, run=100 + i)
            for i in range(150)
        ]
        async with recorded(sim) as (client, sent), Engine(client=client, policy=FAST) as engine:
            result = await engine.wait(engine.watch_many(spec_of(s) for s in scripts), timeout=30)
    assert result.ok
    lists = [q for m, path, q in sent.requests if path.endswith("/workflows/wf-1/executions")]
    assert {q["offset"] for q in lists} == {"0", "100"}


async def test_listing_pools_sends_no_paging_and_one_request_per_listing() -> None:
    """``list_pools`` is not paged (the SDK declares no ``offset`` or ``limit``): one answer
    holds every pool, however many, so a listing is one request without a paging query."""
    async with fast_sim(speed=400.0) as sim:
        scripts = [sim.add("pool", queue=10, run=100 + i) for i in range(150)]
        async with recorded(sim) as (client, sent), Engine(client=client, policy=FAST) as engine:
            result = await engine.wait(engine.watch_many(spec_of(s) for s in scripts), timeout=30)
        listings = sim.state.counters.lists["pool"]
    assert result.ok
    lists = [q for m, path, q in sent.requests if path.endswith("/pools")]
    assert lists
    assert all(q == {} for q in lists)
    assert len(lists) == listings
    gets = [path for m, path, q in sent.requests if "/pools/" in path]
    assert len(gets) < len(scripts)  # the lists observed most of them


# -- the models against the SDK's response models ---------------------------------------------


def _top_level_keys(model_type: type) -> set[str]:
    """The top-level wire keys a declared model reads (a field's key, or the object it is
    read from)."""
    keys: set[str] = set()
    for f in attrs.fields(model_type):
        wire = f.metadata.get(_WIRE)
        if wire is not None:
            keys.add(wire.at or wire.key or f.name)
    return keys


@pytest.mark.parametrize(
    ("model_type", "sdk_model", "in_extra"),
    [
        (pool_ops.PoolStatus, "ShowPoolResponse", {"spec"}),
        (
            wf.WorkflowExecutionStatus,
            "ShowWorkflowExecutionResponse",
            {"sub_graphs", "data_requirements", "parameters", "policies"},
        ),
    ],
)
def test_each_model_reads_every_top_level_field_of_the_sdk_model(
    model_type: type, sdk_model: str, in_extra: set[str]
) -> None:
    declared = set(model(sdk_model).attribute_map.values())
    read = _top_level_keys(model_type)
    assert read <= declared  # no field the SDK does not declare
    assert declared - read == in_extra  # the rest is what the docstring says is in extra
    assert all(key in (model_type.__doc__ or "") for key in in_extra)


async def test_stopping_a_run_that_already_completed_ends_the_stop_watch_as_completed() -> None:
    async with fast_sim() as sim, _client(sim) as client:
        ids = sim.add("workflow_execution", ids=["wf-1", "e-1"], queue=0, run=0).ids
        stopping = await client.stop_workflow_execution(wf.WorkflowExecution(*ids))
        async with Engine(client=client, policy=FAST) as engine:
            result = await engine.watch(stopping).wait()
    assert isinstance(result, TaskCompleted)
    assert result.snapshot.status == "completed"

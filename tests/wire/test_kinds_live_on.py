"""Inference services (v2), notebooks and Lite servers over HTTP against the simulator.

The library and the official SDK (``huaweicloudsdkmodelarts``, through ``tests.sdk_oracle``)
read the same status from the same bytes over whole lifecycles; ``Engine`` and
``ModelArtsClient`` see resources succeed, fail, go missing, stop and start again; list
polling observes many at once with the outcomes of polling each.
"""

from __future__ import annotations

import json
import time
from collections.abc import AsyncIterator
from types import ModuleType
from typing import Any

import aiohttp
import anyio
import pytest

from modelarts_poller import (
    Backoff,
    Conflict,
    Engine,
    FailureReason,
    ModelArtsClient,
    NoAuth,
    NotFound,
    Phase,
    PollPolicy,
    TaskCompleted,
    TaskFailed,
    get_kind,
)
from modelarts_poller.operations import dev_server, infer_service, notebook
from modelarts_poller.simulator import Simulator, SimulatorConfig, spec_of
from tests.sdk_oracle import OPERATIONS, deserialize, model, operation

WALL0 = 1_700_000_000.0
MODULES: dict[str, ModuleType] = {
    "infer_service": infer_service,
    "notebook": notebook,
    "dev_server": dev_server,
}
KINDS = sorted(MODULES)
LISTS = {
    "infer_service": "list_infer_services",
    "notebook": "list_notebooks",
    "dev_server": "list_dev_servers",
}
CREATE_ARGS: dict[str, dict[str, Any]] = {
    "infer_service": {"name": "svc"},
    "notebook": {"name": "nb", "flavor": "modelarts.vm.cpu.2u", "image_id": "img-1"},
    "dev_server": {"name": "srv", "flavor": "ai1s.large.4", "image_id": "img-1"},
}
# The published answer to a request for a resource that does not exist.
MISSING = {
    "infer_service": (404, "ModelArts.3502"),
    "notebook": (400, "ModelArts.6309"),
    "dev_server": (400, "ModelArts.4338"),
}
# The simulator runs SPEED times real time and the engine polls as often, in simulated
# seconds, as it would at 400 x with intervals of 0.05 to 0.1 s: the same polls a task,
# in a quarter of the wall time.
SPEED = 1600.0
FAST = PollPolicy(
    interval=Backoff(initial=0.0125, maximum=0.025), retry=Backoff(initial=0.0125, maximum=0.025)
)


class ManualClock:
    def __init__(self) -> None:
        self.t = 0.0

    def __call__(self) -> float:
        return self.t

    def wall(self) -> float:
        return WALL0 + self.t


class FastClock:
    """The simulator's clock running ``scale`` times real time: a notebook that starts in
    30 simulated seconds starts in 30/scale real ones, while the engine polls in real time."""

    def __init__(self, scale: float) -> None:
        self.scale = scale
        self.t0 = time.monotonic()

    def __call__(self) -> float:
        return (time.monotonic() - self.t0) * self.scale

    def wall(self) -> float:
        return WALL0 + self()


def client_for(sim: Simulator) -> ModelArtsClient:
    return ModelArtsClient(endpoint=sim.url, project_id=sim.project_id, auth=NoAuth())


def _response(kind: str, what: str) -> str:
    name: str = operation(OPERATIONS[kind][what])["response_type"]
    return name


# -- the library and the SDK read the same bytes ----------------------------------------


class Reader:
    """Reads a resource's status and list answers as bytes, then through both the SDK's
    deserializer and the library's parsers, which must agree on every status."""

    def __init__(self, http: aiohttp.ClientSession, sim: Simulator, kind: str) -> None:
        self.http, self.sim, self.kind = http, sim, kind
        self.spec_type = get_kind(kind).spec_type
        self.seen: list[str] = []

    async def _text(self, path: str) -> str:
        async with self.http.get(path) as resp:
            assert resp.status == 200, await resp.text()
            return await resp.text()

    async def observe(self, resource_id: str) -> str:
        pid = self.sim.project_id
        path = self.spec_type.PATH.format(project_id=pid, **{self.spec_type.ID_NAMES[0]:
                                                              resource_id})  # fmt: skip
        text = await self._text(path)
        sdk_model = deserialize(_response(self.kind, "show"), text)
        mine = self.spec_type.PARSE(json.loads(text))
        assert mine.status == sdk_model.status
        assert mine.id == sdk_model.id == resource_id
        listed = await self._text(self.spec_type.LIST_PATH.format(project_id=pid) + "?limit=50")
        sdk_page = deserialize(_response(self.kind, "list"), listed)
        total, items = self.spec_type.LIST_PAGE(json.loads(listed))
        assert total == sdk_page.total
        assert [(i.id, i.status) for i in items] == [(i.id, i.status) for i in sdk_page.data]
        self.seen.append(mine.status)
        return str(mine.status)


async def _walk(reader: Reader, clock: ManualClock, resource_id: str) -> str:
    """Observe at 20 points until the operation under way has ended; the last status."""
    (task,) = [t for t in reader.sim.truth() if t["ids"] == [resource_id]]
    start, status = clock.t, ""
    for i in range(21):
        clock.t = start + (task["finishes"] + 1 - start) * i / 20
        status = await reader.observe(resource_id)
    return status


@pytest.fixture
def clock() -> ManualClock:
    return ManualClock()


@pytest.fixture
async def manual_sim(clock: ManualClock) -> AsyncIterator[Simulator]:
    async with Simulator(SimulatorConfig(seed=5), clock=clock, wall=clock.wall) as s:
        yield s


@pytest.mark.parametrize("kind", KINDS)
async def test_the_library_and_the_sdk_read_the_same_status_over_a_lifecycle(
    kind: str, manual_sim: Simulator, clock: ManualClock
) -> None:
    mod = MODULES[kind]
    async with client_for(manual_sim) as client, aiohttp.ClientSession(manual_sim.url) as http:
        reader = Reader(http, manual_sim, kind)
        spec = await getattr(mod, f"create_{kind}")(client, **CREATE_ARGS[kind])
        (resource_id,) = spec.ids
        assert await _walk(reader, clock, resource_id) == "RUNNING"
        stopping = await getattr(mod, f"stop_{kind}")(client, resource_id)
        assert await _walk(reader, clock, resource_id) == "STOPPED"
        assert stopping.phase_of("STOPPED") is Phase.SUCCEEDED
        starting = await getattr(mod, f"start_{kind}")(client, stopping)
        assert await _walk(reader, clock, resource_id) == "RUNNING"
        assert starting.phase_of("RUNNING") is Phase.SUCCEEDED
    assert {"RUNNING", "STOPPED"} < set(reader.seen)  # and what came between


@pytest.mark.parametrize("kind", KINDS)
async def test_the_library_and_the_sdk_read_the_same_failure(
    kind: str, manual_sim: Simulator, clock: ManualClock
) -> None:
    script = manual_sim.add(kind, queue=10, run=100, outcome="failed")
    async with aiohttp.ClientSession(manual_sim.url) as http:
        reader = Reader(http, manual_sim, kind)
        last = await _walk(reader, clock, script.ids[0])
    spec = get_kind(kind).spec(script.ids[0])
    assert spec.phase_of(last) is Phase.FAILED
    assert len(set(reader.seen)) >= 2


async def test_the_sdks_list_model_is_the_library_list_items_shape(
    manual_sim: Simulator,
) -> None:
    """A listed service's integer times and version string read as the status answer's."""
    script = manual_sim.add("infer_service", queue=0, run=0)
    async with client_for(manual_sim) as client:
        (item,) = [s async for s in infer_service.list_infer_services(client, page_size=1)]
        shown = await client.get_task(spec_of(script))
    assert model("ServiceItemResponseData").openapi_types["create_at"] == "int"
    assert (item.id, item.status, item.create_at) == (shown.id, shown.status, shown.create_at)


# -- the engine over HTTP -----------------------------------------------------------------


@pytest.fixture
async def fast_sim() -> AsyncIterator[Simulator]:
    clock = FastClock(SPEED)
    async with Simulator(SimulatorConfig(seed=7), clock=clock, wall=clock.wall) as s:
        yield s


async def _wait(client: ModelArtsClient, spec: Any) -> Any:
    async with Engine(client=client, policy=FAST) as engine:
        with anyio.fail_after(20):
            return await engine.watch(spec).wait()


@pytest.mark.parametrize("kind", KINDS)
async def test_a_created_resource_runs_and_a_failing_one_fails_through_the_engine(
    kind: str, fast_sim: Simulator
) -> None:
    failing = spec_of(fast_sim.add(kind, queue=20, run=100, outcome="failed"))
    async with client_for(fast_sim) as client:
        created = await getattr(MODULES[kind], f"create_{kind}")(client, **CREATE_ARGS[kind])
        done = await _wait(client, created)
        failed = await _wait(client, failing)
    assert isinstance(done, TaskCompleted), done
    assert done.snapshot.status == "RUNNING"
    assert isinstance(failed, TaskFailed), failed
    assert failed.reason is FailureReason.REMOTE_FAILED
    assert failed.snapshot.phase is Phase.FAILED


@pytest.mark.parametrize("kind", KINDS)
async def test_stop_then_start_reach_stopped_and_running(kind: str, fast_sim: Simulator) -> None:
    mod = MODULES[kind]
    (resource_id,) = fast_sim.add(kind, queue=0, run=0).ids
    async with client_for(fast_sim) as client:
        stopping = await getattr(mod, f"stop_{kind}")(client, resource_id)
        stopped = await _wait(client, stopping)
        starting = await getattr(mod, f"start_{kind}")(client, resource_id)
        started = await _wait(client, starting)
        stopped_again = await _wait(client, await getattr(mod, f"stop_{kind}")(client, starting))
    assert isinstance(stopped, TaskCompleted), stopped
    assert stopped.snapshot.status == "STOPPED"
    assert isinstance(started, TaskCompleted), started
    assert started.snapshot.status == "RUNNING"
    assert isinstance(stopped_again, TaskCompleted), stopped_again
    assert stopped_again.snapshot.status == "STOPPED"


@pytest.mark.parametrize("kind", KINDS)
async def test_a_missing_resource_is_not_found_with_the_published_code(
    kind: str, fast_sim: Simulator
) -> None:
    mod = MODULES[kind]
    async with client_for(fast_sim) as client:
        outcome = await _wait(client, get_kind(kind).spec("nope"))
        with pytest.raises(NotFound) as stop_info:
            await getattr(mod, f"stop_{kind}")(client, "nope")
        with pytest.raises(NotFound) as start_info:
            await getattr(mod, f"start_{kind}")(client, "nope")
    assert isinstance(outcome, TaskFailed)
    assert outcome.reason is FailureReason.PERMANENT_ERROR
    assert isinstance(outcome.error, NotFound)
    for error in (outcome.error, stop_info.value, start_info.value):
        assert (error.status, error.error_code) == MISSING[kind]


async def test_starting_a_running_notebook_is_a_conflict(fast_sim: Simulator) -> None:
    (nb,) = fast_sim.add("notebook", queue=0, run=0).ids
    async with client_for(fast_sim) as client:
        with pytest.raises(Conflict) as info:
            await notebook.start_notebook(client, nb)
    assert (info.value.status, info.value.error_code) == (400, "ModelArts.6305")


# -- lists ----------------------------------------------------------------------------------


@pytest.mark.parametrize("kind", KINDS)
async def test_the_list_call_pages_through_every_resource(kind: str, fast_sim: Simulator) -> None:
    ids = {fast_sim.add(kind, queue=0, run=0).ids[0] for _ in range(23)}
    async with client_for(fast_sim) as client:
        listed = [s async for s in getattr(MODULES[kind], LISTS[kind])(client, page_size=10)]
        running = [
            s.id
            async for s in getattr(MODULES[kind], LISTS[kind])(client, page_size=10)
            if s.status == "RUNNING"
        ]
    assert sorted(s.id for s in listed) == sorted(ids)  # no item skipped or repeated
    assert sorted(running) == sorted(ids)


def requests(sim: Simulator) -> int:
    return sum(sim.counters.per_second_all.values())


@pytest.mark.parametrize("kind", KINDS)
async def test_list_polling_observes_many_for_fewer_requests_and_the_same_outcomes(
    kind: str, fast_sim: Simulator
) -> None:
    async def run(list_polling: bool) -> tuple[list[str], int, int]:
        scripts = [
            fast_sim.add(kind, queue=20, run=100 + 10 * i, outcome="failed" if i % 4 == 3
                         else "completed")
            for i in range(8)
        ]  # fmt: skip
        before, lists_before = requests(fast_sim), fast_sim.counters.lists[kind]
        client = client_for(fast_sim)
        async with client, Engine(client=client, policy=FAST, list_polling=list_polling) as e:
            result = await e.wait(e.watch_many(spec_of(s) for s in scripts), timeout=20)
        assert not result.pending
        by_id = {ev.spec.ids[0]: ev for ev in (*result.completed, *result.failed)}
        outcomes = [
            f"{type(by_id[s.ids[0]]).__name__} {by_id[s.ids[0]].snapshot.status}" for s in scripts
        ]
        return (outcomes, requests(fast_sim) - before,
                fast_sim.counters.lists[kind] - lists_before)  # fmt: skip

    listed, listed_requests, lists = await run(True)
    alone, alone_requests, no_lists = await run(False)
    assert listed == alone
    assert sum(o.startswith("TaskFailed") for o in listed) == 2
    assert lists > 0
    assert no_lists == 0
    assert listed_requests < alone_requests, (listed_requests, alone_requests)


async def test_list_polling_pages_by_record_offset_past_older_resources(
    fast_sim: Simulator,
) -> None:
    """60 older notebooks fill the first page (50 a page): the watched ones are found on
    the second page only if ``offset`` counts records."""
    for _ in range(60):
        fast_sim.add("notebook", queue=0, run=0)

    async def status_requests(list_polling: bool) -> int:
        scripts = [fast_sim.add("notebook", queue=20, run=150) for _ in range(8)]
        before = fast_sim.counters.requests
        client = client_for(fast_sim)
        async with client, Engine(client=client, policy=FAST, list_polling=list_polling) as e:
            result = await e.wait(e.watch_many(spec_of(s) for s in scripts), timeout=20)
        assert len(result.completed) == 8
        return fast_sim.counters.requests - before

    listed = await status_requests(True)
    alone = await status_requests(False)
    assert listed < alone / 2, (listed, alone)

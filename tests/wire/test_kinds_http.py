"""Every kind end to end: Engine and ModelArtsClient over HTTP against the simulator, which
keeps its own copy of the published status sequences, bodies and error codes."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

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
    RateLimited,
    ServerError,
    ServiceStatusValue,
    SyncTask,
    TaskCompleted,
    TaskFailed,
    TokenAuth,
    TrainingJob,
    Unauthorized,
    get_kind,
    kinds,
)
from modelarts_poller.simulator import Faults, Simulator, SimulatorConfig, spec_of

FAST = PollPolicy(
    interval=Backoff(initial=0.025, maximum=0.1), retry=Backoff(initial=0.025, maximum=0.05)
)
ALL = sorted(k.name for k in kinds() if not k.name.startswith("toy"))
# A missing resource of each kind: the status and code the simulator answers, as published.
MISSING = {
    "export": (400, "ModelArts.4359"),
    "import": (400, "ModelArts.4612"),
    "version": (400, "ModelArts.4353"),
    "dataset": (400, "ModelArts.4352"),
    "intelligent_task": (400, "ModelArts.4612"),
    "processing_task": (400, "ModelArts.4612"),
    "dataset_task": (400, "ModelArts.4612"),
    "training_job": (400, "ModelArts.2775"),
    "model": (404, "ModelArts.3001"),
    "service": (404, "ModelArts.3502"),
    "sync": (400, "ModelArts.4352"),
    "infer_service": (404, "ModelArts.3502"),
    "notebook": (400, "ModelArts.6309"),
    "dev_server": (400, "ModelArts.4338"),
    "pool": (404, "ModelArts.2890"),
    "workflow_execution": (400, "ModelArts.4338"),
}


@pytest.fixture
async def sim() -> AsyncIterator[Simulator]:
    async with Simulator(SimulatorConfig(seed=11)) as simulator:
        yield simulator


def client_for(sim: Simulator, **kw: Any) -> ModelArtsClient:
    return ModelArtsClient(
        endpoint=sim.url, project_id=sim.project_id, auth=kw.pop("auth", NoAuth()), **kw
    )


def test_every_kind_is_covered() -> None:
    assert set(MISSING) == set(ALL)


@pytest.mark.parametrize("outcome", ["completed", "failed"])
async def test_every_kind_reaches_the_outcome_the_simulator_scripted(
    sim: Simulator, outcome: str
) -> None:
    scripts = [sim.add(kind, outcome=outcome, queue=0.025, run=0.15) for kind in ALL]
    async with client_for(sim) as client, Engine(client=client, policy=FAST) as engine:
        result = await engine.wait(engine.watch_many(spec_of(s) for s in scripts), timeout=30)
    assert not result.pending
    ends = {e.spec.kind: e for e in (*result.completed, *result.failed)}
    assert set(ends) == set(ALL)
    for kind, event in ends.items():
        if outcome == "completed":
            assert isinstance(event, TaskCompleted), (kind, event)
            assert event.observation.completion == 1.0
        else:
            assert isinstance(event, TaskFailed), (kind, event)
            assert event.reason is FailureReason.REMOTE_FAILED, (kind, event)


@pytest.mark.parametrize("kind", ALL)
async def test_a_missing_task_fails_with_not_found_and_the_published_code(
    sim: Simulator, kind: str
) -> None:
    k = get_kind(kind)
    spec = k.spec(*[f"missing-{n}" for n in range(len(k.id_names))])
    if len(k.id_names) == 2:
        # The dataset exists and the task in it does not (else: 400 ModelArts.4352).
        sim.add("sync", dataset_id="missing-0", queue=0.0, run=60.0)
    async with client_for(sim) as client, Engine(client=client, policy=FAST) as engine:
        outcome = await engine.watch(spec).wait()
    assert isinstance(outcome, TaskFailed)
    assert outcome.reason is FailureReason.PERMANENT_ERROR
    error: Any = outcome.error
    assert isinstance(error, NotFound)
    assert (error.status, error.error_code) == MISSING[kind]
    assert error.error_msg  # in whichever spelling the kind's API publishes
    assert error.error_msg in str(error)
    assert error.request_id  # every answer carries an X-Request-Id


async def test_starting_a_sync_that_runs_is_a_conflict(sim: Simulator) -> None:
    sim.add("sync", dataset_id="busy", queue=0.0, run=60.0)
    async with client_for(sim) as client:
        with pytest.raises(Conflict) as info:
            await client.start_sync("busy")
    assert (info.value.status, info.value.error_code) == (400, "ModelArts.4355")


async def test_start_calls_and_lists_against_the_simulator(sim: Simulator) -> None:
    async with client_for(sim) as client:
        export = await client.create_export_task("ds-a", path="/bucket/out/", export_type=2)
        imp = await client.create_import_task("ds-a", import_path="/bucket/in/")
        version = await client.create_dataset_version("ds-a", version_name="V001")
        auto = await client.start_intelligent_task("ds-a", task_type="auto-label")
        v1 = await client.start_sync_v1("ds-a")
        for spec in (export, imp, version, auto, v1):
            assert (await client.get_task(spec)).status is not None
        exports = [t.task_id async for t in client.list_export_tasks("ds-a", page_size=1)]
        imports = [t.task_id async for t in client.list_import_tasks("ds-a")]
    assert exports == [export.task_id]
    assert imports == [imp.task_id]


async def test_bad_credentials_are_the_gateways_401(sim: Simulator) -> None:
    sim.state.config = SimulatorConfig(auth="token", tokens={"good"})
    async with client_for(sim, auth=TokenAuth("wrong")) as client:
        with pytest.raises(Unauthorized) as info:
            await client.get_task(SyncTask("ds"))
    assert info.value.status == 401
    assert info.value.error_code in ("APIGW.0301", "ModelArts.0203")


async def test_throttling_and_server_faults_speak_the_published_codes(sim: Simulator) -> None:
    sim.set_faults(Faults(rate_limited=1.0, retry_after=2.0))
    async with client_for(sim) as client:
        with pytest.raises(RateLimited) as throttled:
            await client.get_task(SyncTask("ds"))
        assert throttled.value.error_code == "APIGW.0308"
        assert throttled.value.retry_after == 2.0
        sim.set_faults(Faults(server_error=1.0))
        with pytest.raises(ServerError) as failed:
            await client.get_task(SyncTask("ds"))
    assert failed.value.error_code in ("ModelArts.0010", "ModelArts.4302")


async def test_the_token_refusals_through_the_client() -> None:
    from modelarts_poller import Forbidden

    config = SimulatorConfig(auth="token", tokens={"good"}, projects=frozenset({"sim-project"}))
    async with Simulator(config) as sim:
        sim.add("sync", dataset_id="ds")
        spec = SyncTask("ds")
        async with client_for(sim, auth=NoAuth()) as client:  # no token at all
            with pytest.raises(Unauthorized) as missing:
                await client.get_task(spec)
        async with client_for(sim, auth=TokenAuth("unknown-token")) as client:
            with pytest.raises(Unauthorized) as unknown:
                await client.get_task(spec)
        async with client_for(sim, auth=TokenAuth("good")) as client:
            with pytest.raises(Forbidden) as elsewhere:
                await client.get_task(SyncTask("ds", project_id="other-project"))
            assert (await client.get_task(spec)).status is not None
    assert (missing.value.status, missing.value.error_code) == (401, "ModelArts.0201")
    assert (unknown.value.status, unknown.value.error_code) == (401, "APIGW.0301")
    assert (elsewhere.value.status, elsewhere.value.error_code) == (403, "ModelArts.0210")
    for err in (missing.value, unknown.value, elsewhere.value):
        assert err.request_id


class _Frozen:
    """The simulator's clock, moved by hand: a task's stage without waiting for it."""

    def __init__(self) -> None:
        self.t = 0.0

    def __call__(self) -> float:
        return self.t

    def wall(self) -> float:
        return 1_700_000_000.0 + self.t


async def test_a_failed_training_job_reports_its_exit_code_and_keeps_its_description() -> None:
    clock = _Frozen()
    async with Simulator(SimulatorConfig(seed=3), clock=clock, wall=clock.wall) as sim:
        script = sim.add("training_job", outcome="failed", queue=1.0, run=5.0)
        clock.t = 60.0
        async with client_for(sim) as client:
            raw: Any = await client.request(
                "GET", TrainingJob.PATH, lambda data: data, ids={"training_job_id": script.task_id}
            )
            async with Engine(client=client, policy=FAST) as engine:
                with anyio.fail_after(10):
                    event = await engine.watch(spec_of(script)).wait()
    (task,) = raw["status"]["task_statuses"]
    assert isinstance(event, TaskFailed)
    snapshot = event.snapshot
    assert snapshot.exit_code == task["exit_code"] != 0  # a typed field, not only extra
    assert snapshot.description == raw["metadata"]["description"]
    assert event.message == f"{task['message']} (exit code {task['exit_code']})"


async def test_a_queued_service_is_waiting_a_documented_pending_value() -> None:
    clock = _Frozen()
    async with Simulator(SimulatorConfig(seed=3), clock=clock, wall=clock.wall) as sim:
        script = sim.add("service", queue=10.0, run=5.0)
        async with client_for(sim) as client:
            snapshot = await client.get_task(spec_of(script))
    assert snapshot.status == "waiting"
    assert snapshot.status_value is ServiceStatusValue.WAITING
    assert snapshot.phase is Phase.PENDING

"""The engine through the real client over HTTP to the simulator on 127.0.0.1."""

from __future__ import annotations

from typing import Any

import attrs
import pytest

from modelarts_poller import (
    AkSkAuth,
    Backoff,
    Engine,
    ExportTaskStatus,
    FailureReason,
    IamTokenAuth,
    ModelArtsClient,
    NoAuth,
    PollPolicy,
    SyncTask,
    TaskCompleted,
    TaskFailed,
    TaskProgress,
    TokenAuth,
)
from modelarts_poller.simulator import Simulator, SimulatorConfig, spec_of

# Tasks of tenths of a second, polled every 0.025 to 0.1 s: a few polls each.
FAST = PollPolicy(
    interval=Backoff(initial=0.025, maximum=0.1), retry=Backoff(initial=0.025, maximum=0.05)
)


@pytest.mark.parametrize("auth_kind", ["token", "aksk", "iam"])
async def test_mixed_tasks_end_as_the_simulator_says(auth_kind: str) -> None:
    config = SimulatorConfig(
        auth="either",
        tokens={"tok-1"},
        access_keys={"AK1": "SK1"},
        users={"alice": "pw"},
        seed=5,
    )
    async with Simulator(config) as sim:
        scripts = sim.generate(
            30, durations="uniform:0.05:0.3", queue="fixed:0", failure_rate=0.3, seed=5
        )
        auth: Any = {
            "token": lambda: TokenAuth("tok-1"),
            "aksk": lambda: AkSkAuth("AK1", "SK1"),
            "iam": lambda: IamTokenAuth(
                user_name="alice",
                password="pw",
                domain_name="d",
                project_id=sim.project_id,
                iam_endpoint=sim.url,
            ),
        }[auth_kind]()
        progress: list[TaskProgress] = []
        async with (
            ModelArtsClient(
                endpoint=sim.url, project_id=sim.project_id, auth=auth, timeout=5
            ) as client,
            Engine(client=client, policy=FAST, max_in_flight=8) as engine,
        ):
            engine.subscribe(progress.append, types=TaskProgress)
            specs = {spec_of(s): s for s in scripts}
            result = await engine.wait(engine.watch_many(specs))
    assert not result.pending
    for event in (*result.completed, *result.failed):
        script = specs[event.spec]
        if script.outcome == "completed":
            assert isinstance(event, TaskCompleted)
        else:
            assert isinstance(event, TaskFailed)
            assert event.reason is FailureReason.REMOTE_FAILED
            assert event.message
    assert len(result.completed) + len(result.failed) == 30
    exports = [p for p in progress if isinstance(p.snapshot, ExportTaskStatus)]
    assert exports
    assert all(p.snapshot.export_params is not None for p in exports)
    assert sim.counters.by_status.get(401, 0) == 0


async def test_bad_credentials_fail_every_task_permanently() -> None:
    async with Simulator(SimulatorConfig(auth="token", tokens={"good"})) as sim:
        script = sim.add("sync", queue=0, run=0.1)
        async with (
            ModelArtsClient(
                endpoint=sim.url, project_id=sim.project_id, auth=TokenAuth("bad")
            ) as client,
            Engine(client=client, policy=FAST) as engine,
        ):
            outcome = await engine.watch(SyncTask(str(script.dataset_id))).wait()
    assert isinstance(outcome, TaskFailed)
    assert outcome.reason is FailureReason.PERMANENT_ERROR
    assert "bad" not in outcome.message
    assert sim.counters.by_status[401] == 1


async def test_one_engine_watches_modelarts_tasks_and_a_custom_kind_together() -> None:
    from modelarts_poller import Observation, Phase

    @attrs.frozen
    class Countdown:
        name: str

        @property
        def kind(self) -> str:
            return "countdown"

        async def fetch(self, api: object) -> int:
            left[self.name] -= 1
            return left[self.name]

        def interpret(self, snapshot: int) -> Observation:
            phase = Phase.SUCCEEDED if snapshot <= 0 else Phase.RUNNING
            return Observation(phase, 1 - snapshot / 5, str(snapshot))

    left = {"a": 5, "b": 3}
    async with Simulator(SimulatorConfig(seed=9)) as sim:
        scripts = sim.generate(
            200, durations="uniform:0.05:0.25", queue="fixed:0", failure_rate=0.0, seed=9
        )
        async with (
            ModelArtsClient(endpoint=sim.url, project_id=sim.project_id, auth=NoAuth()) as client,
            Engine(
                client=client,
                policy=FAST,
                max_in_flight=16,
                kind_policies={
                    "countdown": PollPolicy(
                        interval=Backoff(initial=0.01, maximum=0.01, jitter="none")
                    )
                },
            ) as engine,
        ):
            handles = engine.watch_many([*map(spec_of, scripts), Countdown("a"), Countdown("b")])
            result = await engine.wait(handles)
    assert len(result.completed) == 202
    assert left == {"a": 0, "b": 0}

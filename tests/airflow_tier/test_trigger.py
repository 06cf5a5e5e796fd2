"""ModelArtsTaskTrigger: serialization, its one event against the simulator's truth,
shared engines and cancellation."""

from __future__ import annotations

import asyncio
import json
from typing import Any

import pytest

pytest.importorskip(
    "airflow",
    reason="Apache Airflow is not installed here: the Airflow tier of .ci/run (a second "
    "virtual environment with .[dev,airflow]) runs these tests",
)

from airflow.sdk._shared.module_loading import import_string
from airflow.triggers.base import TaskFailedEvent, TaskSuccessEvent, TriggerEvent

from modelarts_poller import InvalidArgumentError
from modelarts_poller._checkpoint import TaskState, decode_token, encode_token
from modelarts_poller.airflow.triggers import (
    ModelArtsTaskTrigger,
    shared_engines,
)
from modelarts_poller.simulator import Simulator, SimulatorConfig, body_at, spec_of

FAST = {"interval": 0.1, "max_interval": 0.3}


def trigger_for(sim: Simulator, script: Any, **kw: Any) -> ModelArtsTaskTrigger:
    extra = {"auth": "none", "endpoint": sim.url, "project_id": sim.project_id}
    return ModelArtsTaskTrigger(
        token=encode_token(spec_of(script), TaskState()),
        connection={"extra": extra},
        polling=FAST,
        **kw,
    )


async def events_of(trigger: ModelArtsTaskTrigger) -> list[TriggerEvent]:
    return [event async for event in trigger.run()]


def test_serialize_round_trips_through_its_classpath() -> None:
    token = encode_token(spec_of_export(), TaskState(polls=3, deadline_at=2e9, attempt=2))
    trigger = ModelArtsTaskTrigger(
        token=token,
        conn_id="modelarts_default",
        max_rate=12.5,
        polling={"interval": 2, "max_interval": 60, "max_retries": 3},
        fail_on_failure=False,
        end_from_trigger=True,
    )
    classpath, kwargs = trigger.serialize()
    json.dumps(kwargs)  # stored in the metadata database as JSON
    again = import_string(classpath)(**kwargs)
    assert type(again) is ModelArtsTaskTrigger
    assert again.serialize() == (classpath, kwargs)
    # poll count, deadline and backoff position survive re-homing
    assert decode_token(kwargs["token"])[1] == TaskState(polls=3, deadline_at=2e9, attempt=2)


def spec_of_export() -> Any:
    from modelarts_poller import ExportTask

    return ExportTask("dataset-1", "task-1")


def test_bad_arguments_are_refused_where_the_trigger_is_made() -> None:
    token = encode_token(spec_of_export(), TaskState())
    for kw, match in (
        ({"token": "garbage"}, "token"),
        ({"token": token}, "exactly one"),
        ({"token": token, "conn_id": "a", "connection": {"extra": {}}}, "exactly one"),
        ({"token": token, "connection": {"extra": {"auth": "none"}}}, "project_id"),
        ({"token": token, "conn_id": "a", "polling": {"interval": -1}}, "interval"),
        ({"token": token, "conn_id": "a", "fail_on_failure": "yes"}, "fail_on_failure"),
    ):
        with pytest.raises(InvalidArgumentError, match=match):
            ModelArtsTaskTrigger(**kw)


def test_repr_holds_no_secret() -> None:
    trigger = ModelArtsTaskTrigger(
        token=encode_token(spec_of_export(), TaskState()),
        connection={"login": "AK", "password": "very-secret-key", "extra": {
            "project_id": "p", "region": "cn-north-4"}},
    )  # fmt: skip
    assert "very-secret-key" not in repr(trigger)


@pytest.mark.parametrize("outcome", ["completed", "failed"])
async def test_run_yields_one_event_with_the_simulators_truth(outcome: str) -> None:
    async with Simulator(SimulatorConfig(seed=11)) as sim:
        script = sim.add("export", queue=0.1, run=0.5, outcome=outcome)
        events = await asyncio.wait_for(events_of(trigger_for(sim, script)), timeout=20)
        (truth,) = sim.truth()
    assert len(events) == 1
    payload = events[0].payload
    json.dumps(payload)
    assert type(events[0]) is TriggerEvent
    assert payload["status"] == outcome
    assert payload["task"]["kind"] == "export"
    assert payload["task"]["task_id"] == script.task_id
    assert truth["outcome"] == outcome
    assert payload["remote_status"] == str(body_at(script, 1e6)["status"])  # its final status
    if outcome == "failed":
        assert payload["reason"] == "remote_failed"
        assert payload["message"]


async def test_end_from_trigger_ends_the_task_with_the_payload_as_xcom() -> None:
    async with Simulator(SimulatorConfig(seed=12)) as sim:
        ok = sim.add("sync", queue=0.0, run=0.3)
        bad = sim.add("training_job", queue=0.0, run=0.3, outcome="failed")
        tolerated = sim.add("model", queue=0.0, run=0.3, outcome="failed")
        runs = [
            events_of(trigger_for(sim, ok, end_from_trigger=True)),
            events_of(trigger_for(sim, bad, end_from_trigger=True)),
            events_of(trigger_for(sim, tolerated, end_from_trigger=True, fail_on_failure=False)),
        ]
        (a,), (b,), (c,) = await asyncio.wait_for(asyncio.gather(*runs), timeout=20)
    assert type(a) is TaskSuccessEvent
    assert a.xcoms is not None
    assert a.xcoms["return_value"]["status"] == "completed"  # type: ignore[index,call-overload]
    assert type(b) is TaskFailedEvent
    assert b.xcoms is not None
    assert b.xcoms["return_value"]["status"] == "failed"  # type: ignore[index,call-overload]
    assert type(c) is TaskSuccessEvent  # a failure the operator tolerates


async def test_two_triggers_on_one_task_share_a_poller_and_cancelling_one_spares_the_other() -> (
    None
):
    async with Simulator(SimulatorConfig(seed=13)) as sim:
        script = sim.add("import", queue=0.0, run=1.2)
        other = sim.add("sync", queue=0.0, run=1.2)
        first = asyncio.create_task(events_of(trigger_for(sim, script)))
        second = asyncio.create_task(events_of(trigger_for(sim, script)))
        third = asyncio.create_task(events_of(trigger_for(sim, other)))
        await asyncio.sleep(0.4)
        assert shared_engines().engines() == 1  # one client and engine for the connection
        first.cancel()  # Airflow cancels a trigger on re-homing or clearing
        with pytest.raises(asyncio.CancelledError):
            await first
        (kept,), (unrelated,) = await asyncio.wait_for(asyncio.gather(second, third), 20)
        polled = dict(sim.counters.per_task)
        await asyncio.sleep(0)
        assert shared_engines().engines() == 0  # closed after the last trigger left
    assert kept.payload["status"] == "completed"
    assert unrelated.payload["status"] == "completed"
    # one poller for two triggers: at most one poll per 0.1-0.3 s over 1.2 s, not two
    assert max(polled.values()) <= 15


async def test_progress_goes_to_the_triggers_log() -> None:
    async with Simulator(SimulatorConfig(seed=14)) as sim:
        script = sim.add("export", queue=0.2, run=0.6)
        trigger = trigger_for(sim, script)
        lines: list[str] = []

        class Log:
            def info(self, msg: str, *args: object) -> None:
                lines.append(msg % args)

            warning = info

        trigger._log = Log()  # LoggingMixin's logger: what the triggerer routes to the task's log
        await asyncio.wait_for(events_of(trigger), timeout=20)
    assert any("watching export:" in line for line in lines)
    assert any("RUNNING" in line or "QUEUING" in line for line in lines), lines
    assert any("ended: completed" in line for line in lines)


async def test_conn_id_is_read_from_airflow(monkeypatch: pytest.MonkeyPatch) -> None:
    async with Simulator(SimulatorConfig(seed=15)) as sim:
        script = sim.add("sync", queue=0.0, run=0.3)
        conn = {"conn_type": "huaweicloud_modelarts", "extra": {
            "auth": "none", "endpoint": sim.url, "project_id": sim.project_id}}  # fmt: skip
        monkeypatch.setenv("AIRFLOW_CONN_MA_TRIGGER", json.dumps(conn))
        trigger = ModelArtsTaskTrigger(
            token=encode_token(spec_of(script), TaskState()), conn_id="ma_trigger", polling=FAST
        )
        (event,) = await asyncio.wait_for(events_of(trigger), timeout=20)
    assert event.payload["status"] == "completed"


async def test_a_rate_limiter_factory_survives_serialize_and_paces_the_triggers_engine(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    from tests import toy_limiter

    limiter = toy_limiter.CountingLimiter(40)
    monkeypatch.setattr(toy_limiter, "LIMITER", limiter)
    async with Simulator(SimulatorConfig(seed=16)) as sim:
        scripts = [sim.add("sync", queue=0.0, run=0.3) for _ in range(4)]
        triggers = []
        for script in scripts:
            made = trigger_for(sim, script, rate_limiter="tests.toy_limiter:shared")
            classpath, kwargs = made.serialize()
            json.dumps(kwargs)
            assert kwargs["rate_limiter"] == "tests.toy_limiter:shared"
            triggers.append(import_string(classpath)(**kwargs))  # as the triggerer makes it
        runs = await asyncio.wait_for(asyncio.gather(*map(events_of, triggers)), timeout=20)
        requests = sum(sim.counters.per_second_all.values())
    assert [e.payload["status"] for (e,) in runs] == ["completed"] * 4
    assert limiter.made == 1  # resolved in the triggerer, once for the shared engine
    assert limiter.grants >= requests >= 4


def test_a_bad_rate_limiter_is_refused_where_the_trigger_is_made() -> None:
    token = encode_token(spec_of_export(), TaskState())
    with pytest.raises(InvalidArgumentError, match=r"package\.module:factory"):
        ModelArtsTaskTrigger(token=token, conn_id="a", rate_limiter="no-colon")
    with pytest.raises(InvalidArgumentError, match="not both"):
        ModelArtsTaskTrigger(token=token, conn_id="a", max_rate=5, rate_limiter="a.b:c")


def test_the_default_triggerer_capacity_docs_airflow_md_quotes() -> None:
    # docs/airflow.md advises more triggerers over a far larger capacity, quoting
    # Airflow's default: a release that changes it must change that sentence.
    from airflow.configuration import conf

    assert conf.getint("triggerer", "capacity", fallback=None) == 1000


async def test_two_triggers_on_one_task_each_keep_their_own_deadline() -> None:
    # An operator's watch_timeout and a sensor without one, on the same task: the first
    # trigger's deadline ends it alone, and the second gets the task's true end.
    import time

    async with Simulator(SimulatorConfig(seed=15)) as sim:
        script = sim.add("export", queue=0.0, run=1.5)
        spec = spec_of(script)
        timed = trigger_for(sim, script)
        timed.token = encode_token(spec, TaskState(deadline_at=time.time() + 0.4))
        untimed = trigger_for(sim, script)
        runs = asyncio.gather(events_of(timed), events_of(untimed))
        (ended,), (completed,) = await asyncio.wait_for(runs, timeout=20)
    assert ended.payload["reason"] == "deadline"
    assert completed.payload["status"] == "completed"

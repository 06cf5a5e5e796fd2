"""Stopping the remote task from Airflow: the trigger's ``on_kill`` decision (a user's kill
against a triggerer's shutdown or a trigger's move), run through Airflow's own trigger
runner; ``cancel_on_timeout``; stops that fail; the options' checks and their round trip
through Airflow's trigger serialization."""

from __future__ import annotations

import asyncio
import time
from datetime import timedelta
from typing import Any

import pytest

pytest.importorskip(
    "airflow",
    reason="Apache Airflow is not installed here: the Airflow tier of .ci/run (a second "
    "virtual environment with .[dev,airflow]) runs these tests",
)

from airflow.jobs.triggerer_job_runner import _USER_ACTION_CANCEL_MSG, TriggerRunner
from airflow.models.trigger import Trigger
from airflow.sdk._shared.module_loading import import_string
from airflow.serialization.decoders import smart_decode_trigger_kwargs

from modelarts_poller import InvalidArgumentError
from modelarts_poller._checkpoint import TaskState, encode_token
from modelarts_poller.airflow import triggers
from modelarts_poller.airflow.operators import (
    ModelArtsDatasetExportOperator,
    ModelArtsStartOperator,
)
from modelarts_poller.airflow.sensors import TIMEOUT_GRACE, ModelArtsTaskSensor
from modelarts_poller.airflow.triggers import ModelArtsTaskTrigger, stop_on_kill
from modelarts_poller.simulator import Simulator, SimulatorConfig, body_at, spec_of

FAST = {"interval": 0.1, "max_interval": 0.3}


def trigger_for(sim: Simulator, script: Any, **kw: Any) -> ModelArtsTaskTrigger:
    extra = {"auth": "none", "endpoint": sim.url, "project_id": sim.project_id}
    token = kw.pop("token", None) or encode_token(spec_of(script), TaskState())
    return ModelArtsTaskTrigger(token=token, connection={"extra": extra}, polling=FAST, **kw)


def phase_now(sim: Simulator, script: Any) -> str:
    """A training job's ``status.phase`` in the simulator now."""
    phase: str = body_at(script, sim.state.clock() - script.created)["status"]["phase"]
    return phase


# -- the decision ------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("state", "stops"),
    [
        ("failed", True),  # marked failed
        (None, True),  # cleared (no state yet), or a state that could not be read
        ("scheduled", True),  # cleared, and scheduled again
        ("queued", True),
        ("up_for_retry", True),
        ("deferred", False),  # waiting again: its trigger moved, or a new try re-attached
        ("success", False),  # marked success: the work is wanted
    ],
)
def test_on_kill_stops_only_when_asked_and_the_task_instance_was_killed(
    state: str | None, stops: bool
) -> None:
    assert stop_on_kill(True, state) is stops
    assert stop_on_kill(False, state) is False


async def _watching(sim: Simulator, trigger: ModelArtsTaskTrigger, runner: TriggerRunner) -> Any:
    """``trigger`` run by Airflow's own trigger runner, once it is watching its task."""
    task = asyncio.create_task(runner.run_trigger(1, trigger))
    runner.triggers[1] = {"task": task, "name": "t", "events": 0, "is_watcher": False}
    until = time.monotonic() + 10
    while not sim.state.counters.per_task:
        assert time.monotonic() < until, "the trigger never polled"
        await asyncio.sleep(0.05)
    return task


@pytest.mark.parametrize(
    ("message", "cancel_on_kill", "stopped"),
    [
        (_USER_ACTION_CANCEL_MSG, True, True),  # a user's kill: on_kill stops it
        (_USER_ACTION_CANCEL_MSG, False, False),  # ... unless not asked to
        ("EOF - shutting down", True, False),  # the triggerer's shutdown: never
        (None, True, False),  # a bare cancellation (a restart): never
    ],
)
async def test_airflows_trigger_runner_stops_the_job_on_a_users_kill_only(
    message: str | None, cancel_on_kill: bool, stopped: bool
) -> None:
    async with Simulator(SimulatorConfig(seed=31)) as sim:
        job = sim.add("training_job", queue=0.0, run=1e6)
        trigger = trigger_for(sim, job, cancel_on_kill=cancel_on_kill)
        asked, answer = asyncio.Event(), asyncio.Event()

        async def state_read() -> None:  # as the triggerer's supervisor answers: later
            asked.set()
            await answer.wait()

        trigger._task_state = state_read  # type: ignore[method-assign]
        task = await _watching(sim, trigger, TriggerRunner())
        task.cancel(message)
        if message == _USER_ACTION_CANCEL_MSG and cancel_on_kill:
            await asyncio.wait_for(asked.wait(), timeout=10)
            # Airflow 3.3's triggerer cancels a cancelled trigger again at each sync until
            # it is gone: that must not cut on_kill's stop short.
            task.cancel(message)
            await asyncio.sleep(0.05)
        answer.set()
        with pytest.raises(asyncio.CancelledError):
            await asyncio.wait_for(task, timeout=20)
        await asyncio.wait_for(asyncio.gather(*triggers._KILLING), timeout=20)
        phase = phase_now(sim, job)
    assert (phase in ("Terminating", "Terminated")) is stopped, phase


async def test_on_kill_leaves_a_task_instance_that_is_deferred_again_running(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    async with Simulator(SimulatorConfig(seed=32)) as sim:
        job = sim.add("training_job", queue=0.0, run=1e6)
        trigger = trigger_for(sim, job, cancel_on_kill=True)

        async def deferred() -> str:
            return "deferred"

        monkeypatch.setattr(trigger, "_task_state", deferred)
        await trigger.on_kill()
        assert phase_now(sim, job) == "Running"


async def test_a_stop_that_fails_is_logged_and_on_kill_ends(
    capsys: pytest.CaptureFixture[str],
) -> None:
    async with Simulator(SimulatorConfig(seed=33)) as sim:
        export = sim.add("export", queue=0.0, run=1e6)  # exports have no stop call
        done = sim.add("training_job", queue=0.0, run=0.0)  # ended: the server refuses
        await asyncio.sleep(0.05)
        await asyncio.wait_for(trigger_for(sim, export, cancel_on_kill=True).on_kill(), 20)
        await asyncio.wait_for(trigger_for(sim, done, cancel_on_kill=True).on_kill(), 20)
        ok = await trigger_for(sim, done).stop_remote("test")
    assert not ok
    text = capsys.readouterr().out  # Airflow's structlog writes the trigger's log here
    assert "cannot stop export:" in text
    assert "no stop call" in text
    assert f"stopping training_job:{done.task_id}" in text
    assert "NotAllowedToTerminate" in text


async def test_cancel_on_timeout_stops_the_job_when_the_watch_deadline_passes() -> None:
    async with Simulator(SimulatorConfig(seed=34)) as sim:
        stopped = sim.add("training_job", queue=0.0, run=1e6)
        left = sim.add("training_job", queue=0.0, run=1e6)
        soon = TaskState(deadline_at=time.time() + 0.5)
        runs = [
            anext(
                trigger_for(
                    sim,
                    job,
                    token=encode_token(spec_of(job), soon),
                    cancel_on_timeout=cancel,
                ).run()
            )
            for job, cancel in ((stopped, True), (left, False))
        ]
        a, b = await asyncio.wait_for(asyncio.gather(*runs), timeout=20)
        assert a.payload["reason"] == b.payload["reason"] == "deadline"
        assert phase_now(sim, stopped) in ("Terminating", "Terminated")
        assert phase_now(sim, left) == "Running"


# -- the options -------------------------------------------------------------------------


def _token() -> str:
    from modelarts_poller import TrainingJob

    return encode_token(TrainingJob("job-1"), TaskState())


@pytest.mark.parametrize("option", ["cancel_on_kill", "cancel_on_timeout"])
@pytest.mark.parametrize("value", ["yes", 1, None, 0.0])
def test_a_cancel_option_that_is_not_a_bool_is_refused_where_it_is_made(
    option: str, value: object
) -> None:
    makers = [
        lambda: ModelArtsTaskTrigger(token=_token(), conn_id="c", **{option: value}),
        lambda: ModelArtsDatasetExportOperator(
            task_id="e", dataset_id="d", path="/b/", **{option: value}
        ),
        lambda: ModelArtsTaskSensor(
            task_id="s",
            kind="training_job",
            ids=["j"],
            start_from_trigger=False,
            **{option: value},
        ),
    ]
    for make in makers:
        with pytest.raises(InvalidArgumentError, match=option):
            make()


def test_the_defaults_stop_what_an_operator_started_and_not_what_a_sensor_watches() -> None:
    op = ModelArtsStartOperator(task_id="g", start="start_sync", start_kwargs={})
    sensor = ModelArtsTaskSensor(task_id="s", kind="training_job", ids=["j"])
    trigger = ModelArtsTaskTrigger(token=_token(), conn_id="c")
    assert (op.cancel_on_kill, op.cancel_on_timeout) == (True, False)
    assert (sensor.cancel_on_kill, sensor.cancel_on_timeout) == (False, False)
    assert (trigger.cancel_on_kill, trigger.cancel_on_timeout) == (False, False)


def test_a_sensor_from_the_trigger_refuses_cancel_on_timeout() -> None:
    with pytest.raises(InvalidArgumentError, match="start_from_trigger=False"):
        ModelArtsTaskSensor(task_id="s", kind="training_job", ids=["j"], cancel_on_timeout=True)
    # on a worker it can: its watch's deadline comes before Airflow's own timeout
    sensor = ModelArtsTaskSensor(
        task_id="s",
        kind="training_job",
        ids=["j"],
        start_from_trigger=False,
        cancel_on_timeout=True,
        timeout=60,
    )
    from airflow.sdk.exceptions import TaskDeferred

    with pytest.raises(TaskDeferred) as info:
        sensor.execute(context={})
    assert info.value.timeout == timedelta(seconds=60) + TIMEOUT_GRACE
    assert info.value.trigger.serialize()[1]["cancel_on_timeout"] is True
    # cancel_on_kill is kept in the trigger Airflow starts from the parsed DAG
    from_trigger = ModelArtsTaskSensor(
        task_id="t", kind="training_job", ids=["j"], cancel_on_kill=True
    )
    assert from_trigger.start_trigger_args.trigger_kwargs["cancel_on_kill"] is True


@pytest.mark.parametrize("kill", [True, False])
@pytest.mark.parametrize("timeout", [True, False])
def test_the_cancel_options_round_trip_through_airflows_trigger_row(
    kill: bool, timeout: bool
) -> None:
    trigger = ModelArtsTaskTrigger(
        token=_token(), conn_id="c", cancel_on_kill=kill, cancel_on_timeout=timeout
    )
    row = Trigger.from_object(trigger)  # encrypted as the metadata database stores it
    kwargs = {k: smart_decode_trigger_kwargs(v) for k, v in row.kwargs.items()}
    again = import_string(row.classpath)(**kwargs)
    assert (again.cancel_on_kill, again.cancel_on_timeout) == (kill, timeout)
    assert again.serialize() == trigger.serialize()

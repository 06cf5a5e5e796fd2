"""The CLI's stopping, as a subprocess against the simulator on 127.0.0.1: ``stop``, ``watch
--stop-at-deadline``, and Ctrl-C on ``watch`` with and without ``--stop-on-interrupt``.

The simulator runs on a clock of the test's own: a stopped training job stays Terminating
until the test moves that clock past the stop's delay."""

from __future__ import annotations

import json
import signal
from collections.abc import AsyncIterator
from typing import Any

import anyio
import pytest

from modelarts_poller.simulator import Simulator, SimulatorConfig
from modelarts_poller.simulator._living import action
from tests.cli_process import CLI, ENV, run


class ManualClock:
    def __init__(self) -> None:
        self.t = 0.0

    def __call__(self) -> float:
        return self.t

    def wall(self) -> float:
        return 1_700_000_000.0 + self.t


@pytest.fixture
async def env() -> AsyncIterator[tuple[Simulator, ManualClock]]:
    clock = ManualClock()
    async with Simulator(SimulatorConfig(seed=4), clock=clock, wall=clock.wall) as sim:
        yield sim, clock


def _connect(sim: Simulator) -> list[str]:
    return ["--no-auth", "--endpoint", sim.url, "--project-id", sim.project_id]


def _running_job(sim: Simulator, clock: ManualClock) -> Any:
    script = sim.add("training_job", queue=1, run=10_000)
    clock.t = max(clock.t, 10.0)  # running
    return script


async def _when_stopped_move_on(script: Any, clock: ManualClock) -> None:
    """Once the simulator took the stop call, move its clock past the stop's delay."""
    for _ in range(3000):
        if action(script) == "stop":
            clock.t += 1000
            return
        await anyio.sleep(0.02)
    raise AssertionError("the simulator never received the stop call")


async def _run(*args: str, script: Any = None, clock: Any = None) -> tuple[int, str, str]:
    result: list[Any] = []
    with anyio.fail_after(60):
        async with anyio.create_task_group() as tg:
            if script is not None:
                tg.start_soon(_when_stopped_move_on, script, clock)

            async def cli() -> None:
                result.append(await anyio.run_process([*CLI, *args], env=ENV, check=False))

            await cli()
            tg.cancel_scope.cancel()
    done = result[0]
    return done.returncode, done.stdout.decode(), done.stderr.decode()


async def test_stop_stops_a_running_job_and_exits_zero(
    env: tuple[Simulator, ManualClock],
) -> None:
    sim, clock = env
    script = _running_job(sim, clock)
    args = ["stop", "--kind", "training_job", script.ids[0], *_connect(sim), "--interval", "0.1"]
    code, out, err = await _run(*args, script=script, clock=clock)
    assert code == 0, err
    assert out.strip() == f"training_job:{script.ids[0]}: stopped (Terminated)"


async def test_stop_json_says_stopped(env: tuple[Simulator, ManualClock]) -> None:
    sim, clock = env
    script = _running_job(sim, clock)
    args = ["stop", "--kind", "training", script.ids[0], *_connect(sim), "--json"]
    code, out, _ = await _run(*args, "--interval", "0.1", script=script, clock=clock)
    assert code == 0
    line = json.loads(out)
    assert (line["event"], line["reason"]) == ("failed", "stopped")
    assert line["snapshot"]["status"] == "Terminated"


async def test_stop_of_a_completed_job_exits_one_and_says_it_completed(
    env: tuple[Simulator, ManualClock],
) -> None:
    sim, clock = env
    script = sim.add("training_job", queue=1, run=5)
    clock.t = 100
    code, out, _ = await _run("stop", "--kind", "training_job", script.ids[0], *_connect(sim))
    assert code == 1
    assert "completed before the stop" in out


def test_stop_of_a_kind_without_a_stop_call_exits_two_sending_nothing() -> None:
    out = run("stop", "--kind", "sync", "ds-1", "--no-auth", "--endpoint", "http://127.0.0.1:9")
    assert out.returncode == 2
    assert "no stop call" in out.stderr
    assert len(out.stderr.strip().splitlines()) == 1


def test_stop_at_deadline_needs_a_timeout() -> None:
    out = run("watch", "--kind", "training_job", "j", "--stop-at-deadline", "--no-auth")
    assert out.returncode == 2
    assert "--stop-at-deadline needs --timeout" in out.stderr


async def test_watch_stop_at_deadline_stops_the_job(env: tuple[Simulator, ManualClock]) -> None:
    sim, clock = env
    script = _running_job(sim, clock)
    args = ["watch", "--kind", "training_job", script.ids[0], *_connect(sim), "--json"]
    code, out, _ = await _run(*args, "--interval", "0.1", "--timeout", "0.5", "--stop-at-deadline")
    assert code == 1
    end = json.loads(out.splitlines()[-1])
    assert (end["reason"], "a stop was sent" in end["message"]) == ("deadline", True)
    assert action(script) == "stop"


async def test_watch_timeout_without_the_flag_leaves_the_job(
    env: tuple[Simulator, ManualClock],
) -> None:
    sim, clock = env
    script = _running_job(sim, clock)
    args = ["watch", "--kind", "training_job", script.ids[0], *_connect(sim), "--json"]
    code, _, _ = await _run(*args, "--interval", "0.1", "--timeout", "0.5")
    assert code == 1
    assert action(script) == "create"  # never stopped


@pytest.mark.parametrize("stop", [False, True])
async def test_ctrl_c_on_watch_stops_only_when_asked_and_says_so(
    env: tuple[Simulator, ManualClock], stop: bool
) -> None:
    sim, clock = env
    script = _running_job(sim, clock)
    args = [*CLI, "watch", "--kind", "training_job", script.ids[0], *_connect(sim), "--json"]
    args += ["--interval", "0.1", *(["--stop-on-interrupt"] if stop else [])]
    async with await anyio.open_process(args, env=ENV) as proc:
        assert proc.stdout is not None
        assert proc.stderr is not None
        with anyio.fail_after(30):
            await proc.stdout.receive()  # polled once
            proc.send_signal(signal.SIGINT)
            async with anyio.create_task_group() as tg:
                if stop:
                    tg.start_soon(_when_stopped_move_on, script, clock)
                code = await proc.wait()
                tg.cancel_scope.cancel()
            err = b""
            async for chunk in proc.stderr:
                err += chunk
    text = err.decode()
    assert code == 130
    assert "Traceback" not in text
    if stop:
        assert "stopping 1 unfinished task(s)" in text
        assert action(script) == "stop"
    else:
        assert "1 unfinished task(s) left running remotely" in text
        assert "--stop-on-interrupt" in text
        assert action(script) == "create"

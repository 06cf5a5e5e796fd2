"""The CLI end to end, as a subprocess against the simulator on 127.0.0.1."""

from __future__ import annotations

import json
import signal
from collections.abc import AsyncIterator
from pathlib import Path

import anyio
import pytest

from modelarts_poller.simulator import Simulator, SimulatorConfig
from tests.cli_process import CLI, ENV, run


@pytest.fixture
async def sim() -> AsyncIterator[Simulator]:
    async with Simulator(SimulatorConfig(seed=3)) as simulator:
        yield simulator


async def arun(*args: str, env: dict[str, str] | None = None) -> tuple[int, str, str]:
    """Run the CLI while this event loop keeps serving the simulator."""
    with anyio.fail_after(60):
        result = await anyio.run_process([*CLI, *args], env={**ENV, **(env or {})}, check=False)
    return result.returncode, result.stdout.decode(), result.stderr.decode()


def test_help_exits_zero_and_lists_the_commands() -> None:
    out = run("--help")
    assert out.returncode == 0
    for command in ("watch", "demo", "simulate"):
        assert command in out.stdout


@pytest.mark.parametrize(
    ("args", "env", "message"),
    [
        (
            ["watch", "--kind", "sync", "ds1"],
            {"MODELARTS_REGION": "cn-north-4", "MODELARTS_PROJECT_ID": "p"},
            "missing credentials",
        ),
        (["watch", "--kind", "sync", "ds1"], {"MODELARTS_TOKEN": "t"}, "missing project ID"),
        (["watch", "--kind", "job", "x"], {}, "unknown kind 'job'"),
        (["watch", "ds1"], {}, "need --kind"),
        (["watch", "--kind", "export", "ds1"], {}, "DATASET_ID/TASK_ID"),
        (["watch", "--kind", "sync", "ds1", "--max-rate", "-3"], {}, "must be a positive"),
        (
            ["watch", "--kind", "sync", "ds1", "--interval", "5", "--max-interval", "1"],
            {},
            "--max-interval",
        ),
    ],
)
def test_usage_and_configuration_errors_exit_2_with_one_line(
    args: list[str], env: dict[str, str], message: str
) -> None:
    out = run(*args, env=env)
    assert out.returncode == 2, out.stderr
    assert message in out.stderr
    assert "Traceback" not in out.stderr
    assert len(out.stderr.strip().splitlines()) == 1


def test_a_malformed_task_file_names_its_line(tmp_path: Path) -> None:
    tasks = tmp_path / "tasks.csv"
    tasks.write_text("kind,dataset_id,task_id\nsync,ds1,\nexport,ds2,\n")
    out = run(
        "watch",
        "--file",
        str(tasks),
        "--no-auth",
        "--endpoint",
        "http://127.0.0.1:9",
        "--project-id",
        "p",
    )
    assert out.returncode == 2
    assert f"{tasks}:3: an export task needs task_id" in out.stderr


def test_a_missing_task_file_is_named(tmp_path: Path) -> None:
    out = run("watch", "--file", str(tmp_path / "nope.csv"))
    assert out.returncode == 2
    assert "cannot read" in out.stderr
    assert "nope.csv" in out.stderr


def _connect(sim: Simulator) -> list[str]:
    return [
        "--endpoint",
        sim.url,
        "--project-id",
        sim.project_id,
        "--no-auth",
        "--interval",
        "0.1",
        "--max-interval",
        "0.3",
    ]


async def test_watch_json_lines_all_completed_exits_0(sim: Simulator, tmp_path: Path) -> None:
    a = sim.add("sync", queue=0, run=0.3)
    b = sim.add("export", queue=0.1, run=0.5)
    c = sim.add("dataset_task", queue=0, run=0.2)
    tasks = tmp_path / "tasks.jsonl"
    tasks.write_text(
        json.dumps({"kind": "export", "dataset_id": b.dataset_id, "task_id": b.task_id})
        + "\n"
        + json.dumps({"kind": "task", "task_id": c.task_id})
        + "\n"
    )
    code, out, err = await arun(
        "watch", "--json", "--kind", "sync", str(a.dataset_id), "--file", str(tasks), *_connect(sim)
    )
    assert code == 0, err
    events = [json.loads(line) for line in out.splitlines()]
    assert {e["v"] for e in events} == {1}
    terminal = [e for e in events if e["event"] in ("completed", "failed")]
    assert sorted(e["task"]["kind"] for e in terminal) == ["dataset_task", "export", "sync"]
    assert all(e["event"] == "completed" for e in terminal)
    for e in events:
        assert set(e) >= {"v", "event", "at", "task"}
        if e["event"] == "progress":
            assert set(e) >= {"status", "phase", "completion", "snapshot"}
    assert "completed" in err  # the summary goes to stderr with --json


async def test_watch_exits_1_when_any_task_failed(sim: Simulator) -> None:
    ok = sim.add("sync", queue=0, run=0.2)
    bad = sim.add("dataset_task", queue=0, run=0.2, outcome="failed")
    code, out, _ = await arun(
        "watch", "--json", "--kind", "sync", str(ok.dataset_id), *_connect(sim)
    )
    assert code == 0
    code, out, _ = await arun("watch", "--json", "--kind", "task", str(bad.task_id), *_connect(sim))
    assert code == 1
    failed = [json.loads(line) for line in out.splitlines() if '"failed"' in line]
    assert failed[-1]["reason"] == "remote_failed"
    assert failed[-1]["message"]


async def test_ctrl_c_prints_a_summary_and_exits_130(sim: Simulator) -> None:
    long = [sim.add("sync", queue=0, run=600) for _ in range(3)]
    args = [
        *CLI,
        "watch",
        "--json",
        "--kind",
        "sync",
        *[str(s.dataset_id) for s in long],
        *_connect(sim),
    ]
    async with await anyio.open_process(args, env=ENV) as proc:
        assert proc.stdout is not None
        assert proc.stderr is not None
        with anyio.fail_after(30):
            buffered = b""
            while buffered.count(b"\n") < 3:  # every task has been polled once
                buffered += await proc.stdout.receive()
            proc.send_signal(signal.SIGINT)
            code = await proc.wait()
            err = b""
            async for chunk in proc.stderr:
                err += chunk
    assert code == 130
    assert "interrupted" in err.decode()
    assert "Traceback" not in err.decode()


async def test_simulate_serves_until_interrupted() -> None:
    args = [*CLI, "simulate", "--port", "0", "--generate", "5"]
    async with await anyio.open_process(args, env=ENV) as proc:
        assert proc.stdout is not None
        with anyio.fail_after(30):
            url = (await proc.stdout.receive()).decode().strip()
            assert url.startswith("http://127.0.0.1:")
            proc.send_signal(signal.SIGINT)
            assert await proc.wait() == 0


def test_simulate_refuses_a_non_loopback_address() -> None:
    out = run("simulate", "--host", "0.0.0.0", "--port", "0")
    assert out.returncode == 2
    assert "loopback" in out.stderr


def test_demo_runs_to_the_end() -> None:
    out = run("demo", "--tasks", "24", "--duration", "0.5", "--json")
    assert out.returncode == 0, out.stderr
    events = [json.loads(line) for line in out.stdout.splitlines()]
    assert len([e for e in events if e["event"] in ("completed", "failed")]) == 24


async def test_watch_accepts_every_kind_of_the_registry(sim: Simulator) -> None:
    job = sim.add("training_job", queue=0.0, run=0.3)
    version = sim.add("version", queue=0.0, run=0.3, outcome="failed")
    base = ["--no-auth", "--endpoint", sim.url, "--project-id", sim.project_id, "--json"]
    code, out, _ = await arun("watch", "--kind", "training_job", job.ids[0], *base)
    assert code == 0
    assert json.loads(out.splitlines()[-1])["task"]["training_job_id"] == job.ids[0]
    code, out, _ = await arun("watch", "--kind", "version", "/".join(version.ids), *base)
    assert code == 1  # the version ended in error: a failed task
    assert json.loads(out.splitlines()[-1])["event"] == "failed"

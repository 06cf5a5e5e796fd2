"""The CLI with what real users hand it: pipes closed early, tokens read from files with
their newline, spreadsheet CSV files, malformed lines."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

import anyio
import pytest

from modelarts_poller import InvalidArgumentError
from modelarts_poller.cli._inputs import specs_from_text
from modelarts_poller.simulator import Simulator, SimulatorConfig, spec_of
from tests.cli_process import CLI, ENV, run


async def test_a_reader_closing_the_pipe_ends_the_watch_at_once_and_quietly() -> None:
    async with Simulator(SimulatorConfig(seed=4)) as sim:
        scripts = [sim.add("export", queue=0.0, run=120.0) for _ in range(20)]
        refs = [f"{s.dataset_id}/{s.task_id}" for s in scripts]
        args = ["watch", "--kind", "export", *refs, "--json", "--no-auth"]
        args += ["--endpoint", sim.url, "--project-id", sim.project_id, "--interval", "0.05"]
        # A real pipe whose read end this test closes (asyncio's pipes stay open until exit).
        pipe = subprocess.PIPE
        proc = subprocess.Popen([*CLI, *args], env=ENV, stdout=pipe, stderr=pipe)  # noqa: ASYNC220
        try:
            assert proc.stdout is not None
            first = await anyio.to_thread.run_sync(proc.stdout.readline)
            proc.stdout.close()  # what `| head -1` does after one line
            # The tasks run for two minutes: only stopping at the closed pipe ends it sooner.
            code = await anyio.to_thread.run_sync(lambda: proc.wait(timeout=30))
        finally:
            if proc.poll() is None:
                proc.kill()
                proc.wait()
            assert proc.stderr is not None
            errors = proc.stderr.read()
            proc.stderr.close()
    assert json.loads(first)["v"] == 1
    assert code == 141
    assert b"Traceback" not in errors
    assert b"BrokenPipe" not in errors


def test_a_token_with_its_newline_is_a_configuration_error() -> None:
    out = run(
        "watch",
        "--kind",
        "sync",
        "ds1",
        env={
            "MODELARTS_TOKEN": "s3cr3t-token\n",
            "MODELARTS_ENDPOINT": "http://127.0.0.1:9",
            "MODELARTS_PROJECT_ID": "p",
        },
    )
    assert out.returncode == 2
    assert "MODELARTS_TOKEN" in out.stderr
    assert "newline" in out.stderr
    assert "Traceback" not in out.stderr
    assert "s3cr3t" not in out.stderr + out.stdout


def test_a_csv_with_a_byte_order_mark_is_read(tmp_path: Path) -> None:
    text = "\ufeffkind,dataset_id,task_id\nexport,ds1,t1\nsync,ds2,\n"
    specs = specs_from_text(text, name="t.csv")
    assert [str(s) for s in specs] == ["export:ds1/t1", "sync:ds2"]
    path = tmp_path / "excel.csv"
    path.write_bytes(text.encode("utf-8"))  # the BOM as bytes, as a spreadsheet saves it
    out = run(
        "watch", "--file", str(path), "--no-auth", "--endpoint", "http://127.0.0.1:9",
        "--project-id", "p", "--timeout", "0.5",
    )  # fmt: skip
    assert "unknown CSV column" not in out.stderr


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("kind,dataset_id\nexport,ds1\n", "t.csv:2: an export task needs task_id"),
        ("kind,dataset_id,task_id\nsync,,\n", "t.csv:2: a sync task needs dataset_id"),
        ("kind,dataset_id,task_id\nexport,ds/1,t\n", "t.csv:2: dataset_id must not contain"),
    ],
)
def test_a_malformed_line_is_named_once(text: str, expected: str) -> None:
    with pytest.raises(InvalidArgumentError) as info:
        specs_from_text(text, name="t.csv")
    message = str(info.value)
    assert message.startswith(expected)
    assert message.count("t.csv:") == 1


def test_spec_of_still_maps_scripts(tmp_path: Path) -> None:
    # the pipe test builds its references from scripts; keep that mapping honest
    assert str(spec_of({"kind": "export", "dataset_id": "d", "task_id": "t"})) == "export:d/t"


def test_csv_lines_are_named_by_their_number_in_the_file() -> None:
    text = "# tasks\nkind,dataset_id,task_id\n\nsync,ds1,\n# an export\nexport,ds2,\n"
    with pytest.raises(InvalidArgumentError, match=r"^t\.csv:6: an export task needs task_id"):
        specs_from_text(text, name="t.csv")


@pytest.mark.parametrize(
    "args",
    [
        ["watch", "--kind", "sync", "ds1", "--no-auth", "--metrics-port", "99999"],
        ["watch", "--kind", "sync", "ds1", "--no-auth", "--metrics-port", "0"],
        ["simulate", "--port", "70000"],
        ["simulate", "--port", "-1"],
    ],
)
def test_a_port_out_of_range_is_a_usage_error_not_a_traceback(args: list[str]) -> None:
    out = run(*args, env={"MODELARTS_ENDPOINT": "http://127.0.0.1:9", "MODELARTS_PROJECT_ID": "p"})
    assert out.returncode == 2
    assert "port" in out.stderr
    assert "Traceback" not in out.stderr

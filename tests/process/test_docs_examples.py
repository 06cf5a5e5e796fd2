"""Every ```python block of README.md and docs/*.md runs, against the built-in simulator.

A block is a complete program: it runs in a fresh interpreter (top-level ``await`` is
allowed, for examples that show the body of an async function), with a time bound. A
block that defines ``test_*`` functions runs under pytest with ``asyncio_mode = "auto"``,
as docs/testing.md tells readers to configure it. Clients built with ``region=`` reach
the simulator instead of Huawei Cloud, and the simulator has the tasks the examples name
(see ``IDS``), its clock running ten times real time (``SPEED``). Fragments that are not
programs use ```text or ```pycon fences.
"""

from __future__ import annotations

import asyncio
import os
import re
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from modelarts_poller.simulator import Simulator, SimulatorConfig

ROOT = Path(__file__).resolve().parents[2]
PAGES = [ROOT / "README.md", *sorted((ROOT / "docs").glob("*.md"))]
FENCE = re.compile(r"^```python\n(.*?)^```", re.MULTILINE | re.DOTALL)
# The tasks the examples name, scripted in every project the examples use: quick to
# finish, so an example that waits for them ends in a second or two.
# The simulator's clock runs SPEED times real time, so a task an example starts itself
# (an export's drawn duration has a median of 15 simulated seconds) ends in a second or
# two as well; the scripted tasks' durations are given in simulated seconds (0.1 s of
# queue and 0.6 s of run in real time).
IDS = {
    "sync": [("dataset-1",), ("dataset-2",), ("dataset-3",), ("ds-1",)],
    "export": [("dataset-1", "export-task-1"), ("ds-1", "export-1")],
    "dataset_task": [("task-1",)],
}
PROJECTS = ("my-project", "sim-project")
SPEED = 10.0
TIME_LIMIT = 60

RUNNER = """
import ast, asyncio, os, sys
import modelarts_poller._client as client_module
url = os.environ["DOCS_SIM_URL"]
real = client_module._endpoint
client_module._endpoint = lambda region, endpoint: real(None, endpoint) if endpoint else url
source = open(sys.argv[1], encoding="utf-8").read()
code = compile(source, sys.argv[1], "exec", flags=ast.PyCF_ALLOW_TOP_LEVEL_AWAIT)
result = eval(code, {"__name__": "__main__"})
if asyncio.iscoroutine(result):
    asyncio.run(result)
"""


def examples() -> Iterator[object]:
    for page in PAGES:
        text = page.read_text(encoding="utf-8")
        for match in FENCE.finditer(text):
            line = text.count("\n", 0, match.start()) + 1
            yield pytest.param(match.group(1), id=f"{page.relative_to(ROOT)}:{line}")


@pytest.fixture(scope="module")
def sim_url() -> Iterator[str]:
    ready = threading.Event()
    stop: list[asyncio.Event] = []
    url: list[str] = []

    async def serve() -> None:
        # IAM's project of cn-north-4, for the examples that look it up as the SDK does.
        config = SimulatorConfig(seed=1, region_projects={"cn-north-4": "my-project"})
        started = time.monotonic()

        def clock() -> float:
            return (time.monotonic() - started) * SPEED

        async with Simulator(config, clock=clock) as sim:
            for project in PROJECTS:
                for kind, refs in IDS.items():
                    for ids in refs:
                        named = dict(zip(("dataset_id", "task_id"), ids, strict=False))
                        if kind == "dataset_task":
                            named = {"task_id": ids[0]}
                        queue, run = 0.1 * SPEED, 0.6 * SPEED
                        sim.add(kind, project_id=project, queue=queue, run=run, **named)
            stop.append(asyncio.Event())
            url.append(sim.url)
            ready.set()
            await stop[0].wait()

    loop = asyncio.new_event_loop()
    thread = threading.Thread(target=loop.run_until_complete, args=(serve(),), daemon=True)
    thread.start()
    assert ready.wait(10), "the simulator did not start"
    yield url[0]
    loop.call_soon_threadsafe(stop[0].set)
    thread.join(10)
    loop.close()


@pytest.mark.parametrize("code", list(examples()))
def test_the_example_runs(code: str, sim_url: str, tmp_path: Path) -> None:
    env = {k: v for k, v in os.environ.items() if not k.startswith("MODELARTS_")}
    # What the examples read from the environment, with harmless values.
    env.update(
        DOCS_SIM_URL=sim_url,
        HW_TOKEN="token-for-the-docs",
        HW_PASSWORD="password-for-the-docs",
        HW_AK="AKDOCS",
        HW_SK="secret-for-the-docs",
        HUAWEICLOUD_SDK_AK="AKDOCS",
        HUAWEICLOUD_SDK_SK="secret-for-the-docs",
        HUAWEICLOUD_SDK_IAM_ENDPOINT=sim_url,
    )
    if re.search(r"^(async )?def test_", code, re.MULTILINE):
        path = tmp_path / "test_example.py"
        path.write_text(code, encoding="utf-8")
        args = ["-m", "pytest", "-q", "-p", "no:cacheprovider", "-o", "asyncio_mode=auto"]
        args += ["-o", "asyncio_default_fixture_loop_scope=function", str(path)]
    else:
        path = tmp_path / "example.py"
        path.write_text(code, encoding="utf-8")
        args = ["-c", RUNNER, str(path)]
    done = subprocess.run(
        [sys.executable, *args],
        capture_output=True,
        text=True,
        timeout=TIME_LIMIT,
        env=env,
        cwd=tmp_path,
        check=False,
    )
    assert done.returncode == 0, f"the example failed:\n{done.stdout}\n{done.stderr}"

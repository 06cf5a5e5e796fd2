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

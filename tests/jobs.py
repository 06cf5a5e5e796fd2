"""A user-defined task kind for engine tests: scripted jobs on a FakeClock."""

from __future__ import annotations

from collections import defaultdict, deque
from typing import Any

import anyio
import anyio.lowlevel
import attrs

from modelarts_poller import Observation, Phase
from modelarts_poller.testing import FakeClock

PHASES = {
    "QUEUED": Phase.PENDING,
    "RUNNING": Phase.RUNNING,
    "DONE": Phase.SUCCEEDED,
    "BROKEN": Phase.FAILED,
}


@attrs.frozen
class Snap:
    status: str
    completion: float | None = None


@attrs.frozen
class Job:
    """A custom kind: ``fetch`` asks the Jobs backend, ``interpret`` is pure."""

    name: str

    @property
    def kind(self) -> str:
        return "job"

    async def fetch(self, api: Jobs) -> Snap:
        return await api.fetch(self.name)

    def interpret(self, snapshot: Snap) -> Observation:
        return Observation(
            PHASES.get(snapshot.status, Phase.UNKNOWN), snapshot.completion, snapshot.status
        )


class Jobs:
    """Backend for Job: timelines of (time, status, completion), queued faults,
    poll times, optional request latency and a concurrency gauge."""

    def __init__(self, clock: FakeClock, *, latency: float = 0.0) -> None:
        self.clock = clock
        self.latency = latency
        self.timelines: dict[str, list[tuple[float, str, float | None]]] = {}
        self.faults: dict[str, deque[BaseException]] = defaultdict(deque)
        self.polls: dict[str, list[float]] = defaultdict(list)
        self.starts: list[float] = []
        self.in_flight = 0
        self.max_in_flight = 0

    def add(self, name: str, *steps: tuple[float, str, float | None]) -> Job:
        self.timelines[name] = list(steps)
        return Job(name)

    def linear(self, name: str, duration: float, outcome: str = "DONE") -> Job:
        """RUNNING with completion rising linearly, then ``outcome`` at ``duration``."""
        steps = [(duration * i / 100, "RUNNING", i / 100) for i in range(100)]
        steps.append((duration, outcome, 1.0 if outcome == "DONE" else None))
        return self.add(name, *steps)

    async def fetch(self, name: str) -> Snap:
        now = self.clock.now()
        self.polls[name].append(now)
        self.starts.append(now)
        self.in_flight += 1
        self.max_in_flight = max(self.max_in_flight, self.in_flight)
        try:
            if self.latency:
                await self.clock.sleep_until(now + self.latency)
            else:
                await anyio.lowlevel.checkpoint()
            faults = self.faults.get(name)
            if faults:
                raise faults.popleft()
            status, completion = "QUEUED", None
            for at, s, c in self.timelines[name]:
                if at <= now:
                    status, completion = s, c
            return Snap(status, completion)
        finally:
            self.in_flight -= 1


def collect(into: list[Any]) -> Any:
    return into.append

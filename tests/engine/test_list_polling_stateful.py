"""Stateful property test of list polling: watch export tasks of a few datasets, end them
on the server, make their list call answer, fail (500, HTML, wrong types) or never end
(``total_count`` 10**9, full pages of other tasks) or spread them over pages of others,
and move virtual time, in random orders.

Whatever the list does, no watched task goes unlooked (by its own GET or by a list page)
for longer than its ``interval.maximum`` plus the time of the requests under way, and
every task ends with exactly the outcome its own GET says: a list never decides one.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from typing import Any

from hypothesis import HealthCheck, settings
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, invariant, precondition, rule

from modelarts_poller import (
    Backoff,
    Engine,
    ExportTask,
    FailureReason,
    ModelArtsClient,
    NoAuth,
    PollPolicy,
    ProtocolError,
    ServerError,
    TaskCompleted,
    TaskFailed,
    TaskHandle,
)
from modelarts_poller._parsing import ParseError
from modelarts_poller.operations.export import parse_export_task_status
from modelarts_poller.testing import FakeClock
from tests.budget import examples

MAXIMUM = 1.0
LATENCY = 0.1  # virtual seconds every request takes
# Two list pages under way (a task the list is expected to show next, but moved), then the
# own GET of a task it did not show (docs/engine.md, "What one list may cost").
SLACK = 3 * LATENCY
POLICY = PollPolicy(
    interval=Backoff(initial=0.5, maximum=MAXIMUM, jitter="none"),
    retry=Backoff(initial=0.5, maximum=MAXIMUM, jitter="none"),
    max_retries=3,
    progress_aware=False,
)
DATASETS = ("ds-a", "ds-b")
MODES = ("ok", "spread", "500", "html", "wrong_types", "endless")


class Server(ModelArtsClient):
    """The truth of every task, answered after LATENCY: own GETs always; the list as its
    dataset's mode says. No network: the two request paths the engine uses are replaced."""

    def __init__(self, clock: FakeClock) -> None:
        super().__init__(endpoint="http://127.0.0.1:9", project_id="p", auth=NoAuth())
        self.clock = clock
        self.truth: dict[str, str] = {}  # task id -> status its own GET answers
        self.modes: dict[str, str] = dict.fromkeys(DATASETS, "ok")
        self.lists = 0

    def body(self, task_id: str) -> dict[str, Any]:
        return {"task_id": task_id, "status": self.truth[task_id], "progress": 0}

    async def get_task(self, spec: Any) -> Any:
        await self.clock.sleep_until(self.clock.now() + LATENCY)
        return parse_export_task_status(self.body(spec.task_id))

    async def request(self, method: str, path: str, parse: Any, **kw: Any) -> Any:
        self.lists += 1
        await self.clock.sleep_until(self.clock.now() + LATENCY)
        dataset, page = kw["ids"]["dataset_id"], kw["query"]["offset"]
        mode = self.modes[dataset]
        if mode == "500":
            raise ServerError("HTTP 500 for GET the list", status=500)
        if mode == "html":
            raise ProtocolError("not JSON: text/html", status=200)
        if mode == "wrong_types":
            raise ParseError("total_count", "many", "an integer")
        if mode == "endless":
            others = [{"task_id": f"other-{page}-{i}", "status": "RUNNING"} for i in range(100)]
            return parse({"total_count": 10**9, "export_tasks": others})
        mine = [self.body(t) for t in self.truth if t.startswith(dataset)]
        if mode == "spread":  # the first on page 0, the rest behind two pages of others
            others = [{"task_id": f"other-{i}", "status": "SUCCESSED"} for i in range(199)]
            mine = mine[:1] + others + mine[1:]
        return parse({"total_count": len(mine), "export_tasks": mine[page * 100 :][:100]})


class ListPollingMachine(RuleBasedStateMachine):
    def __init__(self) -> None:
        super().__init__()
        self.loop = asyncio.new_event_loop()
        self.clock = FakeClock()
        self.server = Server(self.clock)
        self.commands: asyncio.Queue[tuple[Callable[[], Awaitable[None]], asyncio.Future[None]]]
        self.handles: dict[str, TaskHandle] = {}
        self.watched_at: dict[str, float] = {}
        self.names = 0

        async def drive(ready: asyncio.Future[None]) -> None:
            self.commands = asyncio.Queue()
            async with Engine(
                client=self.server, clock=self.clock, policy=POLICY, adapt_to_quota=False
            ) as engine:
                self.engine = engine
                ready.set_result(None)
                while True:
                    command, done = await self.commands.get()
                    if command is None:  # type: ignore[comparison-overlap]
                        break
                    try:
                        await command()
                    except BaseException as exc:
                        done.set_exception(exc)
                    else:
                        done.set_result(None)

        ready: asyncio.Future[None] = self.loop.create_future()
        self.driver = self.loop.create_task(drive(ready))
        self.loop.run_until_complete(ready)

    def do(self, command: Callable[[], Awaitable[None]]) -> None:
        done: asyncio.Future[None] = self.loop.create_future()
        self.commands.put_nowait((command, done))
        self.loop.run_until_complete(done)

    # -- rules --------------------------------------------------------------------------

    @rule(dataset=st.sampled_from(DATASETS), count=st.integers(1, 4))
    def watch(self, dataset: str, count: int) -> None:
        specs = []
        for _ in range(count):
            self.names += 1
            task_id = f"{dataset}-t{self.names}"
            self.server.truth[task_id] = "RUNNING"
            specs.append(ExportTask(dataset, task_id))

        async def go() -> None:
            for handle in self.engine.watch_many(specs):
                task_id = handle.spec.task_id  # type: ignore[attr-defined]
                self.handles[task_id] = handle
                self.watched_at[task_id] = self.clock.now()

        self.do(go)

    @precondition(lambda self: any(s == "RUNNING" for s in self.server.truth.values()))
    @rule(data=st.data(), outcome=st.sampled_from(["SUCCESSED", "FAILED"]))
    def end_on_the_server(self, data: st.DataObject, outcome: str) -> None:
        running = sorted(t for t, s in self.server.truth.items() if s == "RUNNING")
        self.server.truth[data.draw(st.sampled_from(running))] = outcome

    @rule(dataset=st.sampled_from(DATASETS), mode=st.sampled_from(MODES))
    def list_answers(self, dataset: str, mode: str) -> None:
        self.server.modes[dataset] = mode

    @rule(seconds=st.sampled_from([0.05, 0.3, 1.0, 2.5]))
    def advance(self, seconds: float) -> None:
        step = 0.05
        moved = 0.0
        while moved < seconds - 1e-9:
            self.do(lambda: self.clock.advance(step))
            moved += step
            self.none_goes_unlooked()

    # -- checks -------------------------------------------------------------------------

    @invariant()
    def none_goes_unlooked(self) -> None:
        now = self.clock.now()
        for task_id, handle in self.handles.items():
            if handle.done():
                continue
            seen = handle._seen_at if handle.snapshot is not None else self.watched_at[task_id]
            assert now - seen <= MAXIMUM + SLACK + 1e-6, (task_id, now, seen, self.server.modes)

    def teardown(self) -> None:
        try:
            # Every task ends on the server; within a few intervals each must have ended
            # with what its own GET says, whatever its list answers meanwhile.
            for task_id, status in self.server.truth.items():
                if status == "RUNNING":
                    self.server.truth[task_id] = "SUCCESSED"
            self.advance(3 * MAXIMUM + 1.0)
            for task_id, handle in self.handles.items():
                event = handle.outcome
                assert event is not None, (task_id, self.server.modes)
                if self.server.truth[task_id] == "SUCCESSED":
                    assert isinstance(event, TaskCompleted), event
                else:
                    assert isinstance(event, TaskFailed), event
                    assert event.reason is FailureReason.REMOTE_FAILED, event

            async def close() -> None:
                self.commands.put_nowait((None, None))  # type: ignore[arg-type]
                await self.driver

            self.loop.run_until_complete(close())
        finally:
            self.loop.close()


TestListPolling = ListPollingMachine.TestCase
TestListPolling.settings = settings(
    max_examples=examples(60),
    stateful_step_count=25,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow],
)

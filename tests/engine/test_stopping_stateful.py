"""Stateful property test of stopping: training jobs on FakeModelArts and virtual time,
with stop among the rules, beside the jobs' own ends (completed or failed), cancels,
deadlines (leaving the job or stopping it), faults of the stop call and time.

Whatever the order: each task gets exactly one terminal event, delivered once and equal to
its handle's outcome, and it is the true one: ``STOPPED`` only for a job we asked to stop
and that the fake switched to its stopped timeline; completed or failed remotely only for a
job whose stop never took effect, with the status that says so; ``CANCELLED`` only after a
cancel; ``DEADLINE`` only past the deadline, after a stop call when the policy says stop.
Every ``stop()`` returns that same event; no more stop calls go out than one per task plus
the faults injected.
"""

from __future__ import annotations

import asyncio
from collections import defaultdict
from collections.abc import Awaitable, Callable
from typing import Any

import anyio
import anyio.abc
from hypothesis import HealthCheck, settings
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, invariant, precondition, rule

from modelarts_poller import (
    Backoff,
    Engine,
    FailureReason,
    PollPolicy,
    ServerError,
    TaskCompleted,
    TaskFailed,
    TaskHandle,
    TrainingJob,
)
from modelarts_poller.testing import FakeClock, FakeModelArts
from tests.budget import examples


def job(name: str, phase: str) -> dict[str, Any]:
    return {"metadata": {"id": name}, "status": {"phase": phase}}


def policy(deadline: float | None, at_deadline: str) -> PollPolicy:
    return PollPolicy(
        interval=Backoff(initial=5.0, maximum=10.0, jitter="none"),
        retry=Backoff(initial=0.5, maximum=0.5, jitter="none"),
        progress_aware=False,
        deadline=deadline,
        at_deadline=at_deadline,  # type: ignore[arg-type]
    )


class StopMachine(RuleBasedStateMachine):
    def __init__(self) -> None:
        super().__init__()
        self.loop = asyncio.new_event_loop()
        self.clock = FakeClock()
        self.fake = FakeModelArts(self.clock)
        self.handles: list[TaskHandle] = []
        self.meta: dict[str, dict[str, Any]] = {}
        self.ends: dict[Any, list[Any]] = defaultdict(list)
        self.stop_results: dict[Any, list[Any]] = defaultdict(list)
        self.faults: dict[tuple[str, ...], int] = defaultdict(int)
        self.commands: asyncio.Queue[tuple[Any, Any]]

        async def drive(ready: asyncio.Future[None]) -> None:
            self.commands = asyncio.Queue()
            async with (
                Engine(client=self.fake, clock=self.clock, policy=policy(None, "leave")) as engine,
                anyio.create_task_group() as tg,
            ):
                self.engine, self.tg = engine, tg
                engine.subscribe(
                    lambda e: self.ends[e.spec].append(e), types=(TaskCompleted, TaskFailed)
                )
                ready.set_result(None)
                while True:
                    command, done = await self.commands.get()
                    if command is None:
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

    # -- rules ------------------------------------------------------------------------------

    @precondition(lambda self: len(self.handles) < 4)
    @rule(
        ends_at=st.none() | st.floats(0.5, 60),
        end=st.sampled_from(["Completed", "Failed"]),
        deadline=st.none() | st.floats(2, 80),
        at_deadline=st.sampled_from(["leave", "stop"]),
        stop_delay=st.floats(0, 20),
    )
    def watch(
        self,
        ends_at: float | None,
        end: str,
        deadline: float | None,
        at_deadline: str,
        stop_delay: float,
    ) -> None:
        name = f"job-{len(self.handles)}"
        timeline = [(0.0, job(name, "Running"))]
        if ends_at is not None:
            timeline.append((ends_at, job(name, end)))
        stopping = [(0.0, job(name, "Terminating")), (stop_delay, job(name, "Terminated"))]
        self.fake.add("training_job", name, timeline, stopped=stopping)

        async def go() -> None:
            spec = TrainingJob(name)
            self.handles.append(self.engine.watch(spec, policy=policy(deadline, at_deadline)))
            self.meta[name] = {
                "watched": self.clock.now(),
                "deadline": deadline,
                "at_deadline": at_deadline,
                "stop_asked": False,
                "cancel_asked": False,
            }

        self.do(go)

    @precondition(lambda self: self.handles)
    @rule(data=st.data())
    def stop(self, data: st.DataObject) -> None:
        handle = data.draw(st.sampled_from(self.handles))
        self.meta[handle.spec.training_job_id]["stop_asked"] = True

        async def stopping() -> None:
            try:
                self.stop_results[handle.spec].append(await handle.stop())
            except Exception as exc:
                self.stop_results[handle.spec].append(exc)

        async def go() -> None:
            self.tg.start_soon(stopping)

        self.do(go)

    @precondition(lambda self: self.handles)
    @rule(data=st.data())
    def cancel(self, data: st.DataObject) -> None:
        handle = data.draw(st.sampled_from(self.handles))
        self.meta[handle.spec.training_job_id]["cancel_asked"] = True

        async def go() -> None:
            handle.cancel()

        self.do(go)

    @precondition(lambda self: self.handles)
    @rule(data=st.data())
    def fail_the_next_stop(self, data: st.DataObject) -> None:
        handle = data.draw(st.sampled_from(self.handles))
        key = ("training_job", handle.spec.training_job_id)
        self.faults[key] += 1
        self.fake.fail_next_stop(key, ServerError("busy", status=503))

    @rule(seconds=st.floats(0.1, 30))
    def advance(self, seconds: float) -> None:
        async def go() -> None:
            await self.clock.advance(seconds)

        self.do(go)

    # -- what must hold ---------------------------------------------------------------------

    @invariant()
    def each_end_is_one_and_true(self) -> None:
        for handle in self.handles:
            ends = self.ends[handle.spec]
            assert len(ends) <= 1, ends
            if not handle.done():
                continue
            if ends:  # delivered (a cancel's event is sealed, delivered soon after)
                assert ends == [handle.outcome]
            self.check_true(handle, handle.outcome)
            for result in self.stop_results[handle.spec]:
                assert result is handle.outcome, result

    def check_true(self, handle: TaskHandle, event: Any) -> None:
        name = handle.spec.training_job_id
        meta = self.meta[name]
        key = ("training_job", name)
        took_effect = key in self.fake._stopping
        status = getattr(event.snapshot, "status", None)
        if isinstance(event, TaskCompleted):
            assert status == "Completed"
            assert not took_effect
            return
        reason = event.reason
        if reason is FailureReason.STOPPED:
            assert meta["stop_asked"]
            assert took_effect
            assert status == "Terminated"
        elif reason is FailureReason.REMOTE_FAILED:
            assert status == "Failed"
            assert not took_effect
        elif reason is FailureReason.CANCELLED:
            assert meta["cancel_asked"]
        elif reason is FailureReason.DEADLINE:
            assert meta["deadline"] is not None
            assert event.at >= meta["watched"] + meta["deadline"]
            if meta["at_deadline"] == "stop":
                assert self.fake.stops[key] >= 1, event
            elif not meta["stop_asked"]:
                assert self.fake.stops[key] == 0
        else:
            raise AssertionError(f"unexpected end {event}")
        assert self.fake.stops[key] <= 1 + self.faults[key]

    def teardown(self) -> None:
        try:

            async def finish() -> None:
                # Past every scripted end, deadline, stopped state and retry: what is left
                # never ends (no end, no deadline, no stop that took effect): cancelled.
                await self.clock.advance(200)
                for handle in self.handles:
                    if not handle.done():
                        self.meta[handle.spec.training_job_id]["cancel_asked"] = True
                        handle.cancel()
                await self.clock.advance(1)  # stop() callers and deliveries catch up

            self.do(finish)
            self.each_end_is_one_and_true()
            for handle in self.handles:
                assert self.ends[handle.spec] == [handle.outcome]
                if not self.meta[handle.spec.training_job_id]["stop_asked"]:
                    assert not self.stop_results[handle.spec]

            async def close() -> None:
                self.commands.put_nowait((None, None))
                await self.driver

            self.loop.run_until_complete(close())
        finally:
            self.loop.close()


TestStopping = StopMachine.TestCase
TestStopping.settings = settings(
    max_examples=examples(40),
    stateful_step_count=20,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow],
)

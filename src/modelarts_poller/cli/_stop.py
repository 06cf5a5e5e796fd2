"""Stopping remote tasks from the CLI: the ``stop`` command, and stopping what ``watch``
watches when it is interrupted with ``--stop-on-interrupt``."""

from __future__ import annotations

import json
import signal
import sys
from collections.abc import Callable, Iterable
from contextlib import AbstractAsyncContextManager
from typing import Any, TextIO

import anyio

from .._engine import Engine
from .._errors import InvalidArgumentError, PollerError
from .._events import FailureReason, TaskCompleted, TaskFailed
from .._handle import TaskHandle
from .._policy import PollPolicy
from ._jsonl import SCHEMA_VERSION, event_to_line, spec_fields
from ._watch import EXIT_FAILED, EXIT_INTERRUPTED, EXIT_OK


def stoppable(spec: Any) -> bool:
    return getattr(type(spec), "STOP", None) is not None


def check_stoppable(specs: Iterable[Any]) -> None:
    """Refuse, before anything is sent, a task whose kind has no stop call."""
    for spec in specs:
        if not stoppable(spec):
            raise InvalidArgumentError(
                f"{spec.kind} tasks have no stop call in the ModelArts API: nothing was stopped"
            )


def describe(event: TaskCompleted | TaskFailed | BaseException) -> str:
    if isinstance(event, BaseException):
        return f"not stopped: {type(event).__name__}: {event}"
    if isinstance(event, TaskCompleted):
        return "completed before the stop (not stopped)"
    if event.reason is FailureReason.STOPPED:
        status = getattr(event.snapshot, "status", None)
        return f"stopped ({status})" if status is not None else "stopped"
    return f"{event.reason.value}: {event.message}"


async def stop_all(handles: list[TaskHandle]) -> dict[TaskHandle, Any]:
    """``handle.stop()`` of each, at once; each handle's terminal event, or the error its
    stop raised (its watch is then cancelled: nobody waits for it)."""
    results: dict[TaskHandle, Any] = {}

    async def one(handle: TaskHandle) -> None:
        try:
            results[handle] = await handle.stop()
        except PollerError as exc:
            results[handle] = exc
            handle.cancel("its stop failed")

    async with anyio.create_task_group() as tg:
        for handle in handles:
            tg.start_soon(one, handle)
    return results


async def run_stop(
    specs: list[Any],
    *,
    client: Callable[[], AbstractAsyncContextManager[Any]],
    policy: PollPolicy,
    json_lines: bool,
    out: TextIO | None = None,
) -> int:
    """Stop ``specs`` and wait for their stopped states; the process exit code: 0 when
    every task stopped, 1 when any did not (it had ended, the stop was refused or failed,
    ``--timeout`` passed), 130 when interrupted (the stops already sent stand)."""
    out = out or sys.stdout
    interrupted = False
    async with client() as api, Engine(client=api, policy=policy) as engine:
        handles = engine.watch_many(specs)
        results: dict[TaskHandle, Any] = {}
        async with anyio.create_task_group() as tg:

            async def on_signal() -> None:
                nonlocal interrupted
                with anyio.open_signal_receiver(signal.SIGINT, signal.SIGTERM) as signals:
                    async for _ in signals:
                        interrupted = True
                        tg.cancel_scope.cancel()
                        return

            async def stopping() -> None:
                results.update(await stop_all(handles))
                tg.cancel_scope.cancel()

            tg.start_soon(on_signal)
            tg.start_soon(stopping)
    if interrupted:
        print(
            "modelarts-poller: interrupted; stop calls already sent stand, the rest were not sent",
            file=sys.stderr,
        )
        return EXIT_INTERRUPTED
    stopped = 0
    for handle in handles:
        result = results[handle]
        if isinstance(result, TaskFailed) and result.reason is FailureReason.STOPPED:
            stopped += 1
        if json_lines and not isinstance(result, BaseException):
            out.write(event_to_line(result) + "\n")
        elif json_lines:
            line = {
                "v": SCHEMA_VERSION,
                "event": "stop_failed",
                "task": spec_fields(handle.spec),
                "error": type(result).__name__,
                "message": str(result),
            }
            out.write(json.dumps(line, separators=(",", ":"), default=str) + "\n")
        else:
            out.write(f"{handle.spec}: {describe(result)}\n")
    out.flush()
    return EXIT_OK if stopped == len(handles) else EXIT_FAILED


def interrupt_notice(handles: list[TaskHandle], stop: bool) -> str:
    """What ``watch`` says on stderr when interrupted: what happens to remote work."""
    left = [h for h in handles if not h.done()]
    if not left:
        return "modelarts-poller: interrupted"
    if not stop:
        return (
            f"modelarts-poller: interrupted; {len(left)} unfinished task(s) left running "
            "remotely (watch --stop-on-interrupt stops them)"
        )
    can = sum(1 for h in left if stoppable(h.spec))
    notice = f"modelarts-poller: interrupted; stopping {can} unfinished task(s)"
    if can < len(left):
        notice += f", {len(left) - can} left running (their kind has no stop call)"
    return notice + " (Ctrl-C again to stop waiting)"


async def stop_on_interrupt(handles: list[TaskHandle]) -> dict[TaskHandle, Any]:
    """Stop the unfinished stoppable tasks of an interrupted watch, until they stopped or
    a second interrupt."""
    left = [h for h in handles if not h.done() and stoppable(h.spec)]
    results: dict[TaskHandle, Any] = {}
    async with anyio.create_task_group() as tg:

        async def again() -> None:
            with anyio.open_signal_receiver(signal.SIGINT, signal.SIGTERM) as signals:
                async for _ in signals:
                    tg.cancel_scope.cancel()
                    return

        async def stopping() -> None:
            results.update(await stop_all(left))
            tg.cancel_scope.cancel()

        tg.start_soon(again)
        tg.start_soon(stopping)
    return results

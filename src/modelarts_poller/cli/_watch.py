"""Running a watch for the CLI: the engine, the display or JSON Lines, signals, exit codes."""

from __future__ import annotations

import contextlib
import os
import signal
import sys
from collections.abc import AsyncIterator, Callable
from contextlib import AbstractAsyncContextManager
from typing import Any, TextIO

import anyio

from .._engine import Engine
from .._errors import InvalidArgumentError
from .._events import TaskEvent
from .._policy import PollPolicy
from ._display import LiveDisplay, make_console, summary_table
from ._jsonl import event_to_line

EXIT_OK = 0
EXIT_FAILED = 1
EXIT_USAGE = 2
EXIT_INTERRUPTED = 130
EXIT_PIPE_CLOSED = 141  # 128 + SIGPIPE, what a shell reports for a writer whose reader left


async def run_watch(
    specs: list[Any],
    *,
    client: Callable[[], AbstractAsyncContextManager[Any]],
    policy: PollPolicy,
    max_in_flight: int,
    max_rate: float | None,
    json_lines: bool,
    max_bars: int,
    out: TextIO | None = None,
    refresh: float = 0.25,
    metrics_port: int | None = None,
    rate_limiter: Callable[[], Any] | None = None,
    stop_on_interrupt: bool = False,
) -> int:
    """Watch ``specs`` to the end; returns the process exit code. Interrupted, it leaves
    the remote tasks running, or with ``stop_on_interrupt`` stops them first; either way
    it says so on stderr."""
    out = out or sys.stdout
    display = LiveDisplay(specs, max_bars=max_bars)
    console = make_console(stderr=json_lines)
    interrupted = False
    pipe_closed = False
    stop: list[Callable[[], None]] = []

    def write_line(event: TaskEvent) -> None:
        # Flushed per line: a reader that leaves (`| head -1`) is noticed at once, and the
        # watch then ends quietly, as Unix tools do, instead of polling on for nobody.
        nonlocal pipe_closed
        if pipe_closed:
            return
        try:
            out.write(event_to_line(event) + "\n")
            out.flush()
        except BrokenPipeError:
            pipe_closed = True
            _silence(out)
            for fn in stop:
                fn()

    # Made in the loop that uses it (a store connection belongs to one loop); closed after.
    shared = None if rate_limiter is None else rate_limiter()
    async with (
        _closing(shared),
        client() as api,
        Engine(
            client=api,
            policy=policy,
            max_in_flight=max_in_flight,
            max_rate=max_rate,
            rate_limiter=shared,
        ) as engine,
    ):
        if metrics_port is not None:
            _serve_metrics(engine, metrics_port)
        engine.subscribe(display.on_event)
        if json_lines:
            engine.subscribe(write_line)
        handles = engine.watch_many(specs)
        async with anyio.create_task_group() as tg:
            stop.append(tg.cancel_scope.cancel)

            async def on_signal() -> None:
                nonlocal interrupted
                with anyio.open_signal_receiver(signal.SIGINT, signal.SIGTERM) as signals:
                    async for _ in signals:
                        interrupted = True
                        tg.cancel_scope.cancel()
                        return

            async def live() -> None:
                from rich.live import Live

                with Live(
                    display.render(), console=console, auto_refresh=False, transient=False
                ) as screen:
                    try:
                        while True:
                            await anyio.sleep(refresh)
                            screen.update(display.render(), refresh=True)
                    finally:
                        screen.update(display.render(), refresh=True)

            tg.start_soon(on_signal)
            if not json_lines and console.is_terminal:
                tg.start_soon(live)
            await engine.wait(handles)
            tg.cancel_scope.cancel()
        if interrupted:
            from ._stop import interrupt_notice
            from ._stop import stop_on_interrupt as stop_remote

            print(interrupt_notice(handles, stop_on_interrupt), file=sys.stderr, flush=True)
            if stop_on_interrupt:
                await stop_remote(handles)
        # Leaving the engine cancels what is left (after Ctrl-C): each gets its event.
    if pipe_closed:
        return EXIT_PIPE_CLOSED
    if json_lines:
        out.flush()
    console.print(summary_table(display, interrupted=interrupted))
    if interrupted:
        return EXIT_INTERRUPTED
    return EXIT_FAILED if display.tally["failed"] else EXIT_OK


def _silence(out: TextIO) -> None:
    """Point a stream whose reader is gone at /dev/null, so that nothing written later
    and no flush at exit raises again."""
    try:
        fd = out.fileno()
    except (OSError, ValueError):  # not a real file (tests pass a StringIO)
        return
    devnull = os.open(os.devnull, os.O_WRONLY)
    try:
        os.dup2(devnull, fd)
    finally:
        os.close(devnull)


def _serve_metrics(engine: Engine, port: int) -> None:
    try:
        from ..prometheus import serve
    except ImportError as exc:
        raise InvalidArgumentError(
            "--metrics-port needs prometheus_client: pip install 'modelarts-poller[prometheus]'"
        ) from exc
    try:
        serve(engine, port)
    except OSError as exc:
        raise InvalidArgumentError(f"--metrics-port {port}: {exc.strerror or exc}") from None


@contextlib.asynccontextmanager
async def _closing(limiter: Any) -> AsyncIterator[None]:
    try:
        yield
    finally:
        aclose = getattr(limiter, "aclose", None)
        if aclose is not None:
            await aclose()

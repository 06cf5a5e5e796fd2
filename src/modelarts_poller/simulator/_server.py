"""Running the simulator: in-process as an async context manager, or as a server."""

from __future__ import annotations

import ipaddress
import socket
import time
from collections.abc import Awaitable, Callable, Iterable, Sequence
from types import TracebackType
from typing import Any

import anyio
from aiohttp import web

from .._errors import InvalidArgumentError
from ._app import SimState, make_app
from ._config import Faults, SimulatorConfig
from ._lifecycle import DEFAULT_KINDS, Script


def check_host(host: str, allow_remote: bool) -> None:
    if allow_remote:
        return
    try:
        loopback = ipaddress.ip_address(host).is_loopback
    except ValueError:
        loopback = host == "localhost"
    if not loopback:
        raise InvalidArgumentError(
            f"the simulator binds loopback only; {host!r} needs allow_remote=True"
        )


class Simulator:
    """A ModelArts simulator on ``127.0.0.1`` (a free port unless ``port`` is given).

    ``async with Simulator() as sim:`` then point a client at ``sim.url`` with
    ``project_id=sim.project_id``. Create tasks with :meth:`add` or :meth:`generate`,
    read what the client did with :attr:`counters` and what really happened with
    :meth:`truth`. ``clock`` and ``wall`` (seconds) drive the task lifecycles.
    """

    def __init__(
        self,
        config: SimulatorConfig | None = None,
        *,
        host: str = "127.0.0.1",
        port: int = 0,
        project_id: str = "sim-project",
        allow_remote: bool = False,
        clock: Callable[[], float] = time.monotonic,
        wall: Callable[[], float] = time.time,
    ) -> None:
        check_host(host, allow_remote)
        self.config = config or SimulatorConfig()
        self.host = host
        self.port = port
        self.project_id = project_id
        self.state = SimState(self.config, clock=clock, wall=wall)
        self._runner: web.AppRunner | None = None
        self._sock: socket.socket | None = None

    @property
    def url(self) -> str:
        return f"http://{self.host}:{self.port}"

    @property
    def counters(self) -> Any:
        return self.state.counters

    async def __aenter__(self) -> Simulator:
        runner = web.AppRunner(
            make_app(self.state),
            access_log=None,
            handle_signals=False,
            shutdown_timeout=0.5,
            # A request the client gave up on (a stall past its timeout) must stop
            # counting as in flight when the connection closes, not when the stall ends.
            handler_cancellation=True,
        )
        await runner.setup()
        sock = socket.socket(socket.AF_INET6 if ":" in self.host else socket.AF_INET)
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self._sock = sock  # SockSite does not close a socket it was given
        self._runner = runner
        sock.bind((self.host, self.port))
        self.port = sock.getsockname()[1]
        site = web.SockSite(runner, sock)
        await site.start()
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self.aclose()

    async def aclose(self) -> None:
        self.state.closing.set()  # ends every stalled answer at once
        runner, self._runner = self._runner, None
        sock, self._sock = self._sock, None
        try:
            if runner is not None:
                await runner.cleanup()
        finally:
            if sock is not None:
                sock.close()

    def add(
        self,
        kind: str,
        *,
        dataset_id: str | None = None,
        task_id: str | None = None,
        ids: Sequence[str] | None = None,
        queue: float = 1.0,
        run: float = 10.0,
        outcome: str = "completed",
        total: int = 1000,
        project_id: str | None = None,
        **own_id: str,
    ) -> Script:
        """One task of any kind: IDs (``dataset_id``, ``task_id`` or the kind's own ID
        keyword such as ``version_id``, ``training_job_id``, ``model_id``, ``service_id``;
        or ``ids`` in path order; generated when not given), ``queue`` and ``run``
        (seconds), ``outcome`` ('completed' or 'failed'), ``total`` samples."""
        return self.state.add(
            kind,
            project_id=project_id or self.project_id,
            dataset_id=dataset_id,
            task_id=task_id,
            ids=ids,
            queue=queue,
            run=run,
            outcome=outcome,
            total=total,
            own_ids=own_id,
        )

    def generate(
        self, count: int, *, kinds: Iterable[str] = DEFAULT_KINDS, **kw: Any
    ) -> list[Script]:
        """``count`` tasks round-robin over ``kinds`` (default: sync, export and
        dataset_task) with drawn durations and failures."""
        kw.setdefault("project_id", self.project_id)
        return self.state.generate(count, kinds=kinds, **kw)

    def set_faults(self, faults: Faults) -> None:
        self.state.faults = faults

    def truth(self) -> list[dict[str, Any]]:
        return self.state.truth()

    def __repr__(self) -> str:
        return f"<Simulator {self.url} tasks={len(self.state.tasks)}>"


async def serve(
    config: SimulatorConfig,
    *,
    host: str = "127.0.0.1",
    port: int = 8080,
    project_id: str = "sim-project",
    allow_remote: bool = False,
    generate: int = 0,
    durations: str = "lognormal:10:0.6",
    kinds: Iterable[str] = DEFAULT_KINDS,
    ready: Callable[[Simulator], Awaitable[None] | None] | None = None,
) -> None:
    """Serve until cancelled (Ctrl-C in the CLI)."""
    async with Simulator(
        config, host=host, port=port, project_id=project_id, allow_remote=allow_remote
    ) as sim:
        if generate:
            sim.generate(generate, durations=durations, kinds=kinds)
        if ready is not None:
            result = ready(sim)
            if result is not None:
                await result
        await anyio.sleep_forever()

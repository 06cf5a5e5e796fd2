"""The Airflow tier: run by `.ci/run` in a second virtual environment that has
`.[dev,airflow]`; in the default one (no Airflow) every test here skips.

Airflow reads its configuration when first imported, so its home (a fresh directory with
a SQLite metadata database) and settings are put in the environment here, before any test
module imports it.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import importlib.util
import os
import shutil
import tempfile
import threading
from collections.abc import Callable, Iterator
from typing import Any, TypeVar

import pytest

from modelarts_poller.simulator import Simulator, SimulatorConfig

SKIP_REASON = (
    "Apache Airflow is not installed: the Airflow tier (.ci/run's second virtual "
    "environment, with .[dev,airflow]) runs these tests"
)

_HOME: str | None = None
if importlib.util.find_spec("airflow") is not None:
    _HOME = tempfile.mkdtemp(prefix="modelarts-poller-airflow-")
    os.environ["AIRFLOW_HOME"] = _HOME
    os.environ["AIRFLOW__CORE__LOAD_EXAMPLES"] = "False"
    os.environ["AIRFLOW__CORE__DAGS_FOLDER"] = os.path.join(_HOME, "dags")
    os.environ["AIRFLOW__DATABASE__SQL_ALCHEMY_CONN"] = f"sqlite:///{_HOME}/airflow.db"
    os.environ["AIRFLOW__LOGGING__LOGGING_LEVEL"] = "WARNING"


def pytest_sessionfinish(session: pytest.Session) -> None:
    if _HOME is not None:
        shutil.rmtree(_HOME, ignore_errors=True)


T = TypeVar("T")


class SimThread:
    """The simulator on 127.0.0.1 in a thread of its own, for code that is synchronous
    (an operator's ``execute``, ``dag.test()``) and runs its own event loops."""

    def __init__(self, sim: Simulator, loop: asyncio.AbstractEventLoop) -> None:
        self.sim = sim
        self.loop = loop
        self.url = sim.url
        self.project_id = sim.project_id

    def call(self, fn: Callable[[], T]) -> T:
        """Run ``fn`` in the simulator's loop (its state is not thread-safe)."""
        future: concurrent.futures.Future[T] = concurrent.futures.Future()

        def run() -> None:
            try:
                future.set_result(fn())
            except BaseException as exc:
                future.set_exception(exc)

        self.loop.call_soon_threadsafe(run)
        return future.result(timeout=10)

    def add(self, kind: str, **kw: Any) -> Any:
        return self.call(lambda: self.sim.add(kind, **kw))

    def extra(self) -> dict[str, str]:
        return {"auth": "none", "endpoint": self.url, "project_id": self.project_id}


@pytest.fixture
def sim_thread(monkeypatch: pytest.MonkeyPatch) -> Iterator[SimThread]:
    # Tasks the start calls create run about a second, not the realistic 10-30 s.
    from modelarts_poller.simulator import _starts

    for kind in list(_starts._RUN):
        monkeypatch.setitem(_starts._RUN, kind, "fixed:0.8")
    ready = threading.Event()
    holder: list[Any] = []

    async def serve() -> None:
        async with Simulator(SimulatorConfig(seed=7, version_interval=0)) as sim:
            stop = asyncio.Event()
            holder.extend([sim, asyncio.get_running_loop(), stop])
            ready.set()
            await stop.wait()

    thread = threading.Thread(target=asyncio.run, args=(serve(),), daemon=True)
    thread.start()
    assert ready.wait(10), "the simulator did not start"
    sim, loop, stop = holder
    yield SimThread(sim, loop)
    loop.call_soon_threadsafe(stop.set)
    thread.join(10)


# Warnings are errors in this project; these come from Airflow's own dependencies when
# dag.test() starts its in-process API server, not from this library.
THIRD_PARTY_WARNINGS = ("ignore:Using `httpx` with `starlette.testclient` is deprecated",)


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    here = os.path.dirname(__file__)
    for item in items:
        if str(item.path).startswith(here):
            for spec in THIRD_PARTY_WARNINGS:
                item.add_marker(pytest.mark.filterwarnings(spec))

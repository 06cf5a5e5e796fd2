"""A real Airflow deployment for the Airflow tier: a SQLite metadata database in a fresh
``AIRFLOW_HOME``, the LocalExecutor, and the API server, scheduler, DAG processor and
triggerer each as a process of its own, on 127.0.0.1 ports that were free.

``dag.test()`` runs every trigger in line, each in an event loop of its own; only a real
triggerer runs many triggers in one loop (sharing one engine per connection) and writes
each trigger's log lines to its task's log. Every wait here is bounded, and ``stop()`` (the
context manager's exit) ends every process this started, and their children, whatever
happened.
"""

from __future__ import annotations

import base64
import contextlib
import json
import os
import secrets
import signal
import socket
import sqlite3
import subprocess
import sys
import time
import urllib.request
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from types import TracebackType
from typing import Any, TypeVar

COMPONENTS = ("api-server", "scheduler", "dag-processor", "triggerer")
_LOCAL = urllib.request.build_opener(urllib.request.ProxyHandler({}))  # 127.0.0.1: no proxy
T = TypeVar("T")


def free_port() -> int:
    """A port on 127.0.0.1 that was free a moment ago."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


class Deployment:
    """Airflow's processes on one metadata database in ``home``.

    ``budget`` (seconds) bounds the whole: every wait and command ends within it.
    ``env`` adds to the processes' environment (an ``AIRFLOW_CONN_...`` connection, the
    test's own settings); the ``AIRFLOW*`` variables of this process are not passed on.
    """

    def __init__(
        self,
        home: Path,
        *,
        env: Mapping[str, str] | None = None,
        components: Sequence[str] = COMPONENTS,
        budget: float = 420,
    ) -> None:
        self.home = home
        # Every wait and command of this deployment ends within ``budget`` seconds of now.
        self.until = time.monotonic() + budget
        self.dags = home / "dags"
        self.logs = home / "logs"
        self.database = home / "airflow.db"
        self.components = tuple(components)
        self.api_port = free_port()
        self.api_url = f"http://127.0.0.1:{self.api_port}"
        base = {k: v for k, v in os.environ.items() if not k.startswith("AIRFLOW")}
        self.env: dict[str, str] = {
            **base,
            "AIRFLOW_HOME": str(home),
            "NO_PROXY": "127.0.0.1,localhost",
            "no_proxy": "127.0.0.1,localhost",
            "AIRFLOW__CORE__DAGS_FOLDER": str(self.dags),
            "AIRFLOW__CORE__LOAD_EXAMPLES": "False",
            "AIRFLOW__CORE__EXECUTOR": "LocalExecutor",
            "AIRFLOW__CORE__PARALLELISM": "4",
            "AIRFLOW__CORE__DAGS_ARE_PAUSED_AT_CREATION": "False",
            "AIRFLOW__CORE__FERNET_KEY": base64.urlsafe_b64encode(os.urandom(32)).decode(),
            "AIRFLOW__CORE__EXECUTION_API_SERVER_URL": f"{self.api_url}/execution/",
            "AIRFLOW__CORE__SIMPLE_AUTH_MANAGER_ALL_ADMINS": "True",
            "AIRFLOW__DATABASE__SQL_ALCHEMY_CONN": f"sqlite:///{self.database}",
            "AIRFLOW__LOGGING__BASE_LOG_FOLDER": str(self.logs),
            "AIRFLOW__LOGGING__LOGGING_LEVEL": "INFO",
            "AIRFLOW__API__HOST": "127.0.0.1",
            "AIRFLOW__API__PORT": str(self.api_port),
            "AIRFLOW__API__WORKERS": "1",
            "AIRFLOW__API__SECRET_KEY": secrets.token_hex(16),
            "AIRFLOW__API_AUTH__JWT_SECRET": secrets.token_hex(32),
            "AIRFLOW__DAG_PROCESSOR__REFRESH_INTERVAL": "2",
            "AIRFLOW__DAG_PROCESSOR__MIN_FILE_PROCESS_INTERVAL": "5",
            "AIRFLOW__DAG_PROCESSOR__PARSING_PROCESSES": "1",
            "AIRFLOW__SCHEDULER__SCHEDULER_HEARTBEAT_SEC": "1",
            "AIRFLOW__TRIGGERER__JOB_HEARTBEAT_SEC": "1",
            **(env or {}),
        }
        self.processes: dict[str, subprocess.Popen[bytes]] = {}
        self._token: str | None = None
        self.commands: dict[str, list[str]] = {}

    # -- lifecycle ---------------------------------------------------------------------

    def __enter__(self) -> Deployment:
        try:
            self.start()
        except BaseException:
            self.stop()
            raise
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()

    def start(self, *, timeout: float = 180) -> None:
        """Migrate the database, start the components, wait until the API server answers."""
        self.dags.mkdir(parents=True, exist_ok=True)
        self.logs.mkdir(parents=True, exist_ok=True)
        self.airflow("db", "migrate", timeout=timeout)
        self.commands = commands = {
            "api-server": ["api-server", "--host", "127.0.0.1", "--port", str(self.api_port)],
            "scheduler": ["scheduler", "--skip-serve-logs"],
            "dag-processor": ["dag-processor"],
            "triggerer": ["triggerer", "--skip-serve-logs"],
        }
        for name in self.components:
            self.spawn(name, commands[name])
        if "api-server" in self.components:
            self.wait_for(self._api_healthy, timeout=timeout, what="the API server to answer")

    def spawn(self, name: str, args: Sequence[str]) -> subprocess.Popen[bytes]:
        """Start ``airflow *args`` as the component ``name``, its output in ``name.out``,
        in a process group of its own (its workers and subprocesses stop with it)."""
        out = (self.home / f"{name}.out").open("ab")  # a restarted one's output follows
        try:
            process = subprocess.Popen(
                [sys.executable, "-m", "airflow", *args],
                env=self.env,
                cwd=self.home,
                stdin=subprocess.DEVNULL,
                stdout=out,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )
        finally:
            out.close()
        self.processes[name] = process
        return process

    def stop(
        self, name: str | None = None, *, sig: int = signal.SIGTERM, grace: float = 20
    ) -> None:
        """End component ``name`` (every one if ``None``) with ``sig``, and its process
        group with SIGKILL if it is still there after ``grace`` seconds."""
        names = list(self.processes) if name is None else [name]
        for each in names:
            self._signal(self.processes[each], sig)
        until = time.monotonic() + grace
        for each in names:
            process = self.processes[each]
            with contextlib.suppress(subprocess.TimeoutExpired):
                process.wait(max(0.1, until - time.monotonic()))
            self._signal(process, signal.SIGKILL)  # what is left of its group
            process.wait(10)
            del self.processes[each]

    def restart(self, name: str, *, sig: int = signal.SIGTERM) -> None:
        """End component ``name`` with ``sig`` (see :meth:`stop`) and start a new one."""
        self.stop(name, sig=sig)
        self.spawn(name, self.commands[name])

    @staticmethod
    def _signal(process: subprocess.Popen[bytes], sig: int) -> None:
        with contextlib.suppress(ProcessLookupError):  # the whole group has ended
            os.killpg(process.pid, sig)  # the group start_new_session made: pgid == pid

    # -- using it ----------------------------------------------------------------------

    def airflow(self, *args: str, timeout: float = 120) -> str:
        """Run ``airflow *args`` against this deployment; its output, or an error with it."""
        done = subprocess.run(
            [sys.executable, "-m", "airflow", *args],
            env=self.env,
            cwd=self.home,
            capture_output=True,
            text=True,
            timeout=self._bounded(timeout),
            check=False,
        )
        if done.returncode != 0:
            raise RuntimeError(
                f"airflow {' '.join(args)} exited {done.returncode}:\n"
                f"{done.stdout[-2000:]}\n{done.stderr[-4000:]}"
            )
        return done.stdout

    def _bounded(self, timeout: float) -> float:
        left = self.until - time.monotonic()
        if left <= 0:
            raise TimeoutError(f"the deployment's time is up\n{self.report()}")
        return min(timeout, left)

    def write_dag(self, name: str, source: str) -> Path:
        path = self.dags / f"{name}.py"
        path.write_text(source, encoding="utf-8")
        return path

    def query(self, sql: str, *params: Any) -> list[tuple[Any, ...]]:
        """Rows of a read-only query of the metadata database (retried while it is locked)."""
        for _ in range(50):
            try:
                with sqlite3.connect(f"file:{self.database}?mode=ro", uri=True, timeout=5) as db:
                    return db.execute(sql, params).fetchall()
            except sqlite3.OperationalError as exc:
                if "locked" not in str(exc) and "no such table" not in str(exc):
                    raise
                time.sleep(0.2)
        raise TimeoutError(f"the metadata database stayed locked for {sql!r}")

    def wait_for(
        self, check: Callable[[], T | None], *, timeout: float, what: str, every: float = 0.5
    ) -> T:
        """``check()``'s first result that is not ``None`` or false, within ``timeout``
        seconds; else an error with what each component printed last."""
        timeout = self._bounded(timeout)
        until = time.monotonic() + timeout
        while True:
            self._check_alive()
            result = check()
            if result:
                return result
            if time.monotonic() > until:
                raise TimeoutError(f"waited {timeout:.0f} s for {what}\n{self.report()}")
            time.sleep(every)

    def wait_for_dag(self, dag_id: str, *, timeout: float = 120) -> None:
        """Until the DAG processor has parsed ``dag_id`` into the database."""
        self.wait_for(
            lambda: self.query("SELECT 1 FROM serialized_dag WHERE dag_id = ?", dag_id),
            timeout=timeout,
            what=f"DAG {dag_id} to be parsed",
        )

    def trigger(self, dag_id: str, run_id: str) -> str:
        self.airflow("dags", "trigger", dag_id, "--run-id", run_id)
        return run_id

    def api(self, method: str, path: str, body: Any = None) -> Any:
        """One call of the API server's REST API (``/api/v2...``) as an admin (the
        deployment's simple auth manager makes everyone one); its JSON answer."""
        if self._token is None:
            with _LOCAL.open(f"{self.api_url}/auth/token", timeout=10) as answer:
                self._token = json.load(answer)["access_token"]
        request = urllib.request.Request(
            f"{self.api_url}{path}",
            method=method,
            data=None if body is None else json.dumps(body).encode(),
            headers={"Authorization": f"Bearer {self._token}", "Content-Type": "application/json"},
        )
        with _LOCAL.open(request, timeout=self._bounded(30)) as answer:
            return json.loads(answer.read() or b"null")

    def mark(self, dag_id: str, run_id: str, task_id: str, state: str) -> None:
        """Set a task instance's state as a user does in the UI (mark failed, success)."""
        self.api(
            "PATCH",
            f"/api/v2/dags/{dag_id}/dagRuns/{run_id}/taskInstances/{task_id}",
            {"new_state": state},
        )

    def task_states(self, dag_id: str, run_id: str) -> dict[str, str | None]:
        rows = self.query(
            "SELECT task_id, state FROM task_instance WHERE dag_id = ? AND run_id = ?",
            dag_id,
            run_id,
        )
        return dict(rows)

    def wait_for_run(self, dag_id: str, run_id: str, *, timeout: float) -> dict[str, str | None]:
        """The states of the run's tasks once the run has ended."""

        def ended() -> bool:
            rows = self.query(
                "SELECT state FROM dag_run WHERE dag_id = ? AND run_id = ?", dag_id, run_id
            )
            return bool(rows) and rows[0][0] in ("success", "failed")

        self.wait_for(ended, timeout=timeout, what=f"run {run_id} of {dag_id} to end")
        return self.task_states(dag_id, run_id)

    def task_logs(self, dag_id: str, run_id: str, task_id: str) -> dict[str, str]:
        """Every log file of one task of one run (its attempts' and its triggers'), by name."""
        folder = self.logs / f"dag_id={dag_id}" / f"run_id={run_id}" / f"task_id={task_id}"
        return {
            path.name: path.read_text(encoding="utf-8", errors="replace")
            for path in sorted(folder.rglob("*.log"))
        }

    def output(self, name: str, *, tail: int = 3000) -> str:
        path = self.home / f"{name}.out"
        text = path.read_text(encoding="utf-8", errors="replace") if path.exists() else ""
        return text[-tail:]

    def report(self) -> str:
        return "\n".join(f"--- {name}:\n{self.output(name)}" for name in self.components)

    def _check_alive(self) -> None:
        for name, process in self.processes.items():
            if process.poll() is not None:
                raise RuntimeError(
                    f"the {name} exited ({process.returncode}):\n{self.output(name)}"
                )

    def _api_healthy(self) -> bool:
        try:
            with _LOCAL.open(f"{self.api_url}/api/v2/monitor/health", timeout=2):
                return True
        except OSError:
            return False

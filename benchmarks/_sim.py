"""The ModelArts simulator in its own process, so it never shares a CPU with the client.

``with SimProcess() as sim:`` starts ``python _sim.py --serve`` on a free loopback port
and stops it on exit (terminate, then kill). The child also exits when its stdin
closes, so a benchmark that dies never leaves a server behind. The server runs on
uvloop when it is importable: it is the load generator's counterpart, not what is
measured, and a faster server leaves the client as the bottleneck.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import threading
import urllib.request
from types import TracebackType
from typing import Any

# Loopback only, and never through a proxy the environment may name.
_OPENER = urllib.request.build_opener(urllib.request.ProxyHandler({}))


class SimProcess:
    def __init__(self, *, seed: int = 0, use_uvloop: bool = True, quota: int | None = None) -> None:
        self.seed = seed
        self.use_uvloop = use_uvloop
        self.quota = quota  # requests per second per project; 429 APIGW.0308 past it
        self.url = ""
        self.server_loop = ""
        self._proc: subprocess.Popen[str] | None = None

    def __enter__(self) -> SimProcess:
        cmd = [sys.executable, os.path.abspath(__file__), "--serve", str(self.seed)]
        if not self.use_uvloop:
            cmd.append("--no-uvloop")
        if self.quota is not None:
            cmd += ["--quota", str(self.quota)]
        self._proc = proc = subprocess.Popen(
            cmd, stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True
        )
        try:
            line = _readline(proc, timeout=20.0)
            url, self.server_loop = line.split()
            self.url = url
        except BaseException:
            self.close()
            raise
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()

    def close(self) -> None:
        proc, self._proc = self._proc, None
        if proc is None:
            return
        try:
            proc.terminate()
            proc.wait(timeout=5)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(timeout=5)
        finally:
            for f in (proc.stdin, proc.stdout):
                if f is not None:
                    f.close()

    # -- admin endpoints (blocking; call them outside timed sections) ----------------

    def call(self, method: str, path: str, body: object = None) -> Any:
        data = None if body is None else json.dumps(body).encode()
        req = urllib.request.Request(
            self.url + path,
            data=data,
            method=method,
            headers={"Content-Type": "application/json"} if data else {},
        )
        with _OPENER.open(req, timeout=30) as resp:
            return json.loads(resp.read())

    def reset(self) -> None:
        self.call("POST", "/_sim/reset", {})

    def add_tasks(self, tasks: list[dict[str, Any]], project_id: str) -> list[dict[str, Any]]:
        out: list[dict[str, Any]] = self.call(
            "POST", "/_sim/tasks", {"project_id": project_id, "tasks": tasks}
        )["tasks"]
        return out

    def stats(self) -> dict[str, Any]:
        out: dict[str, Any] = self.call("GET", "/_sim/stats")
        return out

    def truth(self) -> dict[str, Any]:
        out: dict[str, Any] = self.call("GET", "/_sim/truth")
        return out


def _readline(proc: subprocess.Popen[str], timeout: float) -> str:
    got: list[str] = []
    reader = threading.Thread(target=lambda: got.append(proc.stdout.readline()), daemon=True)  # type: ignore[union-attr]
    reader.start()
    reader.join(timeout)
    if not got or not got[0].strip():
        raise RuntimeError(f"the simulator did not start within {timeout:g} s")
    return got[0]


def _serve(seed: int, use_uvloop: bool, quota: int | None = None) -> None:
    import asyncio

    from modelarts_poller.simulator import Simulator, SimulatorConfig, serve

    def ready(sim: Simulator) -> None:
        print(sim.url, loop_name, flush=True)

    def orphaned() -> None:
        sys.stdin.read()  # returns when the parent closes our stdin or dies
        os._exit(0)

    threading.Thread(target=orphaned, daemon=True).start()
    main = serve(SimulatorConfig(seed=seed, quota=quota), port=0, ready=ready)
    loop_name = "asyncio"
    if use_uvloop:
        try:
            import uvloop
        except ImportError:
            pass
        else:
            loop_name = "uvloop"
            uvloop.run(main)
            return
    asyncio.run(main)


if __name__ == "__main__" and "--serve" in sys.argv:
    i = sys.argv.index("--serve")
    quota = int(sys.argv[sys.argv.index("--quota") + 1]) if "--quota" in sys.argv else None
    _serve(int(sys.argv[i + 1]), "--no-uvloop" not in sys.argv, quota)

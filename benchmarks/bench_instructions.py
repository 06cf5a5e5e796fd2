"""Instructions per poll: the client process's CPU work, counted by callgrind, repeatably.

bench_throughput.py's ratios move by 20-50% between runs on a busy machine. Instruction
counts do not: each design runs in a child process under ``valgrind --tool=callgrind`` for
exactly N1 and then N2 polls (back to back, at a given concurrency, against the simulator
in its own uninstrumented process), and (I(N2) - I(N1)) / (N2 - N1) is its instructions per
poll, start-up and warm-up cancelled out. Only user-space instructions of the client
process count: the kernel's share of a request (socket send and receive, the same for
every design) is left out, so real CPU ratios are closer to 1 than these.

Designs (the same as bench_throughput.py's where the names match):

- raw:         a hand-written aiohttp GET loop, parsing nothing (the baseline);
- raw+parse:   the same loop plus json.loads and the library's parser;
- client-loop: ModelArtsClient.get_task(spec) in a plain loop, one coroutine per task, the
               spec built once (what the client costs, without the engine);
- engine:      Engine + ModelArtsClient, back to back (what a user gets).

Needs valgrind (apt install valgrind); ``--smoke`` runs each child once without it.
"""

from __future__ import annotations

import asyncio
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
from typing import Any

from _common import SMOKE, header
from _sim import SimProcess

DESIGNS = ["raw", "raw+parse", "client-loop", "engine"]
CONCURRENCIES = [10] if SMOKE else [10, 100]
N1, N2 = (20, 60) if SMOKE else (500, 1500)


def child(design: str, conc: int, n: int, url: str, idfile: str) -> None:
    """Run ``design`` until ``n`` polls are done, then exit."""
    import bench_throughput as bt
    from modelarts_poller import DatasetTask

    with open(idfile) as f:
        ids: list[str] = json.load(f)[:conc]

    async def until_done(count: Any) -> tuple[float, float]:
        while count() < n:  # noqa: ASYNC110 (a poll count, not an event, says when)
            await asyncio.sleep(0.005)
        return 0.0, 0.0

    async def client_loop(url: str, ids: list[str]) -> tuple[float, float]:
        async with bt.client(url, len(ids)) as api:

            async def poller(i: int, counter: bt.Counter) -> None:
                spec = DatasetTask(ids[i])
                get = api.get_task
                while True:
                    await get(spec)
                    counter.n += 1

            return await bt._run_loops(poller, len(ids))

    bt.window = until_done
    bt.DESIGNS["client-loop"] = client_loop
    bt.run_one(design, url, ids, "asyncio")


def count(design: str, conc: int, n: int, url: str, idfile: str, valgrind: str | None) -> int:
    cmd = [sys.executable, os.path.abspath(__file__), "--child", design, str(conc), str(n)]
    cmd += [url, idfile]
    if valgrind is not None:
        cmd = [valgrind, "--tool=callgrind", "--callgrind-out-file=/dev/null", *cmd]
    done = subprocess.run(cmd, capture_output=True, text=True, timeout=600, check=False)
    if done.returncode != 0:
        raise RuntimeError(f"{design} failed: {done.stderr[-2000:]}")
    if valgrind is None:
        return 0
    found = re.search(r"Collected : (\d+)", done.stderr)
    if found is None:
        raise RuntimeError(f"no callgrind total for {design}: {done.stderr[-2000:]}")
    return int(found.group(1))


def main() -> int:
    header("instructions per poll (callgrind, client process only) vs a raw aiohttp loop")
    valgrind = shutil.which("valgrind")
    if valgrind is None and not SMOKE:
        print("# valgrind not found: install it (apt install valgrind) to count instructions")
        return 2
    if SMOKE:
        valgrind = None
    print(f"# each design run for {N1} and {N2} polls; figure = difference / {N2 - N1}")
    print(f"{'conc':>5} {'design':<12} {'instructions/poll':>18} {'raw / design':>13}")
    with SimProcess() as sim, tempfile.TemporaryDirectory() as tmp:
        for conc in CONCURRENCIES:
            sim.reset()
            tasks = [{"kind": "dataset_task", "queue": 0, "run": 1e7} for _ in range(conc)]
            ids = [t["task_id"] for t in sim.add_tasks(tasks, "bench")]
            idfile = os.path.join(tmp, f"ids-{conc}.json")
            with open(idfile, "w") as f:
                json.dump(ids, f)
            per_poll: dict[str, float] = {}
            for design in DESIGNS:
                low = count(design, conc, N1, sim.url, idfile, valgrind)
                high = count(design, conc, N2, sim.url, idfile, valgrind)
                per_poll[design] = (high - low) / (N2 - N1)
            for design in DESIGNS:
                mine = per_poll[design]
                if valgrind is None:
                    print(f"{conc:>5} {design:<12} {'n/a (smoke)':>18} {'':>13}")
                    continue
                ratio = per_poll["raw"] / mine if mine else float("nan")
                print(f"{conc:>5} {design:<12} {mine:>18.0f} {ratio:>13.3f}")
    return 0


if __name__ == "__main__":
    if len(sys.argv) > 1 and sys.argv[1] == "--child":
        child(sys.argv[2], int(sys.argv[3]), int(sys.argv[4]), sys.argv[5], sys.argv[6])
        sys.exit(0)
    sys.exit(main())

"""An emulated Airflow triggerer: shared-engine triggers against fixed-sleep triggers.

No Airflow is needed: a trigger here is what ``ModelArtsTaskTrigger.run()`` is, an async
generator that yields one event, and the triggerer is what Airflow's is, one asyncio task
per trigger doing ``async for event in trigger.run()`` in one event loop (created one per
loop iteration, as ``TriggerRunner.create_triggers`` does), with a
watchdog task that records how late the loop wakes it (Airflow warns at 0.2 s).

The simulator runs in its own process with a quota (429 ``APIGW.0308`` past it). Each
pass is one triggerer that watches ``--waves`` waves of new tasks one after the other, as
a triggerer does while DAG runs keep coming: each wave resets the simulator (its counters
are the wave's) and creates N tasks (export, import, sync and training jobs, queued 0-2 s,
running a lognormal time, 10% failing; wave w draws with seed w), then watches all of them:

- shared: ``SharedEngines.watch`` (what ``ModelArtsTaskTrigger.run()`` awaits), one
  client and one engine for all triggers, ``max_rate`` = 95% of the quota (docs/airflow.md:
  a little under it), tokens made as an operator makes them (``just_started``); one
  ``SharedEngines`` for every wave of the pass, so the durations its engines learned in
  wave 1 place wave 2's polls (wave 1 is cold: nothing learned yet);
- fixed: a trigger written the way today's provider triggers are, each with its own
  client session, polling every ``--sleep`` seconds, sleeping the same after an error.

Reported per wave: requests per completed task (every request the simulator saw: status
and list calls, 429s included), each kind's status requests and p95 delay, the p95 delay
between a task's end (the simulator's truth) and its event, the largest number of
requests the simulator saw in one wall-clock second against the quota, 429 answers, the
longest loop stall, resident memory per trigger, and whether every trigger yielded
exactly one event. Two HA passes with the shared engine: half the triggers cancelled and
re-created mid-run (Airflow cancels triggers when it re-homes them), and two triggerer
processes with half the quota each (the static split docs/airflow.md describes). On
request (``--passes oracle``), a floor: triggers that know their task's end from the
simulator and sleep until it, sending nothing; their loop stall is what the triggerer
itself costs with that many triggers.

Targets (full mode): no 429 and no second above the quota for the shared engine, stalls
under 0.2 s at 20,000 triggers, and at most half the fixed triggers' requests per task in
the warm waves (2 and later), each against the fixed triggers' same wave.
The fixed-sleep baseline runs up to 5,000 triggers: 20,000 sessions of its own would need
more file descriptors than this machine allows one process.
"""

from __future__ import annotations

import argparse
import asyncio
import gc
import json
import subprocess
import sys
import time
from collections.abc import AsyncIterator
from typing import Any

from _common import SMOKE, header, percentile, rss_bytes, verdict
from _sim import SimProcess
from modelarts_poller import Backoff, ModelArtsClient, NoAuth, PollPolicy, get_kind
from modelarts_poller.airflow import SharedEngines, connection_from_fields, token_for

PROJECT = "sim-project"
KINDS = ["export", "import", "sync", "training_job"]
STALL_TICK = 0.05
# Every trigger is started at once (a triggerer picking up a backlog), one per loop
# iteration as Airflow's create_triggers does. Stalls after this many seconds are the
# steady state's.
STARTUP = 5.0
RATE_MARGIN = 0.95  # max_rate = 95% of the quota (of each triggerer's share)


class Settings:
    def __init__(self, args: argparse.Namespace) -> None:
        self.sizes: list[int] = args.sizes or ([40] if SMOKE else [1000, 5000, 20000])
        self.baseline_max = 5000
        self.quota: int = args.quota or (100 if SMOKE else 500)
        # docs/airflow.md: max_rate a little under the quota (a second's edge can let one
        # request too many through at exactly the quota).
        self.max_rate: float = self.quota * RATE_MARGIN
        self.ages: bool = not args.unknown_ages
        self.median: float = args.median or (0.75 if SMOKE else 30.0)
        self.sleep: float = args.sleep or (0.5 if SMOKE else 5.0)
        self.limit: float = 60.0 if SMOKE else 900.0  # seconds a wave may take, at most
        self.waves: int = max(1, args.waves or 2)
        # The trigger's default policy unless --max-interval caps how far polls back off.
        self.max_interval: float = args.max_interval or self.median
        self.policy = PollPolicy(
            interval=Backoff(initial=min(1.0, self.max_interval / 4), maximum=self.max_interval),
            first_delay=0.0,
        )


Task = tuple[str, ...]  # (kind, *ids): what the benchmark keeps of a task while it runs


def make_tasks(sim: SimProcess, n: int, settings: Settings, wave: int = 1) -> list[Task]:
    """A new wave of ``n`` tasks (new ids, the same kinds and duration distribution; wave
    ``w`` draws with seed ``w``), on a simulator reset so its counters are this wave's.
    Kept as tuples of strings, which the garbage collector stops tracking: the harness's
    own records must not lengthen the full collections it measures (a dict and a list a
    task were two tracked objects per trigger that no triggerer has)."""
    sim.reset()
    spec = {
        "count": n,
        "kinds": KINDS,
        "durations": f"lognormal:{settings.median}:0.5",
        "queue": "uniform:0:2",
        "failure_rate": 0.1,
        "seed": wave,
    }
    made = sim.call("POST", "/_sim/tasks", {"project_id": PROJECT, "generate": spec})["tasks"]
    return [(t["kind"], *t["ids"]) for t in made]


def spec_of(task: Task) -> Any:
    return get_kind(task[0]).spec(*task[1:])


# -- the two kinds of trigger ----------------------------------------------------------------


# A trigger is what Airflow's triggerer holds of one: an object whose attributes are its
# serialized kwargs (a BaseTrigger keeps them in its __dict__) and whose run() is an async
# generator method.


class SharedTrigger:
    """What ModelArtsTaskTrigger.run() does, less Airflow: one event from the shared engine."""

    def __init__(self, engines: SharedEngines, conn: Any, token: str, policy: PollPolicy) -> None:
        self.engines, self.conn, self.token, self.policy = engines, conn, token, policy

    async def run(self) -> AsyncIterator[dict[str, Any]]:
        # What ModelArtsTaskTrigger.run() awaits: the watch's future, no coroutine around it.
        yield await self.engines._wait(self.conn, self.token, policy=self.policy)


class FixedTrigger:
    """A trigger as today's providers write it: its own session, a fixed sleep."""

    def __init__(self, url: str, spec: Any, sleep: float) -> None:
        self.url, self.spec, self.sleep = url, spec, sleep

    async def run(self) -> AsyncIterator[dict[str, Any]]:
        spec, sleep = self.spec, self.sleep
        async with ModelArtsClient(project_id=PROJECT, auth=NoAuth(), endpoint=self.url) as client:
            while True:
                try:
                    snapshot = await client.get_task(spec)
                except Exception:
                    await asyncio.sleep(sleep)
                    continue
                phase = spec.phase_of(snapshot.status)
                if phase.is_terminal:
                    yield {"status": phase.value}
                    return
                await asyncio.sleep(sleep)


class OracleTrigger:
    """The floor: a trigger that knows its task's end (the simulator's truth), sends no
    request and wakes then. What a triggerer pays for its triggers whatever they do."""

    def __init__(self, finishes: float) -> None:
        self.finishes = finishes

    async def run(self) -> AsyncIterator[dict[str, Any]]:
        await asyncio.sleep(max(0.0, self.finishes - time.monotonic()))
        yield {"status": "ended"}


# -- the emulated triggerer ------------------------------------------------------------------


class Triggerer:
    def __init__(self) -> None:
        self.events: dict[int, list[float]] = {}
        self.triggers: dict[int, dict[str, Any]] = {}
        self.stall = 0.0
        self.steady_stall = 0.0  # after the first STARTUP seconds: not the start burst
        self._stop = asyncio.Event()

    async def watchdog(self) -> None:
        loop = asyncio.get_running_loop()
        started = loop.time()
        while not self._stop.is_set():
            before = loop.time()
            await asyncio.sleep(STALL_TICK)
            stall = loop.time() - before - STALL_TICK
            self.stall = max(self.stall, stall)
            if before - started > STARTUP:
                self.steady_stall = max(self.steady_stall, stall)

    def start(self, key: int, trigger: Any) -> asyncio.Task[None]:
        """Run ``trigger`` as Airflow's TriggerRunner does: a task doing ``async for`` over
        its ``run()``, and a dict of what it knows of the trigger (its task, name, events)."""
        task = asyncio.create_task(self.run_trigger(key, trigger))
        self.triggers[key] = {"task": task, "name": f"trigger {key}", "events": 0}
        return task

    async def create(self, keys: Any, make: Any, into: dict[int, asyncio.Task[None]]) -> None:
        """Start the triggers ``keys`` names as Airflow's ``TriggerRunner.create_triggers``
        does: one, then ``await asyncio.sleep(0)``, so the loop turns between triggers
        (a backlog of 20,000 is never started in one loop iteration)."""
        for key in keys:
            into[key] = self.start(key, make(key))
            await asyncio.sleep(0)

    async def run_trigger(self, key: int, trigger: Any) -> None:
        async for _event in trigger.run():
            self.events.setdefault(key, []).append(time.monotonic())
            self.triggers[key]["events"] += 1

    def stop(self) -> None:
        self._stop.set()


def shared_connection(url: str, max_rate: float) -> Any:
    return connection_from_fields(
        extra={"auth": "none", "endpoint": url, "project_id": PROJECT}, max_rate=max_rate
    )


async def shared_wave(
    engines: SharedEngines,
    conn: Any,
    tasks: list[Task],
    settings: Settings,
    *,
    churn: bool = False,
) -> dict[str, Any]:
    """One wave on ``engines``, which lives as long as the triggerer: what its engines
    learned of durations in earlier waves (``SharedEngines`` keeps it per connection)
    places this wave's polls."""
    trig = Triggerer()
    # As an operator makes them, right after its start call: the tasks' ages are known
    # (--unknown-ages: as a sensor makes them, and as every token was before just_started).
    tokens = [token_for(spec_of(t), just_started=settings.ages) for t in tasks]

    def make(i: int) -> Any:
        return SharedTrigger(engines, conn, tokens[i], settings.policy)

    out = await _drive(trig, tasks, make, settings, churn=churn)
    # Every watcher has left, so the engine is closing: wait for it (the next wave opens a
    # new one, with the same learned durations).
    await engines.aclose()
    return out


async def fixed_wave(url: str, tasks: list[Task], settings: Settings) -> dict[str, Any]:
    trig = Triggerer()
    specs = [spec_of(t) for t in tasks]

    def make(i: int) -> Any:
        return FixedTrigger(url, specs[i], settings.sleep)

    return await _drive(trig, tasks, make, settings, churn=False)


async def oracle_wave(sim: SimProcess, tasks: list[Task], settings: Settings) -> dict[str, Any]:
    trig = Triggerer()
    truth = {(t["kind"], *t["ids"]): t["finishes"] for t in sim.truth()["tasks"]}
    ends = [truth[t] for t in tasks]

    def make(i: int) -> Any:
        return OracleTrigger(ends[i])

    return await _drive(trig, tasks, make, settings, churn=False)


async def run_waves(
    sim: SimProcess, n: int, settings: Settings, key: str, report: Any
) -> list[dict[str, Any]]:
    """``settings.waves`` waves of ``n`` new tasks each in one triggerer (one event loop,
    one ``SharedEngines`` for the shared passes), one after the other, each measured on
    its own (the simulator is reset between waves, so its counters are the wave's)."""
    engines = SharedEngines()
    conn = shared_connection(sim.url, settings.max_rate)
    out = []
    for wave in range(1, settings.waves + 1):
        tasks = make_tasks(sim, n, settings, wave)
        if key == "fixed":
            got = await fixed_wave(sim.url, tasks, settings)
        elif key == "oracle":
            got = await oracle_wave(sim, tasks, settings)
        else:
            got = await shared_wave(engines, conn, tasks, settings, churn=key == "rehomed")
        m = measure(sim, tasks, got)
        report(wave, m)
        out.append(m)
    return out


class GcLog:
    """Full (generation 2) garbage collections while a pass runs: when and how long. One
    pauses the loop for as long as it takes (it walks every tracked object)."""

    def __init__(self) -> None:
        self.started = time.perf_counter()
        self.full: list[tuple[float, float]] = []  # (seconds into the pass, duration)
        self._t0 = 0.0

    def __call__(self, phase: str, info: dict[str, Any]) -> None:
        if info["generation"] != 2:
            return
        if phase == "start":
            self._t0 = time.perf_counter()
        else:
            self.full.append((self._t0 - self.started, time.perf_counter() - self._t0))


async def _drive(
    trig: Triggerer, tasks: list[Task], make: Any, settings: Settings, *, churn: bool
) -> dict[str, Any]:
    gc.collect()
    gc_log = GcLog()
    gc.callbacks.append(gc_log)
    rss0 = rss_bytes()
    dog = asyncio.create_task(trig.watchdog())
    started = time.monotonic()
    running: dict[int, asyncio.Task[None]] = {}
    await trig.create(range(len(tasks)), make, running)
    await asyncio.sleep(min(1.0, settings.median / 2))
    rss1 = rss_bytes()
    cancelled = 0
    if churn:
        # Re-homing: Airflow cancels half the triggers and starts them again elsewhere (here:
        # in the same loop, as a triggerer that takes them over would).
        await asyncio.sleep(settings.median / 2)
        half = [i for i in running if i % 2 == 0 and not running[i].done()]
        for i in half:
            running[i].cancel()
        await asyncio.gather(*(running[i] for i in half), return_exceptions=True)
        cancelled = len(half)
        await trig.create(half, make, running)
    _done, pending = await asyncio.wait(
        running.values(), timeout=settings.limit - (time.monotonic() - started)
    )
    for task in pending:
        task.cancel()
    trig.stop()
    await dog
    gc.callbacks.remove(gc_log)
    return {
        "gc_full": gc_log.full,
        "events": trig.events,
        "stall": trig.stall,
        "steady_stall": trig.steady_stall,
        "rss_per_trigger": max(0, rss1 - rss0) / max(1, len(tasks)),
        "unfinished": len(pending),
        "cancelled": cancelled,
        "seconds": time.monotonic() - started,
    }


# -- a pass, measured against the simulator's truth ------------------------------------------


def measure(sim: SimProcess, tasks: list[Task], out: dict[str, Any]) -> dict[str, Any]:
    truth = {(t["kind"], *t["ids"]): t for t in sim.truth()["tasks"]}
    stats = sim.stats()
    events: dict[int, list[float]] = out["events"]
    delays = []
    by_kind: dict[str, list[float]] = {}
    for i, task in enumerate(tasks):
        got = events.get(i)
        if got:
            delay = got[0] - truth[task]["finishes"]
            delays.append(delay)
            by_kind.setdefault(task[0], []).append(delay)
    # Every ModelArts request the server saw: status and list calls it admitted, and the
    # ones its quota refused (429). The counters are this wave's: make_tasks reset them.
    refused = stats["by_fault"].get("server_rate_limit", 0)
    counts = {k: sum(1 for t in tasks if t[0] == k) for k in KINDS}
    return {
        "requests_per_task": (stats["requests_all"] + refused) / len(tasks),
        "lists_per_task": sum(stats["lists"].values()) / len(tasks),
        "p95_delay": percentile(delays, 95),
        "max_second": stats["max_per_second_all"],
        "throttled": refused,
        "stall": out["stall"],
        "steady_stall": out["steady_stall"],
        "rss_per_trigger": out["rss_per_trigger"],
        "one_event_each": all(len(events.get(i, [])) == 1 for i in range(len(tasks))),
        "unfinished": out["unfinished"],
        "seconds": out["seconds"],
        "gc_full": out.get("gc_full", []),
        # Status requests per task and p95 delay of each kind (lists are per dataset).
        "per_kind": {
            k: (stats["per_kind"].get(k, 0) / counts[k], percentile(by_kind.get(k, []), 95))
            for k in KINDS
            if counts[k]
        },
    }


def kind_line(m: dict[str, Any]) -> str:
    return "#   per kind (status requests/task, p95 s): " + ", ".join(
        f"{k} {r:.2f} {p:.1f}" for k, (r, p) in m["per_kind"].items()
    )


def gc_line(m: dict[str, Any]) -> str:
    late = [d for t, d in m["gc_full"] if t > STARTUP]
    return (
        f"#   full collections: {len(m['gc_full'])}, longest "
        f"{max((d for _, d in m['gc_full']), default=0.0) * 1000:.0f} ms; after {STARTUP:g} s: "
        f"{len(late)}, longest {max(late, default=0.0) * 1000:.0f} ms"
    )


def row(name: str, n: int, wave: int, quota: int, m: dict[str, Any]) -> str:
    return (
        f"{name:<23} {n:>6} {wave:>4} {m['requests_per_task']:>8.2f} {m['lists_per_task']:>5.2f} "
        f"{m['p95_delay']:>6.2f} {m['max_second']:>5}/{quota:<5} {m['throttled']:>6} "
        f"{m['stall'] * 1000:>8.0f} {m['steady_stall'] * 1000:>7.0f} "
        f"{m['rss_per_trigger'] / 1024:>8.1f} {'yes' if m['one_event_each'] else 'NO':>5} "
        f"{m['seconds']:>6.0f}"
    )


def two_triggerers(
    sim: SimProcess, n: int, settings: Settings, report: Any
) -> list[dict[str, Any]]:
    """Two triggerer processes, each with half of every wave's tasks and half the quota;
    each keeps one ``SharedEngines`` for all its waves."""
    args = [sys.executable, __file__, "--child", sim.url, str(settings.max_rate / 2)]
    args += ["--median", str(settings.median), "--max-interval", str(settings.max_interval)]
    if not settings.ages:
        args.append("--unknown-ages")
    if SMOKE:
        args.append("--smoke")
    procs = [
        subprocess.Popen(args, stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
        for _ in range(2)
    ]
    results = []
    try:
        for wave in range(1, settings.waves + 1):
            tasks = make_tasks(sim, n, settings, wave)
            halves = [tasks[0::2], tasks[1::2]]
            for proc, half in zip(procs, halves, strict=True):
                assert proc.stdin is not None
                proc.stdin.write(json.dumps(half) + "\n")
                proc.stdin.flush()
            outs = []
            for proc in procs:
                assert proc.stdout is not None
                outs.append(json.loads(proc.stdout.readline()))  # a wave is bounded
            events: dict[int, list[float]] = {}
            for k, out in enumerate(outs):
                for i, times in out["events"].items():
                    events[int(i) * 2 + k] = times
            got = {
                "events": events,
                "stall": max(o["stall"] for o in outs),
                "steady_stall": max(o["steady_stall"] for o in outs),
                "rss_per_trigger": sum(o["rss_per_trigger"] for o in outs) / 2,
                "unfinished": sum(o["unfinished"] for o in outs),
                "seconds": max(o["seconds"] for o in outs),
            }
            m = measure(sim, tasks, got)
            report(wave, m)
            results.append(m)
    finally:
        for proc in procs:
            assert proc.stdin is not None
            assert proc.stdout is not None
            proc.stdin.close()  # the child's end: no more waves
            proc.wait(timeout=60)
            proc.stdout.close()
    return results


def child(url: str, max_rate: float, settings: Settings) -> None:
    """One of two triggerer processes: a wave's tasks per stdin line, its result per
    stdout line, one ``SharedEngines`` for every wave."""

    async def main() -> None:
        engines = SharedEngines()
        conn = shared_connection(url, max_rate)
        loop = asyncio.get_running_loop()
        while line := await loop.run_in_executor(None, sys.stdin.readline):
            tasks = [tuple(t) for t in json.loads(line)]
            out = await shared_wave(engines, conn, tasks, settings)
            out["events"] = {str(k): v for k, v in out["events"].items()}
            out.pop("gc_full", None)
            print(json.dumps(out), flush=True)

    asyncio.run(main())


FIXED = "fixed sleep, own client"
NAMES = {
    "shared": "shared engine",
    "rehomed": "shared, half re-homed",
    "fixed": FIXED,
    "two": "two triggerers, q/2",
    "oracle": "oracle (no requests)",
}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--smoke", action="store_true")
    parser.add_argument("--sizes", type=int, nargs="*")
    parser.add_argument("--quota", type=int)
    parser.add_argument("--median", type=float, help="median task duration, seconds")
    parser.add_argument("--sleep", type=float, help="the fixed triggers' sleep, seconds")
    parser.add_argument(
        "--max-interval", type=float, help="the shared engine's longest poll interval, seconds"
    )
    parser.add_argument(
        "--waves",
        type=int,
        help="waves of new tasks each pass's triggerer watches, one after the other "
        "(default 2; wave 1 is cold, later waves use what earlier ones taught)",
    )
    parser.add_argument(
        "--passes",
        type=lambda v: set(v.split(",")),
        default={"shared", "rehomed", "fixed", "two"},
        help="which passes to run: shared,rehomed,fixed,two,oracle (default: all but oracle; "
        "oracle: triggers that know their task's end and send no request, the loop stall "
        "and memory any trigger costs this triggerer)",
    )
    parser.add_argument(
        "--unknown-ages",
        action="store_true",
        help="tokens without the tasks' start (a sensor's): nothing for durations to learn",
    )
    parser.add_argument("--child", nargs=2, metavar=("URL", "MAX_RATE"), help=argparse.SUPPRESS)
    args = parser.parse_args()
    settings = Settings(args)
    if args.child:
        child(args.child[0], float(args.child[1]), settings)
        return
    header("bench_triggerer: an emulated Airflow triggerer, shared engine vs fixed sleep")
    print(
        f"# quota {settings.quota}/s, shared max_rate {settings.max_rate:g}/s, task durations "
        f"lognormal median {settings.median:g} s sigma 0.5, fixed sleep {settings.sleep:g} s, "
        f"shared engine polls back off to {settings.max_interval:g} s, {settings.waves} "
        "wave(s) of new tasks per pass, one after the other in the same triggerer"
    )
    print(
        "# req/task counts every request the server saw (status and list calls, 429s too); "
        "lists: list calls a task"
    )
    print(
        "# pass                    triggers wave req/task lists  p95 s  max 1s/quota   429s "
        "stall ms  steady  KiB/trig  1 ev   secs"
    )
    results: dict[tuple[str, int, int], dict[str, Any]] = {}
    with SimProcess(seed=3, quota=settings.quota) as sim:
        for n in settings.sizes:
            for key in ("shared", "rehomed", "fixed", "two", "oracle"):
                if key not in args.passes or (key == "fixed" and n > settings.baseline_max):
                    continue
                name = NAMES[key]

                def report(wave: int, m: dict[str, Any], name: str = name, n: int = n) -> None:
                    results[(name, n, wave)] = m
                    print(row(name, n, wave, settings.quota, m), flush=True)
                    print(kind_line(m), flush=True)
                    if m["gc_full"]:
                        print(gc_line(m), flush=True)

                if key == "two":
                    two_triggerers(sim, n, settings, report)
                else:
                    asyncio.run(run_waves(sim, n, settings, key, report))
    if not results:
        return
    biggest = max(n for (_, n, _) in results)
    baselines = (FIXED, NAMES["oracle"])
    shared = [m for (name, _, _), m in results.items() if name not in baselines]
    print(
        verdict(
            all(m["throttled"] == 0 and m["max_second"] <= settings.quota for m in shared),
            "no 429 and no second above the quota with shared engines",
        )
    )
    print(
        verdict(
            max(
                (
                    m["stall"]
                    for (name, n, _), m in results.items()
                    if n == biggest and name not in baselines
                ),
                default=0.0,
            )
            < 0.2,
            f"longest loop stall under 0.2 s at {biggest} triggers (every shared pass, every wave)",
        )
    )
    print(verdict(all(m["one_event_each"] for m in shared), "exactly one event per trigger"))
    pairs = [
        (n, w) for (name, n, w) in results if name == NAMES["shared"] and (FIXED, n, w) in results
    ]
    if not pairs:
        print("(requests per task not compared: no size ran both the shared and fixed passes)")
        return
    for n, w in sorted(pairs):
        s_, f_ = results[(NAMES["shared"], n, w)], results[(FIXED, n, w)]
        print(
            f"# {n} triggers, wave {w}{' (cold)' if w == 1 else ''}: shared / fixed requests "
            f"a task {s_['requests_per_task']:.2f} / {f_['requests_per_task']:.2f} = "
            f"{s_['requests_per_task'] / f_['requests_per_task']:.3f} x, p95 delay "
            f"{s_['p95_delay']:.1f} s / {f_['p95_delay']:.1f} s"
        )
    # The target is a triggerer's steady state, where DAG runs keep coming: the waves after
    # the first (wave 1 is a triggerer's first tasks ever, with nothing learned).
    warm = [(n, w) for n, w in pairs if w > 1] or pairs
    which = "warm waves (2 and later)" if any(w > 1 for _, w in warm) else "wave 1 (cold)"
    print(
        verdict(
            all(
                results[(NAMES["shared"], n, w)]["requests_per_task"]
                <= results[(FIXED, n, w)]["requests_per_task"] / 2
                for n, w in warm
            ),
            f"at most half the fixed triggers' requests per task, {which}",
        )
    )


if __name__ == "__main__":
    main()

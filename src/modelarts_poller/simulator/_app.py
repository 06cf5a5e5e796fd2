"""The simulator's aiohttp application: seed APIs, start calls, IAM, admin endpoints."""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import json
import random
import secrets
import time
from collections import Counter
from collections.abc import Callable, Iterable
from datetime import UTC, datetime, timedelta
from typing import Any

from aiohttp import web

from .. import _paths
from .._errors import InvalidArgumentError
from .._ratelimit import RateWindow
from .._signer import check_signature
from ._config import Faults, SimulatorConfig
from ._lifecycle import KINDS, Script, body_at, draw_duration, parse_durations

_JSON = "application/json"
# Generated task IDs start with these; dataset IDs with "ds".
_ID_PREFIX = {"sync": "sync", "export": "exp", "dataset_task": "task"}


def _error(status: int, code: str, msg: str, **headers: str) -> web.Response:
    body = json.dumps({"error_code": code, "error_msg": msg})
    return web.Response(status=status, text=body, content_type=_JSON, headers=headers or None)


class Counters:
    """What the client really did, counted by the server."""

    def __init__(self) -> None:
        self.requests = 0
        self.by_status: Counter[int] = Counter()
        self.by_fault: Counter[str] = Counter()
        self.per_second: Counter[int] = Counter()  # wall-clock second -> status requests
        self.per_task: Counter[tuple[str, ...]] = Counter()
        self.in_flight = 0
        self.max_in_flight = 0

    def snapshot(self) -> dict[str, Any]:
        return {
            "requests": self.requests,
            "by_status": {str(k): v for k, v in sorted(self.by_status.items())},
            "by_fault": dict(self.by_fault),
            "per_second": {str(k): v for k, v in sorted(self.per_second.items())},
            "max_per_second": max(self.per_second.values(), default=0),
            "max_in_flight": self.max_in_flight,
            "tasks_polled": len(self.per_task),
        }


class SimState:
    """Tasks, counters and settings of one simulator."""

    def __init__(
        self,
        config: SimulatorConfig,
        *,
        clock: Callable[[], float] = time.monotonic,
        wall: Callable[[], float] = time.time,
    ) -> None:
        self.config = config
        self.clock = clock
        self.wall = wall
        self.tasks: dict[tuple[str, ...], Script] = {}
        self.counters = Counters()
        self.rng = random.Random(config.seed)
        self.faults = config.faults
        self.tokens: dict[str, float] = dict.fromkeys(config.tokens, float("inf"))
        self.bucket = RateWindow(config.rate_limit, now=clock()) if config.rate_limit else None
        self.closing = asyncio.Event()
        self._ids = itertools.count(1)
        # One suffix per simulator, not per ID: bulk creation must not pay a urandom call
        # per task. Seeded simulators hand out the same IDs every run.
        self._salt = (
            secrets.token_hex(3)
            if config.seed is None
            else f"{random.Random(config.seed).getrandbits(24):06x}"
        )

    # -- tasks ------------------------------------------------------------------------

    def new_id(self, prefix: str) -> str:
        return f"{prefix}{next(self._ids):08d}{self._salt}"

    def add(
        self,
        kind: str,
        *,
        project_id: str,
        dataset_id: str | None = None,
        task_id: str | None = None,
        queue: float = 1.0,
        run: float = 10.0,
        outcome: str = "completed",
        total: int = 1000,
    ) -> Script:
        if kind in ("sync", "export"):
            dataset_id = dataset_id or self.new_id("ds")
        task_id = task_id or self.new_id(_ID_PREFIX.get(kind, "task"))
        script = Script(
            kind,
            project_id=project_id,
            dataset_id=dataset_id,
            task_id=task_id,
            created=self.clock(),
            created_ms=int(self.wall() * 1000),
            queue=queue,
            run=run,
            outcome=outcome,
            total=total,
            failure=self.rng.randrange(3),
        )
        self.tasks[script.key()] = script
        return script

    def generate(
        self,
        count: int,
        *,
        project_id: str,
        kinds: Iterable[str] = KINDS,
        durations: str = "lognormal:10:0.6",
        queue: str = "uniform:0:2",
        failure_rate: float = 0.1,
        seed: int | None = None,
    ) -> list[Script]:
        """``count`` tasks of the given kinds (round robin), durations drawn from specs."""
        rng = random.Random(seed) if seed is not None else self.rng
        run_dist, queue_dist = parse_durations(durations), parse_durations(queue)
        kinds = tuple(kinds)
        if not kinds or any(k not in KINDS for k in kinds):
            raise InvalidArgumentError(f"kinds must be some of {', '.join(KINDS)}")
        if isinstance(count, bool) or not isinstance(count, int) or count < 0:
            raise InvalidArgumentError(f"count must be an int >= 0, got {count!r}")
        if not (isinstance(failure_rate, int | float) and 0 <= failure_rate <= 1):
            raise InvalidArgumentError(f"failure_rate must be in [0, 1], got {failure_rate!r}")
        # Checked once above, not per script: the loop is what bulk creation costs.
        created, created_ms = self.clock(), int(self.wall() * 1000)
        tasks, ids, salt, out = self.tasks, self._ids, self._salt, []
        random_, draw, own_rng = rng.random, draw_duration, self.rng.random
        for i in range(count):
            kind = kinds[i % len(kinds)]
            n = next(ids)
            dataset_id = None if kind == "dataset_task" else f"ds{n:08d}{salt}"
            script = Script(
                kind,
                project_id=project_id,
                dataset_id=dataset_id,
                task_id=f"{_ID_PREFIX[kind]}{n:08d}{salt}",
                created=created,
                created_ms=created_ms,
                queue=draw(queue_dist, rng),
                run=draw(run_dist, rng),
                outcome="failed" if random_() < failure_rate else "completed",
                total=100 + int(random_() * 49_900),
                failure=int(own_rng() * 3),
                _trusted=True,
            )
            tasks[script.key()] = script
            out.append(script)
        return out

    def truth(self) -> list[dict[str, Any]]:
        return [s.describe() for s in self.tasks.values()]

    # -- auth -------------------------------------------------------------------------

    def check_auth(self, request: web.Request, body: bytes, project_id: str) -> web.Response | None:
        mode = self.config.auth
        if mode == "off":
            return None
        headers = request.headers
        token = headers.get("X-Auth-Token")
        ok = False
        if token is not None and mode in ("token", "either"):
            expires = self.tokens.get(token)
            ok = expires is not None and expires > self.wall()
        elif "Authorization" in headers and mode in ("aksk", "either"):
            problem = check_signature(
                method=request.method,
                path=request.raw_path.split("?", 1)[0],
                query_string=request.query_string,
                headers=headers,
                body=body,
                secret_key_for=self.config.access_keys.get,
                now=datetime.fromtimestamp(self.wall(), tz=UTC),
                max_skew=timedelta(seconds=self.config.max_skew),
            )
            ok = problem is None
        if not ok:
            return _error(401, "ModelArts.0101", "Authentication failed: invalid credentials.")
        if self.config.projects is not None and project_id not in self.config.projects:
            return _error(403, "ModelArts.0103", "No permission for this project.")
        return None

    # -- faults -----------------------------------------------------------------------

    def pick_fault(self, faults: Faults) -> str | None:
        if faults.total <= 0:
            return None
        r = self.rng.random()
        for name in ("server_error", "reset", "stall", "rate_limited", "garbage", "wrong_types"):
            p = getattr(faults, name)
            if r < p:
                return name
            r -= p
        return None


STATE = web.AppKey("modelarts_poller.simulator.state", SimState)


async def _status(request: web.Request, kind: str) -> web.StreamResponse:
    state: SimState = request.app[STATE]
    info = request.match_info
    project_id = info["project_id"]
    c = state.counters
    c.requests += 1
    c.per_second[int(state.wall())] += 1
    c.in_flight += 1
    if c.in_flight > c.max_in_flight:
        c.max_in_flight = c.in_flight
    try:
        response = await _answer(request, state, kind, project_id, info)
    finally:
        c.in_flight -= 1
    c.by_status[response.status] += 1
    return response


async def _answer(
    request: web.Request, state: SimState, kind: str, project_id: str, info: Any
) -> web.StreamResponse:
    denied = state.check_auth(request, b"", project_id)
    if denied is not None:
        return denied
    if kind == "sync":
        key: tuple[str, ...] = ("sync", project_id, info["dataset_id"])
    elif kind == "export":
        key = ("export", project_id, info["resource_id"], info["task_id"])
    else:
        key = ("dataset_task", project_id, info["task_id"])
    state.counters.per_task[key] += 1
    config = state.config
    if state.bucket is not None:
        wait = state.bucket.take(state.clock())
        if wait > 0:
            state.counters.by_fault["server_rate_limit"] += 1
            return _error(
                429,
                "ModelArts.0429",
                "Too many requests.",
                **{"Retry-After": str(max(1, int(wait + 0.999)))},
            )
    fault = state.pick_fault(state.faults)
    if fault is not None:
        state.counters.by_fault[fault] += 1
        if fault == "server_error":
            status = state.rng.choice((500, 502, 503))
            return _error(status, "ModelArts.0500", "Internal server error.")
        if fault == "reset":
            if request.transport is not None:
                request.transport.abort()  # the client sees the connection drop
            return web.Response(status=599)  # never sent; keeps the counters honest
        if fault == "stall":
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(state.closing.wait(), state.faults.stall_seconds)
        elif fault == "rate_limited":
            return _error(
                429,
                "ModelArts.0429",
                "Too many requests.",
                **{"Retry-After": f"{state.faults.retry_after:g}"},
            )
        elif fault == "garbage":
            return web.Response(
                status=200, text="<html><body>Bad gateway</body></html>", content_type="text/html"
            )
        elif fault == "wrong_types":
            return web.Response(
                status=200,
                content_type=_JSON,
                text='{"status": 12345, "progress": "lots", "task_id": []}',
            )
    if config.latency:
        await asyncio.sleep(config.latency)
    script = state.tasks.get(key)
    if script is None:
        if kind == "sync":
            return web.Response(
                status=200,
                content_type=_JSON,
                text=json.dumps({"status": "NOT_EXIST", "dataset_id": info["dataset_id"]}),
            )
        return _error(404, "ModelArts.4352", "The task does not exist.")
    body = body_at(script, state.clock() - script.created)
    return web.Response(status=200, content_type=_JSON, text=json.dumps(body))


async def _sync_status(request: web.Request) -> web.StreamResponse:
    return await _status(request, "sync")


async def _export_status(request: web.Request) -> web.StreamResponse:
    return await _status(request, "export")


async def _task_status(request: web.Request) -> web.StreamResponse:
    return await _status(request, "dataset_task")


async def _authorized(request: web.Request) -> tuple[SimState, bytes, str] | web.Response:
    """The state, body and project of a request whose credentials pass, or the refusal."""
    state = request.app[STATE]
    body = await request.read()
    project_id = request.match_info["project_id"]
    denied = state.check_auth(request, body, project_id)
    return denied if denied is not None else (state, body, project_id)


async def _start_sync(request: web.Request) -> web.StreamResponse:
    checked = await _authorized(request)
    if isinstance(checked, web.Response):
        return checked
    state, _, project_id = checked
    run = draw_duration(parse_durations("lognormal:10:0.5"), state.rng)
    state.add("sync", project_id=project_id, dataset_id=request.match_info["dataset_id"], run=run)
    return web.Response(status=200)


async def _create_export(request: web.Request) -> web.StreamResponse:
    checked = await _authorized(request)
    if isinstance(checked, web.Response):
        return checked
    state, body, project_id = checked
    try:
        data = json.loads(body or b"{}")
    except ValueError:
        return _error(400, "ModelArts.4000", "The request body is not JSON.")
    if not isinstance(data, dict) or not isinstance(data.get("path"), str):
        return _error(400, "ModelArts.4000", "path is required.")
    run = draw_duration(parse_durations("lognormal:15:0.5"), state.rng)
    script = state.add(
        "export", project_id=project_id, dataset_id=request.match_info["resource_id"], run=run
    )
    return web.json_response({"task_id": script.task_id})


async def _iam_tokens(request: web.Request) -> web.StreamResponse:
    state: SimState = request.app[STATE]
    try:
        data = await request.json()
        user = data["auth"]["identity"]["password"]["user"]
        name, password = user["name"], user["password"]
    except (ValueError, KeyError, TypeError):
        return web.json_response(
            {"error": {"code": "APIGW.0301", "message": "Incorrect IAM authentication."}},
            status=400,
        )
    if state.config.users.get(name) != password:
        return web.json_response(
            {"error": {"code": "APIGW.0301", "message": "Incorrect IAM authentication."}},
            status=401,
        )
    token = "sim-" + secrets.token_urlsafe(24)
    expires = state.wall() + state.config.token_lifetime
    state.tokens[token] = expires
    expires_at = datetime.fromtimestamp(expires, tz=UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")
    return web.json_response(
        {"token": {"expires_at": expires_at}}, status=201, headers={"X-Subject-Token": token}
    )


# -- admin ---------------------------------------------------------------------------


async def _admin_tasks(request: web.Request) -> web.StreamResponse:
    state: SimState = request.app[STATE]
    data = await request.json()
    project_id = data.get("project_id", "sim-project")
    created: list[Script] = []
    if "generate" in data:
        g = data["generate"]
        created = state.generate(
            int(g["count"]),
            project_id=project_id,
            kinds=g.get("kinds", KINDS),
            durations=g.get("durations", "lognormal:10:0.6"),
            queue=g.get("queue", "uniform:0:2"),
            failure_rate=float(g.get("failure_rate", 0.1)),
            seed=g.get("seed"),
        )
    for t in data.get("tasks", []):
        created.append(
            state.add(
                t["kind"],
                project_id=t.get("project_id", project_id),
                dataset_id=t.get("dataset_id"),
                task_id=t.get("task_id"),
                queue=float(t.get("queue", 1.0)),
                run=float(t.get("run", 10.0)),
                outcome=t.get("outcome", "completed"),
                total=int(t.get("total", 1000)),
            )
        )
    return web.json_response({"tasks": [s.describe() for s in created]})


async def _admin_stats(request: web.Request) -> web.StreamResponse:
    state: SimState = request.app[STATE]
    return web.json_response(state.counters.snapshot())


async def _admin_truth(request: web.Request) -> web.StreamResponse:
    state: SimState = request.app[STATE]
    return web.json_response({"tasks": state.truth(), "now": state.clock()})


async def _admin_faults(request: web.Request) -> web.StreamResponse:
    state: SimState = request.app[STATE]
    data = await request.json()
    state.faults = Faults(**data)
    return web.json_response({"total": state.faults.total})


async def _admin_reset(request: web.Request) -> web.StreamResponse:
    state: SimState = request.app[STATE]
    state.tasks.clear()
    state.counters = Counters()
    return web.json_response({})


def make_app(state: SimState) -> web.Application:
    """The aiohttp application serving ``state``."""
    app = web.Application()
    app[STATE] = state
    r = app.router
    r.add_get(_paths.SYNC_STATUS, _sync_status)
    r.add_get(_paths.EXPORT_TASK, _export_status)
    r.add_get(_paths.DATASET_TASK, _task_status)
    r.add_post(_paths.SYNC_START, _start_sync)
    r.add_post(_paths.EXPORT_TASKS, _create_export)
    r.add_post(_paths.IAM_TOKENS, _iam_tokens)
    r.add_post("/_sim/tasks", _admin_tasks)
    r.add_get("/_sim/stats", _admin_stats)
    r.add_get("/_sim/truth", _admin_truth)
    r.add_put("/_sim/faults", _admin_faults)
    r.add_post("/_sim/reset", _admin_reset)
    return app

"""The simulator's aiohttp application: status APIs, start and list calls, IAM, admin."""

from __future__ import annotations

import asyncio
import contextlib
import json
import secrets
from datetime import UTC, datetime
from typing import Any

from aiohttp import web

from . import _actions, _dialect, _starts
from ._config import Faults
from ._dialect import JSON
from ._lifecycle import DATASET_KINDS, DEFAULT_KINDS, Script, body_at, idle_dataset
from ._routes import IAM_PROJECTS, IAM_TOKENS, ID_NAMES, STATUS_PATHS
from ._state import STATE, Counters, SimState

__all__ = ["STATE", "Counters", "SimState", "make_app"]


def _json(body: Any, status: int = 200) -> web.Response:
    return web.Response(status=status, content_type=JSON, text=json.dumps(body))


async def _status(request: web.Request, kind: str) -> web.StreamResponse:
    state: SimState = request.app[STATE]
    project_id = request.match_info["project_id"]
    c = state.counters
    c.requests += 1
    c.per_second[int(state.wall())] += 1
    c.in_flight += 1
    if c.in_flight > c.max_in_flight:
        c.max_in_flight = c.in_flight
    try:
        response = await _answer(request, state, kind, project_id)
    finally:
        c.in_flight -= 1
    c.by_status[response.status] += 1
    return response


async def _answer(
    request: web.Request, state: SimState, kind: str, project_id: str
) -> web.StreamResponse:
    denied = state.check_auth(request, b"", project_id)
    if denied is not None:
        return denied
    info = request.match_info
    ids = tuple(info[name] for name in ID_NAMES[kind])
    key = (kind, project_id, *ids)
    state.counters.per_task[key] += 1
    refused = state.admit(request, project_id)
    if refused is not None:
        return refused
    fault = state.pick_fault(state.faults)
    if fault is not None:
        state.counters.by_fault[fault] += 1
        if fault == "server_error":
            if state.rng.random() < 0.5:
                return _dialect.internal_error()
            return _dialect.backend_unavailable()
        if fault == "reset":
            if request.transport is not None:
                request.transport.abort()  # the client sees the connection drop
            return web.Response(status=599)  # never sent; keeps the counters honest
        if fault == "stall":
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(state.closing.wait(), state.faults.stall_seconds)
        elif fault == "rate_limited":
            limit = state.quota.limit if state.quota is not None else _NOMINAL_LIMIT
            return _dialect.throttled(
                limit, state.config.quota_window, f"{state.faults.retry_after:g}"
            )
        elif fault == "garbage":
            return web.Response(
                status=200, text="<html><body>Bad gateway</body></html>", content_type="text/html"
            )
        elif fault == "wrong_types":
            return web.Response(
                status=200,
                content_type=JSON,
                text='{"status": 12345, "progress": "lots", "task_id": []}',
            )
    if state.config.latency:
        await asyncio.sleep(state.config.latency)
    script = state.tasks.get(key)
    if script is None:
        return _missing(state, kind, project_id, ids)
    return _json(body_at(script, state.clock() - script.created))


# An injected 429 names a limit even when no quota is set; the gateway's usual default.
_NOMINAL_LIMIT = 200


def _missing(state: SimState, kind: str, project_id: str, ids: tuple[str, ...]) -> web.Response:
    if kind in DATASET_KINDS:
        dataset = state.datasets.get((project_id, ids[0]))
        if dataset is None:
            return _dialect.dataset_missing()
        if kind == "sync":
            # A dataset that exists but was never synchronised: "task not found".
            return _json({"status": "NOT_EXIST", "dataset_id": ids[0]})
        if kind == "dataset":
            return _json(idle_dataset(ids[0], dataset.created_ms))
    return _dialect.task_missing(kind, ids[-1])


def _status_handler(kind: str) -> Any:
    async def handler(request: web.Request) -> web.StreamResponse:
        return await _status(request, kind)

    handler.__name__ = f"status_{kind}"
    return handler


async def _iam_tokens(request: web.Request) -> web.StreamResponse:
    state: SimState = request.app[STATE]
    try:
        data = await request.json()
        user = data["auth"]["identity"]["password"]["user"]
        name, password = user["name"], user["password"]
    except (ValueError, KeyError, TypeError):
        return _dialect.iam_bad_request()
    if state.config.users.get(name) != password:
        return _dialect.iam_unauthorized()
    token = "sim-" + secrets.token_urlsafe(24)
    expires = state.wall() + state.config.token_lifetime
    state.tokens[token] = expires
    expires_at = datetime.fromtimestamp(expires, tz=UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")
    return web.json_response(
        {"token": {"expires_at": expires_at}}, status=201, headers={"X-Subject-Token": token}
    )


async def _iam_projects(request: web.Request) -> web.StreamResponse:
    """IAM's project list, filtered by ``name``: the project of a region, from
    ``SimulatorConfig.region_projects`` (none for a region it does not name)."""
    state: SimState = request.app[STATE]
    name = request.query.get("name")
    found = state.config.region_projects.get(name) if name is not None else None
    allowed = state.config.projects
    scope = found if found is not None else next(iter(allowed or {""}), "")
    denied = state.check_auth(request, await request.read(), scope)
    if denied is not None:
        return denied
    base = f"{request.scheme}://{request.host}{IAM_PROJECTS}"
    projects = []
    if found is not None:
        projects.append(
            {
                "id": found,
                "name": name,
                "domain_id": "sim-domain",
                "parent_id": "sim-domain",
                "is_domain": False,
                "enabled": True,
                "description": "",
                "links": {"self": f"{base}/{found}"},
            }
        )
    return web.json_response(
        {"projects": projects, "links": {"self": str(request.url), "previous": None, "next": None}}
    )


# -- admin ---------------------------------------------------------------------------

_OWN_ID_KEYS = (
    "version_id",
    "training_job_id",
    "model_id",
    "service_id",
    "notebook_id",
    "server_id",
    "pool_name",
    "execution_id",
    "workflow_id",
)


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
            kinds=g.get("kinds", DEFAULT_KINDS),
            durations=g.get("durations", "lognormal:10:0.6"),
            queue=g.get("queue", "uniform:0:2"),
            failure_rate=float(g.get("failure_rate", 0.1)),
            seed=g.get("seed"),
        )
    for t in data.get("tasks", []):
        own_ids = {k: t[k] for k in _OWN_ID_KEYS if t.get(k) is not None}
        created.append(
            state.add(
                t["kind"],
                project_id=t.get("project_id", project_id),
                queue=float(t.get("queue", 1.0)),
                run=float(t.get("run", 10.0)),
                outcome=t.get("outcome", "completed"),
                total=int(t.get("total", 1000)),
                dataset_id=t.get("dataset_id"),
                task_id=t.get("task_id"),
                ids=t.get("ids"),
                own_ids=own_ids,
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
    state.reset()
    return web.json_response({})


async def _stamp(request: web.Request, response: web.StreamResponse) -> None:
    """Every answer carries a request ID, and ModelArts answers the quota headers."""
    if "X-Request-Id" not in response.headers:
        response.headers["X-Request-Id"] = _dialect.request_id()
    # Every ModelArts answer (its paths all name a project) advertises the quota, with
    # what is left of it after this request.
    state = request.app[STATE]
    project_id = request.match_info.get("project_id")
    if state.quota is not None and project_id is not None:
        remaining = state.quota.remaining(project_id, state.wall())
        response.headers.update(state.quota.headers(remaining))


def make_app(state: SimState) -> web.Application:
    """The aiohttp application serving ``state``."""
    app = web.Application()
    app[STATE] = state
    app.on_response_prepare.append(_stamp)
    r = app.router
    for kind, path in STATUS_PATHS.items():
        r.add_get(path, _status_handler(kind))
    _starts.add_routes(r)
    _actions.add_routes(r)
    r.add_post(IAM_TOKENS, _iam_tokens)
    r.add_get(IAM_PROJECTS, _iam_projects)
    r.add_post("/_sim/tasks", _admin_tasks)
    r.add_get("/_sim/stats", _admin_stats)
    r.add_get("/_sim/truth", _admin_truth)
    r.add_put("/_sim/faults", _admin_faults)
    r.add_post("/_sim/reset", _admin_reset)
    return app

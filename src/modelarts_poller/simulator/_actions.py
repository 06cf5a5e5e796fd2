"""Create, start, stop and list calls of the resources that live on, and of training jobs.

Each call is at the official SDK's path and method (``_routes``). A start or stop call
re-bases the resource's script on the new operation, so its answers stay a pure function
of the script and the time since the operation began.
"""

from __future__ import annotations

import json
import math
from typing import Any

from aiohttp import web

from . import _dialect
from ._dialect import JSON
from ._lifecycle import Script, body_at, draw_duration, parse_durations, stage
from ._living import LIST_ITEMS, action
from ._routes import CREATE_PATHS, ID_NAMES, START_CALLS, STOP_CALLS, TRAINING_JOB_SEARCHES
from ._state import STATE, SimState

# How long each operation runs when a call starts it (seconds; drawn per call). Realistic
# orders: a notebook starts in tens of seconds, a service deploys in minutes, a pool is
# created in tens of minutes, workflow runs spread lognormally. Tests move the simulator's
# injectable clock instead of waiting.
RUN: dict[str, dict[str, str]] = {
    "infer_service": {"create": "lognormal:180:0.4", "start": "lognormal:120:0.4"},
    "notebook": {"create": "lognormal:60:0.3", "start": "lognormal:30:0.3"},
    "dev_server": {"create": "lognormal:600:0.3", "start": "lognormal:90:0.3"},
    "pool": {"create": "lognormal:1800:0.3"},
    "workflow_execution": {"create": "lognormal:600:0.8"},
    "training_job": {"create": "lognormal:600:0.6"},
}
STOP_RUN = "lognormal:15:0.3"
# Paging: record offset from 0 and limit per kind (training-job searches: page index).
_MAX_LIMIT = {"training_job": 50}


def _json(body: Any, status: int = 200) -> web.Response:
    return web.Response(status=status, content_type=JSON, text=json.dumps(body))


async def _admitted(request: web.Request) -> tuple[SimState, bytes, str] | web.Response:
    state = request.app[STATE]
    body = await request.read()
    project_id = request.match_info["project_id"]
    denied = state.check_auth(request, body, project_id)
    if denied is None:
        denied = state.admit(request, project_id)
    if denied is not None:
        return denied
    return state, body, project_id


def _object(body: bytes) -> dict[str, Any] | None:
    """The JSON object in a body (``{}`` for none), or None when it is not one."""
    if not body.strip():
        return {}
    try:
        data = json.loads(body)
    except ValueError:
        return None
    return data if isinstance(data, dict) else None


def _now_body(state: SimState, script: Script) -> dict[str, Any]:
    return body_at(script, state.clock() - script.created)


# -- create -----------------------------------------------------------------------------------


def _creator(kind: str) -> Any:
    async def create(request: web.Request) -> web.StreamResponse:
        checked = await _admitted(request)
        if isinstance(checked, web.Response):
            return checked
        state, raw, project_id = checked
        if _object(raw) is None:
            return _dialect.parameter_error()
        own: dict[str, str] = {}
        if kind == "workflow_execution":
            own["workflow_id"] = request.match_info["workflow_id"]
        run = draw_duration(parse_durations(RUN[kind]["create"]), state.rng)
        script = state.add(kind, project_id=project_id, run=run, own_ids=own)
        return _json(_now_body(state, script), status=201 if kind == "training_job" else 200)

    create.__name__ = f"create_{kind}"
    return create


# -- start and stop ---------------------------------------------------------------------------


def _find(request: web.Request, state: SimState, kind: str) -> Script | web.Response:
    project_id = request.match_info["project_id"]
    ids = tuple(request.match_info[name] for name in ID_NAMES[kind])
    script = state.tasks.get((kind, project_id, *ids))
    return _dialect.task_missing(kind, ids[-1]) if script is None else script


def _rebase(state: SimState, script: Script, operation: str, run: float) -> None:
    """Begin ``operation`` on ``script`` now; it ends as completed after ``run`` seconds."""
    now = state.clock()
    previous = _now_body(state, script)
    params = dict(script.params or {})
    params.setdefault("born_ms", script.created_ms)
    if script.kind == "training_job":
        status = previous["status"]
        params["started_ms"] = status["start_time"]
        params["ran_before"] = status["duration"] / 1000
    elif script.kind == "workflow_execution":
        params["ran_before"] = params.get("ran_before", 0.0) + max(
            0.0, min(now - script.created, script.queue + script.run) - script.queue
        )
    params["action"] = operation
    script.params = params
    script.created = now
    script.created_ms = int(state.wall() * 1000)
    script.queue = 0.0
    script.run = run
    script.outcome = "completed"


def _where(state: SimState, script: Script) -> tuple[str, int]:
    """The operation under way and its stage (0-2 under way, 3 completed, 4 failed)."""
    return action(script), stage(script, state.clock() - script.created)[0]


def _start_refusal(state: SimState, script: Script) -> web.Response | None:
    """None when a start may begin; else the answer (a refusal, or the unchanged body)."""
    operation, st = _where(state, script)
    running = st == 3 and operation != "stop"
    if st == 4 or (st == 3 and operation == "stop"):
        return None
    if script.kind == "notebook":
        if running:
            return _dialect.notebook_refusal("running")
        return _dialect.notebook_refusal("stopping" if operation == "stop" else "starting")
    # No refusal is published here: the call answers the resource as it is.
    return _json(_now_body(state, script))


def _stop_refusal(state: SimState, script: Script) -> web.Response | None:
    operation, st = _where(state, script)
    stopped = operation == "stop"
    if script.kind == "training_job":
        return _dialect.not_allowed_to_terminate() if st >= 3 or stopped else None
    if script.kind == "workflow_execution":
        return _json(_now_body(state, script)) if st >= 3 or stopped else None
    if not stopped and st >= 3:
        return None  # running, or failed: it may be stopped
    if script.kind == "notebook":
        if stopped:
            return _dialect.notebook_refusal("stopped" if st >= 3 else "stopping")
        return None if operation == "create" and st < 3 else _dialect.notebook_refusal("starting")
    return _json(_now_body(state, script)) if stopped else None


def _mover(kind: str, operation: str) -> Any:
    async def move(request: web.Request) -> web.StreamResponse:
        checked = await _admitted(request)
        if isinstance(checked, web.Response):
            return checked
        state, raw, _ = checked
        data = _object(raw)
        if data is None:
            return _dialect.parameter_error()
        if kind == "workflow_execution" and data.get("action_name") != "stop":
            return _dialect.parameter_error()  # rerun is not simulated
        if kind == "training_job" and data.get("action_type") != "terminate":
            return _dialect.parameter_error()
        found = _find(request, state, kind)
        if isinstance(found, web.Response):
            return found
        refusal = (_start_refusal if operation == "start" else _stop_refusal)(state, found)
        if refusal is not None:
            return refusal
        spec = RUN[kind]["start"] if operation == "start" else STOP_RUN
        _rebase(state, found, operation, draw_duration(parse_durations(spec), state.rng))
        return _json(_now_body(state, found))

    move.__name__ = f"{operation}_{kind}"
    return move


# -- lists ------------------------------------------------------------------------------------


def _paging(kind: str, source: Any) -> tuple[int, int] | None:
    try:
        offset = int(source.get("offset", 0))
        limit = int(source.get("limit", 10))
    except (TypeError, ValueError):
        return None
    if offset < 0 or not 1 <= limit <= _MAX_LIMIT.get(kind, 1000):
        return None
    return offset, limit


def _items(state: SimState, kind: str, scripts: list[Script]) -> list[dict[str, Any]]:
    now = state.clock()
    item = LIST_ITEMS.get(kind)
    if item is None:
        return [body_at(s, now - s.created) for s in scripts]
    out = []
    for s in scripts:
        st, fraction = stage(s, now - s.created)
        out.append(item(s, now - s.created, st, fraction))
    return out


def _lister(kind: str) -> Any:
    async def list_(request: web.Request) -> web.StreamResponse:
        checked = await _admitted(request)
        if isinstance(checked, web.Response):
            return checked
        state, raw, project_id = checked
        state.counters.lists[kind] += 1
        if kind == "training_job":
            query: Any = _object(raw)
            if query is None:
                return _dialect.parameter_error()
        else:
            query = request.query
        page = _paging(kind, query)
        if page is None:
            return _dialect.parameter_error()
        offset, limit = page
        parent = request.match_info.get("workflow_id")
        items = _items(state, kind, state.listed_tasks(kind, project_id, parent))
        wanted = query.get("status")
        if wanted and kind != "training_job":
            items = [i for i in items if _status_of(kind, i) == wanted]
        total = len(items)
        if kind == "pool":
            return _json({"apiVersion": "v2", "kind": "PoolList", "items": items})
        if kind == "training_job":
            chunk = items[offset * limit : (offset + 1) * limit]
            return _json(
                {
                    "total": total,
                    "count": len(chunk),
                    "limit": limit,
                    "offset": offset,
                    "sort_by": "create_time",
                    "order": "asc",
                    "items": chunk,
                }
            )
        chunk = items[offset : offset + limit]
        if kind == "workflow_execution":
            return _json({"total": total, "count": len(chunk), "items": chunk})
        return _json(
            {
                "data": chunk,
                "current": offset // limit,
                "size": len(chunk),
                "pages": math.ceil(total / limit),
                "total": total,
            }
        )

    list_.__name__ = f"list_{kind}"
    return list_


def _status_of(kind: str, item: dict[str, Any]) -> Any:
    return item["status"]["phase"] if kind == "pool" else item.get("status")


def add_routes(r: web.UrlDispatcher) -> None:
    for kind, path in CREATE_PATHS.items():
        r.add_post(path, _creator(kind))
        if kind != "training_job":
            r.add_get(path, _lister(kind))
    r.add_post(TRAINING_JOB_SEARCHES, _lister("training_job"))
    for calls, operation in ((START_CALLS, "start"), (STOP_CALLS, "stop")):
        for kind, (method, path) in calls.items():
            r.add_route(method, path, _mover(kind, operation))

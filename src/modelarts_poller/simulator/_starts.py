"""Start and list calls: what creates tasks over HTTP, validated like the published API."""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from typing import Any

from aiohttp import web

from . import _dialect
from ._dialect import JSON
from ._lifecycle import Script, body_at, draw_duration, parse_durations
from ._routes import (
    EXPORT_TASKS,
    IMPORT_TASKS,
    INTELLIGENT_TASKS,
    SYNC_START,
    V1_SYNC,
    V1_VERSIONS,
    VERSIONS,
)
from ._state import STATE, SimState

_RUN = {
    "sync": "lognormal:10:0.5",
    "export": "lognormal:15:0.5",
    "import": "lognormal:15:0.5",
    "version": "lognormal:10:0.5",
    "intelligent_task": "lognormal:30:0.5",
    "dataset_task": "lognormal:10:0.5",
}
_VERSION_NAME = re.compile(r"[A-Za-z0-9_-]{1,32}")
_OBS_PREFIXES = ("/", "obs://", "s3://")


def _json(body: Any, status: int = 200) -> web.Response:
    return web.Response(status=status, content_type=JSON, text=json.dumps(body))


def _int_in(value: object, low: int, high: int) -> bool:
    return isinstance(value, int) and not isinstance(value, bool) and low <= value <= high


async def _admitted(
    request: web.Request,
) -> tuple[SimState, bytes, str, str] | web.Response:
    """State, body, project and dataset of a request that passes credentials and quota,
    or the refusal."""
    state = request.app[STATE]
    body = await request.read()
    project_id = request.match_info["project_id"]
    denied = state.check_auth(request, body, project_id)
    if denied is None:
        denied = state.admit(request, project_id)
    if denied is not None:
        return denied
    return state, body, project_id, request.match_info["dataset_id"]


def _object(body: bytes, *, required: bool) -> dict[str, Any] | None:
    """The JSON object in a request body; ``{}`` for no body unless one is required; None
    when it is not a JSON object."""
    if not body.strip():
        return None if required else {}
    try:
        data = json.loads(body)
    except ValueError:
        return None
    return data if isinstance(data, dict) else None


def _start(
    state: SimState, kind: str, project_id: str, dataset_id: str | None, **kw: Any
) -> Script:
    run = draw_duration(parse_durations(_RUN[kind]), state.rng)
    return state.add(kind, project_id=project_id, dataset_id=dataset_id, run=run, **kw)


def _sync_conflict(state: SimState, project_id: str, dataset_id: str) -> bool:
    return state.running(state.tasks.get(("sync", project_id, dataset_id))) or state.running(
        state.v1_syncs.get((project_id, dataset_id))
    )


# -- v2 starts -------------------------------------------------------------------------------


async def _start_sync(request: web.Request) -> web.StreamResponse:
    checked = await _admitted(request)
    if isinstance(checked, web.Response):
        return checked
    state, _, project_id, dataset_id = checked
    if _sync_conflict(state, project_id, dataset_id):
        return _dialect.sync_running()
    _start(state, "sync", project_id, dataset_id)
    return web.Response(status=200)


def _export_problem(data: dict[str, Any]) -> web.Response | None:
    path = data.get("path")
    # "Mandatory when data is exported to OBS or a new dataset", i.e. for either export_dest.
    if not isinstance(path, str) or not path.startswith(_OBS_PREFIXES) or len(path) < 2:
        return _dialect.invalid_export_path()
    checks: tuple[tuple[str, Callable[[Any], bool]], ...] = (
        ("export_type", lambda v: _int_in(v, 0, 3)),
        ("export_format", lambda v: _int_in(v, 1, 2)),
        ("annotation_format", lambda v: v in ("VOC", "COCO")),
        ("version_format", lambda v: v in ("Default", "CarbonData", "CSV")),
        ("source_type_header", lambda v: v in ("obs://", "s3://")),
        ("with_column_header", lambda v: isinstance(v, bool)),
        ("sample_state", lambda v: isinstance(v, str)),
        ("version_id", lambda v: isinstance(v, str)),
    )
    for name, ok in checks:
        if name in data and not ok(data[name]):
            return _dialect.invalid_export_parameter()
    params = data.get("export_params")
    if params is not None:
        if not isinstance(params, dict):
            return _dialect.invalid_export_parameter()
        if params.get("export_dest", "DIR") not in ("DIR", "NEW_DATASET"):
            return _dialect.invalid_export_parameter()
    return None


async def _create_export(request: web.Request) -> web.StreamResponse:
    checked = await _admitted(request)
    if isinstance(checked, web.Response):
        return checked
    state, body, project_id, dataset_id = checked
    data = _object(body, required=True)
    if data is None:
        return _dialect.parameter_error()
    problem = _export_problem(data)
    if problem is not None:
        return problem
    params = _present(data, ("path", "export_type", "export_format", "version_format"))
    script = _start(state, "export", project_id, dataset_id, params=params)
    return _json({"task_id": script.task_id})


def _present(data: dict[str, Any], keys: Any) -> dict[str, Any]:
    return {k: data[k] for k in keys if k in data}


async def _create_import(request: web.Request) -> web.StreamResponse:
    checked = await _admitted(request)
    if isinstance(checked, web.Response):
        return checked
    state, body, project_id, dataset_id = checked
    data = _object(body, required=True)
    if data is None:
        return _dialect.parameter_error()
    path = data.get("import_path")  # the one mandatory field
    if not isinstance(path, str) or not path:
        return _dialect.parameter_error()
    if data.get("import_type", "dir") not in ("dir", "manifest"):
        return _dialect.parameter_error()
    ds = state.dataset(project_id, dataset_id)
    if any(state.running(s) for s in ds.imports):
        return _dialect.import_running()
    script = _start(
        state,
        "import",
        project_id,
        dataset_id,
        params=_present(data, ("import_path", "import_type")),
    )
    return _json({"task_id": script.task_id})


def _version_problem(
    state: SimState, project_id: str, dataset_id: str, data: dict[str, Any]
) -> web.Response | None:
    name = data.get("version_name")
    if name is not None and not (isinstance(name, str) and _VERSION_NAME.fullmatch(name)):
        return _dialect.parameter_error()
    if data.get("version_format", "Default") not in ("Default", "CarbonData", "CSV"):
        return _dialect.parameter_error()
    interval = state.config.version_interval
    last = state.last_version.get((project_id, dataset_id))
    if interval and last is not None and state.clock() - last < interval:
        return _dialect.version_too_soon()
    return None


async def _create_version(request: web.Request) -> web.StreamResponse:
    checked = await _admitted(request)
    if isinstance(checked, web.Response):
        return checked
    state, body, project_id, dataset_id = checked
    data = _object(body, required=False)
    if data is None:
        return _dialect.parameter_error()
    problem = _version_problem(state, project_id, dataset_id, data)
    if problem is not None:
        return problem
    state.last_version[(project_id, dataset_id)] = state.clock()
    params = _present(data, ("version_name", "version_format", "description"))
    script = _start(state, "version", project_id, dataset_id, params=params)
    return _json({"version_id": script.task_id}, status=201)


async def _start_intelligent(request: web.Request) -> web.StreamResponse:
    checked = await _admitted(request)
    if isinstance(checked, web.Response):
        return checked
    state, body, project_id, dataset_id = checked
    data = _object(body, required=False)
    if data is None:
        return _dialect.parameter_error()
    if data.get("task_type", "auto-label") not in ("auto-label", "pre-label", "auto-grouping"):
        return _dialect.parameter_error()
    if "config" in data and not isinstance(data["config"], dict):
        return _dialect.parameter_error()
    script = _start(state, "intelligent_task", project_id, dataset_id)
    return _json({"task_id": script.task_id})


# -- v1 starts (answer a dataset_task ID) --------------------------------------------------


async def _v1_sync(request: web.Request) -> web.StreamResponse:
    checked = await _admitted(request)
    if isinstance(checked, web.Response):
        return checked
    state, _, project_id, dataset_id = checked
    if _sync_conflict(state, project_id, dataset_id):
        return _dialect.sync_running()
    state.dataset(project_id, dataset_id)
    script = _start(state, "dataset_task", project_id, None)
    state.v1_syncs[(project_id, dataset_id)] = script
    return _json({"task_id": script.task_id})


async def _v1_version(request: web.Request) -> web.StreamResponse:
    checked = await _admitted(request)
    if isinstance(checked, web.Response):
        return checked
    state, body, project_id, dataset_id = checked
    data = _object(body, required=False)
    if data is None:
        return _dialect.parameter_error()
    problem = _version_problem(state, project_id, dataset_id, data)
    if problem is not None:
        return problem
    state.last_version[(project_id, dataset_id)] = state.clock()
    state.dataset(project_id, dataset_id)
    params = {
        "result": "createVersionSuccess",
        "new_version_id": state.new_id("ver"),
        "version_name": data.get("version_name", "V001"),
    }
    script = _start(state, "dataset_task", project_id, None, params=params)
    return _json({"task_id": script.task_id})


# -- lists -----------------------------------------------------------------------------------


def _page(request: web.Request) -> tuple[int, int] | None:
    """``(offset, limit)``: offset is a page index from 0, limit 1..100 (default 10)."""
    try:
        offset = int(request.query.get("offset", "0"))
        limit = int(request.query.get("limit", "10"))
    except ValueError:
        return None
    if offset < 0 or not 1 <= limit <= 100:
        return None
    return offset, limit


async def _list(request: web.Request, kind: str, key: str) -> web.StreamResponse:
    state: SimState = request.app[STATE]
    project_id = request.match_info["project_id"]
    denied = state.check_auth(request, b"", project_id)
    if denied is None:
        denied = state.admit(request, project_id)
    if denied is not None:
        return denied
    state.counters.lists[kind] += 1
    page = _page(request)
    if page is None:
        return _dialect.parameter_error()
    ds = state.datasets.get((project_id, request.match_info["dataset_id"]))
    if ds is None:
        return _dialect.dataset_missing()
    now = state.clock()
    bodies = [body_at(s, now - s.created) for s in (ds.exports if kind == "export" else ds.imports)]
    if kind == "export" and "export_type" in request.query:
        try:
            wanted = int(request.query["export_type"])
        except ValueError:
            return _dialect.parameter_error()
        if not 0 <= wanted <= 3:
            return _dialect.parameter_error()
        bodies = [b for b in bodies if b.get("export_type") == wanted]
    offset, limit = page
    return _json({"total_count": len(bodies), key: bodies[offset * limit : (offset + 1) * limit]})


async def _list_exports(request: web.Request) -> web.StreamResponse:
    return await _list(request, "export", "export_tasks")


async def _list_imports(request: web.Request) -> web.StreamResponse:
    return await _list(request, "import", "import_tasks")


def add_routes(r: web.UrlDispatcher) -> None:
    r.add_post(SYNC_START, _start_sync)
    r.add_post(EXPORT_TASKS, _create_export)
    r.add_get(EXPORT_TASKS, _list_exports)
    r.add_post(IMPORT_TASKS, _create_import)
    r.add_get(IMPORT_TASKS, _list_imports)
    r.add_post(VERSIONS, _create_version)
    r.add_post(INTELLIGENT_TASKS, _start_intelligent)
    r.add_post(V1_SYNC, _v1_sync)
    r.add_post(V1_VERSIONS, _v1_version)

"""Scripted task lifecycles: a pure function from (script, elapsed time) to a response body.

A task waits ``queue`` seconds, runs ``run`` seconds with progress and counts rising
linearly, then ends as its ``outcome`` says. A task scripted to fail rises only to
``FAIL_AT`` of its work and stops there, so progress never goes backwards. Bodies have
the published field names, types and status values of each kind's status API.
"""

from __future__ import annotations

import math
import random
from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Any

from .._errors import InvalidArgumentError
from .._kind import Kind, get_kind
from .._specs import TaskSpec
from ._living import LIVING_BODIES
from ._routes import ID_NAMES

KINDS = tuple(ID_NAMES)
# What generate() makes when no kinds are named: the kinds spec_of() can watch.
DEFAULT_KINDS = ("sync", "export", "dataset_task")
OUTCOMES = ("completed", "failed")
# The share of its work a failing task gets through before it fails.
FAIL_AT = 0.6
# Kinds whose path starts with a dataset ID.
DATASET_KINDS = frozenset(k for k, names in ID_NAMES.items() if names[0] == "dataset_id")
# Kinds whose path has an ID of their own (held in Script.task_id).
OWN_ID_KINDS = frozenset(k for k, names in ID_NAMES.items() if names[-1] != "dataset_id")
# Kinds whose path has a parent ID other than a dataset's (a workflow's), in Script.parent_id.
PARENT_KINDS = frozenset(
    k for k, names in ID_NAMES.items() if len(names) == 2 and names[0] != "dataset_id"
)

# Status values per kind and stage: queued, starting, running, completed, failed.
STATUS: dict[str, tuple[Any, Any, Any, Any, Any]] = {
    "sync": ("QUEUING", "STARTING", "RUNNING", "COMPLETED", "FAILED"),
    "export": ("INIT", "RUNNING", "RUNNING", "SUCCESSED", "FAILED"),
    "dataset_task": ("PENDING", "STARTED", "RUNNING", "SUCCESS", "FAILURE"),
    "import": ("QUEUING", "STARTING", "RUNNING", "COMPLETED", "FAILED"),
    # 0 creating, 1 normal, 4 error
    "version": (0, 0, 0, 1, 4),
    # 0 creating, 8 importing, 1 normal, 4 abnormal
    "dataset": (0, 8, 8, 1, 4),
    # -1 queuing, 0 initializing, 1 running, 3 succeeded, 2 failed
    "intelligent_task": (-1, 0, 1, 3, 2),
    # 0 initialized, 1 running, 2 completed, 3 failed
    "processing_task": (0, 1, 1, 2, 3),
    # a queued job is Creating for the first half of its queue time, then Pending
    "training_job": ("Pending", "Running", "Running", "Completed", "Failed"),
    # a job stopped by its actions call (terminate)
    "training_job_stop": ("Terminating", "Terminating", "Terminating", "Terminated", "Failed"),
    "model": ("publishing", "publishing", "building", "published", "failed"),
    # a queued real-time service is waiting (queuing for resources), as published
    "service": ("waiting", "deploying", "deploying", "running", "failed"),
}

# Published codes and messages a failed task reports (ModelArts error-code table).
_OBS_BUCKET = ("ModelArts.4311", "OBS bucket does not exist")
_OBS_PATH = ("ModelArts.4312", "OBS path does not exist")
_TASK_FAILED_400 = ("ModelArts.4392", "Task failed")
_TASK_FAILED_500 = ("ModelArts.4614", "Task failed")
FAILURES: dict[str, tuple[tuple[str, str], ...]] = {
    "sync": (_OBS_BUCKET, _OBS_PATH, ("ModelArts.4360", "Sync data source error")),
    "export": (_OBS_BUCKET, _OBS_PATH, _TASK_FAILED_400),
    "dataset_task": (_OBS_PATH, _TASK_FAILED_400, _TASK_FAILED_500),
    "import": (_OBS_BUCKET, _OBS_PATH, _TASK_FAILED_400),
    "intelligent_task": (_OBS_PATH, _TASK_FAILED_400, _TASK_FAILED_500),
}
# Kinds whose failure is told in words only (the API has no error code field there).
_FAILURE_TEXT: dict[str, tuple[str, str, str]] = {
    "version": ("OBS path does not exist", "Task failed", "Obs error"),
    "processing_task": ("OBS path does not exist", "Task failed", "Obs error"),
    "training_job": (
        "worker-0 exited with code 1",
        "worker-0 exited with code 137 (out of memory)",
        "worker-0 lost its node",
    ),
    "service": (
        "Failed to deploy the service.",
        "The instance failed its health check.",
        "Insufficient resources in the pool.",
    ),
}
_EXIT_CODES = (1, 137, 255)
# The result of a successful v1 task, by what started it.
V1_RESULTS = ("syncOrCheckoutsuccess", "createVersionSuccess")


class Script:
    """One simulated task. Small on purpose (slots): benchmarks create 100k+ of them.

    ``dataset_id`` is set for kinds whose path has one, ``parent_id`` for a workflow
    execution (its workflow); ``task_id`` holds the kind's own ID (task, version, training
    job, model, service, notebook, server or execution ID, a pool's name; for ``sync`` the
    ID the sync status reports). ``params`` are what the start call asked for, echoed in the
    body, and for resources that live on the operation under way (``"action"``).
    """

    __slots__ = (
        "created",
        "created_ms",
        "dataset_id",
        "failure",
        "kind",
        "outcome",
        "params",
        "parent_id",
        "project_id",
        "queue",
        "run",
        "task_id",
        "total",
    )

    def __init__(
        self,
        kind: str,
        *,
        project_id: str,
        dataset_id: str | None,
        task_id: str | None,
        created: float,
        created_ms: int,
        queue: float,
        run: float,
        outcome: str,
        total: int,
        failure: int = 0,
        params: Mapping[str, Any] | None = None,
        parent_id: str | None = None,
        _trusted: bool = False,
    ) -> None:
        if not _trusted:  # bulk creation checks its arguments once, not per script
            _check(kind, outcome, queue, run, total)
        self.kind = kind
        self.project_id = project_id
        self.dataset_id = dataset_id
        self.task_id = task_id
        self.created = created
        self.created_ms = created_ms
        self.queue = float(queue)
        self.run = float(run)
        self.outcome = outcome
        self.total = total
        self.failure = failure % 3
        self.params = dict(params) if params else None
        self.parent_id = parent_id

    @property
    def finishes(self) -> float:
        """When (simulator clock) the task reaches its outcome."""
        return self.created + self.queue + self.run

    @property
    def ids(self) -> tuple[str, ...]:
        """The task's IDs in its status path's order (see the kinds table)."""
        kind = self.kind
        if kind in PARENT_KINDS:
            return (self.parent_id or "", self.task_id or "")
        if kind in DATASET_KINDS:
            if kind in OWN_ID_KINDS:
                return (self.dataset_id or "", self.task_id or "")
            return (self.dataset_id or "",)
        return (self.task_id or "",)

    def key(self) -> tuple[str, ...]:
        return (self.kind, self.project_id, *self.ids)

    def describe(self) -> dict[str, Any]:
        out: dict[str, Any] = {"kind": self.kind, "project_id": self.project_id}
        if self.dataset_id is not None:
            out["dataset_id"] = self.dataset_id
        if self.parent_id is not None:
            out[ID_NAMES[self.kind][0]] = self.parent_id
        if self.task_id is not None:
            out["task_id"] = self.task_id
            own = ID_NAMES[self.kind][-1]
            if own not in ("task_id", "dataset_id"):
                out[own] = self.task_id
        out.update(
            ids=list(self.ids), outcome=self.outcome, finishes=self.finishes, total=self.total
        )
        return out


def _check(kind: str, outcome: str, queue: float, run: float, total: int) -> None:
    if kind not in KINDS:
        raise InvalidArgumentError(f"kind must be one of {', '.join(KINDS)}, got {kind!r}")
    if outcome not in OUTCOMES:
        raise InvalidArgumentError(f"outcome must be 'completed' or 'failed', got {outcome!r}")
    for name, value in (("queue", queue), ("run", run)):
        if not (isinstance(value, int | float) and math.isfinite(value) and value >= 0):
            raise InvalidArgumentError(f"{name} must be a number of seconds >= 0")
    if isinstance(total, bool) or not isinstance(total, int) or total < 0:
        raise InvalidArgumentError(f"total must be an int >= 0, got {total!r}")


def spec_of(task: Script | Mapping[str, Any]) -> TaskSpec[Any]:
    """The spec that watches a scripted task of any kind, from its :class:`Script` or its
    description (``sim.truth()``, the admin endpoints). It polls the client's own project.

    The spec comes from the library's kind registry; the IDs from the simulator's own table.
    A kind the simulator serves but the library does not declare raises
    :class:`InvalidArgumentError` saying so.
    """
    if isinstance(task, Script):
        return _library_kind(task.kind).spec(*task.ids)
    if not isinstance(task, Mapping):
        raise InvalidArgumentError(f"task must be a Script or a mapping, got {task!r}")
    kind = task.get("kind")
    if kind not in KINDS:
        raise InvalidArgumentError(f"kind must be one of {', '.join(KINDS)}, got {kind!r}")
    ids = []
    for name in ID_NAMES[str(kind)]:
        value = task.get(name)
        if value is None and name not in ("dataset_id", "task_id"):
            value = task.get("task_id")  # descriptions carry a kind's own ID as task_id too
        if value is None:
            raise InvalidArgumentError(f"a {kind} task needs {name}")
        ids.append(value)
    return _library_kind(str(kind)).spec(*ids)


def _library_kind(kind: str) -> Kind:
    try:
        return get_kind(kind)
    except InvalidArgumentError:
        raise InvalidArgumentError(
            f"the simulator serves kind {kind!r}, but the library declares no such kind "
            "to watch it with yet"
        ) from None


def stage(script: Script, elapsed: float) -> tuple[int, float]:
    """``(stage, fraction)``: 0 queued, 1 starting, 2 running, 3 completed, 4 failed."""
    if elapsed < script.queue:
        return 0, 0.0
    ran = elapsed - script.queue
    if ran < script.run:
        fraction = ran / script.run
        return (1 if fraction < 0.05 else 2), fraction
    return (3 if script.outcome == "completed" else 4), 1.0


def body_at(script: Script, elapsed: float) -> dict[str, Any]:
    """The status body of ``script`` ``elapsed`` seconds after it was created."""
    st, fraction = stage(script, elapsed)
    if script.outcome == "failed":
        fraction *= FAIL_AT
    return _BODIES[script.kind](script, elapsed, st, fraction)


def _running_s(script: Script, elapsed: float) -> float:
    """Seconds the task has run (not counting its queue time), up to its end."""
    return max(0.0, min(elapsed, script.queue + script.run) - script.queue)


def _updated_ms(script: Script, elapsed: float) -> int:
    return script.created_ms + int(min(elapsed, script.queue + script.run) * 1000)


def _coded_failure(script: Script, body: dict[str, Any]) -> tuple[str, str]:
    code, msg = FAILURES[script.kind][script.failure]
    body["error_code"] = code
    body["error_msg"] = msg
    return code, msg


def _sync(script: Script, elapsed: float, st: int, fraction: float) -> dict[str, Any]:
    done = int(script.total * fraction)
    body: dict[str, Any] = {
        "status": STATUS["sync"][st],
        "dataset_id": script.dataset_id,
        "task_id": script.task_id,
        "create_time": script.created_ms,
        # The unit is not published; milliseconds, like every other duration here.
        "duration_time": int(_running_s(script, elapsed) * 1000),
        "add_sample_count": done,
        "deleted_sample_count": done // 50,
        "total_sample_count": script.total,
    }
    if st == 4:
        _coded_failure(script, body)
    return body


def _export(script: Script, elapsed: float, st: int, fraction: float) -> dict[str, Any]:
    params = script.params or {}
    body: dict[str, Any] = {
        "task_id": script.task_id,
        "path": params.get("path", f"/sim-bucket/exports/{script.dataset_id}/"),
        "export_type": params.get("export_type", 2),
        "version_format": params.get("version_format", "Default"),
        "export_format": params.get("export_format", 2),
        "export_params": {
            "sample_state": "",
            "export_dest": "DIR",
            "clear_hard_property": True,
            "train_sample_ratio": 1.0,
            "ratio_sample_usage": False,
        },
        "status": STATUS["export"][st],
        "progress": round(100.0 * fraction, 1),
        "finished_sample_count": int(script.total * fraction),
        "total_sample_count": script.total,
        "create_time": script.created_ms,
        "update_time": _updated_ms(script, elapsed),
    }
    if st == 4:
        _coded_failure(script, body)
    return body


def _dataset_task(script: Script, elapsed: float, st: int, fraction: float) -> dict[str, Any]:
    body: dict[str, Any] = {"status": STATUS["dataset_task"][st]}
    if st == 3:
        params = script.params or {}
        if params.get("result") == "createVersionSuccess":
            body["result"] = {
                "createVersionSuccess": {
                    "new_version_id": params.get("new_version_id", ""),
                    "version_name": params.get("version_name", "V001"),
                    "file_count": script.total,
                    "create_time": _updated_ms(script, elapsed),
                }
            }
        else:
            body["result"] = {"syncOrCheckoutsuccess": {}}
    elif st == 4:
        code, msg = _coded_failure(script, body)
        body["result"] = {"failed": [{"error_code": code, "error_msg": msg}]}
    return body


def _import(script: Script, elapsed: float, st: int, fraction: float) -> dict[str, Any]:
    params = script.params or {}
    done = int(script.total * fraction)
    body: dict[str, Any] = {
        "status": STATUS["import"][st],
        "task_id": script.task_id,
        "dataset_id": script.dataset_id,
        "import_path": params.get("import_path", f"obs://sim-bucket/imports/{script.dataset_id}/"),
        "import_type": 1 if params.get("import_type") == "manifest" else 0,
        "imported_sample_count": done,
        "annotated_sample_count": done // 2,
        "total_sample_count": script.total,
        "finished_file_count": done,
        "total_file_count": script.total,
        "create_time": script.created_ms,
        "update_ms": _updated_ms(script, elapsed),
        "elapsed_time": int(_running_s(script, elapsed)),  # seconds, as published
    }
    if st == 4:
        _coded_failure(script, body)
    return body


def _version(script: Script, elapsed: float, st: int, fraction: float) -> dict[str, Any]:
    params = script.params or {}
    body: dict[str, Any] = {
        "version_id": script.task_id,
        "version_name": params.get("version_name", "V001"),
        "version_format": params.get("version_format", "Default"),
        "status": STATUS["version"][st],
        "create_time": script.created_ms,
        "update_time": _updated_ms(script, elapsed),
        "total_sample_count": int(script.total * fraction),
        "annotated_sample_count": int(script.total * fraction) // 2,
        "is_current": st == 3,
        "description": params.get("description", ""),
    }
    if st == 4:
        body["message"] = _FAILURE_TEXT["version"][script.failure]
    return body


def _dataset(script: Script, elapsed: float, st: int, fraction: float) -> dict[str, Any]:
    return {
        "dataset_id": script.dataset_id,
        "dataset_name": f"dataset-{script.dataset_id}",
        "dataset_type": 0,
        "status": STATUS["dataset"][st],
        "total_sample_count": int(script.total * fraction),
        "annotated_sample_count": int(script.total * fraction) // 2,
        "create_time": script.created_ms,
        "update_time": _updated_ms(script, elapsed),
        "exist_running_task": st < 3,
    }


def idle_dataset(dataset_id: str, created_ms: int) -> dict[str, Any]:
    """The body of a dataset the simulator knows only from other tasks: normal (1)."""
    return {
        "dataset_id": dataset_id,
        "dataset_name": f"dataset-{dataset_id}",
        "dataset_type": 0,
        "status": 1,
        "create_time": created_ms,
        "update_time": created_ms,
        "exist_running_task": False,
    }


def _intelligent(script: Script, elapsed: float, st: int, fraction: float) -> dict[str, Any]:
    created = datetime.fromtimestamp(script.created_ms / 1000, tz=UTC)
    body: dict[str, Any] = {
        "task_id": script.task_id,
        "resource_id": script.dataset_id,
        # Published as a string, e.g. "2021-06-18 19:14:55".
        "create_time": created.strftime("%Y-%m-%d %H:%M:%S"),
        "status": STATUS["intelligent_task"][st],
        "progress": round(100.0 * fraction, 1),
        "elapsed_time": int(_running_s(script, elapsed)),
        "result": {
            "total_sample_count": script.total,
            "annotated_sample_count": int(script.total * fraction),
        },
    }
    if st == 4:
        code, msg = _coded_failure(script, body)
        body["error_detail"] = f"{code}: {msg}"
    return body


def _processing(script: Script, elapsed: float, st: int, fraction: float) -> dict[str, Any]:
    body: dict[str, Any] = {
        "task_id": script.task_id,
        "name": f"processing-{script.task_id}",
        "status": STATUS["processing_task"][st],
        "duration_seconds": int(_running_s(script, elapsed)),
        "create_time": script.created_ms,
        "is_current": True,
        "version_count": 1,
    }
    if st == 4:
        body["error_msg"] = _FAILURE_TEXT["processing_task"][script.failure]
    return body


def _training_job(script: Script, elapsed: float, st: int, fraction: float) -> dict[str, Any]:
    params = script.params or {}
    stopping = params.get("action") == "stop"
    phase = STATUS["training_job_stop" if stopping else "training_job"][st]
    if st == 0 and elapsed < script.queue / 2 and not stopping:
        phase = "Creating"
    started = st > 0 or stopping
    status: dict[str, Any] = {
        "phase": phase,
        "secondary_phase": "Queuing" if phase == "Pending" else phase,
        # milliseconds, as published; a stopping job counts what it ran before the stop
        "duration": int((_running_s(script, elapsed) + params.get("ran_before", 0.0)) * 1000),
        "start_time": (
            int(params.get("started_ms", 0))
            if stopping
            else script.created_ms + int(script.queue * 1000)
            if started
            else 0
        ),
        "tasks": ["worker-0"],
    }
    if st == 4:
        status["task_statuses"] = [
            {
                "task": "worker-0",
                "exit_code": _EXIT_CODES[script.failure],
                "message": _FAILURE_TEXT["training_job"][script.failure],
            }
        ]
    return {
        "kind": "job",
        "metadata": {
            "id": script.task_id,
            "name": f"job-{script.task_id}",
            "description": "",
            "create_time": int(params.get("born_ms", script.created_ms)),
            "workspace_id": "0",
            "user_name": "",
        },
        "status": status,
    }


def _model(script: Script, elapsed: float, st: int, fraction: float) -> dict[str, Any]:
    return {
        "model_id": script.task_id,
        "model_name": f"model-{script.task_id}",
        "model_version": "1.0.0",
        "model_type": "TensorFlow",
        "model_status": STATUS["model"][st],
        "model_size": script.total,
        "project": script.project_id,
        "create_at": script.created_ms,
    }


def _service(script: Script, elapsed: float, st: int, fraction: float) -> dict[str, Any]:
    body: dict[str, Any] = {
        "service_id": script.task_id,
        "service_name": f"service-{script.task_id}",
        "infer_type": "real-time",
        "status": STATUS["service"][st],
        "progress": int(100 * fraction),
        "project": script.project_id,
        "publish_at": script.created_ms,
        "update_time": _updated_ms(script, elapsed),
    }
    if st == 4:
        body["error_msg"] = _FAILURE_TEXT["service"][script.failure]
    return body


_BODIES = {
    "sync": _sync,
    "export": _export,
    "dataset_task": _dataset_task,
    "import": _import,
    "version": _version,
    "dataset": _dataset,
    "intelligent_task": _intelligent,
    "processing_task": _processing,
    "training_job": _training_job,
    "model": _model,
    "service": _service,
    **LIVING_BODIES,
}


def parse_durations(spec: str) -> tuple[str, float, float]:
    """``fixed:S``, ``uniform:LO:HI`` or ``lognormal:MEDIAN:SIGMA`` (seconds)."""
    parts = spec.split(":")
    try:
        nums = [float(x) for x in parts[1:]]
    except ValueError:
        raise InvalidArgumentError(f"durations {spec!r}: numbers expected after the name") from None
    if parts[0] == "fixed" and len(nums) == 1 and nums[0] >= 0:
        return "fixed", nums[0], nums[0]
    if parts[0] == "uniform" and len(nums) == 2 and 0 <= nums[0] <= nums[1]:
        return "uniform", nums[0], nums[1]
    if parts[0] == "lognormal" and len(nums) == 2 and nums[0] > 0 and nums[1] >= 0:
        return "lognormal", nums[0], nums[1]
    raise InvalidArgumentError(
        f"durations {spec!r}: use fixed:S, uniform:LO:HI or lognormal:MEDIAN:SIGMA"
    )


def draw_duration(dist: tuple[str, float, float], rng: random.Random) -> float:
    name, a, b = dist
    if name == "fixed":
        return a
    if name == "uniform":
        return rng.uniform(a, b)
    return a * math.exp(rng.gauss(0.0, b))

"""Scripted task lifecycles: a pure function from (script, elapsed time) to a response body.

A task waits ``queue`` seconds, runs ``run`` seconds with progress and counts rising
linearly, then ends as its ``outcome`` says. A task scripted to fail rises only to
``FAIL_AT`` of its work and stops there, so progress never goes backwards. Bodies have
the exact field names and status values of the seed documents.
"""

from __future__ import annotations

import math
import random
from collections.abc import Mapping
from typing import Any

from .._errors import InvalidArgumentError
from .._kind import get_kind
from .._specs import TaskSpec

KINDS = ("sync", "export", "dataset_task")
# Which IDs name a task of each kind, in the order of its path (the simulator's own copy).
ID_FIELDS = {
    "sync": ("dataset_id",),
    "export": ("dataset_id", "task_id"),
    "dataset_task": ("task_id",),
}
OUTCOMES = ("completed", "failed")
# The share of its work a failing task gets through before it fails.
FAIL_AT = 0.6

# Status values per kind and stage: queued, starting, running, completed, failed.
_STATUS = {
    "sync": ("QUEUING", "STARTING", "RUNNING", "COMPLETED", "FAILED"),
    "export": ("INIT", "RUNNING", "RUNNING", "SUCCESSED", "FAILED"),
    "dataset_task": ("PENDING", "STARTED", "RUNNING", "SUCCESS", "FAILURE"),
}
_FAILURES = {
    "sync": (
        ("ModelArts.4302", "The dataset's input OBS path does not exist or cannot be read."),
        ("ModelArts.4355", "Too many samples failed to synchronize."),
        ("ModelArts.4900", "The task was interrupted by an internal error."),
    ),
    "export": (
        ("ModelArts.4302", "The output OBS path does not exist or cannot be written."),
        ("ModelArts.4510", "No samples match the export conditions."),
        ("ModelArts.4900", "The task was interrupted by an internal error."),
    ),
    "dataset_task": (
        ("ModelArts.4302", "The OBS path does not exist or cannot be accessed."),
        ("ModelArts.4371", "The dataset version could not be created."),
        ("ModelArts.4900", "The task was interrupted by an internal error."),
    ),
}


class Script:
    """One simulated task. Small on purpose (slots): benchmarks create 100k+ of them."""

    __slots__ = (
        "created",
        "created_ms",
        "dataset_id",
        "failure",
        "kind",
        "outcome",
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

    @property
    def finishes(self) -> float:
        """When (simulator clock) the task reaches its outcome."""
        return self.created + self.queue + self.run

    @property
    def ids(self) -> tuple[str, ...]:
        """The task's IDs in its kind's path order (a dataset's first, where it has one)."""
        return tuple(getattr(self, name) or "" for name in ID_FIELDS[self.kind])

    def key(self) -> tuple[str, ...]:
        if self.kind == "sync":
            return ("sync", self.project_id, self.dataset_id or "")
        if self.kind == "export":
            return ("export", self.project_id, self.dataset_id or "", self.task_id or "")
        return ("dataset_task", self.project_id, self.task_id or "")

    def describe(self) -> dict[str, Any]:
        out: dict[str, Any] = {"kind": self.kind, "project_id": self.project_id}
        if self.dataset_id is not None:
            out["dataset_id"] = self.dataset_id
        if self.task_id is not None:
            out["task_id"] = self.task_id
        out.update(outcome=self.outcome, finishes=self.finishes, total=self.total)
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
    """The spec that watches a scripted task, from its :class:`Script` or its description
    (``sim.truth()``, the admin endpoints). It polls the client's own project."""
    if isinstance(task, Script):
        return get_kind(task.kind).spec(*task.ids)
    if not isinstance(task, Mapping):
        raise InvalidArgumentError(f"task must be a Script or a mapping, got {task!r}")
    kind = task.get("kind")
    if kind not in KINDS:
        raise InvalidArgumentError(f"kind must be one of {', '.join(KINDS)}, got {kind!r}")
    ids = []
    for name in ID_FIELDS[str(kind)]:
        value = task.get(name)
        if value is None:
            raise InvalidArgumentError(f"a {kind} task needs {name}")
        ids.append(value)
    return get_kind(str(kind)).spec(*ids)


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
    status = _STATUS[script.kind][st]
    failed = st == 4
    if script.outcome == "failed":
        fraction *= FAIL_AT
    done = int(script.total * fraction)
    running_ms = int(max(0.0, min(elapsed, script.queue + script.run) - script.queue) * 1000)
    kind = script.kind
    if kind == "sync":
        body: dict[str, Any] = {
            "status": status,
            "dataset_id": script.dataset_id,
            "task_id": script.task_id,
            "create_time": script.created_ms,
            "duration_time": running_ms,
            "add_sample_count": done,
            "deleted_sample_count": done // 50,
            "total_sample_count": script.total,
        }
    elif kind == "export":
        body = {
            "task_id": script.task_id,
            "path": f"/sim-bucket/exports/{script.dataset_id}/",
            "export_type": 2,
            "version_format": "Default",
            "export_format": 2,
            "export_params": {
                "sample_state": "",
                "export_dest": "DIR",
                "clear_hard_property": True,
                "train_sample_ratio": 1.0,
                "ratio_sample_usage": False,
            },
            "status": status,
            "progress": round(100.0 * fraction, 1),
            "finished_sample_count": done,
            "total_sample_count": script.total,
            "create_time": script.created_ms,
            "update_time": script.created_ms + int(min(elapsed, script.queue + script.run) * 1000),
        }
    else:
        body = {"status": status}
        if st == 3:
            body["result"] = {"syncOrCheckoutsuccess": {}}
    if failed:
        code, msg = _FAILURES[kind][script.failure]
        body["error_code"] = code
        body["error_msg"] = msg
        if kind == "dataset_task":
            body["result"] = {"failed": [{"error_code": code, "error_msg": msg}]}
    return body


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

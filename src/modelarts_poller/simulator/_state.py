"""What one simulator holds: tasks, the datasets they live in, credentials, quota, counters."""

from __future__ import annotations

import asyncio
import itertools
import random
import re
import secrets
import time
from collections import Counter
from collections.abc import Callable, Iterable, Mapping, Sequence
from datetime import UTC, datetime, timedelta
from typing import Any

from aiohttp import web

from .._errors import InvalidArgumentError
from .._signer import check_signature
from . import _dialect
from ._config import Faults, SimulatorConfig
from ._lifecycle import (
    DATASET_KINDS,
    DEFAULT_KINDS,
    KINDS,
    OWN_ID_KINDS,
    PARENT_KINDS,
    Script,
    draw_duration,
    parse_durations,
)
from ._quota import Quota
from ._routes import ID_NAMES

# Generated IDs start with these; dataset IDs with "ds".
ID_PREFIX = {
    "sync": "sync",
    "export": "exp",
    "dataset_task": "task",
    "import": "imp",
    "version": "ver",
    "dataset": "ds",
    "intelligent_task": "auto",
    "processing_task": "proc",
    "training_job": "job",
    "model": "model",
    "service": "svc",
    "infer_service": "isvc",
    "notebook": "nb",
    "dev_server": "srv",
    "pool": "pool",
    "workflow_execution": "exe",
}
# Generated parent IDs (a workflow execution's workflow) start with this.
PARENT_PREFIX = "wf"
# Kinds with a list call: the simulator keeps their tasks per (kind, project, parent).
LISTED_KINDS = frozenset(
    {"infer_service", "notebook", "dev_server", "pool", "workflow_execution", "training_job"}
)
# Each kind's own-ID keyword in add() (besides task_id), e.g. version_id for "version".
_OWN_ID_NAMES = {k: names[-1] for k, names in ID_NAMES.items() if names[-1] != "dataset_id"}
# A parent ID's keyword in add(), e.g. workflow_id for "workflow_execution".
_PARENT_NAMES = {k: ID_NAMES[k][0] for k in PARENT_KINDS}
# What an IAM token may be made of; anything else cannot be decoded (ModelArts.0203).
_TOKEN_CHARS = re.compile(r"[A-Za-z0-9._~+/=-]+")


def _by_kind(per_task: Counter[tuple[str, ...]]) -> Counter[str]:
    out: Counter[str] = Counter()
    for key, n in per_task.items():
        out[key[0]] += n
    return out


class Counters:
    """What the client really did, counted by the server.

    ``requests``, ``by_status``, ``per_second`` and ``per_task`` count status requests;
    ``per_second_all`` counts every ModelArts request (status, start and list calls),
    which is what the quota limits.
    """

    def __init__(self) -> None:
        self.requests = 0
        self.by_status: Counter[int] = Counter()
        self.by_fault: Counter[str] = Counter()
        self.per_second: Counter[int] = Counter()  # wall-clock second -> status requests
        self.per_second_all: Counter[int] = Counter()  # wall-clock second -> API requests
        self.per_task: Counter[tuple[str, ...]] = Counter()
        self.lists: Counter[str] = Counter()  # kind -> list requests (every page)
        self.in_flight = 0
        self.max_in_flight = 0

    def snapshot(self) -> dict[str, Any]:
        return {
            "requests": self.requests,
            "by_status": {str(k): v for k, v in sorted(self.by_status.items())},
            "by_fault": dict(self.by_fault),
            "per_second": {str(k): v for k, v in sorted(self.per_second.items())},
            "max_per_second": max(self.per_second.values(), default=0),
            "max_per_second_all": max(self.per_second_all.values(), default=0),
            "per_second_all": {str(k): v for k, v in sorted(self.per_second_all.items())},
            "max_in_flight": self.max_in_flight,
            "requests_all": sum(self.per_second_all.values()),
            "per_kind": dict(_by_kind(self.per_task)),
            "lists": dict(self.lists),
            "tasks_polled": len(self.per_task),
        }


class Dataset:
    """A dataset the simulator knows of, and the export and import tasks made in it."""

    __slots__ = ("created_ms", "exports", "imports")

    def __init__(self, created_ms: int) -> None:
        self.created_ms = created_ms
        self.exports: list[Script] = []
        self.imports: list[Script] = []


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
        self.datasets: dict[tuple[str, str], Dataset] = {}
        # (project, dataset) -> the v1 sync task started last, and the last version's time
        self.v1_syncs: dict[tuple[str, str], Script] = {}
        self.last_version: dict[tuple[str, str], float] = {}
        # (kind, project, parent or None) -> tasks of a kind with a list call, oldest first
        self.listed: dict[tuple[str, str, str | None], list[Script]] = {}
        self.counters = Counters()
        self.rng = random.Random(config.seed)
        self.faults = config.faults
        self.tokens: dict[str, float] = dict.fromkeys(config.tokens, float("inf"))
        limit = config.effective_quota
        self.quota = Quota(limit, config.quota_window) if limit is not None else None
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

    def dataset(self, project_id: str, dataset_id: str) -> Dataset:
        """The dataset, made known if it was not (start calls create what they name)."""
        key = (project_id, dataset_id)
        found = self.datasets.get(key)
        if found is None:
            found = self.datasets[key] = Dataset(int(self.wall() * 1000))
        return found

    def _register(self, script: Script) -> None:
        self.tasks[script.key()] = script
        if script.dataset_id is not None:
            ds = self.dataset(script.project_id, script.dataset_id)
            if script.kind == "export":
                ds.exports.append(script)
            elif script.kind == "import":
                ds.imports.append(script)
        if script.kind in LISTED_KINDS:
            key = (script.kind, script.project_id, script.parent_id)
            self.listed.setdefault(key, []).append(script)

    def listed_tasks(self, kind: str, project_id: str, parent: str | None = None) -> list[Script]:
        """The tasks a list call of ``kind`` sees, oldest first."""
        return self.listed.get((kind, project_id, parent), [])

    def add(
        self,
        kind: str,
        *,
        project_id: str,
        dataset_id: str | None = None,
        task_id: str | None = None,
        ids: Sequence[str] | None = None,
        queue: float = 1.0,
        run: float = 10.0,
        outcome: str = "completed",
        total: int = 1000,
        params: dict[str, Any] | None = None,
        own_ids: Mapping[str, str] | None = None,
    ) -> Script:
        """One task; ``own_ids`` may name the kind's own ID (``version_id`` for a version,
        ``training_job_id``, ``model_id``, ``service_id``, ``notebook_id``, ``server_id``,
        ``pool_name``, ``execution_id``) instead of ``task_id``, and a workflow execution's
        ``workflow_id``."""
        if kind not in KINDS:
            raise InvalidArgumentError(f"kind must be one of {', '.join(KINDS)}, got {kind!r}")
        own_id = dict(own_ids or {})
        parent_id: str | None = None
        parent_name = _PARENT_NAMES.get(kind)
        if parent_name is not None and parent_name in own_id:
            parent_id = own_id.pop(parent_name)
            if not isinstance(parent_id, str) or not parent_id:
                raise InvalidArgumentError(f"{parent_name} must be a non-empty string")
        if own_id:
            name = _OWN_ID_NAMES.get(kind)
            extra = sorted(set(own_id) - {name})
            if extra or name is None or name == "task_id":
                raise InvalidArgumentError(
                    f"unexpected argument(s) {', '.join(sorted(own_id))} for kind {kind!r}"
                )
            if task_id is not None:
                raise InvalidArgumentError(f"give task_id or {name}, not both")
            task_id = own_id[name]
        if ids is not None:
            if dataset_id is not None or task_id is not None:
                raise InvalidArgumentError("give ids or the named IDs, not both")
            names = ID_NAMES[kind]
            ids = tuple(ids)
            if len(ids) != len(names) or not all(isinstance(i, str) and i for i in ids):
                raise InvalidArgumentError(
                    f"ids of a {kind!r} task are {len(names)} non-empty strings: {', '.join(names)}"
                )
            if kind in DATASET_KINDS:
                dataset_id = ids[0]
            if kind in PARENT_KINDS:
                parent_id = ids[0]
            if kind in OWN_ID_KINDS:
                task_id = ids[-1]
        if kind in DATASET_KINDS:
            dataset_id = dataset_id or self.new_id("ds")
        if kind in OWN_ID_KINDS or kind == "sync":
            task_id = task_id or self.new_id(ID_PREFIX[kind])
        if kind in PARENT_KINDS:
            parent_id = parent_id or self.new_id(PARENT_PREFIX)
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
            params=params,
            parent_id=parent_id,
        )
        self._register(script)
        return script

    def generate(
        self,
        count: int,
        *,
        project_id: str,
        kinds: Iterable[str] = DEFAULT_KINDS,
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
        ids, salt, out = self._ids, self._salt, []
        random_, draw, own_rng, register = (
            rng.random,
            draw_duration,
            self.rng.random,
            self._register,
        )
        for i in range(count):
            kind = kinds[i % len(kinds)]
            n = next(ids)
            dataset_id = f"ds{n:08d}{salt}" if kind in DATASET_KINDS else None
            task_id = (
                f"{ID_PREFIX[kind]}{n:08d}{salt}"
                if kind in OWN_ID_KINDS or kind == "sync"
                else None
            )
            script = Script(
                kind,
                project_id=project_id,
                dataset_id=dataset_id,
                task_id=task_id,
                created=created,
                created_ms=created_ms,
                queue=draw(queue_dist, rng),
                run=draw(run_dist, rng),
                outcome="failed" if random_() < failure_rate else "completed",
                total=100 + int(random_() * 49_900),
                failure=int(own_rng() * 3),
                parent_id=f"{PARENT_PREFIX}{n:08d}{salt}" if kind in PARENT_KINDS else None,
                _trusted=True,
            )
            register(script)
            out.append(script)
        return out

    def truth(self) -> list[dict[str, Any]]:
        return [s.describe() for s in self.tasks.values()]

    def running(self, script: Script | None) -> bool:
        return script is not None and self.clock() - script.created < script.queue + script.run

    def reset(self) -> None:
        self.tasks.clear()
        self.datasets.clear()
        self.v1_syncs.clear()
        self.last_version.clear()
        self.listed.clear()
        self.counters = Counters()
        if self.quota is not None:
            self.quota.reset()

    # -- auth -------------------------------------------------------------------------

    def check_auth(self, request: web.Request, body: bytes, project_id: str) -> web.Response | None:
        """None if the request's credentials pass, else the published refusal."""
        mode = self.config.auth
        if mode == "off":
            return None
        headers = request.headers
        token = headers.get("X-Auth-Token")
        if token is not None and mode in ("token", "either"):
            if not _TOKEN_CHARS.fullmatch(token):
                return _dialect.token_undecodable()
            expires = self.tokens.get(token)
            if expires is None:
                return _dialect.bad_token()
            if expires <= self.wall():
                return _dialect.token_expired()
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
            if problem is not None:
                return _dialect.bad_signature()
        elif mode == "aksk":
            return _dialect.bad_signature()
        else:
            return _dialect.no_token()
        if self.config.projects is not None and project_id not in self.config.projects:
            return _dialect.project_mismatch()
        return None

    def admit(self, request: web.Request, project_id: str) -> web.Response | None:
        """Count one ModelArts request against the quota: None, or the 429 refusal."""
        now = self.wall()
        quota = self.quota
        if quota is None:
            self.counters.per_second_all[int(now)] += 1
            return None
        admitted, _, wait = quota.take(project_id, now)
        if not admitted:
            self.counters.by_fault["server_rate_limit"] += 1
            retry_after = str(max(1, int(wait + 0.999)))
            return _dialect.throttled(quota.limit, quota.unit, retry_after)
        self.counters.per_second_all[int(now)] += 1
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

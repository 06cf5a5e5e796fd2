"""Saving a watch so that a new process can resume it after a crash.

A *continuation token* is a short string that names one task and carries what the
engine knew about it (polls so far, last status, the deadline as wall-clock time, and
where its backoff stands: polls since the status last changed and transient errors in a
row). A
:class:`Checkpoint` is a SQLite file of tokens and outcomes: the engine records each
watch, and commits each terminal outcome *before* it delivers the terminal event, so
after a crash :meth:`Engine.resume` re-watches exactly the tasks whose end nobody was
told about.
"""

from __future__ import annotations

import base64
import dataclasses
import json
import logging
import math
import os
import sqlite3
import time
from collections.abc import Callable, Iterable, Mapping
from pathlib import Path
from typing import Any, Literal

import attrs

from ._durations import DurationModel
from ._errors import InvalidArgumentError
from ._events import TaskCompleted, TaskFailed
from ._kind import kinds as registered_kinds
from ._specs import TaskSpec

logger = logging.getLogger("modelarts_poller.checkpoint")

TOKEN_VERSION = 1
SpecFactory = Callable[..., TaskSpec[Any]]


def spec_fields(spec: TaskSpec[Any]) -> dict[str, Any]:
    """The constructor fields of an attrs or dataclass spec."""
    if attrs.has(type(spec)):
        fields = attrs.asdict(spec, recurse=False)  # type: ignore[arg-type]
        # Sets (an operation's success= override) as sorted lists: JSON, and one key.
        return {
            k: sorted(v, key=repr) if isinstance(v, frozenset | set) else v
            for k, v in fields.items()
            if not (k == "success" and v is None)
        }
    if dataclasses.is_dataclass(spec) and not isinstance(spec, type):
        return {f.name: getattr(spec, f.name) for f in dataclasses.fields(spec)}
    raise InvalidArgumentError(
        f"cannot save {spec!r}: custom specs must be attrs classes or dataclasses"
    )


@attrs.frozen
class TaskState:
    """What a continuation token carries besides the spec."""

    polls: int = 0
    status: str | None = None
    deadline_at: float | None = None  # wall-clock (epoch) seconds
    attempt: int = 0  # polls since the status last changed: where the backoff stands
    errors: int = 0  # consecutive transient errors: where the retry backoff stands
    # Wall-clock (epoch) seconds when the watch began, if the task was watched from its
    # start: the age learned durations count from. None when its age is not known.
    started_at: float | None = None
    # PollPolicy.at_deadline of the watch: what its deadline does to the remote task.
    at_deadline: Literal["leave", "stop"] = "leave"


def encode_token(spec: TaskSpec[Any], state: TaskState) -> str:
    """A URL-safe continuation token for ``spec`` (pure)."""
    payload = {
        "v": TOKEN_VERSION,
        "kind": spec.kind,
        "spec": spec_fields(spec),
        "polls": state.polls,
        "status": state.status,
        "deadline_at": state.deadline_at,
        "attempt": state.attempt,
        "errors": state.errors,
    }
    if state.started_at is not None:
        payload["started_at"] = state.started_at
    if state.at_deadline != "leave":  # absent means "leave", as in tokens made before it
        payload["at_deadline"] = state.at_deadline
    raw = json.dumps(payload, separators=(",", ":"), sort_keys=True).encode()
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def check_kinds(kinds: object) -> dict[str, SpecFactory]:
    """``kinds=`` (custom kind names to their spec classes) as a dict, or refused."""
    if kinds is None:
        return {}
    if not isinstance(kinds, Mapping) or not all(
        isinstance(name, str) and callable(factory) for name, factory in kinds.items()
    ):
        raise InvalidArgumentError(
            f"kinds must map kind names to spec classes, e.g. {{'build': BuildJob}}, got {kinds!r}"
        )
    return dict(kinds)


def decode_token(
    token: str, kinds: Mapping[str, SpecFactory] | None = None
) -> tuple[TaskSpec[Any], TaskState]:
    """The spec and state in ``token``; ``kinds`` maps custom kind names to their classes."""
    if not isinstance(token, str) or not token:
        raise InvalidArgumentError("token must be a non-empty str")
    try:
        raw = base64.urlsafe_b64decode(token + "=" * (-len(token) % 4))
        payload = json.loads(raw)
    except (ValueError, RecursionError):
        raise InvalidArgumentError("token is not a modelarts-poller continuation token") from None
    if not isinstance(payload, dict) or payload.get("v") != TOKEN_VERSION:
        raise InvalidArgumentError("token is not a version-1 continuation token")
    kind = payload.get("kind")
    factories: dict[str, SpecFactory] = {k.name: k.spec_type for k in registered_kinds()}
    factories.update(check_kinds(kinds))
    factory = factories.get(kind) if isinstance(kind, str) else None
    if factory is None:
        raise InvalidArgumentError(
            f"token is for task kind {kind!r}: pass kinds={{{kind!r}: YourSpecClass}}"
        )
    fields = payload.get("spec")
    if not isinstance(fields, dict):
        raise InvalidArgumentError("token has no spec fields")
    try:
        spec = factory(**fields)
    except TypeError as exc:
        raise InvalidArgumentError(f"token's spec fields do not fit {kind!r}: {exc}") from None
    polls, status, deadline_at = (payload.get(k) for k in ("polls", "status", "deadline_at"))
    if not isinstance(polls, int) or isinstance(polls, bool) or polls < 0:
        raise InvalidArgumentError("token has a bad poll count")
    if status is not None and not isinstance(status, str):
        raise InvalidArgumentError("token has a bad status")
    if deadline_at is not None and (
        isinstance(deadline_at, bool)
        or not isinstance(deadline_at, int | float)
        or not math.isfinite(deadline_at)  # json reads NaN and Infinity
    ):
        raise InvalidArgumentError("token has a bad deadline")
    # Tokens made before the backoff position was carried have neither: start afresh.
    attempt, errors = payload.get("attempt", 0), payload.get("errors", 0)
    for name, value in (("backoff position", attempt), ("error count", errors)):
        if not isinstance(value, int) or isinstance(value, bool) or value < 0:
            raise InvalidArgumentError(f"token has a bad {name}")
    deadline = None if deadline_at is None else float(deadline_at)
    started_at = payload.get("started_at")  # absent from tokens of tasks of unknown age
    if started_at is not None and (
        isinstance(started_at, bool)
        or not isinstance(started_at, int | float)
        or not math.isfinite(started_at)
    ):
        raise InvalidArgumentError("token has a bad start time")
    started = None if started_at is None else float(started_at)
    at_deadline = payload.get("at_deadline", "leave")
    if at_deadline != "leave" and at_deadline != "stop":
        raise InvalidArgumentError("token has a bad at_deadline")
    return spec, TaskState(polls, status, deadline, attempt, errors, started, at_deadline)


_SCHEMA = """
CREATE TABLE IF NOT EXISTS tasks (
    key TEXT PRIMARY KEY,
    token TEXT NOT NULL,
    outcome TEXT,
    reason TEXT,
    finished_at REAL
);
CREATE TABLE IF NOT EXISTS learned (
    name TEXT PRIMARY KEY,
    data TEXT NOT NULL
)
"""


class Checkpoint:
    """A SQLite file of watched tasks and their outcomes.

    Pass it to ``Engine(checkpoint=...)``. Writes are small and committed at once
    (WAL mode), so a crash loses at most the watches made in the same instant.
    """

    def __init__(self, path: str | Path, *, kinds: Mapping[str, SpecFactory] | None = None):
        if not isinstance(path, str | os.PathLike) or not os.fspath(path):
            raise InvalidArgumentError(f"path must be a file path (str or Path), got {path!r}")
        self.path = Path(path)
        self.kinds = check_kinds(kinds)
        self._db: sqlite3.Connection | None = None

    def open(self) -> None:
        if self._db is None:
            db: sqlite3.Connection | None = None
            try:
                db = sqlite3.connect(self.path, isolation_level=None, check_same_thread=False)
                db.execute("PRAGMA journal_mode=WAL")
                db.execute("PRAGMA synchronous=NORMAL")
                db.executescript(_SCHEMA)
            except sqlite3.Error as exc:
                if db is not None:
                    db.close()
                # A directory, a missing parent or a file of something else: say which.
                raise InvalidArgumentError(
                    f"checkpoint {str(self.path)!r} cannot be used as a SQLite file: {exc}"
                ) from exc
            self._db = db

    def close(self) -> None:
        if self._db is not None:
            self._db.close()
            self._db = None

    def _conn(self) -> sqlite3.Connection:
        if self._db is None:
            self.open()
        assert self._db is not None
        return self._db

    @staticmethod
    def key(spec: TaskSpec[Any]) -> str:
        return json.dumps([spec.kind, spec_fields(spec)], sort_keys=True, separators=(",", ":"))

    def record_watches(self, items: Iterable[tuple[TaskSpec[Any], str]]) -> None:
        """Remember watches; watching a finished task again makes it unfinished again."""
        rows = [(self.key(spec), token) for spec, token in items]
        if rows:
            db = self._conn()
            db.execute("BEGIN")  # one transaction for a whole batch of watches
            try:
                db.executemany(
                    "INSERT INTO tasks (key, token) VALUES (?, ?) "
                    "ON CONFLICT(key) DO UPDATE SET token = excluded.token, "
                    "outcome = NULL, reason = NULL, finished_at = NULL",
                    rows,
                )
            except BaseException:
                db.execute("ROLLBACK")
                raise
            db.execute("COMMIT")

    def record_outcome(self, event: TaskCompleted | TaskFailed) -> None:
        outcome = "completed" if isinstance(event, TaskCompleted) else "failed"
        reason = None if isinstance(event, TaskCompleted) else event.reason.value
        self._conn().execute(
            "UPDATE tasks SET outcome = ?, reason = ?, finished_at = ? WHERE key = ?",
            (outcome, reason, time.time(), self.key(event.spec)),
        )

    def unfinished(self) -> list[tuple[TaskSpec[Any], TaskState]]:
        """Tasks watched but never reported finished, in the order they were watched."""
        rows = (
            self._conn()
            .execute("SELECT token FROM tasks WHERE outcome IS NULL ORDER BY rowid")
            .fetchall()
        )
        return [decode_token(token, self.kinds) for (token,) in rows]

    def outcomes(self) -> dict[str, tuple[str, str | None]]:
        """``key -> (outcome, reason)`` for every finished task."""
        rows = (
            self._conn()
            .execute("SELECT key, outcome, reason FROM tasks WHERE outcome IS NOT NULL")
            .fetchall()
        )
        return {key: (outcome, reason) for key, outcome, reason in rows}

    def save_durations(self, model: DurationModel) -> None:
        """Keep what an engine learned of its kinds' durations for the next run."""
        self._conn().execute(
            "INSERT INTO learned (name, data) VALUES ('durations', ?) "
            "ON CONFLICT(name) DO UPDATE SET data = excluded.data",
            (json.dumps(model.to_json(), separators=(",", ":")),),
        )

    def load_durations(self) -> DurationModel | None:
        """The durations saved by the last engine, or ``None``; a saved model that cannot
        be read is logged and left out (learning starts over), not fatal."""
        row = self._conn().execute("SELECT data FROM learned WHERE name = 'durations'").fetchone()
        if row is None:
            return None
        try:
            return DurationModel.from_json(row[0])
        except InvalidArgumentError as exc:
            logger.warning("%s: saved durations unreadable, learning anew: %s", self, exc)
            return None

    def __repr__(self) -> str:
        return f"Checkpoint({str(self.path)!r})"

"""Typed events the engine emits, one base class for all.

Per task, events arrive in the order they happened: any number of
:class:`TaskProgress` and :class:`TaskRetrying`, then exactly one terminal event,
:class:`TaskCompleted` or :class:`TaskFailed`, and nothing after it.
"""

from __future__ import annotations

import enum
from typing import Any

import attrs

from ._specs import Observation, TaskSpec


class FailureReason(enum.Enum):
    """Why a task ended in :class:`TaskFailed`."""

    REMOTE_FAILED = "remote_failed"  # the task itself reported failure (FAILED, FAILURE, ...)
    PERMANENT_ERROR = "permanent_error"  # a request failed in a way retrying cannot fix
    RETRIES_EXHAUSTED = "retries_exhausted"  # too many transient errors in a row
    DEADLINE = "deadline"  # the task's deadline passed before it finished
    MAX_POLLS = "max_polls"  # the task was polled its maximum number of times
    CANCELLED = "cancelled"  # the watch was cancelled, or the engine closed
    STOPPED = "stopped"  # the task reached its stopped state after our stop (handle.stop())
    ERROR = "error"  # a custom task kind's fetch or interpret raised an unexpected error


@attrs.frozen
class TaskEvent:
    """Something that happened to a watched task; ``at`` is the engine clock's time."""

    spec: TaskSpec[Any]
    at: float

    @property
    def is_terminal(self) -> bool:
        return False


@attrs.frozen
class TaskProgress(TaskEvent):
    """The task's status or progress changed; ``previous`` is ``None`` on the first poll."""

    snapshot: Any
    previous: Any
    observation: Observation


@attrs.frozen
class TaskRetrying(TaskEvent):
    """A poll failed with a transient error and will be retried in ``delay`` seconds."""

    error: BaseException
    attempt: int
    delay: float


@attrs.frozen
class TaskCompleted(TaskEvent):
    """The task finished successfully; ``snapshot`` is its final state."""

    snapshot: Any
    observation: Observation

    @property
    def is_terminal(self) -> bool:
        return True


@attrs.frozen
class TaskFailed(TaskEvent):
    """The task ended without success, for ``reason``.

    ``snapshot`` is the last state seen (``None`` if no poll ever succeeded) and
    ``error`` the exception behind the failure, if there was one.
    """

    reason: FailureReason
    message: str
    error: BaseException | None = None
    snapshot: Any = None

    @property
    def is_terminal(self) -> bool:
        return True


EVENT_TYPES: tuple[type[TaskEvent], ...] = (TaskProgress, TaskRetrying, TaskCompleted, TaskFailed)

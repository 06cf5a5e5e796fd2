"""The common lifecycle phase every task kind's status values map to."""

from __future__ import annotations

import enum


class Phase(enum.Enum):
    """Where a task is in its life, whatever its kind calls it.

    ``UNKNOWN`` is a status value this library has not met; it counts as not finished.
    """

    PENDING = "pending"
    RUNNING = "running"
    SUCCEEDED = "succeeded"
    FAILED = "failed"
    UNKNOWN = "unknown"

    @property
    def is_terminal(self) -> bool:
        return self is Phase.SUCCEEDED or self is Phase.FAILED

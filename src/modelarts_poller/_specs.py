"""What can be watched: the protocol every kind implements, and what a poll observes.

A spec names one task and knows how to fetch its state (the only I/O) and how to read
that state (pure). Specs are hashable values: watching an equal spec twice shares one
poller.
"""

from __future__ import annotations

from typing import Any, Protocol, TypeVar, runtime_checkable

import attrs

from ._phase import Phase

SnapshotT = TypeVar("SnapshotT")
SnapshotT_co = TypeVar("SnapshotT_co", covariant=True)


@attrs.frozen
class Observation:
    """What a snapshot says about progress: the pure reading of one poll's result.

    ``completion`` is a fraction in [0, 1] when the task says how far along it is.
    ``status`` is the remote status value, verbatim. ``message`` explains a failure.
    """

    phase: Phase
    completion: float | None = None
    status: str | None = None
    message: str | None = None

    @classmethod
    def of(cls, snapshot: Any) -> Observation:
        """Read any snapshot with ``phase``, ``completion``, ``status``, ``error_*`` fields."""
        message = snapshot.error_msg or snapshot.error_code
        status = snapshot.status
        if status is not None and type(status) is not str:
            status = str(status)  # integer statuses of the dataset and job APIs, as text
        key = (snapshot.phase, snapshot.completion, status, message)
        if cls is not Observation:
            return cls(*key)
        # Equal observations are one object: thousands of waiting tasks of a kind mostly
        # read the same (running, no progress), and each distinct object is one more for
        # every full garbage collection to walk. Frozen, so sharing is safe; a lookup also
        # costs less than building one.
        try:
            obs = _SHARED.get(key)
        except TypeError:  # a user kind's unhashable field: not shared
            return cls(*key)
        if obs is None:
            if len(_SHARED) >= _SHARED_MAX:
                _SHARED.clear()  # bounded: progress fractions and messages vary
            obs = _SHARED[key] = cls(*key)
        return obs


_SHARED: dict[tuple[Any, ...], Observation] = {}
_SHARED_MAX = 4096


class ModelArtsAPI(Protocol):
    """What the built-in kinds fetch through: ``ModelArtsClient`` provides it, and so does
    ``modelarts_poller.testing.FakeModelArts``. ``get_task`` reads one operation spec's
    resource (its ``PATH`` and IDs) and returns the typed snapshot its ``PARSE`` makes."""

    async def get_task(self, spec: Any) -> Any: ...


@runtime_checkable
class TaskSpec(Protocol[SnapshotT]):
    """The protocol for any watchable task, built-in or your own.

    ``kind`` names the kind for per-kind policies and display. ``fetch`` does the one
    request (``api`` is the engine's client, or ``None`` if it has none). ``interpret``
    must be pure and fast: it runs on every poll. Specs must be hashable.
    """

    @property
    def kind(self) -> str: ...

    async def fetch(self, api: Any) -> SnapshotT: ...

    def interpret(self, snapshot: SnapshotT) -> Observation: ...

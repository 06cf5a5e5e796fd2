"""What can be watched: the three ModelArts task kinds and the protocol for your own.

A spec names one task and knows how to fetch its state (the only I/O) and how to read
that state (pure). Specs are hashable values: watching an equal spec twice shares one
poller.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, Protocol, TypeVar, runtime_checkable

import attrs

from ._phase import Phase
from ._validate import check_id

if TYPE_CHECKING:
    from ._models_export import ExportTaskStatus
    from ._models_sync import SyncStatus
    from ._models_task import DatasetTaskStatus

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
        return cls(snapshot.phase, snapshot.completion, snapshot.status, message)


class ModelArtsAPI(Protocol):
    """The status calls the built-in kinds need; ``ModelArtsClient`` provides them.

    Tests may pass any object with these methods (see ``modelarts_poller.testing``).
    """

    async def get_sync_status(
        self, dataset_id: str, *, project_id: str | None = None
    ) -> SyncStatus: ...

    async def get_export_task_status(
        self, dataset_id: str, task_id: str, *, project_id: str | None = None
    ) -> ExportTaskStatus: ...

    async def get_dataset_task_status(
        self, task_id: str, *, project_id: str | None = None
    ) -> DatasetTaskStatus: ...


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


def _id(name: str) -> Any:
    return attrs.field(validator=lambda _i, _a, v: check_id(name, v))


def _opt_id(name: str) -> Any:
    return attrs.field(
        default=None, kw_only=True, validator=lambda _i, _a, v: v is None or check_id(name, v)
    )


@attrs.frozen(cache_hash=True)
class SyncTask:
    """The synchronization task of one dataset."""

    dataset_id: str = _id("dataset_id")
    project_id: str | None = _opt_id("project_id")

    @property
    def kind(self) -> str:
        return "sync"

    async def fetch(self, api: ModelArtsAPI) -> SyncStatus:
        return await api.get_sync_status(self.dataset_id, project_id=self.project_id)

    def interpret(self, snapshot: SyncStatus) -> Observation:
        return Observation.of(snapshot)

    def __str__(self) -> str:
        return f"sync:{self.dataset_id}"


@attrs.frozen(cache_hash=True)
class ExportTask:
    """One export task of a dataset."""

    dataset_id: str = _id("dataset_id")
    task_id: str = _id("task_id")
    project_id: str | None = _opt_id("project_id")

    @property
    def kind(self) -> str:
        return "export"

    async def fetch(self, api: ModelArtsAPI) -> ExportTaskStatus:
        return await api.get_export_task_status(
            self.dataset_id, self.task_id, project_id=self.project_id
        )

    def interpret(self, snapshot: ExportTaskStatus) -> Observation:
        return Observation.of(snapshot)

    def __str__(self) -> str:
        return f"export:{self.dataset_id}/{self.task_id}"


@attrs.frozen(cache_hash=True)
class DatasetTask:
    """A generic dataset asynchronous task, as the SDK's ``get_task_status`` reads it."""

    task_id: str = _id("task_id")
    project_id: str | None = _opt_id("project_id")

    @property
    def kind(self) -> str:
        return "dataset_task"

    async def fetch(self, api: ModelArtsAPI) -> DatasetTaskStatus:
        return await api.get_dataset_task_status(self.task_id, project_id=self.project_id)

    def interpret(self, snapshot: DatasetTaskStatus) -> Observation:
        obs = Observation.of(snapshot)
        failure = snapshot.failure
        if obs.message is None and failure is not None:
            # The reason may sit only in result.failed (table 6), not at the top level.
            message = failure.error_msg or failure.error_code
            return Observation(obs.phase, obs.completion, obs.status, message)
        return obs

    def __str__(self) -> str:
        return f"dataset_task:{self.task_id}"


BUILTIN_KINDS = frozenset({"sync", "export", "dataset_task"})

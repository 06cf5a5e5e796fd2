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


# One table, in one place: (kind, remote status value) -> phase.
# Unknown values are not listed; phase_of() maps them to UNKNOWN.
STATUS_PHASES: dict[str, dict[str, Phase]] = {
    "sync": {
        "QUEUING": Phase.PENDING,
        "STARTING": Phase.RUNNING,
        "RUNNING": Phase.RUNNING,
        "COMPLETED": Phase.SUCCEEDED,
        "FAILED": Phase.FAILED,
        "NOT_EXIST": Phase.FAILED,
    },
    # The seed leaves export statuses open and its example shows RUNNING. The ModelArts
    # reference's export-task list page ("Querying the Dataset Export Task List",
    # GetExportTasksStatusOfDataset) shows finished tasks as SUCCESSED (sic), at progress 100:
    # https://gitea1.eco.tsi-dev.otc-service.com/vpruthi/doc-exports/src/branch/lts_api/docs/modelarts/api-ref/GetExportTasksStatusOfDataset.html
    # No page found enumerates the set, so the other spellings ModelArts dataset APIs use for
    # the same phases (INIT, QUEUING, SUCCEEDED, SUCCESS, COMPLETED, FAILED, NOT_EXIST) are
    # accepted too: a real value missing here would leave a finished task UNKNOWN forever.
    "export": {
        "INIT": Phase.PENDING,
        "QUEUING": Phase.PENDING,
        "RUNNING": Phase.RUNNING,
        "SUCCESSED": Phase.SUCCEEDED,
        "SUCCEEDED": Phase.SUCCEEDED,
        "SUCCESS": Phase.SUCCEEDED,
        "COMPLETED": Phase.SUCCEEDED,
        "FAILED": Phase.FAILED,
        "NOT_EXIST": Phase.FAILED,
    },
    "dataset_task": {
        "PENDING": Phase.PENDING,
        "WAITING": Phase.PENDING,
        "RUNNING": Phase.RUNNING,
        "STARTED": Phase.RUNNING,
        "RETRY": Phase.RUNNING,
        "FAILURE": Phase.FAILED,
        "SUCCESS": Phase.SUCCEEDED,
    },
}


def phase_of(kind: str, status: str | None) -> Phase:
    """Map a kind's raw status value to its phase; anything unlisted is ``UNKNOWN``."""
    if status is None:
        return Phase.UNKNOWN
    return STATUS_PHASES[kind].get(status, Phase.UNKNOWN)

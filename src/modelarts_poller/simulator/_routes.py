"""The simulator's own copy of the published ModelArts paths and the IDs each kind takes.

Kept apart from the library's path table on purpose: the simulator is the oracle the
library is tested against, so a wrong path in the library must not fix itself here.
"""

from __future__ import annotations

# GET: status of a kind's task, one template per kind (aiohttp route syntax).
STATUS_PATHS: dict[str, str] = {
    "sync": "/v2/{project_id}/datasets/{dataset_id}/sync-data/status",
    "export": "/v2/{project_id}/datasets/{dataset_id}/export-tasks/{task_id}",
    "dataset_task": "/v1/{project_id}/datasets/task/{task_id}",
    "import": "/v2/{project_id}/datasets/{dataset_id}/import-tasks/{task_id}",
    "version": "/v2/{project_id}/datasets/{dataset_id}/versions/{version_id}",
    "dataset": "/v2/{project_id}/datasets/{dataset_id}",
    "intelligent_task": "/v2/{project_id}/datasets/{dataset_id}/tasks/{task_id}",
    "processing_task": "/v2/{project_id}/processor-tasks/{task_id}",
    "training_job": "/v2/{project_id}/training-jobs/{training_job_id}",
    "model": "/v1/{project_id}/models/{model_id}",
    "service": "/v1/{project_id}/services/{service_id}",
}

# The IDs of each kind in path order (the order ``Script.ids`` gives them in).
ID_NAMES: dict[str, tuple[str, ...]] = {
    "sync": ("dataset_id",),
    "export": ("dataset_id", "task_id"),
    "dataset_task": ("task_id",),
    "import": ("dataset_id", "task_id"),
    "version": ("dataset_id", "version_id"),
    "dataset": ("dataset_id",),
    "intelligent_task": ("dataset_id", "task_id"),
    "processing_task": ("task_id",),
    "training_job": ("training_job_id",),
    "model": ("model_id",),
    "service": ("service_id",),
}

# POST: start calls. v2 sync answers no body; the others answer what identifies the task.
SYNC_START = "/v2/{project_id}/datasets/{dataset_id}/sync-data"
EXPORT_TASKS = "/v2/{project_id}/datasets/{dataset_id}/export-tasks"  # also GET: list
IMPORT_TASKS = "/v2/{project_id}/datasets/{dataset_id}/import-tasks"  # also GET: list
VERSIONS = "/v2/{project_id}/datasets/{dataset_id}/versions"
INTELLIGENT_TASKS = "/v2/{project_id}/datasets/{dataset_id}/tasks"
# The retired v1 dataset API (2019 SDK mapping table): both answer a dataset_task ID.
V1_SYNC = "/v1/{project_id}/datasets/{dataset_id}/sync"
V1_VERSIONS = "/v1/{project_id}/datasets/{dataset_id}/versions"

# POST: an IAM token (on the IAM endpoint; the simulator serves both).
IAM_TOKENS = "/v3/auth/tokens"

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
    # Resources that live on (issue 26); the official SDK's operations named beside them.
    "infer_service": "/v2/{project_id}/services/{service_id}",  # show_infer_service
    "notebook": "/v1/{project_id}/notebooks/{notebook_id}",  # show_notebook
    "dev_server": "/v1/{project_id}/dev-servers/{server_id}",  # show_dev_server
    "pool": "/v2/{project_id}/pools/{pool_name}",  # show_pool
    "workflow_execution": (  # show_workflow_execution
        "/v2/{project_id}/workflows/{workflow_id}/executions/{execution_id}"
    ),
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
    "infer_service": ("service_id",),
    "notebook": ("notebook_id",),
    "dev_server": ("server_id",),
    "pool": ("pool_name",),
    "workflow_execution": ("workflow_id", "execution_id"),
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

# Create (POST), start and stop, and list (GET) calls of the kinds that live on, and of
# training jobs. The SDK operation each one is follows it.
CREATE_PATHS: dict[str, str] = {
    "infer_service": "/v2/{project_id}/services",  # create_infer_service; GET list_infer_services
    "notebook": "/v1/{project_id}/notebooks",  # create_notebook; GET list_notebooks
    "dev_server": "/v1/{project_id}/dev-servers",  # create_dev_server; GET list_dev_servers
    "pool": "/v2/{project_id}/pools",  # create_pool; GET list_pools
    # create_workflow_execution; GET list_workflow_executions
    "workflow_execution": "/v2/{project_id}/workflows/{workflow_id}/executions",
    "training_job": "/v2/{project_id}/training-jobs",  # create_training_job
}
# (method, path) of start and stop calls; None where the API has none.
START_CALLS: dict[str, tuple[str, str]] = {
    "infer_service": ("POST", "/v2/{project_id}/services/{service_id}/start"),
    "notebook": ("POST", "/v1/{project_id}/notebooks/{notebook_id}/start"),
    "dev_server": ("PUT", "/v1/{project_id}/dev-servers/{server_id}/start"),
}
STOP_CALLS: dict[str, tuple[str, str]] = {
    "infer_service": ("POST", "/v2/{project_id}/services/{service_id}/stop"),
    "notebook": ("POST", "/v1/{project_id}/notebooks/{notebook_id}/stop"),
    "dev_server": ("PUT", "/v1/{project_id}/dev-servers/{server_id}/stop"),
    # {"action_name": "stop"}: create_workflow_executions_actions
    "workflow_execution": (
        "POST",
        "/v2/{project_id}/workflows/{workflow_id}/executions/{execution_id}/actions",
    ),
    # {"action_type": "terminate"}: stop_training_job
    "training_job": ("POST", "/v2/{project_id}/training-jobs/{training_job_id}/actions"),
}
# POST: list_training_jobs (a search, with its paging in the body).
TRAINING_JOB_SEARCHES = "/v2/{project_id}/training-job-searches"

# POST: an IAM token (on the IAM endpoint; the simulator serves both).
IAM_TOKENS = "/v3/auth/tokens"
# GET ?name=<region>: the projects of that name (KeystoneListProjects; the official SDK
# asks it for the project ID when its credentials carry none).
IAM_PROJECTS = "/v3/projects"

"""Every ModelArts REST path this library requests or simulates, in one place.

Templates use ``str.format`` fields; callers check each ID with
:func:`modelarts_poller._validate.check_id` before formatting.
"""

from __future__ import annotations

# GET: status of a dataset synchronization task (sync-data-status.rst).
SYNC_STATUS = "/v2/{project_id}/datasets/{dataset_id}/sync-data/status"
# POST: start synchronizing a dataset; no request body, no response body (API reference,
# "Synchronizing a Dataset").
SYNC_START = "/v2/{project_id}/datasets/{dataset_id}/sync-data"
# GET: status of a dataset export task (export-task-status.rst).
EXPORT_TASK = "/v2/{project_id}/datasets/{resource_id}/export-tasks/{task_id}"
# POST: create a dataset export task; JSON body (path, export_type, ...), answer holds task_id
# (API reference, "Creating a Dataset Export Task").
EXPORT_TASKS = "/v2/{project_id}/datasets/{resource_id}/export-tasks"
# GET: status of a generic dataset asynchronous task, as the SDK's get_task_status asks it.
# The ModelArts SDK reference's "DatasetApi & API mapping" table (huaweicloudDocs/modelarts,
# cn.zh-cn/SDK参考/数据集API-SDK对应关系.md) maps DatasetApi.get_task_status to
# "GET /v1/{project_id}/datasets/task/{task_id}": v1, and "task" in the singular.
DATASET_TASK = "/v1/{project_id}/datasets/task/{task_id}"
# POST: obtain an IAM token (on the IAM endpoint, not ModelArts).
IAM_TOKENS = "/v3/auth/tokens"

"""Watch many long-running Huawei Cloud ModelArts tasks at once from asyncio: dataset
operations, training jobs, models, services and more.

``modelarts_poller.__version__`` is the installed distribution's version.
"""

import logging as _logging

from ._auth import AkSkAuth, Auth, IamTokenAuth, NoAuth, Secret, TokenAuth
from ._backoff import Backoff
from ._batch import BatchResult
from ._checkpoint import Checkpoint
from ._client import ModelArtsClient
from ._clock import Clock, SystemClock
from ._durations import DurationModel
from ._engine import Engine, EngineStats
from ._errors import (
    ApiError,
    BadRequest,
    Conflict,
    ConnectionFailed,
    EngineClosedError,
    EventOverflowError,
    Forbidden,
    InvalidArgumentError,
    NotFound,
    NotStoppableError,
    OperationFailed,
    ParseError,
    PermanentError,
    PollerError,
    ProtocolError,
    RateLimited,
    RequestTimeout,
    ResponseTooLarge,
    ServerError,
    TaskFailedError,
    TransientError,
    Unauthorized,
)
from ._events import (
    FailureReason,
    TaskCompleted,
    TaskEvent,
    TaskFailed,
    TaskProgress,
    TaskRetrying,
)
from ._handle import TaskHandle
from ._interop import auth_from_environment, auth_from_sdk, client_from_sdk, lookup_project_id
from ._kind import Kind, ModelArtsTask, get_kind, kinds, register_kind, url_template
from ._phase import Phase
from ._policy import PollPolicy
from ._ratelimit import LocalRateLimiter, RateLimiter
from ._specs import ModelArtsAPI, Observation, TaskSpec
from ._streams import EventStream
from .operations.dataset import DatasetIdle, DatasetStatus, DatasetStatusValue, parse_dataset_status
from .operations.dataset_task import (
    CreateDatasetSuccess,
    CreateVersionSuccess,
    DatasetTask,
    DatasetTaskResult,
    DatasetTaskStatus,
    DatasetTaskStatusValue,
    TaskFailure,
    parse_dataset_task_status,
)
from .operations.dev_server import (
    DevServer,
    DevServerStatus,
    DevServerStatusValue,
    parse_dev_server_status,
)
from .operations.export import (
    ExportDest,
    ExportFormat,
    ExportParams,
    ExportStatusValue,
    ExportTask,
    ExportTaskPage,
    ExportTaskStatus,
    ExportType,
    HardSample,
    LabelType,
    SampleState,
    SearchCondition,
    SearchLabel,
    SearchLabels,
    SearchOp,
    SearchProp,
    VersionFormat,
    parse_export_task_page,
    parse_export_task_status,
)
from .operations.import_task import (
    ImportStatusValue,
    ImportTask,
    ImportTaskStatus,
    parse_import_task_status,
)
from .operations.infer_service import (
    InferService,
    InferServiceStatus,
    InferServiceStatusValue,
    parse_infer_service_status,
)
from .operations.intelligent_task import (
    IntelligentStatusValue,
    IntelligentTask,
    IntelligentTaskStatus,
    parse_intelligent_task_status,
)
from .operations.model import ModelImport, ModelStatus, ModelStatusValue, parse_model_status
from .operations.notebook import (
    Notebook,
    NotebookStatus,
    NotebookStatusValue,
    parse_notebook_status,
)
from .operations.pool import PoolPhaseValue, PoolStatus, ResourcePool, parse_pool_status
from .operations.processing_task import (
    ProcessingStatusValue,
    ProcessingTask,
    ProcessingTaskStatus,
    parse_processing_task_status,
)
from .operations.service import (
    ServiceDeployment,
    ServiceStatus,
    ServiceStatusValue,
    parse_service_status,
)
from .operations.sync import SyncStatus, SyncStatusValue, SyncTask, parse_sync_status
from .operations.training_job import (
    TrainingJob,
    TrainingJobStatus,
    TrainingPhaseValue,
    parse_training_job_status,
)
from .operations.version import (
    DatasetVersionStatus,
    DatasetVersionTask,
    VersionStatusValue,
    parse_dataset_version_status,
)
from .operations.workflow_execution import (
    StepExecution,
    WorkflowErrorInfo,
    WorkflowExecution,
    WorkflowExecutionStatus,
    WorkflowExecutionStatusValue,
    parse_workflow_execution_status,
)

__all__ = [
    "AkSkAuth",
    "ApiError",
    "Auth",
    "Backoff",
    "BadRequest",
    "BatchResult",
    "Checkpoint",
    "Clock",
    "Conflict",
    "ConnectionFailed",
    "CreateDatasetSuccess",
    "CreateVersionSuccess",
    "DatasetIdle",
    "DatasetStatus",
    "DatasetStatusValue",
    "DatasetTask",
    "DatasetTaskResult",
    "DatasetTaskStatus",
    "DatasetTaskStatusValue",
    "DatasetVersionStatus",
    "DatasetVersionTask",
    "DevServer",
    "DevServerStatus",
    "DevServerStatusValue",
    "DurationModel",
    "Engine",
    "EngineClosedError",
    "EngineStats",
    "EventOverflowError",
    "EventStream",
    "ExportDest",
    "ExportFormat",
    "ExportParams",
    "ExportStatusValue",
    "ExportTask",
    "ExportTaskPage",
    "ExportTaskStatus",
    "ExportType",
    "FailureReason",
    "Forbidden",
    "HardSample",
    "IamTokenAuth",
    "ImportStatusValue",
    "ImportTask",
    "ImportTaskStatus",
    "InferService",
    "InferServiceStatus",
    "InferServiceStatusValue",
    "IntelligentStatusValue",
    "IntelligentTask",
    "IntelligentTaskStatus",
    "InvalidArgumentError",
    "Kind",
    "LabelType",
    "LocalRateLimiter",
    "ModelArtsAPI",
    "ModelArtsClient",
    "ModelArtsTask",
    "ModelImport",
    "ModelStatus",
    "ModelStatusValue",
    "NoAuth",
    "NotFound",
    "NotStoppableError",
    "Notebook",
    "NotebookStatus",
    "NotebookStatusValue",
    "Observation",
    "OperationFailed",
    "ParseError",
    "PermanentError",
    "Phase",
    "PollPolicy",
    "PollerError",
    "PoolPhaseValue",
    "PoolStatus",
    "ProcessingStatusValue",
    "ProcessingTask",
    "ProcessingTaskStatus",
    "ProtocolError",
    "RateLimited",
    "RateLimiter",
    "RequestTimeout",
    "ResourcePool",
    "ResponseTooLarge",
    "SampleState",
    "SearchCondition",
    "SearchLabel",
    "SearchLabels",
    "SearchOp",
    "SearchProp",
    "Secret",
    "ServerError",
    "ServiceDeployment",
    "ServiceStatus",
    "ServiceStatusValue",
    "StepExecution",
    "SyncStatus",
    "SyncStatusValue",
    "SyncTask",
    "SystemClock",
    "TaskCompleted",
    "TaskEvent",
    "TaskFailed",
    "TaskFailedError",
    "TaskFailure",
    "TaskHandle",
    "TaskProgress",
    "TaskRetrying",
    "TaskSpec",
    "TokenAuth",
    "TrainingJob",
    "TrainingJobStatus",
    "TrainingPhaseValue",
    "TransientError",
    "Unauthorized",
    "VersionFormat",
    "VersionStatusValue",
    "WorkflowErrorInfo",
    "WorkflowExecution",
    "WorkflowExecutionStatus",
    "WorkflowExecutionStatusValue",
    "auth_from_environment",
    "auth_from_sdk",
    "client_from_sdk",
    "get_kind",
    "kinds",
    "lookup_project_id",
    "parse_dataset_status",
    "parse_dataset_task_status",
    "parse_dataset_version_status",
    "parse_dev_server_status",
    "parse_export_task_page",
    "parse_export_task_status",
    "parse_import_task_status",
    "parse_infer_service_status",
    "parse_intelligent_task_status",
    "parse_model_status",
    "parse_notebook_status",
    "parse_pool_status",
    "parse_processing_task_status",
    "parse_service_status",
    "parse_sync_status",
    "parse_training_job_status",
    "parse_workflow_execution_status",
    "register_kind",
    "url_template",
]


def __getattr__(name: str) -> str:
    # Read on first use: importlib.metadata is not otherwise imported, and most imports
    # (a triggerer's, each CLI run's) never ask for the version.
    if name == "__version__":
        from ._version import package_version

        return package_version()
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


# A library leaves handlers to the application; this keeps "no handler" warnings away.
_logging.getLogger("modelarts_poller").addHandler(_logging.NullHandler())

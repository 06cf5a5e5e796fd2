"""Watch many long-running Huawei Cloud ModelArts dataset tasks at once from asyncio."""

from ._backoff import Backoff
from ._checkpoint import Checkpoint
from ._clock import Clock, SystemClock
from ._engine import BatchResult, Engine, EngineStats
from ._errors import (
    ApiError,
    BadRequest,
    ConnectionFailed,
    EngineClosedError,
    EventOverflowError,
    Forbidden,
    InvalidArgumentError,
    NotFound,
    ParseError,
    PermanentError,
    PollerError,
    ProtocolError,
    RateLimited,
    RequestTimeout,
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
from ._phase import Phase
from ._policy import PollPolicy
from ._specs import DatasetTask, ExportTask, ModelArtsAPI, Observation, SyncTask, TaskSpec
from ._streams import EventStream

__all__ = [
    "ApiError",
    "Backoff",
    "BadRequest",
    "BatchResult",
    "Checkpoint",
    "Clock",
    "ConnectionFailed",
    "DatasetTask",
    "Engine",
    "EngineClosedError",
    "EngineStats",
    "EventOverflowError",
    "EventStream",
    "ExportTask",
    "FailureReason",
    "Forbidden",
    "InvalidArgumentError",
    "ModelArtsAPI",
    "NotFound",
    "Observation",
    "ParseError",
    "PermanentError",
    "Phase",
    "PollPolicy",
    "PollerError",
    "ProtocolError",
    "RateLimited",
    "RequestTimeout",
    "ServerError",
    "SyncTask",
    "SystemClock",
    "TaskCompleted",
    "TaskEvent",
    "TaskFailed",
    "TaskFailedError",
    "TaskHandle",
    "TaskProgress",
    "TaskRetrying",
    "TaskSpec",
    "TransientError",
    "Unauthorized",
]

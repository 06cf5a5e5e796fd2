"""Watch many long-running Huawei Cloud ModelArts dataset tasks at once from asyncio."""

from ._errors import (
    ApiError,
    BadRequest,
    ConnectionFailed,
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
from ._phase import Phase

__all__ = [
    "ApiError",
    "BadRequest",
    "ConnectionFailed",
    "EventOverflowError",
    "Forbidden",
    "InvalidArgumentError",
    "NotFound",
    "ParseError",
    "PermanentError",
    "Phase",
    "PollerError",
    "ProtocolError",
    "RateLimited",
    "RequestTimeout",
    "ServerError",
    "TaskFailedError",
    "TransientError",
    "Unauthorized",
]

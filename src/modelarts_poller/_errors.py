"""The one exception hierarchy of modelarts-poller.

Grouped by what the caller can do next::

    PollerError                      anything this library raises on purpose
    ├── TransientError               wait and try again; the engine does so itself
    │   ├── RequestTimeout           no answer within the client's timeout
    │   ├── ConnectionFailed         could not connect, or the connection broke
    │   ├── ServerError              HTTP 5xx
    │   └── RateLimited              HTTP 429; ``retry_after`` says how long to wait
    ├── PermanentError               retrying will not help: fix the request or credentials
    │   ├── BadRequest               HTTP 400 (and other 4xx without a class of their own)
    │   │   └── Conflict             the resource is busy (a sync already running, ...)
    │   ├── Unauthorized             HTTP 401, after one token refresh where possible
    │   ├── Forbidden                HTTP 403
    │   ├── NotFound                 HTTP 404, or a published not-found code at any status
    │   └── OperationFailed          a final failure code with a server status (500 4360, ...)
    ├── ProtocolError                the server answered something this library cannot read
    │   ├── ResponseTooLarge         the body exceeded the client's max_body_size
    │   └── ParseError               JSON of the wrong shape; names the field path and value
    ├── TaskFailedError              an awaited task ended in failure; carries the event
    ├── EventOverflowError           a consumer fell behind a stream with ``overflow="error"``
    ├── EngineClosedError            the engine is not running (also a RuntimeError)
    └── InvalidArgumentError         bad input caught before any request (also a ValueError)

Every :class:`ApiError` (the transient, permanent and protocol errors that come from a
response) carries the HTTP ``status``, the body's ``error_code`` and ``error_msg`` when the
server sent them, and the ``X-Request-Id`` header as ``request_id``. Messages never contain
credentials.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from ._events import TaskFailed

__all__ = [
    "ApiError",
    "BadRequest",
    "ConnectionFailed",
    "EngineClosedError",
    "EventOverflowError",
    "Forbidden",
    "InvalidArgumentError",
    "NotFound",
    "ParseError",
    "PermanentError",
    "PollerError",
    "ProtocolError",
    "RateLimited",
    "RequestTimeout",
    "ServerError",
    "TaskFailedError",
    "TransientError",
    "Unauthorized",
]


class PollerError(Exception):
    """Base of every exception this library raises on purpose."""


class ApiError(PollerError):
    """An error that came from (or instead of) a ModelArts response.

    ``status`` is the HTTP status, or ``None`` when no response arrived. ``request_id`` is
    the response's ``X-Request-Id`` header: what a support ticket needs.
    """

    def __init__(
        self,
        message: str,
        *,
        status: int | None = None,
        error_code: str | None = None,
        error_msg: str | None = None,
        request_id: str | None = None,
    ) -> None:
        super().__init__(message)
        self.status = status
        self.error_code = error_code
        self.error_msg = error_msg
        self.request_id = request_id

    def __reduce__(self) -> tuple[Any, ...]:
        return (_rebuild, (type(self), self.args, self.__dict__))


def _rebuild(cls: type[ApiError], args: tuple[Any, ...], state: dict[str, Any]) -> ApiError:
    err = cls.__new__(cls)
    Exception.__init__(err, *args)
    err.__dict__.update(state)
    return err


class TransientError(ApiError):
    """Worth retrying later: the request may succeed if sent again.

    ``retry_after`` is the server's requested wait in seconds (from ``Retry-After``),
    or ``None`` when it did not say.
    """

    def __init__(self, message: str, *, retry_after: float | None = None, **kw: Any) -> None:
        super().__init__(message, **kw)
        self.retry_after = retry_after


class RequestTimeout(TransientError):
    """No complete answer arrived within the configured timeout."""


class ConnectionFailed(TransientError):
    """The connection could not be made or was broken mid-request."""


class ServerError(TransientError):
    """The server answered with a 5xx status."""


class RateLimited(TransientError):
    """The server answered 429; ``retry_after`` says how long it asked us to wait."""


class PermanentError(ApiError):
    """Sending the same request again will fail the same way."""


class BadRequest(PermanentError):
    """HTTP 400, or another 4xx status without a class of its own."""


class Conflict(BadRequest):
    """The resource is busy with something that excludes the request: a sync already
    running (400 ``ModelArts.4355``), an import running (4356), the dataset publishing
    (4343) or switching version (4349), a version published less than a minute ago
    (4370), or a notebook instance already running (6305), starting (6306), stopped
    (6307) or stopping (6308). Retry once that has finished."""


class OperationFailed(PermanentError):
    """The service reports a final failure with a server status (500 ``ModelArts.4360``
    sync data source error, ``ModelArts.4614`` task failed, ``ModelArts.4354`` quota):
    retrying the same request will not change it."""


class Unauthorized(PermanentError):
    """HTTP 401: the credentials were refused (after one refresh, where the auth can refresh)."""


class Forbidden(PermanentError):
    """HTTP 403: the credentials are valid but lack permission."""


class NotFound(PermanentError):
    """The project, dataset, version or task does not exist: HTTP 404, or a published
    not-found code at any status (the dataset APIs answer 400 ``ModelArts.4352`` dataset,
    ``4353`` version, ``4359`` export task, ``4612`` task, ``4338`` resource; the notebook
    API 400 ``ModelArts.6309``)."""


class ProtocolError(ApiError):
    """The response could not be understood: not JSON, or JSON of an unexpected shape."""


class ResponseTooLarge(ProtocolError):
    """The response body exceeded the client's ``max_body_size``; reading stopped there."""


class ParseError(ProtocolError):
    """Decoded JSON had a wrong type. ``path`` names the field, ``value`` is what was found."""

    def __init__(self, path: str, value: object, expected: str) -> None:
        try:
            shown = repr(value)
        except ValueError:  # an int longer than sys.get_int_max_str_digits()
            shown = f"<{type(value).__name__} too long to show>"
        if len(shown) > 80:
            shown = shown[:77] + "..."
        super().__init__(f"{path or '<root>'}: expected {expected}, got {shown}")
        self.path = path
        self.value = value
        self.expected = expected

    def __reduce__(self) -> tuple[Any, ...]:
        return (type(self), (self.path, self.value, self.expected))


def printable_line(value: str) -> str:
    """``value`` as one printable line: a server's newline or terminal escape in its error
    text must not forge log lines or recolour a terminal (the exception's fields keep it)."""
    if value.isprintable():
        return value
    return "".join(c if c.isprintable() else c.encode("unicode_escape").decode() for c in value)


class TaskFailedError(PollerError):
    """Raised by ``await handle`` when the task ended in failure; ``event`` says how."""

    def __init__(self, event: TaskFailed) -> None:
        text = printable_line(event.message)  # often the server's own words
        super().__init__(f"task {event.spec} failed: {event.reason.value}: {text}")
        self.event = event

    def __reduce__(self) -> tuple[Any, ...]:
        return (type(self), (self.event,))


class EventOverflowError(PollerError):
    """A stream opened with ``overflow="error"`` fell more than its buffer behind."""


class InvalidArgumentError(PollerError, ValueError):
    """An argument was rejected before any request was sent; the message names it."""


class NotStoppableError(InvalidArgumentError):
    """A stop was asked of a task whose kind has no stop call in the ModelArts API (its
    spec's ``STOP`` is ``None``); nothing was sent."""


class EngineClosedError(PollerError, RuntimeError):
    """The engine is not running: it was never entered, or it has been closed."""

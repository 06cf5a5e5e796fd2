"""Sans-I/O decoding of ModelArts responses: status, headers and bytes in; a model or an error out.

Nothing here touches the network, so every branch is testable with plain values.
"""

from __future__ import annotations

import json
import math
import time
from collections.abc import Callable, Mapping
from datetime import UTC
from email.utils import parsedate_to_datetime
from typing import TypeVar

from ._errors import (
    ApiError,
    BadRequest,
    Conflict,
    Forbidden,
    NotFound,
    OperationFailed,
    ProtocolError,
    RateLimited,
    ServerError,
    Unauthorized,
    printable_line,
)

__all__ = [
    "decode_json",
    "decode_response",
    "error_fields",
    "parse_retry_after",
    "raise_for_status",
]

T = TypeVar("T")

_PERMANENT: dict[int, type[ApiError]] = {401: Unauthorized, 403: Forbidden, 404: NotFound}
_SHOWN_MSG = 200


def parse_retry_after(value: str | None, now: Callable[[], float] = time.time) -> float | None:
    """Seconds to wait from a ``Retry-After`` value, or ``None`` if absent or unreadable.

    Accepts delta-seconds (``"120"``) or an HTTP-date, measured against ``now()`` (epoch
    seconds; only called for dates). Dates in the past give ``0.0``.
    """
    if value is None:
        return None
    text = value.strip()
    if not text:
        return None
    if text.isascii() and text.replace(".", "", 1).isdigit():
        seconds = float(text)
        return seconds if math.isfinite(seconds) else None
    try:
        when = parsedate_to_datetime(text)
    except (TypeError, ValueError, IndexError, OverflowError):
        return None
    if when.tzinfo is None:
        # "-0000" yields a naive datetime; HTTP dates are GMT anyway.
        when = when.replace(tzinfo=UTC)
    try:
        return max(0.0, when.timestamp() - now())
    except (OverflowError, ValueError, OSError):
        return None


def _header(headers: Mapping[str, str], name: str) -> str | None:
    value = headers.get(name)
    if value is not None:
        return value
    # Plain dicts are case-sensitive; aiohttp's are not. Only error paths get here.
    lowered = name.lower()
    for key, val in headers.items():
        if key.lower() == lowered:
            return val
    return None


def decode_json(body: bytes, *, status: int, path: str) -> object:
    """The JSON value in ``body``; :class:`ProtocolError` if it is not UTF-8 JSON."""
    try:
        return json.loads(body.decode("utf-8"))
    except UnicodeDecodeError as exc:
        raise ProtocolError(
            f"HTTP {status} for {path}: body is not UTF-8 ({len(body)} bytes)", status=status
        ) from exc
    except (ValueError, RecursionError) as exc:
        raise ProtocolError(
            f"HTTP {status} for {path}: body is not JSON ({len(body)} bytes)", status=status
        ) from exc


# Published codes whose meaning decides the exception, whatever the HTTP status says.
_NOT_FOUND = frozenset(
    {
        "ModelArts.4352",  # dataset does not exist (400)
        "ModelArts.4353",  # dataset version does not exist (400)
        "ModelArts.4359",  # export task does not exist (400)
        "ModelArts.4612",  # task not found (400)
        "ModelArts.4338",  # the resource not exists (400)
        "ModelArts.0015",  # the resource you requested is not exist (404)
        "ModelArts.3502",  # service does not exist (v1 services)
        "ModelArts.6623",  # dataset not found (workspace API, 404)
        "ModelArts.2775",  # training job not found (400)
        "ModelArts.3001",  # model not found (404)
        "ModelArts.6309",  # notebook instance does not exist (400)
    }
)
_CONFLICT = frozenset(
    {
        "ModelArts.4355",  # a sync of this dataset is running
        "ModelArts.4356",  # an import of this dataset is running
        "ModelArts.4343",  # the dataset is publishing a version
        "ModelArts.4349",  # the dataset is switching version
        "ModelArts.4370",  # one dataset version can be released in a minute
        "ModelArts.6305",  # the notebook instance is already running
        "ModelArts.6306",  # the notebook instance is starting
        "ModelArts.6307",  # the notebook instance has already been stopped
        "ModelArts.6308",  # the notebook instance is stopping
    }
)
_FINAL = frozenset(
    {
        "ModelArts.4360",  # sync data source error (500)
        "ModelArts.4614",  # task failed (500)
        "ModelArts.4354",  # quota (500)
    }
)
# The keys of every error body shape ModelArts and its gateway publish, most specific first:
# error_code with error_msg (v2) or error_message (v1, the common-response page),
# errorCode/errorMsg, code/message, and the same one object down (IAM's
# {"error": {"code", "message"}}). Code and message are found independently, so a body that
# mixes spellings keeps both halves.
_CODE_KEYS = ("error_code", "errorCode", "code")
_MSG_KEYS = ("error_msg", "error_message", "errorMsg", "message")
_NESTED_DEPTH = 3


def _text(value: object, numbers: bool) -> str | None:
    if isinstance(value, str):
        return value
    if numbers and type(value) is int:
        return str(value)
    return None


def _first(data: dict[object, object], keys: tuple[str, ...], numbers: bool) -> str | None:
    for key in keys:
        text = _text(data.get(key), numbers)
        if text is not None:
            return text
    return None


def error_fields(data: object, depth: int = 0) -> tuple[str | None, str | None]:
    """``(error_code, error_msg)`` of a decoded error body of any published shape; either is
    ``None`` when the body does not carry it. The one reader of error bodies."""
    if type(data) is not dict or depth > _NESTED_DEPTH:
        return None, None
    # Nested (Keystone-style) errors carry the HTTP status as a number for a code.
    code = _first(data, _CODE_KEYS, depth > 0)
    msg = _first(data, _MSG_KEYS, False)
    if code is not None or msg is not None:
        return code, msg
    for value in data.values():
        if type(value) is dict:
            code, msg = error_fields(value, depth + 1)
            if code is not None or msg is not None:
                return code, msg
    return None, None


def _error_fields(body: bytes) -> tuple[str | None, str | None]:
    try:
        data = json.loads(body.decode("utf-8"))
    except (ValueError, RecursionError):
        return None, None
    return error_fields(data)


def _message(
    status: int, method: str, path: str, code: str | None, msg: str | None, request_id: str | None
) -> str:
    text = f"HTTP {status} for {method} {path}"
    if code:
        text += f": {printable_line(code[:_SHOWN_MSG])}"
    if msg:
        shown = msg if len(msg) <= _SHOWN_MSG else msg[: _SHOWN_MSG - 3] + "..."
        text += f": {printable_line(shown)}"
    if request_id:
        text += f" (X-Request-Id: {request_id[:80]})"
    return text


def raise_for_status(
    status: int,
    headers: Mapping[str, str],
    body: bytes,
    *,
    path: str,
    method: str = "GET",
    now: Callable[[], float] = time.time,
) -> None:
    """Return on 2xx; otherwise raise the exception :func:`decode_response` describes."""
    if 200 <= status < 300:
        return
    code, msg = _error_fields(body)
    _raise(status, headers, code, msg, path=path, method=method, now=now)


def _raise(
    status: int,
    headers: Mapping[str, str],
    code: str | None,
    msg: str | None,
    *,
    path: str,
    method: str,
    now: Callable[[], float],
    refused: bool = False,
) -> None:
    """Raise the error for an answer; ``refused`` is a 2xx whose body says the call failed
    (v1 ``"is_success": false``): a permanent error whatever its code, reported with the
    status it came with."""
    request_id = _header(headers, "X-Request-Id")
    message = _message(status, method, path, code, msg, request_id)

    def error(cls: type[ApiError], text: str = message, **more: float | None) -> ApiError:
        return cls(
            text, status=status, error_code=code, error_msg=msg, request_id=request_id, **more
        )

    if code in _NOT_FOUND:
        raise error(NotFound)
    if code in _CONFLICT:
        raise error(Conflict)
    if code in _FINAL:
        raise error(OperationFailed)
    if status == 429 or 500 <= status < 600:
        retry_after = parse_retry_after(_header(headers, "Retry-After"), now)
        raise error(RateLimited if status == 429 else ServerError, retry_after=retry_after)
    if 400 <= status < 500 or refused:
        raise error(_PERMANENT.get(status, BadRequest))
    raise error(ProtocolError, f"unexpected {message}")


def decode_response(
    status: int,
    headers: Mapping[str, str],
    body: bytes,
    parse: Callable[[object], T],
    *,
    path: str,
    method: str = "GET",
    now: Callable[[], float] = time.time,
) -> T:
    """Turn one HTTP response into ``parse(json)`` or the matching library exception.

    2xx: the body must be UTF-8 JSON (else :class:`ProtocolError`); ``parse`` errors
    (:class:`ParseError`) propagate; a v1 body with ``"is_success": false`` is an error
    (its code's class, else :class:`BadRequest`) that keeps the 2xx ``status``.
    Published codes decide first: not-found codes give :class:`NotFound`, busy-resource
    codes :class:`Conflict`, final-failure 500 codes :class:`OperationFailed`, at any
    status. Then 401/403/404: :class:`Unauthorized`, :class:`Forbidden`,
    :class:`NotFound`; 429: :class:`RateLimited`; other 4xx: :class:`BadRequest`; 5xx:
    :class:`ServerError`. Every error carries the ``X-Request-Id`` header.
    ``Retry-After`` fills ``retry_after`` on 429 and 5xx. Anything
    else is a :class:`ProtocolError`. ``path`` names the request in messages; pass it
    without credentials (it never needs any). ``now`` (epoch seconds) is read only to
    turn a ``Retry-After`` HTTP-date into seconds.
    """
    if 200 <= status < 300:
        data = decode_json(body, status=status, path=path)
        if type(data) is dict and data.get("is_success") is False:
            # The v1 APIs publish failures as {"is_success": false, "error_code": ...}
            # without saying which status carries them: never a snapshot.
            code, msg = error_fields(data)
            _raise(status, headers, code, msg, path=path, method=method, now=now, refused=True)
        return parse(data)
    raise_for_status(status, headers, body, path=path, method=method, now=now)
    raise AssertionError("unreachable: raise_for_status returned for a non-2xx status")

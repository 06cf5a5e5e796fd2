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
    Forbidden,
    NotFound,
    ProtocolError,
    RateLimited,
    ServerError,
    Unauthorized,
)

__all__ = ["decode_json", "decode_response", "parse_retry_after", "raise_for_status"]

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


def _error_fields(body: bytes) -> tuple[str | None, str | None]:
    try:
        data = json.loads(body.decode("utf-8"))
    except (ValueError, RecursionError):
        return None, None
    if not isinstance(data, dict):
        return None, None
    code, msg = data.get("error_code"), data.get("error_msg")
    nested = data.get("error")
    if code is None and msg is None and isinstance(nested, dict):
        # IAM (Keystone style) nests its errors: {"error": {"code": 401, "message": ...}}.
        code, msg = nested.get("code"), nested.get("message")
        if isinstance(code, int) and not isinstance(code, bool):
            code = str(code)
    return (
        code if isinstance(code, str) else None,
        msg if isinstance(msg, str) else None,
    )


def _message(status: int, method: str, path: str, code: str | None, msg: str | None) -> str:
    text = f"HTTP {status} for {method} {path}"
    if code:
        text += f": {code}"
    if msg:
        shown = msg if len(msg) <= _SHOWN_MSG else msg[: _SHOWN_MSG - 3] + "..."
        text += f": {shown}"
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
    message = _message(status, method, path, code, msg)
    if status == 429 or 500 <= status < 600:
        retry_after = parse_retry_after(_header(headers, "Retry-After"), now)
        cls = RateLimited if status == 429 else ServerError
        raise cls(message, status=status, error_code=code, error_msg=msg, retry_after=retry_after)
    if 400 <= status < 500:
        raise _PERMANENT.get(status, BadRequest)(
            message, status=status, error_code=code, error_msg=msg
        )
    raise ProtocolError(f"unexpected {message}", status=status, error_code=code, error_msg=msg)


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
    (:class:`ParseError`) propagate. 401/403/404: :class:`Unauthorized`, :class:`Forbidden`,
    :class:`NotFound`; 429: :class:`RateLimited`; other 4xx: :class:`BadRequest`; 5xx:
    :class:`ServerError`. ``Retry-After`` fills ``retry_after`` on 429 and 5xx. Anything
    else is a :class:`ProtocolError`. ``path`` names the request in messages; pass it
    without credentials (it never needs any). ``now`` (epoch seconds) is read only to
    turn a ``Retry-After`` HTTP-date into seconds.
    """
    if 200 <= status < 300:
        return parse(decode_json(body, status=status, path=path))
    raise_for_status(status, headers, body, path=path, method=method, now=now)
    raise AssertionError("unreachable: raise_for_status returned for a non-2xx status")

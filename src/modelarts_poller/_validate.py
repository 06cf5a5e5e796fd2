"""Checks on caller-supplied identifiers, run before any request is built."""

from __future__ import annotations

import math
from urllib.parse import urlsplit

from ._errors import InvalidArgumentError


def check_id(name: str, value: object) -> str:
    """Return ``value`` if it is a usable path segment, else raise naming ``name``.

    A usable ID is a non-empty str with no ``/``, no ``..``, no whitespace and no
    control characters: anything else could change which URL is requested.
    """
    if not isinstance(value, str):
        raise InvalidArgumentError(f"{name} must be a str, got {type(value).__name__}")
    if not value:
        raise InvalidArgumentError(f"{name} must not be empty")
    if "/" in value or "\\" in value:
        raise InvalidArgumentError(f"{name} must not contain '/': {value!r}")
    if ".." in value:
        raise InvalidArgumentError(f"{name} must not contain '..': {value!r}")
    # Of all whitespace and control characters only " " is printable (checked over every
    # code point in test_validate), so one C-level call replaces a per-character loop.
    if " " in value or not value.isprintable():
        raise InvalidArgumentError(
            f"{name} must not contain whitespace or control characters: {value!r}"
        )
    return value


def check_text(name: str, value: object, *, secret: bool = False, edges: bool = True) -> str:
    """Return ``value`` if it can go into a header or credential field as it is.

    A str, non-empty, with no control characters and no whitespace at either end: a
    token read from a file with its newline would otherwise fail every request with a
    bare error from the HTTP library. ``edges=False`` allows spaces at the ends (a
    password may have them). A secret is never shown in the message.
    """
    if not isinstance(value, str):
        raise InvalidArgumentError(f"{name} must be a str, got {type(value).__name__}")
    if not value:
        raise InvalidArgumentError(f"{name} must not be empty")
    shown = "" if secret else f": {value!r}"
    if not value.replace(" ", "x").isprintable():
        raise InvalidArgumentError(
            f"{name} must not contain control characters (a newline read from a file?){shown}"
        )
    if edges and value != value.strip():
        raise InvalidArgumentError(f"{name} must not start or end with whitespace{shown}")
    return value


def check_number(
    name: str, value: object, *, minimum: float = 0.0, inclusive: bool = False
) -> float:
    """A finite int or float above ``minimum`` (or at it, with ``inclusive``); bools are
    not numbers."""
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise InvalidArgumentError(f"{name} must be a number, got {value!r}")
    if not math.isfinite(value) or value < minimum or (value == minimum and not inclusive):
        relation = ">=" if inclusive else ">"
        raise InvalidArgumentError(
            f"{name} must be a finite number {relation} {minimum:g}, got {value!r}"
        )
    return float(value)


def check_flag(name: str, value: object) -> bool:
    """``value`` if it is ``True`` or ``False`` (not a truthy stand-in such as ``1``)."""
    if not isinstance(value, bool):
        raise InvalidArgumentError(f"{name} must be a bool, got {value!r}")
    return value


def check_wait(name: str, value: object, *, optional: bool = True) -> None:
    """Refuse a time to wait that is not a number of seconds >= 0 (infinity is "for ever";
    NaN and bools are refused), or ``None`` where it is ``optional``."""
    if value is None and optional:
        return
    if (
        not isinstance(value, int | float)
        or isinstance(value, bool)
        or math.isnan(value)
        or value < 0
    ):
        raise InvalidArgumentError(f"{name} must be a number >= 0, got {value!r}")


def check_count(name: str, value: object, *, minimum: int = 0) -> int:
    """An int (not a bool) of at least ``minimum``."""
    if isinstance(value, bool) or not isinstance(value, int):
        raise InvalidArgumentError(f"{name} must be an int, got {value!r}")
    if value < minimum:
        raise InvalidArgumentError(f"{name} must be >= {minimum}, got {value}")
    return value


def check_endpoint(name: str, value: object) -> str:
    """An ``http(s)://host[:port][/path]`` base URL, without a trailing ``/``; refused
    with a query, a fragment, user info or a port out of range."""
    if not isinstance(value, str):
        raise InvalidArgumentError(f"{name} must be a str such as https://host[:port]")
    parts = urlsplit(value)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise InvalidArgumentError(f"{name} must be http(s)://host[:port], got {value!r}")
    if parts.query or parts.fragment or parts.username or parts.password:
        raise InvalidArgumentError(f"{name} must not carry a query, fragment or user info")
    try:
        parts.port  # noqa: B018 - read for its check: a port out of range raises
    except ValueError:
        raise InvalidArgumentError(f"{name} has an invalid port: {value!r}") from None
    return value.rstrip("/")

"""Checks on caller-supplied identifiers, run before any request is built."""

from __future__ import annotations

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

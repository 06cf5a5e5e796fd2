"""How the command line runs its event loop: on uvloop when it is installed."""

from __future__ import annotations

import importlib.util
from collections.abc import Awaitable, Callable
from typing import Any, TypeVar

import anyio

T = TypeVar("T")


def backend_options() -> dict[str, Any]:
    """anyio's asyncio options: uvloop if importable (it cuts the loop's own cost per
    request), the standard loop otherwise."""
    if importlib.util.find_spec("uvloop") is not None:
        return {"use_uvloop": True}
    return {}


def run(main: Callable[[], Awaitable[T]]) -> T:
    return anyio.run(main, backend="asyncio", backend_options=backend_options())

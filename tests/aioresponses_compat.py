"""aioresponses 0.7.9 with aiohttp >= 3.13: its fake responses lack ``stream_writer``.

``mock_http()`` is ``aioresponses()`` whose canned responses (and ``Result`` for
callbacks) use a ClientResponse that supplies a do-nothing writer. Drop this module once
aioresponses builds responses aiohttp accepts.
"""

from __future__ import annotations

from typing import Any

from aiohttp import ClientResponse
from aioresponses import CallbackResult, aioresponses

__all__ = ["Result", "mock_http"]


class _NoWriter:
    output_size = 0


class _CompatResponse(ClientResponse):
    def __init__(self, method: str, url: Any, **kwargs: Any) -> None:
        kwargs.setdefault("stream_writer", _NoWriter())
        super().__init__(method, url, **kwargs)


class mock_http(aioresponses):
    def add(self, *args: Any, **kwargs: Any) -> None:
        kwargs.setdefault("response_class", _CompatResponse)
        super().add(*args, **kwargs)


def Result(**kwargs: Any) -> CallbackResult:
    """A ``CallbackResult`` built with the compatible response class."""
    kwargs.setdefault("response_class", _CompatResponse)
    return CallbackResult(**kwargs)

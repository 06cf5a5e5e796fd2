"""Reading a response body within a size cap: a hostile server cannot make us hold more."""

from __future__ import annotations

import aiohttp

from ._errors import ResponseTooLarge

__all__ = ["read_capped"]


async def read_capped(
    resp: aiohttp.ClientResponse, cap: int, method: str, path: str, setting: str = "max_body_size"
) -> bytes:
    """The body, refused with ``ResponseTooLarge`` as soon as it is known to exceed ``cap``
    bytes (before it is all read when the server declares its length); ``setting`` names
    the limit in the message."""
    length = resp.content_length
    if length is not None:
        if length <= cap:
            return await resp.read()
        resp.close()
        raise ResponseTooLarge(
            f"{method} {path}: response body of {length} bytes exceeds {setting}={cap}",
            status=resp.status,
        )
    chunks: list[bytes] = []
    size = 0
    content = resp.content
    while True:
        chunk = await content.read(65536)
        if not chunk:
            break
        size += len(chunk)
        if size > cap:
            resp.close()
            raise ResponseTooLarge(
                f"{method} {path}: response body exceeds {setting}={cap} bytes",
                status=resp.status,
            )
        chunks.append(chunk)
    return chunks[0] if len(chunks) == 1 else b"".join(chunks)

"""The one JSON payload a watcher's end becomes: strict JSON Airflow can always send, bounded.

A trigger's event crosses the triggerer's message encoding (msgpack) to its supervisor, then
becomes the task's ``next_kwargs`` or XCom. An exception in that encoding stops the
triggerer's runner with every trigger in it, so whatever the server sent (a lone surrogate,
an integer past 64 bits, NaN, a 3 MB error text) is made sendable here, where every payload
is built, and the whole stays under :data:`MAX_PAYLOAD_BYTES`.
"""

from __future__ import annotations

import hashlib
import json
import math
from collections.abc import Mapping
from typing import Any

from .._events import TaskCompleted, TaskFailed
from ..cli._jsonl import snapshot_fields, spec_fields

MAX_PAYLOAD_BYTES = 64 * 1024
"""The most bytes a payload takes as UTF-8 JSON; past it, its longest texts and lists are cut."""

# What msgpack (Airflow's message encoding) can carry as an integer.
_INT_MIN, _INT_MAX = -(2**63), 2**64 - 1
_DEEPEST = 32  # nesting kept; deeper values become a marker (the server's JSON is any depth)
# (longest text, most items, deepest nesting) of each pass over a payload: the first keeps
# every value, each next one cuts harder. The last is small by construction (a few flat
# mappings of at most 8 entries of at most 128 characters), so every payload ends under
# the bound.
_CUTS: tuple[tuple[int | None, int | None, int], ...] = (
    (None, None, _DEEPEST),
    (8192, 256, _DEEPEST),
    (1024, 32, 8),
    (128, 8, 2),
)


def event_payload(outcome: TaskCompleted | TaskFailed) -> dict[str, Any]:
    """The JSON payload of a watcher's one event. ``event_id`` is the same for the same
    task's same end, so a duplicate (a trigger running on two triggerers) is recognisable.

    Strict JSON Airflow's message encoding accepts, whatever the server sent: a text's lone
    surrogates and NUL characters are written as escapes (``\\udc80``, ``\\x00``), an integer
    msgpack cannot carry and a float that is not finite become their text, keys become
    text; and under :data:`MAX_PAYLOAD_BYTES` as UTF-8 JSON, by cutting its longest texts
    and lists (a cut one ends with ``…`` and says how long it was) and its deepest
    nesting."""
    failed = isinstance(outcome, TaskFailed)
    status = outcome.snapshot.status if outcome.snapshot is not None else None
    raw: dict[str, Any] = {
        "status": "failed" if failed else "completed",
        "task": spec_fields(outcome.spec),
        "reason": outcome.reason.value if failed else None,  # type: ignore[union-attr]
        "remote_status": None if status is None else str(status),
        "message": outcome.message if failed else None,  # type: ignore[union-attr]
        "snapshot": snapshot_fields(outcome.snapshot),
    }
    whole: dict[str, Any] = sendable(raw)
    # From the values before any cut: the same end has the same ID however it was cut.
    key = json.dumps(
        [whole["task"], whole["status"], whole["reason"], whole["remote_status"]],
        sort_keys=True,
    )
    event_id = hashlib.sha256(key.encode()).hexdigest()[:32]
    payload = whole
    for text, items, deepest in _CUTS:
        if text is not None:
            payload = sendable(raw, text=text, items=items, deepest=deepest)
            assert isinstance(payload, dict)
        payload["event_id"] = event_id
        if size_of(payload) <= MAX_PAYLOAD_BYTES:
            break
    return payload


def size_of(payload: Any) -> int:
    """Bytes of ``payload`` as strict UTF-8 JSON."""
    return len(json.dumps(payload, ensure_ascii=False, allow_nan=False).encode())


def sendable(
    value: Any,
    *,
    text: int | None = None,
    items: int | None = None,
    deepest: int = _DEEPEST,
    depth: int = 0,
) -> Any:
    """``value`` as strict JSON that msgpack can carry (see :func:`event_payload`), each
    text cut to ``text`` characters, each list or mapping to ``items`` entries, and any
    list or mapping nested ``deepest`` levels down replaced by ``"…"``."""
    if value is None or isinstance(value, bool):
        return value
    if isinstance(value, int):
        return int(value) if _INT_MIN <= value <= _INT_MAX else _text(_int_text(value), text)
    if isinstance(value, float):
        return value if math.isfinite(value) else repr(value)
    if isinstance(value, str):
        return _text(value, text)
    if depth >= deepest:
        return "…"
    if isinstance(value, Mapping):
        out: dict[str, Any] = {}
        for n, (k, v) in enumerate(value.items()):
            if items is not None and n >= items:
                out["…"] = f"{len(value)} keys"
                break
            out[_key(k, text)] = sendable(
                v, text=text, items=items, deepest=deepest, depth=depth + 1
            )
        return out
    if isinstance(value, list | tuple | set | frozenset):
        seq = sorted(value, key=repr) if isinstance(value, set | frozenset) else value
        kept = seq if items is None or len(seq) <= items else seq[:items]
        out_list = [
            sendable(v, text=text, items=items, deepest=deepest, depth=depth + 1) for v in kept
        ]
        if len(kept) < len(seq):
            out_list.append(f"… {len(seq)} items")
        return out_list
    inner = getattr(value, "value", None)  # an enum member: its value
    if isinstance(inner, str | int | float):
        return sendable(inner, text=text)
    return _text(str(value), text)


def _key(key: object, text: int | None) -> str:
    key = sendable(key, text=text) if isinstance(key, str | int | float) else str(key)
    return key if isinstance(key, str) else json.dumps(key)


def _int_text(value: int) -> str:
    try:
        return str(value)
    except ValueError:  # more digits than Python converts
        return f"an integer of {value.bit_length()} bits"


def _text(value: str, longest: int | None) -> str:
    try:
        value.encode()
    except UnicodeEncodeError:  # a lone surrogate: no UTF-8 (nor msgpack) can carry it
        value = value.encode("utf-8", "backslashreplace").decode()
    if "\x00" in value:  # JSON allows it; a PostgreSQL JSON column holding the XCom does not
        value = value.replace("\x00", "\\x00")
    if longest is not None and len(value) > longest:
        return f"{value[:longest]}… {len(value)} characters"
    return value

"""Events as JSON Lines for pipes: one flat object per event (pure)."""

from __future__ import annotations

import json
from typing import Any

import attrs

from .._events import TaskCompleted, TaskEvent, TaskFailed, TaskProgress, TaskRetrying

SCHEMA_VERSION = 1
_NAMES = {
    TaskProgress: "progress",
    TaskRetrying: "retrying",
    TaskCompleted: "completed",
    TaskFailed: "failed",
}


def spec_fields(spec: Any) -> dict[str, Any]:
    fields: dict[str, Any] = {"kind": spec.kind}
    if attrs.has(type(spec)):
        fields.update((k, v) for k, v in attrs.asdict(spec, recurse=False).items() if v is not None)
    return fields


def snapshot_fields(snapshot: Any) -> dict[str, Any] | None:
    if snapshot is None or not attrs.has(type(snapshot)):
        return None
    out: dict[str, Any] = {}
    for a in attrs.fields(type(snapshot)):
        if a.name == "extra":
            continue
        value = getattr(snapshot, a.name)
        if value is None or attrs.has(type(value)) or isinstance(value, tuple | dict):
            continue  # keep lines flat and small; nested objects are not needed in a pipe
        out[a.name] = getattr(value, "value", value)
    return out


def event_to_dict(event: TaskEvent) -> dict[str, Any]:
    """The JSON object for one event. Keys: v, event, at, task, then per-event fields."""
    out: dict[str, Any] = {
        "v": SCHEMA_VERSION,
        "event": _NAMES.get(type(event), type(event).__name__),
        "at": round(event.at, 6),
        "task": spec_fields(event.spec),
    }
    if isinstance(event, TaskProgress | TaskCompleted):
        obs = event.observation
        out.update(status=obs.status, phase=obs.phase.value, completion=obs.completion)
        out["snapshot"] = snapshot_fields(event.snapshot)
    elif isinstance(event, TaskRetrying):
        out.update(
            attempt=event.attempt,
            delay=round(event.delay, 6),
            error=type(event.error).__name__,
            message=str(event.error),
        )
    elif isinstance(event, TaskFailed):
        out.update(
            reason=event.reason.value,
            message=event.message,
            error=type(event.error).__name__ if event.error is not None else None,
        )
        out["snapshot"] = snapshot_fields(event.snapshot)
    return out


def event_to_line(event: TaskEvent) -> str:
    return json.dumps(event_to_dict(event), separators=(",", ":"), default=str)

"""Structured context for the library's log records (``extra=``), so JSON formatters and
structlog pick up the task and the attempt without parsing messages. Never credentials."""

from __future__ import annotations

from typing import Any


def task_context(spec: Any, **more: object) -> dict[str, object]:
    """``kind``, ``task`` (the spec as text) and the kind's IDs by name (``dataset_id``,
    ``task_id``, ...), plus ``more`` (``attempt``, ``delay``, ``reason``...)."""
    context: dict[str, object] = {"kind": getattr(spec, "kind", None), "task": str(spec)}
    names = getattr(type(spec), "ID_NAMES", None)
    if names:
        context.update(zip(names, spec.ids, strict=False))
    context.update(more)
    return context

"""Turning command-line task references and task files into specs (pure)."""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Iterable
from typing import Any

from .._errors import InvalidArgumentError
from .._specs import DatasetTask, ExportTask, SyncTask

Spec = SyncTask | ExportTask | DatasetTask

KINDS = ("sync", "export", "task")
_KIND_ALIASES = {
    "sync": "sync",
    "export": "export",
    "task": "task",
    "dataset_task": "task",
    "generic": "task",
}


def normalise_kind(kind: str, where: str) -> str:
    try:
        return _KIND_ALIASES[kind.strip().lower()]
    except KeyError:
        raise InvalidArgumentError(
            f"{where}: unknown kind {kind!r} (expected one of: sync, export, task)"
        ) from None


def spec_from_fields(
    kind: str, fields: dict[str, Any], *, where: str, project_id: str | None = None
) -> Spec:
    """Build a spec from ``dataset_id``/``task_id``/``project_id`` fields."""
    kind = normalise_kind(kind, where)

    def field(name: str, required: bool) -> str | None:
        # Raised bare: the one handler below says where, once.
        value = fields.get(name)
        if value in (None, ""):
            if required:
                raise InvalidArgumentError(f"{_article(kind)} {kind} task needs {name}")
            return None
        if not isinstance(value, str):
            raise InvalidArgumentError(f"{name} must be a string, got {value!r}")
        return value

    try:
        project = field("project_id", False) or project_id
        if kind == "sync":
            return SyncTask(field("dataset_id", True), project_id=project)  # type: ignore[arg-type]
        if kind == "export":
            return ExportTask(
                field("dataset_id", True),  # type: ignore[arg-type]
                field("task_id", True),  # type: ignore[arg-type]
                project_id=project,
            )
        return DatasetTask(field("task_id", True), project_id=project)  # type: ignore[arg-type]
    except InvalidArgumentError as exc:
        raise InvalidArgumentError(f"{where}: {exc}") from None


def _article(word: str) -> str:
    return "an" if word[:1] in "aeiou" else "a"


def spec_from_ref(kind: str, ref: str) -> Spec:
    """``sync DATASET``, ``export DATASET/TASK`` or ``task TASK`` from the command line."""
    kind = normalise_kind(kind, "--kind")
    where = f"task {ref!r}"
    if kind == "export":
        dataset, sep, task = ref.partition("/")
        if not sep:
            raise InvalidArgumentError(f"{where}: an export task is DATASET_ID/TASK_ID")
        return spec_from_fields(kind, {"dataset_id": dataset, "task_id": task}, where=where)
    name = "dataset_id" if kind == "sync" else "task_id"
    return spec_from_fields(kind, {name: ref}, where=where)


def specs_from_text(text: str, *, name: str, default_kind: str | None = None) -> list[Spec]:
    """Read a task file: JSON Lines (one object per line) or CSV with a header row.

    Each entry has ``kind`` (or the ``--kind`` default) and the IDs its kind needs.
    Blank lines and lines starting with ``#`` are skipped. Errors name the line.
    """
    # Spreadsheet programs save UTF-8 with a byte-order mark; it is not part of the header.
    text = text.removeprefix("\ufeff")
    stripped = text.lstrip()
    if name.endswith((".jsonl", ".ndjson", ".json")) or stripped.startswith("{"):
        return list(_jsonl(text, name, default_kind))
    return list(_csv(text, name, default_kind))


def _kind_of(entry: dict[str, Any], default_kind: str | None, where: str) -> str:
    kind = entry.get("kind") or default_kind
    if not kind:
        raise InvalidArgumentError(f"{where}: no kind given (add a kind column or use --kind)")
    if not isinstance(kind, str):
        raise InvalidArgumentError(f"{where}: kind must be a string, got {kind!r}")
    return kind


def _jsonl(text: str, name: str, default_kind: str | None) -> Iterable[Spec]:
    for number, line in enumerate(text.splitlines(), start=1):
        line = line.strip()
        if not line or line.startswith("#"):
            continue
        where = f"{name}:{number}"
        try:
            entry = json.loads(line)
        except (json.JSONDecodeError, RecursionError) as exc:
            reason = exc.msg if isinstance(exc, json.JSONDecodeError) else "nested too deeply"
            raise InvalidArgumentError(f"{where}: not valid JSON ({reason})") from None
        if not isinstance(entry, dict):
            raise InvalidArgumentError(f"{where}: expected a JSON object, got {line[:40]!r}")
        yield spec_from_fields(_kind_of(entry, default_kind, where), entry, where=where)


def _csv(text: str, name: str, default_kind: str | None) -> Iterable[Spec]:
    lines = [ln for ln in text.splitlines() if ln.strip() and not ln.lstrip().startswith("#")]
    if not lines:
        return
    reader = csv.DictReader(io.StringIO("\n".join(lines)))
    header = [h.strip() for h in reader.fieldnames or []]
    known = {"kind", "dataset_id", "task_id", "project_id"}
    unknown = [h for h in header if h not in known]
    if unknown or not header:
        raise InvalidArgumentError(
            f"{name}:1: unknown CSV column(s) {unknown or header}; "
            "expected a header of kind, dataset_id, task_id, project_id"
        )
    reader.fieldnames = header
    for number, row in enumerate(reader, start=2):
        where = f"{name}:{number}"
        if None in row:
            raise InvalidArgumentError(f"{where}: more fields than columns")
        entry = {k: (v.strip() if isinstance(v, str) else v) for k, v in row.items()}
        yield spec_from_fields(_kind_of(entry, default_kind, where), entry, where=where)

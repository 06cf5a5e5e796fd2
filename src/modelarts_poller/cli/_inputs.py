"""Turning command-line task references and task files into specs (pure).

Every kind comes from the one registry (``get_kind``): a reference is the kind's IDs in
path order joined with ``/`` (``export`` takes ``DATASET_ID/TASK_ID``), and a task file
row names the IDs by their field names (``dataset_id``, ``task_id``, ``version_id``...).
"""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Iterable
from typing import Any

from .._errors import InvalidArgumentError
from .._kind import Kind, get_kind, kinds
from .._specs import TaskSpec

Spec = TaskSpec[Any]


def kind_names() -> list[str]:
    return [k.name for k in kinds()]


def find_kind(name: str, where: str) -> Kind:
    try:
        return get_kind(name)
    except InvalidArgumentError as exc:
        raise InvalidArgumentError(f"{where}: {exc}") from None


def _article(word: str) -> str:
    return "an" if word[:1] in "aeiou" else "a"


def spec_from_fields(
    kind: str, fields: dict[str, Any], *, where: str, project_id: str | None = None
) -> Spec:
    """Build a spec from the kind's ID fields (and ``project_id``), naming ``where`` once."""
    k = find_kind(kind, where)

    def field(name: str, required: bool) -> str | None:
        # Raised bare: the one handler below says where, once.
        value = fields.get(name)
        if value in (None, ""):
            if required:
                raise InvalidArgumentError(f"{_article(k.name)} {k.name} task needs {name}")
            return None
        if not isinstance(value, str):
            raise InvalidArgumentError(f"{name} must be a string, got {value!r}")
        return value

    try:
        project = field("project_id", False) or project_id
        ids = [field(name, True) or "" for name in k.id_names]
        return k.spec(*ids, project_id=project)
    except InvalidArgumentError as exc:
        raise InvalidArgumentError(f"{where}: {exc}") from None


def spec_from_ref(kind: str, ref: str) -> Spec:
    """A task named on the command line: the kind's IDs in path order, joined by ``/``."""
    k = find_kind(kind, "--kind")
    where = f"task {ref!r}"
    parts = ref.split("/")
    if len(parts) != len(k.id_names):
        shape = "/".join(n.upper() for n in k.id_names)
        raise InvalidArgumentError(f"{where}: {_article(k.name)} {k.name} task is {shape}")
    return spec_from_fields(k.name, dict(zip(k.id_names, parts, strict=True)), where=where)


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


def _known_fields() -> set[str]:
    """What a task file's entry may name: its kind, a project, any kind's IDs."""
    return {"kind", "project_id"} | {n for k in kinds() for n in k.id_names}


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
        known = _known_fields()
        unknown = sorted(k for k in entry if k not in known)
        if unknown:  # a misspelt ID would otherwise read as a missing one, or pass unseen
            raise InvalidArgumentError(
                f"{where}: unknown field(s) {unknown}; expected {', '.join(sorted(known))}"
            )
        yield spec_from_fields(_kind_of(entry, default_kind, where), entry, where=where)


def _csv(text: str, name: str, default_kind: str | None) -> Iterable[Spec]:
    # Blank and comment lines are left out, but lines are still named by their number in
    # the file: ``numbers[i]`` is the file line of the i-th line the CSV reader sees.
    kept = [
        (n, ln)
        for n, ln in enumerate(text.splitlines(), start=1)
        if ln.strip() and not ln.lstrip().startswith("#")
    ]
    if not kept:
        return
    numbers = [n for n, _ in kept]
    reader = csv.DictReader(io.StringIO("\n".join(ln for _, ln in kept)))
    header = [h.strip() for h in reader.fieldnames or []]
    known = _known_fields()
    unknown = [h for h in header if h not in known]
    if unknown or not header:
        raise InvalidArgumentError(
            f"{name}:{numbers[0]}: unknown CSV column(s) {unknown or header}; "
            f"expected a header of {', '.join(sorted(known))}"
        )
    reader.fieldnames = header
    for row in reader:
        where = f"{name}:{numbers[min(reader.line_num, len(numbers)) - 1]}"
        if None in row:
            raise InvalidArgumentError(f"{where}: more fields than columns")
        entry = {k: (v.strip() if isinstance(v, str) else v) for k, v in row.items()}
        yield spec_from_fields(_kind_of(entry, default_kind, where), entry, where=where)

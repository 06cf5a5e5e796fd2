"""A ModelArts kind declared the way docs/kinds.md shows a user: one module.

(A made-up "notebook" resource: GET /v1/{project_id}/notebooks/{notebook_id} answering
{"status": "CREATING" | "RUNNING" | "ERROR", ...}.)
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, ClassVar

import attrs

from modelarts_poller import Kind, ModelArtsTask, Phase, register_kind

PHASES: Mapping[Any, Phase] = {
    "CREATING": Phase.PENDING,
    "RUNNING": Phase.SUCCEEDED,
    "ERROR": Phase.FAILED,
}


@attrs.frozen
class NotebookStatus:
    status: str | None
    error_msg: str | None = None
    error_code: str | None = None

    @property
    def phase(self) -> Phase:
        return PHASES.get(self.status, Phase.UNKNOWN)

    @property
    def completion(self) -> float | None:
        return 1.0 if self.phase is Phase.SUCCEEDED else None


def parse_notebook(data: object) -> NotebookStatus:
    if not isinstance(data, dict):
        raise TypeError("expected an object")
    return NotebookStatus(data.get("status"), data.get("error_msg"))


@attrs.frozen
class NotebookReady(ModelArtsTask):
    notebook_id: str
    project_id: str | None = attrs.field(default=None, kw_only=True)
    success: frozenset[Any] | None = attrs.field(default=None, kw_only=True)
    KIND: ClassVar[str] = "toy_notebook"
    PATH: ClassVar[str] = "/v1/{project_id}/notebooks/{notebook_id}"
    ID_NAMES: ClassVar[tuple[str, ...]] = ("notebook_id",)
    PARSE: ClassVar[Any] = staticmethod(parse_notebook)
    PHASES: ClassVar[Mapping[Any, Phase]] = PHASES


register_kind(Kind("toy_notebook", NotebookReady, ("notebook_id",)))

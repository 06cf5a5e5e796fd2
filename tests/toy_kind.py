"""A ModelArts kind declared the way docs/kinds.md shows a user: one module.

(A made-up "notebook" resource: POST /v1/{project_id}/notebooks answering
{"notebook_id": "..."}, GET /v1/{project_id}/notebooks/{notebook_id} answering
{"status": "CREATING" | "RUNNING" | "ERROR", ...}.)
"""

from __future__ import annotations

import enum
from collections.abc import Mapping
from typing import Any

import attrs

from modelarts_poller import ModelArtsTask, Phase
from modelarts_poller.operations import (
    StatusMixin,
    Transport,
    declare,
    extra_field,
    id_answer,
    id_field,
    phase_table,
    project_field,
    success_field,
    text,
)


class NotebookState(enum.Enum):
    CREATING = "CREATING"
    RUNNING = "RUNNING"
    ERROR = "ERROR"


S = NotebookState
PHASES = phase_table(
    S, {S.CREATING: Phase.PENDING, S.RUNNING: Phase.SUCCEEDED, S.ERROR: Phase.FAILED}
)
START = "/v1/{project_id}/notebooks"


@attrs.frozen
class NotebookStatus(StatusMixin[NotebookState]):
    status: str | None = text()
    error_code: str | None = text()
    error_msg: str | None = text()
    extra: Mapping[str, object] = extra_field()


@declare("toy_notebook", values=S, phases=PHASES, model=NotebookStatus,
         path="/v1/{project_id}/notebooks/{notebook_id}", templates=(START,))  # fmt: skip
@attrs.frozen
class NotebookReady(ModelArtsTask):
    notebook_id: str = id_field()
    project_id: str | None = project_field()
    success: frozenset[Any] | None = success_field()


async def start_notebook(client: Transport, name: str) -> NotebookReady:
    body = {"name": name}
    return NotebookReady(await client.request("POST", START, id_answer("notebook_id"), body=body))

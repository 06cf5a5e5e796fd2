"""Model (AI application) import: ``model``. Model, status table and spec.

Sources: the API reference's model pages ("Querying Model Details", "Querying a Model
List"). ``model_status``: publishing, building, published, failed, building_failed.
"""

from __future__ import annotations

import enum
from collections.abc import Mapping
from typing import Any

import attrs

from .. import _parsing as p
from .._kind import ModelArtsTask, id_field, project_field, success_field
from .._phase import Phase
from ._declare import declare, integer, parser, phase_table, text

STATUS_PATH = "/v1/{project_id}/models/{model_id}"


class ModelStatusValue(enum.Enum):
    """The documented values of a model's ``model_status``."""

    PUBLISHING = "publishing"
    BUILDING = "building"
    PUBLISHED = "published"
    FAILED = "failed"
    BUILDING_FAILED = "building_failed"


V = ModelStatusValue
PHASES = phase_table(V, {
    V.PUBLISHING: Phase.PENDING, V.BUILDING: Phase.RUNNING, V.PUBLISHED: Phase.SUCCEEDED,
    V.FAILED: Phase.FAILED, V.BUILDING_FAILED: Phase.FAILED,
})  # fmt: skip


@attrs.frozen
class ModelStatus(p.StatusMixin[ModelStatusValue]):
    """``GET /v1/{project_id}/models/{model_id}``; ``status`` is the body's
    ``model_status``. ``create_at`` is milliseconds since the epoch."""

    model_id: str | None = text()
    model_name: str | None = text()
    model_version: str | None = text()
    model_type: str | None = text()
    status: str | None = text("model_status")
    description: str | None = text()
    create_at: int | None = integer()
    error_code: str | None = text()
    # v1 APIs publish error_message; error_msg is the v2 spelling.
    error_msg: str | None = text(aliases=("error_message",))
    extra: Mapping[str, object] = p.extra_field()


parse_model_status = parser(ModelStatus)


@declare("model", values=V, phases=PHASES, model=ModelStatus, parse=parse_model_status,
         path=STATUS_PATH, description="model (AI application) import")  # fmt: skip
@attrs.frozen
class ModelImport(ModelArtsTask):
    """A model being imported (published). Succeeds on ``published``; ``failed`` and
    ``building_failed`` fail it."""

    model_id: str = id_field()
    project_id: str | None = project_field()
    success: frozenset[Any] | None = success_field()

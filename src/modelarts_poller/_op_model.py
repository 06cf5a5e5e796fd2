"""Model (AI application) import: ``model``. Model, status table and spec.

Sources: the API reference's model pages ("Querying Model Details", "Querying a Model
List"). ``model_status``: publishing, building, published, failed, building_failed.
"""

from __future__ import annotations

import enum
from collections.abc import Mapping
from types import MappingProxyType
from typing import Any, ClassVar

import attrs

from . import _parsing as p
from ._kind import Kind, ModelArtsTask, id_field, project_field, register_kind, success_field
from ._phase import Phase

STATUS_PATH = "/v1/{project_id}/models/{model_id}"


class ModelStatusValue(enum.Enum):
    """The documented values of a model's ``model_status``."""

    PUBLISHING = "publishing"
    BUILDING = "building"
    PUBLISHED = "published"
    FAILED = "failed"
    BUILDING_FAILED = "building_failed"


PHASES: Mapping[Any, Phase] = MappingProxyType(
    {
        "publishing": Phase.PENDING,
        "building": Phase.RUNNING,
        "published": Phase.SUCCEEDED,
        "failed": Phase.FAILED,
        "building_failed": Phase.FAILED,
    }
)
_KNOWN = frozenset(
    {
        "model_id",
        "model_name",
        "model_version",
        "model_type",
        "model_status",
        "description",
        "create_at",
        "error_code",
    }
)


@attrs.frozen
class ModelStatus(p.StatusMixin[ModelStatusValue]):
    """``GET /v1/{project_id}/models/{model_id}``; ``status`` is the body's
    ``model_status``. ``create_at`` is milliseconds since the epoch."""

    model_id: str | None = None
    model_name: str | None = None
    model_version: str | None = None
    model_type: str | None = None
    status: str | None = None
    description: str | None = None
    create_at: int | None = None
    error_code: str | None = None
    error_msg: str | None = None
    extra: Mapping[str, object] = p.extra_field()
    _phases: ClassVar[Mapping[Any, Phase]] = PHASES
    _values: ClassVar[type[Any]] = ModelStatusValue


def parse_model_status(data: object) -> ModelStatus:
    """Read a model body; raises :class:`ParseError` on a wrong type."""
    d = p.obj(data, "")
    # v1 APIs publish error_message; error_msg is the v2 spelling.
    error_msg, spellings = p.alias_str(d, ("error_msg", "error_message"), "")
    return ModelStatus(
        model_id=p.opt_str(d, "model_id", ""),
        model_name=p.opt_str(d, "model_name", ""),
        model_version=p.opt_str(d, "model_version", ""),
        model_type=p.opt_str(d, "model_type", ""),
        status=p.opt_str(d, "model_status", ""),
        description=p.opt_str(d, "description", ""),
        create_at=p.opt_int(d, "create_at", ""),
        error_code=p.opt_str(d, "error_code", ""),
        error_msg=error_msg,
        extra=p.extra(d, _KNOWN | spellings),
    )


@attrs.frozen
class ModelImport(ModelArtsTask):
    """A model being imported (published). Succeeds on ``published``; ``failed`` and
    ``building_failed`` fail it."""

    model_id: str = id_field("model_id")
    project_id: str | None = project_field()
    success: frozenset[Any] | None = success_field()
    KIND: ClassVar[str] = "model"
    PATH: ClassVar[str] = STATUS_PATH
    ID_NAMES: ClassVar[tuple[str, ...]] = ("model_id",)
    PARSE: ClassVar[Any] = staticmethod(parse_model_status)
    PHASES: ClassVar[Mapping[Any, Phase]] = PHASES


KIND = register_kind(
    Kind("model", ModelImport, ("model_id",), description="model (AI application) import")
)

"""Service deployment: ``service``. Model, status table and spec.

Source: the API reference's "Obtaining Service Details" and "Querying Services" (the list
page's ``status`` filter names every value). ``status``: running, deploying, concerning
(partly abnormal), failed, stopped, finished (a batch service that is done), stopping,
deleting, pending (not started yet) and waiting (queuing for resources; those two only for
real-time services); ``progress`` is the deployment percentage while deploying. Watching
a service waits until it is deployed: ``running`` and ``finished`` complete the watch,
``failed`` and ``stopped`` fail it, ``concerning`` keeps waiting. To wait for a batch
service to finish, pass ``success={"finished"}``.
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

STATUS_PATH = "/v1/{project_id}/services/{service_id}"


class ServiceStatusValue(enum.Enum):
    """The documented values of a service's ``status``."""

    DEPLOYING = "deploying"
    RUNNING = "running"
    CONCERNING = "concerning"
    FAILED = "failed"
    STOPPED = "stopped"
    FINISHED = "finished"
    STOPPING = "stopping"
    DELETING = "deleting"
    PENDING = "pending"
    WAITING = "waiting"


PHASES: Mapping[Any, Phase] = MappingProxyType(
    {
        "deploying": Phase.RUNNING,
        "running": Phase.SUCCEEDED,
        "concerning": Phase.RUNNING,
        "failed": Phase.FAILED,
        "stopped": Phase.FAILED,
        "finished": Phase.SUCCEEDED,
        "stopping": Phase.RUNNING,
        "deleting": Phase.RUNNING,
        "pending": Phase.PENDING,  # not started yet
        "waiting": Phase.PENDING,  # queuing for resources
    }
)
_KNOWN = frozenset(
    {
        "service_id",
        "service_name",
        "status",
        "progress",
        "infer_type",
        "update_time",
        "error_code",
    }
)


@attrs.frozen
class ServiceStatus(p.StatusMixin[ServiceStatusValue]):
    """``GET /v1/{project_id}/services/{service_id}``: the fields that say its state.
    ``progress`` is the deployment percentage."""

    service_id: str | None = None
    service_name: str | None = None
    status: str | None = None
    progress: int | None = None
    infer_type: str | None = None
    update_time: int | None = None
    error_code: str | None = None
    error_msg: str | None = None
    extra: Mapping[str, object] = p.extra_field()
    _phases: ClassVar[Mapping[Any, Phase]] = PHASES
    _values: ClassVar[type[Any]] = ServiceStatusValue

    @property
    def completion(self) -> float | None:
        if self.phase is Phase.SUCCEEDED:
            return 1.0
        if self.progress is None or self.status != "deploying":
            return None
        return min(1.0, max(0.0, self.progress / 100.0))


def parse_service_status(data: object) -> ServiceStatus:
    """Read a service body; raises :class:`ParseError` on a wrong type."""
    d = p.obj(data, "")
    # v1 APIs publish error_message; error_msg is the v2 spelling.
    error_msg, spellings = p.alias_str(d, ("error_msg", "error_message"), "")
    return ServiceStatus(
        service_id=p.opt_str(d, "service_id", ""),
        service_name=p.opt_str(d, "service_name", ""),
        status=p.opt_str(d, "status", ""),
        progress=p.opt_int(d, "progress", ""),
        infer_type=p.opt_str(d, "infer_type", ""),
        update_time=p.opt_int(d, "update_time", ""),
        error_code=p.opt_str(d, "error_code", ""),
        error_msg=error_msg,
        extra=p.extra(d, _KNOWN | spellings),
    )


@attrs.frozen
class ServiceDeployment(ModelArtsTask):
    """A service being deployed. Succeeds on ``running`` (or ``finished``); ``failed`` and
    ``stopped`` fail it."""

    service_id: str = id_field("service_id")
    project_id: str | None = project_field()
    success: frozenset[Any] | None = success_field()
    KIND: ClassVar[str] = "service"
    PATH: ClassVar[str] = STATUS_PATH
    ID_NAMES: ClassVar[tuple[str, ...]] = ("service_id",)
    PARSE: ClassVar[Any] = staticmethod(parse_service_status)
    PHASES: ClassVar[Mapping[Any, Phase]] = PHASES


KIND = register_kind(
    Kind("service", ServiceDeployment, ("service_id",), description="service deployment")
)

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
from typing import Any

import attrs

from .. import _parsing as p
from .._kind import ModelArtsTask, id_field, project_field, success_field
from .._phase import Phase
from ._declare import declare, integer, parser, phase_table, text

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


V = ServiceStatusValue
PHASES = phase_table(V, {
    V.DEPLOYING: Phase.RUNNING, V.RUNNING: Phase.SUCCEEDED, V.CONCERNING: Phase.RUNNING,
    V.FAILED: Phase.FAILED, V.STOPPED: Phase.FAILED, V.FINISHED: Phase.SUCCEEDED,
    V.STOPPING: Phase.RUNNING, V.DELETING: Phase.RUNNING,
    V.PENDING: Phase.PENDING,  # not started yet
    V.WAITING: Phase.PENDING,  # queuing for resources
})  # fmt: skip


@attrs.frozen
class ServiceStatus(p.StatusMixin[ServiceStatusValue]):
    """``GET /v1/{project_id}/services/{service_id}``: the fields that say its state.
    ``progress`` is the deployment percentage."""

    service_id: str | None = text()
    service_name: str | None = text()
    status: str | None = text()
    progress: int | None = integer()
    infer_type: str | None = text()
    update_time: int | None = integer()
    error_code: str | None = text()
    # v1 APIs publish error_message; error_msg is the v2 spelling.
    error_msg: str | None = text(aliases=("error_message",))
    extra: Mapping[str, object] = p.extra_field()

    @property
    def completion(self) -> float | None:
        if self.phase is Phase.SUCCEEDED:
            return 1.0
        if self.progress is None or self.status != "deploying":
            return None
        return min(1.0, max(0.0, self.progress / 100.0))


parse_service_status = parser(ServiceStatus)


@declare("service", values=V, phases=PHASES, model=ServiceStatus, parse=parse_service_status,
         path=STATUS_PATH, description="service deployment")  # fmt: skip
@attrs.frozen
class ServiceDeployment(ModelArtsTask):
    """A service being deployed. Succeeds on ``running`` (or ``finished``); ``failed`` and
    ``stopped`` fail it."""

    service_id: str = id_field()
    project_id: str | None = project_field()
    success: frozenset[Any] | None = success_field()

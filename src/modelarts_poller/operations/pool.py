"""Resource pools: ``pool``. Model, status table, spec, and the create and list calls.

Source: the official SDK (``huaweicloudsdkmodelarts``): ``show_pool``
(``GET /v2/{project_id}/pools/{pool_name}``, answered by ``ShowPoolResponse``),
``create_pool`` (``POST /v2/{project_id}/pools``) and ``list_pools`` (``GET`` on the same
path, ``ListPoolsResponse``, not paged). The state is ``status.phase``, whose documented
values (``PoolStatus.phase``) are Creating, Running, Abnormal, Deleting and Error;
``status.message`` is the hint about the current state.

Watching a pool waits until it is created: ``Running`` completes the watch; ``Error`` (its
creation failed), ``Abnormal`` and ``Deleting`` fail it (a pool in those will not come up
by waiting); ``Creating`` keeps waiting.
"""

from __future__ import annotations

import enum
from collections.abc import AsyncIterator, Mapping
from typing import Any

import attrs

from .. import _parsing as p
from .._errors import InvalidArgumentError, ParseError
from .._kind import (
    ListPaging,
    ModelArtsTask,
    Transport,
    body_fields,
    id_field,
    project_field,
    success_field,
)
from .._phase import Phase
from .._specs import ModelArtsAPI
from ._declare import declare, derived, parser, phase_table, text

STATUS_PATH = "/v2/{project_id}/pools/{pool_name}"  # show_pool
POOLS_PATH = "/v2/{project_id}/pools"  # create_pool (POST), list_pools (GET)


class PoolPhaseValue(enum.Enum):
    """The documented values of a pool's ``status.phase`` (``show_pool``; the SDK model
    ``PoolStatus.phase``)."""

    CREATING = "Creating"
    RUNNING = "Running"
    ABNORMAL = "Abnormal"
    DELETING = "Deleting"
    ERROR = "Error"


V = PoolPhaseValue
PHASES = phase_table(V, {
    V.CREATING: Phase.RUNNING, V.RUNNING: Phase.SUCCEEDED, V.ABNORMAL: Phase.FAILED,
    V.DELETING: Phase.FAILED, V.ERROR: Phase.FAILED,
})  # fmt: skip
_FAILED = frozenset(v for v, phase in PHASES.items() if phase is Phase.FAILED)


@attrs.frozen
class PoolStatus(p.StatusMixin[PoolPhaseValue]):
    """``GET /v2/{project_id}/pools/{pool_name}`` (``ShowPoolResponse``; a ``list_pools``
    item, ``PoolModel``, is the same). Its top-level fields are ``apiVersion``, ``kind``,
    ``metadata``, ``spec`` and ``status``: ``status`` here is ``status.phase``,
    ``message`` is ``status.message``, ``pool_name`` and ``creation_timestamp`` come from
    ``metadata`` (``name``, ``creationTimestamp``). The pool's ``spec`` and the other keys
    of ``metadata`` and ``status`` (labels, resources, ...) are kept in ``extra``. No error
    code is published: ``error_code`` is ``None``; ``error_msg`` is ``message`` once the
    phase has failed (``Error``, ``Abnormal``, ``Deleting``), else ``None``."""

    api_version: str | None = text("apiVersion")
    kind: str | None = text()
    pool_name: str | None = text("name", at="metadata")
    creation_timestamp: str | None = text("creationTimestamp", at="metadata")
    status: str | None = text("phase", at="status")
    message: str | None = text(at="status")
    error_code: str | None = derived()
    error_msg: str | None = derived()
    extra: Mapping[str, object] = p.extra_field()


def _finish(d: dict[str, Any], v: dict[str, Any]) -> None:
    v["error_code"] = None
    v["error_msg"] = v["message"] if v["status"] in _FAILED else None


parse_pool_status = parser(PoolStatus, _finish)


def _page(data: object) -> tuple[int, tuple[PoolStatus, ...]]:
    """``ListPoolsResponse``: every pool in one answer (``list_pools`` is not paged)."""
    d = p.obj(data, "")
    items: tuple[PoolStatus, ...] = p.opt_list(d, "items", "", parse_pool_status) or ()
    return len(items), items


@declare("pool", values=V, phases=PHASES, model=PoolStatus, parse=parse_pool_status,
         path=STATUS_PATH, list_path=POOLS_PATH, list_page=_page,
         list_paging=ListPaging(unpaged=True), description="resource pool (creation)",
         templates=(POOLS_PATH,))  # fmt: skip
@attrs.frozen
class ResourcePool(ModelArtsTask):
    """A resource pool, watched until it is created. Succeeds on ``Running``; ``Error``,
    ``Abnormal`` and ``Deleting`` fail it."""

    pool_name: str = id_field()
    project_id: str | None = project_field()
    success: frozenset[Any] | None = success_field()


def _created_name(data: object) -> str:
    d = p.obj(data, "")
    name = p.opt_str(p.obj(d.get("metadata") or {}, "metadata"), "name", "metadata")
    if not name:
        raise ParseError("metadata.name", name, "non-empty string")
    return name


async def create_pool(
    client: Transport,
    *,
    metadata: Mapping[str, object],
    spec: Mapping[str, object],
    api_version: str = "v2",
    kind: str = "Pool",
    project_id: str | None = None,
) -> ResourcePool:
    """Create a resource pool (``create_pool``) and return the spec that watches its
    creation, named by the ``metadata.name`` the answer gives it. ``metadata`` and
    ``spec`` are the request body's objects (``PoolMetadataCreation``,
    ``PoolSpecCreation``), sent verbatim."""
    body: dict[str, object] = {
        "apiVersion": api_version,
        "kind": kind,
        "metadata": body_fields("metadata", metadata),
        "spec": body_fields("spec", spec),
    }
    name = await client.request("POST", POOLS_PATH, _created_name, body=body,
                                project_id=project_id)  # fmt: skip
    return ResourcePool(name, project_id=project_id)


_LIST_STATUS = frozenset({"created", "failed", "creating"})


async def list_pools(
    client: Transport,
    *,
    status: str | None = None,
    workspace_id: str | None = None,
    label_selector: str | None = None,
    project_id: str | None = None,
) -> AsyncIterator[PoolStatus]:
    """Every resource pool (``list_pools``: one request, not paged). ``status`` filters by
    the list's own values: ``created``, ``failed`` or ``creating``."""
    if status is not None and status not in _LIST_STATUS:
        raise InvalidArgumentError(
            f"status must be one of {', '.join(sorted(_LIST_STATUS))}, got {status!r}"
        )
    query = {
        k: v
        for k, v in (("status", status), ("workspaceId", workspace_id),
                     ("labelSelector", label_selector))
        if v is not None
    }  # fmt: skip
    _, items = await client.request("GET", POOLS_PATH, _page, query=query,
                                    project_id=project_id)  # fmt: skip
    for item in items:
        yield item


async def get_pool_status(
    client: ModelArtsAPI, pool_name: str, *, project_id: str | None = None
) -> PoolStatus:
    """The status of one resource pool (``show_pool``)."""
    result: PoolStatus = await client.get_task(ResourcePool(pool_name, project_id=project_id))
    return result

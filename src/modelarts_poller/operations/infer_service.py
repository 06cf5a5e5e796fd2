"""Inference services of the v2 API: ``infer_service``. Model, status table, spec, and the
create, start, stop and list calls.

Source: the official SDK (``huaweicloudsdkmodelarts``), ``show_infer_service``
(``ShowInferServiceResponse``) and ``list_infer_services`` (items
``ServiceItemResponseData``). The two models document different value lists for
``status``; the enum holds both (``INIT`` from the first, ``INTERRUPTING`` from the
second). A failed service says why in ``failure_reason``; no error code is published.
Times are milliseconds since the epoch, strings in the status answer and integers in list
items (read as strings); ``version`` is an object in the status answer and a version
string in list items.
"""

from __future__ import annotations

import enum
from collections.abc import AsyncIterator, Mapping
from datetime import datetime
from typing import Any

import attrs

from .. import _parsing as p
from .._kind import (
    ModelArtsTask,
    StopCall,
    Transport,
    body_fields,
    check_page_size,
    id_answer,
    id_field,
    no_answer,
    pages,
    project_field,
    success_field,
)
from .._phase import Phase
from .._validate import check_text
from ._declare import declare, derived, flag, integer, items, parser, phase_table, read, text
from ._live_on import BY_RECORD, data_page, spec_for, stop_until_stopped, until

STATUS_PATH = "/v2/{project_id}/services/{service_id}"  # show_infer_service
SERVICES_PATH = "/v2/{project_id}/services"  # create_infer_service (POST), list_infer_services
START_PATH = STATUS_PATH + "/start"  # start_infer_service
# stop_infer_service: POST, no body; the service ends STOPPED.
STOP = StopCall("POST", STATUS_PATH + "/stop", frozenset({"STOPPED"}))
RUNNING = frozenset({"RUNNING"})


class InferServiceStatusValue(enum.Enum):
    """The documented values of a v2 service's ``status`` (``ShowInferServiceResponse``
    and ``ServiceItemResponseData`` in the SDK)."""

    DEPLOYING = "DEPLOYING"  # 部署中, deploying
    FAILED = "FAILED"  # 失败
    STOPPED = "STOPPED"  # 停止
    RUNNING = "RUNNING"  # 运行中
    DELETING = "DELETING"  # 删除中
    STOPPING = "STOPPING"  # 停止中
    CONCERNING = "CONCERNING"  # 告警: running, partly abnormal
    UPGRADING = "UPGRADING"  # 升级中
    ERROR = "ERROR"  # 异常
    INIT = "INIT"  # 待部署, to be deployed (the status answer only)
    INTERRUPTING = "INTERRUPTING"  # 中断中 (list items only)


V = InferServiceStatusValue
# Done when it runs; a stopped service is not deployed (a stop call's spec says otherwise).
PHASES = phase_table(V, {
    V.INIT: Phase.PENDING, V.DEPLOYING: Phase.RUNNING, V.UPGRADING: Phase.RUNNING,
    V.CONCERNING: Phase.RUNNING, V.STOPPING: Phase.RUNNING, V.DELETING: Phase.RUNNING,
    V.INTERRUPTING: Phase.RUNNING, V.RUNNING: Phase.SUCCEEDED, V.STOPPED: Phase.FAILED,
    V.FAILED: Phase.FAILED, V.ERROR: Phase.FAILED,
})  # fmt: skip


@attrs.frozen
class FrozenInfo:
    """Why a service is frozen (``FrozenInfo``): ``scene`` ARREAR (arrears), POLICE or
    ILLEGAL; ``effect`` 1 (may be released) or 2 (may not)."""

    scene: str | None = text()
    effect: int | None = integer()
    extra: Mapping[str, object] = p.extra_field()


@attrs.frozen
class PredictUrl:
    """Where a service answers (``PredictUrlResponse``)."""

    type: str | None = text()
    urls: tuple[str, ...] | None = items(p.str_item)
    extra: Mapping[str, object] = p.extra_field()


@attrs.frozen
class ScheduleConfig:
    """A scheduled stop (``ScheduleConfigResponse``): ``type`` (stop), ``duration`` in
    ``time_unit``, ``due_time`` (ms), and whether it was ``processed``."""

    due_time: int | None = integer()
    duration: int | None = integer()
    time_unit: str | None = text()
    type: str | None = text()
    processed: bool | None = flag()
    extra: Mapping[str, object] = p.extra_field()


@attrs.frozen
class ServiceVersion:
    """The deployed version (``ServiceVersionResponse``); its runtime, upgrade, instance
    group and log settings are kept in ``extra``."""

    id: str | None = text()
    version: str | None = text()
    description: str | None = text()
    predict_url: str | None = text()
    deploy_timeout_minutes: int | None = integer()
    lts_strategy: str | None = text()
    lts_status: str | None = text()
    lts_event_status: str | None = text()
    lts_file_status: str | None = text()
    extra: Mapping[str, object] = p.extra_field()


_parse_version = parser(ServiceVersion)


def _version(d: dict[str, Any], key: str, path: str) -> ServiceVersion | str | None:
    v = d.get(key)
    if v is None or type(v) is str:
        return v
    return _parse_version(v, p.at(path, key))


def _ms_text(d: dict[str, Any], key: str, path: str) -> str | None:
    # A string in the status answer, an integer in list items: read as the string.
    v = d.get(key)
    if type(v) is int:
        return str(v)
    return p.opt_str(d, key, path)


# Declared by the SDK's models and kept in ``extra`` as sent: the service's tags.
IN_EXTRA = ("tags",)


@attrs.frozen
class InferServiceStatus(p.StatusMixin[InferServiceStatusValue]):
    """``GET /v2/{project_id}/services/{service_id}``, and an item of the service list
    (which adds ``version_count``, ``description``, ``user_name`` and ``auth_type``).

    ``error_msg`` is ``failure_reason``; ``error_code`` is always ``None`` (none is
    published). ``create_at`` and ``update_at`` are milliseconds as the status answer
    sends them, strings (a list item's integers are read as their text); also as
    :attr:`created_at` and :attr:`updated_at`."""

    id: str | None = text()
    name: str | None = text()
    workspace_id: str | None = text()
    type: str | None = text()
    deploy_type: str | None = text()
    status: str | None = text()
    failure_reason: str | None = text()
    version: ServiceVersion | str | None = read(_version)
    predict_url: tuple[PredictUrl, ...] | None = items(parser(PredictUrl))
    dispatcher_group_id: str | None = text()
    deploy_timeout_minutes: int | None = integer()
    schedule: tuple[ScheduleConfig, ...] | None = items(parser(ScheduleConfig))
    create_at: str | None = read(_ms_text)
    update_at: str | None = read(_ms_text)
    task_type: str | None = text()
    provider: str | None = text()
    frozen_infos: tuple[FrozenInfo, ...] | None = items(parser(FrozenInfo))
    version_count: int | None = integer()
    description: str | None = text()
    user_name: str | None = text()
    auth_type: str | None = text()
    error_code: str | None = derived()
    error_msg: str | None = derived()
    extra: Mapping[str, object] = p.extra_field()

    @property
    def service_id(self) -> str | None:
        """The service's ID (``id``): a listed service is matched to its spec by it."""
        return self.id

    @property
    def created_at(self) -> datetime | None:
        return p.ms_datetime(_ms(self.create_at))

    @property
    def updated_at(self) -> datetime | None:
        return p.ms_datetime(_ms(self.update_at))


def _ms(text: str | None) -> int | None:
    ok = text is not None and text.isascii() and text.isdigit() and len(text) <= 20
    return int(text) if ok and text is not None else None


def _finish(d: dict[str, Any], v: dict[str, Any]) -> None:
    v["error_msg"] = v["failure_reason"]


parse_infer_service_status = parser(InferServiceStatus, _finish)
_page = data_page(parse_infer_service_status)


@declare("infer_service", values=V, phases=PHASES, model=InferServiceStatus,
         parse=parse_infer_service_status, path=STATUS_PATH, list_path=SERVICES_PATH,
         list_page=_page, list_paging=BY_RECORD, description="inference service (v2)",
         templates=(SERVICES_PATH, START_PATH), stop=STOP)  # fmt: skip
@attrs.frozen
class InferService(ModelArtsTask):
    """A v2 inference service. Done when ``RUNNING``; ``FAILED``, ``ERROR`` and
    ``STOPPED`` fail it (the spec :func:`stop_infer_service` returns is done when
    ``STOPPED`` instead)."""

    service_id: str = id_field()
    project_id: str | None = project_field()
    success: frozenset[Any] | None = success_field()


_ID = id_answer("id")


async def create_infer_service(
    client: Transport,
    *,
    name: str,
    config: Mapping[str, object] | None = None,
    project_id: str | None = None,
) -> InferService:
    """Create (deploy) a v2 inference service called ``name`` and return the spec that
    watches it until it runs. ``config`` adds the other request body fields of
    ``create_infer_service`` verbatim (``group_configs``, ``runtime_config``, ...)."""
    check_text("name", name)
    body = body_fields("config", config)
    body["name"] = name
    service_id = await client.request("POST", SERVICES_PATH, _ID, body=body, project_id=project_id)
    return until(InferService(service_id, project_id=project_id), RUNNING)


async def start_infer_service(
    client: Transport, service: InferService | str, *, project_id: str | None = None
) -> InferService:
    """Start a stopped service; the spec that watches it until it runs again."""
    spec = spec_for(InferService, service, project_id)
    await client.request("POST", START_PATH, no_answer, ids={"service_id": spec.service_id},
                         project_id=spec.project_id)  # fmt: skip
    return until(spec, RUNNING)


async def stop_infer_service(
    client: Transport, service: InferService | str, *, project_id: str | None = None
) -> InferService:
    """Send the service's stop call (:data:`STOP`); the spec that watches it until it is
    ``STOPPED``."""
    return await stop_until_stopped(client, InferService, service, project_id)


def list_infer_services(
    client: Transport,
    *,
    status: str | None = None,
    page_size: int = 100,
    project_id: str | None = None,
) -> AsyncIterator[InferServiceStatus]:
    """Every v2 service of the project (all pages), optionally only those in ``status``."""
    check_page_size(page_size)
    query = {} if status is None else {"status": check_text("status", status)}
    return pages(client, SERVICES_PATH, {}, _page, page_size=page_size, query=query,
                 project_id=project_id, by_record=True)  # fmt: skip

"""Lite servers (dev servers): ``dev_server``. Model, status table, spec, and the create,
start, stop and list calls.

Source: the official SDK (``huaweicloudsdkmodelarts``), ``show_dev_server``
(``ShowDevServerResponse``) and ``list_dev_servers`` (items ``ServerResponse``, the same
fields). The model publishes no failure reason and no error code: the status alone
(``CREATE_FAILED``, ``START_FAILED``, ...) says what failed. ``create_at`` and
``update_at`` are milliseconds since the epoch.
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
from ._declare import declare, derived, integer, nested, parser, phase_table, text
from ._live_on import BY_RECORD, data_page, spec_for, stop_until_stopped, until

STATUS_PATH = "/v1/{project_id}/dev-servers/{server_id}"  # show_dev_server
SERVERS_PATH = "/v1/{project_id}/dev-servers"  # create_dev_server (POST), list_dev_servers
START_PATH = STATUS_PATH + "/start"  # start_dev_server (PUT)
# stop_dev_server: PUT, no body; the server ends STOPPED.
STOP = StopCall("PUT", STATUS_PATH + "/stop", frozenset({"STOPPED"}))
RUNNING = frozenset({"RUNNING"})


class DevServerStatusValue(enum.Enum):
    """The documented values of a Lite server's ``status`` (``ShowDevServerResponse`` in
    the SDK)."""

    CREATE_FAILED = "CREATE_FAILED"  # 创建失败
    CREATING = "CREATING"  # 创建中
    DELETED = "DELETED"  # 已删除
    DELETE_FAILED = "DELETE_FAILED"  # 删除失败
    DELETING = "DELETING"  # 删除中
    ERROR = "ERROR"  # 错误
    RUNNING = "RUNNING"  # 运行中
    STARTING = "STARTING"  # 启动中
    START_FAILED = "START_FAILED"  # 启动失败
    STOPPED = "STOPPED"  # 已停止
    STOPPING = "STOPPING"  # 停止中
    STOP_FAILED = "STOP_FAILED"  # 停止失败
    REBOOTING = "REBOOTING"  # 重启中
    REBOOT_FAILED = "REBOOT_FAILED"  # 重启失败
    CHANGINGOS = "CHANGINGOS"  # 切换操作系统中: changing its OS
    CHANGINGOS_FAILED = "CHANGINGOS_FAILED"  # 切换操作系统失败
    REINSTALLINGOS = "REINSTALLINGOS"  # 重装操作系统中: reinstalling its OS
    REINSTALLINGOS_FAILED = "REINSTALLINGOS_FAILED"  # 重装操作系统失败


V = DevServerStatusValue
# Done when it runs; a stopped server will not run by itself (a stop call's spec is done
# when STOPPED instead).
PHASES = phase_table(V, {
    V.CREATING: Phase.PENDING, V.STARTING: Phase.RUNNING, V.STOPPING: Phase.RUNNING,
    V.REBOOTING: Phase.RUNNING, V.DELETING: Phase.RUNNING, V.CHANGINGOS: Phase.RUNNING,
    V.REINSTALLINGOS: Phase.RUNNING, V.RUNNING: Phase.SUCCEEDED, V.STOPPED: Phase.FAILED,
    V.CREATE_FAILED: Phase.FAILED, V.START_FAILED: Phase.FAILED, V.STOP_FAILED: Phase.FAILED,
    V.REBOOT_FAILED: Phase.FAILED, V.DELETE_FAILED: Phase.FAILED, V.DELETED: Phase.FAILED,
    V.ERROR: Phase.FAILED, V.CHANGINGOS_FAILED: Phase.FAILED,
    V.REINSTALLINGOS_FAILED: Phase.FAILED,
})  # fmt: skip


@attrs.frozen
class CloudServer:
    """The machine behind the server (``CloudServer``): ``type`` BMS, ECS or HPS."""

    id: str | None = text()
    type: str | None = text()
    hps_id: str | None = text()
    hps_ecs_id: str | None = text()
    extra: Mapping[str, object] = p.extra_field()


@attrs.frozen
class ServerImage:
    """The server's image (``ServerImageResponse``)."""

    arch: str | None = text()
    image_id: str | None = text()
    name: str | None = text()
    server_type: str | None = text()
    status: str | None = text()
    extra: Mapping[str, object] = p.extra_field()


# Declared by the SDK's model and kept in ``extra`` as sent: its endpoints, volumes and
# super-node (HPS) membership.
IN_EXTRA = ("endpoints_response", "endpoints", "volumes", "server_hps")


@attrs.frozen
class DevServerStatus(p.StatusMixin[DevServerStatusValue]):
    """``GET /v1/{project_id}/dev-servers/{server_id}``, and an item of the server list.

    ``error_code`` and ``error_msg`` are always ``None``: the API publishes neither."""

    id: str | None = text()
    name: str | None = text()
    status: str | None = text()
    flavor: str | None = text()
    category: str | None = text()
    charging_mode: str | None = text()
    order_id: str | None = text()
    key_pair_name: str | None = text()
    vpc_id: str | None = text()
    subnet_id: str | None = text()
    cloud_server: CloudServer | None = nested(parser(CloudServer))
    image: ServerImage | None = nested(parser(ServerImage))
    create_at: int | None = integer()
    update_at: int | None = integer()
    error_code: str | None = derived()
    error_msg: str | None = derived()
    extra: Mapping[str, object] = p.extra_field()

    @property
    def server_id(self) -> str | None:
        """The server's ID (``id``): a listed server is matched to its spec by it."""
        return self.id

    @property
    def created_at(self) -> datetime | None:
        return p.ms_datetime(self.create_at)

    @property
    def updated_at(self) -> datetime | None:
        return p.ms_datetime(self.update_at)


parse_dev_server_status = parser(DevServerStatus)
_page = data_page(parse_dev_server_status)


@declare("dev_server", values=V, phases=PHASES, model=DevServerStatus,
         parse=parse_dev_server_status, path=STATUS_PATH, list_path=SERVERS_PATH,
         list_page=_page, list_paging=BY_RECORD, aliases=("lite_server",),
         description="Lite server (dev server)", templates=(SERVERS_PATH, START_PATH),
         stop=STOP)  # fmt: skip
@attrs.frozen
class DevServer(ModelArtsTask):
    """A Lite server. Done when ``RUNNING``; ``STOPPED``, ``DELETED``, ``ERROR`` and the
    ``..._FAILED`` values fail it (the spec :func:`stop_dev_server` returns is done when
    ``STOPPED`` instead)."""

    server_id: str = id_field()
    project_id: str | None = project_field()
    success: frozenset[Any] | None = success_field()


_ID = id_answer("id")


async def create_dev_server(
    client: Transport,
    *,
    name: str,
    flavor: str,
    image_id: str,
    config: Mapping[str, object] | None = None,
    project_id: str | None = None,
) -> DevServer:
    """Create a Lite server and return the spec that watches it until it runs.
    ``config`` adds the other request body fields of ``create_dev_server`` verbatim
    (``network``, ``root_volume``, ``charging_info``, ...)."""
    body = body_fields("config", config)
    body.update(name=check_text("name", name), flavor=check_text("flavor", flavor),
                image_id=check_text("image_id", image_id))  # fmt: skip
    server_id = await client.request("POST", SERVERS_PATH, _ID, body=body, project_id=project_id)
    return until(DevServer(server_id, project_id=project_id), RUNNING)


async def start_dev_server(
    client: Transport,
    server: DevServer | str,
    *,
    config: Mapping[str, object] | None = None,
    project_id: str | None = None,
) -> DevServer:
    """Start a stopped server; the spec that watches it until it runs. ``config`` is the
    call's optional body (``arch``, ``charging_mode``, ``server_type``)."""
    spec = spec_for(DevServer, server, project_id)
    body = body_fields("config", config)
    await client.request("PUT", START_PATH, no_answer, ids={"server_id": spec.server_id},
                         body=body or None, project_id=spec.project_id)  # fmt: skip
    return until(spec, RUNNING)


async def stop_dev_server(
    client: Transport, server: DevServer | str, *, project_id: str | None = None
) -> DevServer:
    """Send the server's stop call (:data:`STOP`); the spec that watches it until it is
    ``STOPPED``."""
    return await stop_until_stopped(client, DevServer, server, project_id)


def list_dev_servers(
    client: Transport, *, page_size: int = 100, project_id: str | None = None
) -> AsyncIterator[DevServerStatus]:
    """Every Lite server of the project (all pages)."""
    check_page_size(page_size)
    return pages(client, SERVERS_PATH, {}, _page, page_size=page_size, project_id=project_id,
                 by_record=True)  # fmt: skip

"""Notebook instances: ``notebook``. Model, status table, spec, and the create, start,
stop and list calls.

Source: the official SDK (``huaweicloudsdkmodelarts``), ``show_notebook``
(``ShowNotebookResponse``) and ``list_notebooks`` (items ``NotebookResp``, the same
fields). A failed instance says why in ``fail_reason``, and ``action_progress`` lists the
steps of its initialisation (storage, compute, network, instance), each ``WAITING``,
``PROCESSING``, ``COMPLETED`` or ``FAILED``; no error code is published.
"""

from __future__ import annotations

import enum
from collections.abc import AsyncIterator, Mapping
from datetime import datetime
from typing import Any

import attrs

from .. import _parsing as p
from .._errors import InvalidArgumentError
from .._kind import (
    ListPaging,
    ModelArtsTask,
    StopCall,
    Transport,
    body_fields,
    id_answer,
    id_field,
    no_answer,
    pages,
    project_field,
    success_field,
)
from .._phase import Phase
from .._validate import check_text
from ._declare import declare, derived, flag, integer, items, nested, parser, phase_table, text
from ._live_on import data_page, spec_for, stop_until_stopped, until

STATUS_PATH = "/v1/{project_id}/notebooks/{notebook_id}"  # show_notebook
NOTEBOOKS_PATH = "/v1/{project_id}/notebooks"  # create_notebook (POST), list_notebooks (GET)
START_PATH = STATUS_PATH + "/start"  # start_notebook
# stop_notebook: POST, no body; the instance ends STOPPED.
STOP = StopCall("POST", STATUS_PATH + "/stop", frozenset({"STOPPED"}))
RUNNING = frozenset({"RUNNING"})
# The notebook list takes 10, 20 or 50 a page (list_notebooks' ``limit``), from a record
# offset.
PAGE_SIZES = (10, 20, 50)
PAGING = ListPaging(50, by_record=True)


class NotebookStatusValue(enum.Enum):
    """The documented values of a notebook instance's ``status`` (``ShowNotebookResponse``
    in the SDK)."""

    INIT = "INIT"  # 初始化
    CREATING = "CREATING"  # 创建中
    STARTING = "STARTING"  # 启动中
    STOPPING = "STOPPING"  # 停止中
    DELETING = "DELETING"  # 删除中
    RUNNING = "RUNNING"  # 运行中
    STOPPED = "STOPPED"  # 已停止
    SNAPSHOTTING = "SNAPSHOTTING"  # 快照中: saving an image
    CREATE_FAILED = "CREATE_FAILED"  # 创建失败
    START_FAILED = "START_FAILED"  # 启动失败
    DELETE_FAILED = "DELETE_FAILED"  # 删除失败
    ERROR = "ERROR"  # 错误
    DELETED = "DELETED"  # 已删除
    FROZEN = "FROZEN"  # 冻结


V = NotebookStatusValue
# Done when it runs; a stopped instance will not run by itself (a stop call's spec is done
# when STOPPED instead).
PHASES = phase_table(V, {
    V.INIT: Phase.PENDING, V.CREATING: Phase.PENDING, V.STARTING: Phase.RUNNING,
    V.STOPPING: Phase.RUNNING, V.DELETING: Phase.RUNNING, V.SNAPSHOTTING: Phase.RUNNING,
    V.RUNNING: Phase.SUCCEEDED, V.STOPPED: Phase.FAILED, V.CREATE_FAILED: Phase.FAILED,
    V.START_FAILED: Phase.FAILED, V.DELETE_FAILED: Phase.FAILED, V.ERROR: Phase.FAILED,
    V.DELETED: Phase.FAILED, V.FROZEN: Phase.FAILED,
})  # fmt: skip


@attrs.frozen
class JobProgress:
    """One step of an instance's initialisation (``JobProgress``): ``step`` 1 storage,
    2 compute, 3 network, 4 instance; ``status`` WAITING, PROCESSING, COMPLETED or
    FAILED; ``description`` says what happened."""

    status: str | None = text()
    step: int | None = integer()
    description: str | None = text()
    extra: Mapping[str, object] = p.extra_field()


@attrs.frozen
class Lease:
    """When the instance stops by itself (``Lease``): ``type`` TIMING or IDLE,
    ``duration`` (ms) from ``create_at`` (ms), if ``enable``."""

    create_at: int | None = integer()
    duration: int | None = integer()
    enable: bool | None = flag()
    type: str | None = text()
    update_at: int | None = integer()
    extra: Mapping[str, object] = p.extra_field()


# Declared by the SDK's model and kept in ``extra`` as sent: nested settings (image, pool,
# storage, user, endpoints, ...), and ``token``, the instance's access token, which is
# kept out of the model's repr.
IN_EXTRA = ("endpoints", "custom_spec", "image", "pool", "volume", "user", "affinity",
            "run_user", "data_volumes", "user_vpc", "tags", "token")  # fmt: skip


@attrs.frozen
class NotebookStatus(p.StatusMixin[NotebookStatusValue]):
    """``GET /v1/{project_id}/notebooks/{notebook_id}``, and an item of the notebook list.

    ``error_msg`` is ``fail_reason``, else the description of the failed step of
    ``action_progress``; ``error_code`` is always ``None`` (none is published)."""

    id: str | None = text()
    name: str | None = text()
    description: str | None = text()
    status: str | None = text()
    fail_reason: str | None = text()
    action_progress: tuple[JobProgress, ...] | None = items(parser(JobProgress))
    flavor: str | None = text()
    feature: str | None = text()
    lease: Lease | None = nested(parser(Lease))
    url: str | None = text()
    ip: str | None = text()
    workspace_id: str | None = text()
    user_id: str | None = text()
    billing_items: tuple[str, ...] | None = items(p.str_item)
    is_need_credentials: bool | None = flag()
    jupyter_version: str | None = text()
    error_code: str | None = derived()
    error_msg: str | None = derived()
    extra: Mapping[str, object] = p.extra_field()

    @property
    def notebook_id(self) -> str | None:
        """The instance's ID (``id``): a listed instance is matched to its spec by it."""
        return self.id

    @property
    def stops_at(self) -> datetime | None:
        """When the lease stops the instance, if it is enabled and says so."""
        lease = self.lease
        if lease is None or not lease.enable or lease.create_at is None:
            return None
        return p.ms_datetime(lease.create_at + (lease.duration or 0))


def _finish(d: dict[str, Any], v: dict[str, Any]) -> None:
    msg = v["fail_reason"]
    if not msg:
        for step in v["action_progress"] or ():
            if step.status == "FAILED" and step.description:
                msg = step.description
                break
    v["error_msg"] = msg


parse_notebook_status = parser(NotebookStatus, _finish)
_page = data_page(parse_notebook_status)


@declare("notebook", values=V, phases=PHASES, model=NotebookStatus,
         parse=parse_notebook_status, path=STATUS_PATH, list_path=NOTEBOOKS_PATH,
         list_page=_page, list_paging=PAGING, description="notebook instance",
         templates=(NOTEBOOKS_PATH, START_PATH), stop=STOP)  # fmt: skip
@attrs.frozen
class Notebook(ModelArtsTask):
    """A notebook instance. Done when ``RUNNING``; ``STOPPED``, ``DELETED``, ``FROZEN``,
    ``ERROR`` and the ``..._FAILED`` values fail it (the spec :func:`stop_notebook`
    returns is done when ``STOPPED`` instead)."""

    notebook_id: str = id_field()
    project_id: str | None = project_field()
    success: frozenset[Any] | None = success_field()


_ID = id_answer("id")


async def create_notebook(
    client: Transport,
    *,
    name: str,
    flavor: str,
    image_id: str,
    config: Mapping[str, object] | None = None,
    project_id: str | None = None,
) -> Notebook:
    """Create a notebook instance and return the spec that watches it until it runs.
    ``config`` adds the other request body fields of ``create_notebook`` verbatim
    (``volume``, ``pool_id``, ``lease``, ...)."""
    body = body_fields("config", config)
    body.update(name=check_text("name", name), flavor=check_text("flavor", flavor),
                image_id=check_text("image_id", image_id))  # fmt: skip
    notebook_id = await client.request("POST", NOTEBOOKS_PATH, _ID, body=body,
                                       project_id=project_id)  # fmt: skip
    return until(Notebook(notebook_id, project_id=project_id), RUNNING)


async def start_notebook(
    client: Transport,
    notebook: Notebook | str,
    *,
    duration: int | None = None,
    auto_stop: str | None = None,
    project_id: str | None = None,
) -> Notebook:
    """Start a stopped instance; the spec that watches it until it runs. ``duration``
    (ms, 3,600,000 to 259,200,000) and ``auto_stop`` (``"TIMING"`` or ``"IDLE"``) are
    the call's ``duration`` and ``type``."""
    spec = spec_for(Notebook, notebook, project_id)
    query: dict[str, object] = {}
    if duration is not None:
        if isinstance(duration, bool) or not isinstance(duration, int) or duration <= 0:
            raise InvalidArgumentError(f"duration must be a number of ms > 0, got {duration!r}")
        query["duration"] = duration
    if auto_stop is not None:
        query["type"] = check_text("auto_stop", auto_stop)
    await client.request("POST", START_PATH, no_answer, ids={"notebook_id": spec.notebook_id},
                         query=query or None, project_id=spec.project_id)  # fmt: skip
    return until(spec, RUNNING)


async def stop_notebook(
    client: Transport, notebook: Notebook | str, *, project_id: str | None = None
) -> Notebook:
    """Send the instance's stop call (:data:`STOP`); the spec that watches it until it
    is ``STOPPED``."""
    return await stop_until_stopped(client, Notebook, notebook, project_id)


def list_notebooks(
    client: Transport,
    *,
    status: str | None = None,
    page_size: int = 50,
    project_id: str | None = None,
) -> AsyncIterator[NotebookStatus]:
    """Every notebook instance of the project (all pages), optionally only those in
    ``status``. ``page_size`` is 10, 20 or 50, the sizes the list takes."""
    if page_size not in PAGE_SIZES or isinstance(page_size, bool):
        raise InvalidArgumentError(f"page_size must be 10, 20 or 50, got {page_size!r}")
    query = {} if status is None else {"status": check_text("status", status)}
    return pages(client, NOTEBOOKS_PATH, {}, _page, page_size=page_size, query=query,
                 project_id=project_id, by_record=True)  # fmt: skip

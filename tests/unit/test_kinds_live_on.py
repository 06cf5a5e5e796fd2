"""The kinds of resources that live on (``infer_service``, ``notebook``, ``dev_server``)
against the official SDK (``huaweicloudsdkmodelarts``), read at test time through
``tests.sdk_oracle``: each call's method and path, the status table, the model's fields,
and what "done" means for the specs the create, start and stop calls return."""

from __future__ import annotations

import enum
import re
from collections.abc import Callable, Mapping
from types import ModuleType
from typing import Any, TypeVar

import attrs
import pytest

from modelarts_poller import InvalidArgumentError, Phase, get_kind
from modelarts_poller.cli._inputs import kind_names, spec_from_ref
from modelarts_poller.operations import dev_server, infer_service, notebook
from tests.sdk_oracle import OPERATIONS, documented, model, operation

T = TypeVar("T")

MODULES: dict[str, ModuleType] = {
    "infer_service": infer_service,
    "notebook": notebook,
    "dev_server": dev_server,
}
KINDS = sorted(MODULES)
LISTS = {
    "infer_service": "list_infer_services",
    "notebook": "list_notebooks",
    "dev_server": "list_dev_servers",
}
CREATE_ARGS: dict[str, dict[str, Any]] = {
    "infer_service": {"name": "svc"},
    "notebook": {"name": "nb", "flavor": "modelarts.vm.cpu.2u", "image_id": "img-1"},
    "dev_server": {"name": "srv", "flavor": "ai1s.large.4", "image_id": "img-1"},
}
# The typed nested models and the SDK model each one reads.
NESTED: list[tuple[type, str]] = [
    (infer_service.FrozenInfo, "FrozenInfo"),
    (infer_service.PredictUrl, "PredictUrlResponse"),
    (infer_service.ScheduleConfig, "ScheduleConfigResponse"),
    (infer_service.ServiceVersion, "ServiceVersionResponse"),
    (notebook.JobProgress, "JobProgress"),
    (notebook.Lease, "Lease"),
    (dev_server.CloudServer, "CloudServer"),
    (dev_server.ServerImage, "ServerImageResponse"),
]
WIRE = "modelarts_poller.wire"


class Recorder:
    """A Transport that records each request and answers a body every parser accepts."""

    def __init__(self) -> None:
        self.sent: list[tuple[str, str, Mapping[str, str], Any, Any]] = []

    async def request(
        self,
        method: str,
        template: str,
        parse: Callable[[object], T],
        *,
        ids: Mapping[str, str] | None = None,
        body: Mapping[str, object] | None = None,
        query: Mapping[str, object] | None = None,
        project_id: str | None = None,
    ) -> T:
        self.sent.append((method, template, dict(ids or {}), body, query))
        return parse({"id": "new-1", "status": "RUNNING", "data": [], "total": 0})


def _shape(path: str) -> str:
    return re.sub(r"\{\w+\}", "{}", path)


def _sdk(kind: str, what: str) -> tuple[str, str]:
    info = operation(OPERATIONS[kind][what])
    return info["method"], _shape(info["resource_path"])


def _response(kind: str, what: str) -> str:
    name: str = operation(OPERATIONS[kind][what])["response_type"]
    return name


def _list_item(kind: str) -> str:
    declared: str = model(_response(kind, "list")).openapi_types["data"]
    return declared[len("list[") : -1]


async def _library_calls(kind: str) -> dict[str, tuple[str, str]]:
    mod = MODULES[kind]
    spec_type = get_kind(kind).spec_type
    out = {"show": ("GET", _shape(spec_type.PATH))}
    for what, call in (
        ("create", lambda r: getattr(mod, f"create_{kind}")(r, **CREATE_ARGS[kind])),
        ("start", lambda r: getattr(mod, f"start_{kind}")(r, "id-1")),
        ("stop", lambda r: getattr(mod, f"stop_{kind}")(r, "id-1")),
    ):
        recorder = Recorder()
        await call(recorder)
        ((method, template, _, _, _),) = recorder.sent
        out[what] = (method, _shape(template))
    recorder = Recorder()
    _ = [item async for item in getattr(mod, LISTS[kind])(recorder)]
    ((method, template, _, _, _),) = recorder.sent
    out["list"] = (method, _shape(template))
    return out


@pytest.mark.parametrize("kind", KINDS)
async def test_each_call_is_the_sdk_operations_method_and_path(kind: str) -> None:
    library = await _library_calls(kind)
    assert set(library) == set(OPERATIONS[kind])
    for what, sent in library.items():
        assert sent == _sdk(kind, what), (kind, what)
    spec_type = get_kind(kind).spec_type
    # what the engine's list polling and its stop request send, too
    assert ("GET", _shape(spec_type.LIST_PATH)) == _sdk(kind, "list")
    assert (spec_type.STOP.method, _shape(spec_type.STOP.path)) == _sdk(kind, "stop")


def _table_problems(values: type[enum.Enum], phases: Mapping[Any, Phase], kind: str) -> list[str]:
    """How ``values`` and ``phases`` differ from what the SDK documents for ``kind``."""
    published = documented(_response(kind, "show"), "status") | documented(
        _list_item(kind), "status"
    )
    mine = {m.value for m in values}
    out = [f"{v} not in the enum" for v in sorted(published - mine)]
    out += [f"{v} not documented" for v in sorted(mine - published)]
    out += [f"{v} has no phase" for v in sorted(published - set(phases))]
    return out


@pytest.mark.parametrize("kind", KINDS)
def test_the_status_table_is_exactly_what_the_sdk_documents(kind: str) -> None:
    mod = MODULES[kind]
    assert documented(_response(kind, "show"), "status")  # the docstring was read
    assert _table_problems(mod.V, mod.PHASES, kind) == []
    # The check is not vacuous: an enum short of one documented value fails it.
    members = {m.name: m.value for m in mod.V}
    members.pop(next(iter(members)))
    short = enum.Enum("Short", members)  # type: ignore[misc]
    assert _table_problems(short, mod.PHASES, kind) != []


def test_the_issues_status_lists_are_the_sdks() -> None:
    """The value lists the issue quotes, checked against the SDK's docstrings."""
    assert {m.value for m in infer_service.V} == {
        "DEPLOYING", "FAILED", "STOPPED", "RUNNING", "DELETING", "STOPPING", "CONCERNING",
        "UPGRADING", "ERROR", "INIT", "INTERRUPTING",
    }  # fmt: skip
    assert documented("ServiceItemResponseData", "status") >= {"INTERRUPTING"}
    assert len(notebook.V) == 14
    assert len(dev_server.V) == 18


def _wire_keys(cls: type) -> set[str]:
    keys = set()
    for f in attrs.fields(cls):
        wire = f.metadata.get(WIRE)
        if wire is not None and not wire.at:
            keys.add(wire.key or f.name)
    return keys


@pytest.mark.parametrize("kind", KINDS)
def test_every_top_level_field_of_the_sdk_model_is_a_field_or_kept_in_extra(kind: str) -> None:
    mod = MODULES[kind]
    model_cls = type(get_kind(kind).spec_type.PARSE({}))
    declared = set(model(_response(kind, "show")).attribute_map.values())
    declared |= set(model(_list_item(kind)).attribute_map.values())
    fields = _wire_keys(model_cls)
    assert fields | set(mod.IN_EXTRA) == declared
    assert fields.isdisjoint(mod.IN_EXTRA)
    body = {"status": "RUNNING", **{key: [] for key in mod.IN_EXTRA}}
    assert set(get_kind(kind).spec_type.PARSE(body).extra) == set(mod.IN_EXTRA)


@pytest.mark.parametrize(("cls", "sdk_name"), NESTED)
def test_each_typed_nested_model_reads_fields_the_sdk_declares(cls: type, sdk_name: str) -> None:
    assert _wire_keys(cls) <= set(model(sdk_name).attribute_map.values())


@pytest.mark.parametrize("kind", KINDS)
def test_done_is_running_and_a_failure_fails(kind: str) -> None:
    spec = get_kind(kind).spec("id-1")
    assert spec.phase_of("RUNNING") is Phase.SUCCEEDED
    for value in ("STOPPED", "ERROR", "DELETED" if kind != "infer_service" else "FAILED"):
        assert spec.phase_of(value) is Phase.FAILED, value
    for value in get_kind(kind).spec_type.PHASES:
        if value.endswith("_FAILED"):
            assert spec.phase_of(value) is Phase.FAILED, value
        elif value.endswith("ING") and value != "RUNNING":
            assert spec.phase_of(value) in (Phase.PENDING, Phase.RUNNING), value


@pytest.mark.parametrize("kind", KINDS)
async def test_create_and_start_return_a_spec_done_when_running(kind: str) -> None:
    mod = MODULES[kind]
    created = await getattr(mod, f"create_{kind}")(Recorder(), **CREATE_ARGS[kind])
    assert created.ids == ("new-1",)
    assert created.success == {"RUNNING"}
    started = await getattr(mod, f"start_{kind}")(Recorder(), created)
    assert started == created
    assert started.phase_of("STOPPED") is Phase.FAILED


@pytest.mark.parametrize("kind", KINDS)
async def test_stop_sends_the_declared_call_and_returns_a_spec_done_when_stopped(
    kind: str,
) -> None:
    mod = MODULES[kind]
    recorder = Recorder()
    spec = await getattr(mod, f"stop_{kind}")(recorder, "id-1", project_id="p-9")
    call = type(spec).STOP
    id_name = type(spec).ID_NAMES[0]
    assert recorder.sent == [(call.method, call.path, {id_name: "id-1"}, None, None)]
    assert call.stopped == {"STOPPED"}
    assert spec.success == {"STOPPED"}
    assert spec.project_id == "p-9"
    assert spec.phase_of("STOPPED") is Phase.SUCCEEDED
    assert spec.phase_of("RUNNING") is Phase.RUNNING  # not stopped yet
    assert spec.phase_of("STOPPING") is Phase.RUNNING
    assert spec.phase_of("ERROR") is Phase.FAILED


@pytest.mark.parametrize("kind", KINDS)
async def test_calls_refuse_what_is_not_a_spec_or_an_id(kind: str) -> None:
    mod = MODULES[kind]
    recorder = Recorder()
    with pytest.raises(InvalidArgumentError):
        await getattr(mod, f"stop_{kind}")(recorder, 42)
    with pytest.raises(InvalidArgumentError):
        await getattr(mod, f"start_{kind}")(recorder, "a/b")
    assert recorder.sent == []


async def test_lists_page_by_record_offset_and_the_notebook_list_by_its_sizes() -> None:
    recorder = Recorder()
    _ = [x async for x in notebook.list_notebooks(recorder, status="RUNNING", page_size=20)]
    assert recorder.sent[0][4] == {"status": "RUNNING", "limit": 20, "offset": 0}
    with pytest.raises(InvalidArgumentError, match="10, 20 or 50"):
        notebook.list_notebooks(recorder, page_size=100)
    assert notebook.Notebook.LIST_PAGING.query(2) == {"limit": 50, "offset": 100}
    assert infer_service.InferService.LIST_PAGING.query(1) == {"limit": 100, "offset": 100}
    assert dev_server.DevServer.LIST_PAGING.query(3) == {"limit": 100, "offset": 300}


def test_a_listed_item_carries_its_specs_id() -> None:
    for kind in KINDS:
        spec_type = get_kind(kind).spec_type
        _, (item,) = spec_type.LIST_PAGE({"data": [{"id": "x-1", "status": "RUNNING"}],
                                          "total": 1})  # fmt: skip
        assert getattr(item, spec_type.ID_NAMES[-1]) == "x-1"
        assert item.phase is Phase.SUCCEEDED


@pytest.mark.parametrize("kind", KINDS)
def test_the_cli_accepts_the_kind(kind: str) -> None:
    assert kind in kind_names()
    assert spec_from_ref(kind, "res-1") == get_kind(kind).spec("res-1")
    assert get_kind("lite_server").name == "dev_server"


def test_why_it_failed_is_error_msg() -> None:
    svc = infer_service.parse_infer_service_status(
        {"status": "FAILED", "failure_reason": "no resources", "create_at": "1700000000000",
         "version": "v2", "frozen_infos": [{"scene": "ARREAR", "effect": 1}]}
    )  # fmt: skip
    assert (svc.error_msg, svc.error_code, svc.version) == ("no resources", None, "v2")
    assert svc.created_at is not None
    assert svc.created_at.year == 2023
    assert svc.frozen_infos == (infer_service.FrozenInfo("ARREAR", 1),)
    listed = infer_service.parse_infer_service_status({"create_at": 1_700_000_000_000})
    assert listed.create_at == "1700000000000"
    nb = notebook.parse_notebook_status(
        {"status": "CREATE_FAILED", "action_progress": [
            {"step": 1, "status": "COMPLETED", "description": "storage ready"},
            {"step": 2, "status": "FAILED", "description": "no GPU left"}],
         "token": "secret-token"}
    )  # fmt: skip
    assert nb.error_msg == "no GPU left"
    assert nb.extra["token"] == "secret-token"
    assert "secret-token" not in repr(nb)
    with_reason = notebook.parse_notebook_status({"status": "ERROR", "fail_reason": "oom"})
    assert with_reason.error_msg == "oom"
    server = dev_server.parse_dev_server_status(
        {"status": "START_FAILED", "image": {"image_id": "i"}}
    )
    assert (server.error_msg, server.phase, server.image) == (
        None,
        Phase.FAILED,
        dev_server.ServerImage(image_id="i"),
    )


@pytest.mark.parametrize("kind", KINDS)
def test_the_client_has_each_call_as_a_method(kind: str) -> None:
    from modelarts_poller import ModelArtsClient

    mod = MODULES[kind]
    for name in (f"create_{kind}", f"start_{kind}", f"stop_{kind}", LISTS[kind]):
        assert getattr(ModelArtsClient, name) is getattr(mod, name), name

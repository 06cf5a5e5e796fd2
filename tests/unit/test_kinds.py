"""Every ModelArts kind: the registry, models with the published fields, status tables,
the success override, start and list calls, and the published error dialect."""

from __future__ import annotations

import re
from collections.abc import AsyncIterator
from typing import Any, ClassVar

import attrs
import pytest
from hypothesis import given
from hypothesis import strategies as st

from modelarts_poller import (
    BadRequest,
    Conflict,
    DatasetIdle,
    DatasetTask,
    DatasetVersionTask,
    Engine,
    ExportTask,
    ImportTask,
    IntelligentTask,
    InvalidArgumentError,
    Kind,
    ModelArtsClient,
    ModelImport,
    NotFound,
    OperationFailed,
    ParseError,
    Phase,
    ProcessingTask,
    ServiceDeployment,
    SyncTask,
    TaskCompleted,
    TaskFailed,
    TokenAuth,
    TrainingJob,
    Unauthorized,
    get_kind,
    kinds,
    register_kind,
)
from modelarts_poller._checkpoint import TaskState, decode_token, encode_token
from modelarts_poller.cli._inputs import spec_from_ref
from modelarts_poller.testing import FakeClock, FakeModelArts
from tests.aioresponses_compat import mock_http

BASE = "http://modelarts.test"

# kind -> (spec, the path it polls, a body as the API reference shows it, its status value,
# the phase, and the completion the body says)
CASES: dict[str, tuple[Any, str, dict[str, Any], object, Phase, float | None]] = {
    "import": (
        ImportTask("ds1", "imp1"),
        "/v2/p1/datasets/ds1/import-tasks/imp1",
        {
            "task_id": "imp1",
            "dataset_id": "ds1",
            "import_path": "obs://bucket/in/",
            "import_type": 0,
            "status": "RUNNING",
            "total_sample_count": 200,
            "imported_sample_count": 50,
            "elapsed_time": 12,
            "create_time": 1606103424662,
            "update_ms": 1606103436662,
        },
        "RUNNING",
        Phase.RUNNING,
        0.25,
    ),
    "version": (
        DatasetVersionTask("ds1", "v1"),
        "/v2/p1/datasets/ds1/versions/v1",
        {"version_id": "v1", "version_name": "V001", "status": 0, "total_sample_count": 10},
        0,
        Phase.PENDING,
        None,
    ),
    "dataset": (
        DatasetIdle("ds1"),
        "/v2/p1/datasets/ds1",
        {"dataset_id": "ds1", "dataset_name": "d", "dataset_type": 0, "status": 5},
        5,
        Phase.RUNNING,
        None,
    ),
    "intelligent_task": (
        IntelligentTask("ds1", "it1"),
        "/v2/p1/datasets/ds1/tasks/it1",
        {"status": 1, "progress": 30.0, "elapsed_time": 5, "create_time": 1606103424662},
        1,
        Phase.RUNNING,
        0.3,
    ),
    "processing_task": (
        ProcessingTask("pt1"),
        "/v2/p1/processor-tasks/pt1",
        {"task_id": "pt1", "name": "clean", "status": 2, "duration_seconds": 41},
        2,
        Phase.SUCCEEDED,
        1.0,
    ),
    "training_job": (
        TrainingJob("job1"),
        "/v2/p1/training-jobs/job1",
        {
            "kind": "job",
            "metadata": {"id": "job1", "name": "train", "create_time": 1636447346315},
            "status": {"phase": "Running", "secondary_phase": "Running", "duration": 5000},
            "algorithm": {"id": "alg"},
        },
        "Running",
        Phase.RUNNING,
        None,
    ),
    "model": (
        ModelImport("m1"),
        "/v1/p1/models/m1",
        {
            "model_id": "m1",
            "model_name": "mnist",
            "model_version": "0.0.1",
            "model_status": "building",
        },
        "building",
        Phase.RUNNING,
        None,
    ),
    "service": (
        ServiceDeployment("s1"),
        "/v1/p1/services/s1",
        {"service_id": "s1", "service_name": "svc", "status": "deploying", "progress": 40},
        "deploying",
        Phase.RUNNING,
        0.4,
    ),
}


@pytest.fixture
def mocked() -> Any:
    with mock_http() as m:
        yield m


@pytest.fixture
async def client() -> AsyncIterator[ModelArtsClient]:
    async with ModelArtsClient(project_id="p1", auth=TokenAuth("tok"), endpoint=BASE) as c:
        yield c


# -- the registry ------------------------------------------------------------------------


def test_eleven_kinds_are_registered_in_one_place() -> None:
    names = {k.name for k in kinds()}
    assert {"sync", "export", "dataset_task", *CASES} <= names
    assert get_kind("task") is get_kind("dataset_task")
    assert get_kind(" Export ").name == "export"
    with pytest.raises(InvalidArgumentError, match=r"unknown kind 'nope'.*training_job"):
        get_kind("nope")


@pytest.mark.parametrize("kind", sorted({"sync", "export", "dataset_task", *CASES}))
def test_a_kind_builds_its_spec_from_ids_in_path_order(kind: str) -> None:
    k = get_kind(kind)
    ids = [f"id-{i}" for i in range(len(k.id_names))]
    spec = k.spec(*ids)
    assert spec.kind == kind
    assert str(spec) == f"{kind}:{'/'.join(ids)}"
    assert spec_from_ref(kind, "/".join(ids)) == spec  # the CLI's --kind reference
    with pytest.raises(InvalidArgumentError, match="ID"):
        k.spec(*ids, "extra")


def test_register_kind_refuses_a_taken_name() -> None:
    with pytest.raises(InvalidArgumentError, match="already registered"):
        register_kind(Kind("sync", ExportTask, ("dataset_id", "task_id")))
    with pytest.raises(InvalidArgumentError, match="taken"):
        register_kind(Kind("other", SyncTask, ("dataset_id",), aliases=("task",)))


# -- models and status tables --------------------------------------------------------------


@pytest.mark.parametrize("kind", sorted(CASES))
def test_a_published_body_reads_into_the_typed_model(kind: str) -> None:
    spec, _, body, status, phase, completion = CASES[kind]
    snapshot = type(spec).PARSE(body)
    assert snapshot.status == status
    assert snapshot.phase is phase
    obs = spec.interpret(snapshot)
    assert obs.phase is phase
    assert obs.status == str(status)
    assert obs.completion == completion


@pytest.mark.parametrize("kind", sorted(CASES))
def test_an_unknown_status_is_unknown_not_a_crash(kind: str) -> None:
    spec, _, body, status, *_ = CASES[kind]
    odd: object = 99 if isinstance(status, int) else "SOMETHING_NEW"
    if kind == "training_job":
        body = {**body, "status": {"phase": odd}}
    elif kind == "model":
        body = {**body, "model_status": odd}
    else:
        body = {**body, "status": odd}
    assert type(spec).PARSE(body).phase is Phase.UNKNOWN


@given(value=st.integers(-(10**6), 10**6), as_text=st.booleans())
def test_integer_statuses_read_as_numbers_or_numeric_strings(value: int, as_text: bool) -> None:
    for spec in (DatasetVersionTask("d", "v"), DatasetIdle("d"), IntelligentTask("d", "t")):
        sent: object = f" {value} " if as_text else value
        snapshot = type(spec).PARSE({"status": sent})
        assert snapshot.status == value
        assert snapshot.phase is type(spec).PHASES.get(value, Phase.UNKNOWN)


@pytest.mark.parametrize("bad", ["running", 1.5, True, [1], {"a": 1}])
def test_a_wrongly_typed_integer_status_names_its_field(bad: object) -> None:
    with pytest.raises(ParseError, match=r"^status: expected integer"):
        DatasetIdle.PARSE({"status": bad})


def test_a_training_job_of_the_wrong_shape_names_the_path() -> None:
    with pytest.raises(ParseError, match=r"^status.phase"):
        TrainingJob.PARSE({"status": {"phase": 3}})
    with pytest.raises(ParseError, match=r"^metadata"):
        TrainingJob.PARSE({"metadata": "x"})


# -- what counts as success ---------------------------------------------------------------


def test_documented_success_decisions() -> None:
    table = {
        ("intelligent_task", 5): Phase.FAILED,  # stopped: no labels were made
        ("intelligent_task", 3): Phase.SUCCEEDED,
        ("service", "running"): Phase.SUCCEEDED,
        ("service", "stopped"): Phase.FAILED,
        ("service", "concerning"): Phase.RUNNING,
        ("processing_task", 4): Phase.FAILED,
        ("version", 3): Phase.FAILED,
        ("dataset", 1): Phase.SUCCEEDED,
        ("training_job", "Terminated"): Phase.FAILED,
    }
    for (kind, status), phase in table.items():
        assert get_kind(kind).spec_type.PHASES[status] is phase, (kind, status)


def test_success_can_be_overridden_per_spec() -> None:
    batch = ServiceDeployment("s1", success={"finished"})
    assert batch.phase_of("running") is Phase.RUNNING  # deployed, but not done yet
    assert batch.phase_of("finished") is Phase.SUCCEEDED
    assert batch.phase_of("failed") is Phase.FAILED
    stopped_is_fine = IntelligentTask("d", "t", success=[3, 5])
    snapshot = IntelligentTask.PARSE({"status": 5, "progress": 60.0})
    obs = stopped_is_fine.interpret(snapshot)
    assert (obs.phase, obs.completion) == (Phase.SUCCEEDED, 1.0)
    assert hash(batch) == hash(ServiceDeployment("s1", success=frozenset({"finished"})))
    for bad in ("finished", 5, []):
        with pytest.raises(InvalidArgumentError, match="success"):
            ServiceDeployment("s1", success=bad)  # type: ignore[arg-type]


def test_a_success_override_survives_a_continuation_token() -> None:
    spec = ServiceDeployment("s1", success={"finished", "running"})
    again, _ = decode_token(encode_token(spec, TaskState()))
    assert again == spec
    plain, _ = decode_token(encode_token(SyncTask("d"), TaskState()))
    assert plain == SyncTask("d")


# -- the client: reading, starting, listing, errors ------------------------------------------


@pytest.mark.parametrize("kind", sorted(CASES))
async def test_the_client_polls_each_kind_at_its_published_path(
    client: ModelArtsClient, mocked: Any, kind: str
) -> None:
    spec, path, body, status, *_ = CASES[kind]
    mocked.get(BASE + path, payload=body)
    snapshot = await client.get_task(spec)
    assert snapshot.status == status


async def test_start_calls_return_the_spec_that_watches_what_they_started(
    client: ModelArtsClient, mocked: Any
) -> None:
    base = f"{BASE}/v2/p1/datasets/ds1"
    mocked.post(f"{base}/sync-data", body="")
    mocked.post(f"{base}/import-tasks", payload={"task_id": "imp9"})
    mocked.post(f"{base}/versions", status=201, payload={"version_id": "v9"})
    mocked.post(f"{base}/tasks", payload={"task_id": "it9"})
    mocked.post(f"{BASE}/v1/p1/datasets/ds1/sync", payload={"task_id": "dt1"})
    mocked.post(f"{BASE}/v1/p1/datasets/ds1/versions", payload={"task_id": "dt2"})
    assert await client.start_sync("ds1") == SyncTask("ds1")
    assert await client.create_import_task("ds1", import_path="/b/in/") == ImportTask("ds1", "imp9")
    assert await client.create_dataset_version("ds1", version_name="V2") == DatasetVersionTask(
        "ds1", "v9"
    )
    started = await client.start_intelligent_task("ds1", task_type="auto-label")
    assert started == IntelligentTask("ds1", "it9")
    assert await client.start_sync_v1("ds1") == DatasetTask("dt1")
    assert await client.create_dataset_version_v1("ds1") == DatasetTask("dt2")


async def test_start_calls_check_their_arguments_before_any_request(
    client: ModelArtsClient, mocked: Any
) -> None:
    with pytest.raises(InvalidArgumentError, match="task_type"):
        await client.start_intelligent_task("ds1", task_type="label-everything")
    with pytest.raises(InvalidArgumentError, match="import_path"):
        await client.create_import_task("ds1", import_path=" ")
    with pytest.raises(InvalidArgumentError, match="dataset_id"):
        await client.create_dataset_version("ds/1")
    assert not mocked.requests


async def test_list_calls_walk_every_page_by_page_index(
    client: ModelArtsClient, mocked: Any
) -> None:
    url = re.compile(rf"^{re.escape(BASE)}/v2/p1/datasets/ds1/export-tasks\?.*$")
    tasks = [{"task_id": f"t{i}", "status": "RUNNING"} for i in range(5)]
    for page in range(3):
        chunk = tasks[page * 2 : page * 2 + 2]
        mocked.get(url, payload={"total_count": 5, "export_tasks": chunk})
    got = [t.task_id async for t in client.list_export_tasks("ds1", page_size=2, export_type=1)]
    assert got == [f"t{i}" for i in range(5)]
    queries = [str(u) for (_, u) in mocked.requests]
    assert any("offset=2" in q and "limit=2" in q and "export_type=1" in q for q in queries)
    with pytest.raises(InvalidArgumentError, match="page_size"):
        client.list_import_tasks("ds1", page_size=101)


async def test_list_import_tasks_stops_at_a_short_page(
    client: ModelArtsClient, mocked: Any
) -> None:
    url = re.compile(rf"^{re.escape(BASE)}/v2/p1/datasets/ds1/import-tasks\?.*$")
    mocked.get(url, payload={"total_count": 99, "import_tasks": [{"task_id": "a"}]})
    assert [t.task_id async for t in client.list_import_tasks("ds1", page_size=10)] == ["a"]


@pytest.mark.parametrize(
    ("status", "body", "cls"),
    [
        (
            400,
            {"error_code": "ModelArts.4359", "error_msg": "Export task does not exist"},
            NotFound,
        ),
        (400, {"error_code": "ModelArts.4352", "error_msg": "Dataset does not exist"}, NotFound),
        (400, {"error_code": "ModelArts.4612", "error_msg": "Task not found"}, NotFound),
        (
            404,
            {"error_code": "ModelArts.3502", "error_message": "Service does not exist"},
            NotFound,
        ),
        (
            400,
            {"error_code": "ModelArts.4355", "error_msg": "Sync data source task exist"},
            Conflict,
        ),
        (500, {"error_code": "ModelArts.4614", "error_msg": "Task failed"}, OperationFailed),
        (
            500,
            {"error_code": "ModelArts.4360", "error_msg": "Sync data source error"},
            OperationFailed,
        ),
        (400, {"errorCode": "ModelArts.0104", "errorMsg": "Parameter error."}, BadRequest),
        (400, {"code": "ModelArts.0104", "message": "Parameter error."}, BadRequest),
        (400, {"error": {"code": "ModelArts.4359", "message": "nested"}}, NotFound),
        (
            200,
            {"is_success": False, "error_code": "ModelArts.3502", "error_message": "gone"},
            NotFound,
        ),
        (
            200,
            {"is_success": False, "error_code": "ModelArts.0104", "error_message": "bad"},
            BadRequest,
        ),
        (400, {"error_code": "ModelArts.0104", "error_message": "Parameter error."}, BadRequest),
        (
            200,
            {"is_success": False, "error_code": "ModelArts.0105", "error_msg": "Denied."},
            BadRequest,
        ),
        (
            400,
            {
                "error_code": "ModelArts.2755",
                "error_msg": "Invalid flavor.",
                "error_solution": "Use a listed flavor.",
            },
            BadRequest,
        ),
        (401, {"error": {"code": 401, "message": "Wrong password.", "title": "x"}}, Unauthorized),
    ],
)
async def test_the_published_error_dialect(
    client: ModelArtsClient, mocked: Any, status: int, body: dict[str, Any], cls: type[Exception]
) -> None:
    mocked.get(
        f"{BASE}/v2/p1/datasets/ds1/export-tasks/t1",
        status=status,
        payload=body,
        headers={"X-Request-Id": "req-42"},
    )
    with pytest.raises(cls) as info:
        await client.get_task(ExportTask("ds1", "t1"))
    err: Any = info.value
    assert type(err) is cls
    assert err.request_id == "req-42"
    assert "X-Request-Id: req-42" in str(err)
    assert err.error_code
    assert err.error_code in str(err)
    message = _message_of(body)
    assert err.error_msg == message  # every published shape keeps its message
    assert message in str(err)
    assert err.status == status  # the real status is kept, whatever the class says
    assert str(err).startswith(f"HTTP {status} for GET ")


def _message_of(body: dict[str, Any]) -> str:
    inner = body.get("error", body)
    for key in ("error_msg", "error_message", "errorMsg", "message"):
        if key in inner:
            return str(inner[key])
    raise AssertionError(f"no message in {body}")


# -- watching new kinds ----------------------------------------------------------------------


async def test_the_engine_watches_new_kinds_through_the_fake() -> None:
    clock = FakeClock()
    fake = FakeModelArts(clock)
    fake.add("training_job", "job1", [
        (0, {"status": {"phase": "Pending"}}),
        (30, {"status": {"phase": "Running"}}),
        (300, {"status": {"phase": "Completed"}, "metadata": {"id": "job1"}}),
    ])  # fmt: skip
    fake.add("version", ("ds1", "v1"), [(0, {"status": 0}), (40, {"status": 4})])
    fake.add(
        "service", "s1", [(0, {"status": "deploying", "progress": 10}), (90, {"status": "running"})]
    )
    async with Engine(client=fake, clock=clock) as engine:
        handles = engine.watch_many(
            [TrainingJob("job1"), DatasetVersionTask("ds1", "v1"), ServiceDeployment("s1")]
        )
        result = await clock.run(engine.wait(handles))
    ends = {str(e.spec): e for e in (*result.completed, *result.failed)}
    assert isinstance(ends["training_job:job1"], TaskCompleted)
    assert ends["training_job:job1"].snapshot.job_id == "job1"
    assert isinstance(ends["version:ds1/v1"], TaskFailed)
    assert ends["version:ds1/v1"].reason.value == "remote_failed"  # type: ignore[union-attr]
    assert isinstance(ends["service:s1"], TaskCompleted)
    with pytest.raises(InvalidArgumentError, match="ID"):
        fake.add("export", "only-one", [(0, {})])


def test_bad_success_values_and_kinds_are_named() -> None:
    with pytest.raises(InvalidArgumentError, match="success"):
        ServiceDeployment("s1", success=[["running"]])  # type: ignore[list-item]
    with pytest.raises(InvalidArgumentError, match="lower-case"):
        register_kind(Kind("Shouty", SyncTask, ("dataset_id",)))
    with pytest.raises(InvalidArgumentError, match="class"):
        register_kind(Kind("not_a_class", "SyncTask", ("dataset_id",)))  # type: ignore[arg-type]
    from modelarts_poller import url_template

    with pytest.raises(InvalidArgumentError, match="path"):
        url_template(42)  # type: ignore[arg-type]


def test_register_kind_refuses_id_names_or_a_kind_name_its_spec_disagrees_with() -> None:
    with pytest.raises(InvalidArgumentError, match="ID_NAMES"):
        register_kind(Kind("sync-odd", SyncTask, ("nope",)))
    with pytest.raises(InvalidArgumentError, match="id_names"):
        register_kind(Kind("sync-odd", SyncTask, "dataset_id"))  # type: ignore[arg-type]

    @attrs.frozen
    class Orphan(SyncTask):
        KIND: ClassVar[str] = "orphan-kind"

    with pytest.raises(InvalidArgumentError, match="orphan-kind"):
        register_kind(Kind("orphan", Orphan, ("dataset_id",)))
    assert "sync-odd" not in {k.name for k in kinds()}
    assert "orphan" not in {k.name for k in kinds()}

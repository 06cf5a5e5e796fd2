"""The simulator's sixteen kinds, start calls and lists, over real 127.0.0.1 HTTP with plain
aiohttp: each kind's published status sequence and body to completion and to failure, the
start calls' answers and refusals, and paging. Paths are written out here from the published
API, not taken from the simulator's own route table."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import aiohttp
import pytest

from modelarts_poller import InvalidArgumentError
from modelarts_poller.simulator import KINDS, Simulator, SimulatorConfig

WALL0 = 1_700_000_000.0
P = "sim-project"

# kind -> published status path with {p} and the IDs in path order as {0}, {1}.
PATHS = {
    "sync": "/v2/{p}/datasets/{0}/sync-data/status",
    "export": "/v2/{p}/datasets/{0}/export-tasks/{1}",
    "dataset_task": "/v1/{p}/datasets/task/{0}",
    "import": "/v2/{p}/datasets/{0}/import-tasks/{1}",
    "version": "/v2/{p}/datasets/{0}/versions/{1}",
    "dataset": "/v2/{p}/datasets/{0}",
    "intelligent_task": "/v2/{p}/datasets/{0}/tasks/{1}",
    "processing_task": "/v2/{p}/processor-tasks/{0}",
    "training_job": "/v2/{p}/training-jobs/{0}",
    "model": "/v1/{p}/models/{0}",
    "service": "/v1/{p}/services/{0}",
    "infer_service": "/v2/{p}/services/{0}",
    "notebook": "/v1/{p}/notebooks/{0}",
    "dev_server": "/v1/{p}/dev-servers/{0}",
    "pool": "/v2/{p}/pools/{0}",
    "workflow_execution": "/v2/{p}/workflows/{0}/executions/{1}",
}
# Statuses at t = 2, 8 (queued), 11 (starting), 60 (running) for queue=10, run=100, then
# the completed and the failed end.
SEQUENCES: dict[str, tuple[list[Any], Any, Any]] = {
    "sync": (["QUEUING", "QUEUING", "STARTING", "RUNNING"], "COMPLETED", "FAILED"),
    "export": (["INIT", "INIT", "RUNNING", "RUNNING"], "SUCCESSED", "FAILED"),
    "dataset_task": (["PENDING", "PENDING", "STARTED", "RUNNING"], "SUCCESS", "FAILURE"),
    "import": (["QUEUING", "QUEUING", "STARTING", "RUNNING"], "COMPLETED", "FAILED"),
    "version": ([0, 0, 0, 0], 1, 4),
    "dataset": ([0, 0, 8, 8], 1, 4),
    "intelligent_task": ([-1, -1, 0, 1], 3, 2),
    "processing_task": ([0, 0, 1, 1], 2, 3),
    "training_job": (["Creating", "Pending", "Running", "Running"], "Completed", "Failed"),
    "model": (["publishing", "publishing", "publishing", "building"], "published", "failed"),
    "service": (["waiting", "waiting", "deploying", "deploying"], "running", "failed"),
    "infer_service": (["DEPLOYING"] * 4, "RUNNING", "FAILED"),
    "notebook": (["INIT", "INIT", "CREATING", "CREATING"], "RUNNING", "CREATE_FAILED"),
    "dev_server": (["CREATING"] * 4, "RUNNING", "CREATE_FAILED"),
    "pool": (["Creating"] * 4, "Running", "Error"),
    "workflow_execution": (["init", "init", "running", "running"], "completed", "abnormal"),
}
PUBLISHED_TASK_FAILURES = {
    "ModelArts.4311",
    "ModelArts.4312",
    "ModelArts.4360",
    "ModelArts.4392",
    "ModelArts.4614",
}


class ManualClock:
    def __init__(self) -> None:
        self.t = 0.0

    def __call__(self) -> float:
        return self.t

    def wall(self) -> float:
        return WALL0 + self.t


@pytest.fixture
async def env() -> AsyncIterator[tuple[Simulator, ManualClock, aiohttp.ClientSession]]:
    clk = ManualClock()
    async with (
        Simulator(SimulatorConfig(seed=1), clock=clk, wall=clk.wall) as sim,
        aiohttp.ClientSession(base_url=sim.url) as http,
    ):
        yield sim, clk, http


async def _get(http: aiohttp.ClientSession, path: str) -> tuple[int, Any]:
    async with http.get(path) as resp:
        return resp.status, await resp.json()


async def _post(http: aiohttp.ClientSession, path: str, body: Any = None) -> tuple[int, Any]:
    async with http.post(path, json=body) as resp:
        text = await resp.text()
        return resp.status, (await resp.json() if text else None)


def _status_of(kind: str, body: dict[str, Any]) -> Any:
    if kind in ("training_job", "pool"):
        return body["status"]["phase"]
    if kind == "model":
        return body["model_status"]
    return body["status"]


def _path(kind: str, ids: tuple[str, ...]) -> str:
    return PATHS[kind].format(*ids, p=P)


def test_every_contract_kind_is_served() -> None:
    assert set(KINDS) == set(PATHS)


@pytest.mark.parametrize("outcome", ["completed", "failed"])
@pytest.mark.parametrize("kind", sorted(PATHS))
async def test_each_kind_follows_its_published_sequence(
    env: tuple[Simulator, ManualClock, aiohttp.ClientSession], kind: str, outcome: str
) -> None:
    sim, clk, http = env
    script = sim.add(kind, queue=10, run=100, outcome=outcome, total=500)
    running, done, failed = SEQUENCES[kind]
    seen = []
    for t in (2.0, 8.0, 11.0, 60.0, 200.0):
        clk.t = t
        status, body = await _get(http, _path(kind, script.ids))
        assert status == 200
        value = _status_of(kind, body)
        # Integer statuses are JSON integers, never strings or booleans.
        assert type(value) is type(done)
        seen.append(value)
    assert seen == [*running, done if outcome == "completed" else failed]
    if outcome == "failed":
        _assert_failure_detail(kind, body)
    else:
        assert "error_code" not in body
        assert "error_msg" not in body


def _assert_failure_detail(kind: str, body: dict[str, Any]) -> None:
    if kind in ("sync", "export", "import", "dataset_task", "intelligent_task"):
        assert body["error_code"] in PUBLISHED_TASK_FAILURES
        assert body["error_msg"]
    if kind == "dataset_task":
        assert body["result"]["failed"][0]["error_code"] == body["error_code"]
    if kind == "version":
        assert body["message"]
    if kind in ("processing_task", "service"):
        assert body["error_msg"]
    if kind == "infer_service":
        assert body["failure_reason"]
    if kind == "notebook":
        assert body["fail_reason"]
    if kind == "pool":
        assert body["status"]["message"]
    if kind == "training_job":
        (task,) = body["status"]["task_statuses"]
        assert task["task"] == "worker-0"
        assert isinstance(task["exit_code"], int)
        assert task["exit_code"] != 0
        assert task["message"]


async def test_bodies_use_published_fields_and_types(
    env: tuple[Simulator, ManualClock, aiohttp.ClientSession],
) -> None:
    sim, clk, http = env
    scripts = {k: sim.add(k, queue=0, run=100, total=400) for k in PATHS}
    clk.t = 50.0
    bodies = {k: (await _get(http, _path(k, s.ids)))[1] for k, s in scripts.items()}
    imp = bodies["import"]
    assert (imp["imported_sample_count"], imp["total_sample_count"]) == (200, 400)
    assert (imp["finished_file_count"], imp["total_file_count"]) == (200, 400)
    assert imp["elapsed_time"] == 50  # seconds
    assert imp["task_id"] == scripts["import"].task_id
    assert imp["dataset_id"] == scripts["import"].dataset_id
    assert isinstance(imp["update_ms"], int)
    smart = bodies["intelligent_task"]
    assert smart["progress"] == 50.0
    assert smart["resource_id"] == scripts["intelligent_task"].dataset_id
    assert isinstance(smart["create_time"], str)  # "2023-11-14 22:13:20"
    assert len(smart["create_time"]) == 19
    job = bodies["training_job"]
    assert job["kind"] == "job"
    assert job["metadata"]["id"] == scripts["training_job"].task_id
    assert job["status"]["duration"] == 50_000  # milliseconds
    assert bodies["model"]["model_id"] == scripts["model"].task_id
    assert isinstance(bodies["model"]["model_size"], int)
    svc = bodies["service"]
    assert (svc["service_id"], svc["progress"]) == (scripts["service"].task_id, 50)
    assert bodies["processing_task"]["duration_seconds"] == 50
    ver = bodies["version"]
    assert ver["version_id"] == scripts["version"].task_id
    assert ver["version_name"] == "V001"
    assert bodies["dataset"]["dataset_id"] == scripts["dataset"].dataset_id
    assert bodies["export"]["progress"] == 50.0


def test_script_ids_follow_path_order() -> None:
    state_sim = Simulator(SimulatorConfig(seed=2))
    v = state_sim.add("version", dataset_id="d1", version_id="v1")
    assert v.ids == ("d1", "v1")
    assert v.describe()["version_id"] == "v1"
    assert v.describe()["ids"] == ["d1", "v1"]
    j = state_sim.add("training_job", ids=("job-7",))
    assert (j.ids, j.dataset_id) == (("job-7",), None)
    e = state_sim.add("export")
    assert e.ids == (e.dataset_id, e.task_id)
    assert e.dataset_id
    assert e.task_id
    s = state_sim.add("sync")
    assert s.ids == (s.dataset_id,)
    d = state_sim.add("dataset")
    assert d.ids == (d.dataset_id,)
    assert d.task_id is None
    w = state_sim.add("workflow_execution", workflow_id="wf-9", execution_id="e-1")
    assert w.ids == ("wf-9", "e-1")
    assert w.describe()["workflow_id"] == "wf-9"
    assert w.describe()["execution_id"] == "e-1"
    for kind in KINDS:
        script = state_sim.add(kind)
        assert all(script.ids)
        assert script.key() == (kind, state_sim.project_id, *script.ids)


@pytest.mark.parametrize(
    ("kw", "names"),
    [
        ({"kind": "model", "version_id": "v"}, "version_id"),
        ({"kind": "version", "task_id": "a", "version_id": "b"}, "not both"),
        ({"kind": "export", "ids": ("d",)}, "dataset_id, task_id"),
        ({"kind": "export", "ids": ("d", "t"), "dataset_id": "d"}, "not both"),
        ({"kind": "jupyter"}, "kind"),
        ({"kind": "workflow_execution", "ids": ("e",)}, "workflow_id, execution_id"),
    ],
)
def test_add_names_its_bad_argument(kw: dict[str, Any], names: str) -> None:
    sim = Simulator()
    with pytest.raises(InvalidArgumentError, match=names):
        sim.add(kw.pop("kind"), **kw)


async def test_generate_every_kind_reachable_at_its_path(
    env: tuple[Simulator, ManualClock, aiohttp.ClientSession],
) -> None:
    sim, _, http = env
    scripts = sim.generate(22, kinds=KINDS, seed=3)
    assert {s.kind for s in scripts} == set(KINDS)
    for s in scripts:
        status, _ = await _get(http, _path(s.kind, s.ids))
        assert status == 200, s.kind
    # The default stays the three kinds spec_of() can watch.
    assert {s.kind for s in sim.generate(9)} == {"sync", "export", "dataset_task"}


# -- start calls ---------------------------------------------------------------------------


async def test_v2_sync_start_refuses_while_one_runs(
    env: tuple[Simulator, ManualClock, aiohttp.ClientSession],
) -> None:
    _sim, clk, http = env
    url = f"/v2/{P}/datasets/ds-s/sync-data"
    assert await _post(http, url) == (200, None)
    status, body = await _post(http, url)
    assert (status, body["error_code"]) == (400, "ModelArts.4355")
    assert body["error_msg"] == "Sync data source task exist"
    # v1 sync of the same dataset is the same operation: refused too.
    status, body = await _post(http, f"/v1/{P}/datasets/ds-s/sync")
    assert (status, body["error_code"]) == (400, "ModelArts.4355")
    clk.t = 10_000.0
    _, done = await _get(http, f"/v2/{P}/datasets/ds-s/sync-data/status")
    assert done["status"] == "COMPLETED"
    assert await _post(http, url) == (200, None)  # finished: a new sync may start
    _, again = await _get(http, f"/v2/{P}/datasets/ds-s/sync-data/status")
    assert again["status"] == "QUEUING"


async def test_v1_starts_answer_dataset_task_ids(
    env: tuple[Simulator, ManualClock, aiohttp.ClientSession],
) -> None:
    _sim, clk, http = env
    status, body = await _post(http, f"/v1/{P}/datasets/ds-1/sync")
    assert status == 200
    sync_task = body["task_id"]
    status, body = await _post(http, f"/v1/{P}/datasets/ds-1/versions", {"version_name": "V9"})
    assert status == 200
    version_task = body["task_id"]
    status, body = await _post(http, f"/v2/{P}/datasets/ds-1/sync-data")
    assert (status, body["error_code"]) == (400, "ModelArts.4355")  # the v1 sync runs
    _, first = await _get(http, f"/v1/{P}/datasets/task/{sync_task}")
    assert first["status"] == "PENDING"
    clk.t = 10_000.0
    _, synced = await _get(http, f"/v1/{P}/datasets/task/{sync_task}")
    assert synced == {"status": "SUCCESS", "result": {"syncOrCheckoutsuccess": {}}}
    _, made = await _get(http, f"/v1/{P}/datasets/task/{version_task}")
    created = made["result"]["createVersionSuccess"]
    assert created["version_name"] == "V9"
    assert created["new_version_id"]
    assert isinstance(created["file_count"], int)


async def test_export_create_validates_like_the_api(
    env: tuple[Simulator, ManualClock, aiohttp.ClientSession],
) -> None:
    _sim, _clk, http = env
    url = f"/v2/{P}/datasets/ds-e/export-tasks"
    status, body = await _post(
        http,
        url,
        {"path": "/bucket/out/", "export_type": 3, "export_params": {"export_dest": "DIR"}},
    )
    assert status == 200
    assert set(body) == {"task_id"}
    _, task = await _get(http, f"{url}/{body['task_id']}")
    assert (task["status"], task["path"], task["export_type"]) == ("INIT", "/bucket/out/", 3)
    for bad, code in [
        ({"export_type": 2}, "ModelArts.4358"),  # no path
        ({"path": "bucket/out"}, "ModelArts.4358"),  # not an OBS path
        ({"path": "/b/o/", "export_type": 9}, "ModelArts.4384"),
        ({"path": "/b/o/", "export_format": 3}, "ModelArts.4384"),
        ({"path": "/b/o/", "export_params": {"export_dest": "FTP"}}, "ModelArts.4384"),
        ([], "ModelArts.0104"),
    ]:
        status, body = await _post(http, url, bad)
        assert (status, body["error_code"]) == (400, code), bad
    async with http.post(url, data=b"{not json") as resp:
        assert resp.status == 400
        assert (await resp.json())["error_code"] == "ModelArts.0104"


async def test_import_create_and_its_conflict(
    env: tuple[Simulator, ManualClock, aiohttp.ClientSession],
) -> None:
    _sim, clk, http = env
    url = f"/v2/{P}/datasets/ds-i/import-tasks"
    status, body = await _post(http, url, {"import_path": "obs://b/in/", "import_type": "dir"})
    assert status == 200
    _, task = await _get(http, f"{url}/{body['task_id']}")
    assert (task["status"], task["import_path"], task["import_type"]) == (
        "QUEUING",
        "obs://b/in/",
        0,
    )
    status, body = await _post(http, url, {"import_path": "obs://b/more/"})
    assert (status, body["error_code"]) == (400, "ModelArts.4356")
    for bad in ({}, {"import_path": 3}, {"import_path": "obs://b/", "import_type": "zip"}):
        status, body = await _post(http, url, bad)
        assert (status, body["error_code"]) == (400, "ModelArts.0104"), bad
    clk.t = 10_000.0
    status, _ = await _post(http, url, {"import_path": "obs://b/more/", "import_type": "manifest"})
    assert status == 200


async def test_version_create_answers_201_and_one_per_minute(
    env: tuple[Simulator, ManualClock, aiohttp.ClientSession],
) -> None:
    _sim, clk, http = env
    url = f"/v2/{P}/datasets/ds-v/versions"
    status, body = await _post(http, url, {"version_name": "V004", "version_format": "Default"})
    assert status == 201
    version_id = body["version_id"]
    _, version = await _get(http, f"{url}/{version_id}")
    assert (version["status"], version["version_name"]) == (0, "V004")
    clk.t = 30.0
    status, body = await _post(http, url, {})
    assert (status, body["error_code"]) == (400, "ModelArts.4370")
    clk.t = 10_000.0
    _, version = await _get(http, f"{url}/{version_id}")
    assert version["status"] == 1
    for bad in ({"version_name": "bad name!"}, {"version_format": "XML"}):
        status, body = await _post(http, url, bad)
        assert (status, body["error_code"]) == (400, "ModelArts.0104"), bad
    assert (await _post(http, url))[0] == 201  # no body at all is fine


async def test_version_interval_zero_turns_the_check_off() -> None:
    async with (
        Simulator(SimulatorConfig(version_interval=0)) as sim,
        aiohttp.ClientSession(base_url=sim.url) as http,
    ):
        for _ in range(3):
            assert (await _post(http, f"/v2/{P}/datasets/d/versions", {}))[0] == 201


async def test_intelligent_task_start(
    env: tuple[Simulator, ManualClock, aiohttp.ClientSession],
) -> None:
    _sim, _clk, http = env
    url = f"/v2/{P}/datasets/ds-a/tasks"
    status, body = await _post(http, url, {"task_type": "auto-label", "config": {}})
    assert status == 200
    _, task = await _get(http, f"{url}/{body['task_id']}")
    assert (task["status"], task["progress"]) == (-1, 0.0)
    status, body = await _post(http, url, {"task_type": "auto-dance"})
    assert (status, body["error_code"]) == (400, "ModelArts.0104")


# -- lists -----------------------------------------------------------------------------------


async def test_export_list_pages_by_page_index(
    env: tuple[Simulator, ManualClock, aiohttp.ClientSession],
) -> None:
    _sim, _clk, http = env
    url = f"/v2/{P}/datasets/ds-l/export-tasks"
    made = []
    for i in range(25):
        _, body = await _post(http, url, {"path": "/b/o/", "export_type": 3 if i < 4 else 0})
        made.append(body["task_id"])
    status, first = await _get(http, url)
    assert status == 200
    assert first["total_count"] == 25
    assert [t["task_id"] for t in first["export_tasks"]] == made[:10]  # default limit 10
    _, third = await _get(http, f"{url}?offset=2&limit=10")
    assert [t["task_id"] for t in third["export_tasks"]] == made[20:]
    _, whole = await _get(http, f"{url}?limit=100")
    assert len(whole["export_tasks"]) == 25
    _, beyond = await _get(http, f"{url}?offset=9")
    assert (beyond["total_count"], beyond["export_tasks"]) == (25, [])
    _, typed = await _get(http, f"{url}?export_type=3")
    assert typed["total_count"] == 4
    assert {t["export_type"] for t in typed["export_tasks"]} == {3}
    for query in ("limit=0", "limit=101", "offset=-1", "offset=x", "export_type=7"):
        status, body = await _get(http, f"{url}?{query}")
        assert (status, body["error_code"]) == (400, "ModelArts.0104"), query
    status, body = await _get(http, f"/v2/{P}/datasets/ds-nowhere/export-tasks")
    assert (status, body["error_code"]) == (400, "ModelArts.4352")


async def test_import_list(env: tuple[Simulator, ManualClock, aiohttp.ClientSession]) -> None:
    sim, clk, http = env
    a = sim.add("import", dataset_id="ds-m", run=5)
    b = sim.add("import", dataset_id="ds-m", run=5)
    sim.add("import", dataset_id="ds-other")
    clk.t = 100.0
    _, listed = await _get(http, f"/v2/{P}/datasets/ds-m/import-tasks?limit=1&offset=1")
    assert listed["total_count"] == 2
    assert [t["task_id"] for t in listed["import_tasks"]] == [b.task_id]
    assert listed["import_tasks"][0]["status"] == "COMPLETED"
    _, known = await _get(http, f"/v2/{P}/datasets/ds-m/import-tasks")
    assert [t["task_id"] for t in known["import_tasks"]] == [a.task_id, b.task_id]


def test_spec_of_names_a_kind_the_library_does_not_declare() -> None:
    from modelarts_poller import get_kind
    from modelarts_poller.simulator import spec_of

    def declared(kind: str) -> bool:
        try:
            get_kind(kind)
        except InvalidArgumentError:
            return False
        return True

    undeclared = [k for k in KINDS if not declared(k)]
    if not undeclared:
        pytest.skip("the library declares every kind the simulator serves")
    sim = Simulator()
    script = sim.add(undeclared[0])
    with pytest.raises(InvalidArgumentError, match="declares no such kind"):
        spec_of(script)
    with pytest.raises(InvalidArgumentError, match="declares no such kind"):
        spec_of(script.describe())


async def test_lists_hold_what_generate_made_per_project_and_workflow(
    env: tuple[Simulator, ManualClock, aiohttp.ClientSession],
) -> None:
    sim, _, http = env
    kinds = ("notebook", "dev_server", "infer_service", "pool", "workflow_execution")
    scripts = sim.generate(25, kinds=kinds, seed=4)
    lists = {
        "notebook": "/v1/{p}/notebooks",
        "dev_server": "/v1/{p}/dev-servers",
        "infer_service": "/v2/{p}/services",
    }
    for kind, path in lists.items():
        status, body = await _get(http, path.format(p=P) + "?limit=3&offset=3")
        assert status == 200
        assert body["total"] == 5
        mine = [s.task_id for s in scripts if s.kind == kind]
        assert [item["id"] for item in body["data"]] == mine[3:5]
    _, pools = await _get(http, f"/v2/{P}/pools")
    assert len(pools["items"]) == 5
    execution = next(s for s in scripts if s.kind == "workflow_execution")
    _, runs = await _get(http, f"/v2/{P}/workflows/{execution.ids[0]}/executions")
    assert [r["execution_id"] for r in runs["items"]] == [execution.task_id]
    status, _ = await _get(http, f"/v1/{P}/notebooks?limit=0")
    assert status == 400
    _, creating = await _get(http, f"/v2/{P}/pools?status=Creating")
    assert len(creating["items"]) == 5
    _, running = await _get(http, f"/v2/{P}/pools?status=Running")
    assert running["items"] == []
    _, by_status = await _get(http, f"/v1/{P}/dev-servers?status=CREATING&limit=100")
    assert by_status["total"] == 5

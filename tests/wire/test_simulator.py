"""The ModelArts simulator: pure lifecycles, every endpoint over real 127.0.0.1 HTTP,
auth modes through the real client, faults and what the client makes of them, the
server-side rate limit and the counters."""

from __future__ import annotations

import asyncio
from collections import Counter
from collections.abc import AsyncIterator, Callable
from datetime import UTC, datetime, timedelta
from typing import Any

import aiohttp
import pytest
from hypothesis import given
from hypothesis import strategies as st

from modelarts_poller import (
    AkSkAuth,
    ConnectionFailed,
    Forbidden,
    IamTokenAuth,
    InvalidArgumentError,
    ModelArtsClient,
    ParseError,
    PermanentError,
    Phase,
    ProtocolError,
    RateLimited,
    RequestTimeout,
    ServerError,
    TokenAuth,
    Unauthorized,
    get_kind,
)
from modelarts_poller.operations.dataset_task import parse_dataset_task_status
from modelarts_poller.operations.export import parse_export_task_status
from modelarts_poller.operations.sync import parse_sync_status
from modelarts_poller.simulator import (
    Faults,
    Script,
    Simulator,
    SimulatorConfig,
    body_at,
    spec_of,
)
from modelarts_poller.simulator._app import SimState
from modelarts_poller.simulator._lifecycle import FAIL_AT, stage

PARSERS: dict[str, Callable[[object], Any]] = {
    "sync": parse_sync_status,
    "export": parse_export_task_status,
    "dataset_task": parse_dataset_task_status,
}
WALL0 = 1_700_000_000.0


class ManualClock:
    """Simulator time that moves only when a test says so."""

    def __init__(self) -> None:
        self.t = 0.0

    def __call__(self) -> float:
        return self.t

    def wall(self) -> float:
        return WALL0 + self.t


def _script(kind: str, *, queue: float, run: float, outcome: str, total: int = 1000) -> Script:
    return Script(
        kind,
        project_id="p",
        dataset_id=None if kind == "dataset_task" else "ds-1",
        task_id="t-1",
        created=0.0,
        created_ms=int(WALL0 * 1000),
        queue=queue,
        run=run,
        outcome=outcome,
        total=total,
        failure=2,
    )


def _client(sim: Simulator, auth: Any = None, **kw: Any) -> ModelArtsClient:
    return ModelArtsClient(
        project_id=kw.pop("project_id", sim.project_id),
        auth=auth or TokenAuth("unused"),
        endpoint=sim.url,
        **kw,
    )


@pytest.fixture
async def manual() -> AsyncIterator[tuple[Simulator, ManualClock]]:
    clk = ManualClock()
    async with Simulator(SimulatorConfig(seed=1), clock=clk, wall=clk.wall) as sim:
        yield sim, clk


# -- the pure lifecycle -----------------------------------------------------------------

kinds = st.sampled_from(["sync", "export", "dataset_task"])
seconds = st.floats(min_value=0.0, max_value=1e4, allow_nan=False)


@given(
    kind=kinds,
    queue=seconds,
    run=st.floats(min_value=1e-3, max_value=1e4),
    outcome=st.sampled_from(["completed", "failed"]),
    total=st.integers(0, 10**7),
    times=st.lists(st.floats(min_value=0.0, max_value=3e4), min_size=2, max_size=8),
)
def test_lifecycle_moves_forward_and_ends_as_scripted(
    kind: str, queue: float, run: float, outcome: str, total: int, times: list[float]
) -> None:
    script = _script(kind, queue=queue, run=run, outcome=outcome, total=total)
    last_stage, last_fraction = -1, -1.0
    for t in sorted(times):
        st_, fraction = stage(script, t)
        assert st_ >= last_stage  # never goes back to an earlier stage
        assert fraction >= last_fraction
        assert 0.0 <= fraction <= 1.0
        last_stage, last_fraction = st_, fraction
        body = body_at(script, t)
        model = PARSERS[kind](body)  # fidelity: every body parses with the real parser
        assert model.extra == {}  # and uses only the seed documents' field names
        if t >= script.finishes:
            expected = Phase.SUCCEEDED if outcome == "completed" else Phase.FAILED
            assert model.phase is expected
        else:
            assert model.phase in (Phase.PENDING, Phase.RUNNING)
        if model.phase is Phase.FAILED:
            assert model.error_code
            assert model.error_msg
        if kind == "export":
            assert model.export_params is not None
            assert model.export_params.extra == {}
            # A failing task stops at FAIL_AT of its work: its progress never goes back.
            share = fraction * (FAIL_AT if outcome == "failed" else 1.0)
            assert model.progress == pytest.approx(100.0 * share, abs=0.051)
        if kind != "dataset_task":
            assert model.total_sample_count == total


def test_failed_dataset_task_names_its_failure_in_result() -> None:
    model = parse_dataset_task_status(
        body_at(_script("dataset_task", queue=0, run=1, outcome="failed"), 5)
    )
    assert model.status == "FAILURE"
    assert model.result is not None
    assert model.result.failed
    assert model.result.failed[0].error_code == model.error_code


@pytest.mark.parametrize(
    ("kind", "statuses"),
    [
        ("sync", ["QUEUING", "STARTING", "RUNNING", "COMPLETED"]),
        ("export", ["INIT", "RUNNING", "RUNNING", "SUCCESSED"]),
        ("dataset_task", ["PENDING", "STARTED", "RUNNING", "SUCCESS"]),
    ],
)
def test_status_values_are_the_documented_ones(kind: str, statuses: list[str]) -> None:
    script = _script(kind, queue=10, run=100, outcome="completed")
    seen = [body_at(script, t)["status"] for t in (5, 11, 60, 200)]
    assert seen == statuses
    assert [get_kind(kind).spec_type.PHASES.get(s, Phase.UNKNOWN) for s in seen][
        -1
    ] is Phase.SUCCEEDED


def test_generate_makes_valid_reachable_reproducible_scripts() -> None:
    def make(seed: int) -> tuple[SimState, list[Script]]:
        state = SimState(SimulatorConfig(seed=seed), clock=lambda: 5.0, wall=lambda: WALL0)
        return state, state.generate(
            300, project_id="p", durations="uniform:0:9", queue="fixed:1", failure_rate=0.3
        )

    state, scripts = make(7)
    assert len(state.tasks) == 300
    assert {s.kind for s in scripts} == {"sync", "export", "dataset_task"}
    assert 0.15 < sum(s.outcome == "failed" for s in scripts) / 300 < 0.45
    for s in scripts:
        assert state.tasks[s.key()] is s  # reachable by the key its endpoint looks up
        # The trusted bulk path makes exactly what the checked constructor would accept.
        checked = Script(
            s.kind,
            project_id=s.project_id,
            dataset_id=s.dataset_id,
            task_id=s.task_id,
            created=s.created,
            created_ms=s.created_ms,
            queue=s.queue,
            run=s.run,
            outcome=s.outcome,
            total=s.total,
            failure=s.failure,
        )
        assert checked.describe() == s.describe()
        assert s.queue == 1.0
        assert 0.0 <= s.run <= 9.0
        assert 100 <= s.total < 50_000
    _, again = make(7)
    assert [s.describe() for s in again] == [s.describe() for s in scripts]


@pytest.mark.parametrize(
    ("kw", "names"),
    [
        ({"kinds": ["sync", "nope"]}, "kinds"),
        ({"kinds": []}, "kinds"),
        ({"count": -1}, "count"),
        ({"count": True}, "count"),
        ({"failure_rate": 1.5}, "failure_rate"),
        ({"durations": "gauss:1"}, "gauss"),
    ],
)
def test_generate_names_its_bad_argument(kw: dict[str, Any], names: str) -> None:
    state = SimState(SimulatorConfig(), clock=lambda: 0.0, wall=lambda: WALL0)
    args: dict[str, Any] = {"count": 3, "project_id": "p", **kw}
    with pytest.raises(InvalidArgumentError, match=names):
        state.generate(args.pop("count"), **args)
    assert not state.tasks  # nothing half-made


def test_spec_of_watches_each_kind_from_a_script_or_its_description() -> None:
    state = SimState(SimulatorConfig(seed=3), clock=lambda: 0.0, wall=lambda: WALL0)
    for script in state.generate(3, project_id="p"):
        spec = spec_of(script)
        assert spec == spec_of(script.describe())
        assert spec.kind == script.kind
        assert str(spec).endswith(script.task_id if script.kind != "sync" else script.dataset_id)


@pytest.mark.parametrize(
    ("task", "names"),
    [
        ({"kind": "training", "task_id": "t"}, "kind"),
        ({"kind": "sync"}, "dataset_id"),
        ({"kind": "export", "dataset_id": "d"}, "task_id"),
        (["sync", "d"], "Script or a mapping"),
    ],
)
def test_spec_of_names_what_is_missing(task: Any, names: str) -> None:
    with pytest.raises(InvalidArgumentError, match=names):
        spec_of(task)


# -- every endpoint over HTTP -----------------------------------------------------------


async def test_status_endpoints_follow_the_script_in_simulator_time(
    manual: tuple[Simulator, ManualClock],
) -> None:
    sim, clk = manual
    sync = sim.add("sync", queue=1, run=10)
    export = sim.add("export", queue=1, run=10, outcome="failed")
    task = sim.add("dataset_task", queue=1, run=10)
    async with _client(sim) as client:
        assert (await client.get_sync_status(sync.dataset_id or "")).status == "QUEUING"
        clk.t = 6.0
        exp = await client.get_export_task_status(export.dataset_id or "", export.task_id or "")
        assert exp.status == "RUNNING"
        assert exp.progress == pytest.approx(50.0 * FAIL_AT)  # scripted to fail
        assert exp.task_id == export.task_id
        clk.t = 11.5
        done = await client.get_sync_status(sync.dataset_id or "")
        assert (done.status, done.phase, done.dataset_id) == (
            "COMPLETED",
            Phase.SUCCEEDED,
            sync.dataset_id,
        )
        failed = await client.get_export_task_status(export.dataset_id or "", export.task_id or "")
        assert failed.phase is Phase.FAILED
        assert failed.error_code
        dt = await client.get_dataset_task_status(task.task_id or "")
        assert dt.status == "SUCCESS"


async def test_unknown_tasks(manual: tuple[Simulator, ManualClock]) -> None:
    sim, _ = manual
    sim.add("sync", dataset_id="ds-known")
    async with _client(sim) as client:
        # "Not found" in data management is HTTP 400 with a code saying what is missing.
        with pytest.raises(PermanentError) as info:
            await client.get_export_task_status("ds-known", "nope")
        assert (info.value.status, info.value.error_code) == (400, "ModelArts.4359")
        with pytest.raises(PermanentError) as info:
            await client.get_export_task_status("ds-x", "nope")
        assert (info.value.status, info.value.error_code) == (400, "ModelArts.4352")
        with pytest.raises(PermanentError) as info:
            await client.get_dataset_task_status("nope")
        assert (info.value.status, info.value.error_code) == (400, "ModelArts.4612")
        # A dataset that exists but never synchronised answers NOT_EXIST ("task not found");
        # a dataset that does not exist answers 400 ModelArts.4352.
        sim.add("export", dataset_id="ds-never")
        missing = await client.get_sync_status("ds-never")
        assert missing.status == "NOT_EXIST"
        assert missing.phase is Phase.FAILED
        with pytest.raises(PermanentError) as info:
            await client.get_sync_status("ds-nowhere")
        assert (info.value.status, info.value.error_code) == (400, "ModelArts.4352")


async def test_start_calls_create_tasks_that_can_be_polled(
    manual: tuple[Simulator, ManualClock],
) -> None:
    sim, clk = manual
    async with _client(sim) as client:
        await client.start_sync("ds-new")
        assert (await client.get_sync_status("ds-new")).status == "QUEUING"
        spec = await client.create_export_task("ds-new", path="/bucket/out/", export_type=2)
        assert spec.dataset_id == "ds-new"
        clk.t = 10_000.0  # long after any drawn duration
        status = await client.get_export_task_status("ds-new", spec.task_id)
        assert status.status == "SUCCESSED"
    assert {t["kind"] for t in sim.truth()} == {"sync", "export"}


async def test_create_export_needs_a_path(manual: tuple[Simulator, ManualClock]) -> None:
    sim, _ = manual
    async with aiohttp.ClientSession() as http:
        url = f"{sim.url}/v2/{sim.project_id}/datasets/ds/export-tasks"
        async with http.post(url, json={"export_type": 2}) as resp:
            assert resp.status == 400
        async with http.post(url, data=b"{not json") as resp:
            assert resp.status == 400


async def test_admin_endpoints(manual: tuple[Simulator, ManualClock]) -> None:
    sim, _ = manual
    async with aiohttp.ClientSession() as http:
        async with http.post(
            f"{sim.url}/_sim/tasks",
            json={
                "tasks": [{"kind": "sync", "dataset_id": "ds-a", "run": 3, "outcome": "failed"}],
                "generate": {"count": 6, "durations": "fixed:2", "seed": 4, "failure_rate": 0.5},
            },
        ) as resp:
            created = (await resp.json())["tasks"]
        assert len(created) == 7
        assert created[-1] == {**created[-1], "dataset_id": "ds-a", "outcome": "failed"}
        assert Counter(t["kind"] for t in created[:6]) == {
            "sync": 2,
            "export": 2,
            "dataset_task": 2,
        }
        async with http.get(f"{sim.url}/v2/{sim.project_id}/datasets/ds-a/sync-data/status"):
            pass
        async with http.get(f"{sim.url}/_sim/truth") as resp:
            truth = await resp.json()
        assert len(truth["tasks"]) == 7
        assert truth["tasks"] == sim.truth()
        async with http.get(f"{sim.url}/_sim/stats") as resp:
            stats = await resp.json()
        assert stats["requests"] == 1
        assert stats["by_status"] == {"200": 1}
        assert stats["tasks_polled"] == 1
        assert sum(stats["per_second_all"].values()) == stats["requests_all"] == 1
        async with http.put(f"{sim.url}/_sim/faults", json={"server_error": 1.0}) as resp:
            assert (await resp.json())["total"] == 1.0
        assert sim.state.faults == Faults(server_error=1.0)
        async with http.post(f"{sim.url}/_sim/reset") as resp:
            assert resp.status == 200
        assert sim.truth() == []
        assert sim.counters.requests == 0


# -- authentication ---------------------------------------------------------------------


async def test_token_mode_accepts_known_tokens_and_refuses_others() -> None:
    config = SimulatorConfig(
        auth="token", tokens=frozenset({"good-token"}), projects=frozenset({"p1"})
    )
    async with Simulator(config, project_id="p1") as sim:
        sim.add("dataset_task", task_id="t1")
        async with _client(sim, TokenAuth("good-token")) as client:
            assert (await client.get_dataset_task_status("t1")).status == "PENDING"
            with pytest.raises(Forbidden):
                await client.get_dataset_task_status("t1", project_id="p2")
        async with _client(sim, TokenAuth("bad-token")) as client:
            with pytest.raises(Unauthorized) as info:
                await client.get_dataset_task_status("t1")
            assert info.value.status == 401
        # A signed request is not a token: refused in token mode.
        async with _client(sim, AkSkAuth("AK1", "SK1")) as client:
            with pytest.raises(Unauthorized):
                await client.get_dataset_task_status("t1")


async def test_aksk_mode_checks_signature_key_and_date() -> None:
    config = SimulatorConfig(auth="aksk", access_keys={"AK1": "SK1"})
    async with Simulator(config) as sim:
        sim.add("export", dataset_id="ds", task_id="e1")
        async with _client(sim, AkSkAuth("AK1", "SK1")) as client:
            assert (await client.get_export_task_status("ds", "e1")).task_id == "e1"
            # POST bodies are signed too
            assert await client.create_export_task("ds", path="/b/o/")
        for auth in (
            AkSkAuth("AK1", "wrong"),
            AkSkAuth("AK2", "SK1"),
            AkSkAuth("AK1", "SK1", clock=lambda: datetime.now(UTC) - timedelta(hours=1)),
            TokenAuth("some-token"),
        ):
            async with _client(sim, auth) as client:
                with pytest.raises(Unauthorized):
                    await client.get_export_task_status("ds", "e1")


async def test_either_mode_takes_tokens_and_signatures() -> None:
    config = SimulatorConfig(auth="either", tokens=frozenset({"tk"}), access_keys={"AK1": "SK1"})
    async with Simulator(config) as sim:
        sim.add("dataset_task", task_id="t1")
        for auth in (TokenAuth("tk"), AkSkAuth("AK1", "SK1", security_token="sts")):
            async with _client(sim, auth) as client:
                await client.get_dataset_task_status("t1")


async def test_iam_password_tokens_are_issued_checked_and_renewed_after_expiry() -> None:
    clk = ManualClock()
    config = SimulatorConfig(auth="token", users={"alice": "pw-1"}, token_lifetime=3600)
    async with Simulator(config, clock=clk, wall=clk.wall) as sim:
        sim.add("dataset_task", task_id="t1")
        auth = IamTokenAuth(
            user_name="alice",
            password="pw-1",
            domain_name="dom",
            project_id=sim.project_id,
            iam_endpoint=sim.url,
        )
        async with _client(sim, auth) as client:
            await client.get_dataset_task_status("t1")
            assert auth.refresh_count == 1
            clk.t = 7200.0  # the simulator now considers the token expired: 401, renew
            await client.get_dataset_task_status("t1")
            assert auth.refresh_count == 2
        wrong = IamTokenAuth(
            user_name="alice",
            password="nope",
            domain_name="dom",
            project_id="p",
            iam_endpoint=sim.url,
        )
        with pytest.raises(Unauthorized):
            await wrong.token()
        async with (
            aiohttp.ClientSession() as http,
            http.post(f"{sim.url}/v3/auth/tokens", data=b"[]") as resp,
        ):
            assert resp.status == 400


# -- faults -----------------------------------------------------------------------------

FAULT_ERRORS: list[tuple[str, type[Exception]]] = [
    ("server_error", ServerError),
    ("reset", ConnectionFailed),
    ("rate_limited", RateLimited),
    ("garbage", ProtocolError),
    ("wrong_types", ParseError),
]


@pytest.mark.parametrize(("fault", "error"), FAULT_ERRORS)
async def test_each_fault_maps_to_its_client_error(fault: str, error: type[Exception]) -> None:
    faults = Faults(**{fault: 1.0}, retry_after=0.25)
    async with Simulator(SimulatorConfig(faults=faults, seed=3)) as sim:
        sim.add("sync", dataset_id="ds")
        async with _client(sim) as client:
            for _ in range(3):
                with pytest.raises(error) as info:
                    await client.get_sync_status("ds")
                assert type(info.value) is error
                if fault == "rate_limited":
                    assert info.value.retry_after == 0.25  # type: ignore[attr-defined]
        assert sim.counters.by_fault[fault] >= 3


async def test_stall_becomes_a_request_timeout_and_close_ends_it() -> None:
    faults = Faults(stall=1.0, stall_seconds=30.0)
    async with Simulator(SimulatorConfig(faults=faults)) as sim:
        sim.add("sync", dataset_id="ds")
        async with _client(sim, timeout=0.2) as client:
            loop = asyncio.get_running_loop()
            started = loop.time()
            with pytest.raises(RequestTimeout):
                await client.get_sync_status("ds")
            assert loop.time() - started < 5.0
            # The abandoned request stops counting as in flight once the connection closes,
            # not 30 s later when the stall would have ended.
            for _ in range(200):
                if sim.counters.in_flight == 0:
                    break
                await asyncio.sleep(0.01)
            assert sim.counters.in_flight == 0
    # leaving the simulator returned at once although a 30 s stall was under way


async def test_a_bounded_stall_answers_late() -> None:
    faults = Faults(stall=1.0, stall_seconds=0.1)
    async with Simulator(SimulatorConfig(faults=faults)) as sim:
        sim.add("sync", dataset_id="ds")
        async with _client(sim, timeout=5.0) as client:
            loop = asyncio.get_running_loop()
            started = loop.time()
            assert (await client.get_sync_status("ds")).dataset_id == "ds"
            assert loop.time() - started >= 0.09
        assert sim.counters.by_fault["stall"] == 1


async def test_fault_probabilities_hold_over_many_requests() -> None:
    n = 2000
    faults = Faults.uniform(0.3, stall_seconds=0.0, retry_after=0.0)
    async with Simulator(SimulatorConfig(faults=faults, seed=42)) as sim:
        sim.add("sync", dataset_id="ds")
        errors: Counter[str] = Counter()
        sem = asyncio.Semaphore(16)
        async with _client(sim) as client:

            async def one() -> None:
                async with sem:
                    try:
                        await client.get_sync_status("ds")
                        errors["ok"] += 1
                    except Exception as exc:
                        errors[type(exc).__name__] += 1

            await asyncio.gather(*(one() for _ in range(n)))
        c = sim.counters
    # aiohttp repeats a GET once when a reused connection drops, so the server may see a
    # few more requests than the client made; the draws are per server request.
    total = c.requests
    assert n <= total <= n + c.by_fault["reset"]
    p = 0.05
    sd = (total * p * (1 - p)) ** 0.5
    for name in ("server_error", "reset", "stall", "rate_limited", "garbage", "wrong_types"):
        assert abs(c.by_fault[name] - total * p) < 5 * sd, (name, c.by_fault[name], total)
    # what the client saw matches what the server did
    assert errors["ServerError"] == c.by_fault["server_error"]
    assert errors["RateLimited"] == c.by_fault["rate_limited"]
    assert errors["ProtocolError"] == c.by_fault["garbage"]
    assert errors["ParseError"] == c.by_fault["wrong_types"]
    assert 0 < errors["ConnectionFailed"] <= c.by_fault["reset"]
    assert "RequestTimeout" not in errors  # zero-second stalls answer normally
    assert sum(errors.values()) == n


async def test_rate_limit_is_the_older_name_of_a_per_second_quota() -> None:
    clk = ManualClock()
    config = SimulatorConfig(rate_limit=100, seed=1)
    assert config.effective_quota == 100
    async with Simulator(config, clock=clk, wall=clk.wall) as sim:
        sim.add("sync", dataset_id="ds")
        async with _client(sim) as client:
            for _ in range(100):
                await client.get_sync_status("ds")
            with pytest.raises(RateLimited) as info:
                await client.get_sync_status("ds")
            assert info.value.error_code == "APIGW.0308"
            assert info.value.retry_after == 1
            # Over ten simulated seconds, no second admits more than the limit.
            ok: Counter[int] = Counter()
            for step in range(100, 1100):
                clk.t = step * 0.01 + 0.001
                try:
                    await client.get_sync_status("ds")
                    ok[int(clk.t)] += 1
                except RateLimited:
                    pass
        assert max(ok.values()) <= 100
        assert sum(ok.values()) == 1000
        assert max(sim.counters.per_second_all.values()) <= 100
        assert sim.counters.by_fault["server_rate_limit"] == 1
        assert sim.counters.by_status[429] == sim.counters.by_fault["server_rate_limit"]


# -- counters ---------------------------------------------------------------------------


async def test_counters_per_second_status_and_task(
    manual: tuple[Simulator, ManualClock],
) -> None:
    sim, clk = manual
    a = sim.add("dataset_task", task_id="a")
    b = sim.add("export", dataset_id="ds", task_id="b")
    async with _client(sim) as client:
        for _ in range(3):
            await client.get_dataset_task_status("a")
        clk.t = 1.0
        await client.get_export_task_status("ds", "b")
        with pytest.raises(PermanentError):
            await client.get_dataset_task_status("zzz")
    c = sim.counters
    assert c.requests == 5
    assert c.per_second == {int(WALL0): 3, int(WALL0) + 1: 2}
    assert c.by_status == {200: 4, 400: 1}
    assert c.per_task[a.key()] == 3
    assert c.per_task[b.key()] == 1
    assert c.per_task[("dataset_task", sim.project_id, "zzz")] == 1
    snap = c.snapshot()
    assert snap["max_per_second"] == 3
    assert snap["tasks_polled"] == 3


async def test_counters_see_the_most_requests_in_flight() -> None:
    async with Simulator(SimulatorConfig(latency=0.2)) as sim:
        sim.add("dataset_task", task_id="a")
        async with _client(sim) as client:
            await asyncio.gather(*(client.get_dataset_task_status("a") for _ in range(10)))
        assert sim.counters.max_in_flight == 10
        assert sim.counters.in_flight == 0


def test_simulator_binds_loopback_only() -> None:
    with pytest.raises(InvalidArgumentError, match="loopback"):
        Simulator(host="0.0.0.0")
    assert "tokens" not in repr(SimulatorConfig(tokens=frozenset({"secret-token"})))
    assert "secret-token" not in repr(SimulatorConfig(tokens=frozenset({"secret-token"})))

"""The simulator's published error dialect and its advertised quota, over real 127.0.0.1
HTTP with plain aiohttp: every error code it answers, the X-Request-Id on every answer, the
X-ratelimit headers and the 429 past the quota; and a check that no code in its source is
missing from the published list below."""

from __future__ import annotations

import math
import re
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import aiohttp
import pytest

from modelarts_poller import InvalidArgumentError
from modelarts_poller.simulator import Faults, Simulator, SimulatorConfig

WALL0 = 1_700_000_000.0
P = "sim-project"

# Every code the simulator may answer, with its published HTTP status (ModelArts error-code
# table, the API gateway's authentication and throttling pages, IAM's error table).
PUBLISHED = {
    "APIGW.0301": 401,
    "APIGW.0308": 429,
    "ModelArts.0201": 401,
    "ModelArts.0202": 401,
    "ModelArts.0203": 401,
    "ModelArts.0210": 403,
    "ModelArts.0010": 500,
    "ModelArts.4302": 503,
    "ModelArts.0104": 400,
    "ModelArts.4384": 400,
    "ModelArts.4358": 400,
    "ModelArts.4355": 400,
    "ModelArts.4356": 400,
    "ModelArts.4370": 400,
    "ModelArts.4352": 400,
    "ModelArts.4353": 400,
    "ModelArts.4359": 400,
    "ModelArts.4612": 400,
    "ModelArts.2775": 400,
    "ModelArts.3001": 404,
    "ModelArts.3502": 404,
    # the new kinds: pool not found, training job not terminable, the generic "resource
    # not exists" (dev servers and workflow executions publish no code of their own), and
    # the notebook instance table
    "ModelArts.2890": 404,
    "ModelArts.2796": 409,
    "ModelArts.4338": 400,
    "ModelArts.6305": 400,
    "ModelArts.6306": 400,
    "ModelArts.6307": 400,
    "ModelArts.6308": 400,
    "ModelArts.6309": 400,
    "IAM.0007": 400,
    # task failure codes, carried in status bodies (their HTTP status is never sent)
    "ModelArts.4311": 400,
    "ModelArts.4312": 400,
    "ModelArts.4360": 500,
    "ModelArts.4392": 400,
    "ModelArts.4614": 500,
}
SOURCE = Path(__file__).resolve().parents[2] / "src" / "modelarts_poller" / "simulator"


class ManualClock:
    def __init__(self, t: float = 0.0) -> None:
        self.t = t

    def __call__(self) -> float:
        return self.t

    def wall(self) -> float:
        return WALL0 + self.t


async def _call(
    http: aiohttp.ClientSession, method: str, path: str, **kw: Any
) -> tuple[int, Any, Any]:
    async with http.request(method, path, **kw) as resp:
        return resp.status, resp.headers, await resp.json(content_type=None)


def test_no_code_in_the_simulator_is_unpublished() -> None:
    found = set()
    for path in SOURCE.glob("*.py"):
        found |= set(re.findall(r"\b(?:ModelArts|APIGW|APIG|IAM)\.\d{4}\b", path.read_text()))
    assert found  # the pattern matches something
    assert found <= set(PUBLISHED), sorted(found - set(PUBLISHED))


# -- authentication --------------------------------------------------------------------------


@pytest.fixture
async def token_sim() -> AsyncIterator[tuple[Simulator, ManualClock, aiohttp.ClientSession]]:
    clk = ManualClock()
    config = SimulatorConfig(
        auth="token",
        tokens=frozenset({"good"}),
        users={"alice": "pw"},
        token_lifetime=60,
        projects=frozenset({P}),
    )
    async with (
        Simulator(config, clock=clk, wall=clk.wall) as sim,
        aiohttp.ClientSession(base_url=sim.url) as http,
    ):
        sim.add("sync", dataset_id="ds")
        yield sim, clk, http


async def test_token_refusals(
    token_sim: tuple[Simulator, ManualClock, aiohttp.ClientSession],
) -> None:
    _, clk, http = token_sim
    url = f"/v2/{P}/datasets/ds/sync-data/status"
    cases: list[tuple[dict[str, str], str, str]] = [
        ({}, "ModelArts.0201", "Token doesn't exist."),
        ({"X-Auth-Token": "not a token!"}, "ModelArts.0203", "Invalid token."),
        (
            {"X-Auth-Token": "unknown-token"},
            "APIGW.0301",
            "Incorrect IAM authentication information: decrypt token fail",
        ),
        # a signed request is not a token
        ({"Authorization": "SDK-HMAC-SHA256 Access=AK"}, "ModelArts.0201", "Token doesn't exist."),
    ]
    for headers, code, msg in cases:
        status, resp_headers, body = await _call(http, "GET", url, headers=headers)
        assert (status, body["error_code"], body["error_msg"]) == (401, code, msg)
        if code.startswith("APIGW"):
            # the gateway puts its request ID in the body too
            assert body["request_id"] == resp_headers["X-Request-Id"]
    status, headers, _ = await _call(
        http,
        "POST",
        "/v3/auth/tokens",
        json={"auth": {"identity": {"password": {"user": {"name": "alice", "password": "pw"}}}}},
    )
    assert status == 201
    issued = {"X-Auth-Token": headers["X-Subject-Token"]}
    assert (await _call(http, "GET", url, headers=issued))[0] == 200
    clk.t = 61.0
    status, _, body = await _call(http, "GET", url, headers=issued)
    assert (status, body["error_code"]) == (401, "ModelArts.0202")
    status, _, body = await _call(
        http, "GET", "/v2/other/datasets/ds/sync-data/status", headers={"X-Auth-Token": "good"}
    )
    assert (status, body["error_code"]) == (403, "ModelArts.0210")
    assert body["error_msg"] == "The project id in the request URL does not match the token"


async def test_aksk_refusals_are_the_gateways() -> None:
    async with (
        Simulator(SimulatorConfig(auth="aksk", access_keys={"AK": "SK"})) as sim,
        aiohttp.ClientSession(base_url=sim.url) as http,
    ):
        sim.add("model", model_id="m1")
        for headers in ({}, {"X-Auth-Token": "t"}, {"Authorization": "SDK-HMAC-SHA256 nonsense"}):
            status, _, body = await _call(http, "GET", f"/v1/{P}/models/m1", headers=headers)
            assert (status, body["error_code"]) == (401, "APIGW.0301")
            assert body["error_msg"].endswith("verify aksk signature fail")
        # start calls check credentials the same way
        status, _, body = await _call(http, "POST", f"/v2/{P}/datasets/d/sync-data")
        assert (status, body["error_code"]) == (401, "APIGW.0301")


async def test_iam_errors_use_iams_own_shapes() -> None:
    async with (
        Simulator(SimulatorConfig(users={"alice": "pw"})) as sim,
        aiohttp.ClientSession(base_url=sim.url) as http,
    ):
        status, headers, body = await _call(http, "POST", "/v3/auth/tokens", data=b"[]")
        assert (status, body["error_code"]) == (400, "IAM.0007")
        assert headers["X-Request-Id"]
        wrong = {"auth": {"identity": {"password": {"user": {"name": "alice", "password": "x"}}}}}
        status, _, body = await _call(http, "POST", "/v3/auth/tokens", json=wrong)
        assert status == 401
        assert body["error"]["code"] == 401


# -- missing resources -------------------------------------------------------------------------


@pytest.fixture
async def plain() -> AsyncIterator[tuple[Simulator, aiohttp.ClientSession]]:
    async with (
        Simulator(SimulatorConfig(seed=4)) as sim,
        aiohttp.ClientSession(base_url=sim.url) as http,
    ):
        sim.add("sync", dataset_id="known")
        yield sim, http


@pytest.mark.parametrize(
    ("path", "status", "code"),
    [
        ("/v2/{p}/datasets/known/export-tasks/nope", 400, "ModelArts.4359"),
        ("/v2/{p}/datasets/known/versions/nope", 400, "ModelArts.4353"),
        ("/v2/{p}/datasets/known/import-tasks/nope", 400, "ModelArts.4612"),
        ("/v2/{p}/datasets/known/tasks/nope", 400, "ModelArts.4612"),
        ("/v2/{p}/processor-tasks/nope", 400, "ModelArts.4612"),
        ("/v1/{p}/datasets/task/nope", 400, "ModelArts.4612"),
        ("/v2/{p}/training-jobs/nope", 400, "ModelArts.2775"),
        ("/v1/{p}/models/nope", 404, "ModelArts.3001"),
        ("/v1/{p}/services/nope", 404, "ModelArts.3502"),
        ("/v2/{p}/services/nope", 404, "ModelArts.3502"),
        ("/v1/{p}/notebooks/nope", 400, "ModelArts.6309"),
        ("/v1/{p}/dev-servers/nope", 400, "ModelArts.4338"),
        ("/v2/{p}/pools/nope", 404, "ModelArts.2890"),
        ("/v2/{p}/workflows/wf/executions/nope", 400, "ModelArts.4338"),
        ("/v2/{p}/datasets/gone", 400, "ModelArts.4352"),
        ("/v2/{p}/datasets/gone/sync-data/status", 400, "ModelArts.4352"),
        ("/v2/{p}/datasets/gone/export-tasks/nope", 400, "ModelArts.4352"),
        ("/v2/{p}/datasets/gone/versions/nope", 400, "ModelArts.4352"),
        ("/v2/{p}/datasets/gone/import-tasks/nope", 400, "ModelArts.4352"),
        ("/v2/{p}/datasets/gone/tasks/nope", 400, "ModelArts.4352"),
    ],
)
async def test_missing_resources_answer_their_published_code(
    plain: tuple[Simulator, aiohttp.ClientSession], path: str, status: int, code: str
) -> None:
    _, http = plain
    got, headers, body = await _call(http, "GET", path.format(p=P))
    assert (got, body["error_code"]) == (status, code)
    assert PUBLISHED[code] == status
    v1 = path.startswith(("/v1/{p}/models", "/v1/{p}/services"))
    # The v1 model and service APIs publish {"is_success": false, ..., "error_message"}.
    msg = body["error_message"] if v1 else body["error_msg"]
    assert body.get("is_success", True) is not v1
    assert msg
    assert "nope" in msg or code not in ("ModelArts.2775", "ModelArts.3001")
    assert headers["X-Request-Id"]


async def test_a_known_dataset_without_a_script_is_idle_and_never_synced(
    plain: tuple[Simulator, aiohttp.ClientSession],
) -> None:
    sim, http = plain
    sim.add("export", dataset_id="other")
    status, _, body = await _call(http, "GET", f"/v2/{P}/datasets/other")
    assert (status, body["status"], body["dataset_id"]) == (200, 1, "other")
    status, _, body = await _call(http, "GET", f"/v2/{P}/datasets/other/sync-data/status")
    assert (status, body["status"]) == (200, "NOT_EXIST")


# -- faults and request IDs ------------------------------------------------------------------


async def test_server_faults_use_published_codes() -> None:
    config = SimulatorConfig(faults=Faults(server_error=1.0), seed=5)
    async with Simulator(config) as sim, aiohttp.ClientSession(base_url=sim.url) as http:
        sim.add("service", service_id="s1")
        seen = set()
        for _ in range(40):
            status, _, body = await _call(http, "GET", f"/v1/{P}/services/s1")
            seen.add((status, body["error_code"]))
        assert seen == {(500, "ModelArts.0010"), (503, "ModelArts.4302")}


async def test_injected_429_is_the_gateways_throttle() -> None:
    faults = Faults(rate_limited=1.0, retry_after=2.5)
    async with (
        Simulator(SimulatorConfig(faults=faults, quota=50)) as sim,
        aiohttp.ClientSession(base_url=sim.url) as http,
    ):
        sim.add("training_job", training_job_id="j1")
        status, headers, body = await _call(http, "GET", f"/v2/{P}/training-jobs/j1")
        assert (status, body["error_code"]) == (429, "APIGW.0308")
        assert body["error_msg"] == (
            "The throttling threshold has been reached: "
            "policy user over ratelimit,limit:50,time:1 second"
        )
        assert headers["Retry-After"] == "2.5"


async def test_every_answer_carries_a_unique_request_id(
    plain: tuple[Simulator, aiohttp.ClientSession],
) -> None:
    _, http = plain
    ids = []
    for method, path in [
        ("GET", f"/v2/{P}/datasets/known/sync-data/status"),  # 200
        ("GET", f"/v1/{P}/models/nope"),  # 404
        ("POST", f"/v2/{P}/datasets/known/export-tasks"),  # 400
        ("POST", f"/v2/{P}/datasets/new/versions"),  # 201
        ("GET", "/_sim/stats"),
        ("GET", "/no/such/route"),  # aiohttp's own 404
    ]:
        async with http.request(method, path) as resp:
            ids.append(resp.headers["X-Request-Id"])
    assert all(ids)
    assert len(set(ids)) == len(ids)


# -- quota -----------------------------------------------------------------------------------


async def test_quota_is_advertised_and_enforced_per_project() -> None:
    clk = ManualClock(0.3)
    async with (
        Simulator(SimulatorConfig(quota=3), clock=clk, wall=clk.wall) as sim,
        aiohttp.ClientSession(base_url=sim.url) as http,
    ):
        sim.add("model", model_id="m")
        url = f"/v1/{P}/models/m"
        left = []
        for _ in range(3):
            status, headers, _ = await _call(http, "GET", url)
            assert status == 200
            assert (headers["X-ratelimit"], headers["X-ratelimit-window"]) == ("3", "second")
            left.append(headers["X-ratelimit-used"])  # documented as the remaining count
        assert left == ["2", "1", "0"]
        status, headers, body = await _call(http, "GET", url)
        assert (status, body["error_code"]) == (429, "APIGW.0308")
        assert "limit:3,time:1 second" in body["error_msg"]
        assert headers["Retry-After"] == "1"  # 0.7 s until the window frees
        assert headers["X-ratelimit-used"] == "0"
        # Start and list calls count too; another project has its own quota.
        status, _, body = await _call(http, "GET", f"/v2/{P}/datasets/d/export-tasks")
        assert (status, body["error_code"]) == (429, "APIGW.0308")
        status, headers, _ = await _call(http, "GET", "/v1/other/models/m")
        assert (status, headers["X-ratelimit-used"]) == (404, "2")
        clk.t = 1.0  # a new window
        status, headers, _ = await _call(http, "GET", url)
        assert (status, headers["X-ratelimit-used"]) == (200, "2")
        assert sim.counters.by_fault["server_rate_limit"] == 2


async def test_quota_over_time_never_exceeds_any_window() -> None:
    clk = ManualClock()
    async with (
        Simulator(SimulatorConfig(quota=20), clock=clk, wall=clk.wall) as sim,
        aiohttp.ClientSession(base_url=sim.url) as http,
    ):
        sim.add("sync", dataset_id="ds")
        admitted = 0
        for step in range(300):  # 3 simulated seconds, a request every 10 ms
            clk.t = step * 0.01
            path = (
                f"/v2/{P}/datasets/ds/sync-data/status"
                if step % 3
                else f"/v2/{P}/datasets/ds/import-tasks"
            )
            status, _, _ = await _call(http, "GET", path)
            admitted += status == 200
        assert admitted == 60
        assert max(sim.counters.per_second_all.values()) == 20
        assert sim.counters.snapshot()["max_per_second_all"] == 20


async def test_quota_window_units_and_retry_after() -> None:
    clk = ManualClock(10.0)
    config = SimulatorConfig(quota=1, quota_window="minute")
    async with (
        Simulator(config, clock=clk, wall=clk.wall) as sim,
        aiohttp.ClientSession(base_url=sim.url) as http,
    ):
        sim.add("service", service_id="s")
        status, headers, _ = await _call(http, "GET", f"/v1/{P}/services/s")
        assert (status, headers["X-ratelimit-window"]) == (200, "minute")
        status, headers, body = await _call(http, "GET", f"/v1/{P}/services/s")
        assert status == 429
        window_left = 60 - math.fmod(WALL0 + 10.0, 60)
        assert int(headers["Retry-After"]) == math.ceil(window_left)
        assert body["error_msg"].endswith("limit:1,time:1 minute")


async def test_refused_credentials_still_advertise_the_quota() -> None:
    config = SimulatorConfig(auth="token", tokens=frozenset({"t"}), quota=9)
    async with Simulator(config) as sim, aiohttp.ClientSession(base_url=sim.url) as http:
        status, headers, _ = await _call(http, "GET", f"/v1/{P}/models/m")
        assert status == 401
        assert (headers["X-ratelimit"], headers["X-ratelimit-used"]) == ("9", "9")
        status, headers, _ = await _call(http, "GET", "/_sim/stats")
        assert "X-ratelimit" not in headers  # not a ModelArts answer


async def test_no_quota_no_headers() -> None:
    async with Simulator() as sim, aiohttp.ClientSession(base_url=sim.url) as http:
        sim.add("model", model_id="m")
        _, headers, _ = await _call(http, "GET", f"/v1/{P}/models/m")
        assert "X-ratelimit" not in headers


@pytest.mark.parametrize(
    ("kw", "names"),
    [
        ({"quota": 0}, "quota"),
        ({"quota": 2.5}, "quota"),
        ({"quota": True}, "quota"),
        ({"quota": 5, "rate_limit": 5}, "not both"),
        ({"rate_limit": 0.5}, "rate_limit"),
        ({"quota": 5, "quota_window": "week"}, "quota_window"),
        ({"version_interval": -1}, "version_interval"),
    ],
)
def test_config_names_its_bad_argument(kw: dict[str, Any], names: str) -> None:
    with pytest.raises(InvalidArgumentError, match=names):
        SimulatorConfig(**kw)


def test_simulate_command_takes_quota_and_kinds() -> None:
    import argparse

    from modelarts_poller.simulator import add_simulate_arguments, config_from_args
    from modelarts_poller.simulator._cli import kinds_from_arg

    parser = argparse.ArgumentParser()
    add_simulate_arguments(parser)
    args = parser.parse_args(
        ["--quota", "30", "--quota-window", "minute", "--kinds", "model,service"]
    )
    config = config_from_args(args)
    assert (config.quota, config.quota_window, config.effective_quota) == (30, "minute", 30)
    assert kinds_from_arg(args.kinds) == ("model", "service")
    with pytest.raises(InvalidArgumentError, match="--kinds"):
        kinds_from_arg("model,jupyter")
    legacy = config_from_args(parser.parse_args(["--rate-limit", "12"]))
    assert legacy.effective_quota == 12

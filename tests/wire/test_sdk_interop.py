"""A client from what a user of the official SDK has: its ``BasicCredentials`` or its
environment variables, with the project looked up through IAM (on the simulator, which
checks the AK/SK signature of every request) when none is given."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import aiohttp
import pytest
from huaweicloudsdkcore.auth.credentials import BasicCredentials
from huaweicloudsdkcore.auth.internal import IamHelper
from huaweicloudsdkcore.http.http_config import HttpConfig

from modelarts_poller import (
    AkSkAuth,
    InvalidArgumentError,
    ResourcePool,
    Unauthorized,
    auth_from_environment,
    auth_from_sdk,
    client_from_sdk,
    lookup_project_id,
)
from modelarts_poller.simulator import Simulator, SimulatorConfig

AK, SK = "AKSIMULATOR0001", "sk-simulator-secret-0001"
REGION = "cn-north-4"


@pytest.fixture
async def sim() -> AsyncIterator[Simulator]:
    config = SimulatorConfig(
        auth="aksk", access_keys={AK: SK}, region_projects={REGION: "sim-project"}, seed=1
    )
    async with Simulator(config) as s:
        yield s


def _sent() -> tuple[aiohttp.TraceConfig, list[tuple[str, str, dict[str, str]]]]:
    sent: list[tuple[str, str, dict[str, str]]] = []
    trace = aiohttp.TraceConfig()

    async def start(_s: Any, _c: Any, p: aiohttp.TraceRequestStartParams) -> None:
        sent.append((p.method, p.url.path, dict(p.url.query)))

    trace.on_request_start.append(start)
    return trace, sent


async def test_sdk_credentials_without_a_project_look_it_up_as_the_sdk_does(
    sim: Simulator,
) -> None:
    pool = sim.add("pool", queue=0, run=1000).ids[0]
    trace, sent = _sent()
    async with aiohttp.ClientSession(trace_configs=[trace]) as session:
        client = await client_from_sdk(
            BasicCredentials(AK, SK), region=REGION, endpoint=sim.url, iam_endpoint=sim.url,
            session=session,
        )  # fmt: skip
        async with client:
            assert client.project_id == "sim-project"
            status = await client.get_task(ResourcePool(pool))
    assert status.status == "Creating"
    # The lookup is the request the SDK's own IamHelper builds.
    sdk = IamHelper.get_keystone_list_projects_request(HttpConfig(), sim.url, REGION)
    assert sent[0] == (sdk.method, sdk.resource_path, dict(sdk.query_params))


async def test_a_project_in_the_credentials_is_used_without_asking_iam(sim: Simulator) -> None:
    pool = sim.add("pool").ids[0]
    client = await client_from_sdk(
        BasicCredentials(AK, SK, "sim-project"), region=REGION, endpoint=sim.url,
        iam_endpoint="http://127.0.0.1:9",  # nothing listens there: asking would fail
    )  # fmt: skip
    async with client:
        assert (await client.get_task(ResourcePool(pool))).pool_name == pool


async def test_the_sdk_environment_variables_make_a_client(sim: Simulator) -> None:
    pool = sim.add("pool").ids[0]
    env = {
        "HUAWEICLOUD_SDK_AK": AK,
        "HUAWEICLOUD_SDK_SK": SK,
        "HUAWEICLOUD_SDK_IAM_ENDPOINT": sim.url,
    }
    client = await client_from_sdk(region=REGION, endpoint=sim.url, environ=env)
    async with client:
        assert client.project_id == "sim-project"
        assert (await client.get_task(ResourcePool(pool))).pool_name == pool
    env["HUAWEICLOUD_SDK_PROJECT_ID"] = "other-project"
    client = await client_from_sdk(region=REGION, endpoint=sim.url, environ=env)
    assert client.project_id == "other-project"


def test_auth_from_the_sdk_objects_and_environment() -> None:
    auth = auth_from_sdk(BasicCredentials(AK, SK))
    assert isinstance(auth, AkSkAuth)
    assert auth.access_key == AK
    temporary = BasicCredentials(AK, SK).with_security_token("tok-1")
    assert "security_token=***" in repr(auth_from_sdk(temporary))
    assert (
        auth_from_environment({"HUAWEICLOUD_SDK_AK": AK, "HUAWEICLOUD_SDK_SK": SK}).access_key == AK
    )
    with pytest.raises(InvalidArgumentError, match="HUAWEICLOUD_SDK_AK"):
        auth_from_environment({"HUAWEICLOUD_SDK_AK": AK})
    with pytest.raises(InvalidArgumentError, match="ak, sk"):
        auth_from_sdk(object())


async def test_a_region_iam_does_not_know_and_wrong_keys_are_refused(sim: Simulator) -> None:
    with pytest.raises(InvalidArgumentError, match="no project named 'ap-nowhere-1'"):
        await lookup_project_id(AkSkAuth(AK, SK), "ap-nowhere-1", iam_endpoint=sim.url)
    with pytest.raises(Unauthorized):
        await lookup_project_id(AkSkAuth(AK, "wrong-secret"), REGION, iam_endpoint=sim.url)
    with pytest.raises(InvalidArgumentError, match="region"):
        await client_from_sdk(BasicCredentials(AK, SK), endpoint=sim.url)

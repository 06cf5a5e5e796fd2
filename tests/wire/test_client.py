"""ModelArtsClient: paths, statuses, errors, 401 renewal, sessions, secrets; one real-HTTP test."""

from __future__ import annotations

import asyncio
import json
import logging
import math
from collections.abc import AsyncIterator, Mapping
from datetime import UTC, datetime
from email.utils import format_datetime
from typing import Any

import aiohttp
import pytest
from aiohttp import web
from yarl import URL

from modelarts_poller import ExportTask, SyncTask
from modelarts_poller._auth import AkSkAuth, IamTokenAuth, TokenAuth
from modelarts_poller._client import ModelArtsClient
from modelarts_poller._errors import (
    BadRequest,
    ConnectionFailed,
    Forbidden,
    InvalidArgumentError,
    NotFound,
    ParseError,
    ProtocolError,
    RateLimited,
    RequestTimeout,
    ServerError,
    Unauthorized,
)
from modelarts_poller._signer import check_signature
from tests.aioresponses_compat import Result, mock_http

BASE = "http://modelarts.test"
TOKEN = "iam-token-never-shown"
SYNC = f"{BASE}/v2/p1/datasets/ds1/sync-data/status"
EXPORT = f"{BASE}/v2/p1/datasets/ds1/export-tasks/t1"
DTASK = f"{BASE}/v1/p1/datasets/task/t1"
SYNC_BODY = {"status": "RUNNING", "dataset_id": "ds1"}
EXPORT_BODY = {
    "task_id": "t1",
    "path": "/test-obs/out/",
    "export_type": 3,
    "status": "RUNNING",
    "progress": 40.0,
    "create_time": 1606103424662,
}
DTASK_BODY = {"status": "RUNNING"}
WALL = 1_700_000_000.0


@pytest.fixture
def mocked() -> Any:
    with mock_http() as m:
        yield m


@pytest.fixture
async def client() -> AsyncIterator[ModelArtsClient]:
    async with ModelArtsClient(
        project_id="p1", auth=TokenAuth(TOKEN), endpoint=BASE, wall_clock=lambda: WALL
    ) as c:
        yield c


def _calls(mocked: Any) -> list[tuple[str, str, Mapping[str, str]]]:
    return [
        (method, str(url), call.kwargs["headers"])
        for (method, url), calls in mocked.requests.items()
        for call in calls
    ]


# --- happy paths -------------------------------------------------------------------------


async def test_get_sync_status(client: ModelArtsClient, mocked: Any) -> None:
    mocked.get(SYNC, payload=SYNC_BODY)
    status = await client.get_sync_status("ds1")
    assert status.status == "RUNNING"
    [(method, url, headers)] = _calls(mocked)
    assert (method, url) == ("GET", SYNC)
    assert headers["X-Auth-Token"] == TOKEN
    assert headers["X-Project-Id"] == "p1"
    assert headers["User-Agent"].startswith("modelarts-poller/")


async def test_get_export_task_status(client: ModelArtsClient, mocked: Any) -> None:
    mocked.get(EXPORT, payload=EXPORT_BODY)
    status = await client.get_export_task_status("ds1", "t1")
    assert status.status == "RUNNING"
    assert [c[:2] for c in _calls(mocked)] == [("GET", EXPORT)]


async def test_get_dataset_task_status(client: ModelArtsClient, mocked: Any) -> None:
    mocked.get(DTASK, payload=DTASK_BODY)
    status = await client.get_dataset_task_status("t1")
    assert status.status == "RUNNING"
    assert [c[:2] for c in _calls(mocked)] == [("GET", DTASK)]


async def test_project_id_override(client: ModelArtsClient, mocked: Any) -> None:
    url = f"{BASE}/v2/other/datasets/ds1/sync-data/status"
    mocked.get(url, payload=SYNC_BODY)
    await client.get_sync_status("ds1", project_id="other")
    [(_, sent_url, headers)] = _calls(mocked)
    assert sent_url == url
    assert headers["X-Project-Id"] == "other"


async def test_ids_with_reserved_characters_are_percent_encoded(
    client: ModelArtsClient, mocked: Any
) -> None:
    url = f"{BASE}/v2/p1/datasets/a%3Fb%23c%25d/sync-data/status"
    mocked.get(url, payload=SYNC_BODY)
    await client.get_sync_status("a?b#c%d")
    assert [c[1] for c in _calls(mocked)] == [url]


# --- statuses and bodies -----------------------------------------------------------------


@pytest.mark.parametrize(
    ("status", "cls"),
    [
        (400, BadRequest),
        (401, Unauthorized),
        (403, Forbidden),
        (404, NotFound),
        (409, BadRequest),
        (500, ServerError),
        (502, ServerError),
        (503, ServerError),
    ],
)
async def test_error_statuses(
    client: ModelArtsClient, mocked: Any, status: int, cls: type[Exception]
) -> None:
    mocked.get(
        SYNC,
        status=status,
        payload={"error_code": "ModelArts.0104", "error_msg": "Bad."},
    )
    with pytest.raises(cls) as info:
        await client.get_sync_status("ds1")
    err = info.value
    assert err.status == status  # type: ignore[attr-defined]
    assert err.error_code == "ModelArts.0104"  # type: ignore[attr-defined]
    assert "/v2/p1/datasets/ds1/sync-data/status" in str(err)
    assert TOKEN not in str(err)
    assert len(_calls(mocked)) == 1  # a static token cannot be renewed: no retry


async def test_429_retry_after_seconds(client: ModelArtsClient, mocked: Any) -> None:
    mocked.get(SYNC, status=429, headers={"Retry-After": "12"})
    with pytest.raises(RateLimited) as info:
        await client.get_sync_status("ds1")
    assert info.value.retry_after == 12.0


async def test_429_retry_after_http_date(client: ModelArtsClient, mocked: Any) -> None:
    date = format_datetime(datetime.fromtimestamp(WALL + 90, UTC), usegmt=True)
    mocked.get(SYNC, status=429, headers={"Retry-After": date})
    with pytest.raises(RateLimited) as info:
        await client.get_sync_status("ds1")
    assert info.value.retry_after == 90.0


async def test_429_garbage_retry_after(client: ModelArtsClient, mocked: Any) -> None:
    mocked.get(SYNC, status=429, headers={"Retry-After": "after lunch"})
    with pytest.raises(RateLimited) as info:
        await client.get_sync_status("ds1")
    assert info.value.retry_after is None


async def test_503_with_retry_after(client: ModelArtsClient, mocked: Any) -> None:
    mocked.get(SYNC, status=503, body="<html>busy</html>", headers={"Retry-After": "3"})
    with pytest.raises(ServerError) as info:
        await client.get_sync_status("ds1")
    assert info.value.retry_after == 3.0
    assert info.value.error_code is None


@pytest.mark.parametrize("body", [b"", b"<html>hello</html>", b'{"status": ', b"\xff\xfe"])
async def test_garbage_bodies_are_protocol_errors(
    client: ModelArtsClient, mocked: Any, body: bytes
) -> None:
    mocked.get(SYNC, body=body)
    with pytest.raises(ProtocolError) as info:
        await client.get_sync_status("ds1")
    assert not isinstance(info.value, ParseError)


@pytest.mark.parametrize("payload", [[1, 2], {"status": 5}, "RUNNING", None])
async def test_wrong_type_bodies_are_parse_errors(
    client: ModelArtsClient, mocked: Any, payload: object
) -> None:
    mocked.get(SYNC, body=json.dumps(payload))
    with pytest.raises(ParseError):
        await client.get_sync_status("ds1")


# --- transport failures ------------------------------------------------------------------


async def test_timeout_is_request_timeout(client: ModelArtsClient, mocked: Any) -> None:
    mocked.get(SYNC, exception=TimeoutError())
    with pytest.raises(RequestTimeout) as info:
        await client.get_sync_status("ds1")
    assert isinstance(info.value.__cause__, asyncio.TimeoutError)
    assert info.value.status is None


async def test_aiohttp_server_timeout_is_request_timeout(
    client: ModelArtsClient, mocked: Any
) -> None:
    mocked.get(SYNC, exception=aiohttp.ServerTimeoutError("read timeout"))
    with pytest.raises(RequestTimeout) as info:
        await client.get_sync_status("ds1")
    assert isinstance(info.value.__cause__, aiohttp.ServerTimeoutError)


@pytest.mark.parametrize(
    "exc",
    [
        aiohttp.ClientConnectionError("refused"),
        aiohttp.ServerDisconnectedError(),
        aiohttp.ClientPayloadError("truncated"),
        aiohttp.ClientOSError(104, "reset"),
    ],
)
async def test_connection_errors(
    client: ModelArtsClient, mocked: Any, exc: aiohttp.ClientError
) -> None:
    mocked.get(SYNC, exception=exc)
    with pytest.raises(ConnectionFailed) as info:
        await client.get_sync_status("ds1")
    assert info.value.__cause__ is exc
    assert TOKEN not in str(info.value)


async def test_real_refused_connection() -> None:
    # Port 1 on 127.0.0.1 is closed in any sane test environment.
    async with ModelArtsClient(
        project_id="p1", auth=TokenAuth(TOKEN), endpoint="http://127.0.0.1:1"
    ) as c:
        with pytest.raises(ConnectionFailed) as info:
            await c.get_sync_status("ds1")
    assert isinstance(info.value.__cause__, aiohttp.ClientConnectionError)


# --- 401 renewal -------------------------------------------------------------------------


class RenewingAuth:
    """Token ``v{n}``; a 401 for the current token bumps n. Counts renewals."""

    def __init__(self, can_renew: bool = True) -> None:
        self.version = 1
        self.renewals = 0
        self.can_renew = can_renew

    async def apply(self, method: str, url: str, headers: dict[str, str], body: bytes) -> None:
        headers["X-Auth-Token"] = f"v{self.version}"

    async def on_unauthorized(self, sent_headers: Mapping[str, str]) -> bool:
        if not self.can_renew:
            return False
        if sent_headers["X-Auth-Token"] == f"v{self.version}":
            self.version += 1
            self.renewals += 1
        return True

    def __repr__(self) -> str:
        return "RenewingAuth()"


async def test_401_renews_once_and_retries_once(mocked: Any) -> None:
    auth = RenewingAuth()
    mocked.get(SYNC, status=401)
    mocked.get(SYNC, payload=SYNC_BODY)
    async with ModelArtsClient(project_id="p1", auth=auth, endpoint=BASE) as c:
        status = await c.get_sync_status("ds1")
    assert status.status == "RUNNING"
    assert auth.renewals == 1
    assert [h["X-Auth-Token"] for _, _, h in _calls(mocked)] == ["v1", "v2"]


async def test_second_401_is_unauthorized(mocked: Any) -> None:
    auth = RenewingAuth()
    mocked.get(SYNC, status=401, repeat=True)
    async with ModelArtsClient(project_id="p1", auth=auth, endpoint=BASE) as c:
        with pytest.raises(Unauthorized):
            await c.get_sync_status("ds1")
    assert auth.renewals == 1
    assert len(_calls(mocked)) == 2


async def test_401_not_retried_when_auth_cannot_renew(mocked: Any) -> None:
    mocked.get(SYNC, status=401, repeat=True)
    async with ModelArtsClient(
        project_id="p1", auth=RenewingAuth(can_renew=False), endpoint=BASE
    ) as c:
        with pytest.raises(Unauthorized):
            await c.get_sync_status("ds1")
    assert len(_calls(mocked)) == 1


async def test_concurrent_401s_renew_the_iam_token_once(mocked: Any) -> None:
    iam_calls = 0

    def iam(url: URL, **kwargs: Any) -> Any:
        nonlocal iam_calls
        iam_calls += 1
        return Result(
            status=201,
            payload={"token": {"expires_at": "2999-01-01T00:00:00.000000Z"}},
            headers={"X-Subject-Token": f"iam-{iam_calls}"},
        )

    def modelarts(url: URL, **kwargs: Any) -> Any:
        if kwargs["headers"]["X-Auth-Token"] == "iam-1":
            return Result(status=401, payload={"error_code": "ModelArts.0001"})
        return Result(payload=SYNC_BODY)

    mocked.post("http://iam.test/v3/auth/tokens?nocatalog=true", callback=iam, repeat=True)
    mocked.get(SYNC, callback=modelarts, repeat=True)
    auth = IamTokenAuth(
        user_name="u",
        password="pw-never-shown",
        domain_name="d",
        project_id="p1",
        iam_endpoint="http://iam.test",
    )
    async with ModelArtsClient(project_id="p1", auth=auth, endpoint=BASE) as c:
        results = await asyncio.gather(*(c.get_sync_status("ds1") for _ in range(200)))
    assert all(r.status == "RUNNING" for r in results)
    assert iam_calls == 2  # the first token, and exactly one renewal
    assert auth.refresh_count == 2


# --- validation before any request -------------------------------------------------------


@pytest.mark.parametrize("bad", ["", "a/b", "..", "a b", "x\n", 5, None, "a\\b"])
async def test_invalid_ids_rejected_before_any_request(
    client: ModelArtsClient, mocked: Any, bad: Any
) -> None:
    with pytest.raises(InvalidArgumentError):
        await client.get_sync_status(bad)
    with pytest.raises(InvalidArgumentError):
        await client.get_export_task_status("ds1", bad)
    with pytest.raises(InvalidArgumentError):
        await client.get_export_task_status(bad, "t1")
    with pytest.raises(InvalidArgumentError):
        await client.get_dataset_task_status(bad)
    with pytest.raises(InvalidArgumentError):
        await client.start_sync(bad)
    with pytest.raises(InvalidArgumentError):
        await client.create_export_task(bad, path="/b/")
    if bad is not None:
        with pytest.raises(InvalidArgumentError):
            await client.get_sync_status("ds1", project_id=bad)
    assert mocked.requests == {}


@pytest.mark.parametrize(
    ("kw", "match"),
    [
        ({"path": ""}, "path"),
        ({"path": "/b/", "export_type": 7}, "export_type"),
        ({"path": "/b/", "version_id": "v/1"}, "version_id"),
        ({"path": "/b/", "extra": {"x": object()}}, "JSON"),
        ({"path": "/b/", "extra": {"x": math.nan}}, "JSON"),  # NaN is not JSON
        ({"path": "/b/", "extra": {"x": [math.inf]}}, "JSON"),
        ({"path": "/b/", "extra": [("x", 1)]}, "extra must be a mapping"),
        ({"path": "/b/", "extra": "x"}, "extra must be a mapping"),
        ({"path": "/b/", "extra": {1: 2}}, "extra keys must be str"),
    ],
)
async def test_export_task_arguments_checked_before_request(
    client: ModelArtsClient, mocked: Any, kw: dict[str, Any], match: str
) -> None:
    with pytest.raises(InvalidArgumentError, match=match):
        await client.create_export_task("ds1", **kw)
    assert mocked.requests == {}


@pytest.mark.parametrize(
    "start",
    [
        lambda c: c.create_import_task("ds1", import_path="/b/i/", extra={"x": math.nan}),
        lambda c: c.create_import_task("ds1", import_path="/b/i/", extra=5),
        lambda c: c.create_dataset_version("ds1", extra=["version_name"]),
        lambda c: c.start_intelligent_task("ds1", task_type="auto-label", config={"t": math.inf}),
        lambda c: c.start_intelligent_task("ds1", task_type="auto-label", config="fast"),
        lambda c: c.start_intelligent_task("ds1", task_type="auto-label", extra=("a", "b")),
    ],
)
async def test_start_calls_refuse_bodies_the_server_could_not_read(
    client: ModelArtsClient, mocked: Any, start: Any
) -> None:
    with pytest.raises(InvalidArgumentError, match=r"JSON|extra|config"):
        await start(client)
    assert mocked.requests == {}


# --- starting tasks ----------------------------------------------------------------------


async def test_start_sync(client: ModelArtsClient, mocked: Any) -> None:
    url = f"{BASE}/v2/p1/datasets/ds1/sync-data"
    mocked.post(url, status=200, body=b"")
    assert await client.start_sync("ds1") == SyncTask("ds1")
    [(method, sent_url, headers)] = _calls(mocked)
    assert (method, sent_url) == ("POST", url)
    assert "Content-Type" not in headers


async def test_start_sync_not_found(client: ModelArtsClient, mocked: Any) -> None:
    mocked.post(f"{BASE}/v2/p1/datasets/ds1/sync-data", status=404)
    with pytest.raises(NotFound, match="POST /v2/p1/datasets/ds1/sync-data"):
        await client.start_sync("ds1")


async def test_create_export_task(client: ModelArtsClient, mocked: Any) -> None:
    url = f"{BASE}/v2/p1/datasets/ds1/export-tasks"
    mocked.post(url, payload={"task_id": "new-task"})
    spec = await client.create_export_task(
        "ds1", path="/bucket/out/", export_type=2, extra={"export_params": {"export_dest": "DIR"}}
    )
    assert spec == ExportTask("ds1", "new-task")
    [call] = mocked.requests[("POST", URL(url))]
    assert json.loads(call.kwargs["data"]) == {
        "path": "/bucket/out/",
        "export_type": 2,
        "export_params": {"export_dest": "DIR"},
    }
    assert call.kwargs["headers"]["Content-Type"] == "application/json"


async def test_create_export_task_without_task_id(client: ModelArtsClient, mocked: Any) -> None:
    mocked.post(f"{BASE}/v2/p1/datasets/ds1/export-tasks", payload={"id": "x"})
    with pytest.raises(ParseError, match="task_id"):
        await client.create_export_task("ds1", path="/bucket/out/")


# --- sessions and construction -----------------------------------------------------------


async def test_owned_session_closed_on_exit(mocked: Any) -> None:
    c = ModelArtsClient(project_id="p1", auth=TokenAuth(TOKEN), endpoint=BASE)
    async with c:
        session = c._session
        assert session is not None
        assert not session.closed
    assert session.closed
    with pytest.raises(RuntimeError, match="closed"):
        await c.__aenter__()


async def test_borrowed_session_left_open(mocked: Any) -> None:
    mocked.get(SYNC, payload=SYNC_BODY)
    async with aiohttp.ClientSession() as session:
        async with ModelArtsClient(
            project_id="p1", auth=TokenAuth(TOKEN), endpoint=BASE, session=session
        ) as c:
            await c.get_sync_status("ds1")
        assert not session.closed
        await c.aclose()  # twice is fine, and still leaves it open
        assert not session.closed


async def test_use_before_open_is_an_error(mocked: Any) -> None:
    c = ModelArtsClient(project_id="p1", auth=TokenAuth(TOKEN), endpoint=BASE)
    with pytest.raises(RuntimeError, match="not open"):
        await c.get_sync_status("ds1")
    assert mocked.requests == {}


def test_region_gives_default_endpoint() -> None:
    c = ModelArtsClient(project_id="p1", auth=TokenAuth(TOKEN), region="cn-north-4")
    assert c.endpoint == "https://modelarts.cn-north-4.myhuaweicloud.com"
    assert ModelArtsClient(
        project_id="p1", auth=TokenAuth(TOKEN), endpoint="http://127.0.0.1:8080/"
    ).endpoint == ("http://127.0.0.1:8080")


@pytest.mark.parametrize(
    ("kw", "match"),
    [
        ({}, "region"),
        ({"region": "cn/north"}, "region"),
        ({"endpoint": "ftp://x"}, "endpoint"),
        ({"endpoint": "http://u:p@x"}, "user info"),
        ({"region": "r", "timeout": 0}, "timeout"),
        ({"region": "r", "connect_timeout": -1}, "connect_timeout"),
        ({"region": "r", "limit": -1}, "limit"),
        ({"region": "r", "user_agent": ""}, "user_agent"),
        ({"region": "r", "auth": object()}, "auth"),
        ({"region": "r", "project_id": "a/b"}, "project_id"),
    ],
)
def test_constructor_checks(kw: dict[str, Any], match: str) -> None:
    args: dict[str, Any] = {"project_id": "p1", "auth": TokenAuth(TOKEN)}
    args.update(kw)
    with pytest.raises(InvalidArgumentError, match=match):
        ModelArtsClient(**args)


def test_verify_ssl_false_warns() -> None:
    with pytest.warns(UserWarning, match=r"verify_ssl=False.*not be checked"):
        ModelArtsClient(project_id="p1", auth=TokenAuth(TOKEN), region="r", verify_ssl=False)


async def test_secrets_never_in_repr_or_debug_logs(
    client: ModelArtsClient, mocked: Any, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG, logger="modelarts_poller")
    mocked.get(SYNC, payload=SYNC_BODY)
    mocked.get(SYNC, status=401, payload={"error_msg": "bad token"})
    mocked.get(SYNC, exception=aiohttp.ClientConnectionError("boom"))
    await client.get_sync_status("ds1")
    errors = []
    for _ in range(2):
        try:
            await client.get_sync_status("ds1")
        except (Unauthorized, ConnectionFailed) as err:
            errors.append(err)
    assert len(errors) == 2
    assert any("GET /v2/p1/datasets/ds1/sync-data/status -> 200" in m for m in caplog.messages)
    blob = caplog.text + repr(client) + str(client) + "".join(f"{e}{e!r}" for e in errors)
    assert TOKEN not in blob


# --- real HTTP on 127.0.0.1 with AK/SK signing ------------------------------------------

AK, SK, STS = "AKLOCALTEST", "sk-local-never-shown", "sts-local-never-shown"
FIXED = datetime(2024, 6, 1, 12, 0, 0, tzinfo=UTC)


class SigningServer:
    def __init__(self) -> None:
        self.seen: list[tuple[str, str, str | None]] = []

    async def handle(self, request: web.Request) -> web.Response:
        body = await request.read()
        reason = check_signature(
            method=request.method,
            path=request.raw_path.split("?", 1)[0],
            query_string=request.query_string,
            headers=request.headers,
            body=body,
            secret_key_for={AK: SK}.get,
            now=FIXED,
        )
        self.seen.append((request.method, request.raw_path, reason))
        if reason is not None:
            return web.json_response({"error_code": "APIGW.0301", "error_msg": reason}, status=401)
        if request.headers.get("X-Security-Token") != STS:
            return web.json_response({"error_code": "APIGW.0302"}, status=401)
        path = request.match_info
        if request.method == "POST":
            return web.json_response({"task_id": "exp-1"})
        if "dataset_id" in path and path.get("task_id"):
            return web.json_response(EXPORT_BODY)
        if "dataset_id" in path:
            return web.json_response({**SYNC_BODY, "dataset_id": path["dataset_id"]})
        return web.json_response(DTASK_BODY)


@pytest.fixture
async def signing_server() -> AsyncIterator[tuple[SigningServer, str]]:
    server = SigningServer()
    app = web.Application()
    app.router.add_get("/v2/{project_id}/datasets/{dataset_id}/sync-data/status", server.handle)
    app.router.add_get(
        "/v2/{project_id}/datasets/{dataset_id}/export-tasks/{task_id}", server.handle
    )
    app.router.add_post("/v2/{project_id}/datasets/{dataset_id}/export-tasks", server.handle)
    app.router.add_get("/v1/{project_id}/datasets/task/{task_id}", server.handle)
    runner = web.AppRunner(app)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    port = runner.addresses[0][1]
    try:
        yield server, f"http://127.0.0.1:{port}"
    finally:
        await runner.cleanup()


async def test_real_http_signed_requests_verify(
    signing_server: tuple[SigningServer, str],
) -> None:
    server, endpoint = signing_server
    auth = AkSkAuth(AK, SK, STS, clock=lambda: FIXED)
    async with ModelArtsClient(project_id="proj-1", auth=auth, endpoint=endpoint) as c:
        sync = await c.get_sync_status("ds-1")
        odd = await c.get_sync_status("ds?1%x")
        export = await c.get_export_task_status("ds-1", "t-1")
        dtask = await c.get_dataset_task_status("t-9")
        new_task = await c.create_export_task("ds-1", path="/bucket/out/", export_type=0)
    assert sync.status == "RUNNING"
    assert odd.status == "RUNNING"
    assert export.status == "RUNNING"
    assert dtask.status == "RUNNING"
    assert new_task == ExportTask("ds-1", "exp-1")
    assert server.seen == [
        ("GET", "/v2/proj-1/datasets/ds-1/sync-data/status", None),
        ("GET", "/v2/proj-1/datasets/ds%3F1%25x/sync-data/status", None),
        ("GET", "/v2/proj-1/datasets/ds-1/export-tasks/t-1", None),
        ("GET", "/v1/proj-1/datasets/task/t-9", None),
        ("POST", "/v2/proj-1/datasets/ds-1/export-tasks", None),
    ]


async def test_real_http_wrong_secret_is_unauthorized(
    signing_server: tuple[SigningServer, str],
) -> None:
    server, endpoint = signing_server
    auth = AkSkAuth(AK, SK + "-wrong", clock=lambda: FIXED)
    async with ModelArtsClient(project_id="proj-1", auth=auth, endpoint=endpoint) as c:
        with pytest.raises(Unauthorized) as info:
            await c.get_sync_status("ds-1")
    assert info.value.error_msg == "signature does not match"
    assert len(server.seen) == 1
    assert SK not in str(info.value)


def test_each_kind_call_of_the_client_is_its_kinds_function_bound_to_it() -> None:
    from modelarts_poller import operations

    client = ModelArtsClient(project_id="p1", auth=TokenAuth(TOKEN), endpoint=BASE)
    calls = {
        "sync": ("get_sync_status", "start_sync"),
        "export": ("get_export_task_status", "create_export_task", "list_export_tasks"),
        "dataset_task": ("get_dataset_task_status", "start_sync_v1", "create_dataset_version_v1"),
        "import_task": ("create_import_task", "list_import_tasks"),
        "version": ("create_dataset_version",),
        "intelligent_task": ("start_intelligent_task",),
    }
    for module, names in calls.items():
        for name in names:
            function = getattr(getattr(operations, module), name)
            assert getattr(ModelArtsClient, name) is function
            bound = getattr(client, name)
            assert (bound.__func__, bound.__self__) == (function, client)

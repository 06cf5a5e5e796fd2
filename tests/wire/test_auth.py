"""Auth schemes: secrets stay hidden, signing verifies, IAM tokens are cached and renewed once."""

from __future__ import annotations

import asyncio
import json
import logging
import pickle
from collections.abc import AsyncIterator
from datetime import UTC, datetime
from urllib.parse import urlsplit

import aiohttp
import pytest
from aiohttp import web
from aioresponses import aioresponses

from modelarts_poller._auth import (
    AkSkAuth,
    Auth,
    IamTokenAuth,
    Secret,
    TokenAuth,
    iam_password_request,
    parse_iam_token_response,
)
from modelarts_poller._errors import (
    ConnectionFailed,
    InvalidArgumentError,
    ParseError,
    ProtocolError,
    RequestTimeout,
    ResponseTooLarge,
    Unauthorized,
)
from modelarts_poller._signer import check_signature

PASSWORD = "pa55-W0RD-never-shown"
SECRET_KEY = "sk-secret-never-shown"
SEC_TOKEN = "security-token-never-shown"
NOW = datetime(2024, 5, 6, 7, 8, 9, tzinfo=UTC)


# --- Secret ------------------------------------------------------------------------------


def test_secret_hides_itself() -> None:
    s = Secret(PASSWORD)
    assert repr(s) == "Secret('***')"
    assert str(s) == "***"
    assert f"{s}" == "***"
    assert f"{s!r}" == "Secret('***')"
    assert PASSWORD not in repr([s, {"k": s}])
    assert s.reveal() == PASSWORD
    assert s == Secret(PASSWORD)
    assert s != Secret(PASSWORD + "x")
    assert Secret(s).reveal() == PASSWORD
    with pytest.raises(TypeError, match="pickled"):
        pickle.dumps(s)


@pytest.mark.parametrize("bad", ["", None, 3])
def test_secret_rejects_empty_or_non_str(bad: object) -> None:
    with pytest.raises(InvalidArgumentError):
        Secret(bad)  # type: ignore[arg-type]


# --- TokenAuth / AkSkAuth ----------------------------------------------------------------


async def test_token_auth_sets_header_and_cannot_refresh() -> None:
    auth = TokenAuth("tok-123")
    assert isinstance(auth, Auth)
    headers: dict[str, str] = {}
    await auth.apply("GET", "https://h/p", headers, b"")
    assert headers == {"X-Auth-Token": "tok-123"}
    assert await auth.on_unauthorized(headers) is False
    assert "tok-123" not in repr(auth)
    assert "tok-123" not in str(auth)


async def test_aksk_auth_signs_verifiably() -> None:
    auth = AkSkAuth("AKID1234567", SECRET_KEY, SEC_TOKEN, clock=lambda: NOW)
    assert isinstance(auth, Auth)
    url = "https://modelarts.cn-north-4.myhuaweicloud.com/v2/p/datasets/d/sync-data/status"
    headers = {"X-Project-Id": "p"}
    await auth.apply("GET", url, headers, b"")
    assert headers["X-Security-Token"] == SEC_TOKEN
    assert headers["X-Sdk-Date"] == "20240506T070809Z"
    assert headers["Authorization"].startswith("SDK-HMAC-SHA256 Access=AKID1234567, ")
    assert "x-project-id" in headers["Authorization"]
    assert "x-security-token" in headers["Authorization"]
    reason = check_signature(
        method="GET",
        path=urlsplit(url).path,
        query_string="",
        headers=headers,
        body=b"",
        secret_key_for={"AKID1234567": SECRET_KEY}.get,
        now=NOW,
    )
    assert reason is None
    assert await auth.on_unauthorized(headers) is False
    for text in (repr(auth), str(auth)):
        assert SECRET_KEY not in text
        assert SEC_TOKEN not in text
        assert "AKID1234567" not in text


def test_aksk_rejects_empty_access_key() -> None:
    with pytest.raises(InvalidArgumentError, match="access_key"):
        AkSkAuth("", SECRET_KEY)


# --- IAM request and response ------------------------------------------------------------


def test_iam_password_request_shape() -> None:
    body = json.loads(
        iam_password_request(
            user_name="alice", password=Secret(PASSWORD), domain_name="acme", project_name="r1"
        )
    )
    assert body == {
        "auth": {
            "identity": {
                "methods": ["password"],
                "password": {
                    "user": {"name": "alice", "password": PASSWORD, "domain": {"name": "acme"}}
                },
            },
            "scope": {"project": {"name": "r1"}},
        }
    }
    by_id = json.loads(
        iam_password_request(
            user_name="a", password=Secret(PASSWORD), domain_name="d", project_id="p1"
        )
    )
    assert by_id["auth"]["scope"] == {"project": {"id": "p1"}}


@pytest.mark.parametrize(("pid", "pname"), [(None, None), ("p", "n")])
def test_iam_password_request_needs_exactly_one_scope(pid: str | None, pname: str | None) -> None:
    with pytest.raises(InvalidArgumentError, match="exactly one"):
        iam_password_request(
            user_name="a",
            password=Secret(PASSWORD),
            domain_name="d",
            project_id=pid,
            project_name=pname,
        )


def test_parse_iam_token_response() -> None:
    body = b'{"token": {"expires_at": "2024-05-07T07:08:09.123000Z", "methods": ["password"]}}'
    token, expires = parse_iam_token_response(201, {"X-Subject-Token": "T1"}, body)
    assert token.reveal() == "T1"
    assert expires == datetime(2024, 5, 7, 7, 8, 9, 123000, tzinfo=UTC).timestamp()
    token, _ = parse_iam_token_response(201, {"x-subject-token": "T2"}, body)
    assert token.reveal() == "T2"


def test_parse_iam_token_response_errors() -> None:
    good = b'{"token": {"expires_at": "2024-05-07T07:08:09Z"}}'
    with pytest.raises(ProtocolError, match="X-Subject-Token"):
        parse_iam_token_response(201, {}, good)
    with pytest.raises(ParseError, match=r"token\.expires_at"):
        parse_iam_token_response(201, {"X-Subject-Token": "T"}, b'{"token": {"expires_at": 5}}')
    with pytest.raises(ParseError, match=r"token\.expires_at"):
        parse_iam_token_response(201, {"X-Subject-Token": "T"}, b'{"token": {"expires_at": "x"}}')
    with pytest.raises(ParseError, match="token"):
        parse_iam_token_response(201, {"X-Subject-Token": "T"}, b'{"token": []}')
    err_body = b'{"error": {"code": 401}, "error_code": "IAM.0001", "error_msg": "bad creds"}'
    with pytest.raises(Unauthorized, match=r"IAM\.0001"):
        parse_iam_token_response(401, {}, err_body)


# --- IamTokenAuth against a local fake IAM -----------------------------------------------


class WallClock:
    def __init__(self) -> None:
        self.t = NOW.timestamp()

    def __call__(self) -> float:
        return self.t


class FakeIam:
    """A tiny IAM on 127.0.0.1 that hands out numbered tokens valid for ``lifetime`` s."""

    def __init__(self, clock: WallClock) -> None:
        self.clock = clock
        self.lifetime = 24 * 3600.0
        self.calls = 0
        self.bodies: list[object] = []
        self.queries: list[str] = []
        self.status = 201
        self.url = ""

    async def handle(self, request: web.Request) -> web.Response:
        self.calls += 1
        self.bodies.append(await request.json())
        self.queries.append(request.query_string)
        if self.status != 201:
            return web.json_response(
                {"error_code": "IAM.0001", "error_msg": "The username or password is wrong."},
                status=self.status,
            )
        expires = datetime.fromtimestamp(self.clock.t + self.lifetime, UTC)
        return web.json_response(
            {"token": {"expires_at": expires.isoformat().replace("+00:00", "Z")}},
            status=201,
            headers={"X-Subject-Token": f"tok-{self.calls}"},
        )


@pytest.fixture
def wall() -> WallClock:
    return WallClock()


@pytest.fixture
async def fake_iam(wall: WallClock) -> AsyncIterator[FakeIam]:
    iam = FakeIam(wall)
    app = web.Application()
    app.router.add_post("/v3/auth/tokens", iam.handle)
    runner = web.AppRunner(app)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    port = runner.addresses[0][1]
    iam.url = f"http://127.0.0.1:{port}"
    try:
        yield iam
    finally:
        await runner.cleanup()


def _iam_auth(iam: FakeIam, wall: WallClock, **kw: object) -> IamTokenAuth:
    return IamTokenAuth(
        user_name="alice",
        password=PASSWORD,
        domain_name="acme",
        project_name="cn-north-4",
        iam_endpoint=iam.url,
        clock=wall,
        **kw,  # type: ignore[arg-type]
    )


async def test_iam_token_fetched_once_and_cached(fake_iam: FakeIam, wall: WallClock) -> None:
    auth = _iam_auth(fake_iam, wall)
    assert isinstance(auth, Auth)
    for _ in range(5):
        headers: dict[str, str] = {}
        await auth.apply("GET", "https://h/p", headers, b"")
        assert headers == {"X-Auth-Token": "tok-1"}
    assert fake_iam.calls == 1
    assert fake_iam.queries == ["nocatalog=true"]
    sent = fake_iam.bodies[0]
    assert sent["auth"]["identity"]["password"]["user"]["password"] == PASSWORD  # type: ignore[index]
    assert sent["auth"]["scope"] == {"project": {"name": "cn-north-4"}}  # type: ignore[index]


async def test_iam_token_renewed_margin_before_expiry(fake_iam: FakeIam, wall: WallClock) -> None:
    auth = _iam_auth(fake_iam, wall, margin=600.0)
    assert (await auth.token()).reveal() == "tok-1"
    wall.t += fake_iam.lifetime - 601
    assert (await auth.token()).reveal() == "tok-1"
    assert fake_iam.calls == 1
    wall.t += 1
    assert (await auth.token()).reveal() == "tok-2"
    assert fake_iam.calls == 2


async def test_short_lived_token_renewed_half_way(fake_iam: FakeIam, wall: WallClock) -> None:
    fake_iam.lifetime = 100.0
    auth = _iam_auth(fake_iam, wall, margin=600.0)
    await auth.token()
    wall.t += 49
    assert (await auth.token()).reveal() == "tok-1"
    wall.t += 1
    assert (await auth.token()).reveal() == "tok-2"


async def test_concurrent_first_use_fetches_once(fake_iam: FakeIam, wall: WallClock) -> None:
    auth = _iam_auth(fake_iam, wall)
    headers = [{} for _ in range(1000)]

    await asyncio.gather(*(auth.apply("GET", "https://h/p", h, b"") for h in headers))

    assert fake_iam.calls == 1
    assert {h["X-Auth-Token"] for h in headers} == {"tok-1"}


async def test_401_refreshes_once_for_many_concurrent_failures(
    fake_iam: FakeIam, wall: WallClock
) -> None:
    auth = _iam_auth(fake_iam, wall)
    sent: dict[str, str] = {}
    await auth.apply("GET", "https://h/p", sent, b"")
    assert sent["X-Auth-Token"] == "tok-1"

    results = await asyncio.gather(*(auth.on_unauthorized(sent) for _ in range(1000)))

    assert all(results)
    assert fake_iam.calls == 2
    assert auth.refresh_count == 2
    again: dict[str, str] = {}
    await auth.apply("GET", "https://h/p", again, b"")
    assert again["X-Auth-Token"] == "tok-2"
    # A late 401 for the old token must not trigger yet another refresh.
    assert await auth.on_unauthorized(sent) is True
    assert fake_iam.calls == 2


async def test_iam_rejection_is_unauthorized_without_password(
    fake_iam: FakeIam, wall: WallClock, caplog: pytest.LogCaptureFixture
) -> None:
    fake_iam.status = 401
    auth = _iam_auth(fake_iam, wall)
    caplog.set_level(logging.DEBUG)
    with pytest.raises(Unauthorized) as info:
        await auth.token()
    assert info.value.error_code == "IAM.0001"
    assert PASSWORD not in str(info.value)
    assert PASSWORD not in repr(info.value)
    for record in caplog.records:
        assert PASSWORD not in record.getMessage()


async def test_no_secret_in_repr_or_debug_logs(
    fake_iam: FakeIam, wall: WallClock, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    auth = _iam_auth(fake_iam, wall)
    headers: dict[str, str] = {}
    await auth.apply("GET", "https://h/p", headers, b"")
    await auth.on_unauthorized(headers)
    assert any("IAM token obtained" in r.getMessage() for r in caplog.records)
    everything = caplog.text + repr(auth) + str(auth)
    for secret in (PASSWORD, "tok-1", "tok-2"):
        assert secret not in everything
    assert "alice" in repr(auth)


async def test_borrowed_session_used_and_left_open(fake_iam: FakeIam, wall: WallClock) -> None:
    async with aiohttp.ClientSession() as session:
        auth = _iam_auth(fake_iam, wall, session=session)
        assert (await auth.token()).reveal() == "tok-1"
        assert not session.closed


async def test_iam_timeout_and_connection_errors() -> None:
    auth = IamTokenAuth(
        user_name="a", password=PASSWORD, domain_name="d", project_id="p", iam_endpoint="http://iam"
    )
    with aioresponses() as mocked:
        mocked.post("http://iam/v3/auth/tokens?nocatalog=true", exception=TimeoutError())
        with pytest.raises(RequestTimeout) as timeout_info:
            await auth.token()
        assert isinstance(timeout_info.value.__cause__, asyncio.TimeoutError)
        mocked.post(
            "http://iam/v3/auth/tokens?nocatalog=true",
            exception=aiohttp.ClientConnectionError("refused"),
        )
        with pytest.raises(ConnectionFailed) as conn_info:
            await auth.token()
        assert isinstance(conn_info.value.__cause__, aiohttp.ClientConnectionError)


@pytest.mark.parametrize(
    ("kw", "match"),
    [
        ({"user_name": ""}, "user_name"),
        ({"domain_name": ""}, "domain_name"),
        ({"margin": -1.0}, "margin"),
        ({"timeout": 0.0}, "timeout"),
        ({"password": ""}, "password"),
    ],
)
def test_iam_auth_argument_checks(kw: dict[str, object], match: str) -> None:
    args: dict[str, object] = {
        "user_name": "a",
        "password": PASSWORD,
        "domain_name": "d",
        "project_id": "p",
    }
    args.update(kw)
    with pytest.raises(InvalidArgumentError, match=match):
        IamTokenAuth(**args)  # type: ignore[arg-type]


@pytest.mark.parametrize("declared", [True, False])
async def test_an_oversized_iam_reply_is_refused_not_read_whole(
    wall: WallClock, declared: bool
) -> None:
    huge = b"{" + b" " * (2 * 1024 * 1024) + b"}"  # valid JSON, 2 MiB: past the 1 MiB cap

    async def handle(request: web.Request) -> web.StreamResponse:
        if declared:
            return web.Response(body=huge, headers={"X-Subject-Token": "tok"})
        resp = web.StreamResponse(headers={"X-Subject-Token": "tok"})
        resp.enable_chunked_encoding()  # no Content-Length: the cap is met while reading
        await resp.prepare(request)
        for start in range(0, len(huge), 65536):
            await resp.write(huge[start : start + 65536])
        await resp.write_eof()
        return resp

    app = web.Application()
    app.router.add_post("/v3/auth/tokens", handle)
    runner = web.AppRunner(app)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    try:
        auth = IamTokenAuth(
            user_name="alice",
            password=PASSWORD,
            domain_name="acme",
            project_name="cn-north-4",
            iam_endpoint=f"http://127.0.0.1:{runner.addresses[0][1]}",
            clock=wall,
        )
        with pytest.raises(ResponseTooLarge, match="IAM reply limit") as info:
            await auth.token()
        assert PASSWORD not in str(info.value)
    finally:
        await runner.cleanup()

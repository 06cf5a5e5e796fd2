"""A client from what a user of the official SDK already has.

* :func:`auth_from_sdk` reads the SDK's credentials object (``huaweicloudsdkcore``'s
  ``BasicCredentials``: ``ak``, ``sk``, ``security_token``); :func:`auth_from_environment`
  the SDK's environment variables (``HUAWEICLOUD_SDK_AK``, ``HUAWEICLOUD_SDK_SK``,
  ``HUAWEICLOUD_SDK_SECURITY_TOKEN``). Both give an :class:`AkSkAuth`.
* :func:`lookup_project_id` asks IAM for the project of a region as the SDK does when
  ``project_id`` is left out: ``GET /v3/projects?name=<region>``, signed with the keys, on
  ``HUAWEICLOUD_SDK_IAM_ENDPOINT`` or the region's IAM endpoint.
* :func:`client_from_sdk` puts them together: a :class:`ModelArtsClient` whose project is
  the credentials' (or ``HUAWEICLOUD_SDK_PROJECT_ID``), else looked up.

The SDK is not imported: the credentials object is read by its attribute names.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from typing import Any
from urllib.parse import urlencode

import aiohttp

from ._auth import AkSkAuth, regional_iam
from ._client import ModelArtsClient
from ._errors import ConnectionFailed, InvalidArgumentError, ParseError, RequestTimeout
from ._http import decode_response
from ._read import read_capped
from ._validate import check_endpoint

__all__ = ["auth_from_environment", "auth_from_sdk", "client_from_sdk", "lookup_project_id"]

AK_ENV = "HUAWEICLOUD_SDK_AK"
SK_ENV = "HUAWEICLOUD_SDK_SK"
SECURITY_TOKEN_ENV = "HUAWEICLOUD_SDK_SECURITY_TOKEN"
PROJECT_ID_ENV = "HUAWEICLOUD_SDK_PROJECT_ID"
IAM_ENDPOINT_ENV = "HUAWEICLOUD_SDK_IAM_ENDPOINT"
IAM_PROJECTS = "/v3/projects"
_MAX_BODY = 1024 * 1024


def auth_from_sdk(credentials: Any) -> AkSkAuth:
    """The :class:`AkSkAuth` of an SDK credentials object (its ``ak``, ``sk`` and, for
    temporary keys, ``security_token``)."""
    ak = getattr(credentials, "ak", None)
    sk = getattr(credentials, "sk", None)
    if not isinstance(ak, str) or not ak or not isinstance(sk, str) or not sk:
        raise InvalidArgumentError(
            "credentials must carry an access key and secret key (ak, sk), as the SDK's "
            f"BasicCredentials does; got {type(credentials).__name__}"
        )
    token = getattr(credentials, "security_token", None)
    return AkSkAuth(ak, sk, token or None)


def auth_from_environment(environ: Mapping[str, str] | None = None) -> AkSkAuth:
    """The :class:`AkSkAuth` of the SDK's environment variables ``HUAWEICLOUD_SDK_AK`` and
    ``HUAWEICLOUD_SDK_SK`` (and ``HUAWEICLOUD_SDK_SECURITY_TOKEN`` if set)."""
    env = os.environ if environ is None else environ
    ak, sk = env.get(AK_ENV), env.get(SK_ENV)
    if not ak or not sk:
        raise InvalidArgumentError(f"{AK_ENV} and {SK_ENV} must both be set")
    return AkSkAuth(ak, sk, env.get(SECURITY_TOKEN_ENV) or None)


def _project_of(region: str) -> Any:
    def parse(data: object) -> str:
        if not isinstance(data, dict):
            raise ParseError("", data, "object")
        projects = data.get("projects")
        if not isinstance(projects, list):
            raise ParseError("projects", projects, "array")
        ids = [p.get("id") for p in projects if isinstance(p, dict)]
        if len(ids) != 1 or not isinstance(ids[0], str) or not ids[0]:
            found = "no project" if not ids else f"{len(ids)} projects"
            raise InvalidArgumentError(
                f"IAM has {found} named {region!r} for these keys; pass project_id="
            )
        return ids[0]

    return parse


async def lookup_project_id(
    auth: AkSkAuth,
    region: str,
    *,
    iam_endpoint: str | None = None,
    session: aiohttp.ClientSession | None = None,
    timeout: float = 30.0,
    environ: Mapping[str, str] | None = None,
) -> str:
    """The ID of the project named ``region``, from IAM (``GET /v3/projects?name=``),
    signed with ``auth``. The IAM endpoint is ``iam_endpoint``, else
    ``HUAWEICLOUD_SDK_IAM_ENDPOINT``, else the region's. No project, or several, raises
    :class:`InvalidArgumentError`; IAM's refusals raise as any request's do."""
    env = os.environ if environ is None else environ
    endpoint = iam_endpoint or env.get(IAM_ENDPOINT_ENV) or regional_iam(region)
    base = check_endpoint("iam_endpoint", endpoint)
    regional_iam(region)  # the name is checked even when the endpoint is given
    path = f"{IAM_PROJECTS}?{urlencode({'name': region})}"
    url = base + path
    headers: dict[str, str] = {}
    await auth.apply("GET", url, headers, b"")

    async def get(s: aiohttp.ClientSession) -> tuple[int, Any, bytes]:
        async with s.get(
            url, headers=headers, timeout=aiohttp.ClientTimeout(total=timeout),
            allow_redirects=False,
        ) as resp:  # fmt: skip
            body = await read_capped(resp, _MAX_BODY, "GET", IAM_PROJECTS, "the IAM reply limit")
            return resp.status, resp.headers, body

    try:
        if session is not None:
            status, resp_headers, body = await get(session)
        else:
            async with aiohttp.ClientSession() as own:
                status, resp_headers, body = await get(own)
    except TimeoutError as exc:
        raise RequestTimeout(f"no answer from IAM {IAM_PROJECTS} in time") from exc
    except aiohttp.ClientError as exc:
        raise ConnectionFailed(
            f"IAM {IAM_PROJECTS}: {type(exc).__name__}: connection failed"
        ) from exc
    project: str = decode_response(
        status, resp_headers, body, _project_of(region), path=IAM_PROJECTS, method="GET"
    )
    return project


async def client_from_sdk(
    credentials: Any = None,
    *,
    region: str | None = None,
    endpoint: str | None = None,
    project_id: str | None = None,
    iam_endpoint: str | None = None,
    environ: Mapping[str, str] | None = None,
    **client_options: Any,
) -> ModelArtsClient:
    """A :class:`ModelArtsClient` signed with an SDK user's keys: those of ``credentials``
    (the SDK's ``BasicCredentials``), or without it those of the SDK's environment
    variables. Its project is ``project_id``, else the credentials' ``project_id``, else
    ``HUAWEICLOUD_SDK_PROJECT_ID``, else the one IAM names for ``region`` (see
    :func:`lookup_project_id`; ``region`` is then required). Other keyword arguments go
    to :class:`ModelArtsClient` (use it as ``async with``)."""
    env = os.environ if environ is None else environ
    auth = auth_from_environment(env) if credentials is None else auth_from_sdk(credentials)
    if project_id is None and credentials is not None:
        project_id = getattr(credentials, "project_id", None) or None
    if project_id is None and credentials is None:
        project_id = env.get(PROJECT_ID_ENV) or None
    if project_id is None:
        if region is None:
            raise InvalidArgumentError("project_id was not given: pass region= to look it up")
        project_id = await lookup_project_id(
            auth, region, iam_endpoint=iam_endpoint, session=client_options.get("session"),
            environ=env,
        )  # fmt: skip
    return ModelArtsClient(
        project_id=project_id, auth=auth, region=region, endpoint=endpoint, **client_options
    )

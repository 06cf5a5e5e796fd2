"""How requests prove who sent them: a small protocol and three implementations.

* :class:`TokenAuth` sends a fixed IAM token in ``X-Auth-Token``.
* :class:`IamTokenAuth` obtains a token from IAM with a password, caches it, renews it
  before it expires and once when ModelArts answers 401.
* :class:`AkSkAuth` signs each request with an access key / secret key (SDK-HMAC-SHA256).

Credentials are held in :class:`Secret`, whose repr and str are ``***``; none of these
classes ever puts a credential in a repr, a log line or an exception message.
"""

from __future__ import annotations

import asyncio
import hashlib
import hmac
import json
import logging
import time
from collections.abc import Callable, Mapping
from datetime import UTC, datetime
from typing import Any, NoReturn, Protocol, runtime_checkable

import aiohttp

from ._errors import (
    ConnectionFailed,
    InvalidArgumentError,
    ParseError,
    ProtocolError,
    RequestTimeout,
)
from ._http import decode_response
from ._read import read_capped
from ._signer import sign_request
from ._validate import check_endpoint, check_number, check_text

__all__ = [
    "AkSkAuth",
    "Auth",
    "IamTokenAuth",
    "NoAuth",
    "Secret",
    "TokenAuth",
    "iam_password_request",
    "parse_iam_token_response",
]

_log = logging.getLogger("modelarts_poller.auth")

AUTH_TOKEN_HEADER = "X-Auth-Token"
# The global endpoint, used when no region is given: documented to issue tokens too.
DEFAULT_IAM_ENDPOINT = "https://iam.myhuaweicloud.com"
# POST: obtain an IAM token (on the IAM endpoint, not ModelArts).
IAM_TOKENS = "/v3/auth/tokens"
# A token reply without its catalog (nocatalog=true) is a few kilobytes: far more is hostile.
IAM_MAX_BODY = 1024 * 1024


class Secret:
    """A credential that will not show itself by accident: repr and str are ``***``.

    Call :meth:`reveal` at the one place the raw value is needed.
    """

    __slots__ = ("_value",)

    def __init__(self, value: str, *, name: str = "a credential") -> None:
        if isinstance(value, Secret):
            value = value.reveal()
        # Spaces at the ends may belong to a password; control characters never do.
        self._value = check_text(name, value, secret=True, edges=False)

    def reveal(self) -> str:
        """The raw value."""
        return self._value

    def __repr__(self) -> str:
        return "Secret('***')"

    def __str__(self) -> str:
        return "***"

    def __format__(self, spec: str) -> str:
        return "***"

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, Secret):
            return NotImplemented
        return hmac.compare_digest(self._value.encode(), other._value.encode())

    def __hash__(self) -> int:
        return hash((Secret, self._value))

    def __reduce__(self) -> NoReturn:
        # Pickling would write the credential wherever the pickle goes.
        raise TypeError("Secret cannot be pickled")


def _secret(value: str | Secret, name: str) -> Secret:
    return value if isinstance(value, Secret) else Secret(value, name=name)


@runtime_checkable
class Auth(Protocol):
    """What the client asks of any authentication scheme.

    ``apply`` adds credentials to ``headers`` (mutating it) just before a request is
    sent; ``headers`` already holds every header the request will be signed with.
    ``on_unauthorized`` is called when that request got HTTP 401, with the headers it
    was sent with; return True if sending it again (after ``apply``) may succeed. The
    client retries at most once.
    """

    async def apply(self, method: str, url: str, headers: dict[str, str], body: bytes) -> None: ...

    async def on_unauthorized(self, sent_headers: Mapping[str, str]) -> bool: ...


class NoAuth:
    """Sends no credentials: for a local simulator or proxy that needs none."""

    __slots__ = ()

    async def apply(self, method: str, url: str, headers: dict[str, str], body: bytes) -> None:
        return None

    async def on_unauthorized(self, sent_headers: Mapping[str, str]) -> bool:
        return False

    def quota_identity(self) -> str:
        """Who the server counts requests against (see ``ModelArtsClient.quota_key``)."""
        return "none"

    def __repr__(self) -> str:
        return "NoAuth()"


class TokenAuth:
    """A fixed IAM token, sent as ``X-Auth-Token``. It cannot renew itself."""

    __slots__ = ("_token",)

    def __init__(self, token: str | Secret) -> None:
        self._token = _secret(token, "token")
        # A header value: unlike a password, a token has no business ending in a space.
        check_text("token", self._token.reveal(), secret=True)

    async def apply(self, method: str, url: str, headers: dict[str, str], body: bytes) -> None:
        headers[AUTH_TOKEN_HEADER] = self._token.reveal()

    async def on_unauthorized(self, sent_headers: Mapping[str, str]) -> bool:
        return False

    def quota_identity(self) -> str:
        """Who the server counts requests against: a digest of the token, never the token."""
        return "token:" + hashlib.sha256(self._token.reveal().encode()).hexdigest()

    def __repr__(self) -> str:
        return "TokenAuth(token=***)"


class AkSkAuth:
    """Sign every request with an access key and secret key (``SDK-HMAC-SHA256``).

    With temporary credentials pass ``security_token`` too. ``clock`` gives the current
    UTC time (tests inject a fixed one). A 401 is final: signing again changes nothing.
    """

    __slots__ = ("_access_key", "_clock", "_secret_key", "_security_token")

    def __init__(
        self,
        access_key: str,
        secret_key: str | Secret,
        security_token: str | Secret | None = None,
        *,
        clock: Callable[[], datetime] | None = None,
    ) -> None:
        self._access_key = check_text("access_key", access_key)
        self._secret_key = _secret(secret_key, "secret_key")
        self._security_token = (
            None if security_token is None else _secret(security_token, "security_token")
        )
        # A key pair has no business with spaces at its ends (a copy-paste slip).
        check_text("secret_key", self._secret_key.reveal(), secret=True)
        if self._security_token is not None:
            check_text("security_token", self._security_token.reveal(), secret=True)
        self._clock = clock or _utcnow

    @property
    def access_key(self) -> str:
        return self._access_key

    async def apply(self, method: str, url: str, headers: dict[str, str], body: bytes) -> None:
        token = self._security_token
        headers.update(
            sign_request(
                method=method,
                url=url,
                headers=headers,
                body=body,
                access_key=self._access_key,
                secret_key=self._secret_key.reveal(),
                security_token=None if token is None else token.reveal(),
                now=self._clock(),
            )
        )

    async def on_unauthorized(self, sent_headers: Mapping[str, str]) -> bool:
        return False

    def quota_identity(self) -> str:
        """Who the server counts requests against: the access key (not a secret)."""
        return "aksk:" + self._access_key

    def __repr__(self) -> str:
        temporary = ", security_token=***" if self._security_token is not None else ""
        return f"AkSkAuth(access_key={_mask(self._access_key)}, secret_key=***{temporary})"


def regional_iam(region: str) -> str:
    if (
        not isinstance(region, str)
        or not region
        or not all(c.isascii() and (c.isalnum() or c == "-") for c in region)
    ):
        raise InvalidArgumentError(f"region must look like 'cn-north-4', got {region!r}")
    return f"https://iam.{region}.myhuaweicloud.com"


def _utcnow() -> datetime:
    return datetime.now(UTC)


def _mask(access_key: str) -> str:
    # Enough to tell keys apart in a log, not enough to use one.
    return repr(access_key[:4] + "***")


# --- IAM password tokens -----------------------------------------------------------------


def iam_password_request(
    *,
    user_name: str,
    password: Secret,
    domain_name: str,
    project_id: str | None = None,
    project_name: str | None = None,
) -> bytes:
    """The JSON body of ``POST /v3/auth/tokens`` for password authentication.

    The token is scoped to one project, by ID or by name (a region name such as
    ``cn-north-4`` names that region's default project).
    """
    if (project_id is None) == (project_name is None):
        raise InvalidArgumentError("pass exactly one of project_id and project_name")
    project = {"id": project_id} if project_id is not None else {"name": project_name}
    body = {
        "auth": {
            "identity": {
                "methods": ["password"],
                "password": {
                    "user": {
                        "name": user_name,
                        "password": password.reveal(),
                        "domain": {"name": domain_name},
                    }
                },
            },
            "scope": {"project": project},
        }
    }
    return json.dumps(body, separators=(",", ":")).encode()


def _parse_expiry(data: object) -> float:
    if not isinstance(data, dict):
        raise ParseError("", data, "object")
    token = data.get("token")
    if not isinstance(token, dict):
        raise ParseError("token", token, "object")
    expires = token.get("expires_at")
    if not isinstance(expires, str):
        raise ParseError("token.expires_at", expires, "ISO 8601 str")
    try:
        when = datetime.fromisoformat(expires)
    except ValueError:
        raise ParseError("token.expires_at", expires, "ISO 8601 str") from None
    if when.tzinfo is None:
        when = when.replace(tzinfo=UTC)
    return when.timestamp()


def parse_iam_token_response(
    status: int, headers: Mapping[str, str], body: bytes
) -> tuple[Secret, float]:
    """``(token, expires_at)`` from an IAM answer; ``expires_at`` in epoch seconds.

    Error statuses raise as for ModelArts (401 :class:`Unauthorized`, ...).
    """
    expires_at = decode_response(
        status, headers, body, _parse_expiry, path=IAM_TOKENS, method="POST"
    )
    token = headers.get("X-Subject-Token")
    if token is None:
        token = next((v for k, v in headers.items() if k.lower() == "x-subject-token"), None)
    if not token:
        raise ProtocolError(
            f"HTTP {status} for POST {IAM_TOKENS}: no X-Subject-Token header", status=status
        )
    return Secret(token), expires_at


class IamTokenAuth:
    """Password authentication against IAM, with a cached, self-renewing token.

    The token is fetched on first use and renewed ``margin`` seconds before it expires
    (or half-way through its life, if that is sooner), and once whenever ModelArts
    answers 401 with the current token. However many requests need a new token at the
    same moment, one IAM request is made. ``clock`` returns epoch seconds (``time.time``).

    ``session`` is borrowed if given (and never closed); otherwise each token fetch opens
    and closes its own short-lived session (fetches happen about once a day).

    The token comes from ``iam_endpoint`` if given; else, with ``region``, from that
    region's IAM (``https://iam.{region}.myhuaweicloud.com``), which the ModelArts
    reference says to use for project-scoped tokens; else from the global endpoint.
    """

    def __init__(
        self,
        *,
        user_name: str,
        password: str | Secret,
        domain_name: str,
        project_id: str | None = None,
        project_name: str | None = None,
        iam_endpoint: str | None = None,
        region: str | None = None,
        margin: float = 600.0,
        timeout: float = 30.0,
        clock: Callable[[], float] = time.time,
        session: aiohttp.ClientSession | None = None,
    ) -> None:
        for name, value in (("user_name", user_name), ("domain_name", domain_name)):
            check_text(name, value)
        for name, scope in (("project_id", project_id), ("project_name", project_name)):
            if scope is not None:
                check_text(name, scope)
        check_number("margin", margin, inclusive=True)
        check_number("timeout", timeout)
        password = _secret(password, "password")
        # Built once: the body never changes, and holding it avoids re-serialising secrets.
        # It holds the password, so it is a Secret too (never shown, never pickled).
        body = iam_password_request(
            user_name=user_name,
            password=password,
            domain_name=domain_name,
            project_id=project_id,
            project_name=project_name,
        )
        self._body = Secret(body.decode(), name="the IAM request body")
        self._user_name = user_name
        self._domain_name = domain_name
        self._scope = project_id if project_id is not None else project_name
        if iam_endpoint is None:
            iam_endpoint = DEFAULT_IAM_ENDPOINT if region is None else regional_iam(region)
        else:
            iam_endpoint = check_endpoint("iam_endpoint", iam_endpoint)
        self._url = iam_endpoint.rstrip("/") + IAM_TOKENS + "?nocatalog=true"
        self._margin = margin
        self._timeout = aiohttp.ClientTimeout(total=timeout)
        self._clock = clock
        self._session = session
        self._token: Secret | None = None
        self._refresh_at = float("-inf")
        self._lock = asyncio.Lock()
        self.refresh_count = 0

    def quota_identity(self) -> str:
        """Who the server counts requests against: the IAM user of its domain."""
        return f"iam:{self._domain_name}:{self._user_name}"

    def __repr__(self) -> str:
        return (
            f"IamTokenAuth(user_name={self._user_name!r}, domain_name={self._domain_name!r}, "
            f"project={self._scope!r}, password=***)"
        )

    async def apply(self, method: str, url: str, headers: dict[str, str], body: bytes) -> None:
        token = self._token
        if token is None or self._clock() >= self._refresh_at:
            token = await self._renew_if_stale()
        headers[AUTH_TOKEN_HEADER] = token.reveal()

    async def on_unauthorized(self, sent_headers: Mapping[str, str]) -> bool:
        sent = sent_headers.get(AUTH_TOKEN_HEADER)
        async with self._lock:
            current = self._token
            if current is None or sent is None or current.reveal() == sent:
                await self._fetch()
            # Otherwise another request already renewed it; retrying with that is enough.
        return True

    async def token(self) -> Secret:
        """The current token, fetching or renewing it first if needed."""
        token = self._token
        if token is None or self._clock() >= self._refresh_at:
            token = await self._renew_if_stale()
        return token

    async def _renew_if_stale(self) -> Secret:
        async with self._lock:
            token = self._token
            if token is None or self._clock() >= self._refresh_at:
                token = await self._fetch()
            return token

    async def _fetch(self) -> Secret:
        """Ask IAM for a token; the caller holds the lock."""
        session = self._session
        try:
            if session is not None:
                status, headers, body = await self._post(session)
            else:
                async with aiohttp.ClientSession() as own:
                    status, headers, body = await self._post(own)
        except TimeoutError as exc:
            raise RequestTimeout(f"no answer from IAM {IAM_TOKENS} in time") from exc
        except aiohttp.ClientError as exc:
            raise ConnectionFailed(
                f"IAM {IAM_TOKENS}: {type(exc).__name__}: connection failed"
            ) from exc
        token, expires_at = parse_iam_token_response(status, headers, body)
        now = self._clock()
        lifetime = max(0.0, expires_at - now)
        self._token = token
        self._refresh_at = expires_at - min(self._margin, lifetime / 2)
        self.refresh_count += 1
        _log.debug("IAM token obtained; expires in %.0f s", lifetime)
        return token

    async def _post(self, session: aiohttp.ClientSession) -> tuple[int, Any, bytes]:
        async with session.post(
            self._url,
            data=self._body.reveal().encode(),
            headers={"Content-Type": "application/json;charset=utf8"},
            timeout=self._timeout,
            allow_redirects=False,
        ) as resp:
            body = await read_capped(resp, IAM_MAX_BODY, "POST", IAM_TOKENS, "the IAM reply limit")
            return resp.status, resp.headers, body

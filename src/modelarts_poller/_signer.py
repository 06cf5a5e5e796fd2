"""The API Gateway ``SDK-HMAC-SHA256`` request signature, as pure functions.

No I/O and no clock reads: the caller passes the time. The algorithm (as the Huawei Cloud
SDKs implement it):

* canonical request = method, canonical URI, canonical query, canonical headers, signed
  header names and the hex SHA-256 of the body, joined by ``\\n``;
* canonical URI = the decoded path split on ``/``, each segment percent-encoded (only
  ``A-Z a-z 0-9 - _ . ~`` stay literal), always ending in ``/``;
* canonical query = ``key=value`` pairs sorted by (key, value), both percent-encoded the
  same way, joined by ``&``;
* canonical headers = every signed header as ``lowername:trimmed value\\n``, sorted by name;
  every header handed to the signer is signed, plus ``host``, ``x-sdk-date`` and, with
  temporary credentials, ``x-security-token``;
* string to sign = ``SDK-HMAC-SHA256\\n<X-Sdk-Date>\\n<hex SHA-256 of canonical request>``;
* signature = hex HMAC-SHA256 keyed with the secret key.

A header ``X-Sdk-Content-Sha256`` (e.g. ``UNSIGNED-PAYLOAD``) replaces the body hash.
"""

from __future__ import annotations

import hashlib
import hmac
from collections.abc import Callable, Mapping, Sequence
from datetime import UTC, datetime, timedelta
from functools import lru_cache
from urllib.parse import parse_qsl, quote, unquote, urlsplit

from ._errors import InvalidArgumentError

__all__ = [
    "ALGORITHM",
    "DATE_FORMAT",
    "canonical_query",
    "canonical_request",
    "canonical_uri",
    "check_signature",
    "format_sdk_date",
    "parse_authorization",
    "sign_request",
    "string_to_sign",
    "verify_request",
]

ALGORITHM = "SDK-HMAC-SHA256"
DATE_FORMAT = "%Y%m%dT%H%M%SZ"
_UNSIGNED_HASH_HEADER = "x-sdk-content-sha256"
_DEFAULT_SKEW = timedelta(minutes=15)
_EMPTY_HASH = hashlib.sha256(b"").hexdigest()  # a GET's body


def _encode(text: str) -> str:
    # quote() keeps letters, digits and "_.-~" literal; safe="" makes "/" encoded too.
    return quote(text, safe="")


@lru_cache(maxsize=4096)
def canonical_uri(path: str) -> str:
    """The path with each segment re-encoded, ending in ``/``."""
    # Cached: pollers sign the same few thousand paths over and over.
    uri = "/".join(_encode(seg) for seg in unquote(path).split("/"))
    return uri if uri.endswith("/") else uri + "/"


def canonical_query(pairs: Sequence[tuple[str, str]]) -> str:
    """Sorted, encoded ``key=value`` pairs joined by ``&`` (decoded pairs in)."""
    return "&".join(f"{_encode(k)}={_encode(v)}" for k, v in sorted(pairs))


def _normalise(headers: Mapping[str, str]) -> dict[str, str]:
    return {name.lower(): value.strip() for name, value in headers.items()}


def canonical_request(
    *,
    method: str,
    path: str,
    query: Sequence[tuple[str, str]],
    headers: Mapping[str, str],
    signed_headers: list[str],
    body: bytes,
) -> str:
    """The canonical request text. ``headers`` must hold every name in ``signed_headers``."""
    return _canonical(method, path, query, _normalise(headers), signed_headers, body)


def _canonical(
    method: str,
    path: str,
    query: Sequence[tuple[str, str]],
    lowered: Mapping[str, str],
    signed_headers: list[str],
    body: bytes,
) -> str:
    lines = "".join(f"{name}:{lowered[name]}\n" for name in signed_headers)
    payload_hash = lowered.get(_UNSIGNED_HASH_HEADER) or (
        hashlib.sha256(body).hexdigest() if body else _EMPTY_HASH
    )
    return "\n".join(
        (
            method.upper(),
            canonical_uri(path),
            canonical_query(query),
            lines,
            ";".join(signed_headers),
            payload_hash,
        )
    )


def string_to_sign(canonical: str, sdk_date: str) -> str:
    """``ALGORITHM``, the ``X-Sdk-Date`` value and the canonical request's hex SHA-256."""
    digest = hashlib.sha256(canonical.encode("utf-8")).hexdigest()
    return f"{ALGORITHM}\n{sdk_date}\n{digest}"


def _signature(secret_key: str, to_sign: str) -> str:
    # The one-shot digest: no HMAC object per request.
    return hmac.digest(secret_key.encode("utf-8"), to_sign.encode("utf-8"), "sha256").hex()


def _aware(now: datetime) -> datetime:
    # A naive datetime would silently mean local time and skew every signature.
    if now.tzinfo is None or now.utcoffset() is None:
        raise InvalidArgumentError("now must be a timezone-aware datetime")
    return now


def format_sdk_date(now: datetime) -> str:
    """``now`` (timezone-aware) as an ``X-Sdk-Date`` value in UTC."""
    global _last_date
    # Requests of one second share the text: formatting it is most of a signature's cost.
    # Exact integer arithmetic: a float timestamp rounds x.999999 up in later centuries.
    second = (_aware(now) - _EPOCH) // _SECOND
    last = _last_date
    if last[0] == second:
        return last[1]
    text = now.astimezone(UTC).strftime(DATE_FORMAT)
    _last_date = (second, text)
    return text


_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
_SECOND = timedelta(seconds=1)
_last_date: tuple[int, str] = (-(2**63), "")


def sign_request(
    *,
    method: str,
    url: str,
    headers: Mapping[str, str],
    body: bytes,
    access_key: str,
    secret_key: str,
    security_token: str | None = None,
    now: datetime,
) -> dict[str, str]:
    """The headers to add so the request carries a valid signature.

    Every header in ``headers`` is signed; send them unchanged. The result holds
    ``Host``, ``X-Sdk-Date``, ``Authorization`` and, with a ``security_token``,
    ``X-Security-Token``. Query parameters are taken from ``url``.
    """
    netloc, path, query = _split(url)
    added = {"Host": netloc, "X-Sdk-Date": format_sdk_date(now)}
    if security_token is not None:
        added["X-Security-Token"] = security_token
    lowered = _normalise(headers)
    lowered["host"] = netloc
    lowered["x-sdk-date"] = added["X-Sdk-Date"]
    if security_token is not None:
        lowered["x-security-token"] = security_token.strip()
    signed = sorted(lowered)
    canonical = _canonical(method, path, query, lowered, signed, body)
    signature = _signature(secret_key, string_to_sign(canonical, added["X-Sdk-Date"]))
    added["Authorization"] = (
        f"{ALGORITHM} Access={access_key}, SignedHeaders={';'.join(signed)}, Signature={signature}"
    )
    return added


@lru_cache(maxsize=4096)
def _split(url: str) -> tuple[str, str, tuple[tuple[str, str], ...]]:
    parts = urlsplit(url)
    if not parts.netloc:
        raise InvalidArgumentError("url must be absolute (scheme://host/path)")
    return parts.netloc, parts.path or "/", tuple(parse_qsl(parts.query, keep_blank_values=True))


def parse_authorization(value: str) -> tuple[str, list[str], str] | None:
    """``(access_key, signed_headers, signature)`` from an ``Authorization`` value, or None."""
    scheme, _, rest = value.strip().partition(" ")
    if scheme != ALGORITHM:
        return None
    fields: dict[str, str] = {}
    for item in rest.split(","):
        key, sep, val = item.strip().partition("=")
        if not sep:
            return None
        fields[key] = val
    try:
        access, signed, signature = fields["Access"], fields["SignedHeaders"], fields["Signature"]
    except KeyError:
        return None
    if not access or not signed or not signature:
        return None
    return access, signed.split(";"), signature


def check_signature(
    *,
    method: str,
    path: str,
    query_string: str,
    headers: Mapping[str, str],
    body: bytes,
    secret_key_for: Callable[[str], str | None],
    now: datetime,
    max_skew: timedelta = _DEFAULT_SKEW,
) -> str | None:
    """Why a received request's signature is not acceptable, or ``None`` if it is.

    For servers and simulators. ``path`` and ``query_string`` are as received (still
    percent-encoded); ``secret_key_for`` maps an access key to its secret (None: unknown).
    ``x-sdk-date`` must be signed and within ``max_skew`` of ``now``. The reasons never
    contain the secret or the expected signature.
    """
    lowered = _normalise(headers)
    auth = lowered.get("authorization")
    if auth is None:
        return "missing Authorization header"
    parsed = parse_authorization(auth)
    if parsed is None:
        return f"Authorization is not {ALGORITHM}"
    access_key, signed, signature = parsed
    if signed != sorted(set(signed)):
        return "SignedHeaders must be sorted and unique"
    if "x-sdk-date" not in signed or "host" not in signed:
        return "SignedHeaders must include host and x-sdk-date"
    missing = [name for name in signed if name not in lowered]
    if missing:
        return f"signed headers missing from the request: {', '.join(missing)}"
    sdk_date = lowered["x-sdk-date"]
    try:
        sent_at = datetime.strptime(sdk_date, DATE_FORMAT).replace(tzinfo=UTC)
    except ValueError:
        return f"X-Sdk-Date is not {DATE_FORMAT}"
    if abs(_aware(now) - sent_at) > max_skew:
        return "X-Sdk-Date is too far from the server's time"
    secret = secret_key_for(access_key)
    if secret is None:
        return "unknown access key"
    query = parse_qsl(query_string, keep_blank_values=True)
    canonical = _canonical(method, path, query, lowered, signed, body)
    expected = _signature(secret, string_to_sign(canonical, sdk_date))
    if not hmac.compare_digest(expected, signature):
        return "signature does not match"
    return None


def verify_request(
    *,
    method: str,
    path: str,
    query_string: str,
    headers: Mapping[str, str],
    body: bytes,
    secret_key_for: Callable[[str], str | None],
    now: datetime,
    max_skew: timedelta = _DEFAULT_SKEW,
) -> bool:
    """True when :func:`check_signature` finds nothing wrong."""
    return (
        check_signature(
            method=method,
            path=path,
            query_string=query_string,
            headers=headers,
            body=body,
            secret_key_for=secret_key_for,
            now=now,
            max_skew=max_skew,
        )
        is None
    )

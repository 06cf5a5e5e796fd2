"""SDK-HMAC-SHA256: fixed vectors derived by hand here, and round-trip properties."""

from __future__ import annotations

import dataclasses
import hashlib
import hmac
import random
from collections.abc import Callable, Mapping
from datetime import UTC, datetime, timedelta, timezone
from types import MappingProxyType
from urllib.parse import quote, urlencode, urlsplit

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from modelarts_poller._errors import InvalidArgumentError
from modelarts_poller._signer import (
    canonical_uri,
    check_signature,
    format_sdk_date,
    parse_authorization,
    sign_request,
    verify_request,
)
from tests.budget import examples

NOW = datetime(2024, 1, 2, 3, 4, 5, tzinfo=UTC)
EMPTY_SHA256 = "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"
AK, SK = "AKEXAMPLE", "SKEXAMPLEsecret"


def _hmac_hex(key: str, text: str) -> str:
    return hmac.new(key.encode(), text.encode(), hashlib.sha256).hexdigest()


def _sha_hex(text: str) -> str:
    return hashlib.sha256(text.encode()).hexdigest()


def test_get_vector_matches_hand_derived_canonical_request() -> None:
    added = sign_request(
        method="get",
        url="https://modelarts.cn-north-4.myhuaweicloud.com/v2/proj/datasets/ds1/sync-data/status?b=2&a=x%20y",
        headers={"Content-Type": "application/json", "X-Project-Id": "  proj "},
        body=b"",
        access_key=AK,
        secret_key=SK,
        now=NOW,
    )
    canonical = (
        "GET\n"
        "/v2/proj/datasets/ds1/sync-data/status/\n"
        "a=x%20y&b=2\n"
        "content-type:application/json\n"
        "host:modelarts.cn-north-4.myhuaweicloud.com\n"
        "x-project-id:proj\n"
        "x-sdk-date:20240102T030405Z\n"
        "\n"
        "content-type;host;x-project-id;x-sdk-date\n" + EMPTY_SHA256
    )
    to_sign = "SDK-HMAC-SHA256\n20240102T030405Z\n" + _sha_hex(canonical)
    signature = _hmac_hex(SK, to_sign)
    assert added == {
        "Host": "modelarts.cn-north-4.myhuaweicloud.com",
        "X-Sdk-Date": "20240102T030405Z",
        "Authorization": "SDK-HMAC-SHA256 Access=AKEXAMPLE, "
        "SignedHeaders=content-type;host;x-project-id;x-sdk-date, "
        f"Signature={signature}",
    }
    # Frozen so that a change to both the code and the derivation above cannot go unnoticed.
    assert _sha_hex(canonical) == "f2817e89a125a60d0a110346845d801baff5c8e64f50e46442e2303cb3904cb9"
    assert signature == "324b64cdced9bdb01cc0c174958205e9e9c0589f8ad613ce5cd14790762478ff"


def test_post_vector_with_security_token_port_and_odd_path() -> None:
    body = b'{"a": 1}'
    added = sign_request(
        method="POST",
        url="http://127.0.0.1:8080/v2/p/data%20sets/\u00e9~x",
        headers={"content-type": "application/json"},
        body=body,
        access_key=AK,
        secret_key=SK,
        security_token="tok",
        now=datetime(2024, 1, 2, 11, 4, 5, tzinfo=timezone(timedelta(hours=8))),
    )
    canonical = (
        "POST\n"
        "/v2/p/data%20sets/%C3%A9~x/\n"
        "\n"
        "content-type:application/json\n"
        "host:127.0.0.1:8080\n"
        "x-sdk-date:20240102T030405Z\n"
        "x-security-token:tok\n"
        "\n"
        "content-type;host;x-sdk-date;x-security-token\n" + hashlib.sha256(body).hexdigest()
    )
    signature = _hmac_hex(SK, "SDK-HMAC-SHA256\n20240102T030405Z\n" + _sha_hex(canonical))
    assert added["X-Security-Token"] == "tok"
    assert added["X-Sdk-Date"] == "20240102T030405Z"
    assert added["Authorization"].endswith(f"Signature={signature}")


def test_unsigned_payload_header_replaces_body_hash() -> None:
    headers = {"X-Sdk-Content-Sha256": "UNSIGNED-PAYLOAD"}
    added = sign_request(
        method="PUT",
        url="https://h/x",
        headers=headers,
        body=b"anything",
        access_key=AK,
        secret_key=SK,
        now=NOW,
    )
    canonical = (
        "PUT\n/x/\n\nhost:h\nx-sdk-content-sha256:UNSIGNED-PAYLOAD\nx-sdk-date:20240102T030405Z\n"
        "\nhost;x-sdk-content-sha256;x-sdk-date\nUNSIGNED-PAYLOAD"
    )
    signature = _hmac_hex(SK, "SDK-HMAC-SHA256\n20240102T030405Z\n" + _sha_hex(canonical))
    assert added["Authorization"].endswith(f"Signature={signature}")


@pytest.mark.parametrize(
    ("path", "expected"),
    [
        ("", "/"),
        ("/", "/"),
        ("/a/b", "/a/b/"),
        ("/a/b/", "/a/b/"),
        ("/a%20b/c", "/a%20b/c/"),
        ("/a b", "/a%20b/"),
        ("/x:y@z", "/x%3Ay%40z/"),
        ("/A-Z_0.9~", "/A-Z_0.9~/"),
    ],
)
def test_canonical_uri(path: str, expected: str) -> None:
    assert canonical_uri(path) == expected


def test_naive_datetime_rejected() -> None:
    with pytest.raises(InvalidArgumentError, match="timezone-aware"):
        sign_request(
            method="GET",
            url="https://h/",
            headers={},
            body=b"",
            access_key=AK,
            secret_key=SK,
            now=datetime(2024, 1, 1),
        )


def test_relative_url_rejected() -> None:
    with pytest.raises(InvalidArgumentError, match="absolute"):
        sign_request(
            method="GET", url="/v2/x", headers={}, body=b"", access_key=AK, secret_key=SK, now=NOW
        )


@pytest.mark.parametrize(
    "value",
    [
        "Bearer x",
        "SDK-HMAC-SHA256 Access=a",
        "SDK-HMAC-SHA256 Access=a, SignedHeaders=host, Signature=",
        "SDK-HMAC-SHA256 garbage",
        "",
    ],
)
def test_parse_authorization_rejects_malformed(value: str) -> None:
    assert parse_authorization(value) is None


# --- round trips -------------------------------------------------------------------------

_name = st.from_regex(r"[A-Za-z][A-Za-z0-9-]{0,12}", fullmatch=True).filter(
    lambda n: (
        n.lower()
        not in {"host", "x-sdk-date", "authorization", "x-security-token", "x-sdk-content-sha256"}
    )
)
_value = st.from_regex(r"[!-~]([ -~]{0,20}[!-~])?", fullmatch=True)
_headers = st.dictionaries(_name, _value, max_size=5).map(
    lambda d: dict({k.lower(): (k, v) for k, v in d.items()}.values())
)
_segment = st.text(min_size=1, max_size=8).filter(lambda s: "/" not in s)
_query = st.lists(st.tuples(st.text(max_size=5), st.text(max_size=5)), max_size=4)


@dataclasses.dataclass(frozen=True)
class Req:
    method: str
    url: str
    headers: dict[str, str]
    body: bytes
    token: str | None
    query: list[tuple[str, str]]


@st.composite
def _requests(draw: st.DrawFn) -> Req:
    segments = draw(st.lists(_segment, max_size=4))
    query = draw(_query)
    path = "/" + "/".join(quote(s, safe="") for s in segments)
    qs = urlencode(query, quote_via=quote)
    return Req(
        method=draw(st.sampled_from(["GET", "POST", "PUT", "DELETE"])),
        url=f"https://example.test{path}" + (f"?{qs}" if qs else ""),
        headers=draw(_headers),
        body=draw(st.binary(max_size=64)),
        token=draw(st.none() | st.just("temporary-token")),
        query=query,
    )


def _check(
    req: Req,
    *,
    method: str | None = None,
    url: str | None = None,
    body: bytes | None = None,
    extra_headers: Mapping[str, str] = MappingProxyType({}),
    secret_key_for: Callable[[str], str | None] = {AK: SK}.get,
    now: datetime = NOW,
) -> str | None:
    """Sign ``req`` as sent, then check it as received with the given parts changed."""
    added = sign_request(
        method=req.method,
        url=req.url,
        headers=req.headers,
        body=req.body,
        access_key=AK,
        secret_key=SK,
        security_token=req.token,
        now=NOW,
    )
    parts = urlsplit(url or req.url)
    return check_signature(
        method=method or req.method,
        path=parts.path,
        query_string=parts.query,
        headers={**req.headers, **added, **extra_headers},
        body=req.body if body is None else body,
        secret_key_for=secret_key_for,
        now=now,
    )


@settings(max_examples=examples(200))
@given(_requests())
def test_verify_accepts_what_sign_produces(req: Req) -> None:
    assert _check(req) is None


@given(_requests(), st.binary(min_size=1, max_size=4))
def test_changed_body_fails(req: Req, extra: bytes) -> None:
    assert _check(req, body=req.body + extra) == "signature does not match"


@given(_requests())
def test_changed_method_fails(req: Req) -> None:
    assert _check(req, method="PATCH") == "signature does not match"


@given(_requests(), _segment)
def test_changed_path_fails(req: Req, seg: str) -> None:
    parts = urlsplit(req.url)
    url = parts._replace(path=parts.path.rstrip("/") + "/" + quote(seg, safe="")).geturl()
    assert _check(req, url=url) == "signature does not match"


@given(_requests())
def test_changed_query_fails(req: Req) -> None:
    url = req.url + ("&" if "?" in req.url else "?") + "zz=1"
    assert _check(req, url=url) == "signature does not match"


@given(_requests().filter(lambda r: bool(r.headers)), _value)
def test_changed_signed_header_fails(req: Req, new: str) -> None:
    name, old = next(iter(req.headers.items()))
    if new == old:
        new += "x"
    assert _check(req, extra_headers={name: new}) == "signature does not match"


@given(_requests())
def test_unsigned_extra_header_is_ignored(req: Req) -> None:
    assert _check(req, extra_headers={"User-Agent-Unsigned": "whatever"}) is None


@given(_requests())
def test_wrong_secret_or_unknown_key_fails(req: Req) -> None:
    assert _check(req, secret_key_for={AK: SK + "x"}.get) == "signature does not match"
    assert _check(req, secret_key_for=lambda _ak: None) == "unknown access key"


@given(_requests(), st.integers(min_value=16 * 60, max_value=10**6), st.sampled_from([1, -1]))
def test_skew_rejected(req: Req, seconds: int, sign: int) -> None:
    later = NOW + timedelta(seconds=sign * seconds)
    assert _check(req, now=later) == "X-Sdk-Date is too far from the server's time"


@given(_requests(), st.randoms(use_true_random=False))
def test_order_of_headers_and_query_irrelevant(req: Req, rnd: random.Random) -> None:
    headers = list(req.headers.items())
    query = list(req.query)
    rnd.shuffle(headers)
    rnd.shuffle(query)
    qs = urlencode(query, quote_via=quote)
    shuffled_url = req.url.split("?")[0] + (f"?{qs}" if qs else "")

    def sign(url: str, hdrs: dict[str, str]) -> dict[str, str]:
        return sign_request(
            method="GET", url=url, headers=hdrs, body=b"", access_key=AK, secret_key=SK, now=NOW
        )

    assert sign(req.url, req.headers) == sign(shuffled_url, dict(headers))


def _received(headers: dict[str, str]) -> str | None:
    return check_signature(
        method="GET",
        path="/p",
        query_string="",
        headers=headers,
        body=b"",
        secret_key_for={AK: SK}.get,
        now=NOW,
    )


def test_missing_or_unsigned_date_rejected() -> None:
    added = sign_request(
        method="GET", url="https://h/p", headers={}, body=b"", access_key=AK, secret_key=SK, now=NOW
    )
    assert verify_request(
        method="GET",
        path="/p",
        query_string="",
        headers=added,
        body=b"",
        secret_key_for={AK: SK}.get,
        now=NOW,
    )
    no_auth = {k: v for k, v in added.items() if k != "Authorization"}
    assert _received(no_auth) == "missing Authorization header"
    no_date = {k: v for k, v in added.items() if k != "X-Sdk-Date"}
    assert _received(no_date) == "signed headers missing from the request: x-sdk-date"
    assert _received({**added, "X-Sdk-Date": "yesterday"}) == "X-Sdk-Date is not %Y%m%dT%H%M%SZ"
    only_host = added["Authorization"].replace("host;x-sdk-date", "host")
    assert _received({**added, "Authorization": only_host}) == (
        "SignedHeaders must include host and x-sdk-date"
    )
    unsorted = added["Authorization"].replace("host;x-sdk-date", "x-sdk-date;host")
    assert _received({**added, "Authorization": unsorted}) == (
        "SignedHeaders must be sorted and unique"
    )
    assert _received({**added, "Authorization": "Basic abc"}) == (
        "Authorization is not SDK-HMAC-SHA256"
    )


def test_reasons_never_leak_secret() -> None:
    added = sign_request(
        method="GET", url="https://h/p", headers={}, body=b"", access_key=AK, secret_key=SK, now=NOW
    )
    reason = check_signature(
        method="POST",
        path="/p",
        query_string="",
        headers=added,
        body=b"",
        secret_key_for={AK: SK}.get,
        now=NOW,
    )
    assert reason is not None
    assert SK not in reason


@given(
    st.datetimes(
        min_value=datetime(1971, 1, 1), max_value=datetime(2999, 1, 1), timezones=st.just(UTC)
    ),
    st.integers(min_value=-14 * 60, max_value=14 * 60),
)
def test_a_kept_sdk_date_matches_a_fresh_format(when: datetime, minutes: int) -> None:
    # format_sdk_date keeps the last second's text; any instant, in any zone, in the same
    # second, the next or an earlier one, still gets exactly its own UTC second.
    zone = timezone(timedelta(minutes=minutes))
    for instant in (
        when,
        when.astimezone(zone),
        when.replace(microsecond=999_999),
        when + timedelta(seconds=1),
        when - timedelta(seconds=1),
        when,
    ):
        assert format_sdk_date(instant) == instant.astimezone(UTC).strftime("%Y%m%dT%H%M%SZ")

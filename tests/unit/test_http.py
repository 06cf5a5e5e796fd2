"""The sans-I/O response decoder: every status class, bodies, Retry-After in both forms."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from email.utils import format_datetime

import pytest
from hypothesis import given
from hypothesis import strategies as st

from modelarts_poller._errors import (
    ApiError,
    BadRequest,
    Forbidden,
    NotFound,
    ParseError,
    PollerError,
    ProtocolError,
    RateLimited,
    ServerError,
    TransientError,
    Unauthorized,
    printable_line,
)
from modelarts_poller._http import (
    decode_json,
    decode_response,
    parse_retry_after,
    raise_for_status,
)

PATH = "/v2/p1/datasets/d1/sync-data/status"
NOW = 1_700_000_000.0


def _now() -> float:
    return NOW


def parse_status(data: object) -> str:
    if not isinstance(data, dict):
        raise ParseError("", data, "object")
    status = data.get("status")
    if not isinstance(status, str):
        raise ParseError("status", status, "str")
    return status


def _decode(status: int, body: bytes = b"", headers: dict[str, str] | None = None) -> str:
    return decode_response(status, headers or {}, body, parse_status, path=PATH, now=_now)


def test_200_parses() -> None:
    assert _decode(200, b'{"status": "RUNNING"}') == "RUNNING"


def test_2xx_other_than_200_parses() -> None:
    assert _decode(201, b'{"status": "QUEUING"}') == "QUEUING"


@pytest.mark.parametrize("body", [b"", b"not json", b"{", b"<html>502</html>", b"[" * 100_000])
def test_2xx_non_json_is_protocol_error(body: bytes) -> None:
    with pytest.raises(ProtocolError) as info:
        _decode(200, body)
    assert not isinstance(info.value, ParseError)
    assert info.value.status == 200
    assert "not JSON" in str(info.value)


def test_2xx_not_utf8_is_protocol_error() -> None:
    with pytest.raises(ProtocolError, match="not UTF-8"):
        _decode(200, '{"status": "RUNNING"}'.encode("utf-16"))


def test_2xx_wrong_shape_propagates_parse_error() -> None:
    with pytest.raises(ParseError) as info:
        _decode(200, b'{"status": 3}')
    assert info.value.path == "status"
    assert info.value.value == 3


@pytest.mark.parametrize(
    ("status", "cls"),
    [
        (400, BadRequest),
        (401, Unauthorized),
        (403, Forbidden),
        (404, NotFound),
        (405, BadRequest),
        (409, BadRequest),
        (418, BadRequest),
        (429, RateLimited),
        (500, ServerError),
        (502, ServerError),
        (503, ServerError),
        (599, ServerError),
    ],
)
def test_error_statuses_map_to_exceptions(status: int, cls: type[ApiError]) -> None:
    body = json.dumps({"error_code": "ModelArts.4101", "error_msg": "Token expired."}).encode()
    with pytest.raises(cls) as info:
        _decode(status, body)
    err = info.value
    assert type(err) is cls
    assert err.status == status
    assert err.error_code == "ModelArts.4101"
    assert err.error_msg == "Token expired."
    text = str(err)
    assert f"HTTP {status}" in text
    assert "ModelArts.4101" in text
    assert "Token expired." in text
    assert PATH in text


@pytest.mark.parametrize(
    "body", [b"", b"<html>oops</html>", b"[1,2]", b'{"error_code": 5}', b"\xff"]
)
def test_error_bodies_that_are_not_error_json_are_tolerated(body: bytes) -> None:
    with pytest.raises(NotFound) as info:
        _decode(404, body)
    assert info.value.error_code is None
    assert info.value.error_msg is None
    assert str(info.value) == f"HTTP 404 for GET {PATH}"


def test_long_error_msg_truncated_in_message_kept_in_field() -> None:
    msg = "x" * 5000
    with pytest.raises(BadRequest) as info:
        _decode(400, json.dumps({"error_msg": msg}).encode())
    assert info.value.error_msg == msg
    assert len(str(info.value)) < 400


@pytest.mark.parametrize("status", [100, 101, 301, 302, 304, 0, 99, 600, 999])
def test_unexpected_statuses_are_protocol_errors(status: int) -> None:
    with pytest.raises(ProtocolError, match=f"unexpected HTTP {status}"):
        _decode(status, b"{}")


def test_429_retry_after_seconds() -> None:
    with pytest.raises(RateLimited) as info:
        _decode(429, b"", {"Retry-After": "7"})
    assert info.value.retry_after == 7.0


def test_429_retry_after_http_date_any_case_header() -> None:
    date = format_datetime(datetime.fromtimestamp(NOW + 30, UTC), usegmt=True)
    with pytest.raises(RateLimited) as info:
        _decode(429, b"", {"retry-after": date})
    assert info.value.retry_after == 30.0


def test_503_carries_retry_after_too() -> None:
    with pytest.raises(ServerError) as info:
        _decode(503, b"", {"Retry-After": "2.5"})
    assert info.value.retry_after == 2.5


def test_429_without_retry_after() -> None:
    with pytest.raises(RateLimited) as info:
        _decode(429)
    assert info.value.retry_after is None


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("0", 0.0),
        (" 120 ", 120.0),
        ("1.5", 1.5),
        ("Wed, 21 Oct 2015 07:28:00 GMT", 0.0),  # in the past
        ("Tue, 14 Nov 2023 22:13:20 GMT", 0.0),  # NOW exactly
        ("Tue, 14 Nov 2023 22:14:20 GMT", 60.0),
        ("Tue, 14 Nov 2023 22:14:20 -0000", 60.0),
        ("", None),
        (None, None),
        ("soon", None),
        ("-5", None),
        ("1e3", None),
        ("inf", None),
        ("nan", None),
        ("9" * 400, None),
        ("\u0661\u0662", None),
        ("Mon, 99 Foo 99999 99:99:99 GMT", None),
    ],
)
def test_parse_retry_after(value: str | None, expected: float | None) -> None:
    assert parse_retry_after(value, _now) == expected


def test_parse_retry_after_reads_clock_only_for_dates() -> None:
    def boom() -> float:
        raise AssertionError("clock read for delta-seconds")

    assert parse_retry_after("3", boom) == 3.0


def test_decode_json() -> None:
    assert decode_json(b'{"a": [1]}', status=200, path=PATH) == {"a": [1]}


@given(st.text(max_size=40))
def test_parse_retry_after_never_crashes(value: str) -> None:
    result = parse_retry_after(value, _now)
    assert result is None or result >= 0.0


_headers = st.dictionaries(
    st.sampled_from(["Retry-After", "retry-after", "Content-Type", "X-Other"]),
    st.text(max_size=40) | st.sampled_from(["5", "Tue, 14 Nov 2023 22:15:20 GMT"]),
)


@given(st.integers(min_value=-1000, max_value=2000), _headers, st.binary(max_size=200))
def test_arbitrary_responses_give_a_value_or_a_library_error(
    status: int, headers: dict[str, str], body: bytes
) -> None:
    outcome: object
    try:
        outcome = _decode(status, body, headers)
    except PollerError as err:
        outcome = err
    if isinstance(outcome, PollerError):
        assert isinstance(outcome, ApiError)
        if isinstance(outcome, TransientError) and outcome.retry_after is not None:
            assert outcome.retry_after >= 0.0
    else:
        assert 200 <= status < 300
        assert isinstance(outcome, str)


_json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=8),
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=8), inner),
    max_leaves=10,
)


@given(st.sampled_from([200, 400, 401, 403, 404, 429, 500]), _json_values)
def test_arbitrary_json_bodies(status: int, value: object) -> None:
    body = json.dumps(value).encode()
    outcome: object
    try:
        outcome = _decode(status, body)
    except ApiError as err:
        outcome = err
    if isinstance(outcome, ApiError):
        assert outcome.status == status or isinstance(outcome, ParseError)
    else:
        assert status == 200


def test_iam_style_nested_error_body() -> None:
    body = (
        b'{"error": {"code": 401, "message": "The username or password is wrong.", "title": "x"}}'
    )
    with pytest.raises(Unauthorized) as info:
        _decode(401, body)
    assert info.value.error_code == "401"
    assert info.value.error_msg == "The username or password is wrong."


def test_flat_error_fields_win_over_nested() -> None:
    body = b'{"error_code": "MA.1", "error": {"code": 7, "message": "no"}}'
    with pytest.raises(BadRequest) as info:
        _decode(400, body)
    assert info.value.error_code == "MA.1"
    assert info.value.error_msg is None


@pytest.mark.parametrize("body", [b"", b"garbage", b"{}"])
def test_raise_for_status_ignores_2xx_bodies(body: bytes) -> None:
    assert raise_for_status(200, {}, body, path=PATH, method="POST") is None
    assert raise_for_status(204, {}, body, path=PATH, method="POST") is None


def test_raise_for_status_names_method() -> None:
    with pytest.raises(Forbidden, match=f"HTTP 403 for POST {PATH}"):
        raise_for_status(403, {}, b"", path=PATH, method="POST")


@given(code=st.text(max_size=30), msg=st.text(max_size=300))
def test_a_servers_error_text_reaches_the_message_as_one_printable_line(
    code: str, msg: str
) -> None:
    body = json.dumps({"error_code": code, "error_msg": msg}).encode()
    with pytest.raises(ApiError) as info:
        raise_for_status(400, {}, body, path=PATH)
    text = str(info.value)
    assert text.isprintable()  # no forged log line, no terminal escape
    if code:
        assert info.value.error_code == code  # the field keeps the server's text exactly
    if msg:
        assert info.value.error_msg == msg


def test_a_forged_log_line_in_an_error_message_is_escaped() -> None:
    body = json.dumps({"error_code": "ModelArts.0001", "error_msg": "no\n[CRITICAL] \x1b[31mx"})
    with pytest.raises(BadRequest) as info:
        raise_for_status(400, {}, body.encode(), path=PATH)
    assert "no\\n[CRITICAL] \\x1b[31mx" in str(info.value)
    assert info.value.error_msg == "no\n[CRITICAL] \x1b[31mx"


# Every error body shape the ModelArts reference, its gateway and IAM publish (the examples
# of the API pages and the common-response page), as (status, body) for a code and message.
def _published_shape(shape: str, code: str, msg: str) -> tuple[int, dict[str, object]]:
    flat = {
        "v2": ("error_code", "error_msg"),
        "common": ("error_code", "error_message"),
        "camel": ("errorCode", "errorMsg"),
        "plain": ("code", "message"),
    }
    if shape in flat:
        code_key, msg_key = flat[shape]
        return 400, {code_key: code, msg_key: msg}
    if shape == "nested":
        return 401, {"error": {"code": code, "message": msg, "title": "Unauthorized"}}
    msg_key = "error_message" if shape == "v1" else "error_msg"
    return 200, {"is_success": False, "error_code": code, msg_key: msg}


_SHAPES = ["v2", "common", "camel", "plain", "nested", "v1", "v1_msg"]


@given(
    shape=st.sampled_from(_SHAPES),
    code=st.text(max_size=30),
    msg=st.text(max_size=150),
    noise=st.dictionaries(
        st.sampled_from(["error_solution", "request_id", "details"]), st.text(max_size=5)
    ),
    status=st.sampled_from([None, 403, 404, 429, 500, 503]),
)
def test_every_published_error_shape_keeps_its_code_and_message(
    shape: str, code: str, msg: str, noise: dict[str, str], status: int | None
) -> None:
    published_status, body = _published_shape(shape, code, msg)
    if status is None or published_status == 200:
        status = published_status
    body = {**noise, **body}
    with pytest.raises(ApiError) as info:
        _decode(status, json.dumps(body).encode())
    err = info.value
    assert (err.error_code, err.error_msg) == (code, msg)
    assert err.status == status  # the status it came with, a v1 failure's 200 included
    text = str(err)
    assert text.startswith(f"HTTP {status} for GET {PATH}")
    assert printable_line(msg) in text
    assert printable_line(code) in text


def test_a_v1_failure_answered_200_keeps_its_status() -> None:
    body = {"is_success": False, "error_code": "ModelArts.0104", "error_message": "Bad."}
    with pytest.raises(BadRequest) as info:
        _decode(200, json.dumps(body).encode())
    assert info.value.status == 200
    assert str(info.value) == f"HTTP 200 for GET {PATH}: ModelArts.0104: Bad."

"""Credentials, header values and client options are checked when they are given, so a
bad one is named at once instead of failing every request later."""

from __future__ import annotations

import math
import pickle

import pytest

from modelarts_poller import (
    AkSkAuth,
    IamTokenAuth,
    InvalidArgumentError,
    ModelArtsClient,
    NoAuth,
    Secret,
    TokenAuth,
)

CONTROL = ["s3cr3t\n", "s3cr3t\r\n", "\ts3cr3t", "s3\x00cr3t", "s3cr3t\x7f", ""]
BAD_TEXT = [*CONTROL, " s3cr3t", "s3cr3t "]


@pytest.mark.parametrize("value", BAD_TEXT)
def test_a_token_with_a_newline_or_control_character_is_refused(value: str) -> None:
    with pytest.raises(InvalidArgumentError, match="token") as info:
        TokenAuth(value)
    assert "s3cr3t" not in str(info.value)  # never shown


@pytest.mark.parametrize("value", CONTROL)
@pytest.mark.parametrize("field", ["access_key", "secret_key", "security_token"])
def test_aksk_credentials_are_checked(field: str, value: str) -> None:
    args = {"access_key": "AK", "secret_key": "SK", "security_token": "ST", field: value}
    with pytest.raises(InvalidArgumentError, match=field):
        AkSkAuth(**args)


@pytest.mark.parametrize("value", [" s3cr3t", "s3cr3t "])
def test_a_secret_key_with_whitespace_at_either_end_is_refused(value: str) -> None:
    with pytest.raises(InvalidArgumentError, match="secret_key") as info:
        AkSkAuth("AK", value)
    assert "s3cr3t" not in str(info.value)


@pytest.mark.parametrize(
    "endpoint",
    ["http://", "ftp://iam", "http://user:pw@iam.test", "http://iam.test?x=1", "http://iam:99999"],
)
def test_an_iam_endpoint_that_is_not_a_plain_base_url_is_refused(endpoint: str) -> None:
    with pytest.raises(InvalidArgumentError, match="iam_endpoint"):
        IamTokenAuth(
            user_name="u", password="pw", domain_name="d", project_id="p", iam_endpoint=endpoint
        )


def test_iam_auth_cannot_be_pickled_with_its_password() -> None:
    auth = IamTokenAuth(user_name="u", password="s3cr3t", domain_name="d", project_id="p")
    with pytest.raises(TypeError, match="pickled"):
        pickle.dumps(auth)
    assert "s3cr3t" not in repr(vars(auth) if hasattr(auth, "__dict__") else auth)


@pytest.mark.parametrize("field", ["user_name", "domain_name", "password", "project_id"])
def test_iam_fields_are_checked(field: str) -> None:
    args = {"user_name": "u", "password": "pw", "domain_name": "d", "project_id": "p"}
    args[field] = "x\n"
    with pytest.raises(InvalidArgumentError, match=field):
        IamTokenAuth(**args)  # type: ignore[arg-type]


def test_a_password_may_have_spaces_but_no_control_characters() -> None:
    assert IamTokenAuth(user_name="u", password=" pass word ", domain_name="d", project_id="p")
    with pytest.raises(InvalidArgumentError, match="password"):
        IamTokenAuth(user_name="u", password="pw\n", domain_name="d", project_id="p")
    with pytest.raises(InvalidArgumentError):
        Secret("s\x1b[0m")


def client(**kw: object) -> ModelArtsClient:
    args: dict[str, object] = {
        "endpoint": "http://127.0.0.1:1",
        "project_id": "p",
        "auth": NoAuth(),
    }
    args.update(kw)
    return ModelArtsClient(**args)  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("kw", "name"),
    [
        ({"timeout": "5"}, "timeout"),
        ({"timeout": math.nan}, "timeout"),
        ({"timeout": math.inf}, "timeout"),
        ({"timeout": True}, "timeout"),
        ({"timeout": 0}, "timeout"),
        ({"connect_timeout": "5"}, "connect_timeout"),
        ({"connect_timeout": -1}, "connect_timeout"),
        ({"limit": "10"}, "limit"),
        ({"limit": 1.5}, "limit"),
        ({"limit": -1}, "limit"),
        ({"limit_per_host": 2.0}, "limit_per_host"),
        ({"user_agent": "agent\n"}, "user_agent"),
        ({"user_agent": 5}, "user_agent"),
        ({"endpoint": "http://127.0.0.1:99999"}, "endpoint"),
        ({"endpoint": "http://127.0.0.1:port"}, "endpoint"),
    ],
)
def test_client_options_are_checked_with_a_clear_error(kw: dict[str, object], name: str) -> None:
    with pytest.raises(InvalidArgumentError, match=name):
        client(**kw)


def test_good_client_options_are_taken() -> None:
    assert client(timeout=5, connect_timeout=None, limit=0, limit_per_host=3)

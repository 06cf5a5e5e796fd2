"""Which credentials the CLI uses when several are set: flags win over the environment."""

from __future__ import annotations

import argparse

import pytest

from modelarts_poller import AkSkAuth, InvalidArgumentError, TokenAuth
from modelarts_poller.cli import _env
from modelarts_poller.cli._commands import build_auth


def _args(**flags: str | None) -> argparse.Namespace:
    base: dict[str, str | bool | None] = {"no_auth": False, "token": None, "ak": None, "sk": None}
    base.update(flags)
    return argparse.Namespace(**base)


@pytest.fixture(autouse=True)
def _clean_env(monkeypatch: pytest.MonkeyPatch) -> None:
    for var in ("TOKEN", "AK", "SK", "SECURITY_TOKEN", "USERNAME", "PASSWORD", "DOMAIN"):
        monkeypatch.delenv(f"MODELARTS_{var}", raising=False)


def test_ak_sk_flags_win_over_a_token_in_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("MODELARTS_TOKEN", "env-token")
    auth = build_auth(_args(ak="AKFLAG", sk="skflag"), _env)
    assert isinstance(auth, AkSkAuth)


def test_a_token_flag_wins_over_ak_sk_in_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("MODELARTS_AK", "AKENV")
    monkeypatch.setenv("MODELARTS_SK", "skenv")
    assert isinstance(build_auth(_args(token="flag-token"), _env), TokenAuth)


def test_in_the_environment_the_token_comes_first(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("MODELARTS_TOKEN", "env-token")
    monkeypatch.setenv("MODELARTS_AK", "AKENV")
    monkeypatch.setenv("MODELARTS_SK", "skenv")
    assert isinstance(build_auth(_args(), _env), TokenAuth)


def test_token_and_ak_sk_flags_together_are_refused_without_showing_them() -> None:
    with pytest.raises(InvalidArgumentError, match="--token or --ak/--sk") as info:
        build_auth(_args(token="s3cr3t-token", ak="AKFLAG", sk="s3cr3t-sk"), _env)
    assert "s3cr3t" not in str(info.value)

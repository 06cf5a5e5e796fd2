"""The version: read from the installed package's metadata, by the package and the CLI."""

from __future__ import annotations

import importlib.metadata

import pytest

import modelarts_poller
from modelarts_poller import _version
from modelarts_poller.airflow._provider import get_provider_info
from modelarts_poller.cli import main


def test_version_is_the_installed_distributions() -> None:
    assert modelarts_poller.__version__ == importlib.metadata.version("modelarts-poller")


def test_cli_version_prints_it_and_exits_zero(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as exited:
        main(["--version"])
    assert exited.value.code == 0
    assert capsys.readouterr().out == f"modelarts-poller {modelarts_poller.__version__}\n"


def test_a_source_tree_never_installed_says_so(monkeypatch: pytest.MonkeyPatch) -> None:
    def missing(name: str) -> str:
        raise importlib.metadata.PackageNotFoundError(name)

    monkeypatch.setattr(_version, "version", missing)
    _version.installed_version.cache_clear()
    try:
        assert modelarts_poller.__version__ == "0+unknown"
        assert get_provider_info()["versions"] == []
    finally:
        _version.installed_version.cache_clear()


def test_other_missing_attributes_still_raise() -> None:
    with pytest.raises(AttributeError, match="no_such_name"):
        _ = modelarts_poller.no_such_name  # type: ignore[attr-defined]

"""The command line runs on uvloop when it is installed, on the standard loop otherwise."""

from __future__ import annotations

import asyncio
import importlib.util

import pytest

from modelarts_poller.cli import _loop


def test_uvloop_is_asked_for_only_when_importable(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(importlib.util, "find_spec", lambda name: None)
    assert _loop.backend_options() == {}
    monkeypatch.setattr(importlib.util, "find_spec", lambda name: object())
    assert _loop.backend_options() == {"use_uvloop": True}


def test_run_gives_back_the_result_on_the_loop_it_chose() -> None:
    async def main() -> str:
        return type(asyncio.get_running_loop()).__module__

    module = _loop.run(main)
    expected = "uvloop" if importlib.util.find_spec("uvloop") else "asyncio"
    assert module.split(".")[0] == expected

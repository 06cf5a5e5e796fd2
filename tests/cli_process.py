"""The command line as a subprocess, for the tests that run it (tests/process, and one
wire test that scrapes the metrics it serves)."""

from __future__ import annotations

import os
import subprocess
import sys

CLI = [sys.executable, "-m", "modelarts_poller.cli"]
# Credentials of the machine running the tests must not reach the CLI under test.
ENV = {k: v for k, v in os.environ.items() if not k.startswith("MODELARTS_")}


def run(*args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [*CLI, *args],
        capture_output=True,
        text=True,
        timeout=60,
        env={**ENV, **(env or {})},
        check=False,
    )

"""A ModelArts simulator for demos, benchmarks and your own tests.

It serves the status APIs of sixteen task kinds with their published shapes, the calls that
start, stop and list tasks, the published error dialect, IAM token issue, token and AK/SK checks,
fault injection and an advertised request quota, and counts what clients really did.
"""

from ._app import Counters
from ._cli import add_simulate_arguments, config_from_args, run_simulate
from ._config import Faults, SimulatorConfig
from ._lifecycle import KINDS, Script, body_at, spec_of
from ._server import Simulator, serve

__all__ = [
    "KINDS",
    "Counters",
    "Faults",
    "Script",
    "Simulator",
    "SimulatorConfig",
    "add_simulate_arguments",
    "body_at",
    "config_from_args",
    "run_simulate",
    "serve",
    "spec_of",
]

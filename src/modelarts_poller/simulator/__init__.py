"""A ModelArts simulator for demos, benchmarks and your own tests.

It serves the dataset sync, export and generic dataset task status APIs with the seed
documents' exact shapes, the calls that start tasks, IAM token issue, token and AK/SK
checks, fault injection and a request-rate limit, and counts what clients really did.
"""

from ._app import Counters
from ._cli import add_simulate_arguments, config_from_args, run_simulate
from ._config import Faults, SimulatorConfig
from ._lifecycle import Script, body_at, spec_of
from ._server import Simulator, serve

__all__ = [
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

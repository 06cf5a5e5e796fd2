"""The ``simulate`` command's options."""

from __future__ import annotations

import argparse
import signal
import sys

import anyio

from .._errors import InvalidArgumentError
from ..cli._ports import port_type
from ._config import Faults, SimulatorConfig
from ._lifecycle import KINDS
from ._server import Simulator, check_host, serve

_port = port_type(0)


def add_simulate_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("--host", default="127.0.0.1", help="bind address (default: 127.0.0.1)")
    p.add_argument("--port", type=_port, default=8080, help="port, 0 for any (default: 8080)")
    p.add_argument(
        "--allow-remote", action="store_true", help="allow binding an address that is not loopback"
    )
    p.add_argument("--project-id", default="sim-project", help="project of generated tasks")
    p.add_argument(
        "--auth",
        choices=["off", "token", "aksk", "either"],
        default="off",
        help="credentials to require (default: off)",
    )
    p.add_argument("--token", action="append", default=[], help="an accepted IAM token")
    p.add_argument(
        "--access-key",
        action="append",
        default=[],
        metavar="AK:SK",
        help="an accepted access key and its secret key",
    )
    p.add_argument(
        "--user",
        action="append",
        default=[],
        metavar="NAME:PASSWORD",
        help="an IAM user for POST /v3/auth/tokens",
    )
    p.add_argument(
        "--generate", type=int, default=0, metavar="N", help="create N mixed tasks at start"
    )
    p.add_argument(
        "--durations",
        default="lognormal:10:0.6",
        help="task run time: fixed:S, uniform:LO:HI or lognormal:MEDIAN:SIGMA",
    )
    p.add_argument(
        "--kinds",
        default="sync,export,dataset_task",
        help="comma-separated kinds --generate makes (default: sync,export,dataset_task)",
    )
    p.add_argument(
        "--quota",
        type=int,
        help="ModelArts requests per project per --quota-window, advertised in X-ratelimit "
        "headers (429 APIGW.0308 past it)",
    )
    p.add_argument(
        "--quota-window",
        choices=["second", "minute", "hour", "day"],
        default="second",
        help="the quota's window (default: second)",
    )
    p.add_argument("--rate-limit", type=float, help="older name of --quota (per second)")
    p.add_argument("--latency", type=float, default=0.0, help="seconds added to every answer")
    p.add_argument("--seed", type=int, help="random seed")
    f = p.add_argument_group("faults (probability per status request)")
    for name in ("server-error", "reset", "stall", "rate-limited", "garbage", "wrong-types"):
        f.add_argument(f"--fault-{name}", type=float, default=0.0, metavar="P")
    f.add_argument(
        "--fault-all",
        type=float,
        default=0.0,
        metavar="P",
        help="P spread evenly over every fault type",
    )
    f.add_argument("--stall-seconds", type=float, default=30.0)
    f.add_argument("--retry-after", type=float, default=1.0)


def _pairs(values: list[str], what: str) -> dict[str, str]:
    out = {}
    for v in values:
        k, sep, secret = v.partition(":")
        if not sep or not k or not secret:
            raise InvalidArgumentError(f"{what} must look like NAME:SECRET")
        out[k] = secret
    return out


def kinds_from_arg(value: str) -> tuple[str, ...]:
    """The kinds named in ``--kinds`` (comma-separated), each checked."""
    kinds = tuple(k.strip() for k in value.split(",") if k.strip())
    unknown = [k for k in kinds if k not in KINDS]
    if not kinds or unknown:
        raise InvalidArgumentError(f"--kinds must name some of {', '.join(KINDS)}")
    return kinds


def config_from_args(args: argparse.Namespace) -> SimulatorConfig:
    extra = {"stall_seconds": args.stall_seconds, "retry_after": args.retry_after}
    if args.fault_all:
        faults = Faults.uniform(args.fault_all, **extra)
    else:
        faults = Faults(
            server_error=args.fault_server_error,
            reset=args.fault_reset,
            stall=args.fault_stall,
            rate_limited=args.fault_rate_limited,
            garbage=args.fault_garbage,
            wrong_types=args.fault_wrong_types,
            **extra,
        )
    return SimulatorConfig(
        auth=args.auth,
        tokens=frozenset(args.token),
        access_keys=_pairs(args.access_key, "--access-key"),
        users=_pairs(args.user, "--user"),
        faults=faults,
        rate_limit=args.rate_limit,
        quota=args.quota,
        quota_window=args.quota_window,
        latency=args.latency,
        seed=args.seed,
    )


def run_simulate(args: argparse.Namespace) -> int:
    config = config_from_args(args)
    kinds = kinds_from_arg(args.kinds)
    check_host(args.host, args.allow_remote)  # before the loop: a one-line error, exit 2

    def ready(sim: Simulator) -> None:
        print(
            f"ModelArts simulator on {sim.url} (project {sim.project_id}); Ctrl-C stops it",
            file=sys.stderr,
            flush=True,
        )
        print(sim.url, flush=True)

    async def main() -> None:
        async with anyio.create_task_group() as tg:

            async def stop() -> None:
                with anyio.open_signal_receiver(signal.SIGINT, signal.SIGTERM) as signals:
                    async for _ in signals:
                        tg.cancel_scope.cancel()
                        return

            tg.start_soon(stop)
            await serve(
                config,
                host=args.host,
                port=args.port,
                project_id=args.project_id,
                allow_remote=args.allow_remote,
                generate=args.generate,
                durations=args.durations,
                kinds=kinds,
                ready=ready,
            )

    anyio.run(main)
    return 0

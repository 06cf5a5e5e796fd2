"""The ``modelarts-poller`` command line: ``watch``, ``stop``, ``demo`` and ``simulate``,
and ``--version``.

Built on the public API only. Exit codes: 0 every task completed (``stop``: stopped),
1 any task failed (``stop``: any not stopped), 2 usage or configuration error,
130 interrupted.
"""

from __future__ import annotations

import argparse
import os
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from .._backoff import Backoff
from .._errors import InvalidArgumentError, PollerError
from .._policy import PollPolicy
from .._version import package_version
from ._inputs import kind_names, spec_from_ref, specs_from_text
from ._ports import port_type
from ._watch import EXIT_INTERRUPTED, EXIT_USAGE

__all__ = ["main"]

ENV_HELP = """\
environment variables (flags win):
  MODELARTS_ENDPOINT       API endpoint, e.g. https://modelarts.cn-north-4.myhuaweicloud.com
  MODELARTS_REGION         region, used to build the endpoint when none is given
  MODELARTS_PROJECT_ID     project ID
  MODELARTS_TOKEN          an IAM token (sent as X-Auth-Token)
  MODELARTS_AK, MODELARTS_SK, MODELARTS_SECURITY_TOKEN
                           access key / secret key (SDK-HMAC-SHA256 signing)
  MODELARTS_IAM_ENDPOINT, MODELARTS_USERNAME, MODELARTS_PASSWORD, MODELARTS_DOMAIN
                           obtain and refresh a token from IAM with a password
  MODELARTS_POLLER_REDIS_URL
                           share --max-rate with other processes through this Redis
                           or Valkey store (redis://, rediss://; as --redis-url)
"""


class _Parser(argparse.ArgumentParser):
    def error(self, message: str) -> Any:  # one line, exit code 2, no usage dump
        self.exit(EXIT_USAGE, f"{self.prog}: error: {message}\n")


def _positive_float(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a number: {text!r}") from None
    if not value > 0 or value == float("inf"):
        raise argparse.ArgumentTypeError(f"must be a positive number: {text!r}")
    return value


def _positive_int(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a whole number: {text!r}") from None
    if value < 1:
        raise argparse.ArgumentTypeError(f"must be at least 1: {text!r}")
    return value


_port = port_type(1)


def _add_polling_options(p: argparse.ArgumentParser) -> None:
    g = p.add_argument_group("polling")
    g.add_argument(
        "--timeout",
        type=_positive_float,
        metavar="SECONDS",
        help="fail each task not finished after this long (default: no limit)",
    )
    g.add_argument(
        "--interval",
        type=_positive_float,
        default=1.0,
        metavar="SECONDS",
        help="first delay between polls (default: 1)",
    )
    g.add_argument(
        "--max-interval",
        type=_positive_float,
        default=30.0,
        metavar="SECONDS",
        help="longest delay between polls (default: 30)",
    )
    g.add_argument(
        "--strategy",
        choices=["exponential", "fibonacci", "constant"],
        default="exponential",
        help="how delays grow (default: exponential)",
    )
    g.add_argument(
        "--max-retries",
        type=_positive_int,
        default=8,
        metavar="N",
        help="transient errors in a row before a task fails (default: 8)",
    )
    g.add_argument(
        "--max-in-flight",
        type=_positive_int,
        default=32,
        metavar="N",
        help="concurrent requests (default: 32)",
    )
    g.add_argument(
        "--max-rate",
        type=_positive_float,
        metavar="PER_SECOND",
        help="requests per second, never exceeded in any second (default: none)",
    )
    g.add_argument(
        "--redis-url",
        metavar="URL",
        help="share --max-rate (the quota) with every process that uses the same credentials "
        "through this Redis or Valkey store, 5%% under it (needs the redis extra; prefer "
        "MODELARTS_POLLER_REDIS_URL for a URL with a password)",
    )
    g.add_argument(
        "--processes",
        type=_positive_int,
        default=1,
        metavar="N",
        help="processes sharing the quota: each keeps to 1/N of it while the store is "
        "unreachable (default: 1)",
    )


def _add_connection_options(p: argparse.ArgumentParser) -> None:
    conn = p.add_argument_group("connection")
    conn.add_argument("--endpoint", help="API endpoint (env MODELARTS_ENDPOINT)")
    conn.add_argument("--region", help="region (env MODELARTS_REGION)")
    conn.add_argument("--project-id", help="project ID (env MODELARTS_PROJECT_ID)")
    conn.add_argument("--token", help="IAM token (prefer env MODELARTS_TOKEN)")
    conn.add_argument("--ak", help="access key (env MODELARTS_AK)")
    conn.add_argument("--sk", help="secret key (prefer env MODELARTS_SK)")
    conn.add_argument(
        "--no-auth", action="store_true", help="send no credentials (for a local simulator)"
    )
    conn.add_argument(
        "--request-timeout",
        type=_positive_float,
        default=30.0,
        metavar="SECONDS",
        help="timeout of one request (default: 30)",
    )


def _stoppable() -> list[str]:
    from .._kind import kinds

    return [k.name for k in kinds() if getattr(k.spec_type, "STOP", None) is not None]


def _add_output_options(p: argparse.ArgumentParser) -> None:
    g = p.add_argument_group("output")
    g.add_argument(
        "--json",
        action="store_true",
        help="write JSON Lines events to stdout instead of the live display",
    )
    g.add_argument(
        "--max-bars",
        type=_positive_int,
        default=20,
        metavar="N",
        help="tasks shown with their own bar before the aggregate (default: 20)",
    )
    g.add_argument(
        "--metrics-port",
        type=_port,
        default=None,
        metavar="PORT",
        help="serve Prometheus metrics on 127.0.0.1:PORT/metrics while watching "
        "(needs prometheus_client)",
    )


def build_parser() -> argparse.ArgumentParser:
    parser = _Parser(
        prog="modelarts-poller",
        description="Watch Huawei Cloud ModelArts tasks until they finish: dataset "
        "operations, training jobs, models, services and more.",
        epilog="exit codes: 0 all completed, 1 any failed, 2 usage or configuration error, "
        "130 interrupted",
    )
    parser.add_argument(
        "--version",
        action="version",
        version=f"%(prog)s {package_version()}",
        help="print the installed version and exit",
    )
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", parser_class=_Parser)

    watch = sub.add_parser(
        "watch",
        help="watch tasks by ID or from a file",
        description="Watch ModelArts tasks of any kind until they finish.",
        epilog=ENV_HELP,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    watch.add_argument(
        "--kind",
        metavar="KIND",
        help=f"kind of the TASK arguments (and default kind for --file): {', '.join(kind_names())}"
        " (task: dataset_task)",
    )
    watch.add_argument(
        "tasks",
        nargs="*",
        metavar="TASK",
        help="the kind's IDs in path order joined by '/': sync DATASET_ID, export "
        "DATASET_ID/TASK_ID, version DATASET_ID/VERSION_ID, training_job JOB_ID, ...",
    )
    watch.add_argument(
        "--file",
        type=Path,
        action="append",
        default=[],
        help="CSV (kind,dataset_id,task_id[,project_id]) or JSON Lines file; "
        "'-' reads standard input",
    )
    _add_connection_options(watch)
    _add_polling_options(watch)
    remote = watch.add_argument_group("remote tasks")
    remote.add_argument(
        "--stop-at-deadline",
        action="store_true",
        help="stop each task still running at --timeout (its kind's stop call) instead of "
        "leaving it running",
    )
    remote.add_argument(
        "--stop-on-interrupt",
        action="store_true",
        help="on Ctrl-C, stop the unfinished tasks and wait for them to stop (without it, "
        "Ctrl-C leaves them running)",
    )
    _add_output_options(watch)

    stop = sub.add_parser(
        "stop",
        help="stop running tasks and wait until they have stopped",
        description="Send each task its kind's stop call and wait for its stopped state. "
        "Exit code: 0 every task stopped, 1 any did not (it had ended, the stop was refused "
        "or failed, or --timeout passed), 2 usage error (a kind without a stop call is "
        "refused before anything is sent), 130 interrupted.",
        epilog=ENV_HELP,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    stop.add_argument(
        "--kind",
        metavar="KIND",
        required=True,
        help=f"kind of the TASK arguments; one with a stop call: {', '.join(_stoppable())}",
    )
    stop.add_argument(
        "tasks", nargs="+", metavar="TASK", help="the kind's IDs in path order joined by '/'"
    )
    _add_connection_options(stop)
    g = stop.add_argument_group("waiting")
    g.add_argument(
        "--timeout",
        type=_positive_float,
        metavar="SECONDS",
        help="give up waiting for a task's stopped state after this long (default: no limit)",
    )
    g.add_argument(
        "--interval",
        type=_positive_float,
        default=1.0,
        metavar="SECONDS",
        help="first delay between polls (default: 1)",
    )
    g.add_argument(
        "--max-interval",
        type=_positive_float,
        default=10.0,
        metavar="SECONDS",
        help="longest delay between polls (default: 10)",
    )
    g.add_argument(
        "--max-retries",
        type=_positive_int,
        default=8,
        metavar="N",
        help="transient errors in a row before giving up (default: 8)",
    )
    stop.add_argument("--json", action="store_true", help="write each end as a JSON line")
    stop.set_defaults(strategy="exponential", stop_at_deadline=False)

    demo = sub.add_parser(
        "demo",
        help="run the built-in simulator and watch a few hundred tasks",
        description="Start the ModelArts simulator on a free loopback port, create a few "
        "hundred tasks of every built-in kind, and watch them live. No credentials needed.",
    )
    demo.add_argument(
        "--tasks",
        type=_positive_int,
        default=300,
        metavar="N",
        help="how many tasks (default: 300)",
    )
    demo.add_argument(
        "--duration",
        type=_positive_float,
        default=10.0,
        metavar="SECONDS",
        help="median task duration (default: 10)",
    )
    demo.add_argument("--seed", type=int, default=7, help="random seed (default: 7)")
    _add_output_options(demo)

    simulate = sub.add_parser(
        "simulate",
        help="serve the ModelArts simulator for your own tests",
        description="Serve the ModelArts APIs of every built-in kind on loopback, with "
        "scripted task lifecycles, authentication checks and fault injection.",
    )
    _add_simulate_arguments(simulate)
    return parser


def _add_simulate_arguments(p: argparse.ArgumentParser) -> None:
    from ..simulator import add_simulate_arguments

    add_simulate_arguments(p)


def _policy(args: argparse.Namespace) -> PollPolicy:
    if args.max_interval < args.interval:
        raise InvalidArgumentError(
            f"--max-interval ({args.max_interval}) must be >= --interval ({args.interval})"
        )
    if args.stop_at_deadline and args.timeout is None:
        raise InvalidArgumentError("--stop-at-deadline needs --timeout (the deadline)")
    return PollPolicy(
        interval=Backoff(initial=args.interval, maximum=args.max_interval, strategy=args.strategy),
        max_retries=args.max_retries,
        deadline=args.timeout,
        at_deadline="stop" if args.stop_at_deadline else "leave",
    )


def _read_specs(args: argparse.Namespace) -> list[Any]:
    specs: list[Any] = []
    if args.tasks and not args.kind:
        raise InvalidArgumentError(f"TASK arguments need --kind ({', '.join(kind_names())})")
    for ref in args.tasks:
        specs.append(spec_from_ref(args.kind, ref))
    for path in args.file:
        if str(path) == "-":
            text, name = sys.stdin.read(), "<stdin>"
        else:
            try:
                text = path.read_text(encoding="utf-8-sig")
            except OSError as exc:
                raise InvalidArgumentError(f"cannot read {path}: {exc.strerror}") from None
            except UnicodeDecodeError:
                raise InvalidArgumentError(f"{path}: not UTF-8 text") from None
            name = str(path)
        specs.extend(specs_from_text(text, name=name, default_kind=args.kind))
    if not specs:
        raise InvalidArgumentError("nothing to watch: give TASK arguments or --file")
    return list(dict.fromkeys(specs))


def _env(args: argparse.Namespace, attr: str, var: str) -> str | None:
    value = getattr(args, attr, None)
    return value if value else os.environ.get(var) or None


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    if args.command is None:
        parser.print_help()
        return 0
    try:
        if args.command == "watch":
            from ._commands import watch_command

            return watch_command(args, specs=_read_specs(args), policy=_policy(args), env=_env)
        if args.command == "stop":
            from ._commands import stop_command

            specs = list(dict.fromkeys(spec_from_ref(args.kind, ref) for ref in args.tasks))
            return stop_command(args, specs=specs, policy=_policy(args), env=_env)
        if args.command == "demo":
            from ._commands import demo_command

            return demo_command(args)
        from ._commands import simulate_command

        return simulate_command(args)
    except InvalidArgumentError as exc:
        print(f"modelarts-poller: error: {exc}", file=sys.stderr)
        return EXIT_USAGE
    except KeyboardInterrupt:
        print("modelarts-poller: interrupted", file=sys.stderr)
        return EXIT_INTERRUPTED
    except PollerError as exc:
        print(f"modelarts-poller: error: {exc}", file=sys.stderr)
        return EXIT_USAGE


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())

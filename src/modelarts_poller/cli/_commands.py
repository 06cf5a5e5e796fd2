"""The CLI's commands, each returning an exit code."""

from __future__ import annotations

import argparse
import logging
from collections.abc import Callable
from typing import Any

from .._auth import NoAuth
from .._errors import InvalidArgumentError
from .._policy import PollPolicy
from ._loop import run as run_loop
from ._watch import run_watch

Env = Callable[[argparse.Namespace, str, str], "str | None"]


def build_auth(args: argparse.Namespace, env: Env) -> Any:
    """Credentials from flags or the environment; a one-line error when there are none."""

    if args.no_auth:
        return NoAuth()
    try:
        return _auth_from(args, env)
    except InvalidArgumentError as exc:
        # Name where the bad value came from (the value itself is never shown).
        message = str(exc)
        name, _, rest = message.partition(" ")
        source = _SOURCES.get(name)
        if source is not None:
            message = f"{source} {rest}"
        raise InvalidArgumentError(message) from None


_SOURCES = {
    "token": "MODELARTS_TOKEN (or --token)",
    "access_key": "MODELARTS_AK (or --ak)",
    "secret_key": "MODELARTS_SK (or --sk)",
    "security_token": "MODELARTS_SECURITY_TOKEN",
    "user_name": "MODELARTS_USERNAME",
    "password": "MODELARTS_PASSWORD",
    "domain_name": "MODELARTS_DOMAIN",
    "project_id": "MODELARTS_PROJECT_ID (or --project-id)",
}


def _auth_from(args: argparse.Namespace, env: Env) -> Any:
    from .. import AkSkAuth, IamTokenAuth, TokenAuth

    # Flags win over the environment for the kind of credentials too: --ak/--sk on the
    # command line are not overridden by a MODELARTS_TOKEN that happens to be set.
    flag_token = getattr(args, "token", None)
    flag_key = getattr(args, "ak", None) or getattr(args, "sk", None)
    if flag_token and flag_key:
        raise InvalidArgumentError("pass --token or --ak/--sk, not both")
    token = None if flag_key else env(args, "token", "MODELARTS_TOKEN")
    if token:
        return TokenAuth(token)
    ak = env(args, "ak", "MODELARTS_AK")
    sk = env(args, "sk", "MODELARTS_SK")
    if ak or sk:
        if not (ak and sk):
            raise InvalidArgumentError("AK/SK signing needs both MODELARTS_AK and MODELARTS_SK")
        return AkSkAuth(ak, sk, env(args, "security_token", "MODELARTS_SECURITY_TOKEN"))
    user = env(args, "username", "MODELARTS_USERNAME")
    if user:
        password = env(args, "password", "MODELARTS_PASSWORD")
        domain = env(args, "domain", "MODELARTS_DOMAIN")
        if not (password and domain):
            raise InvalidArgumentError(
                "IAM password login needs MODELARTS_USERNAME, MODELARTS_PASSWORD and "
                "MODELARTS_DOMAIN"
            )
        extra: dict[str, Any] = {}
        iam = env(args, "iam_endpoint", "MODELARTS_IAM_ENDPOINT")
        if iam:
            extra["iam_endpoint"] = iam
        region = env(args, "region", "MODELARTS_REGION")
        if region:
            extra["region"] = region  # the regional IAM, unless an endpoint was given
        return IamTokenAuth(
            user_name=user,
            password=password,
            domain_name=domain,
            project_id=env(args, "project_id", "MODELARTS_PROJECT_ID"),
            **extra,
        )
    raise InvalidArgumentError(
        "missing credentials: set MODELARTS_TOKEN, or MODELARTS_AK and MODELARTS_SK, or "
        "MODELARTS_USERNAME/PASSWORD/DOMAIN (or pass --no-auth for a local simulator)"
    )


def _client_factory(args: argparse.Namespace, env: Env, *, limit: int) -> Callable[[], Any]:
    """A maker of the ModelArtsClient the flags and the environment describe."""
    from .. import ModelArtsClient

    endpoint = env(args, "endpoint", "MODELARTS_ENDPOINT")
    region = env(args, "region", "MODELARTS_REGION")
    project_id = env(args, "project_id", "MODELARTS_PROJECT_ID")
    if not project_id:
        raise InvalidArgumentError("missing project ID: set MODELARTS_PROJECT_ID or --project-id")
    if not (endpoint or region):
        raise InvalidArgumentError(
            "missing endpoint: set MODELARTS_ENDPOINT or MODELARTS_REGION (or --endpoint)"
        )
    auth = build_auth(args, env)

    def client() -> Any:
        return ModelArtsClient(
            endpoint=endpoint,
            region=region,
            project_id=project_id,
            auth=auth,
            timeout=args.request_timeout,
            limit=limit,
        )

    return client


def stop_command(
    args: argparse.Namespace, *, specs: list[Any], policy: PollPolicy, env: Env
) -> int:
    from ._stop import check_stoppable, run_stop

    check_stoppable(specs)
    client = _client_factory(args, env, limit=32)
    return run_loop(lambda: run_stop(specs, client=client, policy=policy, json_lines=args.json))


def watch_command(
    args: argparse.Namespace, *, specs: list[Any], policy: PollPolicy, env: Env
) -> int:
    from .. import ModelArtsClient

    endpoint = env(args, "endpoint", "MODELARTS_ENDPOINT")
    region = env(args, "region", "MODELARTS_REGION")
    project_id = env(args, "project_id", "MODELARTS_PROJECT_ID")
    if not project_id:
        raise InvalidArgumentError("missing project ID: set MODELARTS_PROJECT_ID or --project-id")
    if not (endpoint or region):
        raise InvalidArgumentError(
            "missing endpoint: set MODELARTS_ENDPOINT or MODELARTS_REGION (or --endpoint)"
        )
    auth = build_auth(args, env)
    redis_url = env(args, "redis_url", "MODELARTS_POLLER_REDIS_URL")
    if redis_url is not None and args.max_rate is None:
        raise InvalidArgumentError(
            "a shared limit needs its quota: give --max-rate with --redis-url "
            "(or MODELARTS_POLLER_REDIS_URL)"
        )

    def limiter() -> Any:
        if redis_url is None:
            return None
        try:
            from ..redis import RedisRateLimiter
        except ImportError:
            raise InvalidArgumentError(
                "--redis-url needs redis-py: pip install 'modelarts-poller[redis]'"
            ) from None
        # The store lost and found again is news for whoever runs the command: on stderr.
        handler = logging.StreamHandler()
        handler.setFormatter(logging.Formatter("modelarts-poller: %(message)s"))
        log = logging.getLogger("modelarts_poller.redis")
        log.addHandler(handler)
        log.setLevel(logging.WARNING)
        return RedisRateLimiter(redis_url, quota=args.max_rate, processes=args.processes)

    def client() -> Any:
        return ModelArtsClient(
            endpoint=endpoint,
            region=region,
            project_id=project_id,
            auth=auth,
            timeout=args.request_timeout,
            limit=max(args.max_in_flight, 1),
        )

    return run_loop(
        lambda: run_watch(
            specs,
            client=client,
            policy=policy,
            max_in_flight=args.max_in_flight,
            max_rate=None if redis_url is not None else args.max_rate,
            rate_limiter=limiter,
            json_lines=args.json,
            max_bars=args.max_bars,
            metrics_port=args.metrics_port,
            stop_on_interrupt=args.stop_on_interrupt,
        )
    )


def simulate_command(args: argparse.Namespace) -> int:
    from ..simulator import run_simulate

    return run_simulate(args)


def demo_command(args: argparse.Namespace) -> int:
    """The simulator in-process, a few hundred mixed tasks, the live display.

    Some tasks fail on purpose (that is part of the show): the demo exits 0 unless it
    is interrupted or cannot run.
    """
    from .. import Backoff, ModelArtsClient
    from .._kind import kinds as registered_kinds
    from ..simulator import KINDS, Faults, Simulator, SimulatorConfig, spec_of

    config = SimulatorConfig(
        seed=args.seed, faults=Faults.uniform(0.04, stall_seconds=2.0, retry_after=0.5)
    )
    policy = PollPolicy(
        interval=Backoff(initial=0.5, maximum=4.0),
        retry=Backoff(initial=0.2, maximum=2.0, jitter="full"),
        max_retries=20,
    )

    watched = {kind.name for kind in registered_kinds()}

    async def main() -> int:
        async with Simulator(config) as sim:
            scripts = sim.generate(
                args.tasks,
                # a mix of every kind both the simulator serves and the library watches
                kinds=[k for k in KINDS if k in watched],
                durations=f"lognormal:{args.duration}:0.3",
                queue="uniform:0:2",
                failure_rate=0.08,
                seed=args.seed,
            )
            specs = [spec_of(s) for s in scripts]

            def client() -> Any:
                return ModelArtsClient(
                    endpoint=sim.url, project_id=sim.project_id, auth=NoAuth(), timeout=1.0
                )

            code = await run_watch(
                specs,
                client=client,
                policy=policy,
                max_in_flight=32,
                max_rate=None,
                json_lines=args.json,
                max_bars=args.max_bars,
                metrics_port=args.metrics_port,
            )
            return 0 if code == 1 else code

    return run_loop(main)

"""One engine per connection for many trigger-shaped watchers in one event loop (no Airflow).

Many async triggers run in one triggerer loop. Each watches one ModelArts task until its
end and then reports one event. This module lets all of them that use the same connection
share one ``ModelArtsClient`` and one ``Engine``: one rate limit, one connection pool, one
poller per ModelArts task however many watchers it has. The engine is owned by a
long-lived task (its ``async with`` must be entered and left by the same task) and closed
after the last watcher leaves. A watcher that is cancelled (Airflow cancels triggers on
re-homing or clearing) gives up its share of the task's watch; the watch itself is cancelled
only when no other watcher wants it.
"""

from __future__ import annotations

import asyncio
import hashlib
import json
from collections import Counter
from collections.abc import Callable, Mapping
from typing import Any

import attrs

from .._auth import AkSkAuth, Auth, NoAuth, TokenAuth
from .._checkpoint import TaskState, encode_token
from .._client import ModelArtsClient
from .._engine import Engine
from .._errors import InvalidArgumentError
from .._events import TaskCompleted, TaskFailed
from .._handle import TaskHandle
from .._policy import PollPolicy
from ..cli._jsonl import snapshot_fields, spec_fields


@attrs.frozen
class Connection:
    """What a watcher needs to reach ModelArts; equal connections share one engine.

    ``auth`` builds the credentials (called once per engine); ``key`` tells connections
    apart without holding a secret in it (a digest of the credentials' source values).
    """

    project_id: str
    key: str
    auth: Callable[[], Auth] = attrs.field(eq=False, repr=False)
    endpoint: str | None = None
    region: str | None = None
    max_rate: float | None = None

    def client(self) -> ModelArtsClient:
        return ModelArtsClient(
            project_id=self.project_id, auth=self.auth(), endpoint=self.endpoint, region=self.region
        )


def connection_from_fields(
    *,
    login: str | None = None,
    password: str | None = None,
    extra: Mapping[str, Any] | None = None,
    max_rate: float | None = None,
) -> Connection:
    """A :class:`Connection` from the ``huaweicloud`` connection shape Airflow users have:
    access key in ``login``, secret key in ``password``, ``region``, ``project_id`` and
    ``endpoint`` in ``extra`` (or ``token`` in ``extra`` for a token, or ``auth: "none"``
    for a local simulator)."""
    extra = dict(extra or {})
    project_id = extra.get("project_id")
    if not isinstance(project_id, str) or not project_id:
        raise InvalidArgumentError("the connection needs project_id in its extra")
    token = extra.get("token")
    auth: Callable[[], Auth]
    if extra.get("auth") == "none":
        auth, source = NoAuth, "none"
    elif isinstance(token, str) and token:
        auth, source = (lambda: TokenAuth(token)), f"token:{token}"
    elif login and password:
        ak, sk = login, password
        auth, source = (lambda: AkSkAuth(ak, sk)), f"aksk:{ak}:{sk}"
    else:
        raise InvalidArgumentError(
            "the connection needs an access key and secret key (login, password) or a token"
        )
    endpoint, region = extra.get("endpoint"), extra.get("region")
    if endpoint is None and region is None:
        raise InvalidArgumentError("the connection needs region or endpoint in its extra")
    digest = hashlib.sha256(
        json.dumps([source, project_id, endpoint, region, max_rate]).encode()
    ).hexdigest()
    return Connection(project_id, digest, auth, endpoint, region, max_rate)


def token_for(spec: Any) -> str:
    """The continuation token of a task not watched yet (what an operator that started the
    task hands to its trigger)."""
    return encode_token(spec, TaskState())


def event_payload(outcome: TaskCompleted | TaskFailed) -> dict[str, Any]:
    """The JSON payload of a watcher's one event. ``event_id`` is the same for the same
    task's same end, so a duplicate (a trigger running on two triggerers) is recognisable."""
    failed = isinstance(outcome, TaskFailed)
    status = outcome.snapshot.status if outcome.snapshot is not None else None
    payload: dict[str, Any] = {
        "status": "failed" if failed else "completed",
        "task": spec_fields(outcome.spec),
        "reason": outcome.reason.value if failed else None,  # type: ignore[union-attr]
        "remote_status": None if status is None else str(status),
        "message": outcome.message if failed else None,  # type: ignore[union-attr]
        "snapshot": snapshot_fields(outcome.snapshot),
    }
    key = json.dumps(
        [payload["task"], payload["status"], payload["reason"], payload["remote_status"]],
        sort_keys=True,
        default=str,
    )
    payload["event_id"] = hashlib.sha256(key.encode()).hexdigest()[:32]
    return payload


class _Shared:
    """One connection's engine, its owner task, and who watches what."""

    def __init__(self, connection: Connection, policy: PollPolicy | None) -> None:
        self.connection = connection
        self.policy = policy
        self.users = 0
        self.watchers: Counter[Any] = Counter()  # spec -> watchers still waiting on it
        self.ready = asyncio.Event()
        self.stop = asyncio.Event()
        self.engine: Engine | None = None
        self.failure: BaseException | None = None
        self.owner = asyncio.get_running_loop().create_task(self._own())

    async def _own(self) -> None:
        try:
            async with (
                self.connection.client() as client,
                Engine(
                    client=client, policy=self.policy, max_rate=self.connection.max_rate
                ) as engine,
            ):
                self.engine = engine
                self.ready.set()
                await self.stop.wait()
        except Exception as exc:  # reported to every watcher waiting for the engine
            self.failure = exc
        finally:
            self.engine = None
            self.ready.set()


class SharedEngines:
    """Watches for many trigger-shaped coroutines, one engine per connection."""

    def __init__(self, *, policy: PollPolicy | None = None) -> None:
        self._policy = policy
        self._shared: dict[str, _Shared] = {}
        # The loop holds tasks weakly: an owner closing its engine must not be collected.
        self._owners: set[asyncio.Task[None]] = set()

    def engines(self) -> int:
        """How many engines are open (one per connection in use)."""
        return len(self._shared)

    async def watch(self, connection: Connection, token: str) -> dict[str, Any]:
        """Watch the task ``token`` names (``TaskHandle.token()``) until its end and return
        its event payload. Cancelling this cancels the task's watch only if no other
        watcher of the same task remains."""
        shared = self._shared.get(connection.key)
        if shared is None or shared.stop.is_set():
            shared = self._shared[connection.key] = _Shared(connection, self._policy)
            self._owners.add(shared.owner)
            shared.owner.add_done_callback(self._owners.discard)
        shared.users += 1
        spec: Any = None
        handle: TaskHandle | None = None
        try:
            await shared.ready.wait()
            if shared.engine is None:
                raise InvalidArgumentError(
                    f"the connection could not be opened: {shared.failure!r}"
                ) from shared.failure
            handle = shared.engine.watch_token(token)
            spec = handle.spec
            shared.watchers[spec] += 1
            return event_payload(await handle.wait())
        finally:
            if spec is not None:
                shared.watchers[spec] -= 1
                if shared.watchers[spec] <= 0:
                    del shared.watchers[spec]
                    if handle is not None and not handle.done():
                        handle.cancel("every watcher of this task left")
            shared.users -= 1
            if shared.users == 0:
                shared.stop.set()
                if self._shared.get(connection.key) is shared:
                    del self._shared[connection.key]

    async def aclose(self) -> None:
        """Close every engine (watchers still waiting get their task's CANCELLED end)."""
        for shared in list(self._shared.values()):
            shared.stop.set()
        self._shared.clear()
        await asyncio.gather(*self._owners, return_exceptions=True)

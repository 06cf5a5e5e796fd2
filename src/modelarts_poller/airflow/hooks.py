"""The Airflow hook: a ModelArts connection, and starting operations from a worker.

Needs Apache Airflow 3 (``pip install 'modelarts-poller[airflow]'``).
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Mapping
from typing import Any

from airflow.sdk import BaseHook

from .._client import ModelArtsClient
from .._errors import InvalidArgumentError
from .._kind import get_kind
from .._phase import Phase
from ..operations._live_on import until
from ._shared import Connection, check_rate_options, connection_from_fields

CONN_TYPE = "huaweicloud_modelarts"

# The ModelArtsClient start calls an operator may name; each returns the spec that watches
# what it started.
START_CALLS = frozenset(
    {
        "create_dataset_version",
        "create_dataset_version_v1",
        "create_dev_server",
        "create_export_task",
        "create_infer_service",
        "create_notebook",
        "create_training_job",
        "create_import_task",
        "start_intelligent_task",
        "start_sync",
        "start_sync_v1",
    }
)

StartCall = str | Callable[[ModelArtsClient], Awaitable[Any]]


def _named(kwargs: Mapping[str, Any]) -> Any:
    return kwargs.get("name")


def _job_named(kwargs: Mapping[str, Any]) -> Any:
    metadata = kwargs.get("metadata")
    return metadata.get("name") if isinstance(metadata, Mapping) else None


def _watch_until_running(spec: Any) -> Any:
    return until(spec, frozenset({"RUNNING"}))


_Named = tuple[str, str, str, Callable[[Mapping[str, Any]], Any], Callable[[Any], Any]]

# The start calls whose resource has a user-chosen name, each with the client's list call
# that finds resources by that name, the kind, the list item's ID field, how to read the
# name from the start call's kwargs, and the spec that watches a found resource as the
# start call's own spec would.
NAMED_STARTS: dict[str, _Named] = {
    "create_training_job": (
        "list_training_jobs",
        "training_job",
        "job_id",
        _job_named,
        lambda spec: spec,
    ),
    "create_notebook": ("list_notebooks", "notebook", "id", _named, _watch_until_running),
    "create_infer_service": (
        "list_infer_services",
        "infer_service",
        "id",
        _named,
        _watch_until_running,
    ),
    "create_dev_server": ("list_dev_servers", "dev_server", "id", _named, _watch_until_running),
}


def name_of(start: StartCall, kwargs: Mapping[str, Any]) -> str | None:
    """The user-chosen name the start call ``start`` gives what it starts, or ``None``
    when its kind has no name lookup (see ``NAMED_STARTS``)."""
    if not isinstance(start, str) or start not in NAMED_STARTS:
        return None
    name = NAMED_STARTS[start][3](kwargs)
    return name if isinstance(name, str) and name else None


async def find_named(
    connection: Connection, start: str, kwargs: Mapping[str, Any]
) -> tuple[Any, Phase] | None:
    """The resource, of the kind the named start call ``start`` makes, that already has
    the name ``kwargs`` give and has not failed: the spec that watches it and its phase
    now; ``None`` when there is none. Found through the kind's list call (every page);
    of several, the first listed."""
    list_call, kind, id_field, _, watch = NAMED_STARTS[start]
    name = name_of(start, kwargs)
    if name is None:
        return None  # the start call itself refuses a missing name
    project_id = kwargs.get("project_id")
    async with connection.client() as client:
        async for item in getattr(client, list_call)(project_id=project_id):
            found_id = getattr(item, id_field)
            if item.name != name or not found_id:
                continue
            spec = watch(get_kind(kind).spec(found_id, project_id=project_id))
            phase: Phase = spec.interpret(item).phase
            if phase is not Phase.FAILED:
                return spec, phase
    return None


def _extra_of(conn: Any) -> dict[str, Any]:
    extra = conn.extra_dejson
    return dict(extra) if isinstance(extra, Mapping) else {}


def connection_of(
    conn: Any, *, max_rate: float | None = None, rate_limiter: str | None = None
) -> Connection:
    """The :class:`Connection` of an Airflow connection of the ``huaweicloud`` shape."""
    return connection_from_fields(
        login=conn.login or None,
        password=conn.password or None,
        extra=_extra_of(conn),
        max_rate=max_rate,
        rate_limiter=rate_limiter,
    )


async def start_operation(
    connection: Connection, start: StartCall, kwargs: Mapping[str, Any] | None = None
) -> Any:
    """Run one start call with a client of its own and return the spec it gives back.

    ``start`` names a ``ModelArtsClient`` start call (see ``START_CALLS``), called with
    ``kwargs``; or is an async callable taking the client (for your own kinds)."""
    async with connection.client() as client:
        if callable(start):
            return await start(client)
        if start not in START_CALLS:
            raise InvalidArgumentError(
                f"unknown start call {start!r}; known: {', '.join(sorted(START_CALLS))}"
            )
        return await getattr(client, start)(**dict(kwargs or {}))


class ModelArtsHook(BaseHook):
    """A Huawei Cloud ModelArts connection (connection type ``huaweicloud_modelarts``).

    The fields are those of the ``huaweicloud`` connection: access key in ``login``,
    secret key in ``password``, ``region``, ``project_id`` and ``endpoint`` in ``extra``;
    or ``token`` in ``extra``; or an IAM user and password in ``login``/``password`` with
    ``domain_name`` in ``extra``. ``max_rate`` caps the requests per second of the
    engine this connection's triggers share in one triggerer process; ``rate_limiter``
    (``"package.module:factory"``) instead names the factory of that engine's
    ``RateLimiter``.
    """

    conn_name_attr = "modelarts_conn_id"
    default_conn_name = "modelarts_default"
    conn_type = CONN_TYPE
    hook_name = "Huawei Cloud ModelArts"

    def __init__(
        self,
        modelarts_conn_id: str = default_conn_name,
        *,
        max_rate: float | None = None,
        rate_limiter: str | None = None,
    ) -> None:
        super().__init__()
        check_rate_options(max_rate, rate_limiter)
        self.modelarts_conn_id = modelarts_conn_id
        self.max_rate = max_rate
        self.rate_limiter = rate_limiter

    @classmethod
    def get_ui_field_behaviour(cls) -> dict[str, Any]:
        return {
            "hidden_fields": ["schema", "port", "host"],
            "relabeling": {"login": "Access key (or IAM user)", "password": "Secret key"},
            "placeholders": {
                "extra": '{"region": "cn-north-4", "project_id": "...", "endpoint": null}'
            },
        }

    def get_connection_obj(self) -> Connection:
        """This hook's connection, read through Airflow (sync: for workers)."""
        return connection_of(
            self.get_connection(self.modelarts_conn_id),
            max_rate=self.max_rate,
            rate_limiter=self.rate_limiter,
        )

    async def aget_connection_obj(self) -> Connection:
        """This hook's connection, read through Airflow without blocking the loop (for
        triggers)."""
        conn = await self.aget_connection(self.modelarts_conn_id)
        return connection_of(conn, max_rate=self.max_rate, rate_limiter=self.rate_limiter)

    def get_conn(self) -> Connection:
        return self.get_connection_obj()

    def start(self, start: StartCall, kwargs: Mapping[str, Any] | None = None) -> Any:
        """Run a start call to completion from synchronous code (an operator's
        ``execute``) and return the spec that watches what it started."""
        connection = self.get_connection_obj()
        return asyncio.run(start_operation(connection, start, kwargs))

    def phase_of(self, spec: Any) -> Phase:
        """The phase of the task ``spec`` names now (one GET, from synchronous code);
        raises :class:`NotFound` for a task that does not exist."""
        connection = self.get_connection_obj()

        async def observe() -> Phase:
            async with connection.client() as client:
                snapshot = await client.get_task(spec)
            phase: Phase = spec.interpret(snapshot).phase
            return phase

        return asyncio.run(observe())

    def find_named(self, start: str, kwargs: Mapping[str, Any]) -> tuple[Any, Phase] | None:
        """:func:`find_named` from synchronous code (an operator's ``execute``)."""
        return asyncio.run(find_named(self.get_connection_obj(), start, kwargs))

    def test_connection(self) -> tuple[bool, str]:
        try:
            self.get_connection_obj()
        except InvalidArgumentError as exc:
            return False, str(exc)
        return True, "the connection's fields are complete"

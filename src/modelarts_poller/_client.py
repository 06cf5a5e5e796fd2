"""The authenticated aiohttp client every ModelArts kind is read and started through.

It is the transport: it imports no kind (a kind's own calls are its module's functions,
bound to the client as methods on first use). One request path
(:meth:`ModelArtsClient._exchange`) serves every method: build the URL with plain string
formatting, let the auth add its headers, send, read the body, decode with the sans-I/O
:func:`~modelarts_poller._http.decode_response`. The status methods run thousands of
times a second, so per-request work is kept to that.
"""

from __future__ import annotations

import hashlib
import importlib
import json
import logging
import time
import warnings
from collections.abc import Callable, Mapping
from functools import lru_cache
from types import MethodType, TracebackType
from typing import TYPE_CHECKING, Any, Final, Self, TypeVar
from urllib.parse import quote, urlencode

import aiohttp
from aiohttp.client_reqrep import ClientRequest
from aiohttp.connector import Connection
from aiohttp.tracing import Trace
from yarl import URL

from . import _parsing
from ._auth import Auth, NoAuth
from ._errors import (
    ConnectionFailed,
    InvalidArgumentError,
    ProtocolError,
    RequestTimeout,
)
from ._http import decode_response, parse_retry_after
from ._kind import ModelArtsTask
from ._ratelimit import CURRENT_GATE
from ._read import read_capped
from ._validate import check_count, check_endpoint, check_id, check_number, check_text

if TYPE_CHECKING:  # the shortcuts' types only: the transport imports no kind at run time
    from .operations import dataset_task as _dataset_task
    from .operations import dev_server as _dev_server
    from .operations import export as _export
    from .operations import import_task as _import_task
    from .operations import infer_service as _infer_service
    from .operations import intelligent_task as _intelligent_task
    from .operations import notebook as _notebook
    from .operations import pool as _pool
    from .operations import sync as _sync
    from .operations import training_job as _training_job
    from .operations import version as _version
    from .operations import workflow_execution as _workflow_execution

__all__ = ["ModelArtsClient"]

T = TypeVar("T")

_log = logging.getLogger("modelarts_poller.client")
_DEBUG: Final = logging.DEBUG

DEFAULT_USER_AGENT = "modelarts-poller/0.1"
# Far above any status or list page (a 100-task export list is ~200 KiB); a body this large
# is a fault, and reading it whole first would be the harm.
DEFAULT_MAX_BODY_SIZE = 8 * 1024 * 1024
_JSON_HEADERS_KEY = "Content-Type"
_JSON_TYPE = "application/json"


@lru_cache(maxsize=8192)
def _checked_segment(name: str, value: str) -> str:
    # check_id, then percent-encode: IDs may still hold "?", "#" or "%", which would
    # change the URL's meaning. Status polls repeat the same IDs, so this is cached.
    return quote(check_id(name, value), safe="")


def _segment(name: str, value: object) -> str:
    if type(value) is str:
        return _checked_segment(name, value)
    return quote(check_id(name, value), safe="")  # raises unless a str subclass


@lru_cache(maxsize=8192)
def _url(url: str) -> URL:
    # Parsing a URL costs more than the rest of the request set-up; paths repeat.
    return URL(url, encoded=True)


# Status polls of one spec repeat the same request: its route is worked out once. Bounded
# (oldest first out) so a million watched tasks do not keep a million routes.
_ROUTES_MAX = 8192
# An answer this large is decoded every time rather than kept for comparison, and a client
# keeps at most this many bytes of answers in all (8192 routes of large bodies would not fit).
_REUSE_MAX_BODY = 64 * 1024
_REUSE_BUDGET = 16 * 1024 * 1024


class _Kept:
    """The bytes of answers a client's routes keep, against ``_REUSE_BUDGET``."""

    __slots__ = ("bytes",)

    def __init__(self) -> None:
        self.bytes = 0


class _Route:
    """One spec's status request, built once: the URL (as text and parsed), the path for
    messages and metrics, the project header, the parser, and the last 2xx answer with
    the snapshot it made. A byte-identical answer is the same document, and the parsers
    are pure, so it gets the same snapshot without decoding it again; only for this
    library's own models (frozen, read-only), and not when the parse kept a decoded list
    or object as sent (``_parsing.EXPOSURE``), which a caller could change in place."""

    __slots__ = (
        "body",
        "kept",
        "live",
        "parse",
        "path",
        "project_id",
        "snapshot",
        "target",
        "url",
    )

    def __init__(
        self,
        url: str,
        path: str,
        project_id: str,
        parse: Callable[[object], Any],
        kept: _Kept | None = None,
    ) -> None:
        self.kept = _Kept() if kept is None else kept
        self.live = True  # False once evicted: an answer still in flight is then not kept
        self.url = url
        self.target = _url(url)
        self.path = path
        self.project_id = project_id
        self.parse = parse
        self.body: bytes | None = None
        self.snapshot: Any = None

    def decode(
        self, status: int, headers: Mapping[str, str], data: bytes, now: Callable[[], float]
    ) -> Any:
        """``decode_response`` for this route, sharing the snapshot of a repeated answer."""
        if 200 <= status < 300:
            if data == self.body:
                return self.snapshot
            exposed = _parsing.EXPOSURE.count
            snapshot = decode_response(status, headers, data, self.parse, path=self.path, now=now)
            self.forget()
            size = len(data)
            kept = self.kept
            if (
                self.live
                and size <= _REUSE_MAX_BODY
                and kept.bytes + size <= _REUSE_BUDGET
                and _parsing.EXPOSURE.count == exposed
                and _reusable(snapshot)
            ):
                self.body, self.snapshot = data, snapshot
                kept.bytes += size
            return snapshot
        return decode_response(status, headers, data, self.parse, path=self.path, now=now)

    def forget(self) -> None:
        """Drop the kept answer (and give its bytes back to the budget)."""
        if self.body is not None:
            self.kept.bytes -= len(self.body)
        self.body = self.snapshot = None


def _reusable(snapshot: object) -> bool:
    return type(snapshot).__module__.startswith("modelarts_poller.operations.")


class _Shortcut:
    """A client method that is an operation module's function of the same name, taking
    the client first; the module is imported when the method is first looked up."""

    def __init__(self, module: str) -> None:
        self.module = module
        self.function: Callable[..., Any] | None = None

    def __set_name__(self, owner: type, name: str) -> None:
        self.name = name

    def __get__(self, client: object, owner: type | None = None) -> Any:
        function = self.function
        if function is None:
            module = importlib.import_module(f"{__package__}.operations.{self.module}")
            function = self.function = getattr(module, self.name)
        return function if client is None else MethodType(function, client)


@lru_cache(maxsize=8192)
def _format(template: str, project: str, names: tuple[str, ...], ids: tuple[str, ...]) -> str:
    # The path of a status poll repeats with the same IDs: built (and each ID checked
    # and percent-encoded) once, then looked up.
    return template.format(
        project_id=project, **{n: _segment(n, v) for n, v in zip(names, ids, strict=True)}
    )


class ModelArtsClient:
    """Async client for the ModelArts APIs: any kind's status (``get_task``), any request
    (``request``), and each built-in kind's start, list and status calls as methods.

    Use as ``async with ModelArtsClient(project_id=..., auth=..., region=...) as client``.
    It owns one :class:`aiohttp.ClientSession`, or borrows ``session`` (then the caller
    opens and closes it, and ``limit``/``limit_per_host`` do not apply).

    ``endpoint`` overrides the default ``https://modelarts.{region}.myhuaweicloud.com``
    (``.myhuaweicloud.cn`` for ap-southeast-1, as in the official SDK's region table);
    one of ``region`` and ``endpoint`` is required. ``timeout`` bounds a whole request,
    ``connect_timeout`` the connection set-up. ``verify_ssl=False`` turns off certificate
    checks (and warns). Every method checks its IDs before any request is made.
    """

    def __init__(
        self,
        *,
        project_id: str,
        auth: Auth,
        region: str | None = None,
        endpoint: str | None = None,
        timeout: float = 30.0,
        connect_timeout: float | None = 10.0,
        limit: int = 100,
        limit_per_host: int = 0,
        verify_ssl: bool = True,
        user_agent: str = DEFAULT_USER_AGENT,
        session: aiohttp.ClientSession | None = None,
        max_body_size: int = DEFAULT_MAX_BODY_SIZE,
        wall_clock: Callable[[], float] = time.time,
    ) -> None:
        self._project_id = check_id("project_id", project_id)
        self._project_segment = _segment("project_id", project_id)
        if not isinstance(auth, Auth):
            raise InvalidArgumentError(
                f"auth must implement apply() and on_unauthorized(), got {type(auth).__name__}"
            )
        self._auth = auth
        self._endpoint = _endpoint(region, endpoint)
        timeout = check_number("timeout", timeout)
        if connect_timeout is not None:
            connect_timeout = check_number("connect_timeout", connect_timeout)
        check_count("limit", limit)  # 0: no limit
        check_count("limit_per_host", limit_per_host)
        check_text("user_agent", user_agent)
        if not verify_ssl:
            warnings.warn(
                f"ModelArtsClient(verify_ssl=False): TLS certificates of {self._endpoint} "
                "will not be checked; anyone on the network path can read and change "
                "requests, including credentials",
                UserWarning,
                stacklevel=2,
            )
        # Built once and reused: a ClientTimeout per request would be wasted allocations.
        self._timeout = aiohttp.ClientTimeout(total=timeout, sock_connect=connect_timeout)
        self._timeout_s = timeout
        self._ssl = verify_ssl
        self._limit = limit
        self._limit_per_host = limit_per_host
        self._user_agent = user_agent
        self._max_body = check_count("max_body_size", max_body_size, minimum=1)
        self._borrowed = session
        # NoAuth adds nothing: skipping its apply() saves a coroutine per request.
        self._applies = type(auth) is not NoAuth
        self._routes: dict[Any, _Route] = {}
        self._kept = _Kept()
        self._metrics: Any = None  # an engine's EngineMetrics, once someone collects them
        self._session: aiohttp.ClientSession | None = session
        self._closed = False
        self._wall_clock = wall_clock

    # --- lifecycle ------------------------------------------------------------------------

    async def __aenter__(self) -> Self:
        if self._closed:
            raise RuntimeError("this ModelArtsClient is closed; create a new one")
        if self._session is None:
            # The connector takes the rate grants: aiohttp then runs no trace hooks (with
            # a trace config it builds and awaits a dozen signal calls per request).
            connector = _GatedConnector(
                limit=self._limit, limit_per_host=self._limit_per_host, ssl=self._ssl
            )
            self._session = aiohttp.ClientSession(
                connector=connector, timeout=self._timeout, raise_for_status=False
            )
        elif (
            not isinstance(self._session.connector, _GatedConnector)
            and _GATE_TRACE not in self._session.trace_configs
        ):
            # A borrowed session learns the engine's rate grants too (a no-op elsewhere).
            self._session.trace_configs.append(_GATE_TRACE)
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self.aclose()

    async def aclose(self) -> None:
        """Close the owned session (a borrowed one is left open). Safe to call twice."""
        self._closed = True
        session, self._session = self._session, None
        if session is not None and session is not self._borrowed:
            await session.close()

    @property
    def endpoint(self) -> str:
        return self._endpoint

    @property
    def project_id(self) -> str:
        return self._project_id

    @property
    def quota_key(self) -> str | None:
        """A digest naming the quota this client's requests count against (who signs them
        and which endpoint they go to), for a limiter shared between processes; ``None``
        when the auth does not say who it is (it has no ``quota_identity()``). It holds no
        secret: a token is digested before it is digested again."""
        identity = getattr(self._auth, "quota_identity", None)
        if identity is None:
            return None
        text = json.dumps(["modelarts-poller quota 1", identity(), self._endpoint])
        return hashlib.sha256(text.encode()).hexdigest()[:32]

    def __repr__(self) -> str:
        return (
            f"ModelArtsClient(endpoint={self._endpoint!r}, project_id={self._project_id!r}, "
            f"auth={self._auth!r})"
        )

    # --- status calls ---------------------------------------------------------------------

    def _pid(self, project_id: str | None) -> tuple[str, str]:
        """The project ID for the X-Project-Id header, and as a path segment."""
        if project_id is None:
            return self._project_id, self._project_segment
        return project_id, _segment("project_id", project_id)

    async def get_task(self, spec: ModelArtsTask) -> Any:
        """The typed snapshot of any operation spec (``GET`` its ``PATH``)."""
        routes = self._routes
        try:
            route = routes.get(spec)
            remember = True
        except TypeError:  # an unhashable spec: nothing to remember it by
            route, remember = None, False
        if route is None:
            pid, pseg = self._pid(spec.project_id)
            path = _format(spec.PATH, pseg, spec.ID_NAMES, spec.ids)
            route = _Route(self._endpoint + path, path, pid, type(spec).PARSE, self._kept)
            if remember:
                if len(routes) >= _ROUTES_MAX:
                    old = routes.pop(next(iter(routes)))
                    old.live = False
                    old.forget()
                routes[spec] = route
        path = route.path
        metrics = self._metrics
        if metrics is None:
            status, headers, data, sent = await self._send(
                "GET", path, route.project_id, b"", route.url, route.target
            )
            if status == 401 and await self._auth.on_unauthorized(sent):
                _log.debug("GET %s: 401, retrying once with renewed credentials", path)
                status, headers, data, _ = await self._send(
                    "GET", path, route.project_id, b"", route.url, route.target
                )
        else:
            status, headers, data = await self._measured(
                metrics, "GET", spec.PATH, path, route.project_id, b""
            )
        return route.decode(status, headers, data, self._wall_clock)

    # --- shortcuts to the kinds' own calls --------------------------------------------------
    # Each is the function of its operation module, bound to this client and imported on
    # first use, so that the transport imports no kind (the kinds import only the
    # ``Transport`` protocol). The type checker sees the function itself.

    if TYPE_CHECKING:
        get_sync_status = _sync.get_sync_status
        get_export_task_status = _export.get_export_task_status
        get_dataset_task_status = _dataset_task.get_dataset_task_status
        start_sync = _sync.start_sync
        start_sync_v1 = _dataset_task.start_sync_v1
        create_dataset_version_v1 = _dataset_task.create_dataset_version_v1
        create_export_task = _export.create_export_task
        list_export_tasks = _export.list_export_tasks
        create_import_task = _import_task.create_import_task
        list_import_tasks = _import_task.list_import_tasks
        create_dataset_version = _version.create_dataset_version
        start_intelligent_task = _intelligent_task.start_intelligent_task
        create_infer_service = _infer_service.create_infer_service
        start_infer_service = _infer_service.start_infer_service
        stop_infer_service = _infer_service.stop_infer_service
        list_infer_services = _infer_service.list_infer_services
        create_notebook = _notebook.create_notebook
        start_notebook = _notebook.start_notebook
        stop_notebook = _notebook.stop_notebook
        list_notebooks = _notebook.list_notebooks
        create_dev_server = _dev_server.create_dev_server
        start_dev_server = _dev_server.start_dev_server
        stop_dev_server = _dev_server.stop_dev_server
        list_dev_servers = _dev_server.list_dev_servers
        create_pool = _pool.create_pool
        list_pools = _pool.list_pools
        create_workflow_execution = _workflow_execution.create_workflow_execution
        stop_workflow_execution = _workflow_execution.stop_workflow_execution
        list_workflow_executions = _workflow_execution.list_workflow_executions
        create_training_job = _training_job.create_training_job
        list_training_jobs = _training_job.list_training_jobs
    else:
        get_sync_status = _Shortcut("sync")
        get_export_task_status = _Shortcut("export")
        get_dataset_task_status = _Shortcut("dataset_task")
        start_sync = _Shortcut("sync")
        start_sync_v1 = _Shortcut("dataset_task")
        create_dataset_version_v1 = _Shortcut("dataset_task")
        create_export_task = _Shortcut("export")
        list_export_tasks = _Shortcut("export")
        create_import_task = _Shortcut("import_task")
        list_import_tasks = _Shortcut("import_task")
        create_dataset_version = _Shortcut("version")
        start_intelligent_task = _Shortcut("intelligent_task")
        create_infer_service = _Shortcut("infer_service")
        start_infer_service = _Shortcut("infer_service")
        stop_infer_service = _Shortcut("infer_service")
        list_infer_services = _Shortcut("infer_service")
        create_notebook = _Shortcut("notebook")
        start_notebook = _Shortcut("notebook")
        stop_notebook = _Shortcut("notebook")
        list_notebooks = _Shortcut("notebook")
        create_dev_server = _Shortcut("dev_server")
        start_dev_server = _Shortcut("dev_server")
        stop_dev_server = _Shortcut("dev_server")
        list_dev_servers = _Shortcut("dev_server")
        create_pool = _Shortcut("pool")
        list_pools = _Shortcut("pool")
        create_workflow_execution = _Shortcut("workflow_execution")
        stop_workflow_execution = _Shortcut("workflow_execution")
        list_workflow_executions = _Shortcut("workflow_execution")
        create_training_job = _Shortcut("training_job")
        list_training_jobs = _Shortcut("training_job")

    # --- the transport every operation uses ------------------------------------------------

    async def request(
        self,
        method: str,
        template: str,
        parse: Callable[[object], T],
        *,
        ids: Mapping[str, str] | None = None,
        body: Mapping[str, object] | None = None,
        query: Mapping[str, object] | None = None,
        project_id: str | None = None,
    ) -> T:
        """Send one request to ``template`` (``str.format`` fields: ``project_id`` and
        ``ids``, each checked and percent-encoded) and decode its JSON answer with
        ``parse``; an answer without a body is decoded as ``{}``. Errors are the
        library's typed exceptions."""
        pid, pseg = self._pid(project_id)
        names = tuple(ids or ())
        path = _format(template, pseg, names, tuple((ids or {})[n] for n in names))
        if query:
            pairs = (
                (k, str(v).lower() if isinstance(v, bool) else str(v)) for k, v in query.items()
            )
            path += "?" + urlencode(sorted(pairs))
        data = b""
        if body is not None:
            try:
                # NaN and infinities are not JSON: the server could not read the body.
                data = json.dumps(body, separators=(",", ":"), allow_nan=False).encode()
            except (TypeError, ValueError) as exc:
                raise InvalidArgumentError(f"request body is not JSON-serialisable: {exc}") from exc
        if self._metrics is None:
            status, headers, raw = await self._exchange(method, path, pid, data)
        else:
            status, headers, raw = await self._measured(
                self._metrics, method, template, path, pid, data
            )
        if 200 <= status < 300 and not raw.strip():
            raw = b"{}"
        return decode_response(
            status, headers, raw, parse, path=path, method=method, now=self._wall_clock
        )

    # --- the one request path -------------------------------------------------------------

    async def _measured(
        self, metrics: Any, method: str, template: str, path: str, project_id: str, body: bytes
    ) -> tuple[int, Mapping[str, str], bytes]:
        # The URL template, not the path: IDs would explode the metric's cardinality.
        started = time.perf_counter()
        try:
            status, headers, data = await self._exchange(method, path, project_id, body)
        except Exception as exc:
            metrics.request(
                method, template, None, type(exc).__name__, time.perf_counter() - started
            )
            raise
        error = None if status < 400 else str(status)
        metrics.request(method, template, status, error, time.perf_counter() - started)
        return status, headers, data

    async def _exchange(
        self, method: str, path: str, project_id: str, body: bytes
    ) -> tuple[int, Mapping[str, str], bytes]:
        """Send, and once more after a 401 the auth says renewed credentials may fix."""
        url = self._endpoint + path
        target = _url(url)
        status, headers, data, sent = await self._send(method, path, project_id, body, url, target)
        if status == 401 and await self._auth.on_unauthorized(sent):
            _log.debug("%s %s: 401, retrying once with renewed credentials", method, path)
            status, headers, data, _ = await self._send(method, path, project_id, body, url, target)
        return status, headers, data

    async def _send(
        self, method: str, path: str, project_id: str, body: bytes, url: str, target: URL
    ) -> tuple[int, Mapping[str, str], bytes, dict[str, str]]:
        session = self._session
        if session is None:
            raise RuntimeError(
                "ModelArtsClient is not open: use 'async with ModelArtsClient(...) as client'"
            )
        # Only what is signed goes in before apply(); the User-Agent is added afterwards.
        headers = {"X-Project-Id": project_id}
        if body:
            headers[_JSON_HEADERS_KEY] = _JSON_TYPE
        if self._applies:
            await self._auth.apply(method, url, headers, body)
        headers["User-Agent"] = self._user_agent
        debug = _log.isEnabledFor(_DEBUG)
        started = time.perf_counter() if debug else 0.0
        try:
            async with session.request(
                method,
                target,
                headers=headers,
                data=body or None,
                timeout=self._timeout,
                ssl=self._ssl,
                allow_redirects=False,
            ) as resp:
                status = resp.status
                data = await read_capped(resp, self._max_body, method, path)
                resp_headers = resp.headers
        except TimeoutError as exc:
            if debug:
                _log.debug(
                    "%s %s: timeout after %.1f ms",
                    method,
                    path,
                    _ms(started),
                    extra=_http_context(method, path, started, error_type="RequestTimeout"),
                )
            raise RequestTimeout(
                f"{method} {path}: no answer within {self._timeout_s:g} s"
            ) from exc
        except (aiohttp.ClientConnectionError, aiohttp.ClientPayloadError) as exc:
            if debug:
                _log.debug(
                    "%s %s: %s after %.1f ms",
                    method,
                    path,
                    type(exc).__name__,
                    _ms(started),
                    extra=_http_context(method, path, started, error_type=type(exc).__name__),
                )
            raise ConnectionFailed(f"{method} {path}: {type(exc).__name__}: {exc}") from exc
        except aiohttp.ClientResponseError as exc:
            # The answer could not be read as HTTP. Its repr carries the request headers,
            # so only the status and message go into ours.
            raise ProtocolError(
                f"{method} {path}: unreadable HTTP answer: {exc.status} {exc.message}",
                status=exc.status or None,
            ) from exc
        except aiohttp.ClientError as exc:
            raise ConnectionFailed(f"{method} {path}: {type(exc).__name__}") from exc
        gate = CURRENT_GATE.get()
        if gate is not None:
            # What the answer says of the quota reaches everyone sharing the limiter.
            observe = gate.observe
            if observe is not None:
                retry_after = None
                if status == 429:
                    retry_after = parse_retry_after(
                        resp_headers.get("Retry-After"), self._wall_clock
                    )
                observe(resp_headers, status, retry_after)
        if debug:
            _log.debug(
                "%s %s -> %d in %.1f ms",
                method,
                path,
                status,
                _ms(started),
                extra=_http_context(method, path, started, http_status=status),
            )
        return status, resp_headers, data, headers


class _GatedConnector(aiohttp.TCPConnector):
    """Takes the engine's rate grant once a connection is in hand, new or reused, just
    before the request is written: as close to the wire as aiohttp lets us get. aiohttp
    connects once per attempt (it re-sends a GET on a dropped keep-alive connection), so
    every attempt takes one. Outside an engine's poll (no gate) it is a TCPConnector."""

    async def connect(
        self, req: ClientRequest, traces: list[Trace], timeout: aiohttp.ClientTimeout
    ) -> Connection:
        conn = await super().connect(req, traces, timeout)
        gate = CURRENT_GATE.get()
        if gate is not None and not gate.take_now():
            try:
                await gate.pass_()
            except BaseException:
                conn.release()  # unused: back to the pool
                raise
        return conn


async def _take_grant(session: object, ctx: object, params: object) -> None:
    gate = CURRENT_GATE.get()
    if gate is not None and not gate.take_now():
        await gate.pass_()


def _gate_trace() -> aiohttp.TraceConfig:
    # For a borrowed session, whose connector is not ours: the same grants through the
    # trace hooks that run at the same two moments (a new connection, a reused one).
    trace = aiohttp.TraceConfig()
    trace.on_connection_create_end.append(_take_grant)
    trace.on_connection_reuseconn.append(_take_grant)
    trace.freeze()
    return trace


_GATE_TRACE = _gate_trace()


def _http_context(method: str, path: str, started: float, **more: object) -> dict[str, object]:
    # The path carries IDs, never credentials (they travel in headers, which are not logged).
    return {"http_method": method, "http_path": path, "elapsed_ms": _ms(started), **more}


def _ms(started: float) -> float:
    return (time.perf_counter() - started) * 1000.0


def _endpoint(region: str | None, endpoint: str | None) -> str:
    if endpoint is not None:
        return check_endpoint("endpoint", endpoint)
    if region is None:
        raise InvalidArgumentError("pass region (e.g. 'cn-north-4') or endpoint")
    if (
        not isinstance(region, str)
        or not region
        or not all(c.isascii() and (c.isalnum() or c == "-") for c in region)
    ):
        raise InvalidArgumentError(f"region must look like 'cn-north-4', got {region!r}")
    return f"https://modelarts.{region}.{_DOMAINS.get(region, 'myhuaweicloud.com')}"


# The official SDK's region table differs from the rule in one place: Hong Kong's endpoint
# is under .cn. Other Huawei-stack clouds use other domains: pass endpoint= for those.
_DOMAINS = {"ap-southeast-1": "myhuaweicloud.cn"}

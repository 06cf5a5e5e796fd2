"""One quota shared by many processes, on Redis or Valkey (optional extra ``redis``).

:class:`RedisRateLimiter` is a :class:`~modelarts_poller.RateLimiter` whose grants are
decided by one Lua script on the store, on the store's clock, with the local limiter's
rule: no one-second window holds more than the rate. Every process whose limiter names the
same key shares it; an engine binds the limiter to the quota its client's requests count
against (``ModelArtsClient.quota_key``: who signs them and where they go, as a digest).
What one process hears from the server (a 429's ``Retry-After``, an advertised quota)
pauses or resizes every process sharing the key.

When the store does not answer within ``timeout`` (down, slow, restarted, out of memory)
the limiter keeps going on a local share of the rate (``rate / processes``), with one
warning, and tries the store again with backoff; it goes back to the shared window when
the store answers, recording there the grants it made alone. ``fail_closed=True`` holds
requests instead until the store answers. Uses ``redis.asyncio``: asyncio only.
"""

from __future__ import annotations

import logging
import math
import os
import random
from collections import deque
from collections.abc import Mapping
from types import TracebackType
from typing import Any
from urllib.parse import urlsplit

import anyio

from ._clock import Clock, SystemClock
from ._errors import InvalidArgumentError
from ._ratelimit import WIRE_MARGIN, LocalRateLimiter, check_rate, parse_quota
from ._redis_scripts import ACQUIRE, SIGNAL

try:
    import redis.asyncio as aioredis
    from redis.asyncio.retry import Retry
    from redis.backoff import NoBackoff
    from redis.exceptions import RedisError
except ImportError as exc:  # pragma: no cover - the extra is part of the dev install
    raise ImportError(
        "modelarts_poller.redis needs redis-py 5 or later: pip install 'modelarts-poller[redis]'"
    ) from exc

__all__ = ["RedisRateLimiter", "from_environment"]

logger = logging.getLogger("modelarts_poller.redis")

_KEEP_MS = 60_000  # an idle key's life: long enough to keep a learned quota between bursts
_BACKOFF_FIRST, _BACKOFF_MAX = 0.25, 2.0  # a probe is one connection attempt: cheap
_LONGEST_SLEEP = 1.0  # a wait the store asked for is re-asked at least this often
_ADVERTISE_EVERY = 30.0  # an unchanged advertised quota is re-sent this often, not per answer


class RedisRateLimiter:
    """A :class:`~modelarts_poller.RateLimiter` shared through Redis or Valkey.

    ``url`` is ``redis://``, ``rediss://`` (TLS) or ``unix://``, with a password if the
    store wants one; or pass ``redis=`` a ``redis.asyncio.Redis`` you own (borrowed, never
    closed). ``quota`` is the requests per second the key's users may send together;
    ``margin`` (default 5%) is kept under it. ``key`` names the quota; by default the
    engine the limiter is given to sets it from its client's ``quota_key``. ``processes``
    is how many processes share the quota: each keeps to ``1/processes`` of it while the
    store is unreachable. ``timeout`` bounds every store call (seconds).
    """

    def __init__(
        self,
        url: str | None = None,
        *,
        quota: float,
        margin: float = 0.05,
        processes: int = 1,
        key: str | None = None,
        fail_closed: bool = False,
        timeout: float = 0.5,
        prefix: str = "modelarts-poller",
        redis: Any = None,
        clock: Clock | None = None,
    ) -> None:
        if (url is None) == (redis is None):
            raise InvalidArgumentError("RedisRateLimiter needs url= or redis=, one of them")
        self._quota = check_rate(quota)
        if isinstance(margin, bool) or not isinstance(margin, int | float):
            raise InvalidArgumentError(f"margin must be a number, got {margin!r}")
        if not 0 <= margin < 1:
            raise InvalidArgumentError(f"margin must be >= 0 and < 1, got {margin!r}")
        if isinstance(processes, bool) or not isinstance(processes, int) or processes < 1:
            raise InvalidArgumentError(f"processes must be an int >= 1, got {processes!r}")
        if not isinstance(fail_closed, bool):
            raise InvalidArgumentError(f"fail_closed must be True or False, got {fail_closed!r}")
        if isinstance(timeout, bool) or not isinstance(timeout, int | float):
            raise InvalidArgumentError(f"timeout must be a number, got {timeout!r}")
        if not (math.isfinite(timeout) and timeout > 0):
            raise InvalidArgumentError(f"timeout must be a finite number > 0, got {timeout!r}")
        if not isinstance(prefix, str) or not prefix:
            raise InvalidArgumentError(f"prefix must be a non-empty string, got {prefix!r}")
        self._where = "a borrowed client" if url is None else _where(url)
        self._url = url
        self._redis: Any = redis
        self._owned = redis is None
        self.max_rate = self._quota * (1.0 - margin)
        self._margin = float(margin)
        self._processes = processes
        self._fail_closed = fail_closed
        self._timeout = float(timeout)
        self._prefix = prefix
        self._clock: Clock = SystemClock() if clock is None else clock
        self._key: str | None = None
        self._keys: tuple[str, str] = ("", "")
        self._explicit = key is not None
        if key is not None:
            self._set_key(key)
        self._acquire_script: Any = None
        self._signal_script: Any = None
        self._lock: anyio.Lock | None = None
        # The local share, used while the store is away; it hears the server too.
        self._local = LocalRateLimiter(self.max_rate / processes, clock=self._clock)
        self._alone_since: float | None = None  # in fallback since (our clock), or None
        self._retry_at = -math.inf
        self._backoff = _BACKOFF_FIRST
        # This process's grants within the last window (our clock), shared or alone: on a
        # return they are recorded in the store, whose log may have been lost (a restart).
        self._recent: deque[float] = deque()
        self._span = max(1.0, 1.0 / self.max_rate) + WIRE_MARGIN  # the window, and its margin
        self._local_from = -math.inf  # no grant alone before (after a loss)
        self._both_until = -math.inf  # shared grants also take a local one until (a return)
        self._paused_until = -math.inf  # a pause heard here, before the store has it
        self._pending_pause = -math.inf  # ... and not sent yet (our clock)
        self._pending_rate = 0.0
        self._sent_rate, self._sent_at = 0.0, -math.inf
        self._flushing: Any = None
        self.grants = 0  # shared grants (from the store)
        self.local_grants = 0  # grants made alone, while the store was away
        self.waits = 0  # acquires that had to wait
        self.fallbacks = 0  # times the store was lost
        self.returns = 0  # times it came back

    # --- binding --------------------------------------------------------------------------

    @property
    def key(self) -> str | None:
        """The quota this limiter shares (a digest), once bound."""
        return self._key

    def bind_quota(self, key: str) -> None:
        """Name the quota this limiter shares, unless ``key=`` named it. An engine calls
        this with its client's ``quota_key``; another quota later is an error (one
        limiter, one quota)."""
        if not self._explicit:
            self._set_key(key)

    def _set_key(self, key: str) -> None:
        if not isinstance(key, str) or not key or not key.isprintable():
            raise InvalidArgumentError(f"key must be a non-empty printable string, got {key!r}")
        if self._key is not None and self._key != key:
            raise InvalidArgumentError(
                "this RedisRateLimiter already shares another quota (another client's "
                "credentials or endpoint); give each quota its own limiter"
            )
        self._key = key
        base = f"{self._prefix}:quota:{key}"
        self._keys = (base + ":log", base + ":state")

    # --- acquiring ------------------------------------------------------------------------

    async def acquire(self) -> None:
        if self._key is None:
            raise InvalidArgumentError(
                "RedisRateLimiter has no key: give it key=, or give it to an Engine whose "
                "client is a ModelArtsClient"
            )
        lock = self._lock
        if lock is None:
            lock = self._lock = anyio.Lock()
        clock = self._clock
        waited = False
        async with lock:  # one script call in flight per process: arrival order here
            while True:
                now = clock.now()
                if now < self._paused_until:
                    waited = True
                    await clock.sleep_until(self._paused_until)
                    continue
                if self._alone_since is not None and now < self._retry_at:
                    if self._fail_closed:
                        waited = True
                        await clock.sleep_until(self._retry_at)
                        continue
                    if now < self._local_from:
                        waited = True
                        await clock.sleep_until(self._local_from)
                        continue
                    await self._local.acquire()
                    self._granted(clock.now())
                    self.local_grants += 1
                    break
                try:
                    wait = await self._ask(0 if self._alone_since is None else self._extra(now))
                except _STORE_ERRORS as exc:
                    self._lost(exc)
                    continue
                if self._alone_since is not None:
                    self._back()
                if wait == 0.0:
                    if clock.now() < self._both_until:
                        await self._local.acquire()
                    self._granted(clock.now())
                    self.grants += 1
                    break
                waited = True
                await clock.sleep_until(clock.now() + min(wait, _LONGEST_SLEEP))
        if waited:
            self.waits += 1

    async def _ask(self, extra: int) -> float:
        script = self._acquire_script
        if script is None:
            script = self._acquire_script = self._client().register_script(ACQUIRE)
        with anyio.fail_after(self._timeout):
            granted, micros = await script(
                keys=list(self._keys), args=[repr(self.max_rate), WIRE_MARGIN, extra, _KEEP_MS]
            )
        return 0.0 if int(granted) == 1 else int(micros) / 1e6

    def _granted(self, now: float) -> None:
        self._recent.append(now)
        self._extra(now)

    def _extra(self, now: float) -> int:
        # Counting ours again when the store kept them only costs a second's share.
        grants = self._recent
        horizon = now - self._span
        while grants and grants[0] <= horizon:
            grants.popleft()
        return len(grants)

    def _client(self) -> Any:
        if self._redis is None:
            assert self._url is not None
            self._redis = aioredis.Redis.from_url(
                self._url,
                socket_timeout=self._timeout,
                socket_connect_timeout=self._timeout,
                retry=Retry(NoBackoff(), 0),
            )
        return self._redis

    def _lost(self, exc: BaseException) -> None:
        now = self._clock.now()
        if self._alone_since is None:
            self._alone_since = now
            self.fallbacks += 1
            self._backoff = _BACKOFF_FIRST
            # The shared window's last second holds grants of the whole fleet that the
            # local shares cannot see: none alone until a whole window has passed.
            self._local_from = now + self._span
            logger.warning(
                "rate-limit store %s unreachable (%s): each process keeps to 1/%d of the "
                "quota (%.3g requests/s) until it answers",
                self._where,
                _describe(exc, self._url),
                self._processes,
                self.max_rate / self._processes,
            )
        else:
            self._backoff = min(_BACKOFF_MAX, self._backoff * 2)
        self._retry_at = now + self._backoff * (0.5 + random.random() / 2)

    def _back(self) -> None:
        since, self._alone_since = self._alone_since, None
        self.returns += 1
        self._backoff = _BACKOFF_FIRST
        # Others may still be alone until their next probe (at most _BACKOFF_MAX away):
        # until then, and a window more, this process keeps to its local share as well.
        self._both_until = self._clock.now() + _BACKOFF_MAX + self._span
        logger.warning(
            "rate-limit store %s answers again after %.1f s: the quota is shared again",
            self._where,
            self._clock.now() - (since or 0.0),
        )

    # --- what the server says -------------------------------------------------------------

    def observe(self, headers: Any, status: int, retry_after: float | None) -> None:
        """What an answer says about the quota (called by ``ModelArtsClient``): a 429 or a
        quota used up pauses every process sharing the key, an advertised quota resizes it."""
        self._local.observe(headers, status, retry_after)
        now = self._clock.now()
        pause = -math.inf
        quota = parse_quota(headers)
        if quota is not None:
            rate, remaining = quota
            rate *= 1.0 - self._margin
            if rate != self._sent_rate or now - self._sent_at >= _ADVERTISE_EVERY:
                self._pending_rate = rate
            if remaining is not None and remaining <= 0:
                pause = now + 1.0 / rate
        if status == 429:
            pause = max(pause, now + (1.0 if retry_after is None else retry_after))
        if pause > self._paused_until:
            self._paused_until = pause
        if pause > self._pending_pause:
            self._pending_pause = pause
        if (self._pending_pause > now or self._pending_rate) and self._key is not None:
            self._flush_soon()

    def _flush_soon(self) -> None:
        if self._flushing is not None:
            return  # the running flush sends what is pending when it is done
        import asyncio

        try:
            loop = asyncio.get_running_loop()
        except RuntimeError:
            return  # no loop (a test calling observe directly): the local share has it
        self._flushing = loop.create_task(self._flush())

    async def _flush(self) -> None:
        try:
            while True:
                now = self._clock.now()
                pause = max(0.0, self._pending_pause - now)
                rate = self._pending_rate
                if pause <= 0.0 and not rate:
                    return
                self._pending_pause, self._pending_rate = -math.inf, 0.0
                script = self._signal_script
                if script is None:
                    script = self._signal_script = self._client().register_script(SIGNAL)
                try:
                    with anyio.fail_after(self._timeout):
                        await script(keys=[self._keys[1]], args=[repr(pause), repr(rate), _KEEP_MS])
                except _STORE_ERRORS as exc:
                    self._lost(exc)  # the next acquire finds the limiter alone
                    return
                if rate:
                    self._sent_rate, self._sent_at = rate, now
        finally:
            self._flushing = None

    # --- lifecycle, figures ---------------------------------------------------------------

    @property
    def shared(self) -> bool:
        """False while the store is away and the limiter keeps to its local share."""
        return self._alone_since is None

    def counters(self) -> Mapping[str, int]:
        """Grants (shared and alone), acquires that waited, fallbacks and returns."""
        return {
            "grants": self.grants,
            "local_grants": self.local_grants,
            "waits": self.waits,
            "fallbacks": self.fallbacks,
            "returns": self.returns,
        }

    async def aclose(self) -> None:
        """Close the store connection if this limiter opened it. Safe to call twice."""
        task, self._flushing = self._flushing, None
        if task is not None:
            task.cancel()
        client, self._redis = self._redis, None
        self._acquire_script = self._signal_script = None
        if client is not None and self._owned:
            await client.aclose()
        if not self._owned:
            self._redis = client

    async def __aenter__(self) -> RedisRateLimiter:
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self.aclose()

    def __repr__(self) -> str:
        return (
            f"RedisRateLimiter(store={self._where}, quota={self._quota:g}, "
            f"max_rate={self.max_rate:g}, processes={self._processes}, "
            f"key={self._key!r}, shared={self.shared})"
        )


_STORE_ERRORS = (RedisError, OSError, TimeoutError)


def _where(url: object) -> str:
    """The store's scheme, host and port, never its user or password."""
    if not isinstance(url, str):
        raise InvalidArgumentError(f"url must be a string, got {type(url).__name__}")
    try:
        parts = urlsplit(url)
        host, port = parts.hostname, parts.port
    except ValueError:
        raise InvalidArgumentError("url is not a redis://, rediss:// or unix:// URL") from None
    if parts.scheme not in ("redis", "rediss", "unix"):
        raise InvalidArgumentError(
            f"url must start with redis://, rediss:// or unix://, not {parts.scheme!r}"
        )
    if parts.scheme == "unix":
        return f"unix://{parts.path}"
    return f"{parts.scheme}://{host or 'localhost'}:{port or 6379}"


def _describe(exc: BaseException, url: str | None) -> str:
    text = f"{type(exc).__name__}: {exc}" if str(exc) else type(exc).__name__
    if url:  # a driver's message could quote what it was given
        parts = urlsplit(url)
        for secret in (url, parts.password, parts.username):
            if secret:
                text = text.replace(secret, "***")
    return text


_ENV = "MODELARTS_POLLER_REDIS"


def from_environment(environ: Mapping[str, str] | None = None) -> RedisRateLimiter:
    """A :class:`RedisRateLimiter` from the environment: a ready factory for the Airflow
    classes' ``rate_limiter="modelarts_poller.redis:from_environment"``.

    ``MODELARTS_POLLER_REDIS_URL`` is the store's URL, or ``MODELARTS_POLLER_REDIS_CONN_ID``
    names an Airflow connection (type ``redis``: host, port, password, ``ssl`` and ``db``
    in its extra); ``MODELARTS_POLLER_REDIS_QUOTA`` (required) the requests per second,
    ``..._MARGIN``, ``..._PROCESSES``, ``..._TIMEOUT``, ``..._PREFIX`` and
    ``..._FAIL_CLOSED`` (``1``/``true``) the other options.
    """
    env = os.environ if environ is None else environ

    def get(name: str) -> str | None:
        value = env.get(f"{_ENV}_{name}")
        return value.strip() if value is not None and value.strip() else None

    url = get("URL")
    conn_id = get("CONN_ID")
    if url is None and conn_id is None:
        raise InvalidArgumentError(f"set {_ENV}_URL or {_ENV}_CONN_ID")
    if url is None:
        assert conn_id is not None
        url = _url_of_connection(conn_id)
    quota = get("QUOTA")
    if quota is None:
        raise InvalidArgumentError(f"set {_ENV}_QUOTA (requests per second)")
    options: dict[str, Any] = {"quota": _number("QUOTA", quota)}
    for name, convert in (("MARGIN", float), ("TIMEOUT", float), ("PROCESSES", int)):
        raw = get(name)
        if raw is not None:
            options[name.lower()] = _number(name, raw, convert)
    prefix = get("PREFIX")
    if prefix is not None:
        options["prefix"] = prefix
    closed = get("FAIL_CLOSED")
    if closed is not None:
        if closed.lower() not in ("1", "0", "true", "false", "yes", "no"):
            raise InvalidArgumentError(f"{_ENV}_FAIL_CLOSED must be true or false, got {closed!r}")
        options["fail_closed"] = closed.lower() in ("1", "true", "yes")
    return RedisRateLimiter(url, **options)


def _number(name: str, raw: str, convert: Any = float) -> Any:
    try:
        return convert(raw)
    except ValueError:
        raise InvalidArgumentError(f"{_ENV}_{name} must be a number, got {raw!r}") from None


def _url_of_connection(conn_id: str) -> str:
    from urllib.parse import quote

    try:
        from airflow.sdk import BaseHook
    except ImportError as exc:
        raise InvalidArgumentError(
            f"{_ENV}_CONN_ID needs Airflow 3; set {_ENV}_URL instead"
        ) from exc
    conn = BaseHook.get_connection(conn_id)
    extra = conn.extra_dejson or {}
    scheme = "rediss" if str(extra.get("ssl", "")).lower() in ("1", "true", "yes") else "redis"
    auth = ""
    if conn.password:
        user = quote(conn.login or "", safe="")
        auth = f"{user}:{quote(conn.password, safe='')}@"
    db = extra.get("db", conn.schema or 0) or 0
    return f"{scheme}://{auth}{conn.host or 'localhost'}:{conn.port or 6379}/{db}"

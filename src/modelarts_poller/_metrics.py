"""The figures an engine keeps for dashboards, cheap to keep and read at collection time.

Nothing is kept until someone asks (``Engine.metrics()``, which the OpenTelemetry and
Prometheus adapters call): an engine nobody observes pays one ``is None`` test per poll.
Counters are plain ints in dicts keyed by low-cardinality attributes (kind, outcome,
reason, error type; never task IDs); histograms have fixed buckets. Adapters that need
each value (OpenTelemetry histograms) subscribe with :meth:`EngineMetrics.listen`.
"""

from __future__ import annotations

import bisect
from collections import Counter
from collections.abc import Callable, Mapping

# Seconds, from a millisecond of scheduler lag to the hours a training job takes.
BUCKETS: tuple[float, ...] = (
    0.001, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0, 60.0,
    300.0, 900.0, 3600.0, 14400.0, 86400.0,
)  # fmt: skip

Attrs = tuple[tuple[str, str], ...]
Listener = Callable[[str, float, Attrs], None]


class Histogram:
    """Counts per bucket (upper bounds in ``BUCKETS``, then +Inf), a sum and a count."""

    __slots__ = ("count", "counts", "sum")

    def __init__(self) -> None:
        self.counts = [0] * (len(BUCKETS) + 1)
        self.count = 0
        self.sum = 0.0

    def observe(self, value: float) -> None:
        self.counts[bisect.bisect_left(BUCKETS, value)] += 1
        self.count += 1
        self.sum += value


# The attribute names of each histogram's series, in the order their values are kept.
ATTRIBUTES: dict[str, tuple[str, ...]] = {
    "poll.duration": ("kind", "outcome"),
    "task.duration": ("kind", "outcome"),
    "scheduler.lag": (),
    "rate_limit.wait": (),
    "http.client.request.duration": (
        "http.request.method",
        "url.template",
        "http.response.status_code",
        "error.type",
    ),
}


class EngineMetrics:
    """What one engine did, by attribute set. Names follow the instruments in
    docs/observability.md. Every poll lands here: each series is found with one dict
    lookup on a tuple of plain values, and attribute pairs are made only when read."""

    __slots__ = ("_listeners", "_series", "finished", "retries")

    def __init__(self) -> None:
        self.retries: Counter[Attrs] = Counter()  # kind, error.type
        self.finished: Counter[Attrs] = Counter()  # kind, outcome, reason
        self._series: dict[tuple[str, ...], Histogram] = {}
        self._listeners: list[Listener] = []

    def listen(self, listener: Listener) -> Callable[[], None]:
        """Call ``listener(name, value, attributes)`` for every histogram value."""
        self._listeners.append(listener)
        return lambda: self._listeners.remove(listener) if listener in self._listeners else None

    def _observe(self, key: tuple[str, ...], value: float) -> None:
        histogram = self._series.get(key)
        if histogram is None:
            histogram = self._series[key] = Histogram()
        histogram.observe(value)
        if self._listeners:
            name = key[0]
            attrs = _pairs(name, key[1:])
            for listener in self._listeners:
                listener(name, value, attrs)

    @property
    def histograms(self) -> dict[tuple[str, Attrs], Histogram]:
        """Every histogram series: (name, attributes) -> histogram."""
        return {(k[0], _pairs(k[0], k[1:])): h for k, h in list(self._series.items())}

    @property
    def polls(self) -> dict[Attrs, int]:
        """Polls made, by kind and outcome (the poll-duration series' counts)."""
        return {
            _pairs("poll.duration", k[1:]): h.count
            for k, h in list(self._series.items())
            if k[0] == "poll.duration"
        }

    def poll(self, kind: str, outcome: str, seconds: float) -> None:
        self._observe(("poll.duration", kind, outcome), seconds)

    def retry(self, kind: str, error_type: str) -> None:
        self.retries[(("kind", kind), ("error.type", error_type))] += 1

    def finish(self, kind: str, outcome: str, reason: str, seconds: float) -> None:
        self.finished[(("kind", kind), ("outcome", outcome), ("reason", reason))] += 1
        self._observe(("task.duration", kind, outcome), seconds)

    def lag(self, seconds: float) -> None:
        self._observe(("scheduler.lag",), seconds if seconds > 0.0 else 0.0)

    def rate_wait(self, seconds: float) -> None:
        self._observe(("rate_limit.wait",), seconds)

    def request(
        self, method: str, template: str, status: int | None, error: str | None, seconds: float
    ) -> None:
        code = "" if status is None else str(status)
        self._observe(
            ("http.client.request.duration", method, template, code, error or ""), seconds
        )


def _pairs(name: str, values: tuple[str, ...]) -> Attrs:
    # Empty values are attributes the series does not have (no status after a timeout).
    return tuple((k, v) for k, v in zip(ATTRIBUTES[name], values, strict=True) if v)


def as_dict(attrs: Attrs) -> Mapping[str, str]:
    return dict(attrs)


# A limiter shared between processes (RedisRateLimiter) counts what it did in counters():
# (figure, kind, description, series as (attributes, value)), read by both adapters.
LimiterFigure = tuple[str, str, str, list[tuple[Attrs, float]]]


def limiter_figures(limiter: object) -> list[LimiterFigure]:
    """The figures of ``limiter`` if it keeps any (a ``counters()`` method), else none."""
    read = getattr(limiter, "counters", None)
    if read is None:
        return []
    c = read()
    return [
        ("rate_limit.grants", "counter", "Rate grants, from the shared store or alone.",
         [((("store", "shared"),), c["grants"]), ((("store", "local"),), c["local_grants"])]),
        ("rate_limit.waits", "counter", "Requests that waited for a rate grant.",
         [((), c["waits"])]),
        ("rate_limit.fallbacks", "counter", "Times the shared store was lost.",
         [((), c["fallbacks"])]),
        ("rate_limit.shared", "gauge", "1 while the quota is shared, 0 while alone.",
         [((), 1.0 if getattr(limiter, "shared", True) else 0.0)]),
    ]  # fmt: skip

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


class EngineMetrics:
    """What one engine did, by attribute set. Names follow the instruments in
    docs/observability.md."""

    __slots__ = (
        "_listeners",
        "finished",
        "histograms",
        "polls",
        "retries",
    )

    def __init__(self) -> None:
        self.polls: Counter[Attrs] = Counter()  # kind, outcome
        self.retries: Counter[Attrs] = Counter()  # kind, error.type
        self.finished: Counter[Attrs] = Counter()  # kind, outcome, reason
        self.histograms: dict[tuple[str, Attrs], Histogram] = {}
        self._listeners: list[Listener] = []

    def listen(self, listener: Listener) -> Callable[[], None]:
        """Call ``listener(name, value, attributes)`` for every histogram value."""
        self._listeners.append(listener)
        return lambda: self._listeners.remove(listener) if listener in self._listeners else None

    def observe(self, name: str, value: float, attrs: Attrs) -> None:
        key = (name, attrs)
        histogram = self.histograms.get(key)
        if histogram is None:
            histogram = self.histograms[key] = Histogram()
        histogram.observe(value)
        for listener in self._listeners:
            listener(name, value, attrs)

    def poll(self, kind: str, outcome: str, seconds: float) -> None:
        attrs = (("kind", kind), ("outcome", outcome))
        self.polls[attrs] += 1
        self.observe("poll.duration", seconds, attrs)

    def retry(self, kind: str, error_type: str) -> None:
        self.retries[(("kind", kind), ("error.type", error_type))] += 1

    def finish(self, kind: str, outcome: str, reason: str, seconds: float) -> None:
        attrs = (("kind", kind), ("outcome", outcome), ("reason", reason))
        self.finished[attrs] += 1
        self.observe("task.duration", seconds, (("kind", kind), ("outcome", outcome)))

    def lag(self, seconds: float) -> None:
        self.observe("scheduler.lag", max(0.0, seconds), ())

    def rate_wait(self, seconds: float) -> None:
        self.observe("rate_limit.wait", seconds, ())

    def request(
        self, method: str, template: str, status: int | None, error: str | None, seconds: float
    ) -> None:
        attrs: Attrs = (("http.request.method", method), ("url.template", template))
        if status is not None:
            attrs += (("http.response.status_code", str(status)),)
        if error is not None:
            attrs += (("error.type", error),)
        self.observe("http.client.request.duration", seconds, attrs)


def as_dict(attrs: Attrs) -> Mapping[str, str]:
    return dict(attrs)

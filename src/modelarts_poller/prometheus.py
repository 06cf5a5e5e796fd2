"""A Prometheus collector for an engine (optional extra ``prometheus``: ``prometheus_client``).

``EngineCollector(engine)`` turns the figures the engine keeps into metric families at
scrape time, named as Prometheus expects (one ``modelarts_poller_`` prefix, ``_total`` for
counters, base units such as ``_seconds``). ``serve(engine, port)`` exposes them over HTTP
on 127.0.0.1 unless told otherwise.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from ._engine import Engine
from ._errors import InvalidArgumentError
from ._metrics import ATTRIBUTES, BUCKETS, Attrs, Histogram, limiter_figures

try:
    from prometheus_client import CollectorRegistry, start_http_server
    from prometheus_client.core import (
        CounterMetricFamily,
        GaugeMetricFamily,
        HistogramMetricFamily,
        Metric,
    )
    from prometheus_client.registry import Collector
except ImportError as exc:  # pragma: no cover - the extra is part of the dev install
    raise ImportError(
        "modelarts_poller.prometheus needs prometheus_client: "
        "pip install 'modelarts-poller[prometheus]'"
    ) from exc

__all__ = ["EngineCollector", "serve"]

PREFIX = "modelarts_poller"
# internal histogram name -> (family name, help)
HISTOGRAMS = {
    "poll.duration": ("poll_duration_seconds", "Duration of one poll."),
    "task.duration": ("task_duration_seconds", "Time from a task's watch to its end."),
    "scheduler.lag": ("scheduler_lag_seconds", "How late polls start after they were due."),
    "rate_limit.wait": ("rate_limit_wait_seconds", "Time a request waited for a rate grant."),
    "http.client.request.duration": (
        "http_client_request_duration_seconds",
        "Duration of HTTP client requests (by URL template).",
    ),
}


def _label(name: str) -> str:
    return name.replace(".", "_")


def _labels(attrs: Attrs) -> tuple[list[str], list[str]]:
    return [_label(k) for k, _ in attrs], [v for _, v in attrs]


class EngineCollector(Collector):
    """Collects one engine's metrics at scrape time. Register it with a
    ``prometheus_client`` registry, or use :func:`serve`."""

    def __init__(self, engine: Engine) -> None:
        if not isinstance(engine, Engine):
            raise InvalidArgumentError(f"EngineCollector takes an Engine, got {engine!r}")
        self._engine = engine
        self._store = engine.metrics()

    def collect(self) -> Iterator[Metric]:
        store, engine = self._store, self._engine
        yield from self._counter("polls", "Polls made.", store.polls.items())
        yield from self._counter("retries", "Polls retried after a transient error.",
                                 store.retries.items())  # fmt: skip
        yield from self._counter("tasks_finished", "Tasks that ended.", store.finished.items())
        stats = engine.stats()
        errors = CounterMetricFamily(f"{PREFIX}_callback_errors", "Callbacks that raised.")
        errors.add_metric([], stats.callback_errors)
        yield errors
        active = GaugeMetricFamily(
            f"{PREFIX}_tasks_active", "Tasks being watched.", labels=["kind"]
        )
        for kind, count in sorted(engine.active().items()):
            active.add_metric([kind], count)
        yield active
        in_flight = GaugeMetricFamily(f"{PREFIX}_requests_in_flight", "Polls in flight.")
        in_flight.add_metric([], stats.in_flight)
        yield in_flight
        for figure, kind, text, series in limiter_figures(engine.rate_limiter):
            labels = _labels(series[0][0])[0] if series else []
            maker = CounterMetricFamily if kind == "counter" else GaugeMetricFamily
            figures = maker(f"{PREFIX}_{_label(figure)}", text, labels=labels)
            for attrs, value in series:
                figures.add_metric(_labels(attrs)[1], value)
            yield figures
        by_name: dict[str, list[tuple[Attrs, Histogram]]] = {}
        for (name, attrs), histogram in list(store.histograms.items()):
            by_name.setdefault(name, []).append((attrs, histogram))
        for name, (family, text) in HISTOGRAMS.items():
            names = ATTRIBUTES[name]
            metric = HistogramMetricFamily(
                f"{PREFIX}_{family}", text, labels=[_label(n) for n in names]
            )
            for attrs, histogram in by_name.get(name, []):
                values = dict(attrs)
                buckets: list[tuple[str, float]] = []
                running = 0
                for bound, count in zip((*BUCKETS, float("inf")), histogram.counts, strict=True):
                    running += count
                    buckets.append(("+Inf" if bound == float("inf") else repr(bound), running))
                metric.add_metric([values.get(n, "") for n in names], buckets, histogram.sum)
            yield metric

    def _counter(self, name: str, text: str, items: Any) -> Iterator[Metric]:
        rows = sorted(items)
        labels = _labels(rows[0][0])[0] if rows else []
        family = CounterMetricFamily(f"{PREFIX}_{name}", text, labels=labels)
        for attrs, value in rows:
            family.add_metric(_labels(attrs)[1], value)
        yield family


def serve(engine: Engine, port: int, *, addr: str = "127.0.0.1") -> CollectorRegistry:
    """Serve ``engine``'s metrics at ``http://addr:port/metrics`` (a daemon thread) and
    return the registry they are in."""
    registry = CollectorRegistry()
    registry.register(EngineCollector(engine))
    start_http_server(port, addr=addr, registry=registry)
    return registry

"""OpenTelemetry metrics for an engine, through ``opentelemetry-api`` only.

``instrument(engine)`` registers the instruments of docs/observability.md on the meter
provider you give (or the global one). The library never configures a provider or an
exporter: without an SDK installed, the API's no-op provider makes this cost nothing.
Counters and gauges are observable (read at collection time from what the engine keeps);
histograms are recorded as values arrive, only while instrumented.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import Any
from urllib.parse import urlsplit

from ._engine import Engine
from ._errors import InvalidArgumentError
from ._metrics import Attrs, limiter_figures

__all__ = ["Instrumentation", "instrument"]

# name -> (instrument name, unit, description)
HISTOGRAMS = {
    "poll.duration": ("modelarts_poller.poll.duration", "s", "Duration of one poll."),
    "task.duration": (
        "modelarts_poller.task.duration",
        "s",
        "Time from a task's watch to its end.",
    ),
    "scheduler.lag": (
        "modelarts_poller.scheduler.lag",
        "s",
        "How late polls start after they were due: the saturation signal.",
    ),
    "rate_limit.wait": (
        "modelarts_poller.rate_limit.wait",
        "s",
        "Time a request waited for a rate-limit grant.",
    ),
    "http.client.request.duration": (
        "http.client.request.duration",
        "s",
        "Duration of HTTP client requests.",
    ),
}


class Instrumentation:
    """What :func:`instrument` registered; :meth:`close` stops recording and reporting."""

    def __init__(self, stop: list[Callable[[], None]]) -> None:
        self._stop = stop
        self.closed = False

    def close(self) -> None:
        if not self.closed:
            self.closed = True
            for fn in self._stop:
                fn()


def instrument(
    engine: Engine,
    *,
    meter_provider: Any = None,
    histograms: bool = True,
    spans: bool = False,
    tracer_provider: Any = None,
) -> Instrumentation:
    """Report ``engine``'s metrics through OpenTelemetry (see docs/observability.md).

    The histograms are recorded value by value, which costs the SDK several microseconds
    per value on every poll; ``histograms=False`` reports the counters and gauges only,
    for engines whose CPU is the bound. ``spans=True`` also makes one span per poll
    (``modelarts_poller.poll {kind}``), on ``tracer_provider`` or the global one.
    """
    try:
        from opentelemetry import metrics as otel_metrics
    except ImportError as exc:  # pragma: no cover - the extra is part of the dev install
        raise InvalidArgumentError(
            "modelarts_poller.otel needs opentelemetry-api: pip install 'modelarts-poller[otel]'"
        ) from exc
    if not isinstance(engine, Engine):
        raise InvalidArgumentError(f"instrument() takes an Engine, got {engine!r}")
    from opentelemetry.metrics import CallbackOptions, Observation

    provider = meter_provider or otel_metrics.get_meter_provider()
    meter = provider.get_meter("modelarts_poller")
    store = engine.metrics()
    live = [True]
    server = _server_attrs(engine)

    def observe(pairs: Iterable[tuple[Attrs, float]]) -> list[Observation]:
        if not live[0]:
            return []
        return [Observation(value, dict(attrs)) for attrs, value in pairs]

    def counter(
        name: str, unit: str, description: str, read: Callable[[], Iterable[tuple[Attrs, float]]]
    ) -> None:
        def callback(_options: CallbackOptions) -> list[Observation]:
            return observe(read())

        meter.create_observable_counter(name, [callback], unit=unit, description=description)

    def gauge(
        name: str, unit: str, description: str, read: Callable[[], Iterable[tuple[Attrs, float]]]
    ) -> None:
        def callback(_options: CallbackOptions) -> list[Observation]:
            return observe(read())

        meter.create_observable_gauge(name, [callback], unit=unit, description=description)

    counter("modelarts_poller.polls", "{poll}", "Polls made.", lambda: store.polls.items())
    counter("modelarts_poller.retries", "{retry}", "Polls retried after a transient error.",
            lambda: store.retries.items())  # fmt: skip
    counter("modelarts_poller.tasks.finished", "{task}", "Tasks that ended.",
            lambda: store.finished.items())  # fmt: skip
    counter(
        "modelarts_poller.callback.errors",
        "{error}",
        "Callbacks that raised.",
        lambda: [((), engine.stats().callback_errors)],
    )
    gauge(
        "modelarts_poller.tasks.active",
        "{task}",
        "Tasks being watched.",
        lambda: [((("kind", k),), n) for k, n in engine.active().items()],
    )
    gauge(
        "modelarts_poller.requests.in_flight",
        "{request}",
        "Polls in flight.",
        lambda: [((), engine.stats().in_flight)],
    )
    for index, (figure, kind, text, _series) in enumerate(limiter_figures(engine.rate_limiter)):

        def read_figure(index: int = index) -> list[tuple[Attrs, float]]:
            return limiter_figures(engine.rate_limiter)[index][3]

        unit = "1" if kind == "gauge" else "{grant}" if figure.endswith("grants") else "{event}"
        make = gauge if kind == "gauge" else counter
        make(f"modelarts_poller.{figure}", unit, text, read_figure)
    stop: list[Callable[[], None]] = [lambda: live.__setitem__(0, False)]
    if histograms:
        instruments = {
            key: meter.create_histogram(name, unit=unit, description=description)
            for key, (name, unit, description) in HISTOGRAMS.items()
        }

        def record(name: str, value: float, attrs: Attrs) -> None:
            histogram = instruments.get(name)
            if histogram is not None:
                extra = server if name == "http.client.request.duration" else {}
                histogram.record(value, {**dict(attrs), **extra})

        stop.append(store.listen(record))
    if spans:
        from opentelemetry import trace

        engine._tracer = (tracer_provider or trace.get_tracer_provider()).get_tracer(
            "modelarts_poller"
        )
        stop.append(lambda: setattr(engine, "_tracer", None))
    return Instrumentation(stop)


def _server_attrs(engine: Engine) -> dict[str, Any]:
    endpoint = getattr(engine._client, "endpoint", None)
    if not isinstance(endpoint, str):
        return {}
    parts = urlsplit(endpoint)
    port = parts.port or (443 if parts.scheme == "https" else 80)
    return {"server.address": parts.hostname or "", "server.port": port}

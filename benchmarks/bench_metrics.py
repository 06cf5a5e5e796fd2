"""What collecting metrics costs: the engine's back-to-back throughput with metrics
collected against the same engine with nobody collecting, in one run, designs alternated,
simulator in a subprocess. Collection runs every second (a Prometheus scrape is every 15 s
or more). Designs: Prometheus (the engine's own aggregates, read at scrape time);
OpenTelemetry counters and gauges only (``histograms=False``); OpenTelemetry with its
histograms, which the SDK records value by value on the hot path.
Target: within 2% (ratio >= 0.98, median of the repeats) for Prometheus.
"""

from __future__ import annotations

import asyncio
import statistics

from opentelemetry.sdk.metrics import MeterProvider
from opentelemetry.sdk.metrics.export import InMemoryMetricReader
from prometheus_client import CollectorRegistry, generate_latest

from _common import SMOKE, header, summary, verdict
from _sim import SimProcess
from bench_throughput import BACK_TO_BACK, PROJECT, REPEATS, client, window
from modelarts_poller import DatasetTask, Engine
from modelarts_poller.otel import instrument
from modelarts_poller.prometheus import EngineCollector

CONCURRENCY = 10 if SMOKE else 100


DESIGNS = ("plain", "prometheus", "otel-counters", "otel-histograms")


async def run(url: str, ids: list[str], design: str) -> tuple[float, float]:
    async with (
        client(url, len(ids)) as api,
        Engine(client=api, policy=BACK_TO_BACK, max_in_flight=len(ids)) as engine,
    ):
        scraping: asyncio.Task[None] | None = None
        if design != "plain":
            registry = CollectorRegistry()
            reader = InMemoryMetricReader()
            if design == "prometheus":
                registry.register(EngineCollector(engine))
            else:
                provider = MeterProvider(metric_readers=[reader])
                instrument(engine, meter_provider=provider, histograms=design == "otel-histograms")

            async def scrape() -> None:
                while True:
                    await asyncio.sleep(1.0)
                    if design == "prometheus":
                        generate_latest(registry)
                    else:
                        reader.get_metrics_data()

            scraping = asyncio.create_task(scrape())
        engine.watch_many(DatasetTask(i) for i in ids)
        try:
            return await window(lambda: engine.stats().polls)
        finally:
            if scraping is not None:
                scraping.cancel()


def main() -> None:
    header("metrics: engine throughput with metrics collected vs nobody collecting")
    results: dict[str, list[tuple[float, float]]] = {d: [] for d in DESIGNS}
    with SimProcess() as sim:
        tasks = [{"kind": "dataset_task", "queue": 0, "run": 1e7} for _ in range(CONCURRENCY)]
        ids = [t["task_id"] for t in sim.add_tasks(tasks, PROJECT)]
        for rep in range(REPEATS):
            order = DESIGNS[rep % len(DESIGNS) :] + DESIGNS[: rep % len(DESIGNS)]
            for design in order:
                results[design].append(asyncio.run(run(sim.url, ids, design)))
    print(f"# {CONCURRENCY} in flight, {REPEATS} repeats, designs alternated")
    print(f"{'design':<16} {'polls/s':>24} {'CPU us/poll':>22} {'vs plain':>24}")
    medians: dict[str, float] = {}
    for design, rows in results.items():
        ratios = [r[0] / p[0] for r, p in zip(rows, results["plain"], strict=True)]
        medians[design] = statistics.median(ratios)
        print(
            f"{design:<16} {summary([r[0] for r in rows], '{:.0f}'):>24} "
            f"{summary([r[1] for r in rows], '{:.0f}'):>22} {summary(ratios, '{:.3f}'):>24}"
        )
    ok = medians["prometheus"] >= 0.98
    print("# " + verdict(ok, f"prometheus / plain = {medians['prometheus']:.3f} (>= 0.98)"))


if __name__ == "__main__":
    main()

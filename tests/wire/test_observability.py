"""Metrics through OpenTelemetry (the SDK's in-memory reader) and Prometheus (a
registry), checked against a run on the simulator; the CLI serves them on request."""

from __future__ import annotations

import asyncio
import socket
import subprocess
import urllib.request
from collections.abc import AsyncIterator
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st
from opentelemetry.sdk.metrics import MeterProvider
from opentelemetry.sdk.metrics.export import InMemoryMetricReader
from prometheus_client import CollectorRegistry

from modelarts_poller import (
    Backoff,
    Engine,
    ModelArtsClient,
    NoAuth,
    PollPolicy,
    TaskCompleted,
    kinds,
    url_template,
)
from modelarts_poller.otel import instrument
from modelarts_poller.prometheus import EngineCollector
from modelarts_poller.simulator import Faults, Simulator, SimulatorConfig, spec_of
from tests.cli_process import CLI, ENV

FAST = PollPolicy(
    interval=Backoff(initial=0.05, maximum=0.1), retry=Backoff(initial=0.02, maximum=0.05)
)


@pytest.fixture
async def sim() -> AsyncIterator[Simulator]:
    async with Simulator(SimulatorConfig(seed=5)) as simulator:
        yield simulator


def ignore(*_: object) -> None:
    pass


def broken_callback(event: object) -> None:
    raise RuntimeError("a subscriber's bug")


async def run(sim: Simulator, engine_hook: Any) -> Engine:
    ok = [sim.add(k, queue=0.0, run=0.2) for k in ("sync", "export", "training_job")]
    bad = [sim.add(k, queue=0.0, run=0.2, outcome="failed") for k in ("sync", "model")]
    async with (
        ModelArtsClient(endpoint=sim.url, project_id=sim.project_id, auth=NoAuth()) as client,
        # A low rate, so that requests wait for grants and the wait is measured.
        Engine(
            client=client, policy=FAST, max_rate=40, on_callback_error=lambda *a: None
        ) as engine,
    ):
        engine_hook(engine)
        engine.subscribe(broken_callback, types=TaskCompleted)
        sim.set_faults(Faults(server_error=0.2))
        result = await engine.wait(engine.watch_many(spec_of(s) for s in (*ok, *bad)), timeout=20)
    assert len(result.completed) == 3
    assert len(result.failed) == 2
    return engine


def test_nothing_is_kept_until_someone_collects() -> None:
    engine = Engine()
    assert engine._metrics is None
    assert engine.metrics() is engine.metrics()


async def test_opentelemetry_instruments_match_the_run(sim: Simulator) -> None:
    reader = InMemoryMetricReader()
    provider = MeterProvider(metric_readers=[reader])
    handles: list[Any] = []
    engine = await run(sim, lambda e: handles.append(instrument(e, meter_provider=provider)))
    data = reader.get_metrics_data()
    metrics = {
        m.name: m for rm in data.resource_metrics for sm in rm.scope_metrics for m in sm.metrics
    }
    stats = engine.stats()
    units = {
        "modelarts_poller.polls": "{poll}",
        "modelarts_poller.poll.duration": "s",
        "modelarts_poller.tasks.active": "{task}",
        "modelarts_poller.tasks.finished": "{task}",
        "modelarts_poller.task.duration": "s",
        "modelarts_poller.retries": "{retry}",
        "modelarts_poller.requests.in_flight": "{request}",
        "modelarts_poller.rate_limit.wait": "s",
        "modelarts_poller.scheduler.lag": "s",
        "modelarts_poller.callback.errors": "{error}",
        "http.client.request.duration": "s",
    }
    assert {name: metrics[name].unit for name in units} == units
    assert sum(p.value for p in metrics["modelarts_poller.callback.errors"].data.data_points) == 3
    waits = metrics["modelarts_poller.rate_limit.wait"].data.data_points
    assert sum(p.count for p in waits) > 0
    assert [p.value for p in metrics["modelarts_poller.requests.in_flight"].data.data_points] == [0]
    polls = metrics["modelarts_poller.polls"]
    assert polls.unit == "{poll}"
    assert sum(p.value for p in polls.data.data_points) == stats.polls
    assert all(set(p.attributes) == {"kind", "outcome"} for p in polls.data.data_points)
    finished = metrics["modelarts_poller.tasks.finished"]
    by_outcome: dict[str, int] = {}
    for p in finished.data.data_points:
        by_outcome[p.attributes["outcome"]] = by_outcome.get(p.attributes["outcome"], 0) + p.value
    assert by_outcome == {"completed": 3, "failed": 2}
    assert all("task_id" not in p.attributes for p in finished.data.data_points)
    for name in ("modelarts_poller.poll.duration", "modelarts_poller.task.duration",
                 "modelarts_poller.scheduler.lag", "http.client.request.duration"):  # fmt: skip
        assert metrics[name].unit == "s", name
        assert sum(p.count for p in metrics[name].data.data_points) > 0, name
    http = metrics["http.client.request.duration"].data.data_points
    templates = {p.attributes["url.template"] for p in http}
    assert "/v2/{project_id}/datasets/{dataset_id}/sync-data/status" in templates
    assert all("{" in t for t in templates)  # templates, never raw IDs
    assert all(p.attributes["server.address"] == "127.0.0.1" for p in http)
    assert any(p.attributes.get("error.type") == "500" for p in http)
    retries = metrics["modelarts_poller.retries"].data.data_points
    assert sum(p.value for p in retries) == stats.transient_errors
    active = metrics["modelarts_poller.tasks.active"].data.data_points
    assert sum(p.value for p in active) == 0
    handles[0].close()
    assert handles[0].closed


async def test_prometheus_families_match_the_run(sim: Simulator) -> None:
    registry = CollectorRegistry()
    engine = await run(sim, lambda e: registry.register(EngineCollector(e)))
    stats = engine.stats()
    total = sum(
        s.value
        for family in registry.collect()
        if family.name == "modelarts_poller_polls"
        for s in family.samples
        if s.name == "modelarts_poller_polls_total"
    )
    assert total == stats.polls
    assert (
        registry.get_sample_value(
            "modelarts_poller_tasks_finished_total",
            {"kind": "model", "outcome": "failed", "reason": "remote_failed"},
        )
        == 1
    )
    count = registry.get_sample_value("modelarts_poller_task_duration_seconds_count",
                                      {"kind": "sync", "outcome": "completed"})  # fmt: skip
    assert count == 1
    inf = registry.get_sample_value(
        "modelarts_poller_poll_duration_seconds_bucket",
        {"kind": "sync", "outcome": "ok", "le": "+Inf"},
    )
    assert inf is not None
    assert inf >= 1
    names = {s.name for family in registry.collect() for s in family.samples}
    assert "modelarts_poller_scheduler_lag_seconds_sum" in names
    assert "modelarts_poller_requests_in_flight" in names
    assert "modelarts_poller_callback_errors_total" in names


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
        return port


@pytest.mark.slow  # starts the CLI as a process
async def test_the_cli_serves_metrics_on_request(sim: Simulator) -> None:
    script = sim.add("export", queue=0.0, run=60.0)
    port = free_port()
    args = ["watch", "--kind", "export", f"{script.dataset_id}/{script.task_id}", "--json",
            "--no-auth", "--endpoint", sim.url, "--project-id", sim.project_id,
            "--metrics-port", str(port)]  # fmt: skip
    proc = subprocess.Popen(  # noqa: ASYNC220 - the simulator keeps serving meanwhile
        [*CLI, *args], env=ENV, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
    )
    try:
        text = ""
        for _ in range(100):  # bounded: 10 s
            await asyncio.sleep(0.1)
            try:
                text = await asyncio.to_thread(
                    lambda: (
                        urllib.request.urlopen(f"http://127.0.0.1:{port}/metrics", timeout=2)
                        .read()
                        .decode()
                    )
                )
            except OSError:
                continue
            if 'modelarts_poller_polls_total{kind="export"' in text:
                break
    finally:
        proc.kill()
        proc.wait()
    assert 'modelarts_poller_polls_total{kind="export",outcome="ok"}' in text
    assert "modelarts_poller_tasks_active" in text


# IDs of "." or holding ".." are refused (they would change the path's meaning).
_ID = st.from_regex(r"[A-Za-z0-9_.~-]{1,20}", fullmatch=True).filter(
    lambda v: v != "." and ".." not in v
)


@given(ids=st.lists(_ID, min_size=3))
def test_every_request_path_maps_back_to_its_template(ids: list[str]) -> None:
    for kind in kinds():
        spec: Any = kind.spec(*ids[: len(kind.id_names)])
        named = dict(zip(spec.ID_NAMES, spec.ids, strict=True))
        path = spec.PATH.format(project_id="p-1", **named)
        assert url_template(path) == spec.PATH
        assert url_template(f"https://modelarts.test{path}?limit=1") == spec.PATH
    assert url_template("/v3/elsewhere") is None


async def test_per_poll_spans_are_opt_in(sim: Simulator) -> None:
    from opentelemetry.sdk.trace import TracerProvider
    from opentelemetry.sdk.trace.export import SimpleSpanProcessor
    from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter

    exporter = InMemorySpanExporter()
    tracer_provider = TracerProvider()
    tracer_provider.add_span_processor(SimpleSpanProcessor(exporter))
    handles: list[Any] = []
    await run(sim, lambda e: handles.append(instrument(
        e, meter_provider=MeterProvider(), spans=True, tracer_provider=tracer_provider
    )))  # fmt: skip
    spans = exporter.get_finished_spans()
    assert spans
    assert {s.name for s in spans} >= {"modelarts_poller.poll sync", "modelarts_poller.poll model"}
    assert all(s.attributes["modelarts_poller.kind"] for s in spans)
    assert any(s.events for s in spans)  # a server fault recorded as an exception
    handles[0].close()
    exporter.clear()
    await run(sim, lambda e: None)  # without spans=True: none
    assert not exporter.get_finished_spans()

"""Log records carry structured context in ``extra`` (kind, IDs, attempt, delay, HTTP
fields), the package logger has a NullHandler, and no credential is in any field."""

from __future__ import annotations

import logging

import pytest

from modelarts_poller import (
    Backoff,
    Engine,
    ExportTask,
    ModelArtsClient,
    PollPolicy,
    ServerError,
    TaskFailedError,
    TokenAuth,
)
from modelarts_poller.simulator import Simulator, SimulatorConfig, spec_of
from modelarts_poller.testing import FakeClock, FakeModelArts

SECRET = "s3cr3t-token-value"


def test_the_package_logger_has_a_null_handler() -> None:
    handlers = logging.getLogger("modelarts_poller").handlers
    assert any(isinstance(h, logging.NullHandler) for h in handlers)


async def test_engine_records_carry_the_task_and_the_attempt(
    caplog: pytest.LogCaptureFixture,
) -> None:
    clock = FakeClock()
    fake = FakeModelArts(clock)
    fake.add_export("ds-1", "t-1", [(0, {"status": "RUNNING"}), (5, {"status": "SUCCESSED"})])
    fake.fail_next(("export", "ds-1", "t-1"), ServerError("boom", status=503))
    policy = PollPolicy(retry=Backoff(initial=1, maximum=1, jitter="none"))
    with caplog.at_level(logging.DEBUG, logger="modelarts_poller"):
        async with Engine(client=fake, clock=clock, policy=policy) as engine:
            await clock.run(engine.watch(ExportTask("ds-1", "t-1")))
    retry = next(r for r in caplog.records if "transient error" in r.getMessage())
    assert (retry.kind, retry.dataset_id, retry.task_id) == ("export", "ds-1", "t-1")  # type: ignore[attr-defined]
    assert (retry.attempt, retry.delay, retry.error_type) == (1, 1.0, "ServerError")  # type: ignore[attr-defined]
    done = next(r for r in caplog.records if "completed after" in r.getMessage())
    assert (done.task, done.outcome) == ("export:ds-1/t-1", "completed")  # type: ignore[attr-defined]


async def test_http_records_carry_method_path_status_and_no_credential(
    caplog: pytest.LogCaptureFixture,
) -> None:
    config = SimulatorConfig(auth="token", tokens={SECRET})
    async with Simulator(config) as sim:
        script = sim.add("sync", queue=0.0, run=0.1)
        with caplog.at_level(logging.DEBUG, logger="modelarts_poller"):
            async with ModelArtsClient(
                endpoint=sim.url, project_id=sim.project_id, auth=TokenAuth(SECRET)
            ) as client:
                await client.get_task(spec_of(script))
    statuses = [getattr(r, "http_status", None) for r in caplog.records]
    assert 200 in statuses, [(r.name, r.getMessage()) for r in caplog.records]
    record = next(r for r in caplog.records if getattr(r, "http_status", None) == 200)
    assert record.http_method == "GET"  # type: ignore[attr-defined]
    assert record.http_path.endswith("/sync-data/status")  # type: ignore[attr-defined]
    assert record.elapsed_ms >= 0  # type: ignore[attr-defined]
    for r in caplog.records:
        assert SECRET not in repr(vars(r))


async def test_a_remote_failure_text_is_logged_as_one_line(
    caplog: pytest.LogCaptureFixture,
) -> None:
    clock = FakeClock()
    fake = FakeModelArts(clock)
    forged = "disk full\n2026-01-01 CRITICAL forged line \x1b[31m"
    fake.add_export("ds-1", "t-1", [(0, {"status": "FAILED", "error_msg": forged})])
    with caplog.at_level(logging.DEBUG, logger="modelarts_poller"):
        async with Engine(client=fake, clock=clock) as engine:
            with pytest.raises(TaskFailedError) as info:
                await clock.run(engine.watch(ExportTask("ds-1", "t-1")))
    assert info.value.event.message == forged  # the event keeps the server's text
    assert str(info.value).isprintable()  # the exception's message is one line
    lines = [r.getMessage() for r in caplog.records if "failed (" in r.getMessage()]
    assert lines
    assert all(line.isprintable() for line in lines)
    assert "forged line" in lines[0]

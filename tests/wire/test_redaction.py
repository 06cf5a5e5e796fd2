"""No credential ever shows: not in any log record at DEBUG (every logger), not in any
exception message, repr or traceback, not in the repr of any client, auth or config,
across every auth type against the simulator, including 401s, faults and retries."""

from __future__ import annotations

import logging
import traceback
from collections.abc import Iterable
from typing import Any

import pytest

from modelarts_poller import (
    AkSkAuth,
    Backoff,
    DatasetTask,
    Engine,
    ExportTask,
    IamTokenAuth,
    ModelArtsClient,
    PollPolicy,
    Secret,
    SyncTask,
    TaskEvent,
    TokenAuth,
)
from modelarts_poller.simulator import Faults, Simulator, SimulatorConfig

TOKEN = "tok-SECRET-7a1f93c2"
WRONG_TOKEN = "tok-WRONG-55e0b7d1"
AK = "AKSECRETKEYID0001"
SK = "sk-SECRET-4be2d9a0"
WRONG_SK = "sk-WRONG-0c8e11f4"
STS = "sts-SECRET-91d3aa27"
USER = "alice"
PASSWORD = "pw-SECRET-e6f40b3c"
WRONG_PASSWORD = "pw-WRONG-2b7c5d9e"
SECRETS = [TOKEN, WRONG_TOKEN, SK, WRONG_SK, STS, PASSWORD, WRONG_PASSWORD]
POLICY = PollPolicy(
    interval=Backoff(initial=0.05, maximum=0.2),
    retry=Backoff(initial=0.01, maximum=0.05, jitter="full"),
    max_retries=50,
)


def _texts_of_exception(exc: BaseException) -> Iterable[str]:
    yield str(exc)
    yield repr(exc)
    yield "".join(traceback.format_exception(exc))  # the whole chain, causes included
    cause = exc.__cause__ or exc.__context__
    while cause is not None:
        yield repr(cause)
        yield repr(getattr(cause, "request_info", ""))
        cause = cause.__cause__ or cause.__context__


def _texts_of_event(event: TaskEvent) -> Iterable[str]:
    yield repr(event)
    yield str(event)
    for name in ("message", "error"):
        value = getattr(event, name, None)
        if isinstance(value, BaseException):
            yield from _texts_of_exception(value)
        elif value is not None:
            yield str(value)


def _texts_of_logs(records: list[logging.LogRecord]) -> Iterable[str]:
    formatter = logging.Formatter("%(name)s %(levelname)s %(message)s")
    for record in records:
        yield formatter.format(record)  # includes exc_info tracebacks
        yield repr(record.args)


def _assert_clean(texts: Iterable[str], secrets: list[str]) -> int:
    n = 0
    for text in texts:
        n += 1
        for secret in secrets:
            assert secret not in text, f"{secret!r} leaked in: {text[:300]}"
    return n


async def _run(sim: Simulator, auth: Any, texts: list[str]) -> None:
    """Watch a few tasks through faults to the end; collect every text worth scanning."""
    async with ModelArtsClient(
        project_id=sim.project_id, auth=auth, endpoint=sim.url, timeout=0.2
    ) as client:
        texts += [repr(client), repr(auth), str(auth)]
        async with Engine(client=client, policy=POLICY, seed=3, on_exit="drain") as engine:
            events: list[TaskEvent] = []
            engine.subscribe(events.append)
            specs = [
                SyncTask("ds-red"),
                ExportTask("ds-red", "exp-red"),
                DatasetTask("task-red"),
                DatasetTask("task-missing"),  # 404: a permanent error
            ]
            handles = engine.watch_many(specs)
            result = await engine.wait(handles)
            texts += [repr(engine), repr(result)]
        for event in events:
            texts.extend(_texts_of_event(event))
        try:
            await client.create_export_task("ds-red", path="/b/o/", extra={"x": 1})
            await client.start_sync("ds-started")  # not ds-red: that would restart it
        except Exception as exc:  # a fault may hit; its texts are scanned too
            texts.extend(_texts_of_exception(exc))
    assert len(result.completed) == 3, result
    assert len(result.failed) == 1


async def _refused(sim: Simulator, auth: Any, texts: list[str]) -> None:
    async with ModelArtsClient(project_id=sim.project_id, auth=auth, endpoint=sim.url) as client:
        texts += [repr(client), repr(auth)]
        async with Engine(client=client, policy=POLICY) as engine:
            event = await engine.watch(DatasetTask("task-red")).wait()
        texts.extend(_texts_of_event(event))
        assert getattr(event.error, "status", None) == 401, event  # type: ignore[attr-defined]
        try:
            await client.get_dataset_task_status("task-red")
        except Exception as exc:
            texts.extend(_texts_of_exception(exc))
        else:
            raise AssertionError("expected 401")


async def test_no_credential_appears_anywhere(caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.DEBUG)  # the root logger: every library logger propagates
    config = SimulatorConfig(
        auth="either",
        tokens=frozenset({TOKEN}),
        access_keys={AK: SK},
        users={USER: PASSWORD},
        faults=Faults.uniform(0.3, stall_seconds=0.3, retry_after=0.01),
        seed=11,
    )
    texts: list[str] = [repr(config), str(config), repr(Secret(TOKEN)), str(Secret(SK))]
    async with Simulator(config) as sim:
        sim.add("sync", dataset_id="ds-red", queue=0, run=0.3)
        sim.add("export", dataset_id="ds-red", task_id="exp-red", queue=0, run=0.3)
        sim.add("dataset_task", task_id="task-red", queue=0, run=0.3)
        texts.append(repr(sim))

        iam = IamTokenAuth(
            user_name=USER,
            password=PASSWORD,
            domain_name="dom",
            project_id=sim.project_id,
            iam_endpoint=sim.url,
        )
        for auth in (TokenAuth(TOKEN), AkSkAuth(AK, SK, security_token=STS), iam):
            await _run(sim, auth, texts)
        # Now that IAM has issued tokens, they are secrets too.
        issued = [t for t in sim.state.tokens if t != TOKEN]
        assert issued

        sim.set_faults(Faults())
        for auth in (TokenAuth(WRONG_TOKEN), AkSkAuth(AK, WRONG_SK, security_token=STS)):
            await _refused(sim, auth, texts)
        wrong_iam = IamTokenAuth(
            user_name=USER,
            password=WRONG_PASSWORD,
            domain_name="dom",
            project_id=sim.project_id,
            iam_endpoint=sim.url,
        )
        with pytest.raises(Exception) as info:  # noqa: PT011 - any error; its text matters
            await wrong_iam.token()
        texts.extend(_texts_of_exception(info.value))
        texts.append(repr(wrong_iam))

    texts.append(caplog.text)
    scanned = _assert_clean(texts + list(_texts_of_logs(caplog.records)), SECRETS + issued)
    # The scan saw real material: DEBUG lines from the client and engine, and errors.
    names = {r.name for r in caplog.records}
    assert {"modelarts_poller.client", "modelarts_poller.engine"} <= names
    assert any("401" in t for t in texts)
    assert scanned > 100

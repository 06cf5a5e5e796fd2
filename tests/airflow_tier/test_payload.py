"""Whatever the server sent, a trigger's event payload is strict JSON that the triggerer's
own message encoding (the msgpack frame a TriggerRunner sends its supervisor) carries, and
that the supervisor's decoder reads back, under MAX_PAYLOAD_BYTES. An exception in that
encoding stops the triggerer's runner with every trigger in it."""

from __future__ import annotations

import json
from typing import Any

import pytest

pytest.importorskip(
    "airflow",
    reason="Apache Airflow is not installed here: the Airflow tier of .ci/run (a second "
    "virtual environment with .[dev,airflow]) runs these tests",
)

import msgspec
from airflow.jobs.triggerer_job_runner import (
    TriggerEventEntry,
    TriggerRunnerSupervisor,
    messages,
)
from airflow.sdk.execution_time.comms import _RequestFrame
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from modelarts_poller import ExportTask, FailureReason, TaskCompleted, TaskFailed
from modelarts_poller._kind import get_kind
from modelarts_poller._parsing import ParseError
from modelarts_poller.airflow import MAX_PAYLOAD_BYTES, event_payload
from modelarts_poller.airflow._shared import token_for
from modelarts_poller.airflow.triggers import ModelArtsTaskTrigger

SPEC = ExportTask("dataset-1", "task-1")


def sent_through_the_triggerer(payload: dict[str, Any], *, end_from_trigger: bool) -> Any:
    """What the supervisor reads of ``payload`` after the triggerer sent it as it does:
    the trigger's event in a TriggerStateChanges, dumped and encoded as a request frame."""
    trigger = ModelArtsTaskTrigger(
        token=token_for(SPEC), conn_id="c", end_from_trigger=end_from_trigger
    )
    event = trigger._event(payload)
    msg = messages.TriggerStateChanges(
        events=[TriggerEventEntry(trigger_id=1, event=event, persist_seq=None)]
    )
    frame = _RequestFrame(id=1, body=msg.model_dump()).as_bytes()  # raises if it cannot
    back = msgspec.msgpack.decode(bytes(frame[4:]), type=_RequestFrame)
    got = TriggerRunnerSupervisor.decoder.validate_python(back.body)
    (entry,) = got.events
    return entry.event.xcoms["return_value"] if end_from_trigger else entry.event.payload


def check_sendable(payload: dict[str, Any]) -> None:
    text = json.dumps(payload, ensure_ascii=False, allow_nan=False)  # strict JSON
    assert len(text.encode()) <= MAX_PAYLOAD_BYTES
    for end_from_trigger in (False, True):
        assert sent_through_the_triggerer(payload, end_from_trigger=end_from_trigger) == payload


def export_snapshot(body: dict[str, Any]) -> Any:
    return get_kind("export").spec("d", "t").PARSE(body)


def outcomes(snapshot: Any, message: str) -> list[TaskCompleted | TaskFailed]:
    obs = snapshot.observation() if hasattr(snapshot, "observation") else None
    failed = TaskFailed(SPEC, 1.0, FailureReason.REMOTE_FAILED, message, None, snapshot)
    return [failed] if obs is None else [failed, TaskCompleted(SPEC, 1.0, snapshot, obs)]


@pytest.mark.parametrize(
    "body",
    [
        {"status": "FAILED", "error_msg": "bad \udc80 byte"},  # a lone surrogate
        {"status": "\ud800", "error_code": "\udfff"},
        {"status": "FAILED", "create_time": 2**64},  # past what msgpack carries
        {"status": "FAILED", "create_time": -(2**63) - 1},
        {"status": "FAILED", "update_time": 10**400},
        {"status": "FAILED", "error_msg": "nul \x00 inside"},
    ],
)
def test_what_airflows_encoding_refused_is_sent(body: dict[str, Any]) -> None:
    snapshot = export_snapshot(body)
    for outcome in outcomes(snapshot, str(body.get("error_msg", "failed"))):
        check_sendable(event_payload(outcome))


def test_a_3_mb_error_message_makes_a_payload_under_the_bound() -> None:
    text = "stack trace line\n" * (3 * 1024 * 1024 // 17)
    snapshot = export_snapshot({"status": "FAILED", "error_msg": text})
    payload = event_payload(
        TaskFailed(SPEC, 1.0, FailureReason.REMOTE_FAILED, text, None, snapshot)
    )
    check_sendable(payload)
    assert payload["message"].startswith("stack trace line\n" * 100)  # most of it is kept
    assert payload["message"].endswith(f"… {len(text)} characters")
    assert payload["snapshot"]["error_msg"].startswith("stack trace line\n")
    # The same end has the same ID however it was cut.
    short = event_payload(TaskFailed(SPEC, 1.0, FailureReason.REMOTE_FAILED, "x", None, snapshot))
    assert short["event_id"] == payload["event_id"]


JSON = st.recursive(
    st.none()
    | st.booleans()
    | st.integers(min_value=-(2**80), max_value=2**80)
    | st.floats()
    | st.text(st.characters(), max_size=50),
    lambda inner: (
        st.lists(inner, max_size=5)
        | st.dictionaries(st.text(st.characters(), max_size=10), inner, max_size=5)
    ),
    max_leaves=30,
)
EXPORT_KEYS = ("task_id", "status", "progress", "create_time", "error_code", "error_msg", "path")


@settings(max_examples=100, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    body=st.dictionaries(st.sampled_from(EXPORT_KEYS) | st.text(max_size=8), JSON, max_size=8),
    message=st.text(st.characters(), max_size=200) | st.just("é\udc80" * 40_000),
)
def test_any_server_json_makes_a_payload_airflow_sends_under_the_bound(
    body: dict[str, Any], message: str
) -> None:
    try:
        snapshot = export_snapshot(body)
    except ParseError:
        snapshot = None  # the engine retries such an answer; the end may still come
    for outcome in (
        outcomes(snapshot, message)
        if snapshot
        else [TaskFailed(SPEC, 1.0, FailureReason.DEADLINE, message, None, None)]
    ):
        check_sendable(event_payload(outcome))


@settings(max_examples=100, deadline=None)
@given(value=JSON, text=st.none() | st.integers(1, 50), items=st.none() | st.integers(1, 5))
def test_any_value_in_a_custom_snapshot_is_made_sendable(
    value: Any, text: int | None, items: int | None
) -> None:
    from modelarts_poller.airflow._payload import sendable

    made = sendable(value, text=text, items=items)
    json.dumps(made, allow_nan=False)
    assert msgspec.msgpack.decode(msgspec.msgpack.encode(made)) == made

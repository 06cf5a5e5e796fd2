"""A kind's stop call: declared once with the kind, sent by ``send_stop``, refused where
the kind has none."""

from __future__ import annotations

import enum
from collections.abc import Callable, Mapping
from typing import Any, TypeVar

import attrs
import pytest

from modelarts_poller import NotStoppableError, Phase
from modelarts_poller.operations import (
    StatusMixin,
    StopCall,
    declare,
    extra_field,
    id_field,
    phase_table,
    project_field,
    send_stop,
    success_field,
    text,
)
from modelarts_poller.operations.sync import SyncTask
from modelarts_poller.operations.training_job import TrainingJob

T = TypeVar("T")


class Recorder:
    def __init__(self) -> None:
        self.sent: list[tuple[str, str, Mapping[str, str] | None, object, str | None]] = []

    async def request(
        self,
        method: str,
        template: str,
        parse: Callable[[object], T],
        *,
        ids: Mapping[str, str] | None = None,
        body: Mapping[str, object] | None = None,
        query: Mapping[str, object] | None = None,
        project_id: str | None = None,
    ) -> T:
        self.sent.append((method, template, ids, body, project_id))
        return parse({"status": {"phase": "Terminating"}})


async def test_a_training_job_is_stopped_by_its_declared_action() -> None:
    client = Recorder()
    await send_stop(client, TrainingJob("job-1", project_id="p1"))
    assert client.sent == [
        (
            "POST",
            "/v2/{project_id}/training-jobs/{training_job_id}/actions",
            {"training_job_id": "job-1"},
            {"action_type": "terminate"},
            "p1",
        )
    ]
    assert TrainingJob.STOP is not None
    assert TrainingJob.STOP.stopped == {"Terminated"}


async def test_a_kind_without_a_stop_call_refuses_and_sends_nothing() -> None:
    client = Recorder()
    assert SyncTask.STOP is None
    with pytest.raises(NotStoppableError, match="sync tasks have no stop call"):
        await send_stop(client, SyncTask("ds-1"))
    assert client.sent == []


class State(enum.Enum):
    UP = "UP"
    DOWN = "DOWN"


PHASES = phase_table(State, {State.UP: Phase.SUCCEEDED, State.DOWN: Phase.FAILED})


@attrs.frozen
class Snap(StatusMixin[State]):
    status: str | None = text()
    extra: Mapping[str, object] = extra_field()


def _spec_class() -> type[Any]:
    @attrs.frozen
    class Thing:
        thing_id: str = id_field()
        project_id: str | None = project_field()
        success: frozenset[Any] | None = success_field()

    return Thing


THINGS = "/v1/{project_id}/things/"


@pytest.mark.parametrize(
    ("stop", "complaint"),
    [
        (
            StopCall("POST", THINGS + "{other}/stop", frozenset({"DOWN"})),
            "stop path",
        ),
        (
            StopCall("POST", THINGS + "{thing_id}/stop", frozenset({"GONE"})),
            "stopped",
        ),
        (StopCall("POST", THINGS + "{thing_id}/stop", frozenset()), "stopped"),
    ],
)
def test_a_stop_call_that_does_not_fit_its_kind_is_refused_at_import(
    stop: StopCall, complaint: str
) -> None:
    with pytest.raises(TypeError, match=complaint):
        declare("stop_test_thing", values=State, phases=PHASES, model=Snap,
                path="/v1/{project_id}/things/{thing_id}", stop=stop)(_spec_class())  # fmt: skip

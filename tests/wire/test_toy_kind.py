"""A kind declared by a user in one module is watched like a built-in one: through the
fake, through the real client over HTTP, from the CLI's --kind and from a token."""

from __future__ import annotations

from typing import Any

from modelarts_poller import Engine, ModelArtsClient, TaskCompleted, TokenAuth, get_kind
from modelarts_poller._checkpoint import TaskState, decode_token, encode_token
from modelarts_poller.cli._inputs import spec_from_ref
from modelarts_poller.testing import FakeClock, FakeModelArts
from tests.aioresponses_compat import mock_http
from tests.toy_kind import NotebookReady


async def test_a_kind_declared_in_one_module_is_watched_through_the_fake() -> None:
    clock = FakeClock()
    fake = FakeModelArts(clock)
    fake.add("toy_notebook", "nb1", [(0, {"status": "CREATING"}), (20, {"status": "RUNNING"})])
    async with Engine(client=fake, clock=clock) as engine:
        outcome = await clock.run(engine.watch(NotebookReady("nb1")).wait())
    assert isinstance(outcome, TaskCompleted)
    assert outcome.snapshot.status == "RUNNING"


async def test_and_through_the_real_client() -> None:
    url = "http://modelarts.test/v1/p1/notebooks/nb1"
    with mock_http() as mocked:
        mocked.get(url, payload={"status": "RUNNING"})
        async with ModelArtsClient(
            project_id="p1", auth=TokenAuth("tok"), endpoint="http://modelarts.test"
        ) as client:
            snapshot: Any = await client.get_task(NotebookReady("nb1"))
    assert snapshot.status == "RUNNING"


def test_the_cli_and_tokens_find_it_in_the_registry() -> None:
    assert get_kind("toy_notebook").spec_type is NotebookReady
    assert spec_from_ref("toy_notebook", "nb7") == NotebookReady("nb7")
    spec, _ = decode_token(encode_token(NotebookReady("nb7"), TaskState()))
    assert spec == NotebookReady("nb7")


async def test_its_start_call_goes_through_the_transport() -> None:
    from tests.toy_kind import start_notebook

    with mock_http() as mocked:
        mocked.post("http://modelarts.test/v1/p1/notebooks", payload={"notebook_id": "nb9"})
        async with ModelArtsClient(
            project_id="p1", auth=TokenAuth("tok"), endpoint="http://modelarts.test"
        ) as client:
            assert await start_notebook(client, "mine") == NotebookReady("nb9")


def test_its_facts_are_derived_from_the_declaration() -> None:
    from tests.toy_kind import NotebookStatus

    assert NotebookReady.ID_NAMES == ("notebook_id",)
    parsed = NotebookReady.PARSE({"status": "ERROR", "error_msg": "no quota", "more": 1})
    assert parsed == NotebookStatus("ERROR", None, "no quota", {"more": 1})
    assert parsed.phase.name == "FAILED"


def test_a_declaration_that_disagrees_with_itself_is_refused_at_import() -> None:
    import enum
    from collections.abc import Mapping

    import attrs
    import pytest

    from modelarts_poller import ModelArtsTask, Phase
    from modelarts_poller.operations import (
        declare,
        extra_field,
        id_field,
        parser,
        phase_table,
        project_field,
        text,
    )

    class State(enum.Enum):
        UP = "UP"
        DOWN = "DOWN"

    with pytest.raises(TypeError, match="missing \\['DOWN'\\]"):
        phase_table(State, {State.UP: Phase.SUCCEEDED})

    @attrs.frozen
    class Status:
        status: str | None = text()
        error_msg: str | None = None  # says nowhere where it is on the wire
        extra: Mapping[str, object] = extra_field()

    with pytest.raises(TypeError, match=r"Status\.error_msg does not say where"):
        parser(Status)

    @attrs.frozen
    class Good:
        status: str | None = text()

    @attrs.frozen
    class Spec(ModelArtsTask):
        thing_id: str = id_field()
        project_id: str | None = project_field()

    table = phase_table(State, {State.UP: Phase.SUCCEEDED, State.DOWN: Phase.FAILED})
    path = "/v1/{project_id}/things/{other_id}"
    with pytest.raises(TypeError, match="is not over project_id"):
        declare("toy_wrong_path", values=State, phases=table, model=Good, path=path)(Spec)

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

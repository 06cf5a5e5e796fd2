"""A repeated answer shares its snapshot (issue 13, "pay for what is read"): the client keeps
the last 2xx body of each spec's route with the snapshot it made, and a byte-identical
answer gets that snapshot without being decoded again. What must not change: a snapshot
equals what a fresh decode makes, a malformed answer raises the same error every time (so
the engine retries garbage as before), and nothing a caller could change in place is ever
shared between polls."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from typing import Any, ClassVar

import attrs
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from modelarts_poller import (
    Backoff,
    DatasetTask,
    Engine,
    ExportTask,
    ExportTaskStatus,
    FailureReason,
    NoAuth,
    ParseError,
    PollPolicy,
    ProtocolError,
    TaskCompleted,
    TaskFailed,
    TaskRetrying,
    TrainingJob,
    kinds,
    parse_export_task_status,
)
from modelarts_poller._client import ModelArtsClient, _Route
from modelarts_poller._kind import ModelArtsTask, id_field, project_field, success_field
from modelarts_poller._phase import Phase
from modelarts_poller._specs import Observation
from tests.aioresponses_compat import mock_http
from tests.budget import examples
from tests.unit.test_parsing_properties import json_objects, json_values

BASE = "http://modelarts.test"
EXPORT = f"{BASE}/v2/p1/datasets/ds1/export-tasks/t1"
GOOD = {
    "task_id": "t1",
    "status": "RUNNING",
    "progress": 40.0,
    "export_params": {"train_sample_ratio": "0.8", "samples": ["a", "b"]},
}
# The same document with one nested field of the wrong type.
GARBAGE = {**GOOD, "export_params": {"train_sample_ratio": [1], "samples": ["a"]}}


@pytest.fixture
def mocked() -> Any:
    with mock_http() as m:
        yield m


@pytest.fixture
async def client() -> AsyncIterator[ModelArtsClient]:
    async with ModelArtsClient(project_id="p1", auth=NoAuth(), endpoint=BASE) as c:
        yield c


def body(doc: object) -> bytes:
    return json.dumps(doc).encode()


async def test_a_repeated_answer_shares_its_snapshot(client: ModelArtsClient, mocked: Any) -> None:
    changed = {**GOOD, "progress": 50.0}
    for doc in (GOOD, GOOD, changed, changed):
        mocked.get(EXPORT, body=body(doc))
    first = await client.get_export_task_status("ds1", "t1")
    second = await client.get_export_task_status("ds1", "t1")
    assert second is first
    third = await client.get_export_task_status("ds1", "t1")
    assert third is not first
    assert third.progress == 50.0
    assert first.progress == 40.0
    assert await client.get_export_task_status("ds1", "t1") is third


async def test_a_malformed_nested_field_raises_every_time(
    client: ModelArtsClient, mocked: Any
) -> None:
    for doc in (GOOD, GARBAGE, GARBAGE, GOOD):
        mocked.get(EXPORT, body=body(doc))
    good = await client.get_export_task_status("ds1", "t1")
    for _ in range(2):  # never remembered: the second is decoded (and refused) again
        with pytest.raises(ParseError) as info:
            await client.get_export_task_status("ds1", "t1")
        assert info.value.path == "export_params.train_sample_ratio"
    again = await client.get_export_task_status("ds1", "t1")
    assert again == good
    params = again.export_params
    assert params is not None
    assert type(params.train_sample_ratio) is float
    assert params.samples == ("a", "b")


async def test_the_engine_still_retries_garbage_between_identical_answers(mocked: Any) -> None:
    done = {**GOOD, "status": "SUCCESSED", "progress": 100.0}
    for doc in (GOOD, GARBAGE, GOOD, done):
        mocked.get(EXPORT, body=body(doc))
    policy = PollPolicy(
        interval=Backoff(initial=0, maximum=0, jitter="none"),
        retry=Backoff(initial=0, maximum=0, jitter="none"),
        progress_aware=False,
    )
    async with (
        ModelArtsClient(project_id="p1", auth=NoAuth(), endpoint=BASE) as client,
        Engine(client=client, policy=policy, adapt_to_quota=False) as engine,
    ):
        events = engine.events()
        handle = engine.watch(ExportTask("ds1", "t1"))
        seen = []
        async for event in events:
            seen.append(event)
            if isinstance(event, TaskCompleted):
                break
    retries = [e for e in seen if isinstance(e, TaskRetrying)]
    assert len(retries) == 1
    assert isinstance(retries[0].error, ParseError)
    assert isinstance(handle.outcome, TaskCompleted)
    assert handle.outcome.snapshot.status == "SUCCESSED"


async def test_a_snapshot_holding_decoded_json_is_never_shared(
    client: ModelArtsClient, mocked: Any
) -> None:
    # Unknown fields are kept as sent; a list in them could be changed in place by a caller.
    doc = {**GOOD, "labels_seen": ["cat"]}
    mocked.get(EXPORT, body=body(doc))
    mocked.get(EXPORT, body=body(doc))
    first = await client.get_export_task_status("ds1", "t1")
    first.extra["labels_seen"].append("dog")  # type: ignore[attr-defined]
    second = await client.get_export_task_status("ds1", "t1")
    assert second is not first
    assert second.extra["labels_seen"] == ["cat"]


async def test_a_training_job_with_unknown_metadata_is_not_shared(mocked: Any) -> None:
    url = f"{BASE}/v2/p1/training-jobs/j1"
    doc = {"metadata": {"id": "j1", "flavor": "x"}, "status": {"phase": "Running"}}
    mocked.get(url, body=body(doc))
    mocked.get(url, body=body(doc))
    async with ModelArtsClient(project_id="p1", auth=NoAuth(), endpoint=BASE) as client:
        first = await client.get_task(TrainingJob("j1"))
        second = await client.get_task(TrainingJob("j1"))
    assert second is not first
    assert second == first


@attrs.frozen
class RawTask(ModelArtsTask):
    """A user's kind whose snapshot is the decoded dict itself."""

    task_id: str = id_field("task_id")
    project_id: str | None = project_field()
    success: frozenset[Any] | None = success_field()
    KIND: ClassVar[str] = "raw_reuse_test"
    PATH: ClassVar[str] = "/v1/{project_id}/raw/{task_id}"
    ID_NAMES: ClassVar[tuple[str, ...]] = ("task_id",)
    PARSE: ClassVar[Any] = staticmethod(lambda data: data)
    PHASES: ClassVar[Any] = {}


async def test_a_user_kinds_snapshot_is_never_shared(client: ModelArtsClient, mocked: Any) -> None:
    url = f"{BASE}/v1/p1/raw/t1"
    mocked.get(url, body=b'{"status": "RUNNING"}')
    mocked.get(url, body=b'{"status": "RUNNING"}')
    first = await client.get_task(RawTask("t1"))
    first["status"] = "changed"
    second = await client.get_task(RawTask("t1"))
    assert second == {"status": "RUNNING"}


def fresh(route: _Route, data: bytes) -> Any:
    from modelarts_poller._http import decode_response

    return decode_response(200, {}, data, route.parse, path=route.path)


BUILT_IN = [k.spec_type for k in kinds() if isinstance(getattr(k.spec_type, "PATH", None), str)]
documents = json_objects | st.builds(lambda d: {"status": "RUNNING", **d}, json_objects)


@settings(max_examples=examples(150), deadline=None)
@given(
    kind=st.sampled_from(BUILT_IN),
    docs=st.lists(documents | json_values, min_size=1, max_size=6),
    repeats=st.lists(st.integers(0, 5), min_size=1, max_size=12),
)
def test_a_route_decodes_like_a_fresh_decode(
    kind: type[Any], docs: list[object], repeats: list[int]
) -> None:
    # Any sequence of answers, repeats included: the route's result equals (and is typed
    # like) a fresh decode of the same bytes, or fails with the same error and path.
    route = _Route(f"{BASE}/x", "/x", "p1", kind.PARSE)
    for i in repeats:
        data = body(docs[i % len(docs)])
        expected: Any
        try:
            expected = fresh(route, data)
        except ProtocolError as exc:
            expected = exc
        if isinstance(expected, ProtocolError):
            with pytest.raises(type(expected)) as info:
                route.decode(200, {}, data, lambda: 0.0)
            assert str(info.value) == str(expected)
            continue
        got = route.decode(200, {}, data, lambda: 0.0)
        assert type(got) is type(expected)
        assert got == expected
        assert attrs.asdict(got, recurse=True) == attrs.asdict(expected, recurse=True)


def test_the_route_keeps_only_this_librarys_immutable_models() -> None:
    route = _Route(f"{BASE}/x", "/x", "p1", DatasetTask.PARSE)
    data = b'{"status": "RUNNING"}'
    first = route.decode(200, {}, data, lambda: 0.0)
    assert route.decode(200, {}, data, lambda: 0.0) is first
    assert isinstance(route.decode(200, {}, b'{"status": "SUCCESS"}', lambda: 0.0).phase, Phase)
    export = _Route(f"{BASE}/x", "/x", "p1", ExportTask.PARSE)
    snap = export.decode(200, {}, body(GOOD), lambda: 0.0)
    assert isinstance(snap, ExportTaskStatus)
    assert export.decode(200, {}, body(GOOD), lambda: 0.0) is snap


def test_a_client_keeps_answers_within_its_byte_budget(monkeypatch: pytest.MonkeyPatch) -> None:
    from modelarts_poller import _client

    monkeypatch.setattr(_client, "_REUSE_BUDGET", 100)
    kept = _client._Kept()
    one = _Route(f"{BASE}/a", "/a", "p1", DatasetTask.PARSE, kept)
    two = _Route(f"{BASE}/b", "/b", "p1", DatasetTask.PARSE, kept)
    small = b'{"status": "RUNNING", "error_msg": "' + b"x" * 40 + b'"}'  # 62 bytes
    first = one.decode(200, {}, small, lambda: 0.0)
    assert kept.bytes == len(small)
    assert one.decode(200, {}, small, lambda: 0.0) is first
    two.decode(200, {}, small, lambda: 0.0)  # would pass the budget: decoded, not kept
    assert two.body is None
    assert kept.bytes == len(small)
    one.forget()
    assert kept.bytes == 0
    two.decode(200, {}, small, lambda: 0.0)
    assert two.body == small
    assert kept.bytes == len(small)


async def test_evicted_routes_give_their_bytes_back(
    mocked: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    from modelarts_poller import _client

    monkeypatch.setattr(_client, "_ROUTES_MAX", 3)
    async with ModelArtsClient(project_id="p1", auth=NoAuth(), endpoint=BASE) as client:
        for i in range(10):
            mocked.get(f"{BASE}/v1/p1/datasets/task/t{i}", body=b'{"status": "RUNNING"}')
            await client.get_task(DatasetTask(f"t{i}"))
        assert len(client._routes) == 3
        assert client._kept.bytes == 3 * len(b'{"status": "RUNNING"}')
        # A route evicted while its request is in flight keeps nothing when it lands.
        evicted = _Route(f"{BASE}/x", "/x", "p1", DatasetTask.PARSE, client._kept)
        evicted.live = False
        evicted.decode(200, {}, b'{"status": "RUNNING"}', lambda: 0.0)
        assert client._kept.bytes == 3 * len(b'{"status": "RUNNING"}')


# -- the engine reads a shared snapshot once -----------------------------------------------

_BACK_TO_BACK = PollPolicy(
    interval=Backoff(initial=0, maximum=0, jitter="none"), progress_aware=False, max_polls=4
)
DATASET_TASK = f"{BASE}/v1/p1/datasets/task/dt1"


@attrs.frozen
class CountedDatasetTask(DatasetTask):
    """A built-in spec whose interpret counts its calls (fetch kept: the client's)."""

    calls: ClassVar[list[object]] = []

    def interpret(self, snapshot: Any) -> Any:
        CountedDatasetTask.calls.append(snapshot)
        return super().interpret(snapshot)


async def test_the_engine_interprets_a_shared_snapshot_once(mocked: Any) -> None:
    CountedDatasetTask.calls.clear()
    running = {"task_id": "dt1", "status": "RUNNING", "create_time": 1}
    for _ in range(4):
        mocked.get(DATASET_TASK, body=body(running))
    async with (
        ModelArtsClient(project_id="p1", auth=NoAuth(), endpoint=BASE) as client,
        Engine(client=client, policy=_BACK_TO_BACK, adapt_to_quota=False) as engine,
    ):
        outcome = await engine.watch(CountedDatasetTask("dt1", project_id="p1")).wait()
    assert isinstance(outcome, TaskFailed)  # max_polls: four RUNNING answers, no end
    assert outcome.reason is FailureReason.MAX_POLLS
    assert len(CountedDatasetTask.calls) == 1  # one decode, one reading; the rest shared


class InPlace:
    """A user's spec whose fetch hands back one dict, changed in place between polls."""

    kind = "in-place"

    def __init__(self) -> None:
        self.state: dict[str, object] = {"status": "RUNNING"}
        self.polls = 0

    async def fetch(self, api: object) -> dict[str, object]:
        self.polls += 1
        if self.polls == 3:
            self.state["status"] = "DONE"
        return self.state

    def interpret(self, snapshot: dict[str, object]) -> Observation:
        done = snapshot["status"] == "DONE"
        return Observation(
            Phase.SUCCEEDED if done else Phase.RUNNING, status=str(snapshot["status"])
        )


@attrs.frozen
class OwnFetchDatasetTask(DatasetTask):
    """A built-in spec subclass with a fetch of its own: its snapshots are not the client's."""

    box: ClassVar[dict[str, Any]] = {}

    async def fetch(self, api: Any) -> Any:  # type: ignore[override]
        snap = OwnFetchDatasetTask.box["snap"]
        OwnFetchDatasetTask.box["polls"] = OwnFetchDatasetTask.box.get("polls", 0) + 1
        if OwnFetchDatasetTask.box["polls"] == 3:
            object.__setattr__(snap, "status", "SUCCESS")  # changed in place
        return snap


async def test_a_snapshot_returned_again_by_a_users_fetch_is_read_again() -> None:
    policy = attrs.evolve(_BACK_TO_BACK, max_polls=10)
    spec = InPlace()
    async with Engine(policy=policy) as engine:
        outcome = await engine.watch(spec).wait()
    assert isinstance(outcome, TaskCompleted)
    assert spec.polls == 3


async def test_a_built_in_spec_with_its_own_fetch_is_read_every_poll() -> None:
    from modelarts_poller import DatasetTaskStatus
    from modelarts_poller.operations.dataset_task import parse_dataset_task_status

    snap = parse_dataset_task_status({"task_id": "dt1", "status": "RUNNING", "create_time": 1})
    assert isinstance(snap, DatasetTaskStatus)
    OwnFetchDatasetTask.box.clear()
    OwnFetchDatasetTask.box["snap"] = snap
    policy = attrs.evolve(_BACK_TO_BACK, max_polls=10)
    async with (
        ModelArtsClient(project_id="p1", auth=NoAuth(), endpoint=BASE) as client,
        Engine(client=client, policy=policy, adapt_to_quota=False) as engine,
    ):
        outcome = await engine.watch(OwnFetchDatasetTask("dt1")).wait()
    assert isinstance(outcome, TaskCompleted)
    assert OwnFetchDatasetTask.box["polls"] == 3


def test_equal_observations_are_one_object() -> None:
    # Thousands of waiting tasks mostly read the same; each distinct object is one more
    # for a full garbage collection to walk.
    spec = ExportTask("ds1", "t1")
    first = spec.interpret(parse_export_task_status(GOOD))
    again = ExportTask("ds2", "t2").interpret(parse_export_task_status({**GOOD, "task_id": "t2"}))
    assert again is first
    further = spec.interpret(parse_export_task_status({**GOOD, "progress": 41.0}))
    assert further is not first
    assert (further.completion, first.completion) == (0.41, 0.4)


def test_an_unhashable_user_field_still_makes_an_observation() -> None:
    @attrs.frozen
    class Odd:
        phase: Phase = Phase.RUNNING
        completion: Any = attrs.field(factory=list)
        status: str = "RUNNING"
        error_msg: str | None = None
        error_code: str | None = None

    obs = Observation.of(Odd())
    assert (obs.phase, obs.completion) == (Phase.RUNNING, [])
    assert Observation.of(Odd()) is not obs


async def test_a_new_answer_with_the_same_observation_refreshes_the_snapshot(
    mocked: Any,
) -> None:
    # The observation is shared (an equal reading), the snapshot is not: the handle must
    # hold the latest answer, not the first one that read the same.
    later = {**GOOD, "export_params": {"train_sample_ratio": "0.5", "samples": ["c"]}}
    done = {**GOOD, "status": "SUCCESSED", "progress": 100.0}
    for doc in (GOOD, later, GARBAGE, done):
        mocked.get(EXPORT, body=body(doc))
    policy = PollPolicy(
        interval=Backoff(initial=0, maximum=0, jitter="none"),
        retry=Backoff(initial=0, maximum=0, jitter="none"),
    )
    async with (
        ModelArtsClient(project_id="p1", auth=NoAuth(), endpoint=BASE) as client,
        Engine(client=client, policy=policy, adapt_to_quota=False) as engine,
    ):
        handle = engine.watch(ExportTask("ds1", "t1"))
        at_retry: list[Any] = []
        # `later` made no event (nothing an event reports changed); the garbage after it
        # did: when it is delivered, `later` must be the snapshot.
        handle.add_callback(lambda _e: at_retry.append(handle.snapshot), types=(TaskRetrying,))
        await handle.wait()
    assert len(at_retry) == 1
    assert at_retry[0].export_params.samples == ("c",)

"""List polling against the simulator: one list request observes every watched export or
import task of a dataset, for fewer requests and exactly the outcomes of per-task polling."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import pytest

from modelarts_poller import (
    Backoff,
    Engine,
    ExportTask,
    FailureReason,
    ImportTask,
    ModelArtsClient,
    NoAuth,
    PollPolicy,
    TaskCompleted,
)
from modelarts_poller._groups import Groups, worth_listing
from modelarts_poller.simulator import Simulator, SimulatorConfig, spec_of

POLICY = PollPolicy(
    interval=Backoff(initial=0.025, maximum=0.025, strategy="constant", jitter="none"),
    retry=Backoff(initial=0.025, maximum=0.05),
)


@pytest.fixture
async def sim() -> AsyncIterator[Simulator]:
    async with Simulator(SimulatorConfig(seed=3)) as simulator:
        yield simulator


def requests(sim: Simulator) -> int:
    return sum(sim.counters.per_second_all.values())


async def watch(sim: Simulator, specs: list[Any], *, list_polling: bool) -> dict[Any, str]:
    before = requests(sim)
    client = ModelArtsClient(endpoint=sim.url, project_id=sim.project_id, auth=NoAuth())
    async with client, Engine(client=client, policy=POLICY, list_polling=list_polling) as e:
        result = await e.wait(e.watch_many(specs), timeout=30)
    assert not result.pending
    outcomes: dict[Any, str] = {}
    for event in (*result.completed, *result.failed):
        if isinstance(event, TaskCompleted):
            outcomes[event.spec] = f"completed {event.snapshot.status}"
        else:
            status = getattr(event.snapshot, "status", None)
            outcomes[event.spec] = f"failed {event.reason.value} {status}"
    outcomes["requests"] = str(requests(sim) - before)  # type: ignore[index]
    return outcomes


def tasks(sim: Simulator, dataset: str) -> list[Any]:
    specs = []
    for i in range(6):
        outcome = "failed" if i % 3 == 2 else "completed"
        specs.append(
            spec_of(sim.add("export", dataset_id=dataset, queue=0.05, run=0.15 + i * 0.025,
                            outcome=outcome))
        )  # fmt: skip
    for i in range(4):
        specs.append(
            spec_of(sim.add("import", dataset_id=dataset, queue=0.05, run=0.1 + i * 0.05,
                            outcome="failed" if i == 3 else "completed"))
        )  # fmt: skip
    return specs


async def test_one_list_request_observes_the_dataset_and_outcomes_do_not_change(
    sim: Simulator,
) -> None:
    listed = await watch(sim, tasks(sim, "ds-a"), list_polling=True)
    alone = await watch(sim, tasks(sim, "ds-b"), list_polling=False)
    per_list = int(listed.pop("requests"))  # type: ignore[call-overload]
    per_task = int(alone.pop("requests"))  # type: ignore[call-overload]

    def by_position(outcomes: dict[Any, str]) -> list[str]:
        exports = [v for k, v in outcomes.items() if isinstance(k, ExportTask)]
        imports = [v for k, v in outcomes.items() if isinstance(k, ImportTask)]
        return sorted(exports) + sorted(imports)

    assert by_position(listed) == by_position(alone)
    assert sum("failed remote_failed" in v for v in listed.values()) == 3
    assert per_list < per_task / 2, (per_list, per_task)


async def test_a_task_missing_from_the_list_is_polled_on_its_own(sim: Simulator) -> None:
    real = spec_of(sim.add("export", dataset_id="ds-c", queue=0.05, run=0.15))
    ghost = ExportTask("ds-c", "no-such-task")
    got = await watch(sim, [real, ghost], list_polling=True)
    assert got[real].startswith("completed")
    assert got[ghost] == f"failed {FailureReason.PERMANENT_ERROR.value} None"


async def test_a_dataset_the_list_call_refuses_falls_back_to_per_task_polls(
    sim: Simulator,
) -> None:
    specs = [ExportTask("no-such-dataset", f"t{i}") for i in range(3)]
    listed = await watch(sim, specs, list_polling=True)
    alone = await watch(sim, specs, list_polling=False)
    listed.pop("requests")  # type: ignore[call-overload]
    alone.pop("requests")  # type: ignore[call-overload]
    assert listed == alone
    assert all(v.startswith("failed permanent_error") for v in listed.values())


async def test_pages_are_followed_until_every_wanted_task_is_found(sim: Simulator) -> None:
    for _ in range(150):  # old exports of the same dataset fill the first pages
        sim.add("export", dataset_id="ds-d", queue=0.0, run=0.0)
    specs = [spec_of(sim.add("export", dataset_id="ds-d", queue=0.05, run=0.15)) for _ in range(4)]
    got = await watch(sim, specs, list_polling=True)
    got.pop("requests")  # type: ignore[call-overload]
    assert sorted(got.values()) == ["completed SUCCESSED"] * 4


def test_the_list_is_worth_it_only_for_two_or_more_tasks_and_no_more_pages() -> None:
    assert not worth_listing(1, 1)
    assert worth_listing(1, 2)
    assert worth_listing(3, 3)
    assert not worth_listing(4, 3)


class Member:
    def __init__(self, spec: Any, seq: int, due: float) -> None:
        self.spec = spec
        self._seq = seq
        self._due = due
        self._outcome = None


def test_plan_counts_the_queued_members_due_within_the_horizon() -> None:
    groups = Groups()
    me = Member(ExportTask("d", "me"), 0, 0.0)
    soon = Member(ExportTask("d", "soon"), 5, 1.0)
    late = Member(ExportTask("d", "late"), 6, 50.0)
    busy = Member(ExportTask("d", "busy"), 0, 0.5)  # being polled by another worker
    other = Member(ExportTask("e", "x"), 7, 0.5)  # another dataset
    for m in (me, soon, late, busy, other):
        groups.add(m)
    wanted = groups.plan(me, now=0.0, horizon=2.0)
    assert wanted is not None
    assert set(wanted) == {"me", "soon", "busy"}  # busy may still share the answer
    groups.pages[ExportTask("d", "me").group()] = 4
    assert groups.plan(me, now=0.0, horizon=2.0) is None  # 4 pages for 3 tasks
    groups.remove(soon)
    groups.remove(busy)
    groups.pages.clear()
    assert groups.plan(me, now=0.0, horizon=2.0) is None  # alone among the due
    assert groups.plan(other, now=0.0, horizon=2.0) is None
    groups.broken.add(ExportTask("d", "me").group())
    groups.add(soon)
    assert groups.plan(me, now=0.0, horizon=2.0) is None


async def test_list_polling_is_off_for_clients_that_cannot_list() -> None:
    class Fake:
        async def get_task(self, spec: Any) -> Any:
            raise AssertionError

    async with Engine(client=Fake()) as engine:
        assert engine._lists is None

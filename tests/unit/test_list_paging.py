"""Where a list call's paging goes: the query of a GET (notebooks) or the JSON body of a
POST (training jobs' ``training-job-searches``), as the engine's list polling sends it."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from types import SimpleNamespace
from typing import Any, TypeVar

from modelarts_poller import Phase, PollPolicy
from modelarts_poller._groups import Listing, ListPolling
from modelarts_poller._kind import ListPaging
from modelarts_poller.operations import notebook
from modelarts_poller.operations import training_job as tj

T = TypeVar("T")


def _member() -> Any:
    """A watched task as the list's bound reads it: never seen, the default policy."""
    return SimpleNamespace(_obs=None, _seen_at=0.0, _policy=PollPolicy(), _seq=0)


def _job(n: int) -> dict[str, Any]:
    phase = "Failed" if n % 2 else "Running"
    return {"kind": "job", "metadata": {"id": f"j-{n}", "name": f"job {n}"},
            "status": {"phase": phase, "duration": n}}  # fmt: skip


class Jobs:
    """A Transport that answers a training-job search of ``count`` jobs, paged as the API
    pages it (``offset`` a page index), and records each request."""

    def __init__(self, count: int) -> None:
        self.count = count
        self.sent: list[tuple[str, str, Any, Any]] = []

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
        self.sent.append((method, template, query, None if body is None else dict(body)))
        page = dict(body or query or {})
        offset, limit = int(str(page["offset"])), int(str(page["limit"]))
        jobs = range(self.count)[offset * limit : (offset + 1) * limit]
        return parse({"total": self.count, "items": [_job(n) for n in jobs]})


def _polling(client: Any) -> ListPolling:
    async def unused(_: Any) -> Any:
        raise AssertionError("no task's own request here")

    return ListPolling(client=client, tasks={}, now=lambda: 0.0, fetch_own=unused,
                       observe=lambda _h, _s: None)  # fmt: skip


def test_training_jobs_declare_a_post_search_paged_in_its_body() -> None:
    spec = tj.TrainingJob("j-1")
    assert spec.LIST_PATH == tj.SEARCHES_PATH
    assert spec.GROUP_IDS == ()  # the group is the project
    paging: ListPaging = spec.LIST_PAGING
    assert (paging.size, paging.method, paging.in_body, paging.by_record) == (
        50,
        "POST",
        True,
        False,
    )
    assert spec.LIST_PAGING.query(2) == {"limit": 50, "offset": 2}  # a page index
    assert notebook.Notebook.LIST_PAGING.method == "GET"
    assert not notebook.Notebook.LIST_PAGING.in_body


def test_a_searched_job_says_what_its_own_get_would() -> None:
    show = _job(3)
    total, (item,) = tj.TrainingJob.LIST_PAGE({"total": 7, "items": [show]})
    assert total == 7
    assert item == tj.parse_training_job_status(show)
    assert item.training_job_id == "j-3"
    assert item.phase is Phase.FAILED


async def test_list_polling_sends_the_search_as_a_post_with_its_paging_in_the_body() -> None:
    client = Jobs(120)
    wanted = {f"j-{n}": _member() for n in (5, 60, 110)}
    listing = Listing(wanted)
    await _polling(client)._list(tj.TrainingJob("j-5"), None, wanted, wanted, listing)
    assert client.sent == [
        ("POST", tj.SEARCHES_PATH, None, {"limit": 50, "offset": page}) for page in (0, 1, 2)
    ]
    assert sorted(listing.found) == sorted(wanted)
    assert listing.found["j-60"] == tj.parse_training_job_status(_job(60))


async def test_a_get_list_still_sends_its_paging_in_the_query() -> None:
    sent: list[tuple[str, Any, Any]] = []

    class Notebooks:
        async def request(self, method: str, template: str, parse: Any, **kw: Any) -> Any:
            sent.append((method, kw["query"], kw["body"]))
            return parse({"data": [{"id": "nb-1", "status": "RUNNING"}], "total": 1})

    listing = Listing({"nb-1": _member()})
    spec = notebook.Notebook("nb-1")
    await _polling(Notebooks())._list(spec, None, listing.wanted, listing.wanted, listing)
    assert sent == [("GET", {"limit": 50, "offset": 0}, None)]
    assert listing.found["nb-1"].status == "RUNNING"
